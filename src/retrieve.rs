//! Retrieval: a question → ranked passages, and whether the best one really answers it.
//!
//! The user's text is never handed to Tantivy's query parser: it is tokenized with the
//! index's own analyzer and turned into term queries, so `"`, `:`, `(`, `AND`, `-`, `*` are
//! just characters. Stop words and everyday filler are dropped; each remaining word (or
//! lay-term phrase) of the question becomes a *concept* whose alternatives are its stem, what
//! a lay-term entry expands it to (multi-word expansions must match whole), and, for a word
//! the index has never seen, a plausible misspelling fix (a Levenshtein automaton over the
//! articles' unstemmed words, see [`plausible_typo`]) unless it is a common English word
//! (see [`is_common_english`]).
//!
//! A concept weighs its IDF (the least specific alternative's); words the articles never use
//! still weigh, as uncovered. BM25 over body, heading and heading path picks candidates;
//! they are re-scored by *coverage* (the weighted share of the question's concepts a passage
//! contains, with a bonus for its own heading), BM25 relative to the best candidate breaking
//! near-ties. Coverage, unlike a raw BM25 score, is comparable across questions, so it also
//! drives the decline rule ([`Hit::answers`]).

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use rustc_hash::{FxHashMap, FxHashSet};
use tantivy::collector::TopDocs;
use tantivy::query::{
    Bm25StatisticsProvider, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Searcher, Term};

use crate::config::AnswerConfig;
use crate::decline::{self, DeclineModel};
use crate::index::{plain_analyzer, stem_analyzer, Fields, OpenIndex, StoredPassage};
use crate::synonyms::Synonyms;

/// Candidates fetched from BM25 before re-scoring by coverage.
const CANDIDATES: usize = 15;

/// Words that start what follows a "does" in a question.
const DOES_SUBJECTS: &[&str] = &[
    "massage",
    "massages",
    "masage",
    "it",
    "this",
    "that",
    "the",
    "a",
    "an",
    "my",
    "your",
    "ur",
    "u",
    "he",
    "she",
    "they",
    "deep",
    "swedish",
    "trigger",
    "stretching",
    "heat",
    "anyone",
];

/// At most this many words of a question are considered.
const MAX_WORDS: usize = 120;

/// Weight of a synonym or typo-fix alternative relative to the word itself.
const ALTERNATIVE_WEIGHT: f32 = 0.8;

/// A concept weighing less than this share of the rarest word's IDF is a *domain* word
/// (see [`Hit::anchored`]).
const SPECIFIC_SHARE: f32 = 0.3;

/// Every known concept weighs at least this share of the rarest word's IDF, so a question
/// made only of domain words ("what is massage therapy?") still has weight to cover.
const WEIGHT_FLOOR: f32 = 0.1;

/// In the BM25 query a concept's clauses are boosted by this plus its weight relative to the
/// rarest word's, so domain words (rare in headings, hence high heading-field IDF) do not
/// crowd the candidates.
const QUERY_WEIGHT_BASE: f32 = 0.25;

/// Ranking: coverage + this × heading coverage + [`BM25_WEIGHT`] × BM25 relative to the best
/// candidate's. Coverage leads; BM25 (which boosts headings) breaks near-ties.
const HEADING_WEIGHT: f32 = 0.2;

/// See [`HEADING_WEIGHT`].
const BM25_WEIGHT: f32 = 0.5;

/// Ranking bonus for a section whose keyword phrase the question says, growing with the
/// phrase's content words and, at [`FUNCTION_WORD_CREDIT`] each, its function words the
/// question also says, up to [`PHRASE_FULL`].
const PHRASE_WEIGHT: f32 = 0.5;

/// See [`PHRASE_WEIGHT`].
const PHRASE_FULL: f32 = 5.0;

/// What one of a keyword phrase's function words counts toward [`PHRASE_FULL`] when the
/// question says it too, as a share of a content word: they carry intent, but "should i"
/// is in many questions and many phrases.
const FUNCTION_WORD_CREDIT: f32 = 0.5;

/// BM25 boost of question words outside the concepts, matched against section keywords
/// only: enough to make a section a candidate, too little to rank it.
const FILLER_KEYWORD_BOOST: f32 = 0.1;

/// Passages scoring at least this share of the best one's are near-tied with it.
const NEAR_TIE: f32 = 0.9;

/// Passages scoring at least this share of the best one's are tied with it.
const TIE: f32 = 0.97;

/// Weight of a word the articles never use, as a share of the rarest word's IDF.
const UNKNOWN_WEIGHT: f32 = 0.75;

/// Words that carry no topic: English function words plus the filler of chat questions.
/// Checked against the unstemmed, lowercased, ASCII-folded word.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anyone",
    "anything",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "being",
    "best",
    "better",
    "bit",
    "but",
    "by",
    "can",
    "cant",
    "could",
    "d",
    "did",
    "do",
    "does",
    "doing",
    "dont",
    "each",
    "else",
    "even",
    "ever",
    "every",
    "for",
    "from",
    "get",
    "gets",
    "getting",
    "go",
    "going",
    "good",
    "got",
    "guys",
    "had",
    "has",
    "have",
    "having",
    "he",
    "hello",
    "help",
    "her",
    "here",
    "hey",
    "hi",
    "him",
    "his",
    "how",
    "i",
    "id",
    "if",
    "im",
    "in",
    "into",
    "is",
    "isnt",
    "it",
    "its",
    "ive",
    "just",
    "know",
    "let",
    "like",
    "ll",
    "lol",
    "m",
    "me",
    "might",
    "mine",
    "more",
    "most",
    "much",
    "my",
    "myself",
    "yourself",
    "itself",
    "himself",
    "herself",
    "ourselves",
    "yourselves",
    "themselves",
    "need",
    "no",
    "not",
    "now",
    "of",
    "off",
    "oh",
    "ok",
    "okay",
    "on",
    "one",
    "or",
    "other",
    "our",
    "out",
    "please",
    "pls",
    "plz",
    "quite",
    "re",
    "really",
    "s",
    "said",
    "say",
    "she",
    "should",
    "so",
    "some",
    "someone",
    "something",
    "still",
    "such",
    "sure",
    "t",
    "tell",
    "than",
    "thanks",
    "that",
    "thats",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "thx",
    "to",
    "too",
    "u",
    "ur",
    "us",
    "ve",
    "very",
    "want",
    "was",
    "way",
    "ways",
    "we",
    "well",
    "were",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "wondering",
    "would",
    "ya",
    "yeah",
    "yes",
    "you",
    "your",
    "yours",
];

