//! The learned decline check: a logistic regression that reads a question and how well
//! retrieval matched it, and says how likely it is to be off-topic.
//!
//! The hand-written rules ([`crate::retrieve::Hit::answers`], the out-of-scope lists in
//! `synonyms.toml`) decline what they were written for. What slips past them is mostly a
//! question that names something the articles mention and asks about another side of it
//! ("how is cauda equina syndrome treated", "which muscles does a deadlift work"). The
//! model learns such patterns from labelled questions (`backrub train-decline`), and a
//! question it scores above `[answer] decline_above` is declined.
//!
//! What it reads ([`visit_features`]): the stems of the question's concepts, pairs of
//! adjacent words, its first three words, and numbers about the best passage (the share of
//! the question it covers, in its heading too, how many concepts it found, whether it is
//! anchored, how far ahead of the second it is, how many words the articles never use).
//!
//! The model is a file, `knowledge/decline-model.json`: one weight per feature name. It is
//! optional (without it only the rules decline), and it records the knowledge it was trained
//! on, so `backrub check` can say when the articles or synonyms have changed since.
//!
//! Training is batch gradient descent on the L2-regularised log loss, with both classes
//! weighted equally. It is a few dozen lines over sparse features: the logistic-regression
//! crates (linfa-logistic, smartcore) take dense matrices, and a dense matrix of 5,000
//! questions by 6,000 features would be 240 MB.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::path::Path;

use rustc_hash::{FxBuildHasher, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::Engine;
use crate::eval::Case;
use crate::problem::Problem;
use crate::retrieve::{Concept, Hit};

/// The file name of the model inside the knowledge folder.
pub const MODEL_FILE: &str = "decline-model.json";

/// How many of the question's first words are features of their own.
const FIRST_WORDS: usize = 3;
/// A feature seen in fewer training questions than this is left out.
const MIN_COUNT: usize = 2;
/// Training: L2 strength, step size and number of full passes.
const L2: f64 = 1.0;
const STEP: f64 = 1.0;
const PASSES: usize = 1500;

/// Calls `f` with the name and value of each feature of a question.
///
/// `words` are the question's (plain word, stem) pairs, `concepts` and `hits` what
/// retrieval made of it (best hit first). `name` is a scratch buffer the names are written
/// into. A feature the question has twice is visited once.
pub fn visit_features(
    words: &[(String, String)],
    concepts: &[Concept],
    hits: &[Hit],
    name: &mut String,
    mut f: impl FnMut(&str, f64),
) {
    // Each feature counts once, however often the question repeats it.
    let mut seen = FxHashSet::default();
    let mut emit = |parts: &[&str], value: f64| {
        name.clear();
        for part in parts {
            name.push_str(part);
        }
        if seen.insert(FxBuildHasher.hash_one(name.as_str())) {
            f(name, value);
        }
    };
    emit(&["bias"], 1.0);
    let mut unknown = 0;
    for concept in concepts {
        let stem = concept
            .alternatives
            .first()
            .map_or(concept.word.as_str(), |(stem, _)| stem.as_str());
        emit(&["said:", stem], 1.0);
        unknown += usize::from(!concept.known);
    }
    emit(&["concepts"], concepts.len() as f64 / 5.0);
    emit(&["unknown"], unknown as f64);
    for pair in words.windows(2) {
        emit(&["pair:", &pair[0].0, " ", &pair[1].0], 1.0);
    }
    for (word, _) in words.iter().take(FIRST_WORDS) {
        emit(&["first:", word], 1.0);
    }
    if let Some(best) = hits.first() {
        emit(&["coverage"], f64::from(best.coverage));
        emit(&["heading_coverage"], f64::from(best.heading_coverage));
        emit(&["found"], best.covered.len() as f64 / 4.0);
        emit(&["anchored"], if best.anchored { 1.0 } else { 0.0 });
        let missed = concepts.len().saturating_sub(best.covered.len());
        emit(&["missed"], missed as f64 / 3.0);
        if let Some(second) = hits.get(1) {
            emit(&["lead"], f64::from(best.score - second.score));
        }
    }
}

/// A trained model: a weight per feature name.
#[derive(Debug, Clone, Default)]
pub struct DeclineModel {
    weights: HashMap<Box<str>, f64>,
    /// The knowledge fingerprint it was trained on (see [`fingerprint`]).
    pub knowledge: String,
    /// The labelled files it was trained on.
    pub trained_on: Vec<String>,
    /// How many questions they hold.
    pub questions: usize,
}

/// The model file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    about: String,
    knowledge: String,
    trained_on: Vec<String>,
    questions: usize,
    weights: BTreeMap<String, f64>,
}

