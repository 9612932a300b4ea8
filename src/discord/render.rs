//! What the bot sends, as plain data: [`Answer`]s, topic lists, reports and notices become a
//! [`Reply`] that always fits Discord's limits, whatever the lengths it is given.
//!
//! Pure: nothing here touches the network, so every limit is unit-tested. The only serenity
//! in this file is the last step, [`Reply`] → builder, and every builder it makes carries an
//! empty `allowed_mentions` so that nothing the bot sends can ping anyone.
//!
//! Budgeting rule: the parts that must never be dropped (escalation, advice, disclaimer) are
//! measured first; passages and cautions share what is left, and are the only parts cut.

use serenity::builder::{
    CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed, CreateEmbedFooter,
    CreateInteractionResponseMessage, CreateMessage, EditInteractionResponse,
};
use serenity::model::application::ButtonStyle;

use crate::answer::Answer;
use crate::engine::EngineError;
use crate::engine::IndexReport;
use crate::problem::Problem;
use crate::triage::Urgency;

use super::votes;

/// Discord's documented limits, counted in characters (not bytes).
pub mod limits {
    /// Message `content`.
    pub const CONTENT: usize = 2000;
    /// Embed title.
    pub const TITLE: usize = 256;
    /// Embed description.
    pub const DESCRIPTION: usize = 4096;
    /// Embed footer text.
    pub const FOOTER: usize = 2048;
    /// Sum of the text of all embeds of one message.
    pub const EMBED_TOTAL: usize = 6000;
}

/// Caps for the parts that are never dropped. They are normally far shorter; the caps only
/// matter if a knowledge author writes an essay into a rule, and keep room for passages.
const ESCALATION_MAX: usize = 1500;
const ADVICE_MAX: usize = 1500;
const CAUTION_MAX: usize = 400;
const CITATION_MAX: usize = 200;
/// A passage given less room than this is left out rather than shown as a stub.
const PASSAGE_MIN: usize = 80;
const SEPARATOR: &str = "\n\n";

/// Embed colours by urgency (Discord takes 0xRRGGBB).
const COLOUR_EMERGENCY: u32 = 0xC6_28_28;
const COLOUR_URGENT: u32 = 0xEF_6C_00;
const COLOUR_SOON: u32 = 0xF9_A8_25;
const COLOUR_INFO: u32 = 0x00_89_7B;

/// One message the bot sends, before it becomes a serenity builder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// Plain content above the embed (≤ 2,000 chars).
    pub content: Option<String>,
    /// At most one embed.
    pub embed: Option<Embed>,
    /// Only the invoking user sees it (interactions only; ignored for channel messages).
    pub ephemeral: bool,
    /// The key of the passage that 👍/👎 buttons under the reply rate (see `votes.rs`).
    pub vote: Option<String>,
}

/// The embed of a [`Reply`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Embed {
    /// Title (≤ 256 chars). Never used for answers: the escalation must come first.
    pub title: Option<String>,
    /// Body (≤ 4,096 chars).
    pub description: String,
    /// Footer (≤ 2,048 chars): the disclaimer of an answer.
    pub footer: Option<String>,
    /// 0xRRGGBB.
    pub colour: u32,
}

impl Embed {
    /// Characters Discord counts against the 6,000 total.
    pub fn total_chars(&self) -> usize {
        chars(self.title.as_deref().unwrap_or(""))
            + chars(&self.description)
            + chars(self.footer.as_deref().unwrap_or(""))
    }
}

impl Reply {
    /// True when every Discord limit holds (what the unit tests and a debug assertion check).
    pub fn within_limits(&self) -> bool {
        let content_ok = self
            .content
            .as_deref()
            .is_none_or(|c| chars(c) <= limits::CONTENT);
        let embed_ok = self.embed.as_ref().is_none_or(|e| {
            e.title.as_deref().is_none_or(|t| chars(t) <= limits::TITLE)
                && chars(&e.description) <= limits::DESCRIPTION
                && e.footer
                    .as_deref()
                    .is_none_or(|f| chars(f) <= limits::FOOTER)
                && e.total_chars() <= limits::EMBED_TOTAL
        });
        let non_empty = self.content.as_deref().is_some_and(|c| !c.is_empty())
            || self
                .embed
                .as_ref()
                .is_some_and(|e| !e.description.is_empty());
        content_ok && embed_ok && non_empty
    }

