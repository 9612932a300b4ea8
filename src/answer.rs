//! Answer composition: triage + retrieval → the reply, in the order the user reads it.
//!
//! This is the one place that attaches the escalation, the cautions, the quotes, the
//! red-flag advice and the disclaimer, so the CLI and the Discord adapter cannot disagree
//! about them. [`Answer`] is data; [`Answer::to_text`] is the plain-text rendering (what the
//! CLI prints); the Discord adapter renders the same fields into embeds.

use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

use crate::config::{AnswerConfig, SafetyConfig};
use crate::retrieve::{Concept, Hit, Retrieval, Retriever};
use crate::triage::{Rules, Triage, Urgency};

/// A reply, field by field, in display order.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// The question as asked.
    pub question: String,
    /// True when passages from the knowledge answer it.
    pub answered: bool,
    /// How well the best quoted passage fits: its share of the question's concepts
    /// (`Hit::coverage`, 0..=1); 0 when declined. The gap log counts low values.
    pub confidence: f32,
    /// What the red-flag rules found.
    pub triage: Triage,
    /// For emergency/urgent flags: what to do now and why. Shown first.
    pub escalation: Option<String>,
    /// Cautions shown above the answer (`soon` flags, extra flags, notes about the input).
    pub cautions: Vec<String>,
    /// When nothing fits: says so and lists the topics, in place of passages.
    pub decline: Option<String>,
    /// The quoted passages.
    pub passages: Vec<Quote>,
    /// Red-flag referral advice. Always present.
    pub advice: String,
    /// Medical disclaimer. Always present, always last.
    pub disclaimer: String,
}

/// One quoted passage with its citation.
#[derive(Debug, Clone, Serialize)]
pub struct Quote {
    /// Article title.
    pub article: String,
    /// The section's own heading.
    pub heading: String,
    /// "Article › Section › Subsection".
    pub path: String,
    /// Ranking score.
    pub score: f32,
    /// The excerpt: whole sentences of the passage.
    pub text: String,
}

/// What composition needs besides the question's triage and retrieval.
pub struct Context<'a> {
    /// Answer settings.
    pub answer: &'a AnswerConfig,
    /// Safety texts.
    pub safety: &'a SafetyConfig,
    /// The red-flag rules (for category advice).
    pub rules: &'a Rules,
    /// For sentence selection.
    pub retriever: &'a Retriever,
    /// Topic names for declines.
    pub topics: &'a [String],
    /// Set when the question was cut to this many characters before retrieval.
    pub truncated_to: Option<usize>,
}

/// Builds the reply.
pub fn compose(question: &str, retrieval: &Retrieval, triage: Triage, ctx: &Context<'_>) -> Answer {
    let mut cautions = Vec::new();
    let escalation = escalation_line(&triage, ctx);
    // Every other flag gets its own line, so nothing the rules found is hidden.
    let skip = usize::from(escalation.is_some());
    for flag in triage.flags.iter().skip(skip) {
        if let Some(category) = ctx.rules.category(&flag.category) {
            let lead = match flag.urgency {
                Urgency::Emergency | Urgency::Urgent => "⚠️ Also",
                _ => "⚠️ Caution",
            };
            cautions.push(format!(
                "{lead} ({}): {}",
                category.name,
                category.advice.trim()
            ));
        }
    }
    if let Some(limit) = ctx.truncated_to {
        cautions.push(format!(
            "Your message was long, so I searched using its first {limit} characters."
        ));
    }

    let mut hits = retrieval.answering_hits(ctx.answer);
    if triage.urgency == Urgency::Emergency {
        // The escalation is the answer; one passage at most, and only a strong one.
        hits.truncate(1);
    }
    let passages: Vec<Quote> = hits
        .iter()
        .map(|hit| quote(hit, &retrieval.concepts, ctx))
        .collect();
    let answered = !passages.is_empty();
    let decline = (!answered).then(|| decline_text(question, &triage, ctx.topics));
    Answer {
        question: question.to_string(),
        answered,
        confidence: hits.first().map_or(0.0, |hit| hit.coverage),
        triage,
        escalation,
        cautions,
        decline,
        passages,
        advice: ctx.safety.red_flag_advice.trim().to_string(),
        disclaimer: ctx.safety.disclaimer.trim().to_string(),
    }
}

