//! Findings about input files (knowledge articles, rule files, config), printed as
//! `file:line: severity: message` so editors and CI logs can jump to them.
//!
//! A `Problem` is data, not an error: loaders collect every finding they can instead of
//! stopping at the first one (one bad article is a finding, not a crash).

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// How bad a finding is. Errors block a rebuild or a rule reload; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth fixing, but the file is still usable.
    Warning,
    /// The file cannot be used as it is.
    Error,
}

/// One finding, located at a 1-based line of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file the finding is about.
    pub file: PathBuf,
    /// 1-based line number (1 when the finding concerns the whole file).
    pub line: usize,
    /// Whether it blocks use of the file.
    pub severity: Severity,
    /// What is wrong, in words a moderator can act on.
    pub message: String,
}

impl Problem {
    /// An error at `file:line`.
    pub fn error(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            line: line.max(1),
            severity: Severity::Error,
            message: message.into(),
        }
    }

    /// A warning at `file:line`.
    pub fn warning(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            line: line.max(1),
            severity: Severity::Warning,
            message: message.into(),
        }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            severity,
            self.message
        )
    }
}

/// The 1-based line on which byte `offset` of `text` falls (offsets past the end give the
/// last line).
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_file_line_message() {
        let p = Problem::error("knowledge/a.md", 12, "front matter: expected `=`");
        assert_eq!(
            p.to_string(),
            "knowledge/a.md:12: error: front matter: expected `=`"
        );
    }

    #[test]
    fn line_of_offset_counts_newlines() {
        let text = "a\nbb\nccc";
        assert_eq!(line_of_offset(text, 0), 1);
        assert_eq!(line_of_offset(text, 2), 2);
        assert_eq!(line_of_offset(text, 5), 3);
        assert_eq!(line_of_offset(text, 999), 3);
    }
}