    /// The same reply, visible only to the invoking user.
    pub fn ephemeral(mut self) -> Reply {
        self.ephemeral = true;
        self
    }

    /// All the text of the reply in display order (content, title, description, footer).
    /// Handy for logs of lengths and for tests.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in [
            self.content.as_deref(),
            self.embed.as_ref().and_then(|e| e.title.as_deref()),
            self.embed.as_ref().map(|e| e.description.as_str()),
            self.embed.as_ref().and_then(|e| e.footer.as_deref()),
        ]
        .into_iter()
        .flatten()
        {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(part);
        }
        out
    }

    /// The 👍/👎 buttons, when the reply rates a passage.
    fn components(&self) -> Vec<CreateActionRow> {
        let Some(key) = &self.vote else {
            return Vec::new();
        };
        let button = |up: bool, emoji: char, label: &str| {
            CreateButton::new(votes::button_id(up, key))
                .style(ButtonStyle::Secondary)
                .emoji(emoji)
                .label(label)
        };
        vec![CreateActionRow::Buttons(vec![
            button(true, '👍', "Helpful"),
            button(false, '👎', "Not helpful"),
        ])]
    }

    fn create_embed(&self) -> Option<CreateEmbed> {
        self.embed.as_ref().map(|e| {
            let mut embed = CreateEmbed::new()
                .description(&e.description)
                .colour(e.colour);
            if let Some(title) = &e.title {
                embed = embed.title(title);
            }
            if let Some(footer) = &e.footer {
                embed = embed.footer(CreateEmbedFooter::new(footer));
            }
            embed
        })
    }

    /// As the message of an interaction response (`POST /interactions/../callback`).
    pub fn to_interaction_message(&self) -> CreateInteractionResponseMessage {
        let mut msg = CreateInteractionResponseMessage::new()
            .allowed_mentions(no_mentions())
            .ephemeral(self.ephemeral);
        if let Some(content) = &self.content {
            msg = msg.content(content);
        }
        if let Some(embed) = self.create_embed() {
            msg = msg.embed(embed);
        }
        if self.vote.is_some() {
            msg = msg.components(self.components());
        }
        msg
    }

    /// As an edit of the original (deferred) response (`PATCH /webhooks/../@original`).
    /// Ephemerality was fixed when the response was deferred.
    pub fn to_edit(&self) -> EditInteractionResponse {
        let mut edit = EditInteractionResponse::new().allowed_mentions(no_mentions());
        // Always set both, so an edit replaces a "thinking…" placeholder entirely.
        edit = edit.content(self.content.clone().unwrap_or_default());
        edit = edit.embeds(self.create_embed().into_iter().collect());
        edit.components(self.components())
    }

    /// As a channel message (`POST /channels/{id}/messages`); the caller adds the reference.
    pub fn to_message(&self) -> CreateMessage {
        let mut msg = CreateMessage::new().allowed_mentions(no_mentions());
        if let Some(content) = &self.content {
            msg = msg.content(content);
        }
        if let Some(embed) = self.create_embed() {
            msg = msg.embed(embed);
        }
        if self.vote.is_some() {
            msg = msg.components(self.components());
        }
        msg
    }
}

/// `{"parse": [], "users": [], "roles": [], "replied_user": false}`: pings nobody, not even
/// the author of the message replied to.
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new().replied_user(false)
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Cuts `text` to at most `max` characters. When it has to cut, it prefers the end of a
/// sentence, then a word boundary (in the last half of the room), and appends "…". Never splits
/// a character (it may split a multi-codepoint emoji; Discord counts codepoints too).
pub fn truncate(text: &str, max: usize) -> String {
    if chars(text) <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    // Byte offset just after `max - 1` characters (room for the ellipsis).
    let keep = max - 1;
    let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    let floor = head.len() / 2;
    // Search backwards from the cut, but not into the first half: a sentence end (the
    // character after it is whitespace, possibly just past the cut), else a line break,
    // else a space.
    let sentence_end = head
        .char_indices()
        .rev()
        .take_while(|&(i, _)| i >= floor)
        .find(|&(i, c)| {
            let after = i + c.len_utf8();
            c == '\n'
                || (matches!(c, '.' | '!' | '?')
                    && text[after..].chars().next().is_none_or(char::is_whitespace))
        })
        .map(|(i, c)| if c == '\n' { i } else { i + c.len_utf8() });
    let cut = sentence_end.or_else(|| {
        head.char_indices()
            .rev()
            .take_while(|&(i, _)| i >= floor)
            .find(|&(_, c)| c.is_whitespace())
            .map(|(i, _)| i)
    });
    let mut out = match cut {
        Some(cut) => head[..cut].trim_end().to_string(),
        None => head.to_string(),
    };
    out.push('…');
    out
}