/// One labelled training question: its features and whether it should be declined.
#[derive(Debug, Clone)]
pub struct Example {
    /// Feature names and values.
    pub features: Vec<(String, f64)>,
    /// True for an off-topic question.
    pub off_topic: bool,
}

impl DeclineModel {
    /// The probability (0..1) that a question with these features is off-topic.
    pub fn probability(
        &self,
        words: &[(String, String)],
        concepts: &[Concept],
        hits: &[Hit],
    ) -> f32 {
        let mut z = 0.0;
        let mut name = String::new();
        visit_features(words, concepts, hits, &mut name, |name, value| {
            z += self.weights.get(name).copied().unwrap_or(0.0) * value;
        });
        sigmoid(z) as f32
    }

    /// How many features have a weight.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// True when no feature has a weight.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Fits a model to `examples` (see the module documentation).
    pub fn train(examples: &[Example]) -> DeclineModel {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for example in examples {
            for (name, _) in &example.features {
                *counts.entry(name).or_default() += 1;
            }
        }
        let mut names: Vec<&str> = counts
            .iter()
            .filter(|(_, &n)| n >= MIN_COUNT)
            .map(|(&name, _)| name)
            .collect();
        names.sort_unstable();
        let ids: HashMap<&str, usize> = names.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let rows: Vec<Vec<(usize, f64)>> = examples
            .iter()
            .map(|e| {
                e.features
                    .iter()
                    .filter_map(|(name, value)| Some((*ids.get(name.as_str())?, *value)))
                    .collect()
            })
            .collect();
        let n = examples.len().max(1) as f64;
        let off = examples.iter().filter(|e| e.off_topic).count() as f64;
        // Each class weighs half of the loss, however many questions it has.
        let class_weight = |off_topic: bool| {
            if off_topic {
                0.5 * n / off.max(1.0)
            } else {
                0.5 * n / (n - off).max(1.0)
            }
        };
        let mut w = vec![0.0; names.len()];
        let mut gradient = vec![0.0; names.len()];
        for _ in 0..PASSES {
            gradient.iter_mut().for_each(|g| *g = 0.0);
            for (row, example) in rows.iter().zip(examples) {
                let z: f64 = row.iter().map(|&(i, v)| w[i] * v).sum();
                let target = if example.off_topic { 1.0 } else { 0.0 };
                let error = (sigmoid(z) - target) * class_weight(example.off_topic);
                for &(i, v) in row {
                    gradient[i] += error * v;
                }
            }
            for (wi, gi) in w.iter_mut().zip(&gradient) {
                *wi -= STEP * (gi + L2 * *wi) / n;
            }
        }
        DeclineModel {
            weights: names
                .iter()
                .zip(w)
                .map(|(&name, weight)| (Box::from(name), weight))
                .collect(),
            knowledge: String::new(),
            trained_on: Vec::new(),
            questions: examples.len(),
        }
    }

    /// The model as the JSON its file holds.
    pub fn to_json(&self) -> String {
        let file = ModelFile {
            about: "Decline model written by `backrub train-decline`; do not edit by hand. \
                    Retrain after changing the articles or synonyms.toml."
                .into(),
            knowledge: self.knowledge.clone(),
            trained_on: self.trained_on.clone(),
            questions: self.questions,
            weights: self
                .weights
                .iter()
                .map(|(name, &w)| (name.to_string(), w))
                .collect(),
        };
        let mut json = serde_json::to_string_pretty(&file).unwrap_or_default();
        json.push('\n');
        json
    }

    /// Reads the model file at `path`; `Ok(None)` when there is none.
    pub fn load(path: &Path) -> Result<Option<DeclineModel>, Problem> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Problem::error(path, 1, format!("cannot read: {e}"))),
        };
        let file: ModelFile = serde_json::from_str(&text).map_err(|e| {
            Problem::error(
                path,
                e.line().max(1),
                format!("not a decline model ({e}); rerun `backrub train-decline`"),
            )
        })?;
        if let Some((name, _)) = file.weights.iter().find(|(_, w)| !w.is_finite()) {
            return Err(Problem::error(
                path,
                1,
                format!("the weight of `{name}` is not a number; rerun `backrub train-decline`"),
            ));
        }
        Ok(Some(DeclineModel {
            weights: file
                .weights
                .into_iter()
                .map(|(name, w)| (name.into_boxed_str(), w))
                .collect(),
            knowledge: file.knowledge,
            trained_on: file.trained_on,
            questions: file.questions,
        }))
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// What a model depends on besides its training questions: the articles and the synonym
/// table of `config` (a hash of their contents).
pub fn fingerprint(config: &Config) -> std::io::Result<String> {
    let articles = crate::knowledge::hash_dir(&config.knowledge_dir)?;
    let synonyms = std::fs::read(config.synonyms_file())?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(crate::knowledge::content_hash(&articles).as_bytes());
    hasher.update(blake3::hash(&synonyms).as_bytes());
    Ok(hasher.finalize().to_hex().to_string())
}

