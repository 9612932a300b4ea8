//! Criterion benchmark of one answer on the bundled knowledge, beside the floor: a bare
//! Tantivy top-10 search for the same question over the same index.
//!
//! ```sh
//! cargo bench --no-default-features --bench answer
//! ```
//! (`benches/scale.rs` covers larger corpora, p99, start-up and memory.)

use std::path::PathBuf;

use backrub::index::{stem_analyzer, IndexStore};
use backrub::retrieve::bare_query;
use backrub::{Config, Engine};
use criterion::{criterion_group, criterion_main, Criterion};
use tantivy::collector::TopDocs;

const QUESTIONS: &[&str] = &[
    "Is deep tissue massage good for a stiff lower back?",
    "my lower back is always in knots, what kind of rub should I book?",
    "pain shooting down my leg, what is that",
    "is it safe with a DVT?",
    "how many sessions till my back feels better",
    "cant pee since yesterday and my bum is numb, is massage ok?",
    "whats the capital of peru",
];

fn bench(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::load(&root.join("config.toml")).unwrap();
    config.index_dir = tmp.path().join("index");
    let engine = Engine::open(config.clone()).unwrap();
    let index = IndexStore::new(&config.index_dir).open_current().unwrap();
    let searcher = index.reader.searcher();

    let mut group = c.benchmark_group("bundled");
    group.bench_function("answer (triage + retrieval + reply)", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % QUESTIONS.len();
            engine.ask(QUESTIONS[i])
        })
    });
    group.bench_function("bare tantivy top-10 search", |b| {
        let mut analyzer = stem_analyzer();
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % QUESTIONS.len();
            let query = bare_query(&index.fields, &mut analyzer, QUESTIONS[i]);
            searcher
                .search(&query, &TopDocs::with_limit(10).order_by_score())
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