/// Closed-class words only (articles, pronouns, auxiliaries, prepositions, question words):
/// what a section keyword phrase may leave out or phrase differently and still match.
/// Unlike [`STOP_WORDS`], no content-ish chat words ("tell", "need", "bad").
const FUNCTION_WORDS: &[&str] = &[
    "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "being", "but", "by",
    "can", "cant", "could", "d", "did", "do", "does", "dont", "for", "from", "he", "her", "him",
    "his", "how", "i", "id", "if", "im", "in", "into", "is", "isnt", "it", "its", "ive", "ll", "m",
    "may", "me", "might", "must", "my", "myself", "of", "on", "or", "our", "re", "s", "shall",
    "she", "should", "so", "some", "t", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "those", "to", "u", "ur", "ve", "was", "we", "were", "what", "whats",
    "when", "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// Everyday words that say nothing about a question's topic: hedges and intensifiers,
/// vague nouns, light verbs, quantifiers, time fillers and prepositions. In a small corpus a
/// word like "between" or "usually" is rare, so its IDF would make it look important; in a
/// question it is just English. Lay words that do carry meaning ("hurt", "flu") belong in
/// the lay-term table instead. Checked like [`STOP_WORDS`].
const GENERIC_WORDS: &[&str] = &[
    // hedges, intensifiers, chat
    "actually",
    "anyway",
    "basically",
    "btw",
    "certainly",
    "definitely",
    "exactly",
    "fine",
    "gonna",
    "gotta",
    "honestly",
    "idk",
    "kinda",
    "literally",
    "maybe",
    "nah",
    "nope",
    "perhaps",
    "pretty",
    "probably",
    "properly",
    "seriously",
    "sorta",
    "tbh",
    "totally",
    "truly",
    "wanna",
    // chat spellings and abbreviations
    "yo",
    "bruh",
    "lowkey",
    "highkey",
    "n",
    "w",
    "prob",
    "fr",
    "b4",
    "legit",
    "round",
    "youve",
    "weve",
    "theyve",
    "youd",
    "theyd",
    "youll",
    "theyll",
    "hes",
    "shes",
    "arent",
    "wasnt",
    "werent",
    "havent",
    "hasnt",
    "hadnt",
    "didnt",
    "aint",
    "lets",
    "whatre",
    "whered",
    "howd",
    "wouldve",
    "shouldve",
    "couldve",
    "bc",
    "coz",
    "cuz",
    "dunno",
    "fyi",
    "imho",
    "imo",
    "lemme",
    "lmao",
    "ngl",
    "omg",
    "rn",
    "smh",
    "tho",
    "ty",
    "wat",
    "wen",
    "wut",
    "y",
    "r",
    "k",
    "yall",
    "yea",
    "yup",
    "doesnt",
    "wont",
    "wouldnt",
    "shouldnt",
    "couldnt",
    "itll",
    "youre",
    "theyre",
    "hows",
    "wheres",
    "whos",
    "hr",
    "hrs",
    "min",
    "mins",
    "wk",
    "wks",
    "yr",
    "yrs",
    "whatever",
    "yep",
    "alright",
    // vague nouns and people
    "anybody",
    "everybody",
    "everyone",
    "everyones",
    "everything",
    "guy",
    "lot",
    "lots",
    "person",
    "people",
    "ppl",
    "somebody",
    "stuff",
    "idea",
    "kind",
    "sort",
    "sorts",
    "matter",
    "matters",
    "place",
    "point",
    "question",
    "questions",
    "reason",
    "reasons",
    "situation",
    // adjectives of opinion
    "bad",
    "big",
    "decent",
    "great",
    "huge",
    "little",
    "nice",
    "real",
    "right",
    "small",
    "true",
    "wrong",
    "worse",
    "worst",
    // light verbs
    "came",
    "come",
    "comes",
    "coming",
    "give",
    "gives",
    "giving",
    "goes",
    "gone",
    "went",
    "make",
    "makes",
    "making",
    "made",
    "mean",
    "means",
    "meant",
    "put",
    "seem",
    "seems",
    "take",
    "takes",
    "taking",
    "took",
    "try",
    "tried",
    "trying",
    "wonder",
    "allowed",
    // quantifiers, frequency and time fillers
    "almost",
    "already",
    "always",
    "enough",
    "enuf",
    "nuff",
    "few",
    "least",
    "less",
    "many",
    "never",
    "only",
    "sometimes",
    "usually",
    "ago",
    "couple",
    "forever",
    "last",
    "lately",
    "next",
    "recently",
    "soon",
    "till",
    "until",
    "yet",
    "first",
    "second",
    "quick",
    "quickly",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "hour",
    "hours",
    "minute",
    "minutes",
    "time",
    "times",
    "tomorrow",
    "tonight",
    "yesterday",
    // comparison markers ("what's the difference between X and Y": X and Y are the topic)
    "compare",
    "compared",
    "diff",
    "difference",
    "differences",
    "different",
    "versus",
    "vs",
    // prepositions and particles
    "across",
    "along",
    "around",
    "away",
    "behind",
    "below",
    "between",
    "down",
    "during",
    "through",
    "towards",
    "under",
    "up",
    "upon",
    "within",
    "without",
];

/// One idea of the question, satisfied by any of its alternatives.
#[derive(Debug, Clone)]
pub struct Concept {
    /// The word or phrase as the user typed it (lowercased).
    pub word: String,
    /// Ways the articles express it, with their weights (1.0 for the word itself, less for a
    /// lay-term expansion or a typo fix). Each is one stem or several stems joined by a
    /// space, which a passage must all contain ("cancer treatment").
    pub alternatives: Vec<(String, f32)>,
    /// IDF-based importance; higher for rarer words.
    pub weight: f32,
    /// False when no alternative occurs in the index at all.
    pub known: bool,
}

impl Concept {
    /// The weight of the first alternative whose stems all satisfy `has`, if any.
    pub fn found_in(&self, has: impl Fn(&str) -> bool) -> Option<f32> {
        self.alternatives
            .iter()
            .find(|(group, _)| group.split(' ').all(&has))
            .map(|(_, w)| *w)
    }
}

/// What ranking needs to know about a passage, computed once when the index is built and
/// stored with it, so a question stems its own words and nothing else.
///
/// Stored as text, one item per line: the own heading's stems (sorted, unique); the stems of
/// heading, path and body (sorted, unique); then each keyword phrase as `content|all`
/// (its content stems, then all its stems).
pub struct PassageAnalyzer {
    plain: TextAnalyzer,
    stem: TextAnalyzer,
    function_words: HashSet<&'static str>,
}

impl Default for PassageAnalyzer {
    fn default() -> PassageAnalyzer {
        PassageAnalyzer {
            plain: plain_analyzer(),
            stem: stem_analyzer(),
            function_words: FUNCTION_WORDS.iter().copied().collect(),
        }
    }
}

fn sorted_unique(mut stems: Vec<String>) -> String {
    stems.sort_unstable();
    stems.dedup();
    stems.join(" ")
}

impl PassageAnalyzer {
    fn stems(&mut self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = self.stem.token_stream(text);
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    /// The stored analysis of one passage.
    pub fn analyze(
        &mut self,
        heading: &str,
        path: &str,
        body: &str,
        keywords: &[String],
    ) -> String {
        let own = self.stems(heading);
        let mut all = self.stems(path);
        all.extend(self.stems(body));
        all.extend(own.iter().cloned());
        let mut out = format!("{}\n{}", sorted_unique(own), sorted_unique(all));
        for phrase in keywords {
            let mut content = Vec::new();
            let mut every = Vec::new();
            let mut words = Vec::new();
            {
                let mut stream = self.plain.token_stream(phrase);
                while let Some(token) = stream.next() {
                    words.push(token.text.clone());
                }
            }
            for word in words {
                let Some(stem) = self.stems(&word).pop() else {
                    continue;
                };
                if !self.function_words.contains(word.as_str()) {
                    content.push(stem.clone());
                }
                every.push(stem);
            }
            if !content.is_empty() {
                out.push_str(&format!("\n{}|{}", content.join(" "), every.join(" ")));
            }
        }
        out
    }
}

/// A passage's stored analysis, parsed: what [`PassageAnalyzer::analyze`] wrote.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Stems of the passage's own heading (sorted, unique).
    own: Box<[Box<str>]>,
    /// Stems of heading, path and body.
    all: FxHashSet<Box<str>>,
    /// Keyword phrases.
    phrases: Box<[Phrase]>,
}

/// One keyword phrase: its content stems (all must be said for it to match) and all its
/// stems (function words included, which earn extra credit when said too).
#[derive(Debug)]
struct Phrase {
    content: Box<[Box<str>]>,
    every: Box<[Box<str>]>,
    /// [`stem_bits`] of its content stems: a phrase whose bits a question's lack cannot
    /// match, which rules out most phrases without a set lookup.
    bits: u64,
}

/// One of 64 bits chosen by a stem's hash; a set of stems is the union of its bits.
fn stem_bits(stem: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    stem.hash(&mut hasher);
    1 << (hasher.finish() >> 58)
}

fn stem_list(line: &str) -> Box<[Box<str>]> {
    line.split(' ')
        .filter(|w| !w.is_empty())
        .map(Box::from)
        .collect()
}

fn has_stem(sorted: &[Box<str>], stem: &str) -> bool {
    sorted.binary_search_by(|s| (**s).cmp(stem)).is_ok()
}

impl Analysis {
    /// Parses the stored text (see [`PassageAnalyzer`] for the format).
    pub fn parse(text: &str) -> Analysis {
        let mut lines = text.split('\n');
        let own = stem_list(lines.next().unwrap_or_default());
        let all = stem_list(lines.next().unwrap_or_default())
            .into_vec()
            .into_iter()
            .collect();
        let phrases = lines
            .filter_map(|line| line.split_once('|'))
            .map(|(content, every)| {
                let content = stem_list(content);
                let bits = content.iter().fold(0, |bits, s| bits | stem_bits(s));
                Phrase {
                    content,
                    every: stem_list(every),
                    bits,
                }
            })
            .collect();
        Analysis { own, all, phrases }
    }

    /// Roughly the heap bytes it holds.
    pub fn size(&self) -> usize {
        let list = |l: &[Box<str>]| l.iter().map(|s| s.len() + 16).sum::<usize>();
        list(&self.own)
            + self.all.iter().map(|s| s.len() + 24).sum::<usize>()
            + self
                .phrases
                .iter()
                .map(|p| list(&p.content) + list(&p.every) + 32)
                .sum::<usize>()
    }
}

/// A passage found for a question: the stored passage, and how it ranked.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The passage as stored in the index (article, heading, path, body...), shared with the
    /// index's memo, where what is worked out about a passage once is kept.
    pub passage: Arc<StoredPassage>,
    /// BM25 score.
    pub bm25: f32,
    /// Share of the question's concept weight found in this passage (0..=1).
    pub coverage: f32,
    /// Indices of the concepts it contains.
    pub covered: Vec<usize>,
    /// Share of the question's concept weight found in the passage's own heading.
    pub heading_coverage: f32,
    /// Whether it contains one of the question's *domain* words: a known concept so common
    /// in the articles that it is not specific ("massage", "back", "pain", "therapist").
    pub anchored: bool,
    /// Final ranking score.
    pub score: f32,
}

