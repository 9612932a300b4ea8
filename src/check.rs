//! `backrub check`: the moderators' linter. Runs the same validation as start-up and
//! rebuilds (and says when the decline model is older than the articles), and reports
//! every finding as `file:line: severity: message`.

use crate::config::Config;
use crate::decline;
use crate::knowledge;
use crate::problem::Problem;
use crate::synonyms;
use crate::triage::Rules;

/// Every problem in the knowledge folder, the red-flag rules, the synonym table and the
/// decline model of `config`, errors first, each group in file order.
pub fn check(config: &Config) -> Vec<Problem> {
    let knowledge = knowledge::load_dir(&config.knowledge_dir, config.answer.max_passage_chars);
    let mut problems = knowledge.problems;
    match Rules::load(&config.safety.rules_file) {
        Ok(rules) => problems.extend(rules.warnings().iter().cloned()),
        Err(e) => problems.extend(e.problems()),
    }
    problems.extend(synonyms::lint(&config.synonyms_file()));
    problems.extend(decline::lint(config));
    problems.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.file.cmp(&b.file))
            .then(a.line.cmp(&b.line))
    });
    problems
}
