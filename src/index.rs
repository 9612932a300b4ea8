//! The on-disk Tantivy index: schema, tokenizers, generations and the freshness manifest.
//!
//! Layout of the index folder:
//! - `gen-<id>/`: one complete, immutable index generation with its `manifest.json`
//!   (schema version, content hash of the knowledge files, per-file hashes, passage count).
//! - `CURRENT`: the name of the generation being served, replaced atomically (write a
//!   temporary file, then `rename`).
//!
//! A rebuild writes a fresh `gen-*` folder (so it never contends for another writer's lock),
//! commits it, and only then points `CURRENT` at it. A failed build leaves `CURRENT` alone:
//! the old generation keeps serving. Old generations are pruned, keeping the previous one
//! for any process that still has it open.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STORED,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy};

use crate::knowledge::{Knowledge, Topic};

mod stored;
pub use stored::{PassageMemo, StoredPassage, MEMO_BUDGET_BYTES};

/// Bumped whenever the schema or the analyzers change, so old indexes are rebuilt.
pub const SCHEMA_VERSION: u32 = 6;

/// Name of the stemming analyzer registered on every index.
pub const EN_STEM: &str = "backrub_en";

/// Name of the unstemmed analyzer registered on every index (the `words` field).
pub const PLAIN: &str = "backrub_plain";

/// Memory budget for the index writer.
const WRITER_HEAP_BYTES: usize = 96_000_000;

/// Articles listed in a manifest's topics (a synthetic 10,000-article corpus needs no
/// 10,000-line topic list).
pub const MAX_TOPICS: usize = 40;

/// Generations kept on disk besides the current one.
const KEEP_OLD_GENERATIONS: usize = 1;

/// The schema's fields.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// Article title (stored).
    pub article: Field,
    /// Article file name (stored).
    pub file: Field,
    /// Article source (stored).
    pub source: Field,
    /// The passage's own heading (indexed, stemmed, stored).
    pub heading: Field,
    /// Full heading path "A › B › C" (indexed, stemmed, stored).
    pub path: Field,
    /// The passage text (indexed, stemmed, stored).
    pub body: Field,
    /// 1-based line of the section in its file (stored).
    pub line: Field,
    /// The section's lay keywords, comma-separated (indexed, stemmed, stored).
    pub keywords: Field,
    /// Ranking's precomputed view of the passage (stored only; see
    /// [`crate::retrieve::PassageAnalyzer`]).
    pub analysis: Field,
    /// Heading path and text as unstemmed words (indexed only): the vocabulary typo fixes
    /// are looked up in, so a misspelling is compared with words as they are written.
    pub words: Field,
}

/// Builds the schema and names its fields.
pub fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(EN_STEM)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        article: builder.add_text_field("article", STORED),
        file: builder.add_text_field("file", STORED),
        source: builder.add_text_field("source", STORED),
        heading: builder.add_text_field("heading", text.clone()),
        path: builder.add_text_field("path", text.clone()),
        body: builder.add_text_field("body", text.clone()),
        keywords: builder.add_text_field("keywords", text),
        analysis: builder.add_text_field("analysis", STORED),
        line: builder.add_u64_field("line", NumericOptions::default().set_stored()),
        words: builder.add_text_field(
            "words",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(PLAIN)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
    };
    (builder.build(), fields)
}

/// Tokens → lowercase ASCII words, no stemming. Shared by the stemming analyzer.
pub fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The analyzer of every indexed field and of queries: plain words, English-stemmed.
pub fn stem_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Registers our analyzers on `index`. Called on create and on open.
pub fn register_tokenizers(index: &Index) {
    index.tokenizers().register(EN_STEM, stem_analyzer());
    index.tokenizers().register(PLAIN, plain_analyzer());
}

/// What a generation was built from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`SCHEMA_VERSION`] at build time.
    pub schema_version: u32,
    /// [`Knowledge::content_hash`] of the folder the generation was built from.
    pub content_hash: String,
    /// Per-file content hashes, for "what changed" reports.
    pub files: BTreeMap<String, String>,
    /// Number of passages indexed.
    pub passages: usize,
    /// What the indexed articles cover (at most [`MAX_TOPICS`] articles).
    #[serde(default)]
    pub topics: Vec<Topic>,
    /// Build time, seconds since the Unix epoch.
    pub built_at: u64,
}

impl Manifest {
    /// True when this generation was built from exactly `knowledge` with today's schema.
    pub fn is_fresh_for(&self, knowledge: &Knowledge) -> bool {
        self.is_fresh_for_hash(&knowledge.content_hash())
    }

