//! The rule file (`knowledge/red-flags.toml`): its format, its validation and its
//! compilation into matchers.
//!
//! Validation collects *every* problem with the 1-based line it is on (TOML syntax,
//! unknown keys, unknown urgency, invalid or empty-matching regex, missing / unknown /
//! duplicate category ids, empty pattern lists, combinations naming unknown signals) so a
//! moderator can fix the file in one go. Nothing here runs per message: every regex is
//! compiled once, here, and an invalid file never produces a `Rules`.
//!
//! The file is walked as a spanned TOML tree (`toml::de::DeTable`) rather than through
//! `serde` derive, because derive stops at the first error and loses the line of values
//! nested in arrays.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use super::{Category, Urgency};
use crate::problem::{line_of_offset, Problem};

/// The category ids the rest of the bot relies on, in the taxonomy's tie-break order.
pub(crate) const CATEGORY_IDS: [&str; 11] = [
    "self_harm",
    "cardiac",
    "aortic_aneurysm",
    "blood_clot",
    "cauda_equina",
    "spinal_fracture",
    "infection",
    "malignancy",
    "neuro_deficit",
    "inflammatory",
    "massage_contraindication",
];

/// Compiled regexes may be large (many alternations, `\w` is Unicode-aware); these limits
/// are generous for a file of a few hundred patterns and still bound memory.
const REGEX_SIZE_LIMIT: usize = 32 << 20;

/// What a pattern raises: a category directly, or a named signal (used by categories and
/// combination rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    Category(usize),
    Signal(usize),
}

/// How a pattern treats an episode that is explicitly in the past and resolved (rule 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Past {
    /// Suppressed by any explicit past cue plus a resolution cue.
    Resolvable,
    /// Suppressed only by a *distant* (years) past cue plus a resolution cue: recent
    /// trauma stays current even when the user says they are fine.
    Lasting,
    /// Suppressed by a distant (years) past cue alone, or any past cue plus a resolution
    /// cue: a pregnancy or an operation years ago is over without anyone saying so.
    Expires,
    /// Never suppressed by time (a history of cancer, a past DVT).
    Always,
}

/// A pattern validated when the rules load and compiled on first use: a message hits a
/// handful of the hundreds of patterns, and compiling them all up front dominated start-up.
/// The `RegexSet` (built eagerly) decides which patterns hit; this finds where.
#[derive(Debug)]
pub(crate) struct LazyRegex {
    source: String,
    regex: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    fn new(pattern: &str) -> LazyRegex {
        LazyRegex {
            source: pattern.to_string(),
            regex: OnceLock::new(),
        }
    }

    /// The compiled pattern (`None` only if it validated but cannot compile, e.g. too large).
    pub fn get(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| compile(&self.source).ok())
            .as_ref()
    }
}

/// One rule pattern.
#[derive(Debug)]
pub(crate) struct Matcher {
    pub regex: LazyRegex,
    pub target: Target,
    /// Overrides the category's urgency for this pattern.
    pub urgency: Option<Urgency>,
    pub past: Past,
}

/// "All of these present raise `category` to `urgency`".
#[derive(Debug)]
pub(crate) struct Combination {
    pub when: Vec<Target>,
    pub category: usize,
    pub urgency: Urgency,
}

/// The cue lists of `[language]`, each compiled into one alternation.
#[derive(Debug, Default)]
pub(crate) struct Language {
    pub negation: Option<Regex>,
    pub pseudo_negation: Option<Regex>,
    pub terminators: Option<Regex>,
    pub recent_past: Option<Regex>,
    pub distant_past: Option<Regex>,
    pub resolved: Option<Regex>,
    pub figurative: Option<Regex>,
    pub general_question: Option<Regex>,
    pub personal: Option<Regex>,
    pub third_party: Option<Regex>,
    pub red_flag_topics: Option<Regex>,
}

/// Everything `Rules` needs, built once.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub categories: Vec<Category>,
    pub signal_names: Vec<String>,
    /// For each signal, the categories it raises on its own.
    pub signal_categories: Vec<Vec<usize>>,
    pub matchers: Vec<Matcher>,
    pub set: RegexSet,
    pub language: Language,
    pub spelling: HashMap<String, String>,
    pub combinations: Vec<Combination>,
    pub warnings: Vec<Problem>,
}

