//! Sentences, clauses and the scope of cues inside them: what decides whether a pattern
//! match in a normalised message is negated, resolved in the past, or part of a general
//! question rather than a symptom someone has.
//!
//! The mechanisms follow section 2 of the red-flag taxonomy (rules 3, 4 and 6); the cue
//! words themselves live in the rule file (`[language]`), so moderators can extend them.
//! - A *sentence* ends at `.`, `!`, `?`, `;` or a newline (a `.` between digits, as in
//!   "38.5", does not end one).
//! - A *clause* is a sentence cut further at every scope terminator ("but", "however",
//!   "and now", ", my ..."). Negation never crosses a clause boundary.
//! - A negation cue governs every finding after it in its own clause (NegEx-style), so one
//!   cue covers a list: "no fever, weight loss or night sweats". A cue that lies inside
//!   the match ("cant pee", "dont know when i need to pee") is part of the symptom, not a
//!   negation of it.

use regex::Regex;

use super::rules::{Language, Past};

/// A half-open byte range of the normalised text.
pub(crate) type Span = (usize, usize);

/// Every match of `re` in `text`, in order (none when there is no regex).
pub(crate) fn word_spans(re: Option<&Regex>, text: &str) -> Vec<Span> {
    re.map_or_else(Vec::new, |re| {
        re.find_iter(text).map(|m| (m.start(), m.end())).collect()
    })
}

/// `spans` minus those overlapping any of `holes`. Both are sorted and each is free of
/// overlaps within itself (they come from `find_iter`), so one linear sweep does it.
pub(crate) fn without_overlaps(spans: Vec<Span>, holes: &[Span]) -> Vec<Span> {
    let mut h = 0;
    spans
        .into_iter()
        .filter(|&(s, e)| {
            while h < holes.len() && holes[h].1 <= s {
                h += 1;
            }
            !(h < holes.len() && holes[h].0 < e)
        })
        .collect()
}

/// True when some span lies entirely inside `[lo, hi)`.
pub(crate) fn any_within(spans: &[Span], lo: usize, hi: usize) -> bool {
    let first = spans.partition_point(|&(s, _)| s < lo);
    spans[first..]
        .iter()
        .take_while(|&&(s, _)| s < hi)
        .any(|&(_, e)| e <= hi)
}

/// The sentence and clause structure of one normalised message.
#[derive(Debug)]
pub(crate) struct Segments {
    /// Sentence ranges, in order, covering the text.
    pub sentences: Vec<Span>,
    /// Clause ranges, in order, covering the text, each with its sentence index.
    clauses: Vec<(Span, usize)>,
}

impl Segments {
    /// Split `text` into sentences, then clauses at the start of each of `cuts` (sorted).
    pub fn new(text: &str, cuts: &[Span]) -> Segments {
        let bytes = text.as_bytes();
        let mut sentences = Vec::new();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let ends = match b {
                b'!' | b'?' | b';' | b'\n' => true,
                b'.' => {
                    let digit_before = i > 0 && bytes[i - 1].is_ascii_digit();
                    let digit_after = bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
                    !(digit_before && digit_after)
                }
                _ => false,
            };
            if ends {
                sentences.push((start, i + 1));
                start = i + 1;
            }
        }
        if start < text.len() || sentences.is_empty() {
            sentences.push((start, text.len()));
        }
        let mut clauses = Vec::with_capacity(sentences.len() + cuts.len());
        let mut next_cut = 0;
        for (index, &(s, e)) in sentences.iter().enumerate() {
            let mut clause_start = s;
            while next_cut < cuts.len() && cuts[next_cut].0 < e {
                let cut = cuts[next_cut].0;
                if cut > clause_start {
                    clauses.push(((clause_start, cut), index));
                    clause_start = cut;
                }
                next_cut += 1;
            }
            clauses.push(((clause_start, e), index));
        }
        Segments { sentences, clauses }
    }

    fn clause_index(&self, pos: usize) -> usize {
        self.clauses
            .partition_point(|&((s, _), _)| s <= pos)
            .saturating_sub(1)
    }

    /// The clause containing byte `pos`.
    pub fn clause(&self, pos: usize) -> Span {
        self.clauses
            .get(self.clause_index(pos))
            .map_or((0, 0), |&(span, _)| span)
    }

    /// The index of the sentence containing byte `pos`.
    pub fn sentence_index(&self, pos: usize) -> usize {
        self.clauses
            .get(self.clause_index(pos))
            .map_or(0, |&(_, i)| i)
    }
}

/// True when a negation cue governs the match `m`: the cue lies in the match's clause and
/// either ends before the match starts ("no numbness"), or sits inside the match after
/// its first word ("my leg isnt weak", where the pattern's gap swallowed the cue). A cue
/// that *starts* the match is the symptom's own wording ("cant pee", "no feeling down
/// there"); negation words a symptom phrase needs in the middle ("lost 5kg without
/// trying") are listed as pseudo-negations in the rule file, so they never get here.
pub(crate) fn negated(segments: &Segments, cues: &[Span], m: Span) -> bool {
    let (clause_start, clause_end) = segments.clause(m.0);
    if any_within(cues, clause_start, m.0) {
        return true;
    }
    let inside_until = m.1.min(clause_end);
    let first = cues.partition_point(|&(s, _)| s <= m.0);
    cues[first..]
        .iter()
        .take_while(|&&(s, _)| s < inside_until)
        .next()
        .is_some()
}

/// What the cues around a match say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A symptom someone has: raise it.
    Stands,
    /// Governed by a negation (or hypothetical) cue in its clause.
    Negated,
    /// Part of a general question about warning signs (rule 6).
    General,
    /// Explicitly in the past and over (rule 4).
    Resolved,
}

