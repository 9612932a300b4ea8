//! # backrub
//!
//! A Discord bot that answers back-pain and massage-therapy questions by quoting a curated
//! knowledge folder, and that puts safety first: messages describing emergency signs are
//! escalated before anything else, and every reply ends with red-flag advice and a
//! medical disclaimer.
//!
//! ## Layout
//! The pure core, in pipeline order (none of it knows about Discord):
//! - [`config`]: `config.toml`, validated once.
//! - [`problem`]: `file:line` findings shared by every loader.
//! - [`knowledge`]: Markdown articles → passages (one per section).
//! - [`synonyms`]: the lay-term table (`knowledge/synonyms.toml`).
//! - [`index`]: the Tantivy schema, analyzers and atomically swapped generations.
//! - [`retrieve`]: question → concepts → ranked passages, and the decline rule.
//! - [`decline`]: the learned decline check (`knowledge/decline-model.json`) and its training.
//! - [`triage`]: red-flag rules (`knowledge/red-flags.toml`) → urgency and flags.
//! - [`answer`]: triage + passages → the reply, in display order.
//! - [`engine`]: the served state, hot-swappable; `ask`, `reindex`.
//! - [`check`]: the linter behind `backrub check`.
//! - [`eval`]: hit@k / MRR / decline metrics behind `backrub eval`.
//! - [`corpus`]: a synthetic knowledge folder for scale benchmarks.
//! - [`gaps`]: the knowledge-gap log (SQLite): declined questions and passage votes.
//! - [`watch`]: live reload of the knowledge folder.
//!
//! Front ends over the same core: [`cli`] (the `backrub` binary) and `discord` (the bot,
//! behind the default `discord` feature).
#![deny(missing_docs)]

pub mod answer;
pub mod check;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod decline;
#[cfg(feature = "discord")]
pub mod discord;
pub mod engine;
pub mod eval;
pub mod gaps;
pub mod index;
pub mod knowledge;
pub mod problem;
pub mod retrieve;
pub mod synonyms;
pub mod triage;
pub mod watch;

pub use answer::Answer;
pub use config::Config;
pub use engine::{Engine, EngineError, IndexReport};