/// The `[language]` keys and where each compiled list goes.
const LANGUAGE_KEYS: [&str; 11] = [
    "negation_cues",
    "pseudo_negations",
    "scope_terminators",
    "recent_past_cues",
    "distant_past_cues",
    "resolved_cues",
    "figurative",
    "general_question_cues",
    "personal_markers",
    "third_party_cues",
    "red_flag_topics",
];

struct Ctx<'a> {
    source: &'a str,
    path: &'a Path,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Ctx<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        line_of_offset(self.source, span.start)
    }
    fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let line = self.line(span);
        self.errors.push(Problem::error(self.path, line, message));
    }
    fn warning(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let line = self.line(span);
        self.warnings
            .push(Problem::warning(self.path, line, message));
    }

    /// Report keys of `table` that are not in `allowed`.
    fn check_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], what: &str) {
        for key in table.keys() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                let message = format!(
                    "unknown key `{}` in {what} (expected one of: {})",
                    key.get_ref(),
                    allowed.join(", ")
                );
                self.error(&key.span(), message);
            }
        }
    }

    fn string<'t>(&mut self, value: &'t Spanned<DeValue<'_>>, what: &str) -> Option<&'t str> {
        let s = value.get_ref().as_str();
        if s.is_none() {
            self.error(
                &value.span(),
                format!(
                    "{what} must be a string, found {}",
                    value.get_ref().type_str()
                ),
            );
        }
        s
    }

    fn array<'t, 'i>(
        &mut self,
        value: &'t Spanned<DeValue<'i>>,
        what: &str,
    ) -> Option<&'t DeArray<'i>> {
        let a = value.get_ref().as_array();
        if a.is_none() {
            self.error(
                &value.span(),
                format!(
                    "{what} must be an array, found {}",
                    value.get_ref().type_str()
                ),
            );
        }
        a
    }

    fn urgency(&mut self, value: &Spanned<DeValue<'_>>, what: &str) -> Option<Urgency> {
        let s = self.string(value, what)?;
        let u = Urgency::from_name(s.trim());
        if u.is_none() || u == Some(Urgency::None) {
            let message =
                format!("unknown urgency `{s}` in {what} (expected emergency, urgent or soon)");
            self.error(&value.span(), message);
            return None;
        }
        u
    }

    /// Check one regex; `None` (with a problem recorded) when unusable.
    fn regex(&mut self, pattern: &str, span: &Range<usize>, what: &str) -> Option<LazyRegex> {
        if pattern.trim().is_empty() {
            self.error(span, format!("empty pattern in {what}"));
            return None;
        }
        if pattern.contains('\'') {
            let message = format!(
                "pattern `{pattern}` in {what} contains an apostrophe, but apostrophes are removed from \
                 messages before matching (\"can't\" becomes \"cant\"): write `cant`, not `can'?t`"
            );
            self.error(span, message);
            return None;
        }
        if !pattern.is_ascii() {
            let message = format!(
                "pattern `{pattern}` in {what} contains a non-ASCII character, which can never match: \
                 messages are reduced to ASCII before matching (emoji, accents and `°` become spaces)"
            );
            self.error(span, message);
            return None;
        }
        match validate(pattern) {
            Ok(hir) if hir.properties().minimum_len() == Some(0) => {
                self.error(span, format!("pattern `{pattern}` in {what} matches empty text, so it would match every message"));
                None
            }
            Ok(_) => Some(LazyRegex::new(pattern)),
            Err(detail) => {
                self.error(
                    span,
                    format!("invalid regex `{pattern}` in {what}: {detail}"),
                );
                None
            }
        }
    }
}

/// Make a pattern match whole words only: where the match starts (ends) with a letter or
/// digit, the character before (after) it must not be one. `\b` alone would also forbid
/// patterns that start with punctuation (`, and my`) after a space, and a post-filter
/// would miss "youre" after rejecting "you" in `if (you|youre)`; the half boundaries
/// (`\b{start-half}`: nothing word-like on the left) give exactly this rule inside the
/// regex, so alternation still backtracks to the longer word.
fn whole_words(pattern: &str) -> String {
    format!(r"(?:\b|\b{{start-half}})(?:{pattern})(?:\b|\b{{end-half}})")
}

/// Compile a pattern the way every rule pattern is compiled (whole words,
/// case-insensitive).
fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&whole_words(pattern))
        .case_insensitive(true)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Parse a pattern exactly as [`compile`] would (whole words, case-insensitive, ASCII), without
