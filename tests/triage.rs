//! Red-flag triage against the real rule file (`knowledge/red-flags.toml`).
//!
//! `labelled_cases` runs every message of `tests/data/triage_cases.jsonl` and prints the
//! confusion table (expected urgency × assessed urgency, and per group). It fails on the
//! failures that matter: an emergency or urgent positive under-triaged or missing its
//! category, a `soon` positive without its category, or any flag on an ordinary question,
//! a hard negative or a general question. The other tests pin the mechanisms one by one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use backrub::triage::{Rules, Triage, Urgency};

const RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/knowledge/red-flags.toml");
const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/triage_cases.jsonl");

fn rules() -> &'static Rules {
    static RULES_ONCE: OnceLock<Rules> = OnceLock::new();
    RULES_ONCE.get_or_init(|| match Rules::load(Path::new(RULES)) {
        Ok(rules) => rules,
        Err(e) => {
            let problems: Vec<String> = e.problems().iter().map(ToString::to_string).collect();
            panic!(
                "knowledge/red-flags.toml does not load:\n{}",
                problems.join("\n")
            )
        }
    })
}

fn assess(message: &str) -> Triage {
    rules().assess(message)
}

/// Print so the report shows in `cargo test` output without `--nocapture`: libtest only
/// captures the `print!` family, not direct writes to the stdout handle.
fn report(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

#[derive(serde::Deserialize)]
struct Case {
    group: String,
    urgency: Urgency,
    category: Option<String>,
    text: String,
}

fn flags_of(t: &Triage) -> String {
    let flags: Vec<String> = t
        .flags
        .iter()
        .map(|f| format!("{}/{} [{}]", f.category, f.urgency.as_str(), f.evidence))
        .collect();
    if flags.is_empty() {
        "no flag".to_string()
    } else {
        flags.join(", ")
    }
}

#[test]
fn labelled_cases() {
    let source = std::fs::read_to_string(CASES).expect("tests/data/triage_cases.jsonl is readable");
    let cases: Vec<Case> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("triage_cases.jsonl:{}: {e}", i + 1))
        })
        .collect();
    assert!(
        cases.len() >= 170,
        "the labelled set needs at least 170 messages, has {}",
        cases.len()
    );

    let levels = [
        Urgency::Emergency,
        Urgency::Urgent,
        Urgency::Soon,
        Urgency::None,
    ];
    let mut confusion: BTreeMap<(Urgency, Urgency), usize> = BTreeMap::new();
    let mut groups: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut over_triaged = Vec::new();
    for case in &cases {
        let got = assess(&case.text);
        *confusion.entry((case.urgency, got.urgency)).or_default() += 1;
        let has_category = |c: &str| got.flags.iter().any(|f| f.category == c);
        let failure = match case.group.as_str() {
            "positive" => {
                let category = case.category.as_deref().unwrap_or_default();
                if got.urgency < case.urgency {
                    Some(format!(
                        "UNDER-TRIAGED: expected {} ({category})",
                        case.urgency.as_str()
                    ))
                } else if !has_category(category) {
                    Some(format!(
                        "MISSING CATEGORY: expected {category} at {}",
                        case.urgency.as_str()
                    ))
                } else {
                    if got.urgency > case.urgency {
                        over_triaged.push(format!(
                            "  {:?} expected {}: {}",
                            case.text,
                            case.urgency.as_str(),
                            flags_of(&got)
                        ));
                    }
                    None
                }
            }
            "ordinary" | "hard_negative" | "general_question" => {
                (!got.flags.is_empty()).then(|| format!("FALSE ALARM in {}", case.group))
            }
            other => Some(format!("unknown group `{other}`")),
        };
        let entry = groups.entry(case.group.as_str()).or_default();
        entry.0 += 1;
        if let Some(why) = failure {
            entry.1 += 1;
            failures.push(format!(
                "  {why}\n    message: {:?}\n    got: {}",
                case.text,
                flags_of(&got)
            ));
        }
    }

    let mut table =
        String::from("\nred-flag triage: confusion table (rows: expected, columns: assessed)\n");
    table.push_str(&format!("{:>12} |", "expected"));
    for got in levels {
        table.push_str(&format!("{:>10}", got.as_str()));
    }
    table.push_str(&format!("{:>8}\n{}\n", "total", "-".repeat(62)));
    for expected in levels {
        table.push_str(&format!("{:>12} |", expected.as_str()));
        let mut total = 0;
        for got in levels {
            let n = confusion.get(&(expected, got)).copied().unwrap_or(0);
            total += n;
            table.push_str(&format!("{n:>10}"));
        }
        table.push_str(&format!("{total:>8}\n"));
    }
    table.push_str("\nper group: messages, failures\n");
    for (group, (n, failed)) in &groups {
        table.push_str(&format!("  {group:<17} {n:>4} {failed:>4}\n"));
    }
    table.push_str(&format!(
        "  {:<17} {:>4} {:>4}\n",
        "all",
        cases.len(),
        failures.len()
    ));
    if !over_triaged.is_empty() {
        table.push_str(&format!(
            "\nover-triaged positives (tolerated): {}\n",
            over_triaged.len()
        ));
        table.push_str(&over_triaged.join("\n"));
        table.push('\n');
    }
    report(&table);
    assert!(
        failures.is_empty(),
        "{} triage failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---- the issue's own examples -------------------------------------------------------

#[test]
fn casual_emergency_is_noticed_with_its_words() {
    let t = assess("cant pee since yesterday and my bum is numb, is massage ok?");
    assert_eq!(t.urgency, Urgency::Emergency);
    let top = t.top().expect("a flag");
    assert_eq!(top.category, "cauda_equina");
    assert_eq!(top.evidence, "cant pee");
    assert!(!t.general_question);
}

#[test]
fn evidence_is_quoted_as_typed() {
    let t = assess("Sooo I Can’t Pee since yday 😩");
    assert_eq!(t.top().map(|f| f.evidence.as_str()), Some("Can’t Pee"));
    let t = assess("wetting myslef at night now");
    assert_eq!(t.top().map(|f| f.evidence.as_str()), Some("wetting myslef"));
}

// ---- negation (rule 3) --------------------------------------------------------------

#[test]
fn negation_is_scoped_to_its_clause() {
    assert!(assess("no numbness, no bladder problems, just stiff")
        .flags
        .is_empty());
    assert!(assess("no fever, no weight loss, never fell")
        .flags
        .is_empty());
    assert!(assess("no fever, weight loss or night sweats")
        .flags
        .is_empty());
    assert_eq!(
        assess("no numbness but I can't pee").urgency,
        Urgency::Emergency
    );
    assert_eq!(
        assess("no numbness, and i cant pee").urgency,
        Urgency::Emergency
    );
    assert_eq!(
        assess("I don't have a fever and my legs feel weak").urgency,
        Urgency::Emergency
    );
    assert_eq!(
        assess("no fever. cant pee though").urgency,
        Urgency::Emergency
    );
    // A negation word that belongs to the symptom is not a denial of it.
    assert_eq!(assess("i cant pee").urgency, Urgency::Emergency);
    assert_eq!(assess("lost 8kg without trying").urgency, Urgency::Urgent);
    assert_eq!(
        assess("my legs wont hold me up").urgency,
        Urgency::Emergency
    );
    // Subject-dropped chat: a new predicate is not governed by the cue before it.
    assert_eq!(assess("no fever, cant pee").urgency, Urgency::Emergency);
    assert_eq!(
        assess("no numbness cant pee since monday").urgency,
        Urgency::Emergency
    );
    // Negation words that are part of the symptom wording.
    assert_eq!(
        assess("my bladder isnt working properly").urgency,
        Urgency::Emergency
    );
    assert_eq!(
        assess("both my legs are not working right").urgency,
        Urgency::Emergency
    );
    assert_eq!(
        assess("my left leg has no strength").urgency,
        Urgency::Urgent
    );
    assert_eq!(
        assess("i want to not wake up tomorrow").urgency,
        Urgency::Emergency
    );
    assert_eq!(assess("lost 6kg for no reason").urgency, Urgency::Urgent);
    assert_eq!(assess("my bp is not under control").urgency, Urgency::Soon);
    // A pseudo-negation does not suppress what follows.
    assert_eq!(
        assess("not sure if related, i have no idea, cant feel my bum").urgency,
        Urgency::Emergency
    );
}

#[test]
fn negation_inside_a_loose_pattern_still_negates() {
    assert!(assess("my leg isn't weak").flags.is_empty());
    assert!(assess("my calf isn't swollen").flags.is_empty());
}

// ---- time (rule 4) ------------------------------------------------------------------

#[test]
fn resolved_past_events_are_not_flags() {
    assert!(assess("had a fever last month, fine now").flags.is_empty());
    assert!(assess("had a fever last month but it's fine now")
        .flags
        .is_empty());
    assert!(assess("Had a fever a few weeks ago. All good now.")
        .flags
        .is_empty());
    assert!(assess("fractured my spine years ago, fine since")
        .flags
        .is_empty());
}

#[test]
fn unresolved_or_lasting_history_still_counts() {
    // Past but not resolved.
    assert_eq!(assess("had a fever last week").urgency, Urgency::Urgent);
    // Cancer history counts at any distance, "all clear" included.
    let t = assess("had breast cancer 10 years ago, all clear since");
    assert_eq!(t.urgency, Urgency::Urgent);
    assert_eq!(t.top().map(|f| f.category.as_str()), Some("malignancy"));
    // Recent trauma stays current even when the person feels fine.
    assert_eq!(
        assess("fell off a ladder last week, feeling fine now").urgency,
        Urgency::Emergency
    );
    // Chest pain today that has gone is still an emergency.
    assert_eq!(
        assess("had chest pain this morning, gone now").urgency,
        Urgency::Emergency
    );
    // A past DVT is a massage caution, not an escalation.
    let t = assess("had a dvt years ago, fine since");
    assert_eq!(t.urgency, Urgency::Soon);
    assert_eq!(
        t.top().map(|f| f.category.as_str()),
        Some("massage_contraindication")
    );
}

// ---- third parties (rule 5) ---------------------------------------------------------

#[test]
fn third_parties_escalate_like_first_person() {
    assert_eq!(
        assess("my dad cant pee and his back is bad").urgency,
        Urgency::Emergency
    );
    assert_eq!(
        assess("my wife is on warfarin, can she have a massage").urgency,
        Urgency::Soon
    );
    assert_eq!(
        assess("what does it mean if you cant feel when you wipe? asking for a friend").urgency,
        Urgency::Emergency
    );
}

// ---- general questions (rule 6) -----------------------------------------------------

#[test]
fn general_questions_do_not_escalate() {
    for q in [
        "what signs should I watch for?",
        "what is cauda equina?",
        "can massage cause a clot?",
    ] {
        let t = assess(q);
        assert!(t.flags.is_empty(), "{q}: {}", flags_of(&t));
        assert!(
            t.general_question,
            "{q} should be marked as a general question"
        );
    }
    let t = assess("what does it mean if you can't pee?");
    assert!(t.flags.is_empty() && t.general_question);
}

#[test]
fn a_symptom_before_the_question_is_still_personal() {
    let t = assess("cant pee since yesterday, what does that mean");
    assert_eq!(t.urgency, Urgency::Emergency);
    let t = assess("what are the signs of cauda equina? cant pee since yesterday");
    assert_eq!(t.urgency, Urgency::Emergency);
    let t = assess("what should i do if i cant pee?");
    assert_eq!(t.urgency, Urgency::Emergency);
}

#[test]
fn ordinary_questions_are_not_general_red_flag_questions() {
    let t = assess("what is the best massage for lower back pain?");
    assert!(t.flags.is_empty());
    assert!(!t.general_question);
}

// ---- figurative senses (rule 7) -----------------------------------------------------

#[test]
fn figurative_senses_do_not_fire() {
    for m in [
        "this pain is killing me",
        "fever pitch",
        "I'm broke",
        "the cat fell off the sofa",
        "chest day",
        "fell asleep on the couch",
        "im a cancer, my star sign",
        "oncology nurse here",
        "my hydration bladder leaks",
        "paramedic by trade",
        "dying to try hot stones",
        "i would kill for a massage",
        "my back is on fire",
        "had an accident with my coffee",
    ] {
        let t = assess(m);
        assert!(t.flags.is_empty(), "{m:?} raised {}", flags_of(&t));
    }
}

// ---- combinations (rule 2) ----------------------------------------------------------

#[test]
fn combinations_raise_urgency_and_show_both_pieces() {
    let t = assess("fever of 39 and my leg keeps giving way");
    let infection = t
        .flags
        .iter()
        .find(|f| f.category == "infection")
        .expect("infection flag");
    assert_eq!(infection.urgency, Urgency::Emergency);
    assert_eq!(infection.evidence, "fever of 39 + leg keeps giving way");

    let t = assess("history of prostate cancer and now bladder problems");
    let malignancy = t
        .flags
        .iter()
        .find(|f| f.category == "malignancy")
        .expect("malignancy flag");
    assert_eq!(malignancy.urgency, Urgency::Emergency);

    let t = assess("numbness in both legs");
    assert_eq!(
        t.top().map(|f| (f.category.as_str(), f.urgency)),
        Some(("cauda_equina", Urgency::Emergency))
    );

    let t = assess("my calf is swollen and hot and i'm short of breath");
    let clot = t
        .flags
        .iter()
        .find(|f| f.category == "blood_clot")
        .expect("clot flag");
    assert_eq!(clot.urgency, Urgency::Emergency);

    // Each piece alone is weaker.
    assert_eq!(assess("fever of 39").urgency, Urgency::Urgent);
    assert_eq!(
        assess("my calf is swollen and hot").urgency,
        Urgency::Urgent
    );
    assert_eq!(assess("i have osteoporosis").urgency, Urgency::Soon);
    assert_eq!(
        assess("i have osteoporosis and felt a crack when i sneezed").urgency,
        Urgency::Urgent
    );
}

// ---- ordering and shape -------------------------------------------------------------

#[test]
fn flags_are_most_urgent_first_ties_in_taxonomy_order_one_per_category() {
    let t = assess(
        "my chest is tight, i cant pee, my bum is numb, i'm on warfarin and want to end it all",
    );
    let order: Vec<&str> = t.flags.iter().map(|f| f.category.as_str()).collect();
    assert_eq!(
        order,
        [
            "self_harm",
            "cardiac",
            "cauda_equina",
            "massage_contraindication"
        ]
    );
    assert_eq!(t.urgency, Urgency::Emergency);
    assert_eq!(t.top().map(|f| f.category.as_str()), Some("self_harm"));
}

#[test]
fn triage_serialises_for_ask_json() {
    let t = assess("cant pee");
    let json = serde_json::to_value(&t).expect("serialises");
    assert_eq!(json["urgency"], "emergency");
    assert_eq!(json["flags"][0]["category"], "cauda_equina");
    assert_eq!(json["flags"][0]["evidence"], "cant pee");
    assert!(json.get("general_question").is_none());
}

#[test]
fn categories_have_names_and_advice() {
    let r = rules();
    assert_eq!(r.categories().len(), 11);
    for c in r.categories() {
        assert!(!c.name.is_empty() && !c.advice.is_empty(), "{}", c.id);
    }
    assert_eq!(
        r.category("cauda_equina").map(|c| c.urgency),
        Some(Urgency::Emergency)
    );
    assert!(r.category("nope").is_none());
    assert!(r.warnings().is_empty(), "{:?}", r.warnings());
}

// ---- any input ----------------------------------------------------------------------

#[test]
fn empty_and_odd_input_is_fine() {
    assert_eq!(assess(""), Triage::default());
    assert!(assess("   \n\n\t ").flags.is_empty());
    assert!(assess("😩😩😩 ¿qué? ünïcödé 背中が痛い").flags.is_empty());
    assert!(assess("'''''’’’...???!!!;;;").flags.is_empty());
    assert_eq!(assess("bαck 😭 can’t pee 😭").urgency, Urgency::Emergency);
    assert_eq!(assess("CANT PEE!!!").urgency, Urgency::Emergency);
}

#[test]
fn long_messages_are_bounded_and_still_assessed() {
    let filler = "my back has been a bit sore after work and i wonder if a massage would help. ";
    let mut long = filler.repeat(10_000 / filler.len() + 1);
    long.push_str("also i cant pee since yesterday.");
    assert!(long.len() > 10_000);
    let start = std::time::Instant::now();
    let t = assess(&long);
    let elapsed = start.elapsed();
    assert_eq!(t.urgency, Urgency::Emergency);
    assert!(
        elapsed.as_millis() < 500,
        "10,000 characters took {elapsed:?}"
    );

    // Far beyond the bound: still fine, and emoji at the cut do not split a character.
    let huge = "😩".repeat(100_000);
    assert!(assess(&huge).flags.is_empty());
}

#[test]
fn pathological_messages_stay_bounded() {
    // Many cues and many negated matches: every scope check must stay logarithmic.
    let nasty = [
        "no idea no numbness cant pee ".repeat(3_000),
        "if you ".repeat(10_000),
        "a".repeat(70_000),
        ", my ".repeat(15_000),
        "((((((((((".repeat(5_000),
    ];
    for m in &nasty {
        let start = std::time::Instant::now();
        let t = assess(m);
        let elapsed = start.elapsed();
        assert!(
            elapsed.as_secs() < 2,
            "{elapsed:?} for a {}-byte message",
            m.len()
        );
        std::hint::black_box(t);
    }
    assert_eq!(assess(&nasty[0]).urgency, Urgency::Emergency);
}

#[test]
fn rules_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Rules>();
    let rules = std::sync::Arc::new(Rules::load(Path::new(RULES)).expect("rules load"));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let rules = std::sync::Arc::clone(&rules);
            std::thread::spawn(move || rules.assess("cant pee").urgency)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("no panic"), Urgency::Emergency);
    }
}

