//! The knowledge-gap log: which questions the bot could not answer well, and how people rate
//! the passages it quoted, so moderators know what to write next.
//!
//! Stored in SQLite (bundled, one file). Privacy: by default no question text is stored, only
//! a normalised, anonymised form (lowercased; mentions, links, e-mail addresses, numbers and
//! capitalised names removed); the verbatim text only when `gaps.log_questions = true`. No
//! user ids are ever stored. Votes count against the passage, not the person.

use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::answer::Answer;
use crate::triage::Urgency;

/// Why the log could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GapError {
    /// SQLite refused.
    #[error("gap log: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The folder for the database could not be created.
    #[error("gap log: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a question is a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapKind {
    /// Nothing in the knowledge fitted: the bot declined.
    Declined,
    /// Answered, but the best passage covered little of the question.
    LowConfidence,
}

/// Whether `answer` is a knowledge gap: declined (nothing in the knowledge fitted), or
/// answered with a best passage that covers less than `low_confidence_below` of the question.
///
/// Not gaps: empty questions (nothing was asked), and urgent or emergency escalations (the
/// reply is "get care now", so a missing passage is not something moderators should write;
/// keeping them out also keeps the most sensitive messages out of the log).
pub fn classify(answer: &Answer, low_confidence_below: f32) -> Option<GapKind> {
    if answer.question.trim().is_empty() || answer.triage.urgency >= Urgency::Urgent {
        return None;
    }
    if !answer.answered {
        Some(GapKind::Declined)
    } else if answer.confidence < low_confidence_below {
        Some(GapKind::LowConfidence)
    } else {
        None
    }
}

/// A recurring unanswered question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// The normalised, anonymised question.
    pub question: String,
    /// The verbatim latest question (only with `log_questions = true`).
    pub example: Option<String>,
    /// Times declined.
    pub declined: u64,
    /// Times answered with low confidence.
    pub low_confidence: u64,
}

/// Votes on a quoted passage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassageVotes {
    /// "Article › Section".
    pub passage: String,
    /// 👍 count.
    pub up: u64,
    /// 👎 count.
    pub down: u64,
}

