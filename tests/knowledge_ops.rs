//! Knowledge operations end to end: the real bot (`backrub::discord::run`) on the fake
//! Discord, answering from a temporary knowledge folder that the tests edit under it.
//!
//! Live reload (add, edit, delete an article and see `/ask` change within the reload
//! window), answers that never fail while rebuilds run, a broken file that keeps the old
//! answers and is reported, the gap log (a declined question, kept across a restart, listed
//! by `/gaps` for admins only), 👍/👎 votes, and a shutdown that finishes a reply in flight.
#![cfg(feature = "discord")]

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backrub::config::Config;
use backrub::gaps::GapLog;
use serde_json::{json, Value};
use support::fake_discord::fixtures::{self, Invoker};

const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);
const WAIT: Duration = Duration::from_secs(10);
/// How long a change to the knowledge may take to show in answers (debounce is 200 ms).
const RELOAD_WINDOW: Duration = Duration::from_secs(10);
const EPHEMERAL: u64 = 1 << 6;
const MANAGE_GUILD: u64 = 1 << 5;

const QUESTION: &str = "Is deep tissue massage good for lower back pain?";
const STONES_QUESTION: &str = "What do heated basalt stones do for a stiff back?";
const OFF_TOPIC: &str = "Which telescope should I buy for astronomy?";

const STONES: &str = "# Hot Stone Massage\n\n\
Hot stone massage uses smooth basalt stones.\n\n\
## How Hot Stones Work\n\n\
Smooth basalt stones are heated in water and laid along the back, where their warmth \
loosens stiff muscles before the therapist kneads them.\n";

fn admin() -> Invoker {
    Invoker::Member {
        user_id: 70,
        roles: vec![],
        permissions: MANAGE_GUILD,
    }
}

use support::bot::{copy_dir, description, TestBot as Bot};

async fn scenario(body: impl std::future::Future<Output = ()>) {
    support::bot::scenario(SCENARIO_TIMEOUT, body).await
}

impl Bot {
    /// The shared test bot over `dir` (a second start over the same folder is a restart),
    /// with the watcher on (200 ms).
    async fn start_over(dir: &Path, tweak: impl FnOnce(&mut Config)) -> Bot {
        Bot::launch_in(dir, |c| {
            c.reload.watch = true;
            c.reload.debounce_ms = 200;
            c.discord.rate_limit.max_requests = 10_000;
            tweak(c)
        })
        .await
    }

    fn knowledge(&self, file: &str) -> PathBuf {
        self.dir.join("knowledge").join(file)
    }

    fn db(&self) -> PathBuf {
        self.dir.join("gaps.sqlite3")
    }

    /// `/ask` as a member; the initial response's message (`data`).
    async fn ask(&self, question: &str, user_id: u64) -> Value {
        let id = self.command(
            "ask",
            fixtures::ask_options(question, None),
            &fixtures::member(user_id),
        );
        let callback = self.callback(id).await;
        assert_eq!(
            callback.body["type"],
            json!(4),
            "answered at once: {}",
            callback.body
        );
        callback.body["data"].clone()
    }

