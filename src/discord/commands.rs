//! The slash commands: their definitions (what is registered with Discord), parsing an
//! interaction into a [`Request`], the admin check, and the engine calls behind them.
//!
//! Handlers here return data ([`Answer`], [`IndexReport`], [`Reply`]); `handler.rs` does the
//! I/O and `render.rs` the formatting. Engine calls are blocking CPU/disk work, so they run on
//! tokio's blocking pool.

use std::sync::Arc;

use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::model::application::{CommandOptionType, ResolvedValue};
use serenity::model::id::RoleId;
use serenity::model::Permissions;
use tokio::task::JoinError;

use super::render::{self, Reply};
use crate::answer::Answer;
use crate::engine::IndexReport;
use crate::engine::{Engine, EngineError};
use crate::gaps::{GapError, GapLog};

/// `/ask`.
pub const ASK: &str = "ask";
/// `/reindex` (admins).
pub const REINDEX: &str = "reindex";
/// `/gaps` (admins).
pub const GAPS: &str = "gaps";
/// Gaps and worst-rated passages listed by `/gaps` (the embed cuts what does not fit).
pub const GAPS_LIMIT: usize = 15;
/// `/topics`.
pub const TOPICS: &str = "topics";
/// `/redflags`.
pub const RED_FLAGS: &str = "redflags";
/// `/help`.
pub const HELP: &str = "help";

/// Discord's cap on a string option is 6,000 characters; we accept what it delivers and let
/// the engine cope (it takes any input), but say so in the option.
const QUESTION_MAX_LENGTH: u16 = 6000;

/// Everything registered at start-up (guild or global, see `mod.rs`).
pub fn definitions() -> Vec<CreateCommand> {
    vec![
        CreateCommand::new(ASK)
            .description("Ask a question about back pain or massage")
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "question", "Your question")
                    .required(true)
                    .max_length(QUESTION_MAX_LENGTH),
            )
            .add_option(CreateCommandOption::new(
                CommandOptionType::Boolean,
                "private",
                "Only you see the answer",
            )),
        CreateCommand::new(REINDEX)
            .description("Rebuild the knowledge index (server admins)")
            // Hidden from members by Discord; checked again on our side (see `is_admin`).
            .default_member_permissions(Permissions::MANAGE_GUILD)
            .dm_permission(false),
        CreateCommand::new(GAPS)
            .description(
                "Questions I could not answer well, and the worst-rated passages (server admins)",
            )
            .default_member_permissions(Permissions::MANAGE_GUILD)
            .dm_permission(false),
        CreateCommand::new(TOPICS).description("What I can answer about"),
        CreateCommand::new(RED_FLAGS)
            .description("Warning signs that need a doctor, not a massage"),
        CreateCommand::new(HELP).description("How to use backrub"),
    ]
}

/// A parsed slash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `/ask`.
    Ask {
        /// The question text.
        question: String,
        /// Answer ephemerally.
        private: bool,
    },
    /// `/reindex`.
    Reindex,
    /// `/gaps`.
    Gaps,
    /// `/topics`.
    Topics,
    /// `/redflags`.
    RedFlags,
    /// `/help`.
    Help,
}

impl Request {
    /// From a command name and its resolved options (name, value); `None` for an unknown command (e.g. one
    /// left registered by an older version).
    pub fn parse(name: &str, options: &[(&str, ResolvedValue<'_>)]) -> Option<Request> {
        let string = |n: &str| {
            options
                .iter()
                .find(|(k, _)| *k == n)
                .and_then(|(_, v)| match v {
                    ResolvedValue::String(s) => Some(s.to_string()),
                    _ => None,
                })
        };
        let boolean = |n: &str| {
            options
                .iter()
                .find(|(k, _)| *k == n)
                .and_then(|(_, v)| match v {
                    ResolvedValue::Boolean(b) => Some(*b),
                    _ => None,
                })
        };
        Some(match name {
            ASK => Request::Ask {
                question: string("question").unwrap_or_default(),
                private: boolean("private").unwrap_or(false),
            },
            REINDEX => Request::Reindex,
            GAPS => Request::Gaps,
            TOPICS => Request::Topics,
            RED_FLAGS => Request::RedFlags,
            HELP => Request::Help,
            _ => return None,
        })
    }

    /// The command name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Ask { .. } => ASK,
            Request::Reindex => REINDEX,
            Request::Gaps => GAPS,
            Request::Topics => TOPICS,
            Request::RedFlags => RED_FLAGS,
            Request::Help => HELP,
        }
    }
}