/// The outcome of a search.
#[derive(Debug, Clone, Default)]
pub struct Retrieval {
    /// The question's concepts.
    pub concepts: Vec<Concept>,
    /// Passages, best first.
    pub hits: Vec<Hit>,
    /// Set to the out-of-scope word found in the question ("dose", "cure"): then nothing is
    /// quoted, whatever matched.
    pub out_of_scope: Option<String>,
    /// The decline model's probability that the question is off-topic (None without a
    /// model): above `decline_above`, nothing is quoted.
    pub off_topic: Option<f32>,
}

impl Retrieval {
    /// The hits worth quoting: the best one if it answers the question (see
    /// [`Hit::answers`]), and a second one when it is nearly as good and brings a concept
    /// the first lacks.
    pub fn answering_hits(&self, config: &AnswerConfig) -> Vec<&Hit> {
        let Some(best) = self.hits.first() else {
            return Vec::new();
        };
        let judged_off_topic = self.off_topic.is_some_and(|p| p > config.decline_above);
        if self.out_of_scope.is_some() || judged_off_topic || !best.answers(config) {
            return Vec::new();
        }
        let mut chosen = vec![best];
        for hit in self.hits.iter().skip(1) {
            if chosen.len() >= config.max_passages {
                break;
            }
            let close = hit.score >= best.score * config.second_passage_ratio;
            let adds = hit.covered.iter().any(|c| !best.covered.contains(c));
            let very_close = hit.score >= best.score * NEAR_TIE;
            if close
                && hit.answers(config)
                && (adds || very_close)
                && hit.passage.path != best.passage.path
            {
                chosen.push(hit);
            }
        }
        chosen
    }
}

impl Hit {
    /// The decline rule, which never looks at raw BM25 (not comparable across questions):
    /// the passage must cover enough of the question's concept weight, where words the
    /// articles never use count as uncovered ("cure", "ibuprofen", "netflix"). How much is
    /// enough depends on whether the question is anchored in the domain: when the passage
    /// shares one of its domain words ("massage", "back", "pain"), `min_coverage` suffices,
    /// since chatty lay questions leave much uncovered; otherwise the match is more likely a
    /// coincidence of one word ("recommend me a netflix series") and it needs
    /// `min_coverage_unanchored`.
    ///
    /// Two distinct concepts found together ("trigger point" and "knots") are no coincidence
    /// either, so they anchor a question as a domain word does.
    pub fn answers(&self, config: &AnswerConfig) -> bool {
        answers(self.coverage, self.anchored, self.covered.len(), config)
    }
}

/// See [`Hit::answers`].
fn answers(coverage: f32, anchored: bool, concepts_found: usize, config: &AnswerConfig) -> bool {
    let anchored = anchored || concepts_found >= 2;
    coverage
        >= if anchored {
            config.min_coverage
        } else {
            config.min_coverage_unanchored
        }
}

/// Turns questions into searches. Built once per loaded index and synonym table.
#[derive(Clone)]
pub struct Retriever {
    synonyms: Synonyms,
    stop_words: HashSet<&'static str>,
    /// The stems of the stop words: a typo fix landing on one ("shoud" → "should") or a
    /// misspelling that stems like one ("befor") is filler too.
    stop_stems: HashSet<String>,
    function_words: HashSet<&'static str>,
    plain: TextAnalyzer,
    stem: TextAnalyzer,
    config: AnswerConfig,
    decline: Option<Arc<DeclineModel>>,
}

impl Retriever {
    /// A retriever with the given lay-term table and answer settings.
    pub fn new(synonyms: Synonyms, config: AnswerConfig) -> Retriever {
        let mut retriever = Retriever {
            synonyms,
            stop_words: STOP_WORDS.iter().chain(GENERIC_WORDS).copied().collect(),
            stop_stems: HashSet::new(),
            function_words: FUNCTION_WORDS.iter().copied().collect(),
            plain: plain_analyzer(),
            stem: stem_analyzer(),
            config,
            decline: None,
        };
        retriever.stop_stems = STOP_WORDS
            .iter()
            .chain(GENERIC_WORDS)
            .flat_map(|word| retriever.stems(word))
            .collect();
        retriever
    }

    /// The same retriever, with a decline model (see [`crate::decline`]).
    pub fn with_decline_model(mut self, model: Option<DeclineModel>) -> Retriever {
        self.decline = model.map(Arc::new);
        self
    }

    /// The features the decline model reads for `question`, given what retrieval made of it
    /// (for training).
    pub fn decline_features(&self, question: &str, retrieval: &Retrieval) -> Vec<(String, f64)> {
        let mut features = Vec::new();
        let mut name = String::new();
        decline::visit_features(
            &self.words(question),
            &retrieval.concepts,
            &retrieval.hits,
            &mut name,
            |name, value| features.push((name.to_string(), value)),
        );
        features
    }

