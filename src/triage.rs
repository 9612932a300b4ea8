//! Safety triage: red-flag detection for back-pain and massage questions.
//!
//! This module owns *detecting and classifying* red flags in a user's message. It does
//! not write replies: `answer` turns a [`Triage`] and each [`Category::advice`] into the
//! escalation line, emergency number and crisis line. It must not import Discord, the
//! index or the answer module.
//!
//! # How a message is assessed
//! All medical content and every word list live in the moderators' rule file,
//! `knowledge/red-flags.toml`; this code holds only the mechanisms (section 2 of the
//! red-flag taxonomy):
//! 1. normalise chat spelling to lowercase ASCII, keeping a map back to the typed text
//!    (`normalize.rs`);
//! 2. blank out figurative phrases ("killing me", "fever pitch", "the cat fell");
//! 3. split into sentences and clauses (`clauses.rs`);
//! 4. find every pattern match (one `RegexSet` pass, then only the patterns that hit);
//! 5. drop matches governed by a negation cue in their clause, matches explicitly in the
//!    past *and* resolved, and matches inside a general question about warning signs;
//! 6. raise categories (directly, or through named signals), apply the combination rules,
//!    and keep one flag per category, most urgent first (ties in the taxonomy's order,
//!    which is the order of the categories in the file).
//!
//! Under-triage is the failure that matters most, so every doubt resolves towards
//! raising the flag: negation needs an explicit cue in the same clause, and time
//! suppression needs an explicit past and, except for conditions marked as expiring
//! (a pregnancy years ago), an explicit resolution. The file format and its validation
//! live in `rules.rs`.
//!
//! A bad rule file never produces a [`Rules`]: [`Rules::parse`] returns every problem with
//! its line, and the caller keeps serving the rules it already has.

mod clauses;
mod normalize;
mod rules;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use regex::RegexSet;
use serde::{Deserialize, Serialize};

use crate::problem::Problem;
use clauses::{word_spans, Scope, Span, Verdict};
use rules::{Combination, Language, Matcher, Target};

/// Messages longer than this many bytes are assessed on their first `MAX_INPUT_BYTES`
/// only, which bounds the work per message (every step is linear in the length). Discord
/// messages are at most 4,000 characters and the engine passes at most
/// `limits.max_triage_chars` (12,000 by default, under 48 KiB even in 4-byte emoji), so
/// this only cuts pasted walls of text; a red flag beyond 64 KiB is missed.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;

/// How soon the person should be seen. Ordered: `None < Soon < Urgent < Emergency`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    /// No red flag.
    #[default]
    None,
    /// See a doctor or physio in the coming days or weeks, or get clearance before massage.
    Soon,
    /// Be seen today (urgent GP, urgent care, NHS 111).
    Urgent,
    /// Call emergency services now / go to A&E.
    Emergency,
}

impl Urgency {
    /// `"none" | "soon" | "urgent" | "emergency"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::None => "none",
            Urgency::Soon => "soon",
            Urgency::Urgent => "urgent",
            Urgency::Emergency => "emergency",
        }
    }

    /// The inverse of [`Urgency::as_str`].
    pub fn from_name(name: &str) -> Option<Urgency> {
        match name {
            "none" => Some(Urgency::None),
            "soon" => Some(Urgency::Soon),
            "urgent" => Some(Urgency::Urgent),
            "emergency" => Some(Urgency::Emergency),
            _ => None,
        }
    }
}

/// One red flag raised by a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    /// The category id, e.g. `cauda_equina`.
    pub category: String,
    /// How urgent this flag is (a pattern or a combination can differ from the category's
    /// default urgency).
    pub urgency: Urgency,
    /// The words of the message that triggered it, as typed; for a combination, the
    /// triggering pieces joined with `" + "`.
    pub evidence: String,
}

/// The result of assessing one message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Triage {
    /// The most urgent flag's urgency (`None` when there are no flags).
    pub urgency: Urgency,
    /// Most urgent first, ties in the taxonomy's order; at most one flag per category.
    pub flags: Vec<Flag>,
    /// True when the message asks about warning signs or conditions in general (rule 6):
    /// a sentence carries a general-question cue, attributes nothing to a person, and
    /// names a red-flag topic or symptom ("what signs should I watch for?", "can massage
    /// cause a clot?"). Symptoms after the cue in such a sentence raise no flag; symptoms
    /// elsewhere in the message still do, so this can be true alongside flags.
    #[serde(skip)]
    pub general_question: bool,
}