/// The log. Cheap to share behind an `Arc`; every call is one short transaction.
pub struct GapLog {
    conn: Mutex<Connection>,
    log_questions: bool,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS gaps (
    key TEXT PRIMARY KEY,
    example TEXT,
    declined INTEGER NOT NULL DEFAULT 0,
    low_confidence INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    passage TEXT PRIMARY KEY,
    up INTEGER NOT NULL DEFAULT 0,
    down INTEGER NOT NULL DEFAULT 0
);
";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl GapLog {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path, log_questions: bool) -> Result<GapLog, GapError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        GapLog::with_connection(Connection::open(path)?, log_questions)
    }

    /// An in-memory log (tests, or when no file is wanted).
    pub fn in_memory(log_questions: bool) -> Result<GapLog, GapError> {
        GapLog::with_connection(Connection::open_in_memory()?, log_questions)
    }

    fn with_connection(conn: Connection, log_questions: bool) -> Result<GapLog, GapError> {
        conn.execute_batch(SCHEMA)?;
        Ok(GapLog {
            conn: Mutex::new(conn),
            log_questions,
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts `question` as a gap. Questions with nothing left after anonymising are skipped.
    pub fn record(&self, question: &str, kind: GapKind) -> Result<(), GapError> {
        let key = anonymise(question);
        if key.is_empty() {
            return Ok(());
        }
        let example = self
            .log_questions
            .then(|| question.chars().take(500).collect::<String>());
        let (declined, low) = match kind {
            GapKind::Declined => (1, 0),
            GapKind::LowConfidence => (0, 1),
        };
        let t = now();
        self.conn().execute(
            "INSERT INTO gaps (key, example, declined, low_confidence, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT(key) DO UPDATE SET
                example = COALESCE(excluded.example, example),
                declined = declined + excluded.declined,
                low_confidence = low_confidence + excluded.low_confidence,
                last_seen = excluded.last_seen",
            params![key, example, declined, low, t],
        )?;
        Ok(())
    }

    /// The most frequent gaps, most asked first.
    pub fn top_gaps(&self, limit: usize) -> Result<Vec<Gap>, GapError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT key, example, declined, low_confidence FROM gaps
             ORDER BY declined + low_confidence DESC, last_seen DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(Gap {
                question: r.get(0)?,
                example: r.get(1)?,
                declined: r.get(2)?,
                low_confidence: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Counts a 👍 (`up`) or 👎 for a quoted passage.
    pub fn vote(&self, passage: &str, up: bool) -> Result<(), GapError> {
        let (u, d) = if up { (1, 0) } else { (0, 1) };
        self.conn().execute(
            "INSERT INTO votes (passage, up, down) VALUES (?1, ?2, ?3)
             ON CONFLICT(passage) DO UPDATE SET up = up + excluded.up, down = down + excluded.down",
            params![passage, u, d],
        )?;
        Ok(())
    }

    /// Votes for one passage.
    pub fn votes(&self, passage: &str) -> Result<Option<PassageVotes>, GapError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT passage, up, down FROM votes WHERE passage = ?1",
                [passage],
                |r| {
                    Ok(PassageVotes {
                        passage: r.get(0)?,
                        up: r.get(1)?,
                        down: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Passages with more 👎 than 👍, worst first.
    pub fn worst_passages(&self, limit: usize) -> Result<Vec<PassageVotes>, GapError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT passage, up, down FROM votes WHERE down > up
             ORDER BY down - up DESC, down DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(PassageVotes {
                passage: r.get(0)?,
                up: r.get(1)?,
                down: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Flushes the write-ahead log into the database file (on shutdown).
    pub fn flush(&self) -> Result<(), GapError> {
        self.conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}

/// The moderators' summary: top gaps, then the worst-rated passages (plain text).
pub fn report(log: &GapLog, limit: usize) -> Result<String, GapError> {
    use std::fmt::Write;
    let mut out = String::new();
    let gaps = log.top_gaps(limit)?;
    let _ = writeln!(out, "Questions without a good answer ({}):", gaps.len());
    if gaps.is_empty() {
        out.push_str("  none recorded\n");
    }
    for g in &gaps {
        let _ = write!(
            out,
            "  {:>4}× {}",
            g.declined + g.low_confidence,
            g.question
        );
        if g.low_confidence > 0 {
            let _ = write!(
                out,
                " ({} declined, {} low confidence)",
                g.declined, g.low_confidence
            );
        }
        if let Some(example) = &g.example {
            let _ = write!(out, " — e.g. {example:?}");
        }
        out.push('\n');
    }
    let worst = log.worst_passages(limit)?;
    let _ = writeln!(out, "Worst-rated passages ({}):", worst.len());
    if worst.is_empty() {
        out.push_str("  none\n");
    }
    for v in &worst {
        let _ = writeln!(out, "  👎 {} 👍 {}  {}", v.down, v.up, v.passage);
    }
    Ok(out)
}

/// The anonymised form of a question: lowercase words without mentions, links, e-mail
/// addresses, numbers or capitalised names (a capitalised word that does not start a
/// sentence is taken for a name), at most 16 words.
pub fn anonymise(question: &str) -> String {
    let mut words = Vec::new();
    let mut sentence_start = true;
    for raw in question.split_whitespace() {
        let ends_sentence = raw.ends_with(['.', '!', '?']);
        let looks_private = raw.starts_with('<')
            || raw.starts_with('@')
            || raw.contains("://")
            || raw.contains('@')
            || raw.starts_with("www.");
        let word: String = raw
            .chars()
            .filter(|c| c.is_alphabetic() || *c == '\'' || *c == '-')
            .collect();
        // "Sarah" is a name; "DOSE" is shouting, and "I" is not a name.
        let capitalised = word.chars().next().is_some_and(char::is_uppercase)
            && word.chars().skip(1).any(char::is_lowercase);
        let is_name = !sentence_start && capitalised;
        let has_digit = raw.chars().any(|c| c.is_ascii_digit());
        if !looks_private && !is_name && !has_digit && !word.is_empty() {
            words.push(word.to_lowercase());
        }
        sentence_start = ends_sentence;
        if words.len() >= 16 {
            break;
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymising_drops_names_numbers_links_and_mentions() {
        assert_eq!(
            anonymise("Hi, my therapist Sarah said <@123> I need 3 sessions, see https://x.y or mail me@x.com"),
            "hi my therapist said i need sessions see or mail"
        );
        assert_eq!(anonymise("Best painkiller dose?"), "best painkiller dose");
        assert_eq!(anonymise("🙂 123"), "");
    }

    #[test]
    fn gaps_are_counted_by_normalised_question_without_text_by_default() {
        let log = GapLog::in_memory(false).unwrap();
        log.record("Best painkiller dose?", GapKind::Declined)
            .unwrap();
        log.record("best painkiller DOSE", GapKind::Declined)
            .unwrap();
        log.record("how long do hot stones stay hot", GapKind::LowConfidence)
            .unwrap();
        log.record("   ", GapKind::Declined).unwrap();
        let gaps = log.top_gaps(10).unwrap();
        assert_eq!(gaps.len(), 2);
        assert_eq!(
            gaps[0],
            Gap {
                question: "best painkiller dose".into(),
                example: None,
                declined: 2,
                low_confidence: 0
            }
        );
        assert_eq!(gaps[1].low_confidence, 1);
    }

    #[test]
    fn verbatim_text_only_when_enabled() {
        let log = GapLog::in_memory(true).unwrap();
        log.record("Best painkiller dose?", GapKind::Declined)
            .unwrap();
        assert_eq!(
            log.top_gaps(1).unwrap()[0].example.as_deref(),
            Some("Best painkiller dose?")
        );
    }

    #[test]
    fn votes_accumulate_and_worst_passages_come_first() {
        let log = GapLog::in_memory(false).unwrap();
        for up in [true, false, false] {
            log.vote("A › B", up).unwrap();
        }
        for up in [false, false, false] {
            log.vote("A › C", up).unwrap();
        }
        log.vote("A › D", true).unwrap();
        assert_eq!(
            log.votes("A › B").unwrap(),
            Some(PassageVotes {
                passage: "A › B".into(),
                up: 1,
                down: 2
            })
        );
        let worst: Vec<String> = log
            .worst_passages(10)
            .unwrap()
            .into_iter()
            .map(|v| v.passage)
            .collect();
        assert_eq!(worst, ["A › C", "A › B"]);
    }

    #[test]
    fn declined_and_weak_answers_are_gaps_escalations_and_empty_questions_are_not() {
        use crate::triage::Triage;
        let answer = |question: &str, answered: bool, confidence: f32, urgency: Urgency| Answer {
            question: question.into(),
            answered,
            confidence,
            triage: Triage {
                urgency,
                ..Triage::default()
            },
            escalation: None,
            cautions: vec![],
            decline: None,
            passages: vec![],
            advice: String::new(),
            disclaimer: String::new(),
        };
        assert_eq!(
            classify(&answer("hot stones?", false, 0.0, Urgency::None), 0.5),
            Some(GapKind::Declined)
        );
        assert_eq!(
            classify(&answer("hot stones?", true, 0.4, Urgency::Soon), 0.5),
            Some(GapKind::LowConfidence)
        );
        assert_eq!(
            classify(&answer("hot stones?", true, 0.5, Urgency::None), 0.5),
            None
        );
        assert_eq!(
            classify(&answer("  ", false, 0.0, Urgency::None), 0.5),
            None
        );
        assert_eq!(
            classify(&answer("can't pee", false, 0.0, Urgency::Emergency), 0.5),
            None
        );
    }

    #[test]
    fn log_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/gaps.sqlite3");
        {
            let log = GapLog::open(&path, false).unwrap();
            log.record("what about hot stones", GapKind::Declined)
                .unwrap();
            log.flush().unwrap();
        }
        let log = GapLog::open(&path, false).unwrap();
        assert_eq!(
            log.top_gaps(5).unwrap()[0].question,
            "what about hot stones"
        );
    }
}