    /// The answer settings in use.
    pub fn config(&self) -> &AnswerConfig {
        &self.config
    }

    /// Stems of `text` with the index analyzer.
    pub fn stems(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.stem.clone();
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    /// (plain word, stem) pairs of `text`, at most [`MAX_WORDS`]. Both analyzers split
    /// words alike (the stemming one only adds a stemmer), so their streams pair up.
    fn words(&self, text: &str) -> Vec<(String, String)> {
        let (mut plain, mut stem) = (self.plain.clone(), self.stem.clone());
        let (mut plain, mut stem) = (plain.token_stream(text), stem.token_stream(text));
        let mut words = Vec::new();
        while words.len() < MAX_WORDS && plain.advance() && stem.advance() {
            words.push((plain.token().text.clone(), stem.token().text.clone()));
        }
        self.mend_words(&mut words);
        words
    }

    /// Undoes what tokenizing did to two chat spellings:
    /// - a contraction split at its apostrophe is one word again ("shouldn't" was
    ///   "shouldn" + "t"), spelt as the word lists spell it ("shouldnt");
    /// - "how dose massage help": a "dose" before a subject is a slip for "does", and must
    ///   not decline the question as one about medicine doses ("what dose of ibuprofen"
    ///   keeps it).
    fn mend_words(&self, words: &mut Vec<(String, String)>) {
        let with_stem = |plain: String| {
            let stem = self.stems(&plain).pop().unwrap_or_else(|| plain.clone());
            (plain, stem)
        };
        let mut i = 1;
        while i < words.len() {
            let (before, word) = (&words[i - 1].0, &words[i].0);
            if word == "t" && before.len() >= 2 && before.ends_with('n') {
                words[i - 1] = with_stem(format!("{before}t"));
                words.remove(i);
                continue;
            }
            if before == "dose" && DOES_SUBJECTS.contains(&word.as_str()) {
                words[i - 1] = with_stem("does".to_string());
            }
            i += 1;
        }
    }

    /// Finds the passages for `question`. Never fails: index trouble gives no hits.
    pub fn search(&self, index: &OpenIndex, question: &str) -> Retrieval {
        self.search_top(index, question, CANDIDATES)
    }

    /// Like [`Retriever::search`], loading the stored text of the `keep` best hits only
    /// (answering needs a few; evaluation wants the whole ranking).
    pub fn search_top(&self, index: &OpenIndex, question: &str, keep: usize) -> Retrieval {
        let searcher = index.reader.searcher();
        let words = self.words(question);
        let mut concepts = self.concepts(&words);
        let mut freqs = FieldFreqs::new(&searcher, &index.fields);
        self.resolve(&mut freqs, index, &mut concepts);
        // Every stem the question says or implies (lay-term expansions, typo fixes): what a
        // section keyword phrase must be made of to match.
        let all_stems;
        let stems: Vec<&str> = if words.len() < MAX_WORDS {
            words.iter().map(|(_, stem)| stem.as_str()).collect()
        } else {
            all_stems = self.stems(question);
            all_stems.iter().map(String::as_str).collect()
        };
        let mut said: FxHashSet<&str> = stems.iter().copied().collect();
        for concept in &concepts {
            for (group, _) in &concept.alternatives {
                said.extend(group.split(' '));
            }
        }
        let hits = self
            .rank(&mut freqs, index, &concepts, &said, keep)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "search failed");
                Vec::new()
            });
        // An out-of-scope word is matched as said, or misspelt: a word the articles never
        // use and no typo fix could place, close to a one-word out-of-scope entry.
        let out_of_scope = self.synonyms.out_of_scope(&stems).or_else(|| {
            concepts
                .iter()
                .filter(|c| !c.known && !c.word.contains(' ') && !is_common_english(&c.word))
                .find_map(|c| {
                    let (stem, _) = c.alternatives.first()?;
                    self.synonyms.out_of_scope_misspelt(stem)
                })
        });
        let off_topic = self
            .decline
            .as_ref()
            .map(|model| model.probability(&words, &concepts, &hits));
        Retrieval {
            concepts,
            hits,
            out_of_scope,
            off_topic,
        }
    }

    /// The baseline the evaluation compares against: plain BM25 over section heading and
    /// text with every word of the question (stemmed), no lay terms, no typo fixes, no
    /// stop-word handling, no re-scoring, and no decline rule.
    pub fn search_baseline(&self, index: &OpenIndex, question: &str) -> Vec<Hit> {
        let searcher = index.reader.searcher();
        let f = index.fields;
        let query = bare_query(&f, &mut self.stem.clone(), question);
        let top = searcher
            .search(&query, &TopDocs::with_limit(CANDIDATES).order_by_score())
            .unwrap_or_default();
        top.into_iter()
            .filter_map(|(bm25, address)| {
                let passage = index.passages.get(&searcher, &f, address).ok()?;
                Some(
                    Scored {
                        passage,
                        bm25,
                        coverage: 1.0,
                        covered: Vec::new(),
                        heading_coverage: 0.0,
                        anchored: true,
                        score: bm25,
                    }
                    .into_hit(),
                )
            })
            .collect()
    }

    /// Splits the question into concepts: lay-term phrases first, then single content words.
    fn concepts(&self, words: &[(String, String)]) -> Vec<Concept> {
        let stems: Vec<&str> = words.iter().map(|(_, s)| s.as_str()).collect();
        let mut concepts: Vec<Concept> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            if let Some(entry) = self.synonyms.match_at(&stems, i) {
                let n = entry.stems.len();
                let own: Vec<&str> = words[i..i + n]
                    .iter()
                    .filter(|(plain, _)| !self.stop_words.contains(plain.as_str()))
                    .map(|(_, stem)| stem.as_str())
                    .collect();
                // The phrase's own words say it best, unless some were little words left
                // out: then what is left ("hurt" of "hurt less") is only a fragment, and the
                // expansions ("pain relief") say what was meant.
                let fragment = own.len() < n;
                let (own_weight, expansion_weight) = if fragment {
                    (ALTERNATIVE_WEIGHT, 1.0)
                } else {
                    (1.0, ALTERNATIVE_WEIGHT)
                };
                let mut alternatives: Vec<(String, f32)> = Vec::new();
                for group in &entry.expansions {
                    if !alternatives.iter().any(|(s, _)| s == group) {
                        alternatives.push((group.clone(), expansion_weight));
                    }
                }
                if !own.is_empty() {
                    let own = own.join(" ");
                    alternatives.retain(|(s, _)| *s != own);
                    alternatives.push((own, own_weight));
                }
                // Best first: a passage is credited with the first alternative it contains.
                alternatives.sort_by(|a, b| b.1.total_cmp(&a.1));
                let word = words[i..i + n]
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                push_concept(&mut concepts, word, alternatives);
                i += n;
                continue;
            }
            let (plain, stem) = &words[i];
            i += 1;
            // "im 58", "my son is 16": the age the articles' advice depends on.
            if let Some(group) = age_group(words, i - 1) {
                push_concept(&mut concepts, plain.clone(), vec![(group.to_string(), 1.0)]);
                continue;
            }
            // A stop word, or a word that stems like one ("befor"): filler.
            if self.stop_stems.contains(stem.as_str()) {
                continue;
            }
            push_concept(&mut concepts, plain.clone(), vec![(stem.clone(), 1.0)]);
        }
        concepts
    }

    /// Looks each concept up in the index: weights from IDF, typo fixes for unknown words.
    ///
    /// A concept weighs as much as its *least* specific known alternative, because that is
    /// what a passage may match it by ("hurt" → "pain" is as common as "pain"); a
    /// multi-word alternative is as specific as its rarest word.
    fn resolve(&self, freqs: &mut FieldFreqs, index: &OpenIndex, concepts: &mut [Concept]) {
        let n = freqs.searcher.num_docs().max(1) as f32;
        let idf = |df: u64| ((n - df as f32 + 0.5) / (df as f32 + 0.5) + 1.0).ln();
        let max_idf = idf(1);
        for concept in concepts.iter_mut() {
            let mut weight = f32::INFINITY;
            let mut known_alternatives = Vec::new();
            for (group, w) in &concept.alternatives {
                let dfs: Vec<u64> = group.split(' ').map(|stem| freqs.doc_freq(stem)).collect();
                if dfs.iter().all(|&df| df > 0) {
                    let rarest = dfs.iter().copied().min().unwrap_or(0);
                    weight = weight.min(idf(rarest));
                    known_alternatives.push((group.clone(), *w));
                }
            }
            // A misspelt little word ("shoud") is filler once fixed, like the word itself.
            let mut filler = false;
            if known_alternatives.is_empty() && !concept.word.contains(' ') {
                if let Some((fixed, df)) = typo_fix(freqs, index, &self.stem, &concept.word) {
                    if self.stop_stems.contains(&fixed) {
                        filler = true;
                    } else if df > 0 {
                        weight = idf(df);
                        known_alternatives.push((fixed, ALTERNATIVE_WEIGHT));
                    }
                }
            }
            concept.known = !known_alternatives.is_empty();
            if concept.known {
                // Only what the index has can match; the rest would be dead query terms.
                concept.alternatives = known_alternatives;
            }
            // An unknown word still counts against coverage: it may be what the question is
            // really about ("cure", "ibuprofen"), or chat filler the stop list does not know.
            // A number the articles never mention ("22 weeks", "a 2012 civic") says nothing,
            // nor does an everyday adverb they never use ("genuinely", "randomly").
            let says_nothing = filler
                || concept.word.chars().all(|c| c.is_ascii_digit())
                || (!concept.known && is_everyday_adverb(&concept.word));
            concept.weight = match (concept.known, says_nothing) {
                (true, _) => weight.max(max_idf * WEIGHT_FLOOR),
                (false, true) => 0.0,
                (false, false) => max_idf * UNKNOWN_WEIGHT,
            };
        }
    }

    fn rank(
        &self,
        freqs: &mut FieldFreqs,
        index: &OpenIndex,
        concepts: &[Concept],
        said: &FxHashSet<&str>,
        keep: usize,
    ) -> tantivy::Result<Vec<Hit>> {
        let searcher = freqs.searcher;
        let f = index.fields;
        let n = searcher.num_docs().max(1) as f32;
        let max_idf = ((n + 0.5) / 1.5 + 1.0).ln();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen: FxHashSet<&str> = FxHashSet::default();
        for concept in concepts.iter().filter(|c| c.known) {
            for (group, weight) in &concept.alternatives {
                if !seen.insert(group.as_str()) {
                    continue;
                }
                let stems: Vec<&str> = group.split(' ').collect();
                let in_field: Vec<[u64; 4]> = stems.iter().map(|s| freqs.of(s)).collect();
                for (i, (field, boost)) in [
                    (f.body, 1.0),
                    (f.heading, self.config.heading_boost),
                    (f.path, self.config.path_boost),
                    (f.keywords, self.config.keywords_boost),
                ]
                .into_iter()
                .enumerate()
                {
                    // A field some stem never occurs in cannot match, and one weighted zero
                    // counts for nothing: no clause.
                    if boost <= 0.0 || in_field.iter().any(|dfs| dfs[i] == 0) {
                        continue;
                    }
                    let term = |stem: &str| -> Box<dyn Query> {
                        Box::new(TermQuery::new(
                            Term::from_field_text(field, stem),
                            IndexRecordOption::WithFreqs,
                        ))
                    };
                    let query: Box<dyn Query> = if stems.len() == 1 {
                        term(stems[0])
                    } else {
                        Box::new(BooleanQuery::new(
                            stems.iter().map(|s| (Occur::Must, term(s))).collect(),
                        ))
                    };
                    let boost = weight * boost * (QUERY_WEIGHT_BASE + concept.weight / max_idf)
                        / stems.len() as f32;
                    clauses.push((Occur::Should, Box::new(BoostQuery::new(query, boost))));
                }
            }
        }
        // Words dropped as filler can still be half of a section's keyword phrase ("a bad
        // idea"): let them find candidates through the keywords field, weakly.
        for &stem in said.iter() {
            if !seen.contains(stem) && !self.function_words.contains(stem) {
                let term = TermQuery::new(
                    Term::from_field_text(f.keywords, stem),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(term), FILLER_KEYWORD_BOOST)),
                ));
            }
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let query = BooleanQuery::new(clauses);
        let top: Vec<(f32, DocAddress)> = searcher.search_with_statistics_provider(
            &query,
            &TopDocs::with_limit(CANDIDATES).order_by_score(),
            &*freqs,
        )?;
        let total_weight: f32 = concepts
            .iter()
            .map(|c| c.weight)
            .sum::<f32>()
            .max(f32::EPSILON);
        let max_bm25 = top
            .first()
            .map(|(s, _)| *s)
            .unwrap_or(1.0)
            .max(f32::EPSILON);
        let specific_weight = ((n + 0.5) / 1.5 + 1.0).ln() * SPECIFIC_SHARE;
        // Score every candidate from its precomputed analysis (read once per index
        // generation, see `PassageMemo`), then keep the `keep` best.
        // The known concepts with their alternatives split into stems, once.
        let known: Vec<(usize, &Concept, SplitAlternatives)> = concepts
            .iter()
            .enumerate()
            .filter(|(_, c)| c.known)
            .map(|(i, c)| {
                let alternatives = c
                    .alternatives
                    .iter()
                    .map(|(group, w)| (group.split(' ').collect(), *w))
                    .collect();
                (i, c, alternatives)
            })
            .collect();
        let said_bits = said.iter().fold(0, |bits, s| bits | stem_bits(s));
        let mut scored = Vec::with_capacity(top.len());
        for (bm25, address) in top {
            let passage = index.passages.get(searcher, &f, address)?;
            let analysis = &passage.analysis;
            // A section's own name: its heading, and those of its keyword phrases the
            // question says in full (a keyword is a phrase: "under the weather" must not make
            // every question about the weather match). A phrase matches when the question
            // says all of its content words (its function words may be phrased any other
            // way); it earns credit for its content words, and part credit for each of its
            // function words the question also says, since those carry the intent ("why
            // does my back hurt" is about causes, "how does my back hurt" is not).
            let mut matched: Vec<&str> = Vec::new();
            let mut phrase_credit = 0f32;
            for phrase in analysis.phrases.iter() {
                if phrase.bits & !said_bits == 0
                    && phrase.content.iter().all(|s| said.contains(&**s))
                {
                    let function_words = phrase
                        .every
                        .iter()
                        .filter(|s| said.contains(&***s) && !phrase.content.contains(s))
                        .count();
                    phrase_credit = phrase_credit.max(
                        phrase.content.len() as f32 + FUNCTION_WORD_CREDIT * function_words as f32,
                    );
                    matched.extend(phrase.content.iter().map(|s| &**s));
                }
            }
            let own = |s: &str| has_stem(&analysis.own, s) || matched.contains(&s);
            let present = |s: &str| analysis.all.contains(s) || matched.contains(&s);
            // The first alternative whose stems all pass `has` (as `Concept::found_in`).
            let found = |alternatives: &[(Vec<&str>, f32)], has: &dyn Fn(&str) -> bool| {
                alternatives
                    .iter()
                    .find(|(stems, _)| stems.iter().all(|s| has(s)))
                    .map(|(_, w)| *w)
            };
            let (mut covered, mut credit, mut heading_credit, mut anchored) =
                (Vec::new(), 0.0, 0.0, false);
            for (i, concept, alternatives) in &known {
                if let Some(w) = found(alternatives, &present) {
                    covered.push(*i);
                    credit += concept.weight * w;
                    anchored |= concept.weight < specific_weight;
                }
                if let Some(w) = found(alternatives, &own) {
                    heading_credit += concept.weight * w;
                }
            }
            let coverage = credit / total_weight;
            let heading_coverage = heading_credit / total_weight;
            let score = coverage
                + HEADING_WEIGHT * heading_coverage
                + BM25_WEIGHT * bm25 / max_bm25
                + PHRASE_WEIGHT * phrase_credit.min(PHRASE_FULL) / PHRASE_FULL;
            scored.push(Scored {
                passage,
                bm25,
                coverage,
                covered,
                heading_coverage,
                anchored,
                score,
            });
        }
        scored.sort_by(|a, b| b.score.total_cmp(&a.score));
        answering_leader_first(
            &mut scored,
            |s| s.score,
            |s| answers(s.coverage, s.anchored, s.covered.len(), &self.config),
        );
        let hits = scored
            .into_iter()
            .take(keep)
            .map(Scored::into_hit)
            .collect();
        Ok(hits)
    }
}