/// building an automaton: syntax errors, with the parser's one-line reason.
fn validate(pattern: &str) -> Result<regex_syntax::hir::Hir, String> {
    regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .unicode(false)
        .utf8(true)
        .build()
        .parse(&whole_words(pattern))
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
}

/// Join several validated patterns into one alternation.
fn alternation(patterns: &[String]) -> Option<Regex> {
    if patterns.is_empty() {
        return None;
    }
    let joined = patterns
        .iter()
        .map(|p| format!("(?:{p})"))
        .collect::<Vec<_>>()
        .join("|");
    compile(&joined).ok()
}

/// A pattern entry before compilation.
struct Entry {
    pattern: String,
    regex: LazyRegex,
    urgency: Option<Urgency>,
    past: Past,
}

/// Parse a pattern list: strings, or inline tables `{ re = "...", urgency = "...", past = "..." }`.
fn entries(
    ctx: &mut Ctx<'_>,
    value: &Spanned<DeValue<'_>>,
    what: &str,
    allow_urgency: bool,
) -> Vec<Entry> {
    let Some(array) = ctx.array(value, what) else {
        return Vec::new();
    };
    if array.is_empty() {
        ctx.error(
            &value.span(),
            format!("{what} is empty: add at least one pattern"),
        );
    }
    let mut out = Vec::new();
    for item in array.iter() {
        let span = item.span();
        let (pattern, urgency, past) = match item.get_ref() {
            DeValue::String(s) => (s.to_string(), None, Past::Resolvable),
            DeValue::Table(t) => {
                let allowed: &[&str] = if allow_urgency {
                    &["re", "urgency", "past"]
                } else {
                    &["re", "past"]
                };
                ctx.check_keys(t, allowed, what);
                let Some(re) = t.get("re") else {
                    ctx.error(
                        &span,
                        format!("pattern table in {what} needs `re = \"...\"`"),
                    );
                    continue;
                };
                let Some(pattern) = ctx.string(re, "`re`") else {
                    continue;
                };
                let urgency = match t.get("urgency") {
                    Some(u) => match ctx.urgency(u, what) {
                        Some(u) => Some(u),
                        None => continue,
                    },
                    None => None,
                };
                let past = match t.get("past") {
                    None => Past::Resolvable,
                    Some(p) => match ctx.string(p, "`past`") {
                        Some("resolvable") => Past::Resolvable,
                        Some("lasting") => Past::Lasting,
                        Some("expires") => Past::Expires,
                        Some("always") => Past::Always,
                        Some(other) => {
                            let message =
                                format!("unknown `past = \"{other}\"` in {what} (expected resolvable, lasting, expires or always)");
                            ctx.error(&p.span(), message);
                            continue;
                        }
                        None => continue,
                    },
                };
                (pattern.to_string(), urgency, past)
            }
            other => {
                ctx.error(
                    &span,
                    format!(
                        "{what} entries must be strings or tables, found {}",
                        other.type_str()
                    ),
                );
                continue;
            }
        };
        if let Some(regex) = ctx.regex(&pattern, &span, what) {
            out.push(Entry {
                pattern,
                regex,
                urgency,
                past,
            });
        }
    }
    out
}

/// A `[signals]` entry before compilation.
struct RawSignal {
    name: String,
    span: Range<usize>,
    entries: Vec<Entry>,
}

/// A `[[category]]` block before compilation.
struct RawCategory {
    category: Category,
    entries: Vec<Entry>,
    signals: Vec<usize>,
}

/// The top-level keys of the rule file.
const TOP_KEYS: [&str; 5] = ["language", "spelling", "signals", "category", "combination"];

