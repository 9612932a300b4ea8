//! The Discord adapter (feature `discord`): slash commands, @mentions and DMs answered from the
//! [`Engine`], rendered within Discord's limits.
//!
//! # Layout
//! - `mod.rs`: [`run`], the entry point and test seam: HTTP client (optionally behind a proxy),
//!   intents, sharding, start and shutdown.
//! - `handler.rs`: the serenity event handler (I/O, panic containment, logging rules).
//! - `commands.rs`: command definitions, parsing, admin check, engine calls.
//! - `render.rs`: pure `Answer` → message rendering within every Discord limit.
//! - `ratelimit.rs`: the per-user sliding-window limit.
//! - `votes.rs`: the 👍/👎 buttons' ids and the passages they rate.
//!
//! The adapter renders; it never decides what to answer (that is the engine's `Answer`).
//! Everything it needs comes from the engine's config (`[discord]`, `[gaps]`, `[reload]`)
//! plus the token, which the caller reads from `DISCORD_TOKEN` (never from a file, never
//! logged). So a test points the gap log and the knowledge folder into a temporary folder
//! through the config alone.
//!
//! # Knowledge operations
//! [`run`] opens the gap log at `gaps.db_path` and, with `reload.watch`, watches the
//! knowledge folder (every rebuild attempt is logged by `watch::log_reload`; a failed one
//! leaves the previous knowledge serving). On shutdown it stops taking events, waits up to
//! [`DRAIN_TIMEOUT`] for replies in flight, stops the watcher, flushes the gap log, and
//! closes the shards.
//!
//! Intents: `GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES`. No privileged intent: Discord delivers
//! the content of messages that mention the bot, and of DMs, without `MESSAGE_CONTENT`.
//!
//! # Sharding
//! `discord.shards = "auto"` runs the shard count Discord recommends (`GET /gateway/bot`) in
//! this process. `{ start, end, total }` runs shards `start..end` (end exclusive) of `total`,
//! so N processes with the same `total` and disjoint ranges split the guilds between them.
//! Every process registers the commands at start-up (an idempotent bulk overwrite). With
//! several processes, put a shared HTTP rate-limit proxy in `discord.proxy_url` (each
//! process's own limiter only sees its own requests). Serenity 0.12.5's limiter sends requests
//! to discord.com whatever the proxy, so it is disabled when a proxy is set.

pub mod commands;
pub mod handler;
pub mod ratelimit;
pub mod render;
pub mod votes;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serenity::builder::CreateAllowedMentions;
use serenity::client::ClientBuilder;
use serenity::http::HttpBuilder;
use serenity::model::gateway::GatewayIntents;
use tracing::{error, info, warn};

use crate::config::Shards;
use crate::engine::Engine;
use crate::gaps::{GapError, GapLog};
use crate::watch;

pub use handler::Handler;

/// Why the bot could not start or stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    /// `DISCORD_TOKEN` was empty.
    #[error("the Discord token is empty (set DISCORD_TOKEN)")]
    MissingToken,
    /// `discord.proxy_url` is not an `http://` or `https://` URL.
    #[error("discord.proxy_url must start with http:// or https:// (got {0:?})")]
    InvalidProxyUrl(String),
    /// `discord.shards` describes an impossible range.
    #[error("discord.shards: {0}")]
    InvalidShards(String),
    /// The knowledge-gap log (`gaps.db_path`) could not be opened.
    #[error("{}: {source}", path.display())]
    GapLog {
        /// `gaps.db_path`.
        path: std::path::PathBuf,
        /// What SQLite or the file system said.
        #[source]
        source: GapError,
    },
    /// Serenity failed: building the client, reaching Discord, or every shard died.
    #[error("Discord client error: {0}")]
    Client(#[from] Box<serenity::Error>),
}

/// Which shards this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardPlan {
    /// As many as Discord recommends (`GET /gateway/bot`), all in this process.
    Auto,
    /// Shards `start..end` of `total` (several processes each run a slice).
    Range {
        /// First shard id.
        start: u32,
        /// One past the last shard id.
        end: u32,
        /// Shards across all processes.
        total: u32,
    },
}

impl ShardPlan {
    /// Validates `discord.shards`.
    pub fn from_config(shards: &Shards) -> Result<ShardPlan, DiscordError> {
        match *shards {
            Shards::Auto(_) => Ok(ShardPlan::Auto),
            Shards::Range { start, end, total } => {
                if total == 0 || start >= end || end > total {
                    return Err(DiscordError::InvalidShards(format!(
                        "need start < end <= total, got start = {start}, end = {end}, total = {total}"
                    )));
                }
                Ok(ShardPlan::Range { start, end, total })
            }
        }
    }
}

/// How long shutdown waits for replies in flight before closing anyway.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The gateway intents the bot uses, and no more.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES
}