/// Between tied leaders of a ranking (best first; within [`TIE`] of the best score), one
/// that answers the question (see [`Hit::answers`]) goes first: a tie should not decline a
/// question that a passage answers. A better passage that fails is not passed over for a
/// weaker one, which would be noise.
fn answering_leader_first<T>(
    ranked: &mut [T],
    score: impl Fn(&T) -> f32,
    passes: impl Fn(&T) -> bool,
) {
    let Some(top) = ranked.first().filter(|top| !passes(top)) else {
        return;
    };
    let floor = score(top) * TIE;
    if let Some(i) = ranked
        .iter()
        .take_while(|t| score(t) >= floor)
        .position(passes)
    {
        ranked[..=i].rotate_right(1);
    }
}

/// Plain BM25 over section text and heading: one term query per distinct word of the
/// question, stemmed, nothing dropped or added. The evaluation's baseline and the benchmarks'
/// floor, so both compare against the same thing.
pub fn bare_query(fields: &Fields, analyzer: &mut TextAnalyzer, question: &str) -> BooleanQuery {
    let mut stream = analyzer.token_stream(question);
    let mut seen = HashSet::new();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    while let Some(token) = stream.next() {
        if seen.insert(token.text.clone()) {
            for field in [fields.body, fields.heading] {
                let term = Term::from_field_text(field, &token.text);
                clauses.push((
                    Occur::Should,
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                ));
            }
        }
    }
    BooleanQuery::new(clauses)
}

