//! The `backrub` binary: the exact CLI forms other tools rely on.

mod common;

use common::{stderr, stdout, Workspace};

#[test]
fn ask_prints_the_reply_text() {
    let ws = Workspace::new();
    let out = ws.run(&["ask", "Is deep tissue massage good for a stiff lower back?"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Deep Tissue Massage"), "{text}");
    assert!(
        text.trim_end().ends_with('_'),
        "reply must end with the disclaimer: {text}"
    );
}

#[test]
fn ask_json_has_the_documented_shape() {
    let ws = Workspace::new();
    let out = ws.run(&["ask", "--json", "what does trigger point therapy do?"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    assert_eq!(v["question"], "what does trigger point therapy do?");
    assert_eq!(v["answered"], true);
    assert_eq!(v["triage"]["urgency"], "none");
    assert!(v["triage"]["flags"].as_array().unwrap().is_empty());
    let p = &v["passages"][0];
    for key in ["article", "heading", "path", "score", "text"] {
        assert!(!p[key].is_null(), "passage lacks {key}: {p}");
    }
    assert_eq!(p["heading"], "Trigger Point Therapy");
    assert!(p["path"]
        .as_str()
        .unwrap()
        .ends_with("› Trigger Point Therapy"));
    assert!(v["reply"]
        .as_str()
        .unwrap()
        .contains(p["text"].as_str().unwrap().lines().next().unwrap()));
}

#[test]
fn ask_json_stdin_gives_one_line_per_input_line() {
    let ws = Workspace::new();
    let input = "is deep tissue massage good for a stiff lower back?\n\"(AND: -* deep~~ OR ^^)\n\nwhats the capital of peru\n🙂\n";
    let out = ws.run_with_stdin(&["ask", "--json", "--stdin"], input);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(
        lines.len(),
        5,
        "one output line per input line, the empty one included"
    );
    let questions: Vec<&str> = lines
        .iter()
        .map(|v| v["question"].as_str().unwrap())
        .collect();
    assert_eq!(questions, input.lines().collect::<Vec<_>>());
    assert_eq!(lines[0]["answered"], true);
    assert_eq!(lines[2]["answered"], false);
    assert_eq!(lines[3]["answered"], false);
    for v in &lines {
        for key in ["question", "answered", "triage", "passages", "reply"] {
            assert!(!v[key].is_null(), "missing {key}");
        }
    }
}

#[test]
fn config_option_is_accepted_before_or_after_the_command() {
    let ws = Workspace::new();
    let config = ws.config_path();
    let after = std::process::Command::new(env!("CARGO_BIN_EXE_backrub"))
        .args(["ask", "what is swedish massage", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(after.status.success(), "{}", stderr(&after));
    assert!(stdout(&after).contains("Swedish Massage"));
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_backrub"))
        .args(["--config", "/nonexistent/backrub.toml", "check"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("/nonexistent/backrub.toml"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn index_reports_files_passages_and_time() {
    let ws = Workspace::new();
    let out = ws.run(&["index"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("indexed 2 file(s), "), "{text}");
    assert!(text.contains(" in ") && text.contains(" s\n"), "{text}");
    assert!(
        text.contains("added: back-pain-warning-signs.md, massage-therapy-for-back-pain.md"),
        "{text}"
    );
}

#[test]
fn check_passes_on_the_bundled_knowledge() {
    let ws = Workspace::new();
    let out = ws.run(&["check"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("0 error(s)"));
    // The bundled decline model was trained on the bundled articles and synonyms.
    assert!(
        !stdout(&out).contains("decline-model.json"),
        "{}",
        stdout(&out)
    );
}

/// `train-decline` writes a model the engine loads; `check` says when the articles changed
/// since; a broken model file is an error naming it, and the bot does not start on it.
#[test]
fn train_decline_writes_a_model_that_check_follows() {
    let ws = Workspace::new();
    let set = ws.path().join("set.jsonl");
    let lines = [
        r#"{"question": "is deep tissue massage good for knots", "expect": ["Deep Tissue Massage"]}"#,
        r#"{"question": "what is swedish massage", "expect": ["Swedish Massage"]}"#,
        r#"{"question": "how do you treat uveitis", "expect": []}"#,
        r#"{"question": "what is a normal platelet count", "expect": []}"#,
    ];
    std::fs::write(&set, lines.join("\n")).unwrap();
    let model = ws.knowledge("decline-model.json");
    std::fs::remove_file(&model).unwrap();
    let out = ws.run(&["train-decline", set.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("trained on 4 question(s) from 1 file(s): "),
        "{}",
        stdout(&out)
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(written["trained_on"][0], set.to_str().unwrap());
    assert_eq!(written["questions"], 4);
    let out = ws.run(&["check"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        !stdout(&out).contains("decline-model.json"),
        "{}",
        stdout(&out)
    );

    let article = ws.knowledge("massage-therapy-for-back-pain.md");
    let mut text = std::fs::read_to_string(&article).unwrap();
    text.push_str("\nOne more sentence.\n");
    std::fs::write(&article, text).unwrap();
    let out = ws.run(&["check"]);
    assert!(out.status.success(), "a stale model is a warning");
    let expected = format!(
        "{}:1: warning: trained on other articles or synonyms",
        model.display()
    );
    assert!(stdout(&out).contains(&expected), "{}", stdout(&out));

    std::fs::write(&model, "{\n  \"weights\": oops\n}\n").unwrap();
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let expected = format!("{}:2: error: not a decline model", model.display());
    assert!(stdout(&out).contains(&expected), "{}", stdout(&out));
    let out = ws.run(&["ask", "what is swedish massage"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
}

/// An out-of-scope word that stems to another everyday word is a warning with its line;
/// the check still passes.
#[test]
fn check_warns_about_an_out_of_scope_word_that_declines_more_than_it_says() {
    let ws = Workspace::new();
    let path = ws.knowledge("synonyms.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replacen("words = [\n", "words = [\n    \"icing\",\n", 1);
    let line = text.lines().position(|l| l.contains("\"icing\"")).unwrap() + 1;
    std::fs::write(&path, text).unwrap();
    let out = ws.run(&["check"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let expected = format!(
        "{}:{line}: warning: out-of-scope word \"icing\" is matched by its stem \"ice\"",
        path.display()
    );
    assert!(stdout(&out).contains(&expected), "{}", stdout(&out));
}

#[test]
fn check_and_index_name_file_and_line_of_a_broken_article() {
    let ws = Workspace::new();
    assert!(ws.run(&["index"]).status.success());
    std::fs::write(
        ws.knowledge("bad.md"),
        "+++\ntitle = \"Bad\"\nsource = \n+++\n# Bad\n\ntext\n",
    )
    .unwrap();
    std::fs::write(ws.knowledge("empty.md"), "").unwrap();
    std::fs::write(ws.knowledge("noheading.md"), "Just some words.\n").unwrap();
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let knowledge = ws.path().join("knowledge");
    for expected in [
        format!(
            "{}:3: error: front matter",
            knowledge.join("bad.md").display()
        ),
        format!(
            "{}:1: error: file is empty",
            knowledge.join("empty.md").display()
        ),
        format!(
            "{}:1: error: no heading",
            knowledge.join("noheading.md").display()
        ),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
    // `index` refuses, names the problem, and leaves the served index alone.
    let before = std::fs::read_to_string(ws.path().join("index/CURRENT")).unwrap();
    let out = ws.run(&["index"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bad.md:3:"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(ws.path().join("index/CURRENT")).unwrap(),
        before
    );
    // ...and questions are still answered from it.
    let out = ws.run(&["ask", "--json", "what is swedish massage"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["passages"][0]["heading"], "Swedish Massage");
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    // `backrub ask --json --stdin | head -1`: the pipe closes after the first line.
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let ws = Workspace::new();
    let mut child = ws
        .cmd(&["ask", "--json", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "what is swedish massage").unwrap();
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("{\"question\""), "{first}");
    drop(stdout); // the reader goes away
    for _ in 0..50 {
        if writeln!(stdin, "and deep tissue?").is_err() {
            break;
        }
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}