/// Read and validate `source`, collecting every problem.
pub(crate) fn compile_rules(source: &str, path: &Path) -> Result<Compiled, Vec<Problem>> {
    let (doc, syntax) = DeTable::parse_recoverable(source);
    if !syntax.is_empty() {
        // Later sections of a file with broken syntax cannot be trusted; report the syntax.
        return Err(syntax
            .iter()
            .map(|e| {
                let line = e.span().map_or(1, |s| line_of_offset(source, s.start));
                Problem::error(path, line, format!("TOML syntax: {}", e.message().trim()))
            })
            .collect());
    }
    let mut ctx = Ctx {
        source,
        path,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let doc = doc.get_ref();
    ctx.check_keys(doc, &TOP_KEYS, "the top level");

    let language = language(&mut ctx, doc.get("language"));
    let spelling = spelling(&mut ctx, doc.get("spelling"));
    let signals = signals(&mut ctx, doc.get("signals"));
    let mut used_signals = HashSet::new();
    let raw = categories(&mut ctx, doc.get("category"), &signals, &mut used_signals);
    let combinations = combinations(
        &mut ctx,
        doc.get("combination"),
        &signals,
        &raw,
        &mut used_signals,
    );
    for (i, signal) in signals.iter().enumerate() {
        if !used_signals.contains(&i) {
            let message = format!(
                "signal `{}` is not used by any category or combination",
                signal.name
            );
            ctx.warning(&signal.span, message);
        }
    }
    if !ctx.errors.is_empty() {
        return Err(ctx.errors);
    }

    // Everything is valid: lay the patterns out for one `RegexSet` pass.
    let mut matchers = Vec::new();
    let mut sources = Vec::new();
    let mut signal_categories = vec![Vec::new(); signals.len()];
    let mut categories = Vec::new();
    for (c, rc) in raw.into_iter().enumerate() {
        for e in rc.entries {
            sources.push(e.pattern);
            let target = Target::Category(c);
            matchers.push(Matcher {
                regex: e.regex,
                target,
                urgency: e.urgency,
                past: e.past,
            });
        }
        for s in rc.signals {
            signal_categories[s].push(c);
        }
        categories.push(rc.category);
    }
    let mut signal_names = Vec::new();
    for (s, signal) in signals.into_iter().enumerate() {
        for e in signal.entries {
            sources.push(e.pattern);
            let target = Target::Signal(s);
            matchers.push(Matcher {
                regex: e.regex,
                target,
                urgency: None,
                past: e.past,
            });
        }
        signal_names.push(signal.name);
    }
    let set = RegexSetBuilder::new(sources.iter().map(|p| whole_words(p)))
        .case_insensitive(true)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT * 4)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let message = format!("the patterns together are too large to compile: {e}");
            vec![Problem::error(path, 1, message)]
        })?;
    Ok(Compiled {
        categories,
        signal_names,
        signal_categories,
        matchers,
        set,
        language,
        spelling,
        combinations,
        warnings: ctx.warnings,
    })
}

/// The `[language]` cue lists, each compiled into one alternation.
fn language(ctx: &mut Ctx<'_>, section: Option<&Spanned<DeValue<'_>>>) -> Language {
    let mut language = Language::default();
    let Some(section) = section else {
        ctx.error(
            &(0..0),
            "missing [language] table (negation cues, scope terminators, ...)",
        );
        return language;
    };
    let Some(table) = section.get_ref().as_table() else {
        ctx.error(&section.span(), "`language` must be a table");
        return language;
    };
    ctx.check_keys(table, &LANGUAGE_KEYS, "[language]");
    for key in LANGUAGE_KEYS {
        let what = format!("language.{key}");
        let Some(value) = table.get(key) else {
            ctx.error(
                &section.span(),
                format!("missing `{what}` (it may be an empty list)"),
            );
            continue;
        };
        let Some(array) = ctx.array(value, &what) else {
            continue;
        };
        let mut patterns = Vec::new();
        for item in array.iter() {
            if let Some(p) = ctx.string(item, &what) {
                if ctx.regex(p, &item.span(), &what).is_some() {
                    patterns.push(p.to_string());
                }
            }
        }
        let re = alternation(&patterns);
        match key {
            "negation_cues" => language.negation = re,
            "pseudo_negations" => language.pseudo_negation = re,
            "scope_terminators" => language.terminators = re,
            "recent_past_cues" => language.recent_past = re,
            "distant_past_cues" => language.distant_past = re,
            "resolved_cues" => language.resolved = re,
            "figurative" => language.figurative = re,
            "general_question_cues" => language.general_question = re,
            "personal_markers" => language.personal = re,
            "third_party_cues" => language.third_party = re,
            _ => language.red_flag_topics = re,
        }
    }
    language
}

