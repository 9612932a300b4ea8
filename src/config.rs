//! `config.toml`: every setting of the bot, loaded and validated once at start-up.
//!
//! Relative paths in the file are resolved against the directory that holds the config
//! file, so `backrub --config /srv/backrub/config.toml` works from any working directory.
//! Nothing else in the library reads the environment or the file system for settings.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::problem::{line_of_offset, Problem};

/// All settings. Built by [`Config::load`] (or [`Config::from_toml`] in tests).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the config was read from (empty for an in-memory config).
    #[serde(skip)]
    pub path: PathBuf,
    /// Folder of Markdown articles plus `red-flags.toml` and `synonyms.toml`.
    #[serde(default = "defaults::knowledge_dir")]
    pub knowledge_dir: PathBuf,
    /// Folder that holds the built Tantivy index generations.
    #[serde(default = "defaults::index_dir")]
    pub index_dir: PathBuf,
    /// How answers are chosen and quoted.
    #[serde(default)]
    pub answer: AnswerConfig,
    /// The always-present safety texts and the escalation wording.
    pub safety: SafetyConfig,
    /// Limits on what a user controls.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The Discord adapter.
    #[serde(default)]
    pub discord: DiscordConfig,
    /// The knowledge-gap log.
    #[serde(default)]
    pub gaps: GapsConfig,
    /// Live reload of the knowledge folder.
    #[serde(default)]
    pub reload: ReloadConfig,
}

/// `[reload]`: following changes to the knowledge folder while the bot runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReloadConfig {
    /// Watch `knowledge_dir` and the rule file, and rebuild on change.
    pub watch: bool,
    /// Quiet time after the last change before rebuilding (one rebuild per editor burst).
    pub debounce_ms: u64,
}

impl Default for ReloadConfig {
    fn default() -> ReloadConfig {
        ReloadConfig {
            watch: true,
            debounce_ms: 750,
        }
    }
}

/// `[answer]`: retrieval and quoting.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnswerConfig {
    /// At most this many passages are quoted (1 or 2 reads best).
    pub max_passages: usize,
    /// A quoted excerpt is trimmed to whole sentences within this many characters.
    pub max_quote_chars: usize,
    /// Sections longer than this are split into several passages on paragraph boundaries.
    pub max_passage_chars: usize,
    /// Multiplier for matches in a passage's own heading, relative to its body.
    pub heading_boost: f32,
    /// Multiplier for matches in the enclosing headings (the path), relative to the body.
    pub path_boost: f32,
    /// Multiplier for matches in a section's lay keywords (`<!-- keywords: ... -->`).
    pub keywords_boost: f32,
    /// Share (0..1) of the question's content weight the best passage must cover to be quoted,
    /// when it shares a domain word ("massage", "back", "pain") with the question.
    pub min_coverage: f32,
    /// The same share when it does not: a single shared word is then often a coincidence.
    pub min_coverage_unanchored: f32,
    /// A second passage is quoted only when its score is at least this share of the first's.
    pub second_passage_ratio: f32,
    /// A question the decline model (`knowledge/decline-model.json`, when there is one)
    /// rates off-topic with a probability above this is declined. 1 turns the model off.
    pub decline_above: f32,
}

/// `[safety]`: texts that every reply carries, and escalation wording.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyConfig {
    /// Red-flag referral advice: the warning signs that mean urgent care. Ends every reply.
    pub red_flag_advice: String,
    /// Short medical disclaimer. The very last thing in every reply.
    pub disclaimer: String,
    /// How to reach emergency services, as shown to users ("999 (UK), 911 (US) or 112 (EU)").
    #[serde(default = "defaults::emergency_number")]
    pub emergency_number: String,
    /// Crisis line shown with self-harm escalations.
    #[serde(default = "defaults::crisis_line")]
    pub crisis_line: String,
    /// Red-flag rule file (relative to the config file).
    #[serde(default = "defaults::rules_file")]
    pub rules_file: PathBuf,
}

/// `[limits]`: bounds on user input.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Questions longer than this (in characters) are answered from their first part only,
    /// and the reply says so. Triage always reads the whole text up to `max_triage_chars`.
    pub max_question_chars: usize,
    /// Triage reads at most this many characters of a message.
    pub max_triage_chars: usize,
}

/// `[discord]`: the bot adapter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// Register commands in this guild (instant) instead of globally (up to an hour).
    pub guild_id: Option<u64>,
    /// Roles allowed to run `/reindex` besides Administrator and Manage Server.
    pub admin_role_ids: Vec<u64>,
    /// Base URL that replaces `https://discord.com` for the HTTP API (a rate-limit proxy,
    /// or a fake Discord in tests).
    pub proxy_url: Option<String>,
    /// Which shards this process runs.
    pub shards: Shards,
    /// Per-user request limit.
    pub rate_limit: RateLimitConfig,
    /// Log the text of questions (off by default: these are health questions).
    pub log_message_text: bool,
}