fn colour(urgency: Urgency) -> u32 {
    match urgency {
        Urgency::Emergency => COLOUR_EMERGENCY,
        Urgency::Urgent => COLOUR_URGENT,
        Urgency::Soon => COLOUR_SOON,
        Urgency::None => COLOUR_INFO,
    }
}

/// Prefixes every line with "> " (a Markdown block quote).
fn block_quote(text: &str) -> String {
    text.trim()
        .lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An [`Answer`] as one embed: escalation (first), cautions, passages with their
/// citations (or the decline), advice; the disclaimer is the footer, last.
pub fn answer(answer: &Answer) -> Reply {
    let footer = truncate(answer.disclaimer.trim(), limits::FOOTER);
    // The core writes the escalation and cautions with their own emoji and bold: shown as is.
    let head = answer
        .escalation
        .as_deref()
        .map(|e| truncate(e.trim(), ESCALATION_MAX))
        .filter(|e| !e.is_empty());
    let advice = truncate(answer.advice.trim(), ADVICE_MAX);
    let description_max = limits::DESCRIPTION.min(limits::EMBED_TOTAL - chars(&footer));

    // Room left for the middle, once the fixed parts and their separators are counted.
    let fixed = head.as_deref().map_or(0, |h| chars(h) + SEPARATOR.len()) + chars(&advice);
    let mut room = description_max.saturating_sub(fixed + SEPARATOR.len());

    let mut middle: Vec<String> = Vec::new();
    let mut take = |block: String, room: &mut usize| {
        let cost = chars(&block) + SEPARATOR.len();
        if !block.is_empty() && cost <= *room {
            *room -= cost;
            middle.push(block);
        }
    };
    for caution in &answer.cautions {
        let block = truncate(caution.trim(), CAUTION_MAX);
        take(block, &mut room);
    }
    if let Some(decline) = answer
        .decline
        .as_deref()
        .filter(|_| !answer.answered || answer.passages.is_empty())
    {
        let block = truncate(decline.trim(), room.saturating_sub(SEPARATOR.len()));
        take(block, &mut room);
    } else {
        let n = answer.passages.len();
        for (i, quote) in answer.passages.iter().enumerate() {
            // Equal shares of what is left, so a short first passage leaves more to the second.
            let share = (room / (n - i)).saturating_sub(SEPARATOR.len());
            let path = if quote.path.trim().is_empty() {
                format!("{} › {}", quote.article, quote.heading)
            } else {
                quote.path.clone()
            };
            let citation = format!("— *{}*", truncate(path.trim(), CITATION_MAX));
            let quote_room = share.saturating_sub(chars(&citation) + 1);
            if quote_room < PASSAGE_MIN {
                continue;
            }
            let quoted = truncate(&block_quote(&quote.text), quote_room);
            take(format!("{quoted}\n{citation}"), &mut room);
        }
    }

    let mut description = head
        .into_iter()
        .chain(middle)
        .chain(Some(advice).filter(|a| !a.is_empty()))
        .collect::<Vec<_>>()
        .join(SEPARATOR);
    if description.is_empty() {
        // Only a core bug gets here; Discord would reject an empty embed.
        description = "Sorry, I have no answer to that.".to_string();
    }
    let reply = Reply {
        content: None,
        embed: Some(Embed {
            title: None,
            description: truncate(&description, description_max),
            footer: (!footer.is_empty()).then_some(footer),
            colour: colour(answer.triage.urgency),
        }),
        ephemeral: false,
        vote: None,
    };
    debug_assert!(
        reply.within_limits(),
        "rendered answer exceeds a Discord limit"
    );
    reply
}

fn embed(title: &str, description: &str, colour: u32) -> Reply {
    Reply {
        content: None,
        embed: Some(Embed {
            title: Some(truncate(title, limits::TITLE)),
            description: truncate(description, limits::DESCRIPTION),
            footer: None,
            colour,
        }),
        ephemeral: false,
        vote: None,
    }
}

/// A single line of a listing is cut to this many characters.
const LISTING_LINE_MAX: usize = 500;

/// Wraps lines in a code block within `max` characters: whole lines (each cut to
/// [`LISTING_LINE_MAX`]) while they fit, then a count of the lines left out and `more`, the
/// hint where to see them all. Fences inside the text are defused so the block survives.
fn code_block(text: &str, max: usize, more: &str) -> String {
    let lines: Vec<String> = text
        .trim()
        .lines()
        .map(|l| truncate(&l.replace("```", "'''"), LISTING_LINE_MAX))
        .collect();
    let fences = 8;
    let mut inner = String::new();
    for (i, line) in lines.iter().enumerate() {
        let left = lines.len() - i - 1;
        let tail = if left > 0 { 40 + chars(more) } else { 0 };
        if chars(&inner) + chars(line) + 1 + tail + fences > max {
            let note = format!("…and {} more line(s){more}", lines.len() - i);
            inner.push_str(&truncate(&note, max.saturating_sub(chars(&inner) + fences)));
            break;
        }
        inner.push_str(line);
        inner.push('\n');
    }
    format!("```\n{}\n```", inner.trim_end())
}

/// `/topics`: what the bot can answer about, one line each; a list too long for one embed
/// ends with "…and N more".
pub fn topics(topics: &[String]) -> Reply {
    if topics.is_empty() {
        return embed(
            "What I can answer about",
            "The knowledge folder is empty: nothing to answer from yet.",
            COLOUR_INFO,
        );
    }
    let mut description = String::from("Ask me with `/ask` or by mentioning me. I know about:\n");
    for (i, topic) in topics.iter().enumerate() {
        let line = format!("• {}\n", truncate(topic.trim(), CITATION_MAX));
        // Keep room for the "and N more" line.
        if chars(&description) + chars(&line) > limits::DESCRIPTION - 40 {
            description.push_str(&format!("…and {} more", topics.len() - i));
            break;
        }
        description.push_str(&line);
    }
    embed(
        "What I can answer about",
        description.trim_end(),
        COLOUR_INFO,
    )
}

/// `/redflags`: the warning signs that mean a doctor, not a massage.
pub fn red_flags(text: &str) -> Reply {
    embed(
        "Warning signs: when back pain needs a doctor",
        text.trim(),
        COLOUR_EMERGENCY,
    )
}

/// `/help`.
pub fn help() -> Reply {
    embed(
        "backrub: back pain and massage questions",
        "I answer from a curated set of articles and always check your question for warning signs.\n\n\
         • `/ask question:<text>`: ask a question (add `private:True` so only you see the answer)\n\
         • Mention me or DM me: I answer as a reply\n\
         • `/topics`: what I can answer about\n\
         • `/redflags`: warning signs that need a doctor\n\
         • `/reindex`: rebuild the index (server admins)\n\
         • `/gaps`: questions I could not answer well, and the worst-rated passages (server admins)\n\n\
         Rate an answer with 👍 or 👎 under it: moderators see which passages need work.\n\n\
         I am not a doctor: my answers are general information, not medical advice.",
        COLOUR_INFO,
    )
}

/// `/reindex` succeeded.
pub fn reindex_done(report: &IndexReport) -> Reply {
    embed(
        "Index rebuilt",
        &code_block(&report.to_string(), limits::DESCRIPTION, CHECK_HINT),
        COLOUR_INFO,
    )
    .ephemeral()
}

/// Where moderators see every finding when a listing was cut.
const CHECK_HINT: &str = ": run `backrub check` for all";

/// `/reindex` failed: the old index is still serving. Every problem, errors first, one
/// `file:line: severity: message` per line, as many as fit (then a count of the rest).
pub fn reindex_failed(error: &EngineError) -> Reply {
    let mut problems = error.problems();
    problems.sort_by_key(|p| !p.is_error());
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let mut listing = format!("{errors} error(s), {} warning(s):", problems.len() - errors);
    for p in &problems {
        listing.push('\n');
        listing.push_str(&Problem::to_string(p));
    }
    let text = code_block(&listing, limits::DESCRIPTION, CHECK_HINT);
    embed(
        "Rebuild failed: the previous index is still serving",
        &text,
        COLOUR_URGENT,
    )
    .ephemeral()
}

/// A short plain-text note (content only).
pub fn notice(text: &str) -> Reply {
    Reply {
        content: Some(truncate(text, limits::CONTENT)),
        embed: None,
        ephemeral: false,
        vote: None,
    }
}

/// Over the per-user rate limit.
pub fn slow_down(retry_after: std::time::Duration) -> Reply {
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    notice(&format!(
        "Slow down a little: you can ask again in {secs} s."
    ))
    .ephemeral()
}

/// An admin command (`/reindex`, `/gaps`) from someone who may not use it.
pub fn admins_only(command: &str) -> Reply {
    notice(&format!(
        "Only server admins (Administrator, Manage Server or an admin role) can use `/{command}`."
    ))
    .ephemeral()
}

/// `/gaps`: the moderators' summary of the gap log (the same text as `backrub gaps`).
pub fn gaps(report: &str) -> Reply {
    embed(
        "Knowledge gaps and worst-rated passages",
        &code_block(report, limits::DESCRIPTION, ": run `backrub gaps` for all"),
        COLOUR_INFO,
    )
    .ephemeral()
}

/// `/gaps` when the log could not be read.
pub fn gaps_unavailable() -> Reply {
    notice("The knowledge-gap log could not be read; see the bot's log.").ephemeral()
}

/// A 👍/👎 press was counted.
pub fn vote_thanks(up: bool) -> Reply {
    let what = if up { "👍" } else { "👎" };
    notice(&format!(
        "Thanks: your {what} was counted for the quoted passage. Moderators use these votes to improve the articles."
    ))
    .ephemeral()
}

/// A press on a button whose passage is no longer known (hashed key from before a restart).
pub fn vote_expired() -> Reply {
    notice("This answer is too old to rate, sorry. Ask again to rate a fresh answer.").ephemeral()
}

/// A second `/reindex` while one is running.
pub fn reindex_busy() -> Reply {
    notice("A rebuild is already running; its report will appear where it was asked for.")
        .ephemeral()
}

/// An internal error or a panic: polite, generic, no details.
pub fn apology() -> Reply {
    notice("Sorry, something went wrong on my side and I could not answer. Please try again in a moment.")
        .ephemeral()
}

/// A mention with no question in it.
pub fn empty_question() -> Reply {
    notice("Ask me a question after the mention, e.g. *@backrub is massage good for sciatica?* (or see `/help`).")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Quote;
    use crate::triage::Triage;

    fn sample(passage: &str, n: usize) -> Answer {
        Answer {
            question: "q".into(),
            answered: true,
            confidence: 1.0,
            triage: Triage {
                urgency: Urgency::None,
                flags: vec![],
                general_question: false,
            },
            escalation: None,
            cautions: vec![],
            decline: None,
            passages: (0..n)
                .map(|i| Quote {
                    article: "Massage Therapy for Back Pain".into(),
                    heading: format!("Section {i}"),
                    path: format!("Massage Therapy for Back Pain › Section {i}"),
                    score: 1.0,
                    text: passage.to_string(),
                })
                .collect(),
            advice: "ADVICE: see a doctor if it lasts.".into(),
            disclaimer: "DISCLAIMER: not medical advice.".into(),
        }
    }

    fn description(reply: &Reply) -> &str {
        &reply.embed.as_ref().unwrap().description
    }

    #[test]
    fn truncate_keeps_short_text() {
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("", 0), "");
        assert_eq!(truncate("hello", 0), "");
    }

    #[test]
    fn truncate_prefers_sentence_then_word_boundaries() {
        let text = "One sentence here. Another sentence that goes on and on.";
        assert_eq!(truncate(text, 30), "One sentence here.…");
        assert_eq!(truncate("alpha beta gamma delta", 15), "alpha beta…");
        // No boundary at all: a plain character cut.
        assert_eq!(truncate("abcdefghij", 5), "abcd…");
    }

    #[test]
    fn truncate_never_splits_multibyte_chars() {
        let text = "é".repeat(50) + &"🚑".repeat(50);
        for max in 0..120 {
            let out = truncate(&text, max);
            assert!(out.chars().count() <= max, "max {max}");
        }
    }

    #[test]
    fn short_answer_in_display_order() {
        let mut a = sample("Swedish massage uses long strokes.", 1);
        a.escalation = Some("🚨 **CALL 911**".into());
        a.cautions = vec!["⚠️ CAUTION soon".into()];
        a.triage.urgency = Urgency::Emergency;
        let r = answer(&a);
        assert!(r.within_limits());
        let e = r.embed.as_ref().unwrap();
        assert!(e.title.is_none(), "nothing may come before the escalation");
        assert!(e.description.starts_with("🚨 **CALL 911**\n\n⚠️ CAUTION"));
        let pos = |s: &str| e.description.find(s).unwrap();
        assert!(pos("CALL 911") < pos("CAUTION") && pos("CAUTION") < pos("> Swedish"));
        assert!(pos("> Swedish") < pos("Massage Therapy for Back Pain › Section 0"));
        assert!(pos("Section 0") < pos("ADVICE"));
        assert!(e.description.ends_with("ADVICE: see a doctor if it lasts."));
        assert_eq!(e.footer.as_deref(), Some("DISCLAIMER: not medical advice."));
        assert_eq!(e.colour, COLOUR_EMERGENCY);
    }

    #[test]
    fn huge_passages_fit_and_keep_the_fixed_parts() {
        let mut a = sample(&"Massage helps some people. ".repeat(2000), 2);
        a.escalation = Some("GO TO THE ER NOW.".into());
        a.cautions = vec!["x".repeat(5000), "y".repeat(5000)];
        let r = answer(&a);
        assert!(
            r.within_limits(),
            "{:?}",
            r.embed.as_ref().map(Embed::total_chars)
        );
        let d = description(&r);
        assert!(d.starts_with("GO TO THE ER NOW."));
        assert!(d.ends_with("ADVICE: see a doctor if it lasts."));
        assert!(
            d.contains("Section 0") && d.contains("Section 1"),
            "both citations survive"
        );
        assert!(d.contains('…'));
    }

    #[test]
    fn huge_fixed_parts_are_capped_not_dropped() {
        let mut a = sample(&"word ".repeat(3000), 2);
        a.escalation = Some(format!("EMERGENCY {}", "e".repeat(9000)));
        a.advice = format!("ADVICE {}", "a ".repeat(9000));
        a.disclaimer = format!("DISCLAIMER {}", "d ".repeat(9000));
        let r = answer(&a);
        assert!(r.within_limits());
        let d = description(&r);
        assert!(d.starts_with("EMERGENCY"));
        assert!(d.contains("ADVICE"));
        assert!(r
            .embed
            .as_ref()
            .unwrap()
            .footer
            .as_deref()
            .unwrap()
            .starts_with("DISCLAIMER"));
    }

    #[test]
    fn unicode_heavy_answer_fits() {
        let mut a = sample(&"背中の痛み🚑 ".repeat(3000), 2);
        a.question = "🚑".repeat(10_000);
        a.escalation = Some("🚨".repeat(3000));
        let r = answer(&a);
        assert!(r.within_limits());
    }

    #[test]
    fn decline_replaces_passages() {
        let mut a = sample("unused", 0);
        a.answered = false;
        a.decline = Some(format!(
            "I don't have anything on that. {}",
            "Topic. ".repeat(2000)
        ));
        let r = answer(&a);
        assert!(r.within_limits());
        assert!(description(&r).starts_with("I don't have anything on that."));
        assert!(description(&r).ends_with("ADVICE: see a doctor if it lasts."));
    }

    #[test]
    fn everything_empty_still_says_something() {
        let mut a = sample("", 0);
        a.advice = String::new();
        a.disclaimer = String::new();
        a.passages.clear();
        // Nothing to show is a core bug, but the render must still send something valid.
        assert!(answer(&a).within_limits());
    }

    #[test]
    fn long_topic_lists_are_cut_with_a_count() {
        let many: Vec<String> = (0..500)
            .map(|i| format!("Article {i} › A section with a long name"))
            .collect();
        let r = topics(&many);
        assert!(r.within_limits());
        assert!(description(&r).contains("more"));
        assert!(topics(&[]).within_limits());
    }

    #[test]
    fn notices_fit() {
        assert!(red_flags(&"- sign\n".repeat(2000)).within_limits());
        assert!(help().within_limits());
        assert!(slow_down(std::time::Duration::from_millis(1500))
            .text()
            .contains("2 s"));
        assert!(admins_only("reindex").ephemeral && apology().ephemeral);
        let report = IndexReport {
            files: 2,
            passages: 3,
            passages_before: 1,
            took: std::time::Duration::from_secs(1),
            added: vec![],
            changed: vec![],
            removed: vec![],
            problems: (0..500)
                .map(|i| crate::problem::Problem::error("knowledge/a.md", i, "bad front matter"))
                .collect(),
        };
        let r = reindex_done(&report);
        assert!(r.within_limits());
        assert!(description(&r).ends_with("```"));
    }

    #[test]
    fn a_failed_rebuild_lists_every_problem_that_fits_errors_first() {
        use crate::problem::Problem;
        let few = EngineError::Invalid {
            problems: vec![
                Problem::warning("knowledge/b.md", 9, "long paragraph"),
                Problem::error("knowledge/a.md", 2, "front matter: expected a value"),
            ],
        };
        let r = reindex_failed(&few);
        assert!(r.within_limits() && r.ephemeral);
        let d = description(&r);
        let error_at = d
            .find("knowledge/a.md:2: error: front matter")
            .expect("the error, as file:line");
        assert!(
            error_at < d.find("knowledge/b.md:9: warning").expect("the warning"),
            "{d}"
        );
        let many = EngineError::Invalid {
            problems: (1..=500)
                .map(|i| Problem::error("knowledge/a.md", i, "x".repeat(i % 700)))
                .collect(),
        };
        let r = reindex_failed(&many);
        assert!(r.within_limits());
        let d = description(&r);
        assert!(d.contains("knowledge/a.md:1: error"), "{d}");
        assert!(
            d.contains("more line(s): run `backrub check` for all"),
            "{d}"
        );
        assert!(d.ends_with("```"));
    }

    #[test]
    fn vote_buttons_carry_the_passage_key_and_ping_nobody() {
        let mut r = answer(&sample("text", 1));
        assert!(serde_json::to_value(r.to_interaction_message()).unwrap()["components"].is_null());
        r.vote = Some("A › B".into());
        for json in [
            serde_json::to_value(r.to_interaction_message()).unwrap(),
            serde_json::to_value(r.to_edit()).unwrap(),
            serde_json::to_value(r.to_message()).unwrap(),
        ] {
            let buttons = &json["components"][0]["components"];
            assert_eq!(buttons[0]["custom_id"], "vote:up:A › B", "{json}");
            assert_eq!(buttons[1]["custom_id"], "vote:down:A › B");
            assert_eq!(buttons[0]["emoji"]["name"], "👍");
        }
        let report = "Questions without a good answer (1):\n     3× hot stones\n".repeat(300);
        assert!(gaps(&report).within_limits() && gaps(&report).ephemeral);
        assert!(vote_thanks(true).ephemeral && vote_expired().ephemeral);
    }

    #[test]
    fn builders_carry_empty_allowed_mentions() {
        let r = answer(&sample("text", 1));
        for json in [
            serde_json::to_value(r.to_interaction_message()).unwrap(),
            serde_json::to_value(r.to_edit()).unwrap(),
            serde_json::to_value(r.to_message()).unwrap(),
        ] {
            assert_eq!(
                json["allowed_mentions"]["parse"],
                serde_json::json!([]),
                "{json}"
            );
        }
    }
}
