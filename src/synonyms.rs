//! The lay-term table (`knowledge/synonyms.toml`): words people type → words the articles use.
//!
//! ```toml
//! [lay_terms]
//! knots = ["trigger point", "knot", "tension"]
//! "pins and needles" = ["numbness", "tingling"]
//! ```
//!
//! Keys and expansions are stemmed with the index's analyzer, so `knotted` finds the `knots`
//! entry and an expansion matches every inflection in the articles. A multi-word expansion
//! ("cancer treatment") is kept together: a passage matches it only when it has every one of
//! its words, so "treatment" alone does not stand for chemo. Loaded and validated once;
//! retrieval only looks phrases up.

use std::collections::BTreeMap;
use std::path::Path;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use tantivy::tokenizer::TextAnalyzer;

use crate::problem::{line_of_offset, Problem};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    lay_terms: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    out_of_scope: OutOfScope,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutOfScope {
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    elsewhere: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
    /// More `elsewhere`/`unless` pairs, each with its own exception: `[[out_of_scope.group]]`.
    #[serde(default)]
    group: Vec<Group>,
}

/// `[[out_of_scope.group]]`: `words` are declined unless the question also says one of
/// `unless`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    words: Vec<String>,
    unless: Vec<String>,
}

/// A compiled [`Group`], as stem sequences.
#[derive(Debug, Clone, Default)]
struct Conditional {
    words: KeySet,
    unless: KeySet,
}

/// Stem sequences, found in a question by their first stem: a question's few words are
/// looked up, rather than hundreds of entries compared with every position.
#[derive(Debug, Clone, Default)]
struct KeySet {
    keys: Vec<Vec<String>>,
    /// Indexes into `keys` by first stem, ascending.
    by_first: FxHashMap<String, Vec<usize>>,
}

impl KeySet {
    fn new(keys: Vec<Vec<String>>) -> KeySet {
        let mut by_first: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        for (i, key) in keys.iter().enumerate() {
            by_first.entry(key[0].clone()).or_default().push(i);
        }
        KeySet { keys, by_first }
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Of the keys said somewhere in `stems`, the one listed first.
    fn first_said(&self, stems: &[&str]) -> Option<&[String]> {
        let mut first: Option<usize> = None;
        for (at, stem) in stems.iter().enumerate() {
            let Some(candidates) = self.by_first.get(*stem) else {
                continue;
            };
            let rest = &stems[at..];
            let said = candidates.iter().copied().find(|&i| {
                let key = &self.keys[i];
                key.len() <= rest.len() && key.iter().zip(rest).all(|(k, s)| k == s)
            });
            if let Some(i) = said {
                first = Some(first.map_or(i, |f| f.min(i)));
            }
        }
        first.map(|i| self.keys[i].as_slice())
    }
}

/// One entry: a phrase (as stems) and what it stands for (as stems).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The lay phrase as typed in the file.
    pub phrase: String,
    /// Its stems, in order.
    pub stems: Vec<String>,
    /// What it expands to, one item per listed expansion: its stems joined by a space
    /// (deduplicated).
    pub expansions: Vec<String>,
}

/// The compiled table.
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    /// Longest phrases first, so "lower back" wins over "back".
    entries: Vec<Entry>,
    /// Entries by their first stem (indexes into `entries`, in its order).
    by_first: FxHashMap<String, Vec<usize>>,
    /// `[out_of_scope] words`, as stem sequences: a question containing one is declined.
    out_of_scope: KeySet,
    /// `[out_of_scope] elsewhere` with its `unless`, then each `[[out_of_scope.group]]`:
    /// declined too, unless the question also says one of the group's `unless` ("my neck and
    /// lower back are stiff" is about the back).
    conditional: Vec<Conditional>,
}