/// The `[spelling]` table: whole words to their replacements.
fn spelling(ctx: &mut Ctx<'_>, value: Option<&Spanned<DeValue<'_>>>) -> HashMap<String, String> {
    let mut spelling = HashMap::new();
    let Some(value) = value else { return spelling };
    let Some(table) = value.get_ref().as_table() else {
        ctx.error(
            &value.span(),
            "`spelling` must be a table of `typo = \"replacement\"`",
        );
        return spelling;
    };
    let word_chars = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    for (key, value) in table.iter() {
        let word = key.get_ref().as_ref();
        if word.is_empty() || !word.bytes().all(word_chars) {
            let message = format!(
                "spelling key `{word}` must be one lowercase word of letters and digits \
                 (apostrophes are already removed: write `cnt`, not `cn't`)"
            );
            ctx.error(&key.span(), message);
            continue;
        }
        let Some(replacement) = ctx.string(value, &format!("spelling.{word}")) else {
            continue;
        };
        if replacement.trim().is_empty() || !replacement.bytes().all(|b| word_chars(b) || b == b' ')
        {
            let message = format!(
                "spelling replacement `{replacement}` must be lowercase letters, digits and spaces"
            );
            ctx.error(&value.span(), message);
            continue;
        }
        spelling.insert(word.to_string(), replacement.to_string());
    }
    spelling
}

