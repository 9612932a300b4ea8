//! A synthetic knowledge folder for scale runs (`backrub gen-corpus N DIR`): N articles with
//! realistic shapes (front matter, 3–5 `##` sections of 1–3 `###` subsections, 1–3
//! paragraphs each) and a Zipf-like vocabulary (common domain words, rarer generated words),
//! so term statistics look like a real corpus rather than a repeated template.
//!
//! Deterministic for a given seed, so benchmark runs are comparable.

use std::fmt::Write as _;
use std::path::Path;

/// Domain words, most common first.
const DOMAIN: &[&str] = &[
    "back",
    "pain",
    "massage",
    "muscle",
    "therapy",
    "tension",
    "relief",
    "stretch",
    "posture",
    "circulation",
    "spine",
    "lower",
    "upper",
    "shoulder",
    "neck",
    "hip",
    "sciatica",
    "knot",
    "trigger",
    "point",
    "deep",
    "tissue",
    "swedish",
    "pressure",
    "session",
    "therapist",
    "flexibility",
    "strength",
    "core",
    "exercise",
    "inflammation",
    "swelling",
    "sleep",
    "stress",
    "relaxation",
    "chronic",
    "acute",
    "injury",
    "strain",
    "disc",
    "joint",
    "stiffness",
    "mobility",
    "heat",
    "ice",
    "foam",
    "roller",
    "ball",
    "yoga",
    "breathing",
    "routine",
    "daily",
    "desk",
    "chair",
    "lifting",
    "bending",
    "walking",
    "sitting",
    "standing",
    "recovery",
    "healing",
    "technique",
    "kneading",
    "stroke",
    "gentle",
    "firm",
    "technique",
    "lumbar",
    "thoracic",
];

/// Glue words that make sentences read like prose.
const GLUE: &[&str] = &[
    "the", "a", "of", "and", "to", "in", "for", "with", "can", "may", "help", "often", "during",
    "after", "before", "most", "some", "people", "your", "this", "that", "is", "are", "when",
];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ter", "van", "os", "ri", "bel", "cu", "dra", "fen", "gal", "hu", "ix",
    "jor", "ne", "pla", "quo", "sen", "tu", "ul", "ver", "wen", "yo", "zel",
];

/// Writes `articles` synthetic articles into `dir` (created if needed). Returns the number of
/// bytes written.
pub fn generate(dir: &Path, articles: usize, seed: u64) -> std::io::Result<u64> {
    std::fs::create_dir_all(dir)?;
    let mut rng = fastrand::Rng::with_seed(seed);
    // A fixed pool of rare words, drawn with a skew so a few are common and most are rare.
    let rare: Vec<String> = (0..5000)
        .map(|_| {
            (0..rng.usize(2..4))
                .map(|_| SYLLABLES[rng.usize(..SYLLABLES.len())])
                .collect()
        })
        .collect();
    let mut total = 0u64;
    for n in 0..articles {
        let text = article(&mut rng, &rare, n);
        total += text.len() as u64;
        std::fs::write(dir.join(format!("article-{n:05}.md")), text)?;
    }
    Ok(total)
}

fn skewed(rng: &mut fastrand::Rng, len: usize) -> usize {
    // Squaring a uniform draw favours small indexes: a cheap Zipf-like skew.
    let u = rng.f64();
    ((u * u) * len as f64) as usize
}

fn word(rng: &mut fastrand::Rng, rare: &[String]) -> String {
    match rng.u8(..100) {
        0..=39 => GLUE[rng.usize(..GLUE.len())].to_string(),
        40..=79 => DOMAIN[skewed(rng, DOMAIN.len())].to_string(),
        _ => rare[skewed(rng, rare.len())].clone(),
    }
}

fn title_words(rng: &mut fastrand::Rng, rare: &[String], count: usize) -> String {
    let words: Vec<String> = (0..count)
        .map(|i| {
            let w = if i % 2 == 0 {
                DOMAIN[rng.usize(..DOMAIN.len())].to_string()
            } else {
                rare[rng.usize(..rare.len())].clone()
            };
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        })
        .collect();
    words.join(" ")
}

fn paragraph(rng: &mut fastrand::Rng, rare: &[String]) -> String {
    let mut out = String::new();
    for _ in 0..rng.usize(2..5) {
        let len = rng.usize(8..20);
        let words: Vec<String> = (0..len).map(|_| word(rng, rare)).collect();
        let sentence = words.join(" ");
        let mut c = sentence.chars();
        if let Some(first) = c.next() {
            out.extend(first.to_uppercase());
            out.push_str(c.as_str());
        }
        out.push_str(". ");
    }
    out.trim_end().to_string()
}

fn article(rng: &mut fastrand::Rng, rare: &[String], n: usize) -> String {
    let title = format!("{} {n}", title_words(rng, rare, 3));
    let mut text = String::new();
    let _ = writeln!(
        text,
        "+++\ntitle = \"{title}\"\nsource = \"synthetic corpus\"\ntags = [\"synthetic\"]\n+++\n"
    );
    let _ = writeln!(text, "# {title}\n\n{}\n", paragraph(rng, rare));
    for _ in 0..rng.usize(3..6) {
        let words = rng.usize(2..4);
        let _ = writeln!(text, "## {}\n", title_words(rng, rare, words));
        for _ in 0..rng.usize(1..4) {
            let words = rng.usize(2..4);
            let _ = writeln!(text, "### {}\n", title_words(rng, rare, words));
            for _ in 0..rng.usize(1..4) {
                let _ = writeln!(text, "{}\n", paragraph(rng, rare));
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_articles_load_without_problems_and_are_deterministic() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        generate(a.path(), 20, 7).unwrap();
        generate(b.path(), 20, 7).unwrap();
        let one = std::fs::read_to_string(a.path().join("article-00003.md")).unwrap();
        assert_eq!(
            one,
            std::fs::read_to_string(b.path().join("article-00003.md")).unwrap()
        );
        let k = crate::knowledge::load_dir(a.path(), 1200);
        assert!(!k.has_errors(), "{:?}", k.problems);
        assert_eq!(k.articles.len(), 20);
        let passages = k.passages().count();
        assert!((20 * 4..20 * 20).contains(&passages), "{passages} passages");
    }
}