    /// Asks `question` again and again until the answer's text satisfies `pred`.
    async fn ask_until(&self, question: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + RELOAD_WINDOW;
        loop {
            let text = description(&self.ask(question, 71).await);
            if pred(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{what} not seen within {RELOAD_WINDOW:?}; last answer: {text}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The vote button ids under an answer.
fn vote_ids(message: &Value) -> Vec<String> {
    message["components"][0]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["custom_id"].as_str().map(str::to_string))
        .collect()
}

/// Polls `probe` until it holds (the gap log is written just after the reply).
async fn eventually(what: &str, probe: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !probe() {
        assert!(Instant::now() < deadline, "{what}: not within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Everything this test binary logs, down to info level.
fn captured_logs() -> &'static std::sync::Mutex<Vec<u8>> {
    support::logs::captured_logs("info")
}

#[test]
fn component_fixture_deserializes_into_serenity_models() {
    use serenity::model::application::{ComponentInteractionDataKind, Interaction};
    for invoker in [fixtures::member(1), Invoker::Dm { user_id: 2 }] {
        let d = fixtures::component_interaction(42, "vote:up:A › B", 43, &invoker);
        match serde_json::from_value::<Interaction>(d.clone()) {
            Ok(Interaction::Component(c)) => {
                assert_eq!(c.data.custom_id, "vote:up:A › B");
                assert!(matches!(c.data.kind, ComponentInteractionDataKind::Button));
                assert_eq!(c.message.id.get(), 43);
                assert_ne!(c.user.id.get(), 0);
            }
            other => panic!("serenity would not see a button press in {d}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_edited_and_deleted_articles_change_answers_within_the_reload_window() {
    scenario(async {
        let dir = tempfile::tempdir().unwrap();
        let bot = Bot::start_over(dir.path(), |_| {}).await;
        let before = description(&bot.ask(STONES_QUESTION, 71).await);
        assert!(!before.contains("Hot Stone Massage"), "{before}");

        std::fs::write(bot.knowledge("hot-stones.md"), STONES).unwrap();
        bot.ask_until(STONES_QUESTION, "the added article", |t| {
            t.contains("Hot Stone Massage › How Hot Stones Work")
        })
        .await;

        let edited = STONES.replace("## How Hot Stones Work", "## Heated Basalt Stones");
        std::fs::write(bot.knowledge("hot-stones.md"), edited).unwrap();
        bot.ask_until(STONES_QUESTION, "the edited heading", |t| {
            t.contains("Hot Stone Massage › Heated Basalt Stones")
                && !t.contains("How Hot Stones Work")
        })
        .await;

        std::fs::remove_file(bot.knowledge("hot-stones.md")).unwrap();
        bot.ask_until(STONES_QUESTION, "the deletion", |t| {
            !t.contains("Hot Stone Massage")
        })
        .await;
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asks_from_several_tasks_never_fail_while_the_index_is_rebuilt() {
    scenario(async {
        let dir = tempfile::tempdir().unwrap();
        // Rebuilds come from /reindex here, so the watcher stays out of the timing.
        let bot = Arc::new(Bot::start_over(dir.path(), |c| c.reload.watch = false).await);
        let advice: String = bot
            .engine
            .config()
            .safety
            .red_flag_advice
            .trim()
            .chars()
            .take(40)
            .collect();
        let rebuilding = Arc::new(AtomicBool::new(true));
        let askers: Vec<_> = (0..6u64)
            .map(|task| {
                let (bot, rebuilding, advice) =
                    (Arc::clone(&bot), Arc::clone(&rebuilding), advice.clone());
                tokio::spawn(async move {
                    let mut answered = 0;
                    while rebuilding.load(Ordering::SeqCst) || answered < 5 {
                        let message = bot.ask(QUESTION, 100 + task).await;
                        let text = description(&message);
                        assert!(
                            text.contains("\n> ") || text.starts_with("> "),
                            "no passage: {text}"
                        );
                        assert!(text.contains(&advice), "no advice: {text}");
                        answered += 1;
                    }
                    answered
                })
            })
            .collect();
        for round in 0..3 {
            // Each rebuild has something to do.
            std::fs::write(
                bot.knowledge("hot-stones.md"),
                STONES.replace("smooth", &format!("smooth ({round})")),
            )
            .unwrap();
            let id = bot.command("reindex", json!([]), &admin());
            let edit = bot.edit(id).await;
            assert_eq!(
                edit.body["embeds"][0]["title"],
                json!("Index rebuilt"),
                "{}",
                edit.body
            );
        }
        rebuilding.store(false, Ordering::SeqCst);
        let mut total = 0;
        for asker in askers {
            total += asker.await.expect("an asker failed");
        }
        assert!(total >= 30, "{total} answers");
        let apologies = bot
            .fake
            .requests()
            .iter()
            .filter(|r| {
                r.body["data"]["content"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("Sorry"))
            })
            .count();
        assert_eq!(apologies, 0, "no reply may fail during a rebuild");
        Arc::into_inner(bot).expect("askers are done").stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_file_keeps_the_old_answers_and_is_reported() {
    scenario(async {
        let logs = captured_logs();
        let dir = tempfile::tempdir().unwrap();
        copy_dir(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge"),
            &dir.path().join("knowledge"),
        );
        std::fs::write(dir.path().join("knowledge/hot-stones.md"), STONES).unwrap();
        let bot = Bot::start_over(dir.path(), |_| {}).await;
        let old = "Hot Stone Massage › How Hot Stones Work";
        assert!(description(&bot.ask(STONES_QUESTION, 72).await).contains(old));

        // Broken front matter on line 2, and a new heading that must not be served.
        let broken = format!(
            "+++\ntitle = = \"Hot Stones\"\n+++\n{}",
            STONES.replace("How Hot Stones Work", "Never Served")
        );
        std::fs::write(bot.knowledge("hot-stones.md"), broken).unwrap();
        eventually("the failed reload in the log", || {
            let text = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
            text.contains("knowledge reload failed") && text.contains("hot-stones.md:2: error")
        })
        .await;
        let text = description(&bot.ask(STONES_QUESTION, 72).await);
        assert!(
            text.contains(old) && !text.contains("Never Served"),
            "the old knowledge serves: {text}"
        );

        // The admin who asks for a rebuild is told where the problem is.
        let id = bot.command("reindex", json!([]), &admin());
        let edit = bot.edit(id).await;
        assert_eq!(
            edit.body["embeds"][0]["title"],
            json!("Rebuild failed: the previous index is still serving")
        );
        let report = description(&edit.body);
        assert!(
            report.contains("hot-stones.md:2: error: front matter"),
            "{report}"
        );
        assert!(description(&bot.ask(STONES_QUESTION, 72).await).contains(old));
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_question_is_logged_survives_a_restart_and_gaps_is_for_admins() {
    scenario(async {
        let dir = tempfile::tempdir().unwrap();
        let bot = Bot::start_over(dir.path(), |c| c.reload.watch = false).await;
        let declined = bot.ask(OFF_TOPIC, 73).await;
        assert!(
            vote_ids(&declined).is_empty(),
            "no vote buttons without a passage"
        );
        bot.ask(QUESTION, 73).await; // answered well: not a gap
        let db = bot.db();
        bot.stop().await;

        let log = GapLog::open(&db, false).unwrap();
        let gaps = log.top_gaps(10).unwrap();
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert_eq!(
            gaps[0].question,
            "which telescope should i buy for astronomy"
        );
        assert_eq!(
            (gaps[0].declined, gaps[0].example.as_deref()),
            (1, None),
            "no verbatim text by default"
        );
        drop(log);

        let bot = Bot::start_over(dir.path(), |c| c.reload.watch = false).await;
        let id = bot.command("gaps", json!([]), &fixtures::member(74));
        let refused = bot.callback(id).await;
        assert!(refused.body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Only server admins"));
        assert!(
            refused.body["data"]["embeds"]
                .as_array()
                .is_none_or(Vec::is_empty),
            "nothing leaked"
        );

        let id = bot.command("gaps", json!([]), &admin());
        let shown = bot.callback(id).await;
        assert_eq!(
            shown.body["data"]["flags"].as_u64().unwrap_or(0) & EPHEMERAL,
            EPHEMERAL
        );
        let text = description(&shown.body["data"]);
        assert!(
            text.contains("1× which telescope should i buy for astronomy"),
            "kept across the restart: {text}"
        );
        assert!(text.contains("Worst-rated passages"), "{text}");
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_are_counted_against_the_quoted_passage_and_worst_ones_shown() {
    scenario(async {
        let dir = tempfile::tempdir().unwrap();
        let bot = Bot::start_over(dir.path(), |c| c.reload.watch = false).await;
        let passage = bot.engine.ask(QUESTION).passages[0].path.clone();
        let answer = bot.ask(QUESTION, 75).await;
        let ids = vote_ids(&answer);
        assert_eq!(ids.len(), 2, "{answer}");
        let (up, down) = (&ids[0], &ids[1]);
        assert!(up.starts_with("vote:up:") && down.starts_with("vote:down:"));
        assert!(ids.iter().all(|id| id.chars().count() <= 100));

        let message_id = bot.fake.next_id();
        for (user, id) in [(76, down), (77, down), (78, up)] {
            let press = bot.fake.next_id();
            bot.fake.send_interaction(fixtures::component_interaction(
                press,
                id,
                message_id,
                &fixtures::member(user),
            ));
            let thanks = bot.callback(press).await;
            assert_eq!(thanks.body["type"], json!(4));
            assert_eq!(
                thanks.body["data"]["flags"].as_u64().unwrap_or(0) & EPHEMERAL,
                EPHEMERAL
            );
            assert!(thanks.body["data"]["content"]
                .as_str()
                .unwrap()
                .starts_with("Thanks"));
            assert_eq!(thanks.body["data"]["allowed_mentions"]["parse"], json!([]));
        }
        let db = bot.db();
        eventually("three votes recorded", || {
            let log = GapLog::open(&db, false).unwrap();
            log.votes(&passage)
                .unwrap()
                .is_some_and(|v| (v.up, v.down) == (1, 2))
        })
        .await;

        let id = bot.command("gaps", json!([]), &admin());
        let text = description(&bot.callback(id).await.body["data"]);
        assert!(text.contains(&format!("👎 2 👍 1  {passage}")), "{text}");
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_a_reply_in_flight_and_flushes_the_gap_log() {
    scenario(async {
        let dir = tempfile::tempdir().unwrap();
        let bot = Bot::start_over(dir.path(), |c| c.reload.watch = false).await;
        let id = bot.fake.next_id();
        // The reply reaches Discord but its answer takes 1.5 s: it is in flight at shutdown.
        bot.fake.delay_next(
            &format!("/interactions/{id}/"),
            1,
            Duration::from_millis(1500),
        );
        bot.fake.send_interaction(fixtures::command_interaction(
            id,
            "ask",
            fixtures::ask_options(OFF_TOPIC, None),
            &fixtures::member(79),
        ));
        bot.callback(id).await;
        let db = bot.db();
        let took = bot.stop().await;
        assert!(
            took >= Duration::from_millis(1000),
            "shutdown did not wait for the reply ({took:?})"
        );
        // The gap is written only after the reply succeeded, and the log was flushed: the
        // write-ahead log is empty.
        let wal = db.with_file_name("gaps.sqlite3-wal");
        assert_eq!(
            std::fs::metadata(&wal).map_or(0, |m| m.len()),
            0,
            "WAL not checkpointed"
        );
        let log = GapLog::open(&db, false).unwrap();
        assert_eq!(log.top_gaps(5).unwrap()[0].declined, 1);
    })
    .await;
}