/// Every cue of one message, located once, so each match is judged by a few binary
/// searches.
#[derive(Debug)]
pub(crate) struct Scope {
    segments: Segments,
    negations: Vec<Span>,
    recent_past: Vec<Span>,
    distant_past: Vec<Span>,
    /// Per sentence: does it contain a resolution cue?
    resolved: Vec<bool>,
    /// Per sentence: where its general question starts (None: not a general question).
    general_from: Vec<Option<usize>>,
}

impl Scope {
    /// Locate every cue of `lang` in the (normalised, masked) `text`.
    pub fn new(text: &str, lang: &Language) -> Scope {
        let segments = Segments::new(text, &word_spans(lang.terminators.as_ref(), text));
        let pseudo = word_spans(lang.pseudo_negation.as_ref(), text);
        let negations = without_overlaps(word_spans(lang.negation.as_ref(), text), &pseudo);
        let resolved_cues = word_spans(lang.resolved.as_ref(), text);
        let general = word_spans(lang.general_question.as_ref(), text);
        // "should i watch for" is the question, not a person: personal words inside a
        // general cue do not count.
        let personal = without_overlaps(word_spans(lang.personal.as_ref(), text), &general);
        // "asking for a friend" means a real person whatever the phrasing.
        let third_party = lang
            .third_party
            .as_ref()
            .is_some_and(|re| re.is_match(text));
        let general_from = segments
            .sentences
            .iter()
            .map(|&(s, e)| {
                if third_party || any_within(&personal, s, e) {
                    return None;
                }
                let first = general.partition_point(|&(gs, _)| gs < s);
                general
                    .get(first)
                    .filter(|&&(gs, ge)| gs < e && ge <= e)
                    .map(|&(gs, _)| gs)
            })
            .collect();
        let resolved = segments
            .sentences
            .iter()
            .map(|&(s, e)| any_within(&resolved_cues, s, e))
            .collect();
        Scope {
            negations,
            recent_past: word_spans(lang.recent_past.as_ref(), text),
            distant_past: word_spans(lang.distant_past.as_ref(), text),
            resolved,
            general_from,
            segments,
        }
    }

    /// Judge the match `m` of a pattern with time rule `past`.
    pub fn verdict(&self, m: Span, past: Past) -> Verdict {
        if negated(&self.segments, &self.negations, m) {
            return Verdict::Negated;
        }
        let sentence = self.segments.sentence_index(m.0);
        // Only what follows the question cue is asked about: "cant pee, what does that
        // mean" is still about the person.
        if self
            .general_from
            .get(sentence)
            .copied()
            .flatten()
            .is_some_and(|g| g < m.0)
        {
            return Verdict::General;
        }
        if past == Past::Always {
            return Verdict::Stands;
        }
        let (cs, ce) = self.segments.clause(m.0);
        let distant = any_within(&self.distant_past, cs, ce);
        if past == Past::Expires && distant {
            return Verdict::Resolved;
        }
        // "Had a fever last month. All good now." resolves across one sentence boundary.
        let resolution = self.resolved.get(sentence).copied().unwrap_or(false)
            || self.resolved.get(sentence + 1).copied().unwrap_or(false);
        let recent = past != Past::Lasting && any_within(&self.recent_past, cs, ce);
        if resolution && (distant || recent) {
            return Verdict::Resolved;
        }
        Verdict::Stands
    }

    /// True when some general-question sentence names a red-flag topic ("what signs
    /// should I watch for?"), as opposed to a general question about massage ("what is
    /// the best massage for back pain?").
    pub fn general_question_about(&self, text: &str, lang: &Language) -> bool {
        let topics = word_spans(lang.red_flag_topics.as_ref(), text);
        self.general_from
            .iter()
            .zip(&self.segments.sentences)
            .any(|(g, &(s, e))| g.is_some() && any_within(&topics, s, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_points_do_not_end_sentences() {
        let s = Segments::new("temp 38.5 today. and you?", &[]);
        assert_eq!(s.sentences, vec![(0, 16), (16, 25)]);
    }

    #[test]
    fn negation_stops_at_the_clause_boundary() {
        let text = "no numbness but i cant pee";
        let terms = Regex::new(r"\bbut\b").unwrap();
        let seg = Segments::new(text, &word_spans(Some(&terms), text));
        let cues = vec![(0, 2)];
        let numb = text.find("numbness").unwrap();
        let pee = text.find("cant pee").unwrap();
        assert!(negated(&seg, &cues, (numb, numb + 8)));
        assert!(!negated(&seg, &cues, (pee, pee + 8)));
    }

    #[test]
    fn a_cue_inside_a_loose_match_negates_but_a_leading_one_does_not() {
        let text = "my leg isnt weak. i cant pee";
        let seg = Segments::new(text, &[]);
        let isnt = text.find("isnt").unwrap();
        let cant = text.find("cant").unwrap();
        let cues = vec![(isnt, isnt + 4), (cant, cant + 4)];
        let leg = text.find("leg").unwrap();
        assert!(negated(&seg, &cues, (leg, text.find(". ").unwrap())));
        assert!(!negated(&seg, &cues, (cant, text.len())));
    }

    #[test]
    fn overlapping_spans_are_removed_in_one_sweep() {
        let spans = vec![(0, 2), (3, 5), (8, 9), (12, 14)];
        let holes = vec![(1, 4), (9, 12)];
        assert_eq!(without_overlaps(spans, &holes), vec![(8, 9), (12, 14)]);
    }

    #[test]
    fn any_within_requires_full_containment() {
        let spans = vec![(0, 2), (5, 9)];
        assert!(any_within(&spans, 0, 3));
        assert!(!any_within(&spans, 1, 8));
        assert!(any_within(&spans, 4, 9));
    }
}