/// `discord.shards`: `"auto"` or `{ start, end, total }` (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Shards {
    /// Discord's recommended shard count, all in this process.
    Auto(AutoShards),
    /// Shards `start..end` of `total`, so several processes can split the load.
    Range {
        /// First shard id run here.
        start: u32,
        /// One past the last shard id run here.
        end: u32,
        /// Total shard count across all processes.
        total: u32,
    },
}

impl Default for Shards {
    fn default() -> Shards {
        Shards::Auto(AutoShards)
    }
}

/// The string `"auto"` (and nothing else) in `discord.shards`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoShards;

impl<'de> Deserialize<'de> for AutoShards {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AutoShards, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "auto" {
            Ok(AutoShards)
        } else {
            Err(serde::de::Error::custom(format!(
                "expected \"auto\" or {{ start, end, total }}, found {text:?}"
            )))
        }
    }
}

/// `discord.rate_limit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests allowed per user within the window.
    pub max_requests: u32,
    /// Window length in seconds.
    pub per_seconds: u64,
}

/// `[gaps]`: the knowledge-gap log.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GapsConfig {
    /// SQLite file (relative to the config file).
    pub db_path: PathBuf,
    /// Store question text verbatim. Off by default; otherwise only a normalised form.
    pub log_questions: bool,
    /// An answer whose best passage covers less than this share of the question counts as
    /// a low-confidence answer in the log.
    pub low_confidence_below: f32,
}

mod defaults {
    use std::path::PathBuf;

    pub fn knowledge_dir() -> PathBuf {
        PathBuf::from("knowledge")
    }
    pub fn index_dir() -> PathBuf {
        PathBuf::from("index")
    }
    pub fn rules_file() -> PathBuf {
        PathBuf::from("knowledge/red-flags.toml")
    }
    pub fn emergency_number() -> String {
        "999 (UK), 911 (US) or 112 (EU)".to_string()
    }
    pub fn crisis_line() -> String {
        "Samaritans 116 123 (UK), 988 Suicide & Crisis Lifeline (US), or your local emergency number"
            .to_string()
    }
}

impl Default for AnswerConfig {
    fn default() -> AnswerConfig {
        AnswerConfig {
            max_passages: 2,
            max_quote_chars: 600,
            max_passage_chars: 1200,
            heading_boost: 2.5,
            path_boost: 0.0,
            keywords_boost: 1.5,
            min_coverage: 0.15,
            min_coverage_unanchored: 0.5,
            second_passage_ratio: 0.6,
            decline_above: 0.75,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        LimitsConfig {
            max_question_chars: 1000,
            max_triage_chars: 12_000,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> RateLimitConfig {
        RateLimitConfig {
            max_requests: 5,
            per_seconds: 60,
        }
    }
}

impl Default for GapsConfig {
    fn default() -> GapsConfig {
        GapsConfig {
            db_path: PathBuf::from("data/gaps.sqlite3"),
            log_questions: false,
            low_confidence_below: 0.5,
        }
    }
}

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read config: {source}", path.display())]
    Io {
        /// The config path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid config.
    #[error("{problem}")]
    Invalid {
        /// Where and what.
        problem: Problem,
    },
}

impl ConfigError {
    /// The finding as a `file:line` problem.
    pub fn problem(&self) -> Problem {
        match self {
            ConfigError::Io { path, source } => {
                Problem::error(path, 1, format!("cannot read config: {source}"))
            }
            ConfigError::Invalid { problem } => problem.clone(),
        }
    }
}

impl Config {
    /// Reads, parses and validates `path`, resolving relative paths against its folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::from_toml(&text, path)?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        config.resolve_paths(base);
        Ok(config)
    }

    /// Parses config text; `path` is used for messages only and paths stay as written.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of_offset(text, s.start)).unwrap_or(1);
            ConfigError::Invalid {
                problem: Problem::error(path, line, e.message().to_string()),
            }
        })?;
        config.path = path.to_path_buf();
        config.validate(text)?;
        Ok(config)
    }

    fn validate(&self, text: &str) -> Result<(), ConfigError> {
        let line_of = |key: &str| {
            text.find(key)
                .map(|offset| line_of_offset(text, offset))
                .unwrap_or(1)
        };
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            problem: Problem::error(&self.path, line_of(key), message),
        };
        if self.safety.red_flag_advice.trim().is_empty() {
            return Err(invalid(
                "red_flag_advice",
                "safety.red_flag_advice must not be empty".into(),
            ));
        }
        if self.safety.disclaimer.trim().is_empty() {
            return Err(invalid(
                "disclaimer",
                "safety.disclaimer must not be empty".into(),
            ));
        }
        if self.answer.max_passages == 0 {
            return Err(invalid(
                "max_passages",
                "answer.max_passages must be at least 1".into(),
            ));
        }
        if self.answer.max_quote_chars < 80 {
            return Err(invalid(
                "max_quote_chars",
                "answer.max_quote_chars must be at least 80".into(),
            ));
        }
        if self.answer.max_passage_chars < 200 {
            return Err(invalid(
                "max_passage_chars",
                "answer.max_passage_chars must be at least 200".into(),
            ));
        }
        for (key, value) in [
            ("min_coverage", self.answer.min_coverage),
            (
                "min_coverage_unanchored",
                self.answer.min_coverage_unanchored,
            ),
            ("decline_above", self.answer.decline_above),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(invalid(
                    key,
                    format!("answer.{key} must be between 0 and 1"),
                ));
            }
        }
        if self.limits.max_question_chars == 0 {
            return Err(invalid(
                "max_question_chars",
                "limits.max_question_chars must be at least 1".into(),
            ));
        }
        if let Shards::Range { start, end, total } = self.discord.shards {
            if start >= end || end > total {
                return Err(invalid(
                    "shards",
                    format!(
                        "discord.shards: need start < end <= total, got {start}..{end} of {total}"
                    ),
                ));
            }
        }
        if self.discord.rate_limit.max_requests == 0 || self.discord.rate_limit.per_seconds == 0 {
            return Err(invalid(
                "rate_limit",
                "discord.rate_limit values must be at least 1".into(),
            ));
        }
        Ok(())
    }

    fn resolve_paths(&mut self, base: &Path) {
        for path in [
            &mut self.knowledge_dir,
            &mut self.index_dir,
            &mut self.safety.rules_file,
            &mut self.gaps.db_path,
        ] {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }

    /// The synonym table inside the knowledge folder.
    pub fn synonyms_file(&self) -> PathBuf {
        self.knowledge_dir.join("synonyms.toml")
    }

    /// The decline model inside the knowledge folder (optional).
    pub fn decline_model_file(&self) -> PathBuf {
        self.knowledge_dir.join(crate::decline::MODEL_FILE)
    }
}

