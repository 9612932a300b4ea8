//! Scale benchmark: how indexing, start-up, memory and answer latency grow with the corpus.
//!
//! ```sh
//! cargo bench --bench scale                       # bundled, 100, 1,000, 10,000 articles
//! cargo bench --bench scale -- --sizes 100,1000   # a quicker run
//! taskset -c 0 cargo bench --bench scale          # pin to one core
//! ```
//!
//! For each corpus it reports: full reindex time; start-up to ready with a fresh index on
//! disk and resident memory after answering (both measured in a child process, so sizes do
//! not share memory); p50/p99 latency of a full answer (triage + retrieval + composition)
//! and of a bare Tantivy top-10 search for the same question over the same index, and
//! their ratio. Questions are the development evaluation set, asked round-robin.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use backrub::index::{stem_analyzer, IndexStore};
use backrub::retrieve::bare_query;
use backrub::{Config, Engine};
use tantivy::collector::TopDocs;

const ASKS: usize = 3000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn questions() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("tests/eval/dev.jsonl")).expect("dev set");
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["question"].as_str().map(str::to_string))
        .collect()
}

/// A config over `knowledge` with its index in `index`, rules and synonyms from the repo.
fn config_for(dir: &Path) -> Config {
    let mut config = Config::load(&root().join("config.toml")).expect("config");
    config.knowledge_dir = dir.join("knowledge");
    config.index_dir = dir.join("index");
    config
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn fmt_us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// Child mode: open the engine (index already fresh), answer, print start-up and memory.
fn child(dir: &Path) {
    let started = Instant::now();
    let engine = Engine::open(config_for(dir)).expect("engine");
    let ready = started.elapsed();
    for q in questions().iter().cycle().take(500) {
        std::hint::black_box(engine.ask(q));
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0)
    };
    println!(
        "{} {} {}",
        ready.as_micros(),
        field("VmRSS:"),
        field("VmHWM:")
    );
}

struct Row {
    name: String,
    articles: usize,
    passages: usize,
    reindex: Duration,
    startup: Duration,
    rss_mb: f64,
    peak_mb: f64,
    answer: (Duration, Duration),
    bare: (Duration, Duration),
}

fn measure(name: &str, dir: &Path, articles: usize) -> Row {
    let config = config_for(dir);
    let report = backrub::engine::rebuild(&config).expect("reindex");
    // Child process: start-up with the fresh index, and memory.
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .arg(dir)
        .output()
        .expect("child runs");
    let line = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = line
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(
        nums.len(),
        3,
        "child said: {line} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let engine = Engine::open(config.clone()).expect("engine");
    let qs = questions();
    for q in &qs {
        std::hint::black_box(engine.ask(q)); // warm up
    }
    let mut answer: Vec<Duration> = Vec::with_capacity(ASKS);
    for q in qs.iter().cycle().take(ASKS) {
        let t = Instant::now();
        std::hint::black_box(engine.ask(q));
        answer.push(t.elapsed());
    }
    // Bare search: tokenize, one term query per word over body and heading, top 10. No
    // stored-document access, no triage, no composition: the floor.
    let index = IndexStore::new(&config.index_dir)
        .open_current()
        .expect("index");
    let searcher = index.reader.searcher();
    let mut analyzer = stem_analyzer();
    let mut bare: Vec<Duration> = Vec::with_capacity(ASKS);
    for q in qs.iter().cycle().take(ASKS) {
        let t = Instant::now();
        let query = bare_query(&index.fields, &mut analyzer, q);
        let hits = searcher
            .search(&query, &TopDocs::with_limit(10).order_by_score())
            .unwrap();
        std::hint::black_box(hits);
        bare.push(t.elapsed());
    }
    answer.sort();
    bare.sort();
    Row {
        name: name.to_string(),
        articles,
        passages: report.passages,
        reindex: report.took,
        startup: Duration::from_micros(nums[0]),
        rss_mb: nums[1] as f64 / 1024.0,
        peak_mb: nums[2] as f64 / 1024.0,
        answer: (percentile(&answer, 0.5), percentile(&answer, 0.99)),
        bare: (percentile(&bare, 0.5), percentile(&bare, 0.99)),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[i + 1]));
        return;
    }
    let sizes: Vec<usize> = args
        .iter()
        .position(|a| a == "--sizes")
        .map(|i| {
            args[i + 1]
                .split(',')
                .map(|s| s.trim().parse().expect("--sizes N,N,..."))
                .collect()
        })
        .unwrap_or_else(|| vec![100, 1000, 10_000]);

    let mut rows = Vec::new();
    // The bundled knowledge.
    let tmp = tempfile::tempdir().unwrap();
    let k = tmp.path().join("knowledge");
    std::fs::create_dir_all(&k).unwrap();
    for entry in std::fs::read_dir(root().join("knowledge")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, k.join(p.file_name().unwrap())).unwrap();
    }
    let articles = backrub::knowledge::article_files(&k).unwrap().len();
    eprintln!("measuring bundled knowledge...");
    rows.push(measure("bundled", tmp.path(), articles));
    for n in sizes {
        let tmp = tempfile::tempdir().unwrap();
        let k = tmp.path().join("knowledge");
        backrub::corpus::generate(&k, n, 42).unwrap();
        for extra in ["synonyms.toml", "red-flags.toml"] {
            std::fs::copy(root().join("knowledge").join(extra), k.join(extra)).unwrap();
        }
        eprintln!("measuring {n} articles...");
        rows.push(measure(&format!("synthetic {n}"), tmp.path(), n));
    }
    println!("| corpus | articles | passages | reindex | start-up | RSS after 500 answers (peak) | answer p50 / p99 | bare search p50 / p99 | p50 ratio |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.2} s | {:.0} ms | {:.0} MB ({:.0} MB) | {} / {} | {} / {} | {:.1}× |",
            r.name,
            r.articles,
            r.passages,
            r.reindex.as_secs_f64(),
            r.startup.as_secs_f64() * 1e3,
            r.rss_mb,
            r.peak_mb,
            fmt_us(r.answer.0),
            fmt_us(r.answer.1),
            fmt_us(r.bare.0),
            fmt_us(r.bare.1),
            r.answer.0.as_secs_f64() / r.bare.0.as_secs_f64().max(1e-9),
        );
    }
}
