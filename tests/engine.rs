//! The answer engine through the library: right sections, declines, hostile input, the
//! always-present safety texts, and broken knowledge that must not take the index down.

mod common;

use backrub::answer::Answer;
use common::Workspace;

/// Every reply ends with the red-flag advice, then the disclaimer, whatever happened.
fn assert_ends_with_safety(engine: &backrub::Engine, answer: &Answer) {
    let text = answer.to_text();
    let safety = &engine.config().safety;
    let disclaimer = safety.disclaimer.trim();
    let advice = safety.red_flag_advice.trim();
    assert!(
        text.trim_end().ends_with(&format!("_{disclaimer}_")),
        "no disclaimer at the end of:\n{text}"
    );
    let advice_at = text
        .rfind(advice)
        .unwrap_or_else(|| panic!("no red-flag advice in:\n{text}"));
    assert!(
        advice_at < text.rfind(disclaimer).unwrap(),
        "advice must come before the disclaimer"
    );
}

/// The question is declined: no passage quoted, a decline that lists the topics the bot
/// knows, and the safety texts last.
fn assert_declined(engine: &backrub::Engine, question: &str) {
    let answer = engine.ask(question);
    assert!(
        !answer.answered,
        "{question:?} should be declined, got {:?}",
        answer.passages.iter().map(|p| &p.path).collect::<Vec<_>>()
    );
    assert!(answer.passages.is_empty());
    let decline = answer.decline.as_deref().expect("a decline says so");
    assert!(
        decline.contains("Deep Tissue Massage")
            || decline.contains("Choosing the Right Massage Techniques"),
        "decline must list topics: {decline}"
    );
    assert_ends_with_safety(engine, &answer);
}

/// The question is answered, and `heading` is the first passage quoted.
fn assert_first_passage(engine: &backrub::Engine, question: &str, heading: &str) {
    let answer = engine.ask(question);
    assert!(answer.answered, "{question:?} should be answered");
    let headings: Vec<&str> = answer.passages.iter().map(|p| p.heading.as_str()).collect();
    assert_eq!(
        headings.first(),
        Some(&heading),
        "{question:?}: {headings:?}"
    );
}

