//! Knowledge loading: the Markdown articles of the knowledge folder become [`Passage`]s.
//!
//! One `.md` file is one article. It may open with TOML front matter between `+++` lines
//! (`title`, `source`, `tags`). Headings (`#`, `##`, `###`, ...) make sections; a passage is
//! one section's own text with its heading path, and a section longer than the configured
//! size is split on paragraph boundaries. `README.md` is documentation, not knowledge.
//!
//! Loading never stops at the first bad file: every finding becomes a [`Problem`] with its
//! file and line, and the caller decides (a rebuild refuses to swap in a folder with errors).
//! This module knows nothing of Tantivy or Discord.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Deserialize;

use crate::problem::{line_of_offset, Problem};

/// The separator between headings in a passage path.
pub const PATH_SEPARATOR: &str = " › ";

/// A section of an article, ready to index and quote.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// The article's title (front matter `title`, else its first heading).
    pub article: String,
    /// The article file, relative to the knowledge folder.
    pub file: String,
    /// Where the article comes from, for citation (may be empty).
    pub source: String,
    /// Headings from the article title down to this section's own heading.
    pub headings: Vec<String>,
    /// The section text: paragraphs separated by blank lines, list items as `- ` lines.
    pub body: String,
    /// Lay phrasings a moderator listed for this section (`<!-- keywords: a, b -->`): indexed
    /// and matched like the heading, never shown to users.
    pub keywords: Vec<String>,
    /// 1-based line of the section's heading (or first text) in the file.
    pub line: usize,
}

impl Passage {
    /// The innermost heading: the section's own name.
    pub fn heading(&self) -> &str {
        self.headings
            .last()
            .map(String::as_str)
            .unwrap_or(&self.article)
    }

    /// "Article › Section › Subsection".
    pub fn path(&self) -> String {
        self.headings.join(PATH_SEPARATOR)
    }
}

/// One article file after parsing.
#[derive(Debug, Clone)]
pub struct Article {
    /// Relative file name.
    pub file: String,
    /// Title used in citations.
    pub title: String,
    /// Front matter `source`.
    pub source: String,
    /// Front matter `tags`.
    pub tags: Vec<String>,
    /// The article's passages in reading order.
    pub passages: Vec<Passage>,
}

/// Everything read from a knowledge folder.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// Parsed articles (files with errors are left out).
    pub articles: Vec<Article>,
    /// Every finding, errors and warnings.
    pub problems: Vec<Problem>,
    /// Content hash of each article file (relative name → blake3 hex), bad files included.
    pub file_hashes: BTreeMap<String, String>,
}

impl Knowledge {
    /// All passages of all articles.
    pub fn passages(&self) -> impl Iterator<Item = &Passage> {
        self.articles.iter().flat_map(|a| a.passages.iter())
    }

    /// True when some finding is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }

    /// One hash over every article file's name and content.
    pub fn content_hash(&self) -> String {
        content_hash(&self.file_hashes)
    }

    /// The topics: each article's title and its top-level section names, in file order.
    pub fn topics(&self) -> Vec<Topic> {
        self.articles
            .iter()
            .map(|a| {
                let mut sections: Vec<String> = Vec::new();
                for p in &a.passages {
                    if let Some(s) = p.headings.get(1) {
                        if !sections.contains(s) {
                            sections.push(s.clone());
                        }
                    }
                }
                Topic {
                    article: a.title.clone(),
                    sections,
                }
            })
            .collect()
    }
}

/// An article and its top-level sections: what the bot can talk about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Topic {
    /// Article title.
    pub article: String,
    /// Its `##` section names.
    pub sections: Vec<String>,
}

/// One hash over file names and their content hashes.
pub fn content_hash(file_hashes: &BTreeMap<String, String>) -> String {
    let mut hasher = blake3::Hasher::new();
    for (name, hash) in file_hashes {
        hasher.update(name.as_bytes());
        hasher.update(&[0]);
        hasher.update(hash.as_bytes());
        hasher.update(&[0]);
    }
    hasher.finalize().to_hex().to_string()
}

/// Content hashes of the article files of `dir`, without parsing them (a cheap freshness
/// check at start-up).
pub fn hash_dir(dir: &Path) -> std::io::Result<BTreeMap<String, String>> {
    let mut hashes = BTreeMap::new();
    for path in article_files(dir)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        hashes.insert(
            name,
            blake3::hash(&std::fs::read(&path)?).to_hex().to_string(),
        );
    }
    Ok(hashes)
}

/// Front matter keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: Option<String>,
    source: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// True for the files of `dir` that are articles: `*.md` other than `README.md`.
