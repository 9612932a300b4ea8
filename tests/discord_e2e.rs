//! End-to-end tests of the Discord adapter: the real serenity client, started through
//! `backrub::discord::run` exactly as `backrub bot` does, against a fake Discord on 127.0.0.1
//! (REST through `discord.proxy_url`, plus a WebSocket gateway), answering from a real
//! [`Engine`] built on a temporary copy of the knowledge folder.
//!
//! Each scenario starts its own fake, engine and bot, has a hard timeout, and asserts on the
//! requests the bot actually sent.
#![cfg(feature = "discord")]

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use backrub::config::Config;
use serde_json::{json, Value};
use support::fake_discord::fixtures::{self, Invoker};
use support::fake_discord::{
    FakeDiscord, Recorded, APPLICATION_ID, BOT_USER_ID, CHANNEL_ID, GUILD_ID,
};

/// The repository's config file; the tests override paths and `[discord]` settings.
const TOKEN: &str = "test-token";
const ADMIN_ROLE_ID: u64 = 500_000_000_000_000_001;
/// Hard limit per scenario: nothing may hang the test run.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(10);
const EPHEMERAL: u64 = 1 << 6;
const MANAGE_GUILD: u64 = 1 << 5;

const QUESTION: &str = "Is deep tissue massage good for lower back pain?";
const RED_FLAG_QUESTION: &str =
    "Since yesterday my lower back hurts, I can't pee and I have numbness around my groin and inner thighs";

use support::bot::{description, TestBot as Bot};

async fn scenario(body: impl Future<Output = ()>) {
    support::bot::scenario(SCENARIO_TIMEOUT, body).await
}

impl Bot {
    async fn start() -> Bot {
        Bot::start_with(|_| {}).await
    }

    /// The shared test bot, with the admin role of these tests configured.
    async fn start_with(tweak: impl FnOnce(&mut Config)) -> Bot {
        Bot::launch(|c| {
            c.discord.admin_role_ids = vec![ADMIN_ROLE_ID];
            tweak(c)
        })
        .await
    }

    fn next_id(&self) -> u64 {
        self.fake.next_id()
    }

    fn ask(&self, question: &str, private: Option<bool>, invoker: &Invoker) -> u64 {
        self.command("ask", fixtures::ask_options(question, private), invoker)
    }

    /// The bot's reply to channel message `id`.
    async fn reply_to(&self, id: u64, timeout: Duration) -> Option<Recorded> {
        let path = format!("/api/v10/channels/{CHANNEL_ID}/messages");
        let id = id.to_string();
        self.fake
            .wait_for_request(
                |r| r.is("POST", &path) && r.body["message_reference"]["message_id"] == json!(id),
                timeout,
            )
            .await
    }

