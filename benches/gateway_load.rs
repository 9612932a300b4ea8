//! Load through the gateway: the real bot (`backrub::discord::run`, serenity and all) against
//! the fake Discord of the tests, on 127.0.0.1 only.
//!
//! ```sh
//! cargo bench --bench gateway_load                                    # 1,000 /ask, 50 users
//! cargo bench --bench gateway_load -- --interactions 1000 --users 50 --rate 200
//! cargo bench --bench gateway_load -- --rate 0                        # everything at once
//! taskset -c 0 cargo bench --bench gateway_load                       # emulate one core
//! cargo bench --bench gateway_load -- --csv /tmp/load.csv             # every sample
//! ```
//!
//! `--one-core`: there is no such flag; run the whole command under `taskset -c 0` instead.
//! Tokio sizes its worker pool from the CPUs the process may use, so the bot then runs on
//! one worker thread, sharing that core with the fake Discord, as on a one-vCPU host.
//!
//! # What it does
//! 1. Copies the bundled knowledge to a temporary folder and opens the engine on it (index
//!    built there; the repository's `index/` is not touched).
//! 2. Starts the fake Discord on its own one-thread tokio runtime, and the bot on a runtime
//!    built the way `backrub bot` builds it (multi-thread, one worker per usable CPU).
//!    The per-user rate limit is raised to 1,000,000 requests per 60 s: it still runs (its
//!    cost is part of the measurement) but never refuses; a "Slow down" reply would be
//!    counted as a failure below. No tracing subscriber is installed, so logging costs only
//!    the disabled-level checks.
//! 3. Sends `--interactions` `/ask` INTERACTION_CREATE events from `--users` simulated users
//!    (distinct user ids, guild members), questions drawn at random (fixed seed) from
//!    `tests/eval/dev.jsonl`. Pacing is open-loop: every user starts at t = 0 (a burst of
//!    `--users` events at once), then sends its next question after an exponentially
//!    distributed pause of mean `users / rate` seconds, whether or not it has been answered,
//!    so the whole run offers about `--rate` interactions per second. `--rate 0` sends all
//!    of them at once (the worst burst).
//! 4. For each interaction measures the time from the fake writing the INTERACTION_CREATE
//!    frame to the socket (after the WebSocket write returned) to the fake receiving
//!    `POST /interactions/{id}/{token}/callback`, matched by interaction id. An interaction
//!    with no callback 10 s after the last send is lost; one whose callback came after 3 s
//!    missed Discord's deadline.
//!
//! The fake sets TCP_NODELAY on its sockets: with Nagle's algorithm, a frame written right
//! after another waited for the bot's delayed ACK (~40 ms on Linux), which this bench first
//! measured as periodic 45 ms stalls that were the fake's, not the bot's.
//!
//! Output: sent, callbacks, lost, past 3 s, deferred (callback type 5: the engine took over
//! 2 s), non-answers (slow-down or apology), and p50/p90/p99/max latency.

#[path = "../tests/support/fake_discord.rs"]
mod fake_discord;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backrub::{Config, Engine};
use fake_discord::fixtures;
use fake_discord::{FakeDiscord, Recorded, GUILD_ID};
use serde_json::json;

const TOKEN: &str = "load-token";
/// Discord's deadline for the first response to an interaction.
const DEADLINE: Duration = Duration::from_secs(3);
/// How long after the last send a missing callback still counts as pending.
const GRACE: Duration = Duration::from_secs(10);
/// Far above what any simulated user sends: the limiter runs but never refuses.
const RATE_LIMIT_MAX: u32 = 1_000_000;
/// Seed for question choice and pauses (runs are repeatable).
const SEED: u64 = 0x0062_6163_6b72_7562;
/// First simulated user id (users are `USER_BASE..USER_BASE + users`).
const USER_BASE: u64 = 300_000_000_000_000_000;