pub fn is_article_file(path: &Path) -> bool {
    let is_md = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("md"));
    let is_readme = path
        .file_stem()
        .is_some_and(|s| s.to_string_lossy().eq_ignore_ascii_case("readme"));
    is_md && !is_readme
}

/// Lists the article files of `dir` (not recursive), sorted by name.
pub fn article_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && is_article_file(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every article of `dir`. Never fails: an unreadable folder or file is a problem.
pub fn load_dir(dir: &Path, max_passage_chars: usize) -> Knowledge {
    let mut knowledge = Knowledge::default();
    let files = match article_files(dir) {
        Ok(files) => files,
        Err(e) => {
            knowledge.problems.push(Problem::error(
                dir,
                1,
                format!("cannot read knowledge folder: {e}"),
            ));
            return knowledge;
        }
    };
    if files.is_empty() {
        knowledge.problems.push(Problem::error(
            dir,
            1,
            "no articles (*.md files) in the knowledge folder",
        ));
    }
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                knowledge
                    .problems
                    .push(Problem::error(&path, 1, format!("cannot read file: {e}")));
                continue;
            }
        };
        knowledge
            .file_hashes
            .insert(name.clone(), blake3::hash(&bytes).to_hex().to_string());
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let line = line_of_offset(&String::from_utf8_lossy(e.as_bytes()), offset);
                knowledge
                    .problems
                    .push(Problem::error(&path, line, "file is not valid UTF-8"));
                continue;
            }
        };
        let (article, problems) = parse_article(&text, &path, &name, max_passage_chars);
        let bad = problems.iter().any(Problem::is_error);
        knowledge.problems.extend(problems);
        if let (Some(article), false) = (article, bad) {
            knowledge.articles.push(article);
        }
    }
    check_duplicate_titles(&mut knowledge, dir);
    knowledge
}

fn check_duplicate_titles(knowledge: &mut Knowledge, dir: &Path) {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut problems = Vec::new();
    for article in &knowledge.articles {
        let key = article.title.trim().to_lowercase();
        if let Some(first) = seen.insert(key, &article.file) {
            problems.push(Problem::error(
                dir.join(&article.file),
                1,
                format!("duplicate title {:?}: {first} has the same title, so citations would be ambiguous", article.title),
            ));
        }
    }
    knowledge.problems.extend(problems);
}

/// Splits off `+++` TOML front matter. Returns (front matter text, its first line, body offset).
fn split_front_matter(text: &str) -> Option<(&str, usize)> {
    let rest = text.strip_prefix("+++")?;
    let rest = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))?;
    let start = text.len() - rest.len();
    let mut offset = start;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            return Some((&text[start..offset], offset + line.len()));
        }
        offset += line.len();
    }
    None
}

/// Parses one article. `path` is used in problems, `name` in passages.
pub fn parse_article(
    text: &str,
    path: &Path,
    name: &str,
    max_passage_chars: usize,
) -> (Option<Article>, Vec<Problem>) {
    let mut problems = Vec::new();
    if text.trim().is_empty() {
        problems.push(Problem::error(path, 1, "file is empty"));
        return (None, problems);
    }
    let mut front = FrontMatter::default();
    let mut body_start = 0;
    if text.starts_with("+++") {
        match split_front_matter(text) {
            Some((toml_text, end)) => {
                body_start = end;
                let toml_offset = text.len()
                    - text
                        .strip_prefix("+++\r\n")
                        .or_else(|| text.strip_prefix("+++\n"))
                        .unwrap_or(text)
                        .len();
                match toml::from_str::<FrontMatter>(toml_text) {
                    Ok(parsed) => front = parsed,
                    Err(e) => {
                        let line = e
                            .span()
                            .map(|s| line_of_offset(text, toml_offset + s.start))
                            .unwrap_or(1);
                        problems.push(Problem::error(
                            path,
                            line,
                            format!("front matter: {}", e.message()),
                        ));
                        return (None, problems);
                    }
                }
            }
            None => {
                problems.push(Problem::error(
                    path,
                    1,
                    "front matter opened with `+++` is never closed",
                ));
                return (None, problems);
            }
        }
    }
    let sections = parse_sections(text, body_start);
    if !sections.iter().any(|s| s.level.is_some()) {
        problems.push(Problem::error(
            path,
            line_of_offset(text, body_start),
            "no heading: an article needs at least a `# Title` heading",
        ));
        return (None, problems);
    }
    let title = front
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .or_else(|| {
            sections
                .iter()
                .find(|s| s.level.is_some())
                .map(|s| s.heading.clone())
        })
        .unwrap_or_else(|| name.to_string());
    if let Some(first) = sections
        .first()
        .filter(|s| s.level.is_none() && !s.text.trim().is_empty())
    {
        problems.push(Problem::warning(
            path,
            first.line,
            "text before the first heading is not part of any section",
        ));
    }

    let mut passages = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for section in &sections {
        let Some(level) = section.level else { continue };
        while stack.last().is_some_and(|(l, _)| *l >= level) {
            stack.pop();
        }
        stack.push((level, section.heading.clone()));
        if section.heading.trim().is_empty() {
            problems.push(Problem::error(path, section.line, "empty heading"));
            continue;
        }
        let mut headings: Vec<String> = stack.iter().map(|(_, h)| h.clone()).collect();
        // The top heading names the article: cite it by the article's title.
        if stack[0].0 == 1 {
            headings[0] = title.clone();
        } else {
            headings.insert(0, title.clone());
        }
        let body = section.text.trim();
        if body.is_empty() {
            continue;
        }
        let chunks = split_paragraphs(body, max_passage_chars);
        if chunks.iter().any(|c| c.chars().count() > max_passage_chars) {
            problems.push(Problem::warning(
                path,
                section.line,
                format!(
                    "section {:?} has a paragraph longer than {max_passage_chars} characters: it will be quoted in part only",
                    section.heading
                ),
            ));
        }
        for chunk in chunks {
            passages.push(Passage {
                article: title.clone(),
                file: name.to_string(),
                source: front.source.clone().unwrap_or_default(),
                headings: headings.clone(),
                body: chunk,
                keywords: section.keywords.clone(),
                line: section.line,
            });
        }
    }
    if passages.is_empty() {
        problems.push(Problem::error(path, 1, "no section has any text"));
        return (None, problems);
    }
    let article = Article {
        file: name.to_string(),
        title,
        source: front.source.unwrap_or_default(),
        tags: front.tags,
        passages,
    };
    (Some(article), problems)
}

