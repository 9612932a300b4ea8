//! Property tests ("fuzzing" with proptest) over everything a user or moderator controls:
//! questions, Markdown articles with front matter, and rule files. The property is always
//! the same: no panic, and a well-formed result. Failing inputs proptest finds are saved
//! under `proptest-regressions/` and replayed first on every run; cases found by hand are
//! pinned in the `regressions` tests below.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use backrub::knowledge::parse_article;
use backrub::Engine;
use proptest::prelude::*;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<(common::Workspace, Engine)> = OnceLock::new();
    &ENGINE
        .get_or_init(|| {
            let ws = common::Workspace::new();
            let engine = ws.engine();
            (ws, engine)
        })
        .1
}

/// Text built from the pieces that break naive query handling, plus anything.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "\"",
        ":",
        "(",
        ")",
        "AND",
        "OR",
        "NOT",
        "-",
        "+",
        "*",
        "~",
        "^",
        "[",
        "]",
        "{",
        "}",
        "\\",
        "/",
        "@everyone",
        "<@123>",
        "massage",
        "deep tissue",
        "can't pee",
        "numb",
        "no",
        "but",
        "🙂",
        "é",
        "\u{0}",
        "\n",
        " ",
        "knots",
    ]);
    prop_oneof![
        prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat()),
        any::<String>(),
        "\\PC{0,300}",
    ]
}

fn assert_well_formed(answer: &backrub::Answer) {
    let text = answer.to_text();
    let disclaimer = engine().config().safety.disclaimer.trim();
    assert!(text.trim_end().ends_with(&format!("_{disclaimer}_")));
    assert!(text.contains(engine().config().safety.red_flag_advice.trim()));
    assert_eq!(answer.answered, !answer.passages.is_empty());
    assert!(answer.passages.len() <= engine().config().answer.max_passages);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_question_gets_a_well_formed_reply(q in hostile_text()) {
        assert_well_formed(&engine().ask(&q));
    }

    #[test]
    fn any_markdown_parses_without_panicking(text in "(\\+\\+\\+\n)?(title = \"[a-z ]{0,10}\"\n|tags = \\[|[#\\- *>`\\[\\]a-z\n]{0,30}|\\+\\+\\+\n){0,12}") {
        let (article, problems) = parse_article(&text, Path::new("f.md"), "f.md", 300);
        let lines = text.lines().count() + 1;
        for p in &problems {
            prop_assert!(p.line >= 1 && p.line <= lines, "line {} of {}: {}", p.line, lines, p);
        }
        if let Some(article) = article {
            prop_assert!(!article.passages.is_empty());
            for passage in &article.passages {
                prop_assert!(!passage.body.trim().is_empty());
                prop_assert!(!passage.headings.is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_bytes_as_markdown_never_panic(text in any::<String>()) {
        let _ = parse_article(&text, Path::new("f.md"), "f.md", 300);
    }
}

/// Inputs that once needed care, pinned by name.
mod regressions {
    use super::*;

    #[test]
    fn front_matter_with_only_an_opening_fence() {
        let (article, problems) = parse_article("+++", Path::new("f.md"), "f.md", 300);
        assert!(article.is_none());
        assert!(problems[0].is_error());
    }

    #[test]
    fn empty_heading_is_an_error_not_a_nameless_section() {
        let (_, problems) =
            parse_article("# Title\n\n##\n\ntext\n", Path::new("f.md"), "f.md", 300);
        assert!(
            problems
                .iter()
                .any(|p| p.is_error() && p.line == 3 && p.message == "empty heading"),
            "{problems:?}"
        );
    }

    #[test]
    fn question_of_combining_marks_and_nul() {
        assert_well_formed(&engine().ask("\u{301}\u{301}\u{0}\u{200d}"));
    }
}