struct Args {
    interactions: usize,
    users: usize,
    /// Offered interactions per second across all users; 0 = all at once.
    rate: f64,
    /// Write one line per interaction here (`scheduled_ms,written_ms,latency_ms`).
    csv: Option<PathBuf>,
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo bench --bench gateway_load -- [--interactions N] [--users U] [--rate R] [--csv FILE]\n\
         (R = offered /ask per second over all users, 0 = all at once; \
         run under `taskset -c 0` to emulate one core)"
    );
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut args = Args {
        interactions: 1000,
        users: 50,
        rate: 200.0,
        csv: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--interactions" => args.interactions = value().parse().unwrap_or_else(|_| usage()),
            "--users" => args.users = value().parse().unwrap_or_else(|_| usage()),
            "--rate" => args.rate = value().parse().unwrap_or_else(|_| usage()),
            "--csv" => args.csv = Some(PathBuf::from(value())),
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "--one-core" => {
                eprintln!("--one-core: run this command under `taskset -c 0` instead");
                std::process::exit(2);
            }
            _ => usage(),
        }
    }
    if args.users == 0 || args.interactions == 0 || args.rate < 0.0 || !args.rate.is_finite() {
        usage();
    }
    args
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn questions() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("tests/eval/dev.jsonl")).expect("dev set");
    let questions: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["question"].as_str().map(str::to_string))
        .collect();
    assert!(
        !questions.is_empty(),
        "no questions in tests/eval/dev.jsonl"
    );
    questions
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read knowledge") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The repository config over a temporary copy of the knowledge, pointed at the fake.
fn config_for(dir: &Path, fake: &FakeDiscord) -> Config {
    let mut config = Config::load(&root().join("config.toml")).expect("load config.toml");
    copy_dir(&config.knowledge_dir, &dir.join("knowledge"));
    config.knowledge_dir = dir.join("knowledge");
    config.index_dir = dir.join("index");
    config.gaps.db_path = dir.join("gaps.sqlite3");
    config.reload.watch = false;
    config.discord.proxy_url = Some(fake.http_url());
    config.discord.guild_id = Some(GUILD_ID);
    config.discord.shards = serde_json::from_value(json!("auto")).expect("shards");
    config.discord.rate_limit.max_requests = RATE_LIMIT_MAX;
    config.discord.rate_limit.per_seconds = 60;
    config.discord.log_message_text = false;
    config
}

/// One planned interaction: who, what, and when after the start (open loop).
struct Planned {
    user: u64,
    question: String,
    at: Duration,
}

/// Deals `n` interactions to `users` users round-robin; each user's sends are spaced by
/// exponential pauses of mean `users / rate` s, the first at t = 0.
fn plan(args: &Args, questions: &[String]) -> Vec<Planned> {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mean = if args.rate > 0.0 {
        args.users as f64 / args.rate
    } else {
        0.0
    };
    let mut next_at = vec![0.0_f64; args.users];
    let mut plan: Vec<Planned> = (0..args.interactions)
        .map(|i| {
            let u = i % args.users;
            let at = next_at[u];
            // Inverse transform sampling; 1 - f64() is in (0, 1], so ln is finite.
            next_at[u] += -mean * (1.0 - rng.f64()).ln();
            Planned {
                user: USER_BASE + u as u64,
                question: questions[rng.usize(..questions.len())].clone(),
                at: Duration::from_secs_f64(at),
            }
        })
        .collect();
    plan.sort_by_key(|p| p.at);
    plan
}