/// A heading and the text up to the next heading.
struct RawSection {
    level: Option<usize>,
    heading: String,
    text: String,
    keywords: Vec<String>,
    line: usize,
}

/// The phrases of a `<!-- keywords: a, b, c -->` comment, if `html` is one.
fn keywords_comment(html: &str) -> Option<Vec<String>> {
    let inner = html
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let list = inner.strip_prefix("keywords:")?;
    Some(
        list.split(',')
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect(),
    )
}

/// Walks the Markdown events and cuts them into sections, rendering block text as plain
/// text: paragraphs separated by blank lines, list items as `- item` lines.
fn parse_sections(text: &str, body_start: usize) -> Vec<RawSection> {
    let body = &text[body_start..];
    let mut sections = vec![RawSection {
        level: None,
        heading: String::new(),
        text: String::new(),
        keywords: Vec::new(),
        line: line_of_offset(text, body_start),
    }];
    let mut in_heading = false;
    let mut list_depth = 0usize;
    for (event, range) in Parser::new_ext(body, Options::empty()).into_offset_iter() {
        let current = sections.last_mut().expect("sections is never empty");
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                in_heading = true;
                sections.push(RawSection {
                    level: Some(heading_level(level)),
                    heading: String::new(),
                    text: String::new(),
                    keywords: Vec::new(),
                    line: line_of_offset(text, body_start + range.start),
                });
            }
            Event::End(TagEnd::Heading(_)) => {
                in_heading = false;
                current.heading = current.heading.trim().to_string();
            }
            Event::Start(Tag::List(_)) => {
                list_depth += 1;
                ensure_break(&mut current.text);
            }
            Event::End(TagEnd::List(_)) => {
                list_depth = list_depth.saturating_sub(1);
                ensure_blank_line(&mut current.text);
            }
            Event::Start(Tag::Item) => {
                ensure_break(&mut current.text);
                current
                    .text
                    .push_str(&"  ".repeat(list_depth.saturating_sub(1)));
                current.text.push_str("- ");
            }
            Event::End(TagEnd::Paragraph)
            | Event::End(TagEnd::BlockQuote(_))
            | Event::End(TagEnd::CodeBlock)
                if list_depth == 0 =>
            {
                ensure_blank_line(&mut current.text);
            }
            Event::Text(t) | Event::Code(t) => {
                if in_heading {
                    current.heading.push_str(&t);
                } else {
                    current.text.push_str(&t);
                }
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                if let Some(keywords) = keywords_comment(&html) {
                    current.keywords.extend(keywords);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if in_heading {
                    current.heading.push(' ');
                } else {
                    current.text.push(' ');
                }
            }
            _ => {}
        }
    }
    sections
}