fn push_concept(concepts: &mut Vec<Concept>, word: String, alternatives: Vec<(String, f32)>) {
    if alternatives.is_empty() {
        return;
    }
    let primary = &alternatives[0].0;
    if concepts
        .iter()
        .any(|c| c.alternatives.first().is_some_and(|(s, _)| s == primary))
    {
        return;
    }
    concepts.push(Concept {
        word,
        alternatives,
        weight: 0.0,
        known: false,
    });
}

/// Words just before a number that make it the asker's (or someone's) age: "im 58" ("i'm"
/// splits into "i" and "m"), "i am 58", "aged 58", "she is 16", "turned 50".
const AGE_BEFORE: &[&str] = &["im", "m", "am", "aged", "age", "is", "turned", "turning"];

/// Words just after a number that make it something other than an age ("im 10 weeks
/// pregnant", "i am 90 kg").
const NOT_AGE_AFTER: &[&str] = &[
    "week", "weeks", "wks", "month", "months", "day", "days", "hour", "hours", "hrs", "min",
    "mins", "minute", "minutes", "kg", "kgs", "kilos", "lb", "lbs", "pounds", "stone", "cm",
    "percent", "times", "sessions", "massages", "degrees",
];

/// The age band the articles name for `words[at]`, when it is a number said as an age (see
/// [`AGE_BEFORE`], followed by "years old" or "yo", or opening the message before "and" or
/// "with"): back pain starting under 20 or over
/// 50 is a reason to see a doctor soon. Stems of the matching words of the article.
fn age_group(words: &[(String, String)], at: usize) -> Option<&'static str> {
    let word = words[at].0.as_str();
    if word.is_empty() || word.len() > 3 || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let plain = |i: usize| words.get(i).map(|(p, _)| p.as_str());
    let after = plain(at + 1);
    let said_as_age = match after {
        Some("yo") => true,
        Some("years" | "year" | "yrs" | "yr") => plain(at + 2) == Some("old"),
        Some(next) if NOT_AGE_AFTER.contains(&next) => false,
        // "55 and first time ever getting back pain": an age opening the message.
        Some("and" | "with") if at == 0 => true,
        _ => at > 0 && plain(at - 1).is_some_and(|before| AGE_BEFORE.contains(&before)),
    };
    if !said_as_age {
        return None;
    }
    match word.parse::<u32>().ok()? {
        10..=19 => Some("under 20"),
        50..=120 => Some("over 50"),
        _ => None,
    }
}

/// A candidate passage with its ranking figures, before it becomes a [`Hit`].
struct Scored {
    passage: Arc<StoredPassage>,
    bm25: f32,
    coverage: f32,
    covered: Vec<usize>,
    heading_coverage: f32,
    anchored: bool,
    score: f32,
}

impl Scored {
    fn into_hit(self) -> Hit {
        Hit {
            passage: self.passage,
            bm25: self.bm25,
            coverage: self.coverage,
            covered: self.covered,
            heading_coverage: self.heading_coverage,
            anchored: self.anchored,
            score: self.score,
        }
    }
}

/// A concept's alternatives, each split into its stems, with its weight.
type SplitAlternatives<'a> = Vec<(Vec<&'a str>, f32)>;

/// Document frequencies of stems in the searched fields (body, heading, path, keywords),
/// each looked up once per question: concept weights and the query's clauses need them both.
/// They also serve BM25 its statistics, so the search does not look each term up again.
struct FieldFreqs<'s> {
    searcher: &'s Searcher,
    fields: [Field; 4],
    known: FxHashMap<String, [u64; 4]>,
    /// Tokens per field, for BM25's average field length.
    tokens: [u64; 4],
}

impl<'s> FieldFreqs<'s> {
    fn new(searcher: &'s Searcher, f: &Fields) -> FieldFreqs<'s> {
        let fields = [f.body, f.heading, f.path, f.keywords];
        FieldFreqs {
            searcher,
            fields,
            known: FxHashMap::default(),
            tokens: fields.map(|field| searcher.total_num_tokens(field).unwrap_or(0)),
        }
    }

    /// Frequencies in body, heading, path and keywords, in that order.
    fn of(&mut self, stem: &str) -> [u64; 4] {
        if let Some(dfs) = self.known.get(stem) {
            return *dfs;
        }
        let dfs = self.fields.map(|field| {
            self.searcher
                .doc_freq(&Term::from_field_text(field, stem))
                .unwrap_or(0)
        });
        self.known.insert(stem.to_string(), dfs);
        dfs
    }

    fn slot(&self, field: Field) -> Option<usize> {
        self.fields.iter().position(|&f| f == field)
    }

    /// In how many passages the stem occurs at all (a heading is part of its path).
    fn doc_freq(&mut self, stem: &str) -> u64 {
        let [body, _, path, keywords] = self.of(stem);
        body.max(path).max(keywords)
    }
}

impl Bm25StatisticsProvider for FieldFreqs<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        match self.slot(field) {
            Some(i) => Ok(self.tokens[i]),
            None => self.searcher.total_num_tokens(field),
        }
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        self.searcher.total_num_docs()
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let value = term.value();
        let known = self.slot(term.field()).and_then(|i| {
            let dfs = self.known.get(value.as_str()?)?;
            Some(dfs[i])
        });
        match known {
            Some(df) => Ok(df),
            None => self.searcher.doc_freq(term),
        }
    }
}

