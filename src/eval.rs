//! `backrub eval`: measures retrieval on a labelled question set.
//!
//! Each JSONL line is `{"question": "...", "expect": ["Heading", ...]}`; an empty `expect`
//! means the question should be declined. For answerable questions a hit is an expected
//! heading among the ranked passages; a declined answerable question counts as a miss at
//! every rank (that is what the user sees) and as a false decline.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::engine::Engine;
use crate::problem::Problem;

/// One labelled question.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// The question as a user would type it.
    pub question: String,
    /// Headings that correctly answer it; empty = should be declined.
    #[serde(default)]
    pub expect: Vec<String>,
}

/// Reads a JSONL file of cases; every malformed line is a problem.
pub fn load_cases(path: &Path) -> Result<Vec<Case>, Vec<Problem>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![Problem::error(path, 1, format!("cannot read: {e}"))])?;
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Case>(line) {
            Ok(case) => cases.push(case),
            Err(e) => problems.push(Problem::error(path, i + 1, e.to_string())),
        }
    }
    if problems.is_empty() {
        Ok(cases)
    } else {
        Err(problems)
    }
}

/// Which retrieval to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The bot's retrieval, decline rule included.
    Backrub,
    /// Plain BM25 over sections, never declining.
    Baseline,
}

/// One question the system got wrong.
#[derive(Debug, Clone)]
pub struct Miss {
    /// The question.
    pub question: String,
    /// What was expected (empty = decline).
    pub expect: Vec<String>,
    /// What was answered, best first (empty = declined).
    pub got: Vec<String>,
    /// 1-based rank of the first expected heading in the ranking, if any.
    pub rank: Option<usize>,
    /// The question's concepts and the top candidates with their scores (for `--explain`).
    pub detail: String,
}

/// The metrics of one run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Which retrieval.
    pub mode: Mode,
    /// Answerable questions.
    pub answerable: usize,
    /// Questions to decline.
    pub offtopic: usize,
    /// Share of answerable questions with an expected heading ranked first.
    pub hit_at_1: f64,
    /// ...within the first three.
    pub hit_at_3: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
    /// Share of off-topic questions declined.
    pub decline_rate: f64,
    /// Share of answerable questions declined.
    pub false_decline_rate: f64,
    /// Everything not hit at rank 1, and off-topic questions answered.
    pub misses: Vec<Miss>,
    /// Print each miss's concepts and candidate scores.
    pub explain: bool,
}

/// Runs every case through `engine`.
pub fn evaluate(engine: &Engine, cases: &[Case], mode: Mode) -> Report {
    let config = &engine.config().answer;
    let (
        mut answerable,
        mut offtopic,
        mut hit1,
        mut hit3,
        mut rr,
        mut declined_ok,
        mut false_declines,
    ) = (0usize, 0usize, 0usize, 0usize, 0f64, 0usize, 0usize);
    let mut misses = Vec::new();
    for case in cases {
        let retrieval = engine.retrieve(&case.question, mode == Mode::Baseline);
        let declined = match mode {
            Mode::Backrub => retrieval.answering_hits(config).is_empty(),
            Mode::Baseline => retrieval.hits.is_empty(),
        };
        let ranking: Vec<String> = retrieval
            .hits
            .iter()
            .map(|h| h.passage.heading.clone())
            .collect();
        let got = if declined {
            Vec::new()
        } else {
            ranking.iter().take(3).cloned().collect()
        };
        if case.expect.is_empty() {
            offtopic += 1;
            if declined {
                declined_ok += 1;
            } else {
                let detail = detail(&retrieval);
                misses.push(Miss {
                    question: case.question.clone(),
                    expect: Vec::new(),
                    got,
                    rank: None,
                    detail,
                });
            }
            continue;
        }
        answerable += 1;
        let rank = ranking
            .iter()
            .position(|h| case.expect.contains(h))
            .map(|r| r + 1);
        if declined {
            false_declines += 1;
        } else if let Some(r) = rank {
            hit1 += usize::from(r == 1);
            hit3 += usize::from(r <= 3);
            rr += 1.0 / r as f64;
        }
        if declined || rank != Some(1) {
            let detail = detail(&retrieval);
            misses.push(Miss {
                question: case.question.clone(),
                expect: case.expect.clone(),
                got,
                rank,
                detail,
            });
        }
    }
    let share = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    Report {
        mode,
        answerable,
        offtopic,
        hit_at_1: share(hit1, answerable),
        hit_at_3: share(hit3, answerable),
        mrr: if answerable == 0 {
            0.0
        } else {
            rr / answerable as f64
        },
        decline_rate: share(declined_ok, offtopic),
        false_decline_rate: share(false_declines, answerable),
        misses,
        explain: false,
    }
}

/// Concepts (word → alternatives, weight) and the top candidates (score, bm25, coverage).
fn detail(retrieval: &crate::retrieve::Retrieval) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for c in &retrieval.concepts {
        let alts: Vec<String> = c
            .alternatives
            .iter()
            .map(|(s, w)| format!("{s}:{w:.1}"))
            .collect();
        let unknown = if c.known { "" } else { " unknown" };
        let _ = write!(
            out,
            "[{} → {} w={:.2}{unknown}] ",
            c.word,
            alts.join(","),
            c.weight
        );
    }
    out.push('\n');
    for h in retrieval.hits.iter().take(5) {
        let _ = writeln!(
            out,
            "        {:6.2} bm25={:6.2} cov={:.2} covered={:?} {}",
            h.score, h.bm25, h.coverage, h.covered, h.passage.heading
        );
    }
    out
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.mode {
            Mode::Backrub => "backrub",
            Mode::Baseline => "baseline (plain BM25)",
        };
        writeln!(f, "retrieval: {name}")?;
        writeln!(
            f,
            "answerable: {}  off-topic: {}",
            self.answerable, self.offtopic
        )?;
        writeln!(
            f,
            "hit@1: {:.3}  hit@3: {:.3}  MRR: {:.3}",
            self.hit_at_1, self.hit_at_3, self.mrr
        )?;
        writeln!(
            f,
            "off-topic declined: {:.3}  false declines: {:.3}",
            self.decline_rate, self.false_decline_rate
        )?;
        writeln!(f, "misses ({}):", self.misses.len())?;
        for m in &self.misses {
            let expect = if m.expect.is_empty() {
                "(decline)".to_string()
            } else {
                m.expect.join(" | ")
            };
            let got = if m.got.is_empty() {
                "(declined)".to_string()
            } else {
                m.got.join(" | ")
            };
            let rank = m.rank.map(|r| format!(" rank {r}")).unwrap_or_default();
            writeln!(
                f,
                "  - {:?}\n      expected: {expect}\n      got: {got}{rank}",
                m.question
            )?;
            if self.explain {
                write!(f, "      {}", m.detail)?;
            }
        }
        Ok(())
    }
}