/// The interaction id in `/api/v10/interactions/{id}/{token}/callback`.
fn callback_id(r: &Recorded) -> Option<u64> {
    if r.method != "POST" || !r.path.ends_with("/callback") {
        return None;
    }
    let mut parts = r.path.strip_prefix("/api/v10/interactions/")?.split('/');
    parts.next()?.parse().ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank: the smallest value with at least p of the samples at or below it.
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() -> ExitCode {
    let args = parse_args();
    let questions = questions();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());

    // The fake Discord and the load driver: one thread of their own.
    let fake_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("fake-discord")
        .enable_all()
        .build()
        .expect("fake runtime");
    // The bot: as `backrub bot` builds it.
    let bot_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("bot runtime");

    let fake = fake_rt.block_on(FakeDiscord::start());
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config_for(dir.path(), &fake);
    let opened = Instant::now();
    let engine = Arc::new(Engine::open(config).expect("open the engine on the bundled knowledge"));
    eprintln!("engine ready in {}", ms(opened.elapsed()));

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = bot_rt.spawn(backrub::discord::run(
        Arc::clone(&engine),
        TOKEN.to_string(),
        async move {
            let _ = stopped.await;
        },
    ));
    let registered = fake_rt.block_on(fake.wait_for_request(
        |r| r.method == "PUT" && r.path.ends_with("/commands"),
        Duration::from_secs(20),
    ));
    if registered.is_none() {
        eprintln!("the bot never registered its commands");
        return ExitCode::FAILURE;
    }

    let plan = plan(&args, &questions);
    println!(
        "gateway_load: {} /ask from {} users, offered {}, {} usable CPU(s), rate limit {} per 60 s",
        args.interactions,
        args.users,
        if args.rate > 0.0 {
            format!("{:.0}/s open loop", args.rate)
        } else {
            "all at once".into()
        },
        cpus,
        RATE_LIMIT_MAX,
    );

    // Send on schedule; note how late the driver was (if it falls behind, the offered rate
    // was lower than asked and the numbers say so).
    let start = Instant::now();
    let (ids, max_lag) = fake_rt.block_on(async {
        let start = tokio::time::Instant::from_std(start);
        let mut ids = Vec::with_capacity(plan.len());
        let mut max_lag = Duration::ZERO;
        for p in &plan {
            tokio::time::sleep_until(start + p.at).await;
            max_lag = max_lag.max(start.elapsed().saturating_sub(p.at));
            let id = fake.next_id();
            fake.send_interaction(fixtures::command_interaction(
                id,
                "ask",
                fixtures::ask_options(&p.question, None),
                &fixtures::member(p.user),
            ));
            ids.push(id);
        }
        (ids, max_lag)
    });

    // Wait for every callback, or GRACE after the last send.
    fake_rt.block_on(async {
        let deadline = tokio::time::Instant::now() + GRACE;
        while fake.count_requests(|r| callback_id(r).is_some()) < ids.len()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });

    let mut callbacks: HashMap<u64, Recorded> = HashMap::new();
    for r in fake.requests() {
        if let Some(id) = callback_id(&r) {
            callbacks.entry(id).or_insert(r);
        }
    }
    let mut latencies = Vec::with_capacity(ids.len());
    let mut csv = String::from("scheduled_ms,written_ms,latency_ms\n");
    let (mut lost, mut late, mut deferred, mut not_answers, mut unwritten) = (0, 0, 0, 0, 0);
    for id in &ids {
        let Some(callback) = callbacks.get(id) else {
            lost += 1;
            continue;
        };
        let Some(written) = fake.written_at(*id) else {
            unwritten += 1;
            continue;
        };
        let latency = callback.at.saturating_duration_since(written);
        if latency > DEADLINE {
            late += 1;
        }
        match callback.body["type"].as_u64() {
            Some(5) => deferred += 1,
            _ if !callback.body["data"]["embeds"][0].is_object() => not_answers += 1,
            _ => {}
        }
        latencies.push(latency);
        let p = &plan[latencies.len() - 1 + lost + unwritten];
        csv.push_str(&format!(
            "{:.3},{:.3},{:.3}\n",
            p.at.as_secs_f64() * 1e3,
            written.saturating_duration_since(start).as_secs_f64() * 1e3,
            latency.as_secs_f64() * 1e3
        ));
    }
    if let Some(path) = &args.csv {
        std::fs::write(path, csv).expect("write --csv");
    }
    latencies.sort();

    println!("sent               {}", ids.len());
    println!("callbacks          {}", callbacks.len());
    println!("lost               {lost}");
    println!("past 3 s           {late}");
    println!("deferred           {deferred}");
    println!("not an answer      {not_answers} (slow-down or apology)");
    if unwritten > 0 {
        println!("no write time      {unwritten} (measurement gap, not counted)");
    }
    println!("driver max lag     {}", ms(max_lag));
    if !latencies.is_empty() {
        println!(
            "INTERACTION_CREATE written → callback received: p50 {}  p90 {}  p99 {}  max {}",
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.90)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies[latencies.len() - 1]),
        );
    }

    let _ = stop.send(());
    match bot_rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), bot).await }) {
        Ok(Ok(Ok(()))) => {}
        other => eprintln!("the bot did not stop cleanly: {other:?}"),
    }
    drop(fake);
    if lost == 0 && late == 0 && not_answers == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