/// The `[signals]` table: named pattern lists.
fn signals(ctx: &mut Ctx<'_>, value: Option<&Spanned<DeValue<'_>>>) -> Vec<RawSignal> {
    let Some(value) = value else {
        return Vec::new();
    };
    let Some(table) = value.get_ref().as_table() else {
        ctx.error(
            &value.span(),
            "`signals` must be a table of `name = [patterns]`",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in table.iter() {
        let name = key.get_ref().to_string();
        if CATEGORY_IDS.contains(&name.as_str()) {
            let message = format!("signal `{name}` has the same name as a category; rename it");
            ctx.error(&key.span(), message);
        }
        let entries = entries(ctx, value, &format!("signal `{name}`"), false);
        out.push(RawSignal {
            name,
            span: key.span(),
            entries,
        });
    }
    out
}

/// A required, non-empty string field of a table.
fn required_text(
    ctx: &mut Ctx<'_>,
    table: &DeTable<'_>,
    key: &str,
    block: &Range<usize>,
    what: &str,
) -> String {
    match table.get(key) {
        None => {
            ctx.error(block, format!("{what} has no `{key}`"));
            String::new()
        }
        Some(v) => match ctx.string(v, &format!("`{key}` of {what}")) {
            Some(s) if s.trim().is_empty() => {
                ctx.error(&v.span(), format!("`{key}` of {what} is empty"));
                String::new()
            }
            Some(s) => s.trim().to_string(),
            None => String::new(),
        },
    }
}

/// The `[[category]]` blocks, in file order; all of `CATEGORY_IDS` must be present once.
fn categories(
    ctx: &mut Ctx<'_>,
    value: Option<&Spanned<DeValue<'_>>>,
    signals: &[RawSignal],
    used_signals: &mut HashSet<usize>,
) -> Vec<RawCategory> {
    let mut out: Vec<RawCategory> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    match value.map(|v| (v.span(), v.get_ref().as_array())) {
        None => ctx.error(&(0..0), "no [[category]] blocks"),
        Some((span, None)) => ctx.error(&span, "`category` must be written as [[category]] blocks"),
        Some((_, Some(array))) => {
            for item in array.iter() {
                let span = item.span();
                let Some(table) = item.get_ref().as_table() else {
                    ctx.error(&span, "each [[category]] must be a table");
                    continue;
                };
                const KEYS: [&str; 6] = ["id", "name", "urgency", "advice", "patterns", "signals"];
                ctx.check_keys(table, &KEYS, "[[category]]");
                let Some(id_value) = table.get("id") else {
                    ctx.error(&span, "[[category]] without `id`");
                    continue;
                };
                let Some(id) = ctx.string(id_value, "`id`").map(str::to_string) else {
                    continue;
                };
                if !CATEGORY_IDS.contains(&id.as_str()) {
                    let message = format!(
                        "unknown category id `{id}` (expected one of: {})",
                        CATEGORY_IDS.join(", ")
                    );
                    ctx.error(&id_value.span(), message);
                    continue;
                }
                if let Some(&first) = seen.get(&id) {
                    let message =
                        format!("duplicate category id `{id}` (first defined on line {first})");
                    ctx.error(&id_value.span(), message);
                    continue;
                }
                seen.insert(id.clone(), ctx.line(&id_value.span()));
                let what = format!("category `{id}`");
                let name = required_text(ctx, table, "name", &span, &what);
                let advice = required_text(ctx, table, "advice", &span, &what);
                let urgency = match table.get("urgency") {
                    None => {
                        ctx.error(&span, format!("{what} has no `urgency`"));
                        Urgency::Soon
                    }
                    Some(v) => ctx.urgency(v, &what).unwrap_or(Urgency::Soon),
                };
                let entries = match table.get("patterns") {
                    None => {
                        ctx.error(&span, format!("{what} has no `patterns`"));
                        Vec::new()
                    }
                    Some(v) => entries(ctx, v, &format!("patterns of {what}"), true),
                };
                let mut raised_by = Vec::new();
                if let Some(v) = table.get("signals") {
                    if let Some(array) = ctx.array(v, &format!("signals of {what}")) {
                        for s in array.iter() {
                            let Some(name) = ctx.string(s, "a signal name") else {
                                continue;
                            };
                            match signals.iter().position(|x| x.name == name) {
                                Some(i) => {
                                    raised_by.push(i);
                                    used_signals.insert(i);
                                }
                                None => ctx.error(
                                    &s.span(),
                                    format!("{what} names unknown signal `{name}`"),
                                ),
                            }
                        }
                    }
                }
                let category = Category {
                    id,
                    name,
                    urgency,
                    advice,
                };
                out.push(RawCategory {
                    category,
                    entries,
                    signals: raised_by,
                });
            }
        }
    }
    let missing: Vec<&str> = CATEGORY_IDS
        .iter()
        .copied()
        .filter(|id| !seen.contains_key(*id))
        .collect();
    if !missing.is_empty() {
        let message = format!(
            "missing categories: {} (all {} are required)",
            missing.join(", "),
            CATEGORY_IDS.len()
        );
        ctx.error(&(0..0), message);
    }
    out
}

/// The `[[combination]]` blocks.
fn combinations(
    ctx: &mut Ctx<'_>,
    value: Option<&Spanned<DeValue<'_>>>,
    signals: &[RawSignal],
    categories: &[RawCategory],
    used_signals: &mut HashSet<usize>,
) -> Vec<Combination> {
    let Some(value) = value else {
        return Vec::new();
    };
    let Some(array) = value.get_ref().as_array() else {
        ctx.error(
            &value.span(),
            "`combination` must be written as [[combination]] blocks",
        );
        return Vec::new();
    };
    let category_index = |id: &str| categories.iter().position(|c| c.category.id == id);
    let mut out = Vec::new();
    for item in array.iter() {
        let span = item.span();
        let Some(table) = item.get_ref().as_table() else {
            ctx.error(&span, "each [[combination]] must be a table");
            continue;
        };
        ctx.check_keys(
            table,
            &["when", "category", "urgency", "note"],
            "[[combination]]",
        );
        let mut ok = true;
        let mut when = Vec::new();
        match table.get("when") {
            None => {
                ctx.error(&span, "[[combination]] has no `when = [\"signal\", ...]`");
                ok = false;
            }
            Some(v) => match ctx.array(v, "`when`") {
                None => ok = false,
                Some(array) => {
                    if array.len() < 2 {
                        ctx.error(&v.span(), "`when` needs at least two signals or categories");
                        ok = false;
                    }
                    for s in array.iter() {
                        let Some(name) = ctx.string(s, "a `when` entry") else {
                            ok = false;
                            continue;
                        };
                        if let Some(i) = signals.iter().position(|x| x.name == name) {
                            used_signals.insert(i);
                            when.push(Target::Signal(i));
                        } else if let Some(c) = category_index(name) {
                            when.push(Target::Category(c));
                        } else {
                            let message =
                                format!("combination names unknown signal or category `{name}`");
                            ctx.error(&s.span(), message);
                            ok = false;
                        }
                    }
                }
            },
        }
        let category = match table.get("category") {
            None => {
                ctx.error(&span, "[[combination]] has no `category`");
                None
            }
            Some(v) => ctx.string(v, "`category`").and_then(|id| {
                let c = category_index(id);
                if c.is_none() {
                    ctx.error(
                        &v.span(),
                        format!("combination raises unknown category `{id}`"),
                    );
                }
                c
            }),
        };
        let urgency = match table.get("urgency") {
            None => {
                ctx.error(&span, "[[combination]] has no `urgency`");
                None
            }
            Some(v) => ctx.urgency(v, "[[combination]]"),
        };
        if let (true, Some(category), Some(urgency)) = (ok, category, urgency) {
            out.push(Combination {
                when,
                category,
                urgency,
            });
        }
    }
    out
}