#[test]
fn typical_messages_are_fast() {
    let messages = [
        "what's the best massage for lower back pain after sitting all day?",
        "cant pee since yesterday and my bum is numb, is massage ok?",
        "had a fever last month, fine now, just want a relaxing back massage",
    ];
    for m in messages {
        assess(m); // warm the lazy DFA caches
    }
    let rounds = 200;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for m in messages {
            std::hint::black_box(assess(m));
        }
    }
    let per = start.elapsed() / (rounds * messages.len() as u32);
    report(&format!("\nred-flag triage: {per:?} per typical message\n"));
    // Generous in debug builds; the release target is well under 100 µs.
    let limit = if cfg!(debug_assertions) { 5_000 } else { 100 };
    assert!(per.as_micros() < limit, "{per:?} per message");
}

// ---- rule-file validation -----------------------------------------------------------

fn real_source() -> String {
    std::fs::read_to_string(RULES).expect("rule file is readable")
}

/// Replace the first line starting (after indentation) with `needle` by `replacement`;
/// return its 1-based line.
fn replace_line(source: &str, needle: &str, replacement: &str) -> (String, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    for (i, line) in source.lines().enumerate() {
        if at == 0 && line.trim_start().starts_with(needle) {
            at = i + 1;
            out.push(replacement.to_string());
        } else {
            out.push(line.to_string());
        }
    }
    assert!(at > 0, "{needle:?} not found in the rule file");
    (out.join("\n"), at)
}

