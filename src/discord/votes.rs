//! The 👍/👎 buttons under answers: what their `custom_id`s carry, and how a press is mapped
//! back to the passage it rates.
//!
//! A vote counts against the *first* (best) quoted passage of the answer: it is the one that
//! made the bot answer at all, and one pair of buttons per answer keeps the message calm.
//!
//! Discord caps a `custom_id` at 100 characters, and a passage path ("Article › Section ›
//! Subsection") can be longer. So the id is `vote:up:<key>` / `vote:down:<key>` where the key
//! is the path itself when it fits ([`MAX_INLINE`] characters; such buttons keep working
//! across restarts), and otherwise `#` plus 16 hex digits of the path's BLAKE3 hash, resolved
//! through a bounded in-memory map ([`VoteKeys`]). A hashed button pressed after a restart,
//! or after its entry was evicted, is answered with "too old to rate", and nothing is counted.
//!
//! Nothing about the voter is kept: not in the id, not in the map, not in the database.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Prefix of every vote button id.
const PREFIX: &str = "vote:";
/// Longest path carried verbatim: 100 minus `vote:down:`.
pub const MAX_INLINE: usize = 90;
/// Hashed keys remembered (FIFO); a few hundred kilobytes at most.
pub const MAX_HASHED: usize = 4096;

/// A pressed vote button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote<'a> {
    /// 👍 (`true`) or 👎.
    pub up: bool,
    /// The key: a path, or `#` + hash.
    pub key: &'a str,
}

/// The `custom_id` of a vote button.
pub fn button_id(up: bool, key: &str) -> String {
    format!("{PREFIX}{}:{key}", if up { "up" } else { "down" })
}

/// Parses a vote button id; `None` for anything else.
pub fn parse(custom_id: &str) -> Option<Vote<'_>> {
    let rest = custom_id.strip_prefix(PREFIX)?;
    let (up, key) = if let Some(key) = rest.strip_prefix("up:") {
        (true, key)
    } else {
        (false, rest.strip_prefix("down:")?)
    };
    (!key.is_empty()).then_some(Vote { up, key })
}

/// Keys for long paths, so that a press can be mapped back to the passage.
#[derive(Debug, Default)]
pub struct VoteKeys {
    inner: Mutex<Keys>,
}

#[derive(Debug, Default)]
struct Keys {
    paths: HashMap<String, String>,
    order: VecDeque<String>,
}

impl VoteKeys {
    /// The key for `path` (remembered when it is a hash).
    pub fn key_for(&self, path: &str) -> String {
        if path.chars().count() <= MAX_INLINE && !path.starts_with('#') {
            return path.to_string();
        }
        let hash = blake3::hash(path.as_bytes()).to_hex();
        let key = format!("#{}", &hash[..16]);
        let mut keys = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !keys.paths.contains_key(&key) {
            if keys.order.len() >= MAX_HASHED {
                if let Some(oldest) = keys.order.pop_front() {
                    keys.paths.remove(&oldest);
                }
            }
            keys.order.push_back(key.clone());
            keys.paths.insert(key.clone(), path.to_string());
        }
        key
    }

    /// The passage path behind `key`; `None` when a hashed key is unknown (too old).
    pub fn resolve(&self, key: &str) -> Option<String> {
        if !key.starts_with('#') {
            return Some(key.to_string());
        }
        let keys = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.paths.get(key).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_paths_travel_inline_and_ids_fit() {
        let keys = VoteKeys::default();
        let path = "Massage Therapy for Back Pain › Deep Tissue Massage";
        let key = keys.key_for(path);
        assert_eq!(key, path);
        for up in [true, false] {
            let id = button_id(up, &key);
            assert!(id.chars().count() <= 100);
            assert_eq!(parse(&id), Some(Vote { up, key: path }));
        }
        assert_eq!(keys.resolve(path).as_deref(), Some(path));
    }

    #[test]
    fn long_paths_are_hashed_and_resolved_while_remembered() {
        let keys = VoteKeys::default();
        let path = format!("{} › {}", "Ä very long article title ".repeat(5), "Section");
        let key = keys.key_for(&path);
        assert!(key.starts_with('#') && key.len() == 17, "{key}");
        assert_eq!(keys.key_for(&path), key, "stable");
        assert!(button_id(false, &key).chars().count() <= 100);
        assert_eq!(keys.resolve(&key), Some(path));
        assert_eq!(
            VoteKeys::default().resolve(&key),
            None,
            "unknown after a restart"
        );
    }

    #[test]
    fn the_map_is_bounded() {
        let keys = VoteKeys::default();
        let long = |i: usize| format!("{i} {}", "x".repeat(100));
        let first = keys.key_for(&long(0));
        for i in 1..=MAX_HASHED {
            keys.key_for(&long(i));
        }
        assert_eq!(keys.resolve(&first), None, "the oldest was evicted");
        assert_eq!(keys.inner.lock().unwrap().paths.len(), MAX_HASHED);
    }

    #[test]
    fn other_ids_are_not_votes() {
        assert_eq!(parse("vote:up:"), None);
        assert_eq!(parse("vote:sideways:x"), None);
        assert_eq!(parse("something"), None);
    }
}