    /// True when this generation was built from files with `content_hash`, today's schema.
    pub fn is_fresh_for_hash(&self, content_hash: &str) -> bool {
        self.schema_version == SCHEMA_VERSION && self.content_hash == content_hash
    }
}

/// Why an index could not be built or opened.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// File system trouble around the index folder.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Tantivy refused.
    #[error("index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// `CURRENT` or a manifest is unreadable.
    #[error("{}: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// There is no generation to open yet.
    #[error("no index has been built in {}", .0.display())]
    Missing(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An opened generation: one reader for the process, a new searcher per question.
pub struct OpenIndex {
    /// The Tantivy index.
    pub index: Index,
    /// The reader (manual reload: generations never change).
    pub reader: IndexReader,
    /// Schema fields.
    pub fields: Fields,
    /// What it was built from.
    pub manifest: Manifest,
    /// Its folder.
    pub dir: PathBuf,
    /// Its passages, read once (see [`PassageMemo`]).
    pub passages: PassageMemo,
}

impl std::fmt::Debug for OpenIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenIndex")
            .field("dir", &self.dir)
            .field("manifest", &self.manifest)
            .finish()
    }
}

/// The index folder with its generations.
#[derive(Debug, Clone)]
pub struct IndexStore {
    dir: PathBuf,
}

impl IndexStore {
    /// The store rooted at `dir` (created on first build).
    pub fn new(dir: impl Into<PathBuf>) -> IndexStore {
        IndexStore { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest of the served generation, if any.
    pub fn current_manifest(&self) -> Result<Option<Manifest>, IndexError> {
        match self.current_dir()? {
            Some(dir) => read_manifest(&dir).map(Some),
            None => Ok(None),
        }
    }

    fn current_dir(&self) -> Result<Option<PathBuf>, IndexError> {
        let pointer = self.dir.join("CURRENT");
        let name = match std::fs::read_to_string(&pointer) {
            Ok(name) => name.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&pointer)(e)),
        };
        if name.is_empty() || name.contains(['/', '\\']) || !name.starts_with("gen-") {
            return Err(IndexError::Corrupt {
                path: pointer,
                message: format!("not a generation name: {name:?}"),
            });
        }
        Ok(Some(self.dir.join(name)))
    }

    /// Opens the served generation.
    pub fn open_current(&self) -> Result<OpenIndex, IndexError> {
        let dir = self
            .current_dir()?
            .ok_or_else(|| IndexError::Missing(self.dir.clone()))?;
        open_generation(&dir)
    }

    /// Builds a new generation from `knowledge` and makes it current. On error nothing
    /// changes for readers of `CURRENT`.
    pub fn build(&self, knowledge: &Knowledge) -> Result<OpenIndex, IndexError> {
        std::fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!("gen-{nanos:x}-{}", std::process::id());
        let building = self.dir.join(format!(".building-{name}"));
        let result = write_generation(&building, knowledge);
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&building);
            return Err(e);
        }
        let final_dir = self.dir.join(&name);
        std::fs::rename(&building, &final_dir).map_err(io_err(&final_dir))?;
        self.point_current_at(&name)?;
        self.prune(&name);
        open_generation(&final_dir)
    }

    fn point_current_at(&self, name: &str) -> Result<(), IndexError> {
        let tmp = self.dir.join(format!(".CURRENT-{}", std::process::id()));
        std::fs::write(&tmp, format!("{name}\n")).map_err(io_err(&tmp))?;
        let pointer = self.dir.join("CURRENT");
        std::fs::rename(&tmp, &pointer).map_err(io_err(&pointer))
    }

    /// Removes generations older than the newest few, and leftovers of failed builds.
    /// Best effort: a failure to delete is harmless.
    fn prune(&self, current: &str) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut gens: Vec<(SystemTime, PathBuf)> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name == current || !path.is_dir() {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(UNIX_EPOCH);
            if name.starts_with("gen-") {
                gens.push((modified, path));
            } else if name.starts_with(".building-") {
                // A build that died; a live one is younger than a minute.
                let age = SystemTime::now()
                    .duration_since(modified)
                    .unwrap_or_default();
                if age.as_secs() > 600 {
                    let _ = std::fs::remove_dir_all(&path);
                }
            }
        }
        gens.sort();
        let excess = gens.len().saturating_sub(KEEP_OLD_GENERATIONS);
        for (_, path) in gens.into_iter().take(excess) {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

fn read_manifest(dir: &Path) -> Result<Manifest, IndexError> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    serde_json::from_str(&text).map_err(|e| IndexError::Corrupt {
        path,
        message: e.to_string(),
    })
}

