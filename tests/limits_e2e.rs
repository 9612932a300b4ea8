//! End-to-end checks of the limits on what a user controls, through the real bot and the fake
//! Discord (same set-up as `discord_e2e.rs`, kept separate so the two files evolve apart):
//!
//! - question length (`limits.max_question_chars`): a longer question is searched by its first
//!   part and the Discord reply says so (that triage still reads the rest is the engine's
//!   business and its tests'; triage is a stub on this branch);
//! - passages quoted (`answer.max_passages`): never more quotes than the setting;
//! - request rate (`discord.rate_limit`): past it, a short ephemeral note that says when to
//!   try again, and an answer again once the window has passed;
//! - an empty question: a hint, not an error.
//!
//! A panic in a handler cannot be caused from outside without a test-only hook in the bot, so
//! its containment is unit-tested on the containment function itself (`guarded` in
//! `src/discord/handler.rs`); the apology path it feeds is the one exercised end to end by
//! `a_failed_send_gets_an_apology_and_the_bot_keeps_working` in `discord_e2e.rs`.
#![cfg(feature = "discord")]

mod support;

use std::future::Future;
use std::time::Duration;

use backrub::config::Config;
use serde_json::{json, Value};
use support::fake_discord::fixtures::{self, Invoker};
use support::fake_discord::{Recorded, BOT_USER_ID, CHANNEL_ID};

const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(10);
const EPHEMERAL: u64 = 1 << 6;

const QUESTION: &str = "Is deep tissue massage good for lower back pain?";

use support::bot::{description, TestBot as Bot};

async fn scenario(body: impl Future<Output = ()>) {
    support::bot::scenario(SCENARIO_TIMEOUT, body).await
}

impl Bot {
    /// The `data` of the initial response to interaction `id`.
    async fn data(&self, id: u64) -> Value {
        self.callback(id).await.body["data"].clone()
    }

    /// The shared test bot; `tweak` sets the limit under test.
    async fn start_with(tweak: impl FnOnce(&mut Config)) -> Bot {
        Bot::launch(tweak).await
    }

    fn ask(&self, question: &str, invoker: &Invoker) -> u64 {
        self.command("ask", fixtures::ask_options(question, None), invoker)
    }

    /// Sends `content` as a message mentioning the bot and returns the bot's reply.
    async fn mention(&self, user: u64, content: &str) -> Option<Recorded> {
        let id = self.fake.next_id();
        let content = format!("<@{BOT_USER_ID}> {content}");
        self.fake.send_message(fixtures::message(
            id,
            fixtures::user(user, false),
            &content,
            true,
            &[BOT_USER_ID],
        ));
        let path = format!("/api/v10/channels/{CHANNEL_ID}/messages");
        let id = id.to_string();
        self.fake
            .wait_for_request(
                |r| r.is("POST", &path) && r.body["message_reference"]["message_id"] == json!(id),
                WAIT,
            )
            .await
    }
}

fn is_ephemeral(data: &Value) -> bool {
    data["flags"].as_u64().unwrap_or(0) & EPHEMERAL == EPHEMERAL
}

/// Citations in a rendered answer: each quoted passage ends with one `— *Article › …*` line.
fn citations(text: &str) -> usize {
    text.lines().filter(|l| l.starts_with("— *")).count()
}

/// The note the engine adds to a cut question, as the user reads it.
fn long_note(limit: usize) -> String {
    format!("Your message was long, so I searched using its first {limit} characters.")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_question_is_answered_from_its_first_part_and_the_reply_says_so() {
    scenario(async {
        let bot = Bot::start_with(|_| {}).await;
        let limit = bot.engine.config().limits.max_question_chars;
        // 10,000 characters (over Discord's 6,000 for an option, so the worst a fake can send).
        let question: String = format!("{QUESTION} ")
            .chars()
            .cycle()
            .take(10_000)
            .collect();
        let data = bot.data(bot.ask(&question, &fixtures::member(31))).await;
        let text = description(&data);
        assert!(
            text.contains(&long_note(limit)),
            "no note about the cut: {text}"
        );
        assert!(
            citations(&text) >= 1,
            "still answered from the first part: {text}"
        );

        // Exactly at the limit: no note.
        let exact: String = format!("{QUESTION} ").chars().cycle().take(limit).collect();
        let text = description(&bot.data(bot.ask(&exact, &fixtures::member(31))).await);
        assert!(!text.contains("Your message was long"), "{text}");

        // By mention too (Discord caps messages at 2,000 characters, 4,000 with Nitro).
        let long_mention: String = format!("{QUESTION} ").chars().cycle().take(1_900).collect();
        let reply = bot.mention(32, &long_mention).await.expect("a reply");
        assert!(
            description(&reply.body).contains(&long_note(limit)),
            "{}",
            reply.body
        );
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_more_quotes_than_max_passages() {
    scenario(async {
        // A question the bundled knowledge answers with two passages by default.
        let question = "whats the best massage for knots in my back";
        for max in [2, 1] {
            let bot = Bot::start_with(|c| c.answer.max_passages = max).await;
            let expected = bot.engine.ask(question);
            assert_eq!(expected.passages.len(), max, "two fit; the setting decides");
            let text = description(&bot.data(bot.ask(question, &fixtures::member(34))).await);
            assert_eq!(citations(&text), expected.passages.len(), "{text}");
            bot.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_rate_limit_a_polite_note_then_answers_again() {
    scenario(async {
        let bot = Bot::start_with(|c| {
            c.discord.rate_limit.max_requests = 1;
            c.discord.rate_limit.per_seconds = 2;
        })
        .await;
        let user = fixtures::member(35);
        assert!(description(&bot.data(bot.ask(QUESTION, &user)).await).contains("— *"));
        let data = bot.data(bot.ask(QUESTION, &user)).await;
        assert!(is_ephemeral(&data), "only the asker sees the note: {data}");
        let note = data["content"].as_str().unwrap_or_default();
        assert!(
            note.contains("Slow down") && note.contains("ask again in 2 s"),
            "says when to try again: {note}"
        );
        assert!(
            data["embeds"].as_array().is_none_or(Vec::is_empty),
            "no answer attached"
        );
        // Other commands count too (they are requests), with the same note.
        let id = bot.fake.next_id();
        bot.fake.send_interaction(fixtures::command_interaction(
            id,
            "topics",
            json!([]),
            &user,
        ));
        assert!(bot.data(id).await["content"]
            .as_str()
            .unwrap_or_default()
            .contains("Slow down"));
        // Once the window has passed, the same user is answered again.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let data = bot.data(bot.ask(QUESTION, &user)).await;
        assert!(description(&data).contains("— *"), "answered again: {data}");
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_question_gets_a_hint() {
    scenario(async {
        let bot = Bot::start_with(|_| {}).await;
        let data = bot.data(bot.ask("   \n ", &fixtures::member(36))).await;
        assert!(is_ephemeral(&data), "{data}");
        assert!(
            data["content"]
                .as_str()
                .unwrap_or_default()
                .contains("write a question"),
            "{data}"
        );
        let reply = bot.mention(36, "").await.expect("a reply");
        assert!(reply.body["content"]
            .as_str()
            .unwrap_or_default()
            .contains("Ask me a question"));
        bot.stop().await;
    })
    .await;
}
