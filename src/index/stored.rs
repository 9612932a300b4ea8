//! Stored passages, read from the index once and kept in memory.
//!
//! Ranking looks at every candidate's precomputed analysis and answering quotes the best
//! few passages. Reading a stored document means decompressing its block and deserializing
//! every field; a small knowledge folder is asked about the same few dozen passages all day,
//! so each passage is read and parsed once per index generation and then shared.
//!
//! A generation never changes (its reader is never reloaded), so a document address names the
//! same passage for the life of the [`OpenIndex`](super::OpenIndex). One slot per document,
//! filled once: no lock on the read path. Memory is bounded by a byte budget; past it, further
//! passages are read from the store each time, exactly as without the memo.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tantivy::schema::Value;
use tantivy::{DocAddress, IndexReader, Searcher, TantivyDocument};

use super::Fields;
use crate::answer::Units;
use crate::retrieve::Analysis;

/// Bytes of passage text and analysis kept in memory per index generation. The bundled
/// knowledge needs well under 1 MB; a 10,000-article folder stops caching here.
pub const MEMO_BUDGET_BYTES: usize = 32 << 20;

/// One passage as stored in the index, with its analysis parsed.
#[derive(Debug)]
pub struct StoredPassage {
    /// Article title.
    pub article: String,
    /// Article file name.
    pub file: String,
    /// Article source.
    pub source: String,
    /// The passage's own heading.
    pub heading: String,
    /// "Article › Section › Subsection".
    pub path: String,
    /// Passage text.
    pub body: String,
    /// 1-based line in the file.
    pub line: u64,
    /// Ranking's view of the passage.
    pub analysis: Analysis,
    /// Its body cut into quotable units, once it is first quoted in part.
    pub units: OnceLock<Units>,
}

impl StoredPassage {
    fn read(doc: &TantivyDocument, f: &Fields) -> StoredPassage {
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        StoredPassage {
            article: text(f.article),
            file: text(f.file),
            source: text(f.source),
            heading: text(f.heading),
            path: text(f.path),
            body: text(f.body),
            line: doc.get_first(f.line).and_then(|v| v.as_u64()).unwrap_or(0),
            analysis: Analysis::parse(&text(f.analysis)),
            units: OnceLock::new(),
        }
    }

    /// Roughly the heap bytes it holds, with room for its units (about three times the
    /// body: ranges, and stems as strings).
    fn size(&self) -> usize {
        std::mem::size_of::<StoredPassage>()
            + 3 * self.body.len()
            + self.article.len()
            + self.file.len()
            + self.source.len()
            + self.heading.len()
            + self.path.len()
            + self.body.len()
            + self.analysis.size()
    }
}

/// The memo: a slot per document of each segment.
#[derive(Debug)]
pub struct PassageMemo {
    slots: Vec<Vec<OnceLock<Arc<StoredPassage>>>>,
    used: AtomicUsize,
    budget: usize,
}

impl PassageMemo {
    /// Empty slots for every document `reader` can see, keeping at most `budget` bytes.
    pub fn new(reader: &IndexReader, budget: usize) -> PassageMemo {
        let slots = reader
            .searcher()
            .segment_readers()
            .iter()
            .map(|segment| (0..segment.max_doc()).map(|_| OnceLock::new()).collect())
            .collect();
        PassageMemo {
            slots,
            used: AtomicUsize::new(0),
            budget,
        }
    }

    /// The passage at `address`, from memory or read (and kept, within the budget).
    pub fn get(
        &self,
        searcher: &Searcher,
        fields: &Fields,
        address: DocAddress,
    ) -> tantivy::Result<Arc<StoredPassage>> {
        let slot = self
            .slots
            .get(address.segment_ord as usize)
            .and_then(|segment| segment.get(address.doc_id as usize));
        if let Some(passage) = slot.and_then(OnceLock::get) {
            return Ok(Arc::clone(passage));
        }
        let doc: TantivyDocument = searcher.doc(address)?;
        let passage = Arc::new(StoredPassage::read(&doc, fields));
        if let Some(slot) = slot {
            let size = passage.size();
            if self.used.fetch_add(size, Ordering::Relaxed) + size <= self.budget {
                if slot.set(Arc::clone(&passage)).is_err() {
                    // Another thread filled it first; its copy is the one kept.
                    self.used.fetch_sub(size, Ordering::Relaxed);
                }
            } else {
                self.used.fetch_sub(size, Ordering::Relaxed);
            }
        }
        Ok(passage)
    }

    /// Bytes held.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}
