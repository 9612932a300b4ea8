//! The engine: everything a front end (CLI, Discord) needs, behind one `Send + Sync` value.
//!
//! It owns the served state — an opened index generation, the retriever with its lay-term
//! table, and the compiled red-flag rules — behind an [`ArcSwap`]. A question loads the
//! current state once and works on that snapshot; a rebuild prepares a complete new state
//! and swaps it in with one pointer store. So a question asked during a rebuild is answered
//! from the old knowledge, never from a half-built index, and a failed rebuild (a broken
//! article, a bad regex) changes nothing.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::answer::{compose, Answer, Context};
use crate::config::Config;
use crate::decline::DeclineModel;
use crate::index::{IndexError, IndexStore, Manifest, OpenIndex};
use crate::knowledge::{self, Knowledge, Topic};
use crate::problem::Problem;
use crate::retrieve::{Retrieval, Retriever};
use crate::synonyms::Synonyms;
use crate::triage::Rules;

/// Why the engine could not start or rebuild.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The index folder could not be used.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// Knowledge, rules, synonyms or the decline model have errors; nothing was changed.
    #[error("{}", Problems(problems))]
    Invalid {
        /// Every finding (errors and warnings).
        problems: Vec<Problem>,
    },
}

impl EngineError {
    /// The findings behind the error, each as `file:line`.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            EngineError::Invalid { problems } => problems.clone(),
            EngineError::Index(e) => vec![Problem::error("index", 1, e.to_string())],
        }
    }
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.0.iter().filter(|p| p.is_error()).count();
        write!(
            f,
            "{errors} error(s) in the knowledge; the previous knowledge keeps serving"
        )?;
        for p in self.0 {
            write!(f, "\n{p}")?;
        }
        Ok(())
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IndexReport {
    /// Article files indexed.
    pub files: usize,
    /// Passages indexed.
    pub passages: usize,
    /// Passages in the generation that was served before.
    pub passages_before: usize,
    /// Wall time of the rebuild.
    pub took: Duration,
    /// Article files that are new since the previous generation.
    pub added: Vec<String>,
    /// Article files whose content changed.
    pub changed: Vec<String>,
    /// Article files that are gone.
    pub removed: Vec<String>,
    /// Findings (warnings only, when the rebuild succeeded).
    pub problems: Vec<Problem>,
}

impl fmt::Display for IndexReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "indexed {} file(s), {} passage(s) (before: {}) in {:.2} s",
            self.files,
            self.passages,
            self.passages_before,
            self.took.as_secs_f64()
        )?;
        let list = |names: &[String]| {
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        writeln!(f, "added: {}", list(&self.added))?;
        writeln!(f, "changed: {}", list(&self.changed))?;
        write!(f, "removed: {}", list(&self.removed))?;
        if self.problems.is_empty() {
            write!(f, "\nproblems: none")?;
        }
        for p in &self.problems {
            write!(f, "\n{p}")?;
        }
        Ok(())
    }
}

/// The state questions are answered from. Immutable once built.
struct Served {
    index: OpenIndex,
    retriever: Retriever,
    rules: Arc<Rules>,
    topics: Vec<String>,
}

/// The answer engine.
pub struct Engine {
    config: Config,
    store: IndexStore,
    served: ArcSwap<Served>,
    /// Serialises rebuilds: two at once would race for `CURRENT`.
    rebuilding: Mutex<()>,
    startup_problems: Vec<Problem>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("index", &self.store.dir())
            .finish_non_exhaustive()
    }
}

/// Rules, synonyms and the decline model, or every problem with them.
fn load_rules_and_retriever(config: &Config) -> Result<(Rules, Retriever), Vec<Problem>> {
    let rules = Rules::load(&config.safety.rules_file).map_err(|e| e.problems());
    let synonyms = Synonyms::load(&config.synonyms_file());
    let model = DeclineModel::load(&config.decline_model_file()).map_err(|p| vec![p]);
    match (rules, synonyms, model) {
        (Ok(rules), Ok(synonyms), Ok(model)) => {
            let retriever =
                Retriever::new(synonyms, config.answer.clone()).with_decline_model(model);
            Ok((rules, retriever))
        }
        (rules, synonyms, model) => {
            let mut problems = rules.err().unwrap_or_default();
            problems.extend(synonyms.err().unwrap_or_default());
            problems.extend(model.err().unwrap_or_default());
            Err(problems)
        }
    }
}