fn escalation_line(triage: &Triage, ctx: &Context<'_>) -> Option<String> {
    let flag = triage.top()?;
    let advice = ctx
        .rules
        .category(&flag.category)
        .map(|c| c.advice.trim().to_string())
        .unwrap_or_default();
    let number = &ctx.safety.emergency_number;
    let lead = match flag.urgency {
        Urgency::Emergency if flag.category == "self_harm" => format!(
            "🚨 **Please get help now: call {number}, or talk to someone at a crisis line: {}.**",
            ctx.safety.crisis_line
        ),
        Urgency::Emergency => format!("🚨 **Get urgent care now: call {number} or go to A&E / the emergency department.**"),
        Urgency::Urgent => "⚠️ **Get seen today: book an urgent doctor's appointment, go to urgent care, or call NHS 111 (UK).**".to_string(),
        Urgency::Soon | Urgency::None => return None,
    };
    Some(if advice.is_empty() {
        lead
    } else {
        format!("{lead} {advice}")
    })
}

fn decline_text(question: &str, triage: &Triage, topics: &[String]) -> String {
    let list = topics.join(" · ");
    if question.trim().is_empty() {
        return format!(
            "Ask me a question about back pain or massage therapy, for example: \"Is deep tissue massage good for a stiff lower back?\" I can help with: {list}."
        );
    }
    if triage.urgency >= Urgency::Urgent {
        return "Please put getting checked first; massage questions can wait until a doctor has seen you.".to_string();
    }
    format!("I don't have anything in my articles that answers that, so I won't guess. I can help with: {list}.")
}

fn quote(hit: &Hit, concepts: &[Concept], ctx: &Context<'_>) -> Quote {
    let p = &hit.passage;
    Quote {
        article: p.article.clone(),
        heading: p.heading.clone(),
        path: p.path.clone(),
        score: hit.score,
        text: if p.body.chars().count() > ctx.answer.max_quote_chars {
            // The stored passage keeps its units, cut once.
            excerpt_of(
                &p.body,
                p.units.get_or_init(|| Units::split(&p.body, ctx.retriever)),
                concepts,
                ctx.answer.max_quote_chars,
            )
        } else {
            excerpt(&p.body, concepts, ctx.retriever, ctx.answer.max_quote_chars)
        },
    }
}

/// A passage body cut into quotable units (list items and sentences), each with its
/// paragraph and its stems: the work of an excerpt that does not depend on the question,
/// kept with a stored passage (see [`crate::index::StoredPassage`]) so it is done once.
#[derive(Debug)]
pub struct Units(Vec<Unit>);

#[derive(Debug)]
struct Unit {
    paragraph: usize,
    /// Byte range in the body.
    range: std::ops::Range<usize>,
    stems: Vec<String>,
}

impl Units {
    /// Splits `body` into units and stems each.
    pub fn split(body: &str, retriever: &Retriever) -> Units {
        let offset = |part: &str| part.as_ptr() as usize - body.as_ptr() as usize;
        let mut units = Vec::new();
        let mut push = |paragraph: usize, text: &str| {
            let start = offset(text);
            units.push(Unit {
                paragraph,
                range: start..start + text.len(),
                stems: retriever.stems(text),
            });
        };
        for (para_no, para) in body.split("\n\n").enumerate() {
            for line in para.lines() {
                if line.trim_start().starts_with("- ") {
                    push(para_no, line.trim());
                } else {
                    for sentence in line.split_sentence_bounds().map(str::trim) {
                        if !sentence.is_empty() {
                            push(para_no, sentence);
                        }
                    }
                }
            }
        }
        Units(units)
    }
}

/// Whole sentences of `body` within `max_chars`: all of it when it fits, otherwise the
/// sentences (or list items) that contain most of the question's concepts, in their
/// original order, with `…` where text was left out. Sentences that mention none of the
/// question's concepts are not used as padding.
pub fn excerpt(
    body: &str,
    concepts: &[Concept],
    retriever: &Retriever,
    max_chars: usize,
) -> String {
    if body.chars().count() <= max_chars {
        return body.to_string();
    }
    excerpt_of(body, &Units::split(body, retriever), concepts, max_chars)
}