/// Trains a model on labelled question files with the retrieval of `engine`, and stamps it
/// with the files' names and the knowledge fingerprint.
pub fn train_on(engine: &Engine, files: &[(String, Vec<Case>)]) -> std::io::Result<DeclineModel> {
    let examples: Vec<Example> = files
        .iter()
        .flat_map(|(_, cases)| cases)
        .map(|case| Example {
            features: engine.decline_features(&case.question),
            off_topic: case.expect.is_empty(),
        })
        .collect();
    let mut model = DeclineModel::train(&examples);
    model.knowledge = fingerprint(engine.config())?;
    model.trained_on = files.iter().map(|(name, _)| name.clone()).collect();
    Ok(model)
}

/// A warning when the model at `path` was trained on other articles or synonyms than
/// `config`'s (for `backrub check`); an error when it cannot be read.
pub fn lint(config: &Config) -> Vec<Problem> {
    let path = config.decline_model_file();
    match DeclineModel::load(&path) {
        Ok(None) => Vec::new(),
        Ok(Some(model)) => match fingerprint(config) {
            Ok(current) if current != model.knowledge => vec![Problem::warning(
                &path,
                1,
                "trained on other articles or synonyms than the current ones; run \
                 `backrub train-decline` with the labelled question sets to refresh it"
                    .to_string(),
            )],
            _ => Vec::new(),
        },
        Err(problem) => vec![problem],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(words: &[&str], off_topic: bool) -> Example {
        Example {
            features: std::iter::once(("bias".to_string(), 1.0))
                .chain(words.iter().map(|w| (format!("said:{w}"), 1.0)))
                .collect(),
            off_topic,
        }
    }

    fn score(model: &DeclineModel, names: &[&str]) -> f64 {
        let z: f64 = std::iter::once("bias")
            .chain(names.iter().copied())
            .map(|n| model.weights.get(n).copied().unwrap_or(0.0))
            .sum();
        sigmoid(z)
    }

    #[test]
    fn learns_which_words_mark_an_off_topic_question() {
        let mut examples = Vec::new();
        for _ in 0..5 {
            examples.push(example(&["massag", "knot"], false));
            examples.push(example(&["massag", "pregnanc"], false));
            examples.push(example(&["dose", "ibuprofen"], true));
            examples.push(example(&["dose", "pregnanc"], true));
        }
        let model = DeclineModel::train(&examples);
        assert!(score(&model, &["said:dose"]) > 0.8);
        assert!(score(&model, &["said:massag"]) < 0.2);
        // A word seen with both labels says little on its own.
        let neutral = score(&model, &["said:pregnanc"]);
        assert!((0.2..0.8).contains(&neutral), "{neutral}");
    }

    #[test]
    fn a_feature_seen_once_gets_no_weight() {
        let examples = vec![
            example(&["massag", "rare"], false),
            example(&["massag"], false),
            example(&["dose"], true),
            example(&["dose"], true),
        ];
        let model = DeclineModel::train(&examples);
        assert!(!model.weights.contains_key("said:rare"));
        assert!(model.weights.contains_key("said:massag"));
    }

    #[test]
    fn round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MODEL_FILE);
        let examples = vec![example(&["dose"], true), example(&["dose"], true)];
        let mut model = DeclineModel::train(&examples);
        model.knowledge = "abc".into();
        model.trained_on = vec!["set.jsonl".into()];
        std::fs::write(&path, model.to_json()).unwrap();
        let loaded = DeclineModel::load(&path).unwrap().unwrap();
        assert_eq!(loaded.knowledge, "abc");
        assert_eq!(loaded.trained_on, ["set.jsonl"]);
        assert_eq!(loaded.weights, model.weights);
    }

    #[test]
    fn a_missing_file_is_no_model_and_a_broken_one_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MODEL_FILE);
        assert!(DeclineModel::load(&path).unwrap().is_none());
        std::fs::write(&path, "{\n  \"about\": \"x\",\n  \"weights\": [1,\n").unwrap();
        let problem = DeclineModel::load(&path).unwrap_err();
        assert!(problem.is_error());
        assert_eq!(problem.line, 3, "{problem}");
        assert!(problem.to_string().contains("train-decline"), "{problem}");
    }
}