fn stems(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

impl Synonyms {
    /// Reads `path`; a missing file is an empty table.
    pub fn load(path: &Path) -> Result<Synonyms, Vec<Problem>> {
        match read(path)? {
            Some(text) => Synonyms::parse(&text, path),
            None => Ok(Synonyms::default()),
        }
    }

    /// Parses the table; `path` is for messages. Collects every problem.
    pub fn parse(text: &str, path: &Path) -> Result<Synonyms, Vec<Problem>> {
        Synonyms::compile(parse_file(text, path)?, text, path)
    }

    /// Builds the table from the parsed file (`text` locates problems).
    fn compile(file: File, text: &str, path: &Path) -> Result<Synonyms, Vec<Problem>> {
        let mut analyzer = crate::index::stem_analyzer();
        let mut problems = Vec::new();
        let mut entries = Vec::new();
        for (phrase, expansions) in file.lay_terms {
            let line = find_key_line(text, &phrase);
            let key_stems = stems(&mut analyzer, &phrase);
            if key_stems.is_empty() {
                problems.push(Problem::error(
                    path,
                    line,
                    format!("lay term {phrase:?} has no words"),
                ));
                continue;
            }
            let mut expanded: Vec<String> = Vec::new();
            for expansion in &expansions {
                let group = stems(&mut analyzer, expansion).join(" ");
                if !group.is_empty() && !expanded.contains(&group) {
                    expanded.push(group);
                }
            }
            if expanded.is_empty() {
                problems.push(Problem::error(
                    path,
                    line,
                    format!("lay term {phrase:?} expands to nothing"),
                ));
                continue;
            }
            entries.push(Entry {
                phrase,
                stems: key_stems,
                expansions: expanded,
            });
        }
        let mut keys = |list: &[String]| -> Vec<Vec<String>> {
            let mut keys = Vec::new();
            for word in list {
                let key = stems(&mut analyzer, word);
                if key.is_empty() {
                    let line = find_out_of_scope_line(text, word);
                    problems.push(Problem::error(
                        path,
                        line,
                        format!("out-of-scope word {word:?} has no words"),
                    ));
                } else {
                    keys.push(key);
                }
            }
            keys
        };
        let scope = &file.out_of_scope;
        let out_of_scope = KeySet::new(keys(&scope.words));
        let conditional: Vec<Conditional> = std::iter::once((&scope.elsewhere, &scope.unless))
            .chain(scope.group.iter().map(|g| (&g.words, &g.unless)))
            .map(|(words, unless)| Conditional {
                words: KeySet::new(keys(words)),
                unless: KeySet::new(keys(unless)),
            })
            .filter(|c| !c.words.is_empty())
            .collect();
        if !problems.is_empty() {
            return Err(problems);
        }
        entries.sort_by(|a, b| {
            b.stems
                .len()
                .cmp(&a.stems.len())
                .then_with(|| a.phrase.cmp(&b.phrase))
        });
        let mut by_first: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        for (i, entry) in entries.iter().enumerate() {
            by_first.entry(entry.stems[0].clone()).or_default().push(i);
        }
        Ok(Synonyms {
            entries,
            by_first,
            out_of_scope,
            conditional,
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first out-of-scope word or phrase found in `stems`, if any: one of `words`, or
    /// one of a conditional group's words (`elsewhere`, `[[out_of_scope.group]]`) when none
    /// of that group's `unless` is said.
    pub fn out_of_scope(&self, stems: &[&str]) -> Option<String> {
        self.out_of_scope
            .first_said(stems)
            .or_else(|| {
                self.conditional.iter().find_map(|group| {
                    if group.unless.first_said(stems).is_some() {
                        None
                    } else {
                        group.words.first_said(stems)
                    }
                })
            })
            .map(|key| key.join(" "))
    }

    /// The one-word `[out_of_scope] words` entry that `stem` (of a word the articles never
    /// use) is a misspelling of, if any: within one edit (two from 9 letters), keeping the
    /// first letter ("acupunture" is "acupuncture"). An out-of-scope topic is declined
    /// however it is spelt.
    pub fn out_of_scope_misspelt(&self, stem: &str) -> Option<String> {
        let max = if stem.len() >= 9 { 2 } else { 1 };
        self.out_of_scope
            .keys
            .iter()
            .filter_map(|key| match key.as_slice() {
                [word] => Some(word),
                _ => None,
            })
            .find(|word| {
                word.len() >= 5
                    && word.as_bytes()[0] == stem.as_bytes()[0]
                    // One the start of the other is another word, not a slip: "overdo" is
                    // not "overdose".
                    && !word.starts_with(stem)
                    && !stem.starts_with(word.as_str())
                    && strsim::osa_distance(word, stem) <= max
            })
            .cloned()
    }

    /// The longest entry whose phrase starts at `stems[at]`.
    pub fn match_at(&self, stems: &[&str], at: usize) -> Option<&Entry> {
        let first = stems.get(at)?;
        self.by_first
            .get(*first)?
            .iter()
            .map(|&i| &self.entries[i])
            .find(|entry| {
                let n = entry.stems.len();
                at + n <= stems.len()
                    && entry
                        .stems
                        .iter()
                        .zip(&stems[at..at + n])
                        .all(|(a, b)| a == b)
            })
    }
}

/// The file's text; `None` when it does not exist (an empty table).
fn read(path: &Path) -> Result<Option<String>, Vec<Problem>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(vec![Problem::error(
            path,
            1,
            format!("cannot read synonyms: {e}"),
        )]),
    }
}

fn parse_file(text: &str, path: &Path) -> Result<File, Vec<Problem>> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of_offset(text, s.start)).unwrap_or(1);
        vec![Problem::error(path, line, e.message().to_string())]
    })
}