fn heading_level(level: HeadingLevel) -> usize {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

fn ensure_break(text: &mut String) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

fn ensure_blank_line(text: &mut String) {
    ensure_break(text);
    if !text.is_empty() && !text.ends_with("\n\n") {
        text.push('\n');
    }
}

/// Groups paragraphs (blocks separated by blank lines) into chunks of at most `max` chars.
/// A single paragraph longer than `max` stays whole: splitting mid-paragraph would cut
/// sentences from their context (the quote trimmer shortens it instead).
pub fn split_paragraphs(body: &str, max: usize) -> Vec<String> {
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    for para in body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let fits = current.chars().count() + 2 + para.chars().count() <= max;
        if !current.is_empty() && !fits {
            chunks.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(para);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Option<Article>, Vec<Problem>) {
        parse_article(text, Path::new("k/a.md"), "a.md", 1200)
    }

    #[test]
    fn headings_make_paths_and_lists_stay_lists() {
        let text = "+++\ntitle = \"Massage\"\nsource = \"seed\"\ntags = [\"x\"]\n+++\n# The Title\n\nIntro text.\n\n## Techniques\n\n### Deep Tissue Massage\n\nFirm pressure.\n\n- **One:** first\n- Two\n\nAfter.\n";
        let (article, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        let article = article.unwrap();
        assert_eq!(article.title, "Massage");
        let paths: Vec<String> = article.passages.iter().map(Passage::path).collect();
        assert_eq!(
            paths,
            ["Massage", "Massage › Techniques › Deep Tissue Massage"]
        );
        let deep = &article.passages[1];
        assert_eq!(deep.heading(), "Deep Tissue Massage");
        assert_eq!(deep.body, "Firm pressure.\n\n- One: first\n- Two\n\nAfter.");
        assert_eq!(deep.line, 12);
        assert_eq!(deep.source, "seed");
    }

    #[test]
    fn keyword_comments_attach_to_their_section_and_stay_out_of_the_text() {
        let text = "# A\n\n## Deep\n\n<!-- keywords: hard massage, knots in my back -->\n\nFirm pressure.\n\n<!-- a note -->\n";
        let (article, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        let p = &article.unwrap().passages[0];
        assert_eq!(p.keywords, ["hard massage", "knots in my back"]);
        assert_eq!(p.body, "Firm pressure.");
    }

    #[test]
    fn title_falls_back_to_first_heading() {
        let (article, _) = parse("# Hello World\n\nSome text.\n");
        assert_eq!(article.unwrap().title, "Hello World");
    }

    #[test]
    fn malformed_front_matter_names_its_line() {
        let text = "+++\ntitle = \"ok\"\ntags = [\"a\",\n+++\n# T\n\nx\n";
        let (article, problems) = parse(text);
        assert!(article.is_none());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].is_error());
        assert!((3..=4).contains(&problems[0].line), "{}", problems[0]);
        assert!(
            problems[0].message.starts_with("front matter"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn unknown_front_matter_key_is_an_error() {
        let (_, problems) = parse("+++\ntitel = \"x\"\n+++\n# T\n\nx\n");
        assert_eq!(problems[0].line, 2, "{}", problems[0]);
        assert!(problems[0].message.contains("titel"));
    }

    #[test]
    fn unclosed_front_matter_empty_and_headingless_files_are_errors() {
        for text in [
            "+++\ntitle = \"x\"\n# T\n",
            "",
            "   \n",
            "just text, no heading\n",
        ] {
            let (article, problems) = parse(text);
            assert!(article.is_none(), "{text:?}");
            assert!(problems.iter().any(Problem::is_error), "{text:?}");
        }
    }

    #[test]
    fn long_sections_split_on_paragraphs() {
        let para = "Sentence one is here. ".repeat(10);
        let body = [para.trim(); 6].join("\n\n");
        let chunks = split_paragraphs(&body, 500);
        assert!(chunks.len() >= 3, "{}", chunks.len());
        assert!(chunks.iter().all(|c| c.chars().count() <= 500));
        assert_eq!(chunks.join("\n\n"), body);
    }

    #[test]
    fn sections_without_text_are_skipped_but_name_their_children() {
        let (article, _) = parse("# A\n\n## B\n\n### C\n\ntext\n");
        let article = article.unwrap();
        assert_eq!(article.passages.len(), 1);
        assert_eq!(article.passages[0].path(), "A › B › C");
    }

    #[test]
    fn bundled_knowledge_loads_cleanly() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        let k = load_dir(&dir, 1200);
        assert!(!k.has_errors(), "{:?}", k.problems);
        assert!(k.articles.len() >= 2);
        assert!(k.passages().any(|p| p.path() == "Massage Therapy for Back Pain › Choosing the Right Massage Techniques › Deep Tissue Massage"));
        // Scraping junk never made it in.
        assert!(!k
            .passages()
            .any(|p| p.body.contains("See also") || p.body.contains("website")));
    }
}