/// [`excerpt`] of a body already cut into `units`.
fn excerpt_of(body: &str, units: &Units, concepts: &[Concept], max_chars: usize) -> String {
    let units: Vec<(usize, &str, &[String])> = units
        .0
        .iter()
        .map(|u| (u.paragraph, &body[u.range.clone()], u.stems.as_slice()))
        .collect();
    let score = |stems: &[String]| -> f32 {
        concepts
            .iter()
            .filter(|c| c.found_in(|s| stems.iter().any(|t| t == s)).is_some())
            .map(|c| c.weight)
            .sum()
    };
    let mut ranked: Vec<(usize, f32)> = units
        .iter()
        .enumerate()
        .map(|(i, (_, _, stems))| (i, score(stems)))
        .collect();
    // Best first; among equals, earlier first (the opening sentence frames a section).
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    // Only sentences that mention the question are quoted; when none does, the opening ones.
    let any_match = ranked.first().is_some_and(|(_, score)| *score > 0.0);
    let mut chosen: Vec<usize> = Vec::new();
    let mut used = 0;
    for (i, score) in ranked {
        if any_match && score <= 0.0 {
            break;
        }
        let len = units[i].1.chars().count() + 2;
        if used + len <= max_chars {
            chosen.push(i);
            used += len;
        }
    }
    if chosen.is_empty() {
        // Even the best single sentence is too long: cut it on a word boundary.
        return truncate_words(units.first().map(|u| u.1).unwrap_or(body), max_chars);
    }
    chosen.sort_unstable();
    let mut out = String::new();
    let mut previous: Option<usize> = None;
    for i in chosen {
        let (para, text, _) = units[i];
        match previous {
            None if i > 0 => out.push_str("… "),
            None => {}
            Some(p) if p + 1 != i && text.starts_with("- ") => out.push_str("\n…\n"),
            Some(p) if p + 1 != i => out.push_str(" … "),
            Some(p) if units[p].0 != para || text.starts_with("- ") => out.push('\n'),
            Some(_) => out.push(' '),
        }
        out.push_str(text);
        previous = Some(i);
    }
    if previous.is_some_and(|p| p + 1 < units.len()) {
        out.push_str(" …");
    }
    out
}

/// Cuts `text` to at most `max` characters on a word boundary, ending with `…`.
pub fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let budget = max.saturating_sub(1);
    let cut: String = text.chars().take(budget).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(pos) if pos > budget / 2 => &cut[..pos],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

impl Answer {
    /// The full reply as plain text (Markdown-flavoured), in display order.
    pub fn to_text(&self) -> String {
        let mut blocks: Vec<String> = Vec::new();
        if let Some(escalation) = &self.escalation {
            blocks.push(escalation.clone());
        }
        if !self.cautions.is_empty() {
            blocks.push(self.cautions.join("\n"));
        }
        for quote in &self.passages {
            let quoted: Vec<String> = quote.text.lines().map(|l| format!("> {l}")).collect();
            blocks.push(format!("{}\n— {}", quoted.join("\n"), quote.path));
        }
        if let Some(decline) = &self.decline {
            blocks.push(decline.clone());
        }
        blocks.push(self.advice.clone());
        blocks.push(format!("_{}_", self.disclaimer));
        blocks.join("\n\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn concept(word: &str, weight: f32) -> Concept {
        Concept {
            word: word.into(),
            alternatives: vec![(word.into(), 1.0)],
            weight,
            known: true,
        }
    }

    #[test]
    fn short_bodies_are_quoted_whole() {
        let r = Retriever::new(Default::default(), AnswerConfig::default());
        assert_eq!(excerpt("One. Two.", &[], &r, 100), "One. Two.");
    }

    #[test]
    fn long_bodies_keep_the_sentences_that_answer() {
        let r = Retriever::new(Default::default(), AnswerConfig::default());
        let filler = "This sentence is about nothing in particular at all. ".repeat(6);
        let body = format!("{filler}Foam rollers release knots in tight muscles. {filler}");
        let out = excerpt(&body, &[concept("roller", 3.0)], &r, 120);
        assert!(
            out.contains("Foam rollers release knots in tight muscles."),
            "{out}"
        );
        assert!(out.chars().count() <= 120 + 4, "{}", out.chars().count());
        assert!(out.starts_with('…'), "{out}");
    }

    #[test]
    fn truncation_respects_words_and_unicode() {
        let text = "ééé ".repeat(50);
        let cut = truncate_words(&text, 21);
        assert!(cut.chars().count() <= 21);
        assert!(cut.ends_with('…'));
        assert!(!cut.contains("é…") || cut.trim_end_matches('…').ends_with("ééé"));
    }
}