fn problems_of(source: &str) -> Vec<backrub::problem::Problem> {
    match Rules::parse(source, Path::new("knowledge/red-flags.toml")) {
        Ok(_) => panic!("expected the rule file to be rejected"),
        Err(e) => e.problems(),
    }
}

#[test]
fn invalid_regex_is_reported_on_its_line() {
    let (source, line) = replace_line(
        &real_source(),
        "'suicid\\w*',",
        "  'suicid(\\w*', 'kill (myself|meself)',",
    );
    let problems = problems_of(&source);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, line);
    assert!(
        problems[0].message.contains("invalid regex"),
        "{}",
        problems[0].message
    );
    assert!(problems[0]
        .to_string()
        .starts_with(&format!("knowledge/red-flags.toml:{line}: error:")));
}

#[test]
fn every_problem_is_collected_with_its_line() {
    let source = real_source();
    let (source, bad_urgency) =
        replace_line(&source, "urgency = \"urgent\"", "urgency = \"critical\"");
    let (source, bad_regex) = replace_line(
        &source,
        "'warfarin', 'coumadin',",
        "  'warfarin(', 'coumadin',",
    );
    let (source, bad_signal) = replace_line(
        &source,
        "when = [\"fever\", \"leg_weakness\"]",
        "when = [\"fever\", \"leg_weakeness\"]",
    );
    let (source, apostrophe) = replace_line(&source, "'dribbl\\w*',", "  \"can'?t pee\",");
    let (source, empty) = replace_line(&source, "interscapular = [", "interscapular = []");
    let problems = problems_of(&source);
    let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
    for (what, line) in [
        ("unknown urgency", bad_urgency),
        ("invalid regex", bad_regex),
        ("unknown signal", bad_signal),
        ("apostrophe", apostrophe),
        ("empty", empty),
    ] {
        assert!(
            problems
                .iter()
                .any(|p| p.line == line && p.message.contains(what)),
            "no `{what}` problem on line {line}; got {problems:#?}"
        );
    }
    assert!(lines.len() >= 5);
}