/// Everything `backrub check` reports about the table at `path`, read once: its errors (see
/// [`Synonyms::parse`]) or, when it has none, its [`warnings`].
pub fn lint(path: &Path) -> Vec<Problem> {
    match read(path) {
        Ok(Some(text)) => lint_text(&text, path),
        Ok(None) => Vec::new(),
        Err(problems) => problems,
    }
}

fn lint_text(text: &str, path: &Path) -> Vec<Problem> {
    let file = match parse_file(text, path) {
        Ok(file) => file,
        Err(problems) => return problems,
    };
    let warnings = warnings(&file.out_of_scope, text, path);
    match Synonyms::compile(file, text, path) {
        Ok(_) => warnings,
        Err(problems) => problems,
    }
}

/// Moderator warnings for a table that parses (see [`Synonyms::parse`] for errors): a
/// one-word out-of-scope word is matched by its *stem*, so when the stem is another everyday
/// word the entry declines more than it says ("icing" is matched as "ice", so "slipped on
/// ice" would be declined; "tipping" as "tip", so "any tips?" would be; "mondays" as
/// "monday"). Not reported when the stem word is listed too ("costs" beside "cost"), which
/// says it was meant.
/// (Lay terms reach further the same way, "poorly" → "poor", but only add alternatives;
/// reviewed by hand rather than warned about, since most such stems are harmless.)
fn warnings(out_of_scope: &OutOfScope, text: &str, path: &Path) -> Vec<Problem> {
    let mut analyzer = crate::index::stem_analyzer();
    let mut problems = Vec::new();
    let groups = out_of_scope.group.iter().map(|g| &g.words);
    for list in [&out_of_scope.words, &out_of_scope.elsewhere]
        .into_iter()
        .chain(groups)
    {
        let listed: Vec<String> = list.iter().map(|w| w.to_lowercase()).collect();
        for word in list {
            let Ok([stem]) = <[String; 1]>::try_from(stems(&mut analyzer, word)) else {
                continue;
            };
            if stem != word.to_lowercase()
                && crate::retrieve::is_common_english(&stem)
                && !listed.contains(&stem)
            {
                problems.push(Problem::warning(
                    path,
                    find_out_of_scope_line(text, word),
                    format!(
                        "out-of-scope word {word:?} is matched by its stem {stem:?}, so every \
                         question saying {stem:?} (or a word that stems like it) is declined; \
                         list the phrases you mean, or list {stem:?} too if that is intended"
                    ),
                ));
            }
        }
    }
    problems
}