#[test]
fn answers_carry_the_right_section() {
    let ws = Workspace::new();
    let engine = ws.engine();
    let cases = common::jsonl("tests/data/answers.jsonl");
    assert!(
        cases.len() >= 40,
        "need at least 40 questions, have {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let question = case["question"].as_str().unwrap();
        let expect: Vec<&str> = case["expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let answer = engine.ask(question);
        let got: Vec<&str> = answer.passages.iter().map(|p| p.heading.as_str()).collect();
        if !answer.answered || !got.iter().any(|h| expect.contains(h)) {
            failures.push(format!(
                "{question:?}: expected one of {expect:?}, got {got:?}"
            ));
        }
        assert_ends_with_safety(&engine, &answer);
        for p in &answer.passages {
            assert!(
                p.path.ends_with(&p.heading),
                "citation path {:?} must end with its heading",
                p.path
            );
            assert!(
                p.path.starts_with(&p.article),
                "citation path {:?} must start with the article",
                p.path
            );
            assert!(
                answer.to_text().contains(&format!("— {}", p.path)),
                "citation missing from the reply"
            );
        }
    }
    // The bar of the answer-engine issue: at least 40 everyday questions answered with the
    // right section. Retrieval quality beyond that is measured by `backrub eval`.
    let passed = cases.len() - failures.len();
    eprintln!(
        "{passed} of {} questions carry the right section; misses:\n{}",
        cases.len(),
        failures.join("\n")
    );
    assert!(
        passed >= 40,
        "only {passed} of {} questions carry the right section:\n{}",
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn off_topic_questions_are_declined_with_the_topic_list() {
    let ws = Workspace::new();
    let engine = ws.engine();
    for question in [
        "how do i change the oil in my car",
        "how do i fix my car",
        "whats the capital of australia",
        "how much ibuprofen can i take in a day",
        "best recipe for banana bread?",
        "who won the football last night",
        "how do i fix a flat tyre on my bike",
        "does my insurance pay for a back massage",
        "how much does a deep tissue massage cost",
    ] {
        assert_declined(&engine, question);
    }
}

#[test]
fn hostile_and_odd_text_gets_a_normal_reply() {
    let ws = Workspace::new();
    let engine = ws.engine();
    let long = "deep tissue massage ".repeat(500);
    let inputs = [
        "\"(AND: -* deep~~ OR ^^)",
        "title:foo AND body:(bar OR",
        "\"",
        ":",
        "(",
        "AND",
        "-",
        "*",
        "NOT NOT NOT",
        "",
        "   \n\t ",
        "🙂💆‍♀️🔥",
        "mässage für den Rücken?",
        "按摩对背痛有帮助吗",
        "\u{0}\u{1}\u{7f}",
        "@everyone is deep tissue massage safe?",
        long.as_str(),
    ];
    for input in inputs {
        let answer = engine.ask(input);
        assert_eq!(answer.question, input);
        assert_ends_with_safety(&engine, &answer);
    }
    let long_answer = engine.ask(&long);
    assert_eq!(long.chars().count(), 10_000);
    assert!(
        long_answer.answered,
        "a long question about deep tissue massage is still answered"
    );
    assert!(
        long_answer
            .cautions
            .iter()
            .any(|c| c.contains("first 1000 characters")),
        "{:?}",
        long_answer.cautions
    );
}

#[test]
fn empty_question_invites_a_real_one() {
    let ws = Workspace::new();
    let engine = ws.engine();
    let answer = engine.ask("");
    assert!(!answer.answered);
    assert!(answer.decline.unwrap().starts_with("Ask me a question"));
}

#[test]
fn long_sections_are_quoted_as_whole_sentences_within_the_limit() {
    let ws = Workspace::new();
    // A long section: the answer sentence is buried in the middle.
    let filler =
        "Our clinic opened in a quiet street and has a small waiting room with plants. ".repeat(8);
    let article = format!(
        "# Long Article\n\n## Warm Compresses\n\n{filler}\n\nA warm compress before a massage session can loosen stiff shoulders quickly.\n\n{filler}\n"
    );
    std::fs::write(ws.knowledge("long.md"), article).unwrap();
    let engine = ws.engine();
    let answer = engine.ask("does a warm compress help before a session?");
    let quote = answer
        .passages
        .iter()
        .find(|p| p.heading == "Warm Compresses")
        .expect("warm compresses section quoted");
    let limit = engine.config().answer.max_quote_chars;
    assert!(
        quote.text.chars().count() <= limit + 4,
        "{} chars",
        quote.text.chars().count()
    );
    assert!(
        quote.text.contains(
            "A warm compress before a massage session can loosen stiff shoulders quickly."
        ),
        "{}",
        quote.text
    );
}

#[test]
fn broken_file_is_reported_and_the_old_index_keeps_serving() {
    let ws = Workspace::new();
    let engine = ws.engine();
    let before = engine.ask("is deep tissue massage good for knots?");
    assert!(before.answered);
    let manifest_before = engine.manifest();

    // Malformed front matter on line 3.
    std::fs::write(
        ws.knowledge("broken.md"),
        "+++\ntitle = \"Broken\"\ntags = [\"a\",, ]\n+++\n# Broken\n\ntext\n",
    )
    .unwrap();
    let err = engine
        .reindex()
        .expect_err("a broken file must fail the rebuild");
    let problems = err.problems();
    let bad = problems
        .iter()
        .find(|p| p.file.ends_with("broken.md"))
        .expect("the broken file is named");
    assert_eq!(bad.line, 3, "{bad}");
    assert!(err.to_string().contains("broken.md:3:"), "{err}");

    // Still serving the old generation, with the same answers.
    assert_eq!(engine.manifest(), manifest_before);
    let after = engine.ask("is deep tissue massage good for knots?");
    assert_eq!(
        after.passages.first().map(|p| &p.path),
        before.passages.first().map(|p| &p.path)
    );

    // A fresh process starting on the broken folder also serves the last good index.
    let restarted = ws.engine();
    assert_eq!(
        restarted.manifest().content_hash,
        manifest_before.content_hash
    );
    assert!(restarted
        .problems()
        .iter()
        .any(|p| p.file.ends_with("broken.md")));

    // Fixing the file makes the rebuild succeed and report the addition.
    std::fs::write(
        ws.knowledge("broken.md"),
        "+++\ntitle = \"Fixed\"\n+++\n# Fixed\n\nHot stones are warmed basalt.\n",
    )
    .unwrap();
    let report = engine.reindex().expect("fixed knowledge rebuilds");
    assert_eq!(report.added, ["broken.md"]);
    assert_eq!(report.passages, manifest_before.passages + 1);
}

#[test]
fn index_is_reused_when_fresh_and_rebuilt_when_stale() {
    let ws = Workspace::new();
    let first = ws.engine().manifest();
    let second = ws.engine().manifest();
    assert_eq!(
        first.built_at, second.built_at,
        "a fresh index is reused, not rebuilt"
    );
    assert_eq!(first, second);
    std::fs::write(
        ws.knowledge("extra.md"),
        "# Extra\n\nHot stone massage uses warmed stones.\n",
    )
    .unwrap();
    let third = ws.engine().manifest();
    assert_ne!(third.content_hash, first.content_hash);
    assert_eq!(third.passages, first.passages + 1);
}

#[test]
fn section_keywords_match_as_phrases_and_are_never_quoted() {
    let ws = Workspace::new();
    std::fs::write(
        ws.knowledge("stones.md"),
        "# Hot Stones\n\n## Basalt Stones\n\n<!-- keywords: rocks on my spine, under the weather -->\n\nWarmed basalt is placed along the spine.\n\n## Cold Stones\n\nMarble is kept cool for swelling.\n",
    )
    .unwrap();
    let engine = ws.engine();
    // The whole phrase: its section answers, and the keywords stay out of the quote.
    let answer = engine.ask("can you put rocks on my spine?");
    let first = answer.passages.first().expect("answered");
    assert_eq!(first.heading, "Basalt Stones");
    assert!(
        !answer.to_text().contains("rocks on my spine"),
        "keywords must not be quoted"
    );
    // One word of a phrase is not the phrase: the weather is off-topic.
    let weather = engine.ask("what's the weather like tomorrow");
    assert!(
        !weather.answered,
        "{:?}",
        weather
            .passages
            .iter()
            .map(|p| &p.heading)
            .collect::<Vec<_>>()
    );
}

/// The issue's own examples of how people ask: each finds its sections, and the near misses
/// are declined.
#[test]
fn the_issues_examples_find_their_sections() {
    let ws = Workspace::new();
    let engine = ws.engine();
    let top = |question: &str, n: usize| -> Vec<String> {
        let retrieval = engine.retrieve(question, false);
        assert!(
            !retrieval.answering_hits(&engine.config().answer).is_empty(),
            "{question:?} declined"
        );
        retrieval
            .hits
            .iter()
            .take(n)
            .map(|h| h.passage.heading.clone())
            .collect()
    };
    let knots = top(
        "my lower back is always in knots, what kind of rub should I book?",
        2,
    );
    assert!(
        knots.contains(&"Deep Tissue Massage".to_string())
            && knots.contains(&"Trigger Point Therapy".to_string()),
        "{knots:?}"
    );
    assert_eq!(
        top("pain shooting down my leg", 1),
        ["Different Types of Back Pain"]
    );
    let dvt = top("is it safe with a DVT?", 1);
    assert!(
        dvt == ["Possible Contraindications or Risks"]
            || dvt == ["Blood Clots and Deep Vein Thrombosis"],
        "{dvt:?}"
    );
    for question in ["best painkiller dose?", "can massage cure cancer?"] {
        assert_declined(&engine, question);
    }
}

/// A misspelt little word is fixed into filler, not into a content word: "shoud" weighs
/// nothing, "strech" is "stretch".
#[test]
fn typo_fixes_that_land_on_little_words_weigh_nothing() {
    let ws = Workspace::new();
    let engine = ws.engine();
    let retrieval = engine.retrieve("shoud i strech before my massage", false);
    let weight = |word: &str| {
        retrieval
            .concepts
            .iter()
            .find(|c| c.word == word)
            .map(|c| c.weight)
    };
    assert_eq!(weight("shoud"), Some(0.0));
    assert!(weight("strech").is_some_and(|w| w > 0.0));
}

/// A common English word the articles never use is taken as meant, not "fixed" into an
/// article word that looks like it: "movie" stays "movie" (not "move"), "brother" is not
/// "bother"; a real slip still is fixed, and so is a clipped "-in'" word.
#[test]
fn common_words_are_not_taken_for_typos() {
    let ws = Workspace::new();
    let engine = ws.engine();
    let retrieval = engine.retrieve(
        "my brother wants a movie night, is a sweedish massage ok",
        false,
    );
    let concept = |word: &str| {
        retrieval
            .concepts
            .iter()
            .find(|c| c.word == word)
            .unwrap_or_else(|| panic!("no concept {word:?}"))
    };
    assert!(!concept("movie").known, "{:?}", concept("movie"));
    assert!(!concept("brother").known, "{:?}", concept("brother"));
    assert!(
        concept("sweedish")
            .alternatives
            .iter()
            .any(|(s, _)| s == "swedish"),
        "{:?}",
        concept("sweedish")
    );
    // Chat clippings are in the word list too, but mean the word with its g: here filler.
    let retrieval = engine.retrieve("thinkin about tryin a massage", false);
    for word in ["thinkin", "tryin"] {
        let concept = retrieval.concepts.iter().find(|c| c.word == word);
        assert!(concept.is_none_or(|c| c.weight == 0.0), "{concept:?}");
    }
}

/// Everyday adverbs the articles never use ("genuinely") and reflexive pronouns ("itself")
/// are how a question is said, not what it is about: they do not count against coverage.
#[test]
fn everyday_adverbs_and_reflexives_are_filler() {
    let ws = Workspace::new();
    let engine = ws.engine();
    let retrieval = engine.retrieve(
        "does massage genuinely help or does the pain just fix itself randomly",
        false,
    );
    for word in ["genuinely", "itself", "randomly"] {
        let concept = retrieval.concepts.iter().find(|c| c.word == word);
        assert!(concept.is_none_or(|c| c.weight == 0.0), "{concept:?}");
    }
    // A word the articles never use that is not an adverb still counts: it may be the topic.
    let retrieval = engine.retrieve("does massage help with kidney stones", false);
    let kidney = retrieval.concepts.iter().find(|c| c.word == "kidney");
    assert!(
        kidney.is_some_and(|c| !c.known && c.weight > 0.0),
        "{kidney:?}"
    );
    assert_first_passage(
        &engine,
        "In what different ways can back pain show itself?",
        "Different Types of Back Pain",
    );
}

/// Topics next to the articles but not in them (tipping, becoming a therapist, oils,
/// acupuncture) are declined, while the same words used otherwise are not ("any tips").
#[test]
fn neighbouring_topics_are_declined_but_their_words_elsewhere_are_not() {
    let ws = Workspace::new();
    let engine = ws.engine();
    for question in [
        "should i tip my massage therapist and how much",
        "do u tip massage therapists",
        "how do i become a licensed massage therapist myself",
        "what essential oils are best for a back massage",
        "does acupuncture work for lower back pain?",
        "is acupunture any good for back pain", // misspelt
        "best sleeping position for lower back pain",
        "is thai massage safe",
        "does smoking make back pain worse",
        "is a back brace worth wearing all day",
        // How doctors treat a condition, unless the question is about massage.
        "what meds do they use for ankylosing spondylitis",
    ] {
        assert_declined(&engine, question);
    }
    for (question, heading) in [
        (
            "any tips to relax and cope with my back pain every day",
            "Relaxation Techniques for Daily Pain Management",
        ),
        // "my baby" is out of scope; a pregnancy is not.
        (
            "im 10 weeks along with my first baby, is massage safe",
            "Pregnancy",
        ),
        (
            "can i have a massage while on blood thinner meds",
            "Blood Thinners and Bleeding Disorders",
        ),
        // Blood pressure is not a topic of its own, but the articles say to check first.
        (
            "i have high blood pressure, do i need to check with my gp before a massage",
            "Consulting with a Healthcare Professional",
        ),
    ] {
        assert_first_passage(&engine, question, heading);
    }
}

/// Back pain that starts under 20 or over 50 is a reason to see a doctor soon: an age said
/// as a number finds that advice.
#[test]
fn an_age_finds_the_advice_for_that_age() {
    let ws = Workspace::new();
    let engine = ws.engine();
    for question in [
        "im 58 and my back pain just started, can i book a massage",
        "my daughter is 15 and her back has hurt for weeks",
    ] {
        assert_first_passage(&engine, question, "When to See a Doctor Soon");
    }
}

/// The decline model declines questions that name something the articles mention but ask
/// about another side of it, which the rules let through: with the model turned off
/// (`decline_above = 1`) the same questions are answered. Questions next to them stay
/// answered.
#[test]
fn the_decline_model_declines_what_the_rules_let_through() {
    let ws = Workspace::new();
    let engine = ws.engine();
    let mut config = ws.config();
    config.answer.decline_above = 1.0;
    let without_model = backrub::Engine::open(config).unwrap();
    for question in [
        "how is cauda equina syndrome treated, is it always surgery",
        "which muscles does a deadlift work",
        "what is a normal platelet count",
        "how do you treat uveitis",
    ] {
        assert_declined(&engine, question);
        assert!(
            without_model.ask(question).answered,
            "{question:?}: the rules alone answer it, so the model is what declines it"
        );
    }
    for (question, heading) in [
        ("can i get a massage in my first trimester", "Pregnancy"),
        (
            "is deep tissue massage good for knots",
            "Deep Tissue Massage",
        ),
        (
            "what does a massage therapist do",
            "Definition of Massage Therapy",
        ),
        ("can massage treat sciatica", "Different Types of Back Pain"),
    ] {
        assert_first_passage(&engine, question, heading);
    }
}

/// "shouldn't" is one word, as the word lists and keywords spell it; "how dose massage
/// help" is a slip for "does", not a question about medicine doses.
#[test]
fn contractions_and_a_slipped_dose_read_as_meant() {
    let ws = Workspace::new();
    let engine = ws.engine();
    assert_first_passage(
        &engine,
        "who shouldn't get a massage",
        "When Massage Is Not Advised",
    );
    assert_first_passage(
        &engine,
        "how dose masage help loosen up tight mucsles",
        "Therapeutic Effects of Massage on Muscles",
    );
    assert_declined(
        &engine,
        "what dose of ibuprofen should i take for back pain",
    );
}

/// A keyword phrase earns full credit for its content words and part credit for the little
/// words the question also says, so "should i ..." does not outweigh what it is about.
#[test]
fn keyword_phrases_weigh_content_words_above_little_words() {
    let ws = Workspace::new();
    let engine = ws.engine();
    // "stretch before massage" (Warming Up) says more of this than "what stretches should i
    // do" (Incorporating Stretching), though both share three words with it.
    assert_first_passage(
        &engine,
        "should i stretch before my massage",
        "Warming Up and Stretching before the Session",
    );
}

/// The in-memory passage memo hands out exactly what the index stores, and keeps nothing
/// past its byte budget.
#[test]
fn the_passage_memo_matches_the_stored_documents_and_keeps_to_its_budget() {
    use backrub::index::{IndexStore, PassageMemo};
    use tantivy::schema::Value;
    use tantivy::{DocAddress, TantivyDocument};

    let ws = Workspace::new();
    drop(ws.engine()); // builds the index
    let index = IndexStore::new(&ws.config().index_dir)
        .open_current()
        .unwrap();
    let searcher = index.reader.searcher();
    let none_kept = PassageMemo::new(&index.reader, 0);
    let max_doc = searcher.segment_reader(0).max_doc();
    assert!(max_doc > 10);
    for doc_id in 0..max_doc {
        let address = DocAddress::new(0, doc_id);
        let stored: TantivyDocument = searcher.doc(address).unwrap();
        let body = stored.get_first(index.fields.body).and_then(|v| v.as_str());
        let path = stored.get_first(index.fields.path).and_then(|v| v.as_str());
        for _ in 0..2 {
            let p = index
                .passages
                .get(&searcher, &index.fields, address)
                .unwrap();
            assert_eq!(Some(p.body.as_str()), body);
            assert_eq!(Some(p.path.as_str()), path);
            let q = none_kept.get(&searcher, &index.fields, address).unwrap();
            assert_eq!(Some(q.body.as_str()), body);
        }
    }
    assert!(
        index.passages.used() > 0,
        "the bundled knowledge fits the budget"
    );
    assert_eq!(none_kept.used(), 0, "a zero budget keeps nothing");
}

/// A long passage is quoted by its sentences that mention the question, and the sentence
/// split kept with a stored passage gives the same excerpt as splitting afresh, on first and
/// later questions alike.
#[test]
fn quotes_from_remembered_sentence_splits_match_fresh_excerpts() {
    use backrub::answer::excerpt;
    use backrub::retrieve::Retriever;
    use backrub::synonyms::Synonyms;

    let ws = Workspace::new();
    let engine = ws.engine();
    let config = engine.config().clone();
    let retriever = Retriever::new(
        Synonyms::load(&config.synonyms_file()).unwrap(),
        config.answer.clone(),
    );
    let questions = [
        "cant pee since yesterday and my bum is numb, is massage ok?",
        "what are the warning signs that back pain is an emergency",
        "is it safe to get a massage on blood thinners",
    ];
    let mut trimmed = 0;
    for _ in 0..2 {
        for question in questions {
            let answer = engine.ask(question);
            let retrieval = engine.retrieve(question, false);
            for quote in &answer.passages {
                let hit = retrieval
                    .hits
                    .iter()
                    .find(|h| h.passage.path == quote.path)
                    .expect("a quoted passage is among the hits");
                let fresh = excerpt(
                    &hit.passage.body,
                    &retrieval.concepts,
                    &retriever,
                    config.answer.max_quote_chars,
                );
                assert_eq!(quote.text, fresh, "{question:?} quoting {}", quote.path);
                if fresh.len() < hit.passage.body.len() {
                    trimmed += 1;
                }
            }
        }
    }
    assert!(trimmed > 0, "some quote must be a trimmed excerpt");
}