impl Triage {
    /// The most urgent flag, if any.
    pub fn top(&self) -> Option<&Flag> {
        self.flags.first()
    }
}

/// A red-flag category from the rule file.
#[derive(Debug, Clone)]
pub struct Category {
    /// Stable id, e.g. `cauda_equina`.
    pub id: String,
    /// Human name, e.g. "Cauda equina syndrome".
    pub name: String,
    /// The default urgency of the category's patterns.
    pub urgency: Urgency,
    /// What it may mean and why it matters, in plain words (used by `answer`).
    pub advice: String,
}

/// Why a rule file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file could not be read.
    #[error("cannot read red-flag rules {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but has problems; the working rules must be kept.
    #[error("red-flag rules are invalid ({} problem(s)); first: {}", problems.len(), problems.first().map(|p| p.to_string()).unwrap_or_default())]
    Invalid {
        /// Every problem found, each with file and 1-based line.
        problems: Vec<Problem>,
    },
}

impl RulesError {
    /// Every problem found, each with file and 1-based line.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            RulesError::Io { path, source } => {
                vec![Problem::error(path, 1, format!("cannot read: {source}"))]
            }
            RulesError::Invalid { problems } => problems.clone(),
        }
    }
}

/// The compiled red-flag rules. Built once per rule-file version; `Send + Sync`, share it
/// through an `Arc`.
#[derive(Debug)]
pub struct Rules {
    categories: Vec<Category>,
    signal_categories: Vec<Vec<usize>>,
    signal_count: usize,
    matchers: Vec<Matcher>,
    set: RegexSet,
    language: Language,
    spelling: HashMap<String, String>,
    combinations: Vec<Combination>,
    warnings: Vec<Problem>,
}

/// A pattern match that survived negation, time and general-question checks.
#[derive(Debug, Clone, Copy)]
struct Hit {
    urgency: Urgency,
    span: Span,
}