    /// What the engine itself answers (the reference the rendered message is checked against).
    fn expected(&self, question: &str) -> backrub::answer::Answer {
        self.engine.ask(question)
    }
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// Asserts every Discord limit on a message body (content, each embed part, embed total).
fn assert_within_limits(message: &Value) {
    assert!(chars(&message["content"]) <= 2000, "content too long");
    let mut total = 0;
    for embed in message["embeds"].as_array().into_iter().flatten() {
        assert!(chars(&embed["title"]) <= 256, "title too long");
        assert!(chars(&embed["description"]) <= 4096, "description too long");
        assert!(chars(&embed["footer"]["text"]) <= 2048, "footer too long");
        total +=
            chars(&embed["title"]) + chars(&embed["description"]) + chars(&embed["footer"]["text"]);
        for field in embed["fields"].as_array().into_iter().flatten() {
            assert!(
                chars(&field["name"]) <= 256 && chars(&field["value"]) <= 1024,
                "field too long"
            );
            total += chars(&field["name"]) + chars(&field["value"]);
        }
    }
    assert!(total <= 6000, "embeds total {total} > 6000");
}

fn assert_pings_nobody(message: &Value) {
    let mentions = &message["allowed_mentions"];
    assert_eq!(mentions["parse"], json!([]), "allowed_mentions: {mentions}");
    assert!(mentions["users"].as_array().is_none_or(Vec::is_empty));
    assert!(mentions["roles"].as_array().is_none_or(Vec::is_empty));
}

fn footer(message: &Value) -> String {
    message["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The first `n` characters of `s`, to compare with text that may have been cut with "…".
fn prefix(s: &str, n: usize) -> String {
    s.trim().chars().take(n).collect()
}

/// Checks a rendered answer against the engine's own answer: escalation first, advice and
/// disclaimer present, a cited passage when the engine found one.
fn assert_renders(message: &Value, expected: &backrub::answer::Answer) {
    assert_within_limits(message);
    assert_pings_nobody(message);
    let text = description(message);
    if let Some(escalation) = &expected.escalation {
        assert!(
            text.starts_with(&prefix(escalation, 40)),
            "escalation not first: {text}"
        );
        assert!(
            message["embeds"][0]["title"].is_null(),
            "nothing may precede the escalation"
        );
    }
    assert!(
        text.contains(&prefix(&expected.advice, 40)),
        "advice missing: {text}"
    );
    assert!(
        footer(message).contains(&prefix(&expected.disclaimer, 40)),
        "disclaimer missing"
    );
    if expected.answered {
        for quote in &expected.passages {
            assert!(
                text.contains(&prefix(&quote.path, 40)),
                "citation {:?} missing: {text}",
                quote.path
            );
        }
        assert!(
            text.contains("\n> ") || text.starts_with("> "),
            "no quoted passage: {text}"
        );
    }
}

#[test]
fn fixtures_deserialize_into_serenity_models() {
    use serenity::model::application::{Command, Interaction};
    use serenity::model::channel::Message;
    use serenity::model::event::{Event, GatewayEvent};
    use serenity::model::gateway::BotGateway;

    let parse = |frame: Value| -> Event {
        match serde_json::from_value::<GatewayEvent>(frame.clone()) {
            Ok(GatewayEvent::Dispatch(_, event)) => event,
            Ok(other) => panic!("not a dispatch: {other:?}"),
            Err(e) => panic!("serenity would drop {frame}: {e}"),
        }
    };
    let ready = parse(fixtures::dispatch(
        "READY",
        1,
        fixtures::ready("ws://127.0.0.1:1", &json!([0, 1])),
    ));
    assert!(
        matches!(ready, Event::Ready(r) if r.ready.user.id.get() == BOT_USER_ID && r.ready.application.id.get() == APPLICATION_ID)
    );

    let invokers = [
        fixtures::member(1),
        Invoker::Member {
            user_id: 2,
            roles: vec![ADMIN_ROLE_ID],
            permissions: MANAGE_GUILD,
        },
        Invoker::Dm { user_id: 3 },
    ];
    for invoker in &invokers {
        let d = fixtures::command_interaction(
            42,
            "ask",
            fixtures::ask_options("q", Some(true)),
            invoker,
        );
        match parse(fixtures::dispatch("INTERACTION_CREATE", 2, d)) {
            Event::InteractionCreate(e) => match e.interaction {
                Interaction::Command(c) => {
                    assert_eq!(c.data.name, "ask");
                    assert_eq!(c.data.options().len(), 2);
                    assert_ne!(c.user.id.get(), 0, "user is filled from member in guilds");
                    if let Invoker::Member { permissions, .. } = invoker {
                        assert_eq!(
                            c.member.as_ref().unwrap().permissions.unwrap().bits(),
                            *permissions
                        );
                    }
                }
                other => panic!("not a command: {other:?}"),
            },
            other => panic!("not an interaction: {other:?}"),
        }
    }
    for guild in [true, false] {
        let d = fixtures::message(
            43,
            fixtures::user(5, false),
            "<@1> hi",
            guild,
            &[BOT_USER_ID],
        );
        match parse(fixtures::dispatch("MESSAGE_CREATE", 3, d)) {
            Event::MessageCreate(e) => {
                assert_eq!(e.message.guild_id.is_some(), guild);
                assert_eq!(e.message.mentions[0].id.get(), BOT_USER_ID);
            }
            other => panic!("not a message: {other:?}"),
        }
    }

    let message: Message = serde_json::from_value(fixtures::message_response(
        CHANNEL_ID,
        &json!({"content": "x"}),
    ))
    .unwrap();
    assert_eq!(message.content, "x");
    let definitions = serde_json::to_value(backrub::discord::commands::definitions()).unwrap();
    let commands: Vec<Command> =
        serde_json::from_value(fixtures::commands_echo(&definitions, Some("7"))).unwrap();
    assert_eq!(commands.len(), 6);
    let gateway: BotGateway = serde_json::from_value(fixtures::bot_gateway("ws://x", 2)).unwrap();
    assert_eq!(gateway.shards, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_and_registers_guild_commands_with_reindex_admin_gated() {
    scenario(async {
        let bot = Bot::start().await;
        let requests = bot.fake.requests();
        assert!(requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bot test-token")));
        assert!(
            requests.iter().any(|r| r.is("GET", "/api/v10/gateway/bot")),
            "auto sharding asks Discord"
        );
        let put = requests
            .iter()
            .find(|r| {
                r.is(
                    "PUT",
                    &format!("/api/v10/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands"),
                )
            })
            .expect("guild commands registered");
        let names: Vec<&str> = put
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["ask", "reindex", "gaps", "topics", "redflags", "help"]
        );
        let reindex = &put.body[1];
        assert_eq!(
            reindex["default_member_permissions"],
            json!(MANAGE_GUILD.to_string())
        );
        assert_eq!(reindex["dm_permission"], json!(false));

        let identify = bot
            .fake
            .wait_for_frame(|f| f["op"] == 2, WAIT)
            .await
            .expect("IDENTIFY");
        assert_eq!(identify["d"]["token"], json!("Bot test-token"));
        let intents = identify["d"]["intents"].as_u64().unwrap();
        assert_eq!(
            intents,
            1 | (1 << 9) | (1 << 12),
            "GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES"
        );
        assert_eq!(intents & (1 << 15), 0, "no MESSAGE_CONTENT");
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_globally_without_guild_id_and_runs_a_shard_range() {
    scenario(async {
        let bot = Bot::start_with(|c| {
            c.discord.guild_id = None;
            c.discord.shards = backrub::config::Shards::Range {
                start: 1,
                end: 2,
                total: 2,
            };
        })
        .await;
        let requests = bot.fake.requests();
        assert!(requests.iter().any(|r| r.is(
            "PUT",
            &format!("/api/v10/applications/{APPLICATION_ID}/commands")
        )));
        assert!(
            !requests.iter().any(|r| r.path.ends_with("/gateway/bot")),
            "an explicit range needs no recommendation"
        );
        let identifies: Vec<Value> = bot
            .fake
            .gateway_frames()
            .into_iter()
            .filter(|f| f["op"] == 2)
            .collect();
        assert_eq!(identifies.len(), 1, "exactly shard 1 of 2 in this process");
        assert_eq!(identifies[0]["d"]["shard"], json!([1, 2]));
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_is_answered_within_3s_with_passage_advice_and_disclaimer() {
    scenario(async {
        let bot = Bot::start().await;
        let expected = bot.expected(QUESTION);
        assert!(
            expected.answered,
            "the test knowledge should answer {QUESTION:?}"
        );

        let sent = Instant::now();
        let id = bot.ask(QUESTION, None, &fixtures::member(11));
        let callback = bot.callback(id).await;
        assert!(
            sent.elapsed() < Duration::from_secs(3),
            "took {:?}",
            sent.elapsed()
        );
        assert_eq!(
            callback.body["type"],
            json!(4),
            "a message response, not deferred"
        );
        let data = &callback.body["data"];
        assert_eq!(
            data["flags"].as_u64().unwrap_or(0) & EPHEMERAL,
            0,
            "public by default"
        );
        assert_renders(data, &expected);

        // A slash command in a DM (no member) is answered the same way.
        let id = bot.ask(QUESTION, None, &Invoker::Dm { user_id: 11 });
        assert_renders(&bot.callback(id).await.body["data"], &expected);

        // `private: true` makes it ephemeral.
        let id = bot.ask(QUESTION, Some(true), &fixtures::member(11));
        let callback = bot.callback(id).await;
        assert_eq!(
            callback.body["data"]["flags"].as_u64().unwrap_or(0) & EPHEMERAL,
            EPHEMERAL
        );
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn red_flag_ask_escalates_first() {
    scenario(async {
        let bot = Bot::start().await;
        let expected = bot.expected(RED_FLAG_QUESTION);
        assert!(
            expected.escalation.is_some(),
            "the engine should escalate {RED_FLAG_QUESTION:?}"
        );
        let id = bot.ask(RED_FLAG_QUESTION, None, &fixtures::member(12));
        let callback = bot.callback(id).await;
        assert_renders(&callback.body["data"], &expected);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_and_role_mentions_in_a_question_ping_nobody() {
    scenario(async {
        let bot = Bot::start().await;
        let question =
            format!("@everyone @here <@&{ADMIN_ROLE_ID}> <@11> is massage safe for back pain?");
        let id = bot.ask(&question, None, &fixtures::member(13));
        let callback = bot.callback(id).await;
        assert_pings_nobody(&callback.body["data"]);
        assert_eq!(
            callback.body["data"]["allowed_mentions"]["replied_user"],
            json!(false)
        );

        let message_id = bot.next_id();
        let content = format!("<@{BOT_USER_ID}> @everyone is massage safe?");
        bot.fake.send_message(fixtures::message(
            message_id,
            fixtures::user(13, false),
            &content,
            true,
            &[BOT_USER_ID],
        ));
        let reply = bot
            .reply_to(message_id, WAIT)
            .await
            .expect("reply to the mention");
        assert_pings_nobody(&reply.body);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_is_refused_for_a_member() {
    scenario(async {
        let bot = Bot::start().await;
        let id = bot.command("reindex", json!([]), &fixtures::member(14));
        let callback = bot.callback(id).await;
        assert_eq!(
            callback.body["type"],
            json!(4),
            "answered at once, not deferred"
        );
        let data = &callback.body["data"];
        assert_eq!(
            data["flags"].as_u64().unwrap_or(0) & EPHEMERAL,
            EPHEMERAL,
            "refusal is ephemeral"
        );
        assert!(
            data["content"].as_str().unwrap().contains("admins"),
            "{data}"
        );
        assert_pings_nobody(data);
        // A DM has no member permissions: refused too.
        let id = bot.command("reindex", json!([]), &Invoker::Dm { user_id: 14 });
        assert_eq!(
            bot.callback(id).await.body["data"]["flags"]
                .as_u64()
                .unwrap_or(0)
                & EPHEMERAL,
            EPHEMERAL
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !bot.fake.requests().iter().any(|r| r.method == "PATCH"),
            "nothing was rebuilt"
        );
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_is_done_for_an_admin_and_an_admin_role() {
    scenario(async {
        let bot = Bot::start().await;
        let admins = [
            Invoker::Member {
                user_id: 15,
                roles: vec![],
                permissions: MANAGE_GUILD,
            },
            Invoker::Member {
                user_id: 16,
                roles: vec![ADMIN_ROLE_ID],
                permissions: 1 << 11,
            },
        ];
        for admin in &admins {
            let id = bot.command("reindex", json!([]), admin);
            let callback = bot.callback(id).await;
            assert_eq!(callback.body["type"], json!(5), "deferred first");
            assert_eq!(
                callback.body["data"]["flags"].as_u64().unwrap_or(0) & EPHEMERAL,
                EPHEMERAL
            );
            let edit = bot.edit(id).await;
            assert_within_limits(&edit.body);
            assert_pings_nobody(&edit.body);
            assert_eq!(
                edit.body["embeds"][0]["title"],
                json!("Index rebuilt"),
                "{}",
                edit.body
            );
            let report = description(&edit.body).to_lowercase();
            assert!(report.contains("indexed"), "the engine's report: {report}");
        }
        // The rebuilt index still answers.
        let id = bot.ask(QUESTION, None, &fixtures::member(17));
        assert_eq!(bot.callback(id).await.body["type"], json!(4));
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_and_a_dm_are_answered_as_replies() {
    scenario(async {
        let bot = Bot::start().await;
        let expected = bot.expected(QUESTION);
        for (guild, content) in [
            (true, format!("<@{BOT_USER_ID}> {QUESTION}")),
            (false, QUESTION.to_string()),
        ] {
            let mentions: &[u64] = if guild { &[BOT_USER_ID] } else { &[] };
            let id = bot.next_id();
            bot.fake.send_message(fixtures::message(
                id,
                fixtures::user(18, false),
                &content,
                guild,
                mentions,
            ));
            let reply = bot.reply_to(id, WAIT).await.expect("a reply");
            assert_eq!(
                reply.body["message_reference"]["message_id"],
                json!(id.to_string())
            );
            assert_renders(&reply.body, &expected);
            assert_eq!(reply.body["allowed_mentions"]["replied_user"], json!(false));
        }
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_messages_and_unmentioned_messages_are_ignored() {
    scenario(async {
        let bot = Bot::start().await;
        let content = format!("<@{BOT_USER_ID}> {QUESTION}");
        let from_bot = bot.next_id();
        bot.fake.send_message(fixtures::message(
            from_bot,
            fixtures::user(19, true),
            &content,
            true,
            &[BOT_USER_ID],
        ));
        let from_self = bot.next_id();
        bot.fake.send_message(fixtures::message(
            from_self,
            fixtures::user(BOT_USER_ID, true),
            QUESTION,
            false,
            &[],
        ));
        let unmentioned = bot.next_id();
        bot.fake.send_message(fixtures::message(
            unmentioned,
            fixtures::user(20, false),
            QUESTION,
            true,
            &[],
        ));
        // A human's mention sent last is answered; by then the earlier ones were handled.
        let human = bot.next_id();
        bot.fake.send_message(fixtures::message(
            human,
            fixtures::user(20, false),
            &content,
            true,
            &[BOT_USER_ID],
        ));
        bot.reply_to(human, WAIT)
            .await
            .expect("the human is answered");
        for ignored in [from_bot, from_self, unmentioned] {
            assert!(
                bot.reply_to(ignored, Duration::from_millis(300))
                    .await
                    .is_none(),
                "answered {ignored}"
            );
        }
        let sends = bot
            .fake
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/messages") && r.method == "POST")
            .count();
        assert_eq!(sends, 1);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_answer_stays_within_limits() {
    scenario(async {
        let bot = Bot::start().await;
        // Many topic words (and "long", which makes the stub engine quote the question three
        // times): the longest answer this knowledge gives.
        let question = "long ".to_string()
            + &"massage back pain muscle stretching exercise posture sciatica numbness fever tissue ".repeat(30);
        let expected = bot.expected(&question);
        let id = bot.ask(&question, None, &fixtures::member(21));
        let callback = bot.callback(id).await;
        assert_renders(&callback.body["data"], &expected);
        let id = bot.next_id();
        let content = format!("<@{BOT_USER_ID}> {question}");
        bot.fake.send_message(fixtures::message(id, fixtures::user(21, false), &content, true, &[BOT_USER_ID]));
        assert_renders(&bot.reply_to(id, WAIT).await.expect("reply").body, &expected);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_thousand_character_question_is_answered_within_3s() {
    scenario(async {
        let bot = Bot::start().await;
        let question: String = "Does massage help my aching lower back? 背中 🚑 "
            .chars()
            .cycle()
            .take(10_000)
            .collect();
        let expected = bot.expected(&question);
        let sent = Instant::now();
        let id = bot.ask(&question, None, &fixtures::member(22));
        let callback = bot.callback(id).await;
        assert!(
            sent.elapsed() < Duration::from_secs(3),
            "took {:?}",
            sent.elapsed()
        );
        assert_renders(&callback.body["data"], &expected);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_rate_limit_gets_an_ephemeral_slow_down() {
    scenario(async {
        let bot = Bot::start_with(|c| {
            c.discord.rate_limit.max_requests = 2;
            c.discord.rate_limit.per_seconds = 60;
        })
        .await;
        let user = fixtures::member(23);
        for _ in 0..2 {
            let id = bot.ask(QUESTION, None, &user);
            assert!(bot.callback(id).await.body["data"]["embeds"][0].is_object());
        }
        let id = bot.ask(QUESTION, None, &user);
        let data = bot.callback(id).await.body["data"].clone();
        assert_eq!(data["flags"].as_u64().unwrap_or(0) & EPHEMERAL, EPHEMERAL);
        assert!(
            data["content"].as_str().unwrap().contains("Slow down"),
            "{data}"
        );
        assert_pings_nobody(&data);
        // Another user is not affected.
        let id = bot.ask(QUESTION, None, &fixtures::member(24));
        assert!(bot.callback(id).await.body["data"]["embeds"][0].is_object());
        // Over the limit by mention: one note, then silence (nothing queued).
        let content = format!("<@{BOT_USER_ID}> {QUESTION}");
        let mention = |id: u64| {
            fixtures::message(
                id,
                fixtures::user(26, false),
                &content,
                true,
                &[BOT_USER_ID],
            )
        };
        for _ in 0..2 {
            let id = bot.next_id();
            bot.fake.send_message(mention(id));
            let reply = bot.reply_to(id, WAIT).await.expect("an answer");
            assert!(reply.body["embeds"][0].is_object());
        }
        let first = bot.next_id();
        bot.fake.send_message(mention(first));
        let note = bot.reply_to(first, WAIT).await.expect("a slow-down note");
        assert!(note.body["content"].as_str().unwrap().contains("Slow down"));
        assert_pings_nobody(&note.body);
        let second = bot.next_id();
        bot.fake.send_message(mention(second));
        assert!(bot
            .reply_to(second, Duration::from_millis(500))
            .await
            .is_none());
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_redflags_and_help_answer() {
    scenario(async {
        let bot = Bot::start().await;
        for name in ["topics", "redflags", "help"] {
            let id = bot.command(name, json!([]), &fixtures::member(25));
            let callback = bot.callback(id).await;
            assert_eq!(callback.body["type"], json!(4));
            assert_within_limits(&callback.body["data"]);
            assert_pings_nobody(&callback.body["data"]);
            assert!(!description(&callback.body["data"]).is_empty(), "{name}");
        }
        let topics = bot.engine.topics();
        let id = bot.command("topics", json!([]), &fixtures::member(25));
        let text = description(&bot.callback(id).await.body["data"]);
        assert!(text.contains(&prefix(&topics[0], 40)));
        bot.stop().await;
    })
    .await;
}

/// Everything this test binary logs, down to debug level.
fn captured_logs() -> &'static std::sync::Mutex<Vec<u8>> {
    support::logs::captured_logs("debug")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn question_text_is_not_logged_by_default() {
    scenario(async {
        let logs = captured_logs();
        let bot = Bot::start().await;
        let marker = "Zqxwv";
        let question = format!("{marker} is massage good for back pain?");
        let id = bot.ask(&question, None, &fixtures::member(27));
        bot.callback(id).await;
        let message_id = bot.next_id();
        let content = format!("<@{BOT_USER_ID}> {question}");
        bot.fake.send_message(fixtures::message(
            message_id,
            fixtures::user(27, false),
            &content,
            true,
            &[BOT_USER_ID],
        ));
        bot.reply_to(message_id, WAIT).await.expect("a reply");
        bot.stop().await;
        let text = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
        assert!(text.contains("answered"), "the capture works: {text}");
        assert!(
            !text.contains(marker),
            "a question leaked into the logs (debug level)"
        );
        assert!(!text.contains(TOKEN), "the token leaked into the logs");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_send_gets_an_apology_and_the_bot_keeps_working() {
    scenario(async {
        let bot = Bot::start().await;
        let id = bot.next_id();
        // The answer fails to send; the handler logs it and apologises (the second attempt).
        bot.fake.fail_next(&format!("/interactions/{id}/"), 1);
        bot.fake.send_interaction(fixtures::command_interaction(
            id,
            "ask",
            fixtures::ask_options(QUESTION, None),
            &fixtures::member(28),
        ));
        let path = FakeDiscord::callback_path(id);
        let apology = bot
            .fake
            .wait_for_request(
                |r| {
                    r.is("POST", &path)
                        && r.body["data"]["content"]
                            .as_str()
                            .is_some_and(|c| c.starts_with("Sorry"))
                },
                WAIT,
            )
            .await
            .expect("an apology");
        assert_eq!(
            apology.body["data"]["flags"].as_u64().unwrap_or(0) & EPHEMERAL,
            EPHEMERAL
        );
        assert_pings_nobody(&apology.body["data"]);
        assert_eq!(
            bot.fake
                .requests()
                .iter()
                .filter(|r| r.is("POST", &path))
                .count(),
            2
        );
        // Still answering.
        let id = bot.ask(QUESTION, None, &fixtures::member(28));
        assert!(bot.callback(id).await.body["data"]["embeds"][0].is_object());
        bot.stop().await;
    })
    .await;
}