/// Runs the bot until `shutdown` resolves, then finishes the replies in flight (for at
/// most [`DRAIN_TIMEOUT`]), flushes the gap log and closes every shard cleanly.
///
/// Also opens the gap log at `gaps.db_path` (an error if it cannot) and, with
/// `reload.watch`, follows changes to the knowledge folder (a watch that cannot start is
/// logged; `/reindex` still works).
///
/// Settings come from `engine.config().discord`: `proxy_url` sends every REST call there
/// instead of `https://discord.com` (serenity's own rate limiter is then disabled, as it does
/// not know about the proxy; the proxy or the fake Discord of the tests owns rate limits),
/// `guild_id` registers commands in one guild, `shards` picks the shards.
///
/// Returns `Ok(())` after a requested shutdown, an error if the client could not start or all
/// shards stopped on their own (e.g. an invalid token).
pub async fn run(
    engine: Arc<Engine>,
    token: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DiscordError> {
    if token.trim().is_empty() {
        return Err(DiscordError::MissingToken);
    }
    let config = engine.config().discord.clone();
    let plan = ShardPlan::from_config(&config.shards)?;

    let mut http = HttpBuilder::new(&token).default_allowed_mentions(CreateAllowedMentions::new());
    if let Some(proxy) = config.proxy_url.as_deref() {
        let proxy = proxy.trim_end_matches('/');
        if !(proxy.starts_with("http://") || proxy.starts_with("https://")) {
            return Err(DiscordError::InvalidProxyUrl(proxy.to_string()));
        }
        http = http.proxy(proxy).ratelimiter_disabled(true);
    }
    let gaps = open_gap_log(&engine).await?;
    let reloader = start_watch(&engine);
    let handler = Handler::new(Arc::clone(&engine), Arc::clone(&gaps));
    // `new_with_http` keeps this Http; calling `.token()` on the builder would replace it.
    let mut client = ClientBuilder::new_with_http(http.build(), intents())
        .event_handler(handler.clone())
        .await
        .map_err(Box::new)?;

    info!(
        proxy = config.proxy_url.is_some(),
        guild_id = ?config.guild_id,
        shards = ?plan,
        intents = ?intents(),
        "starting the Discord bot"
    );
    let manager = Arc::clone(&client.shard_manager);
    let started = async {
        match plan {
            ShardPlan::Auto => client.start_autosharded().await,
            // serenity 0.12.5 treats the end of this range as inclusive.
            ShardPlan::Range { start, end, total } => {
                client.start_shard_range(start..end - 1, total).await
            }
        }
    };
    let outcome = tokio::select! {
        result = started => {
            info!("all shards stopped");
            result.map_err(|e| DiscordError::Client(Box::new(e)))
        }
        () = shutdown => {
            info!("shutdown requested: finishing replies in flight");
            let left = handler.drain(DRAIN_TIMEOUT).await;
            if left > 0 {
                warn!(left, "shutdown: some replies did not finish in time");
            }
            Ok(())
        }
    };
    // No rebuild may start while closing; a rebuild already running completes or not at
    // all (the swap is atomic).
    drop(reloader);
    let flushed = tokio::task::spawn_blocking(move || gaps.flush()).await;
    match flushed {
        Ok(Ok(())) => info!("gap log flushed"),
        Ok(Err(e)) => error!(error = %e, "flushing the gap log failed"),
        Err(e) => error!(error = %e, "gap-log flush task failed"),
    }
    if outcome.is_ok() {
        manager.shutdown_all().await;
        info!("shards closed");
    }
    outcome
}

/// Opens `gaps.db_path` on the blocking pool (SQLite file I/O).
async fn open_gap_log(engine: &Engine) -> Result<Arc<GapLog>, DiscordError> {
    let config = engine.config().gaps.clone();
    let path = config.db_path.clone();
    let opened =
        tokio::task::spawn_blocking(move || GapLog::open(&config.db_path, config.log_questions))
            .await
            .map_err(|e| DiscordError::GapLog {
                path: path.clone(),
                source: GapError::Io(std::io::Error::other(e)),
            })?;
    let log = opened.map_err(|source| DiscordError::GapLog {
        path: path.clone(),
        source,
    })?;
    info!(path = %path.display(), "gap log open");
    Ok(Arc::new(log))
}

/// Starts the knowledge watcher when `reload.watch` is on.
fn start_watch(engine: &Arc<Engine>) -> Option<watch::Reloader> {
    let reload = &engine.config().reload;
    if !reload.watch {
        return None;
    }
    let debounce = Duration::from_millis(reload.debounce_ms);
    match watch::watch(Arc::clone(engine), debounce, watch::log_reload) {
        Ok(reloader) => {
            info!(
                debounce_ms = reload.debounce_ms,
                "watching the knowledge folder"
            );
            Some(reloader)
        }
        Err(e) => {
            error!(error = %e, "cannot watch the knowledge folder; use /reindex after changes");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_plans() {
        let auto: Shards = serde_json::from_str("\"auto\"").unwrap();
        assert_eq!(ShardPlan::from_config(&auto).unwrap(), ShardPlan::Auto);
        let ok = Shards::Range {
            start: 2,
            end: 4,
            total: 8,
        };
        assert_eq!(
            ShardPlan::from_config(&ok).unwrap(),
            ShardPlan::Range {
                start: 2,
                end: 4,
                total: 8
            }
        );
        for (start, end, total) in [(0, 0, 1), (1, 0, 2), (0, 3, 2), (0, 0, 0)] {
            assert!(ShardPlan::from_config(&Shards::Range { start, end, total }).is_err());
        }
    }

    #[test]
    fn no_privileged_intents() {
        assert!(!intents().contains(GatewayIntents::MESSAGE_CONTENT));
        assert!(!intents().contains(GatewayIntents::GUILD_MEMBERS));
        assert!(!intents().contains(GatewayIntents::GUILD_PRESENCES));
    }
}