fn topic_lines(topics: &[Topic]) -> Vec<String> {
    topics
        .iter()
        .flat_map(|t| {
            t.sections
                .iter()
                .map(move |s| format!("{}{}{s}", t.article, knowledge::PATH_SEPARATOR))
        })
        .collect()
}

impl Engine {
    /// Opens the engine: compiles rules and synonyms, then serves the index on disk if it was
    /// built from the current knowledge files, or builds it.
    ///
    /// A broken article does not stop start-up: the last good index is served if there is
    /// one, otherwise the good articles are indexed; the findings are kept in
    /// [`Engine::problems`]. Broken rules, synonyms or decline model do stop it: the bot
    /// must not run without its safety rules, nor decline differently from what was checked.
    pub fn open(config: Config) -> Result<Engine, EngineError> {
        let (rules, retriever) = load_rules_and_retriever(&config)
            .map_err(|problems| EngineError::Invalid { problems })?;
        let store = IndexStore::new(&config.index_dir);
        let mut startup_problems = Vec::new();
        let current = store.current_manifest().unwrap_or_else(|e| {
            startup_problems.push(Problem::warning(
                store.dir(),
                1,
                format!("ignoring the index on disk: {e}"),
            ));
            None
        });
        let hashes = knowledge::hash_dir(&config.knowledge_dir).ok();
        let fresh = match (&current, &hashes) {
            (Some(manifest), Some(hashes)) => {
                manifest.is_fresh_for_hash(&knowledge::content_hash(hashes))
            }
            _ => false,
        };
        let index = match fresh.then(|| store.open_current()) {
            Some(Ok(index)) => index,
            _ => {
                let knowledge =
                    knowledge::load_dir(&config.knowledge_dir, config.answer.max_passage_chars);
                startup_problems.extend(knowledge.problems.iter().cloned());
                let usable_old = if knowledge.has_errors() {
                    store.open_current().ok()
                } else {
                    None
                };
                match usable_old {
                    Some(old) => {
                        tracing::warn!("knowledge has errors; serving the previous index");
                        old
                    }
                    None if knowledge.articles.is_empty() => {
                        return Err(EngineError::Invalid {
                            problems: knowledge.problems,
                        });
                    }
                    None => store.build(&knowledge)?,
                }
            }
        };
        let served = Served {
            topics: topic_lines(&index.manifest.topics),
            retriever,
            rules: Arc::new(rules),
            index,
        };
        Ok(Engine {
            config,
            store,
            served: ArcSwap::from_pointee(served),
            rebuilding: Mutex::new(()),
            startup_problems,
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Findings from start-up (a broken article served around, a stale index ignored).
    pub fn problems(&self) -> &[Problem] {
        &self.startup_problems
    }

    /// The manifest of the generation being served.
    pub fn manifest(&self) -> Manifest {
        self.served.load().index.manifest.clone()
    }

    /// The compiled red-flag rules being served.
    pub fn rules(&self) -> Arc<Rules> {
        self.served.load().rules.clone()
    }

    /// Answers `question`. Never fails: any text, of any length, gets a reply that ends with
    /// the red-flag advice and the disclaimer.
    pub fn ask(&self, question: &str) -> Answer {
        let served = self.served.load();
        let limits = &self.config.limits;
        let triage = served
            .rules
            .assess(prefix_chars(question, limits.max_triage_chars));
        let search_text = prefix_chars(question, limits.max_question_chars);
        let truncated_to =
            (search_text.len() < question.len()).then_some(limits.max_question_chars);
        // The quoted passages and a few runners-up for the second-passage rule.
        let keep = self.config.answer.max_passages + 3;
        let retrieval = served
            .retriever
            .search_top(&served.index, search_text, keep);
        let ctx = Context {
            answer: &self.config.answer,
            safety: &self.config.safety,
            rules: &served.rules,
            retriever: &served.retriever,
            topics: &served.topics,
            truncated_to,
        };
        compose(question, &retrieval, triage, &ctx)
    }

    /// The ranked retrieval behind an answer (for evaluation and debugging); `baseline`
    /// selects plain BM25 instead (see [`Retriever::search_baseline`]).
    pub fn retrieve(&self, question: &str, baseline: bool) -> Retrieval {
        let served = self.served.load();
        let text = prefix_chars(question, self.config.limits.max_question_chars);
        if baseline {
            Retrieval {
                hits: served.retriever.search_baseline(&served.index, text),
                ..Default::default()
            }
        } else {
            served.retriever.search(&served.index, text)
        }
    }

    /// What the decline model reads for `question` (for training it; see [`crate::decline`]).
    pub fn decline_features(&self, question: &str) -> Vec<(String, f64)> {
        let served = self.served.load();
        let text = prefix_chars(question, self.config.limits.max_question_chars);
        let retrieval = served.retriever.search(&served.index, text);
        served.retriever.decline_features(text, &retrieval)
    }

    /// "Article › Section" for every top-level section the bot can answer about.
    pub fn topics(&self) -> Vec<String> {
        self.served.load().topics.clone()
    }

    /// The warning signs that mean urgent care (the configured referral advice).
    pub fn red_flags_text(&self) -> String {
        self.config.safety.red_flag_advice.trim().to_string()
    }

    /// Rebuilds from the knowledge folder and swaps the new index, rules and synonyms in.
    /// On any error the served state is untouched and the error lists every problem.
    pub fn reindex(&self) -> Result<IndexReport, EngineError> {
        let _guard = self
            .rebuilding
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = self.served.load().index.manifest.clone();
        let (served, report) = build_served(&self.config, &self.store, Some(&before))?;
        self.served.store(Arc::new(served));
        Ok(report)
    }
}

/// Rebuilds the index of `config` without serving it (`backrub index`). The same checks and
/// atomic swap of `CURRENT` as [`Engine::reindex`].
pub fn rebuild(config: &Config) -> Result<IndexReport, EngineError> {
    let store = IndexStore::new(&config.index_dir);
    let before = store.current_manifest().ok().flatten();
    build_served(config, &store, before.as_ref()).map(|(_, report)| report)
}

fn build_served(
    config: &Config,
    store: &IndexStore,
    before: Option<&Manifest>,
) -> Result<(Served, IndexReport), EngineError> {
    let started = Instant::now();
    let knowledge: Knowledge =
        knowledge::load_dir(&config.knowledge_dir, config.answer.max_passage_chars);
    let mut problems = knowledge.problems.clone();
    let loaded = load_rules_and_retriever(config);
    if let Err(rule_problems) = &loaded {
        problems.extend(rule_problems.iter().cloned());
    }
    if problems.iter().any(Problem::is_error) || knowledge.articles.is_empty() {
        return Err(EngineError::Invalid { problems });
    }
    let (rules, retriever) = loaded.map_err(|problems| EngineError::Invalid { problems })?;
    let index = store.build(&knowledge)?;
    let empty = Manifest::default();
    let before = before.unwrap_or(&empty);
    let (added, changed, removed) = diff_files(before, &index.manifest);
    let report = IndexReport {
        files: index.manifest.files.len(),
        passages: index.manifest.passages,
        passages_before: before.passages,
        took: started.elapsed(),
        added,
        changed,
        removed,
        problems,
    };
    let served = Served {
        topics: topic_lines(&index.manifest.topics),
        retriever,
        rules: Arc::new(rules),
        index,
    };
    Ok((served, report))
}

fn diff_files(before: &Manifest, after: &Manifest) -> (Vec<String>, Vec<String>, Vec<String>) {
    let added = after
        .files
        .keys()
        .filter(|f| !before.files.contains_key(*f))
        .cloned()
        .collect();
    let changed = after
        .files
        .iter()
        .filter(|(f, hash)| before.files.get(*f).is_some_and(|old| old != *hash))
        .map(|(f, _)| f.clone())
        .collect();
    let removed = before
        .files
        .keys()
        .filter(|f| !after.files.contains_key(*f))
        .cloned()
        .collect();
    (added, changed, removed)
}

/// The first `max` characters of `text` (a char boundary, never mid-character).
pub fn prefix_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((offset, _)) => &text[..offset],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_chars_never_splits_a_character() {
        assert_eq!(prefix_chars("héllo", 2), "hé");
        assert_eq!(prefix_chars("hi", 10), "hi");
        assert_eq!(prefix_chars("🙂🙂🙂", 1), "🙂");
    }
}