impl Rules {
    /// Read and parse a rule file.
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let source = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Rules::parse(&source, path)
    }

    /// Parse and compile rules from `source`; `path` is used only in problem messages.
    pub fn parse(source: &str, path: &Path) -> Result<Rules, RulesError> {
        let c = rules::compile_rules(source, path)
            .map_err(|problems| RulesError::Invalid { problems })?;
        Ok(Rules {
            categories: c.categories,
            signal_categories: c.signal_categories,
            signal_count: c.signal_names.len(),
            matchers: c.matchers,
            set: c.set,
            language: c.language,
            spelling: c.spelling,
            combinations: c.combinations,
            warnings: c.warnings,
        })
    }

    /// The category with this id.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// All categories, in tie-break order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// Non-blocking findings from loading (e.g. a signal nothing uses), for `backrub check`.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// Assess one message. Never panics; work is bounded by [`MAX_INPUT_BYTES`].
    pub fn assess(&self, message: &str) -> Triage {
        let message = truncate(message, MAX_INPUT_BYTES);
        let norm = normalize::normalize(message, &self.spelling);
        let lang = &self.language;

        // Figurative phrases are blanked with spaces (same length, so offsets still map).
        let mut masked = norm.text.clone().into_bytes();
        for (s, e) in word_spans(lang.figurative.as_ref(), as_str(&masked)) {
            masked[s..e].fill(b' ');
        }
        let text = as_str(&masked);

        // Cue positions are needed only when something matched (most questions raise
        // nothing), or to tell a general question about red flags.
        let scope = std::cell::OnceCell::new();
        let scope = || scope.get_or_init(|| Scope::new(text, lang));
        let mut general_hit = false;

        // Best hit per category and first hit per signal.
        let mut by_category: Vec<Option<Hit>> = vec![None; self.categories.len()];
        let mut by_signal: Vec<Option<Span>> = vec![None; self.signal_count];
        for index in self.set.matches(text).iter() {
            let matcher = &self.matchers[index];
            let Some(regex) = matcher.regex.get() else {
                continue;
            };
            let Some(span) = regex
                .find_iter(text)
                .map(|m| (m.start(), m.end()))
                .find(|&m| match scope().verdict(m, matcher.past) {
                    Verdict::Stands => true,
                    Verdict::General => {
                        general_hit = true;
                        false
                    }
                    Verdict::Negated | Verdict::Resolved => false,
                })
            else {
                continue;
            };
            match matcher.target {
                Target::Category(c) => {
                    let urgency = matcher.urgency.unwrap_or(self.categories[c].urgency);
                    offer(&mut by_category[c], Hit { urgency, span });
                }
                Target::Signal(s) => {
                    if by_signal[s].is_none_or(|old| earlier_or_longer(span, old)) {
                        by_signal[s] = Some(span);
                    }
                    for &c in &self.signal_categories[s] {
                        offer(
                            &mut by_category[c],
                            Hit {
                                urgency: self.categories[c].urgency,
                                span,
                            },
                        );
                    }
                }
            }
        }

        // A general question needs a general cue and a red-flag topic; without both in the
        // text, no sentence can have them.
        let may_be_general =
            |re: &Option<regex::Regex>| re.as_ref().is_some_and(|re| re.is_match(text));
        let general_question = general_hit
            || (may_be_general(&lang.general_question)
                && may_be_general(&lang.red_flag_topics)
                && scope().general_question_about(text, lang));
        let quote = |(s, e): Span| -> String {
            let (a, b) = norm.original_range(s, e);
            message.get(a..b).unwrap_or_default().trim().to_string()
        };
        let mut found: Vec<Option<(Urgency, String)>> = by_category
            .iter()
            .map(|h| h.map(|h| (h.urgency, quote(h.span))))
            .collect();
        let present = |t: Target| -> Option<Span> {
            match t {
                Target::Category(c) => by_category[c].map(|h| h.span),
                Target::Signal(s) => by_signal[s],
            }
        };
        for combo in &self.combinations {
            let Some(pieces) = combo
                .when
                .iter()
                .map(|&t| present(t))
                .collect::<Option<Vec<Span>>>()
            else {
                continue;
            };
            let slot = &mut found[combo.category];
            if slot.as_ref().is_some_and(|(u, _)| *u >= combo.urgency) {
                continue;
            }
            let mut words: Vec<String> = Vec::new();
            for piece in pieces {
                let w = quote(piece);
                if !words.contains(&w) {
                    words.push(w);
                }
            }
            *slot = Some((combo.urgency, words.join(" + ")));
        }

        let mut flags: Vec<(usize, Flag)> = found
            .into_iter()
            .enumerate()
            .filter_map(|(c, f)| {
                f.map(|(urgency, evidence)| {
                    (
                        c,
                        Flag {
                            category: self.categories[c].id.clone(),
                            urgency,
                            evidence,
                        },
                    )
                })
            })
            .collect();
        flags.sort_by(|(ca, a), (cb, b)| b.urgency.cmp(&a.urgency).then(ca.cmp(cb)));
        let flags: Vec<Flag> = flags.into_iter().map(|(_, f)| f).collect();
        Triage {
            urgency: flags.first().map_or(Urgency::None, |f| f.urgency),
            flags,
            general_question,
        }
    }
}

/// Evidence preference: the earlier match, and at the same start the longer one ("fever of
/// 39" rather than "fever").
fn earlier_or_longer(new: Span, old: Span) -> bool {
    new.0 < old.0 || (new.0 == old.0 && new.1 > old.1)
}

/// Keep the better of two hits: higher urgency, then the earlier (longer) one.
fn offer(slot: &mut Option<Hit>, hit: Hit) {
    let better = match slot {
        None => true,
        Some(old) => {
            hit.urgency > old.urgency
                || (hit.urgency == old.urgency && earlier_or_longer(hit.span, old.span))
        }
    };
    if better {
        *slot = Some(hit);
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The masked text is built from ASCII and only ever has ASCII bytes replaced by spaces.
fn as_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}
