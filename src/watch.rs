//! Live reload: watches the knowledge folder (and the red-flag rule file) and rebuilds the
//! engine after a burst of changes settles.
//!
//! Editors write a file in several steps (temp file, rename, chmod); the debouncer folds such
//! a burst into one event batch, so one save gives one rebuild. The rebuild itself is
//! [`Engine::reindex`]: questions keep being answered from the old state until the new one
//! is complete, and a change that fails validation leaves the old state serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::{self, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};

use crate::engine::{Engine, EngineError, IndexReport};

/// Keeps the watch alive; dropping it stops watching.
pub struct Reloader {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

/// True for files whose change can alter what the bot serves: articles and TOML rules.
fn relevant(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if name.starts_with('.') || name.ends_with('~') {
        return false; // editor swap and backup files
    }
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("md" | "toml")
    )
}

/// Starts watching. `on_reload` hears about every rebuild attempt (for logs, or tests).
pub fn watch(
    engine: Arc<Engine>,
    debounce: Duration,
    on_reload: impl Fn(&Result<IndexReport, EngineError>) + Send + 'static,
) -> notify::Result<Reloader> {
    let config = engine.config();
    let knowledge = config.knowledge_dir.clone();
    let rules_dir: Option<PathBuf> = config
        .safety
        .rules_file
        .parent()
        .filter(|dir| !dir.starts_with(&knowledge))
        .map(Path::to_path_buf);
    let handler = move |result: DebounceEventResult| match result {
        Ok(events) => {
            if events.iter().any(|e| e.paths.iter().any(|p| relevant(p))) {
                tracing::info!(events = events.len(), "knowledge changed; rebuilding");
                on_reload(&engine.reindex());
            }
        }
        Err(errors) => {
            for error in errors {
                tracing::warn!(%error, "file watch error");
            }
        }
    };
    let mut debouncer = new_debouncer(debounce, None, handler)?;
    debouncer.watch(&knowledge, RecursiveMode::NonRecursive)?;
    if let Some(dir) = rules_dir {
        debouncer.watch(&dir, RecursiveMode::NonRecursive)?;
    }
    Ok(Reloader {
        _debouncer: debouncer,
    })
}

/// The default `on_reload`: one log line per rebuild, problems included.
pub fn log_reload(result: &Result<IndexReport, EngineError>) {
    match result {
        Ok(report) => tracing::info!(
            files = report.files,
            passages = report.passages,
            added = report.added.len(),
            changed = report.changed.len(),
            removed = report.removed.len(),
            warnings = report.problems.len(),
            "knowledge reloaded"
        ),
        Err(e) => {
            tracing::error!("knowledge reload failed; still serving the previous knowledge: {e}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_articles_and_rules_trigger_rebuilds() {
        assert!(relevant(Path::new("k/a.md")));
        assert!(relevant(Path::new("k/red-flags.toml")));
        assert!(!relevant(Path::new("k/.a.md.swp")));
        assert!(!relevant(Path::new("k/a.md~")));
        assert!(!relevant(Path::new("k/4913")));
    }
}