/// The correction of an out-of-vocabulary word, if it looks like a misspelling of an indexed
/// word: the most frequent word of the `words` field (the articles' words as written)
/// within edit distance 1 (2 for words of 9+ letters), keeping the first letter, and, for a
/// single substituted letter, only a plausible slip (a neighbouring key or a letter that
/// sounds alike). Short words, common English words ("movie" is not a slip for "move") and
/// real words that merely resemble an indexed word ("cancel" vs "cancer") are left alone,
/// but a chat clipping the word list also has ("thinkin", "goin") is read with its g, even
/// when the articles lack that word (document frequency 0: a stop word such as "going" is
/// still recognised as filler). Returns the *stem* and its document frequency.
fn typo_fix(
    freqs: &mut FieldFreqs,
    index: &OpenIndex,
    stem_analyzer: &TextAnalyzer,
    word: &str,
) -> Option<(String, u64)> {
    let len = word.chars().count();
    if len < MIN_TYPO_LEN || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    if is_common_english(word) {
        // Except a chat clipping of a "-ing" word ("thinkin", "goin"), which the word list
        // also has: it means the word with its g.
        if !word.ends_with("in") {
            return None;
        }
        return stem_and_doc_freq(freqs, stem_analyzer, &format!("{word}g"));
    }
    let max_distance = if len >= 9 { 2 } else { 1 };
    for distance in 1..=max_distance {
        let mut best: Option<(String, u32)> = None;
        let query = FuzzyTermQuery::new(
            Term::from_field_text(index.fields.words, word),
            distance,
            true,
        );
        let automaton = query.automaton().ok()?;
        for segment in freqs.searcher.segment_readers() {
            let Ok(inverted) = segment.inverted_index(index.fields.words) else {
                continue;
            };
            // A fix keeps the first letter (see `plausible_typo`): walk only that letter's
            // part of the dictionary.
            let Ok(mut stream) = inverted
                .terms()
                .search(&automaton)
                .ge(&word[..1])
                .lt([word.as_bytes()[0] + 1])
                .into_stream()
            else {
                continue;
            };
            while stream.advance() {
                let df = stream.value().doc_freq;
                let Ok(candidate) = std::str::from_utf8(stream.key()) else {
                    continue;
                };
                if !plausible_typo(word, candidate) {
                    continue;
                }
                if best.as_ref().is_none_or(|(_, d)| df > *d) {
                    best = Some((candidate.to_string(), df));
                }
            }
        }
        if let Some((fixed, _)) = best {
            return stem_and_doc_freq(freqs, stem_analyzer, &fixed).filter(|&(_, df)| df > 0);
        }
    }
    None
}

/// `word`'s stem and how many passages contain it.
fn stem_and_doc_freq(
    freqs: &mut FieldFreqs,
    stem_analyzer: &TextAnalyzer,
    word: &str,
) -> Option<(String, u64)> {
    let mut analyzer = stem_analyzer.clone();
    let mut stream = analyzer.token_stream(word);
    let stem = stream.next().map(|t| t.text.clone())?;
    let df = freqs.doc_freq(&stem);
    Some((stem, df))
}

/// Lowercase English words common enough (wordfreq Zipf frequency >= 3.2, about 22,000
/// words) that one the articles never use is what the user meant, not a slip: "movie",
/// "brother", "plant" and "shout" are not misspellings of "move", "bother", "plan" and
/// "shot". Written by `scripts/common-english.py`; rarer words ("sceptical") and real
/// misspellings ("massge", "tatoo") are not in it.
static COMMON_ENGLISH: LazyLock<FxHashSet<&'static str>> = LazyLock::new(|| {
    include_str!("retrieve/common-english.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect()
});

/// Whether `word` (lowercase) is in [`COMMON_ENGLISH`].
pub(crate) fn is_common_english(word: &str) -> bool {
    COMMON_ENGLISH.contains(word)
}

/// An everyday "-ly" adverb ("genuinely", "constantly", "personally"): how something is
/// said, not what it is about.
fn is_everyday_adverb(word: &str) -> bool {
    word.len() >= 6 && word.ends_with("ly") && is_common_english(word)
}

/// Words shorter than this are never typo-fixed: too many real words lie one edit apart.
const MIN_TYPO_LEN: usize = 5;

/// Whether `candidate` (within the automaton's distance of `typed`) is a believable
/// misspelling target: same first letter, and a same-length single-letter difference only
/// between neighbouring keys or letters that sound alike.
fn plausible_typo(typed: &str, candidate: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (typed.chars().collect(), candidate.chars().collect());
    if a.first() != b.first() || candidate.chars().count() < MIN_TYPO_LEN - 1 {
        return false;
    }
    if a.len() != b.len() {
        return true; // a letter dropped or doubled
    }
    let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    match diffs.as_slice() {
        [i] => similar_letters(a[*i], b[*i]),
        [i, j] if *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i] => true, // swapped letters
        _ => true, // two edits in a long word
    }
}

