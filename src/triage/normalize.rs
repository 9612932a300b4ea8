//! Chat-text normalisation: turns a message as typed ("Cnt pee since yday, wetting myslef 😩")
//! into the lowercase ASCII text the rule patterns are written against ("cant pee since
//! yesterday, wetting myself  "), while remembering where every byte came from so evidence
//! can be quoted exactly as the user typed it.
//!
//! What it does, in order, per character:
//! - ASCII letters and digits are lowercased and grouped into words; apostrophes inside a
//!   word (`'`, `’`, `‘`, `ʼ`, `` ` ``) are dropped, so "can't", "can’t" and "cant" are the
//!   same word and patterns never need `'?`.
//! - Each whole word is looked up in the moderators' spelling table (`[spelling]` in the rule
//!   file) and replaced if found ("cnt" → "cant", "myslef" → "myself").
//! - Every other ASCII character is kept; `\r` and tabs become spaces.
//! - Every non-ASCII character (emoji, accents, `°`, dashes) becomes one space, except `…`,
//!   which ends a sentence like `.`. Keeping the haystack ASCII lets the regex engine use
//!   its fast DFA for `\b` on every message.

use std::collections::HashMap;

/// A normalised message plus the map back to the original text.
#[derive(Debug)]
pub(crate) struct Normalized {
    /// Lowercase ASCII text that patterns run on.
    pub text: String,
    /// For each byte of `text`, the byte range of the original it came from.
    origin: Vec<(usize, usize)>,
}

impl Normalized {
    /// The original byte range behind `text[start..end]` (`start < end`).
    pub fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        if self.origin.is_empty() || start >= end {
            return (0, 0);
        }
        let last = self.origin.len() - 1;
        let from = self.origin[start.min(last)].0;
        let to = self.origin[(end - 1).min(last)].1;
        (from, to.max(from))
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}'
    )
}

/// Normalise `input` (see the module docs). Linear in the input length.
pub(crate) fn normalize(input: &str, spelling: &HashMap<String, String>) -> Normalized {
    let chars: Vec<(usize, char)> = input.char_indices().collect();
    let end_of = |i: usize| -> usize { chars.get(i + 1).map_or(input.len(), |&(b, _)| b) };
    let mut text = String::with_capacity(input.len());
    let mut origin = Vec::with_capacity(input.len());
    let mut word = String::new();
    let mut word_spans: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (b, c) = chars[i];
        if c.is_ascii_alphanumeric() {
            word.clear();
            word_spans.clear();
            let start = b;
            let mut j = i;
            while j < chars.len() {
                let (bj, cj) = chars[j];
                if cj.is_ascii_alphanumeric() {
                    word.push(cj.to_ascii_lowercase());
                    word_spans.push((bj, end_of(j)));
                    j += 1;
                } else if is_apostrophe(cj)
                    && chars
                        .get(j + 1)
                        .is_some_and(|&(_, n)| n.is_ascii_alphanumeric())
                {
                    j += 1; // dropped: "can't" == "cant"
                } else {
                    break;
                }
            }
            let end = end_of(j - 1);
            match spelling.get(word.as_str()) {
                Some(replacement) => {
                    text.push_str(replacement);
                    origin.extend(std::iter::repeat_n((start, end), replacement.len()));
                }
                None => {
                    text.push_str(&word);
                    origin.extend_from_slice(&word_spans);
                }
            }
            i = j;
            continue;
        }
        let out = match c {
            '\r' | '\t' => ' ',
            '\u{2026}' => '.',
            c if is_apostrophe(c) => '\'',
            c if c.is_ascii() => c,
            _ => ' ',
        };
        text.push(out);
        origin.push((b, end_of(i)));
        i += 1;
    }
    debug_assert_eq!(text.len(), origin.len());
    Normalized { text, origin }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spelling() -> HashMap<String, String> {
        [("cnt", "cant"), ("myslef", "myself"), ("yday", "yesterday")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn lowercases_drops_apostrophes_and_respells() {
        let n = normalize("I Can’t pee, CNT even wee… wetting myslef 😩", &spelling());
        assert_eq!(n.text, "i cant pee, cant even wee. wetting myself  ");
    }

    #[test]
    fn maps_back_to_the_original_words() {
        let input = "Cnt pee since yday 😩 é";
        let n = normalize(input, &spelling());
        let at = n.text.find("cant pee").unwrap();
        let (a, b) = n.original_range(at, at + "cant pee".len());
        assert_eq!(&input[a..b], "Cnt pee");
        let at = n.text.find("yesterday").unwrap();
        let (a, b) = n.original_range(at, at + "yesterday".len());
        assert_eq!(&input[a..b], "yday");
        assert!(n.text.is_ascii());
    }

    #[test]
    fn empty_and_apostrophe_edges() {
        assert_eq!(normalize("", &spelling()).text, "");
        assert_eq!(normalize("'tis' don't", &spelling()).text, "'tis' dont");
    }
}
