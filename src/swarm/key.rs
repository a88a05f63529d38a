//! Swarm keys: `{category}/{subcategory}/{identifier}` (design note 004), where the
//! category is one of [`Category`], every segment is non-empty and free of control
//! characters, and the whole key is at most
//! [`MAX_KEY_CHARS`] characters. The identifier may itself contain `/`
//! (`swarm/prod/tasks/42`): a key has three segments or more.
//!
//! A key is listed under each of its leading segment paths (`swarm`, `swarm/prod`,
//! `swarm/prod/tasks`, …): a prefix is whole segments, never part of one.

use serde::{Deserialize, Serialize};

/// Longest key, in characters (the note's limit).
pub const MAX_KEY_CHARS: usize = 255;

/// What a key holds, by its first segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SwarmCategory)]
pub enum Category {
    /// Swarm-wide coordination data.
    Swarm,
    /// One agent's state: `agent/{agent_id}/…`; only that agent (or an admin) writes it.
    Agent,
    /// A session's temporary data.
    Session,
    /// Knowledge shared across swarms.
    Global,
    /// Learned patterns and outcomes.
    Neural,
}

impl Category {
    /// Every category, in the order of the note.
    pub const ALL: [Self; 5] = [
        Self::Swarm,
        Self::Agent,
        Self::Session,
        Self::Global,
        Self::Neural,
    ];

    /// The name used in keys and configuration.
    pub fn name(self) -> &'static str {
        match self {
            Self::Swarm => "swarm",
            Self::Agent => "agent",
            Self::Session => "session",
            Self::Global => "global",
            Self::Neural => "neural",
        }
    }

    /// The category named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A validated key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SwarmKey {
    text: String,
    category: Category,
}

impl SwarmKey {
    /// Checks `text` as a key; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let category = check_path("key", text)?;
        let segments = text.split('/').count();
        if segments < 3 {
            return Err(format!(
                "key {text:?} has {segments} segment(s); a key is \
                 {{category}}/{{subcategory}}/{{identifier}}, such as swarm/prod/coordination"
            ));
        }
        Ok(Self {
            text: text.to_owned(),
            category,
        })
    }

    /// The key as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its category.
    pub fn category(&self) -> Category {
        self.category
    }

    /// Its second segment (for `agent/…` keys: the agent).
    pub fn subcategory(&self) -> &str {
        self.text.split('/').nth(1).unwrap_or_default()
    }

    /// Every leading segment path, the key itself included: what a prefix listing matches.
    pub fn prefixes(&self) -> Vec<String> {
        self.text
            .match_indices('/')
            .map(|(at, _)| self.text[..at].to_owned())
            .chain(std::iter::once(self.text.clone()))
            .collect()
    }
}

impl std::fmt::Display for SwarmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Checks a listing prefix (whole segments, the first a category; a trailing `/` is
/// dropped) and answers it without the trailing `/`.
pub fn parse_prefix(text: &str) -> Result<String, String> {
    let chars = text.chars().count();
    if chars > MAX_KEY_CHARS {
        return Err(format!(
            "a prefix is 1 to {MAX_KEY_CHARS} characters, not {chars}"
        ));
    }
    let trimmed = text.strip_suffix('/').unwrap_or(text);
    check_path("prefix", trimmed)?;
    Ok(trimmed.to_owned())
}

/// The checks keys and prefixes share; answers the category.
fn check_path(what: &str, text: &str) -> Result<Category, String> {
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_KEY_CHARS {
        return Err(format!(
            "a {what} is 1 to {MAX_KEY_CHARS} characters, not {chars}"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{what} {text:?} contains control characters"));
    }
    if let Some(at) = text.split('/').position(str::is_empty) {
        return Err(format!(
            "{what} {text:?} has an empty segment (number {}); segments are separated by one \
             '/'",
            at + 1
        ));
    }
    let first = text.split('/').next().unwrap_or_default();
    Category::parse(first).ok_or_else(|| {
        format!(
            "{what} {text:?} starts with {first:?}; the category is one of {}",
            Category::ALL.map(Category::name).join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_a_category_and_three_segments_or_more() {
        let key = SwarmKey::parse("swarm/prod/tasks/42").expect("key");
        assert_eq!(key.category(), Category::Swarm);
        assert_eq!(key.subcategory(), "prod");
        assert_eq!(
            key.prefixes(),
            [
                "swarm",
                "swarm/prod",
                "swarm/prod/tasks",
                "swarm/prod/tasks/42"
            ]
        );
        assert_eq!(
            SwarmKey::parse("agent/worker-1/state")
                .expect("key")
                .category(),
            Category::Agent
        );
    }

    #[test]
    fn bad_keys_are_refused_with_the_reason() {
        for (key, reason) in [
            ("", "1 to 255"),
            ("swarm/prod", "2 segment"),
            ("team/prod/state", "category is one of"),
            ("swarm//state", "empty segment (number 2)"),
            ("swarm/prod/", "empty segment (number 3)"),
            ("swarm/prod/a\u{0}b", "control characters"),
        ] {
            let error = SwarmKey::parse(key).expect_err(key);
            assert!(error.contains(reason), "{key:?}: {error}");
        }
        let long = format!("swarm/prod/{}", "x".repeat(245));
        assert_eq!(long.chars().count(), 256);
        assert!(
            SwarmKey::parse(&long)
                .expect_err("long")
                .contains("not 256")
        );
        assert!(SwarmKey::parse(&long[..255]).is_ok());
    }

    #[test]
    fn prefixes_are_whole_segments() {
        assert_eq!(parse_prefix("swarm/prod/").expect("prefix"), "swarm/prod");
        assert_eq!(parse_prefix("neural").expect("prefix"), "neural");
        assert!(parse_prefix("swa").is_err());
        assert!(parse_prefix("").is_err());
    }
}
