//! TEMPORARY placeholder with the agreed API; the real red-flag triage replaces this file.
use std::path::Path;

use crate::problem::Problem;

/// How soon the person should get care.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    /// No flag.
    #[default]
    None,
    /// See a doctor soon.
    Soon,
    /// Be seen today.
    Urgent,
    /// Call emergency services.
    Emergency,
}

impl Urgency {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::None => "none",
            Urgency::Soon => "soon",
            Urgency::Urgent => "urgent",
            Urgency::Emergency => "emergency",
        }
    }
}

/// One red flag.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Flag {
    /// Category id.
    pub category: String,
    /// Its urgency.
    pub urgency: Urgency,
    /// The words that triggered it.
    pub evidence: String,
}

/// Triage of one message.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Triage {
    /// Most urgent flag's urgency.
    pub urgency: Urgency,
    /// Flags, most urgent first.
    pub flags: Vec<Flag>,
    /// A general question about warning signs.
    #[serde(skip)]
    pub general_question: bool,
}

impl Triage {
    /// The most urgent flag.
    pub fn top(&self) -> Option<&Flag> {
        self.flags.first()
    }
}

/// A rule category.
#[derive(Debug, Clone)]
pub struct Category {
    /// Id.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Urgency.
    pub urgency: Urgency,
    /// Advice text.
    pub advice: String,
}

/// Compiled rules.
#[derive(Debug, Default)]
pub struct Rules {
    categories: Vec<Category>,
}

/// A bad rule file.
#[derive(Debug, thiserror::Error)]
#[error("invalid rules")]
pub struct RulesError(Vec<Problem>);

impl RulesError {
    /// Every problem.
    pub fn problems(&self) -> Vec<Problem> {
        self.0.clone()
    }
}

impl Rules {
    /// Loads a rule file.
    pub fn load(_path: &Path) -> Result<Rules, RulesError> {
        Ok(Rules::default())
    }
    /// Parses rules.
    pub fn parse(_source: &str, _path: &Path) -> Result<Rules, RulesError> {
        Ok(Rules::default())
    }
    /// Assesses a message.
    pub fn assess(&self, _message: &str) -> Triage {
        Triage::default()
    }
    /// A category by id.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }
    /// All categories.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }
}