fn open_generation(dir: &Path) -> Result<OpenIndex, IndexError> {
    let manifest = read_manifest(dir)?;
    if manifest.schema_version != SCHEMA_VERSION {
        return Err(IndexError::Corrupt {
            path: dir.join("manifest.json"),
            message: format!(
                "schema version {} (this build uses {SCHEMA_VERSION})",
                manifest.schema_version
            ),
        });
    }
    let index = Index::open_in_dir(dir)?;
    register_tokenizers(&index);
    let (_, fields) = schema();
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    let passages = PassageMemo::new(&reader, MEMO_BUDGET_BYTES);
    Ok(OpenIndex {
        index,
        reader,
        fields,
        manifest,
        dir: dir.to_path_buf(),
        passages,
    })
}

fn write_generation(dir: &Path, knowledge: &Knowledge) -> Result<(), IndexError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let (schema, f) = schema();
    let index = Index::create_in_dir(dir, schema)?;
    register_tokenizers(&index);
    let mut writer: IndexWriter = index.writer(WRITER_HEAP_BYTES)?;
    let mut passages = 0;
    let mut analyzer = crate::retrieve::PassageAnalyzer::default();
    for p in knowledge.passages() {
        let analysis = analyzer.analyze(p.heading(), &p.path(), &p.body, &p.keywords);
        writer.add_document(doc!(
            f.article => p.article.as_str(),
            f.file => p.file.as_str(),
            f.source => p.source.as_str(),
            f.heading => p.heading(),
            f.path => p.path(),
            f.body => p.body.as_str(),
            f.line => p.line as u64,
            f.keywords => p.keywords.join(", "),
            f.analysis => analysis,
            f.words => p.path(),
            f.words => p.body.as_str(),
            f.words => p.keywords.join(", "),
        ))?;
        passages += 1;
    }
    writer.commit()?;
    // One segment: searches touch one term dictionary, and typo lookup sees every term.
    let segments = index.searchable_segment_ids()?;
    if segments.len() > 1 {
        writer.merge(&segments).wait()?;
    }
    writer.wait_merging_threads()?;
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        content_hash: knowledge.content_hash(),
        files: knowledge.file_hashes.clone(),
        passages,
        topics: knowledge.topics().into_iter().take(MAX_TOPICS).collect(),
        built_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    let path = dir.join("manifest.json");
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| IndexError::Corrupt {
        path: path.clone(),
        message: e.to_string(),
    })?;
    std::fs::write(&path, json).map_err(io_err(&path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::load_dir;

    fn knowledge_in(dir: &Path, files: &[(&str, &str)]) -> Knowledge {
        std::fs::create_dir_all(dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        load_dir(dir, 1200)
    }

    #[test]
    fn build_then_open_and_detect_freshness() {
        let tmp = tempfile::tempdir().unwrap();
        let k = knowledge_in(
            &tmp.path().join("k"),
            &[(
                "a.md",
                "# A\n\n## Deep Tissue\n\nFirm pressure helps knots.\n",
            )],
        );
        let store = IndexStore::new(tmp.path().join("index"));
        assert!(matches!(store.open_current(), Err(IndexError::Missing(_))));
        let opened = store.build(&k).unwrap();
        assert_eq!(opened.manifest.passages, 1);
        assert!(store.current_manifest().unwrap().unwrap().is_fresh_for(&k));
        let again = store.open_current().unwrap();
        assert_eq!(again.reader.searcher().num_docs(), 1);
        let changed = knowledge_in(&tmp.path().join("k"), &[("b.md", "# B\n\ntext\n")]);
        assert!(!again.manifest.is_fresh_for(&changed));
    }

    #[test]
    fn rebuilds_prune_old_generations_but_keep_one() {
        let tmp = tempfile::tempdir().unwrap();
        let k = knowledge_in(&tmp.path().join("k"), &[("a.md", "# A\n\ntext\n")]);
        let store = IndexStore::new(tmp.path().join("index"));
        for _ in 0..4 {
            store.build(&k).unwrap();
        }
        let gens = std::fs::read_dir(store.dir())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("gen-")
            })
            .count();
        assert_eq!(gens, 1 + KEEP_OLD_GENERATIONS);
    }

    #[test]
    fn garbage_current_pointer_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("CURRENT"), "../../etc\n").unwrap();
        let store = IndexStore::new(tmp.path());
        assert!(matches!(
            store.open_current(),
            Err(IndexError::Corrupt { .. })
        ));
    }
}