#[test]
fn pattern_options_and_language_keys_are_checked() {
    let source = real_source();
    let (source, past) = replace_line(
        &source,
        "{ re = '(in|into) remission', past = \"always\" },",
        "  { re = '(in|into) remission', past = \"forever\" },",
    );
    let (source, _) = replace_line(&source, "red_flag_topics = [", "old_topics = [");
    let problems = problems_of(&source);
    assert!(
        problems
            .iter()
            .any(|p| p.line == past && p.message.contains("past = \"forever\"")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("unknown key `old_topics`")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("missing `language.red_flag_topics`")),
        "{problems:#?}"
    );
}

#[test]
fn category_ids_are_checked() {
    let source = real_source();
    let (dup, line) = replace_line(&source, "id = \"cardiac\"", "id = \"self_harm\"");
    let problems = problems_of(&dup);
    assert!(
        problems
            .iter()
            .any(|p| p.line == line && p.message.contains("duplicate category id")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("missing categories: cardiac")),
        "{problems:#?}"
    );

    let (unknown, line) = replace_line(&source, "id = \"inflammatory\"", "id = \"gout\"");
    let problems = problems_of(&unknown);
    assert!(problems
        .iter()
        .any(|p| p.line == line && p.message.contains("unknown category id `gout`")));
}

#[test]
fn toml_syntax_errors_have_lines() {
    let source = real_source();
    let (broken, line) = replace_line(&source, "id = \"cardiac\"", "id = \"cardiac");
    let problems = problems_of(&broken);
    assert!(!problems.is_empty());
    assert!(problems
        .iter()
        .all(|p| p.message.starts_with("TOML syntax")));
    assert_eq!(problems[0].line, line);
}

#[test]
fn a_bad_file_never_replaces_working_rules() {
    // The caller keeps its `Arc<Rules>` on error; here: loading a broken file yields no
    // rules at all, and the good rules keep working.
    let good = rules();
    assert!(Rules::parse(
        "[[category]]\nid = 'x'\nurgency = 'soon'\n",
        Path::new("bad.toml")
    )
    .is_err());
    assert_eq!(good.assess("cant pee").urgency, Urgency::Emergency);
    let missing = Rules::load(Path::new("/nonexistent/red-flags.toml")).expect_err("io error");
    assert_eq!(missing.problems()[0].line, 1);
}