impl fmt::Display for Shards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shards::Auto(_) => write!(f, "auto"),
            Shards::Range { start, end, total } => write!(f, "{start}..{end} of {total}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "[safety]\nred_flag_advice = \"see a doctor\"\ndisclaimer = \"not advice\"\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::from_toml(MINIMAL, Path::new("c.toml")).unwrap();
        assert_eq!(c.knowledge_dir, PathBuf::from("knowledge"));
        assert_eq!(c.discord.shards, Shards::Auto(AutoShards));
        assert!(!c.discord.log_message_text);
        assert!(!c.gaps.log_questions);
    }

    #[test]
    fn shard_range_parses_and_is_checked() {
        let ok = format!("{MINIMAL}[discord]\nshards = {{ start = 0, end = 2, total = 4 }}\n");
        let c = Config::from_toml(&ok, Path::new("c.toml")).unwrap();
        assert_eq!(
            c.discord.shards,
            Shards::Range {
                start: 0,
                end: 2,
                total: 4
            }
        );
        let bad = format!("{MINIMAL}[discord]\nshards = {{ start = 3, end = 2, total = 4 }}\n");
        let err = Config::from_toml(&bad, Path::new("c.toml")).unwrap_err();
        assert_eq!(err.problem().line, 5, "{err}");
        let word = format!("{MINIMAL}[discord]\nshards = \"many\"\n");
        assert!(Config::from_toml(&word, Path::new("c.toml")).is_err());
    }

    #[test]
    fn syntax_error_names_the_line() {
        let text = format!("{MINIMAL}[answer]\nmax_passages = = 2\n");
        let err = Config::from_toml(&text, Path::new("c.toml")).unwrap_err();
        let p = err.problem();
        assert_eq!(
            (p.file.as_path(), p.line),
            (Path::new("c.toml"), 5),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_is_rejected() {
        let text = format!("{MINIMAL}[answer]\nmax_pasages = 2\n");
        let err = Config::from_toml(&text, Path::new("c.toml")).unwrap_err();
        assert!(err.to_string().contains("max_pasages"), "{err}");
    }

    #[test]
    fn empty_disclaimer_is_rejected() {
        let text = "[safety]\nred_flag_advice = \"x\"\ndisclaimer = \"  \"\n";
        let err = Config::from_toml(text, Path::new("c.toml")).unwrap_err();
        assert_eq!(err.problem().line, 3);
    }

    #[test]
    fn relative_paths_resolve_against_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, MINIMAL).unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.knowledge_dir, dir.path().join("knowledge"));
        assert_eq!(
            c.safety.rules_file,
            dir.path().join("knowledge/red-flags.toml")
        );
    }
}