/// Neighbouring keys on a QWERTY keyboard, or letters that often stand for the same sound
/// (any vowel for another: "pregnent", "seperate" are spelled by ear).
fn similar_letters(x: char, y: char) -> bool {
    const ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
    const SOUND_ALIKE: [&str; 4] = ["csk", "sz", "iy", "aeiou"];
    let pos = |c: char| {
        ROWS.iter()
            .enumerate()
            .find_map(|(r, row)| row.find(c).map(|col| (r as i32, col as i32)))
    };
    let near = match (pos(x), pos(y)) {
        // Same row, next key; or the row above/below, at the same or the next column.
        (Some((r1, c1)), Some((r2, c2))) => {
            (r1 == r2 && (c1 - c2).abs() == 1)
                || ((r1 - r2).abs() == 1
                    && (c1 - c2 == 0 || c1 - c2 == if r1 > r2 { -1 } else { 1 }))
        }
        _ => false,
    };
    near || SOUND_ALIKE
        .iter()
        .any(|group| group.contains(x) && group.contains(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_read_as_the_articles_age_bands() {
        let age = |text: &str| {
            let words: Vec<(String, String)> = text
                .split(' ')
                .map(|w| (w.to_string(), w.to_string()))
                .collect();
            let at = words
                .iter()
                .position(|(w, _)| w.bytes().all(|b| b.is_ascii_digit()));
            age_group(&words, at.expect("a number"))
        };
        assert_eq!(age("i m 58 and it started last week"), Some("over 50"));
        assert_eq!(age("my son is 16 and his back hurts"), Some("under 20"));
        assert_eq!(age("she turned 50 last year"), Some("over 50"));
        assert_eq!(age("my dad 72 years old has back pain"), Some("over 50"));
        assert_eq!(age("a 17 yo with back pain"), Some("under 20"));
        assert_eq!(
            age("55 and first time ever getting back pain"),
            Some("over 50")
        );
        assert_eq!(age("so 55 and my back hurts"), None);
        // Not ages: durations, weights, or an age the articles say nothing about.
        assert_eq!(age("im 10 weeks pregnant"), None);
        assert_eq!(age("i am 90 kg"), None);
        assert_eq!(age("it is 60 minutes long"), None);
        assert_eq!(age("massage for 50 years"), None);
        assert_eq!(age("im 35 and my back hurts"), None);
        assert_eq!(age("im 1000 and my back hurts"), None);
    }

    fn hit(coverage: f32, anchored: bool, score: f32, path: &str, covered: Vec<usize>) -> Hit {
        Hit {
            passage: Arc::new(StoredPassage {
                article: String::new(),
                file: String::new(),
                source: String::new(),
                heading: path.to_string(),
                path: path.to_string(),
                body: String::new(),
                line: 1,
                analysis: Analysis::default(),
                units: Default::default(),
            }),
            bm25: score,
            coverage,
            covered,
            heading_coverage: 0.0,
            anchored,
            score,
        }
    }

    #[test]
    fn a_tied_passage_that_answers_goes_before_a_leader_that_does_not() {
        // (score, passes the decline rule)
        let order = |mut ranked: Vec<(f32, bool)>| {
            answering_leader_first(&mut ranked, |r| r.0, |r| r.1);
            ranked
        };
        // A tie: the one that answers leads, the rest keep their order.
        assert_eq!(
            order(vec![(1.0, false), (0.99, false), (0.98, true), (0.5, true)]),
            [(0.98, true), (1.0, false), (0.99, false), (0.5, true)]
        );
        // A clearly better leader is not passed over for a weaker passage.
        assert_eq!(
            order(vec![(1.0, false), (0.9, true)]),
            [(1.0, false), (0.9, true)]
        );
        // A leader that answers stays first.
        assert_eq!(
            order(vec![(1.0, true), (1.0, true)]),
            [(1.0, true), (1.0, true)]
        );
    }

    #[test]
    fn a_phrase_prefilter_never_rules_out_a_phrase_the_question_says() {
        let analysis = Analysis::parse("stone\nhot stone\nhot stone|the hot stone\nbasalt|basalt");
        let said = ["a", "hot", "stone", "please"];
        let said_bits = said.iter().fold(0, |bits, s| bits | stem_bits(s));
        let [hot_stone, basalt] = &analysis.phrases[..] else {
            panic!("two phrases expected");
        };
        assert_eq!(hot_stone.bits & !said_bits, 0);
        assert_eq!(basalt.bits, stem_bits("basalt"));
        assert!(stem_bits("hot").is_power_of_two());
    }

    #[test]
    fn typo_fixes_are_plausible_slips_only() {
        assert!(plausible_typo("massge", "massage")); // dropped letter
        assert!(plausible_typo("histroy", "history")); // swapped letters
        assert!(plausible_typo("licenced", "licensed")); // sound-alike letter
        assert!(plausible_typo("tissie", "tissue")); // neighbouring key
        assert!(plausible_typo("pregnent", "pregnant")); // a vowel by ear
        assert!(!plausible_typo("cancel", "cancer")); // l and r: a different word
        assert!(!plausible_typo("killing", "illing")); // first letter kept
        assert!(
            similar_letters('a', 's') && similar_letters('q', 'a') && !similar_letters('a', 'p')
        );
    }

    #[test]
    fn decline_rule_needs_more_coverage_without_a_domain_word() {
        let config = AnswerConfig::default();
        // "can people with cancer get massages": anchored by "massage", well covered.
        assert!(hit(0.9, true, 1.0, "a", vec![0, 1]).answers(&config));
        // A chatty lay question: much uncovered, but it shares a domain word.
        assert!(hit(config.min_coverage + 0.05, true, 1.0, "a", vec![0]).answers(&config));
        // "recommend me a good netflix series": one shared word, no domain word.
        assert!(!hit(0.33, false, 1.0, "a", vec![0]).answers(&config));
        assert!(hit(config.min_coverage_unanchored, false, 1.0, "a", vec![0]).answers(&config));
        // Nothing matched at all.
        assert!(!hit(0.0, true, 1.0, "a", vec![]).answers(&config));
    }

    #[test]
    fn second_passage_must_be_close_and_add_something() {
        let config = AnswerConfig::default();
        let retrieval = Retrieval {
            out_of_scope: None,
            off_topic: Some(0.5),
            concepts: Vec::new(),
            hits: vec![
                hit(0.8, true, 1.0, "a", vec![0, 1]),
                hit(0.6, true, 0.7, "b", vec![2]),
                hit(0.6, true, 0.69, "c", vec![0]),
            ],
        };
        let chosen: Vec<&str> = retrieval
            .answering_hits(&config)
            .iter()
            .map(|h| h.passage.path.as_str())
            .collect();
        assert_eq!(chosen, ["a", "b"]);
        let declined = Retrieval {
            hits: vec![hit(0.3, false, 1.0, "a", vec![0])],
            ..Default::default()
        };
        assert!(declined.answering_hits(&config).is_empty());
        let out_of_scope = Retrieval {
            out_of_scope: Some("dose".into()),
            ..retrieval.clone()
        };
        assert!(out_of_scope.answering_hits(&config).is_empty());
        let judged_off_topic = Retrieval {
            off_topic: Some(config.decline_above + 0.01),
            ..retrieval.clone()
        };
        assert!(judged_off_topic.answering_hits(&config).is_empty());
    }

    #[test]
    fn concepts_group_lay_phrases_and_drop_filler() {
        let synonyms = Synonyms::parse(
            "[lay_terms]\nchemo = [\"cancer treatment\"]\n\"hurt less\" = [\"pain relief\"]\n",
            std::path::Path::new("s.toml"),
        )
        .unwrap();
        let r = Retriever::new(synonyms, AnswerConfig::default());
        let concepts = r.concepts(&r.words("is it actually safe during chemo, will it hurt less?"));
        let words: Vec<&str> = concepts.iter().map(|c| c.word.as_str()).collect();
        assert_eq!(words, ["safe", "chemo", "hurt less"]);
        assert!(concepts[1]
            .alternatives
            .iter()
            .any(|(g, _)| g == "cancer treatment"));
        // A multi-word alternative needs all of its words.
        assert!(concepts[1].found_in(|s| s == "treatment").is_none());
        assert!(concepts[1]
            .found_in(|s| s == "treatment" || s == "cancer")
            .is_some());
        // "hurt" is only a fragment of "hurt less": "pain relief" says it fully.
        assert_eq!(
            concepts[2].found_in(|s| s == "hurt"),
            Some(ALTERNATIVE_WEIGHT)
        );
        assert_eq!(
            concepts[2].found_in(|s| ["hurt", "pain", "relief"].contains(&s)),
            Some(1.0)
        );
        // A single lay word keeps its own word first.
        assert_eq!(concepts[1].found_in(|s| s == "chemo"), Some(1.0));
        // Chat spellings are filler too, not unknown words that count against coverage.
        let chat = r.concepts(&r.words("wen is a massage ok tho, ngl it hurts rn, 20 mins max"));
        let words: Vec<&str> = chat.iter().map(|c| c.word.as_str()).collect();
        assert_eq!(words, ["massage", "hurts", "20", "max"]);
        // A misspelling that stems like a little word ("befor" is "before") is filler too.
        let slip = r.concepts(&r.words("stretch befor a massage"));
        let words: Vec<&str> = slip.iter().map(|c| c.word.as_str()).collect();
        assert_eq!(words, ["stretch", "massage"]);
    }
}
