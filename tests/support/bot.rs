//! The real bot (`backrub::discord::run`, serenity included) on its own fake Discord, over
//! a private copy of the bundled knowledge: what every end-to-end test starts from.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backrub::config::Config;
use backrub::discord::DiscordError;
use backrub::engine::Engine;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::fake_discord::fixtures::{self, Invoker};
use super::fake_discord::{FakeDiscord, Recorded, GUILD_ID};

/// The token the tests give the bot (the fake accepts any).
pub const TOKEN: &str = "test-token";

/// How long to wait for the bot to register its commands, or to stop.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running bot and its fake Discord.
pub struct TestBot {
    pub fake: FakeDiscord,
    pub engine: Arc<Engine>,
    /// Holds `knowledge/`, `index/` and the gap log.
    pub dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), DiscordError>>,
    _tmp: Option<tempfile::TempDir>,
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()))
    {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The repository config over `dir`, pointed at `fake`: the knowledge is copied into `dir`
/// unless it is already there (so starting twice over one folder is a restart), and the
/// index and the gap log live there too. The watcher is off, the rate limit high, message
/// text unlogged; `tweak` changes what a test needs.
pub fn test_config(fake: &FakeDiscord, dir: &Path, tweak: impl FnOnce(&mut Config)) -> Config {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut config = Config::load(&root.join("config.toml")).expect("load config.toml");
    if !dir.join("knowledge").exists() {
        copy_dir(&config.knowledge_dir, &dir.join("knowledge"));
    }
    config.knowledge_dir = dir.join("knowledge");
    config.index_dir = dir.join("index");
    config.gaps.db_path = dir.join("gaps.sqlite3");
    config.gaps.log_questions = false;
    config.reload.watch = false;
    config.discord.proxy_url = Some(fake.http_url());
    config.discord.guild_id = Some(GUILD_ID);
    config.discord.shards = serde_json::from_value(json!("auto")).unwrap();
    config.discord.rate_limit.max_requests = 1000;
    config.discord.rate_limit.per_seconds = 60;
    config.discord.log_message_text = false;
    tweak(&mut config);
    config
}

impl TestBot {
    /// A bot over a fresh temporary folder.
    pub async fn launch(tweak: impl FnOnce(&mut Config)) -> TestBot {
        let tmp = tempfile::tempdir().unwrap();
        let mut bot = TestBot::launch_in(tmp.path(), tweak).await;
        bot._tmp = Some(tmp);
        bot
    }

    /// A bot over `dir` (see [`test_config`]). Returns once the bot registered its
    /// commands: its READY handler ran, so it is ready for events.
    pub async fn launch_in(dir: &Path, tweak: impl FnOnce(&mut Config)) -> TestBot {
        let fake = FakeDiscord::start().await;
        let config = test_config(&fake, dir, tweak);
        let engine = tokio::task::spawn_blocking(move || Engine::open(config))
            .await
            .unwrap()
            .expect("open the engine on the test knowledge");
        let engine = Arc::new(engine);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(backrub::discord::run(
            Arc::clone(&engine),
            TOKEN.to_string(),
            async move {
                let _ = stopped.await;
            },
        ));
        let registered = fake
            .wait_for_request(|r| r.method == "PUT" && r.path.ends_with("/commands"), WAIT)
            .await;
        assert!(
            registered.is_some(),
            "the bot never registered its commands; requests: {:#?}",
            fake.requests()
        );
        TestBot {
            fake,
            engine,
            dir: dir.to_path_buf(),
            stop: Some(stop),
            task,
            _tmp: None,
        }
    }

    /// Resolves the shutdown future and waits for `run` to return cleanly; how long it took.
    pub async fn stop(mut self) -> Duration {
        let started = Instant::now();
        let _ = self.stop.take().unwrap().send(());
        let result = tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .expect("the bot did not stop within 15 s");
        result
            .expect("bot task panicked")
            .expect("bot returned an error");
        started.elapsed()
    }
}

impl TestBot {
    /// Sends slash command `name` with `options` as `invoker`; the interaction id.
    pub fn command(&self, name: &str, options: Value, invoker: &Invoker) -> u64 {
        let id = self.fake.next_id();
        self.fake
            .send_interaction(fixtures::command_interaction(id, name, options, invoker));
        id
    }

    /// The initial response to interaction `id` (panics, listing every request, if none).
    pub async fn callback(&self, id: u64) -> Recorded {
        let path = FakeDiscord::callback_path(id);
        match self
            .fake
            .wait_for_request(|r| r.is("POST", &path), WAIT)
            .await
        {
            Some(r) => r,
            None => panic!(
                "no callback for interaction {id}; requests: {:#?}",
                self.fake.requests()
            ),
        }
    }

    /// The edit of interaction `id`'s original (deferred) response.
    pub async fn edit(&self, id: u64) -> Recorded {
        let path = FakeDiscord::original_path(id);
        match self
            .fake
            .wait_for_request(|r| r.is("PATCH", &path), Duration::from_secs(30))
            .await
        {
            Some(r) => r,
            None => panic!(
                "no edit for interaction {id}; requests: {:#?}",
                self.fake.requests()
            ),
        }
    }
}

/// Runs a test scenario, failing it if it takes longer than `limit`.
pub async fn scenario(limit: Duration, body: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(limit, body)
        .await
        .expect("scenario timed out");
}

/// The first embed's description of a message payload.
pub fn description(message: &Value) -> String {
    message["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