/// May this member run `/reindex` and `/gaps`? Administrator or Manage Server in the permissions Discord
/// computed for the member in that channel, or one of the configured admin roles. Outside a
/// guild (no permissions), never.
pub fn is_admin(
    permissions: Option<Permissions>,
    roles: &[RoleId],
    admin_role_ids: &[u64],
) -> bool {
    let by_permission = permissions.is_some_and(|p| {
        p.contains(Permissions::ADMINISTRATOR) || p.contains(Permissions::MANAGE_GUILD)
    });
    by_permission || roles.iter().any(|r| admin_role_ids.contains(&r.get()))
}

/// Answers a question on the blocking pool. Fails only if the engine panicked.
pub async fn ask(engine: Arc<Engine>, question: String) -> Result<Answer, JoinError> {
    tokio::task::spawn_blocking(move || engine.ask(&question)).await
}

/// Rebuilds the index on the blocking pool (seconds). The outer error is a panic in the
/// engine; the inner one a failed, rolled-back rebuild.
pub async fn reindex(engine: Arc<Engine>) -> Result<Result<IndexReport, EngineError>, JoinError> {
    tokio::task::spawn_blocking(move || engine.reindex()).await
}

/// `/gaps`: the gap log's summary, read on the blocking pool.
pub async fn gaps(log: Arc<GapLog>) -> Result<Result<String, GapError>, JoinError> {
    tokio::task::spawn_blocking(move || crate::gaps::report(&log, GAPS_LIMIT)).await
}

/// `/topics`, `/redflags` and `/help`: cheap, answered directly.
pub async fn info(engine: Arc<Engine>, request: &Request) -> Result<Reply, JoinError> {
    Ok(match request {
        Request::Topics => {
            tokio::task::spawn_blocking(move || render::topics(&engine.topics())).await?
        }
        Request::RedFlags => render::red_flags(&engine.red_flags_text()),
        _ => render::help(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_commands_are_gated_in_the_registration() {
        let defs = serde_json::to_value(definitions()).unwrap();
        for name in [REINDEX, GAPS] {
            let command = defs
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == name)
                .unwrap();
            assert_eq!(
                command["default_member_permissions"],
                Permissions::MANAGE_GUILD.bits().to_string()
            );
            assert_eq!(command["dm_permission"], false);
            assert!(command["description"].as_str().unwrap().chars().count() <= 100);
        }
        let ask = defs
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == ASK)
            .unwrap();
        assert_eq!(ask["options"][0]["name"], "question");
        assert_eq!(ask["options"][0]["required"], true);
        assert_eq!(ask["options"][1]["name"], "private");
    }

    #[test]
    fn admin_check() {
        let none: &[u64] = &[];
        assert!(is_admin(Some(Permissions::ADMINISTRATOR), &[], none));
        assert!(is_admin(
            Some(Permissions::MANAGE_GUILD | Permissions::SEND_MESSAGES),
            &[],
            none
        ));
        assert!(!is_admin(
            Some(Permissions::SEND_MESSAGES),
            &[RoleId::new(5)],
            none
        ));
        assert!(is_admin(
            Some(Permissions::SEND_MESSAGES),
            &[RoleId::new(5)],
            &[5]
        ));
        assert!(!is_admin(None, &[], &[5]));
    }

    #[test]
    fn parse_ask() {
        let opts = vec![
            ("question", ResolvedValue::String("hi")),
            ("private", ResolvedValue::Boolean(true)),
        ];
        assert_eq!(
            Request::parse(ASK, &opts),
            Some(Request::Ask {
                question: "hi".into(),
                private: true
            })
        );
        assert_eq!(
            Request::parse(ASK, &[]),
            Some(Request::Ask {
                question: String::new(),
                private: false
            })
        );
        assert_eq!(Request::parse("nope", &[]), None);
    }
}