/// The line of `word` quoted in the `[out_of_scope]` part of the file (a lay term may have
/// the same key: `meds = [...]`).
fn find_out_of_scope_line(text: &str, word: &str) -> usize {
    let quoted = format!("\"{word}\"");
    let start = text
        .lines()
        .position(|line| {
            line.trim_start().starts_with("[out_of_scope")
                || line.trim_start().starts_with("[[out_of_scope")
        })
        .unwrap_or(0);
    text.lines()
        .skip(start)
        .position(|line| line.contains(&quoted))
        .map_or_else(|| find_key_line(text, word), |i| start + i + 1)
}

fn find_key_line(text: &str, key: &str) -> usize {
    // A quoted item anywhere, or a bare key at the start of a line ("tense =" must not find
    // "intense =").
    let quoted = format!("\"{key}\"");
    text.lines()
        .position(|line| {
            line.contains(&quoted)
                || line
                    .trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_on_stems_longest_first() {
        let text = "[lay_terms]\nback = [\"spine\"]\n\"lower back\" = [\"lumbar\"]\nknots = [\"trigger point\", \"knots\"]\n";
        let s = Synonyms::parse(text, Path::new("s.toml")).unwrap();
        let words = ["my", "lower", "back", "is", "knot"];
        assert_eq!(s.match_at(&words, 1).unwrap().phrase, "lower back");
        let knot = s.match_at(&words, 4).unwrap();
        assert_eq!(knot.expansions, ["trigger point", "knot"]);
        assert!(s.match_at(&words, 0).is_none());
    }

    #[test]
    fn out_of_scope_words_match_on_stems() {
        let text = "[lay_terms]\nrub = [\"massage\"]\n[out_of_scope]\nwords = [\"dose\", \"co-codamol\"]\n";
        let s = Synonyms::parse(text, Path::new("s.toml")).unwrap();
        assert_eq!(
            s.out_of_scope(&["what", "dose", "of"]).as_deref(),
            Some("dose")
        );
        assert_eq!(
            s.out_of_scope(&["take", "co", "codamol"]).as_deref(),
            Some("co codamol")
        );
        assert!(s.out_of_scope(&["co", "op"]).is_none());
        assert!(s.out_of_scope(&["take", "co"]).is_none());
        // Of several entries said, the one listed first is named, wherever it is said.
        assert_eq!(
            s.out_of_scope(&["co", "codamol", "dose"]).as_deref(),
            Some("dose")
        );
    }

    #[test]
    fn out_of_scope_words_whose_stem_is_another_word_are_warned_about() {
        let text = "[lay_terms]\nweekly = [\"every week\"]\n\
                    [out_of_scope]\nwords = [\"icing\", \"costs\", \"cost\", \"keto\", \"ice pack\"]\n\
                    elsewhere = [\"tipping\", \"curing\", \"cure\"]\n";
        let problems = lint_text(text, Path::new("s.toml"));
        let said: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(problems.len(), 2, "{said:?}");
        assert_eq!(problems[0].line, 4);
        assert!(problems[0]
            .message
            .contains("\"icing\" is matched by its stem \"ice\""));
        assert!(problems[1]
            .message
            .contains("\"tipping\" is matched by its stem \"tip\""));
        assert!(problems.iter().all(|p| !p.is_error()));
    }

    #[test]
    fn a_warning_points_at_the_out_of_scope_entry_not_a_lay_term_of_the_same_name() {
        let text = "[lay_terms]\nmeds = [\"medicines\"]\n\
                    [out_of_scope]\n[[out_of_scope.group]]\nwords = [\"meds\"]\nunless = [\"massage\"]\n";
        let problems = lint_text(text, Path::new("s.toml"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 5);
        assert!(problems[0]
            .message
            .contains("\"meds\" is matched by its stem \"med\""));
    }

    #[test]
    fn misspelt_out_of_scope_words_are_found() {
        let text = "[out_of_scope]\nwords = [\"acupuncture\", \"keto\", \"tip my\"]\n";
        let s = Synonyms::parse(text, Path::new("s.toml")).unwrap();
        assert_eq!(
            s.out_of_scope_misspelt("acupuntur").as_deref(),
            Some("acupunctur")
        );
        assert_eq!(
            s.out_of_scope_misspelt("acupunctr").as_deref(),
            Some("acupunctur")
        );
        assert!(s.out_of_scope_misspelt("kato").is_none()); // short entries: exact only
        assert!(s.out_of_scope_misspelt("bcupunctur").is_none()); // first letter kept
        assert!(s.out_of_scope_misspelt("acupres").is_none());
        // A shorter or longer word is another word: "overdoing" (stem "overdo") is not
        // "overdose".
        let s = Synonyms::parse(
            "[out_of_scope]\nwords = [\"overdose\"]\n",
            Path::new("s.toml"),
        )
        .unwrap();
        assert!(s.out_of_scope_misspelt("overdo").is_none());
        assert_eq!(
            s.out_of_scope_misspelt("ovrdos").as_deref(),
            Some("overdos")
        );
    }

    #[test]
    fn elsewhere_is_out_of_scope_unless_the_back_is_named() {
        let text = "[out_of_scope]\nelsewhere = [\"neck\"]\nunless = [\"back\", \"lower back\"]\n";
        let s = Synonyms::parse(text, Path::new("s.toml")).unwrap();
        assert_eq!(
            s.out_of_scope(&["stiff", "neck", "massag"]).as_deref(),
            Some("neck")
        );
        assert!(s.out_of_scope(&["stiff", "neck", "and", "back"]).is_none());
        assert!(s.out_of_scope(&["stiff", "back"]).is_none());
    }

    #[test]
    fn each_group_has_its_own_exception() {
        let text = "[out_of_scope]\nelsewhere = [\"neck\"]\nunless = [\"back\"]\n\
                    [[out_of_scope.group]]\nwords = [\"surgery\", \"meds\"]\nunless = [\"massage\"]\n";
        let s = Synonyms::parse(text, Path::new("s.toml")).unwrap();
        let said = |words: &[&str]| s.out_of_scope(words);
        assert_eq!(
            said(&["when", "is", "surgeri", "need"]).as_deref(),
            Some("surgeri")
        );
        assert_eq!(
            said(&["back", "surgeri", "recoveri"]).as_deref(),
            Some("surgeri")
        );
        assert!(said(&["massag", "after", "surgeri"]).is_none());
        // The back excuses the neck, not surgery; massage excuses surgery, not the neck.
        assert_eq!(said(&["neck", "massag"]).as_deref(), Some("neck"));
        assert!(said(&["neck", "and", "back", "massag", "med"]).is_none());
        // A group needs both lists.
        let broken = "[out_of_scope]\n[[out_of_scope.group]]\nwords = [\"meds\"]\n";
        let problems = Synonyms::parse(broken, Path::new("s.toml")).unwrap_err();
        assert!(problems[0].message.contains("unless"), "{problems:?}");
    }

    #[test]
    fn empty_expansion_is_reported_at_its_line() {
        let text = "[lay_terms]\nrub = [\"massage\"]\nzap = []\n";
        let problems = Synonyms::parse(text, Path::new("s.toml")).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 3);
    }

    #[test]
    fn syntax_error_is_reported_at_its_line() {
        let problems =
            Synonyms::parse("[lay_terms]\nrub = [\"massage\"\n", Path::new("s.toml")).unwrap_err();
        assert!(problems[0].line >= 2, "{}", problems[0]);
    }

    #[test]
    fn bundled_table_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge/synonyms.toml");
        let s = Synonyms::load(&path).unwrap();
        assert!(s.len() >= 20);
    }
}
