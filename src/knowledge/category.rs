//! The three kinds of knowledge, and where each is stored.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::memory::MemoryKind;

/// What a knowledge entry is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A reusable design, with working code in at least two languages.
    DesignPattern,
    /// A practice to follow, and why.
    BestPractice,
    /// An error message as printed, its cause and its resolution.
    CommonError,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 3] = [Self::DesignPattern, Self::BestPractice, Self::CommonError];

    /// The name used in seed files.
    pub fn name(self) -> &'static str {
        match self {
            Self::DesignPattern => "design_pattern",
            Self::BestPractice => "best_practice",
            Self::CommonError => "common_error",
        }
    }

    /// The name in reports: patterns, best practices, common errors.
    pub fn plural(self) -> &'static str {
        match self {
            Self::DesignPattern => "patterns",
            Self::BestPractice => "best practices",
            Self::CommonError => "common errors",
        }
    }

    /// The collection entries of this category are stored in.
    pub fn memory_kind(self) -> MemoryKind {
        match self {
            Self::DesignPattern => MemoryKind::CodePattern,
            Self::BestPractice => MemoryKind::Solution,
            Self::CommonError => MemoryKind::Error,
        }
    }
}

impl Category {
    /// Every name the HTTP API accepts (names and short aliases, lower case).
    pub const ACCEPTED_NAMES: [&'static str; 6] = [
        "design_pattern",
        "pattern",
        "best_practice",
        "practice",
        "common_error",
        "error",
    ];

    /// The category called exactly `name` (one of [`Category::ACCEPTED_NAMES`]): the HTTP
    /// API's parse, stated as an enum in its document.
    pub fn from_exact_name(name: &str) -> Result<Self, UnknownCategory> {
        match name {
            "design_pattern" | "pattern" => Ok(Self::DesignPattern),
            "best_practice" | "practice" => Ok(Self::BestPractice),
            "common_error" | "error" => Ok(Self::CommonError),
            _ => Err(UnknownCategory {
                name: name.to_owned(),
            }),
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A category name that is not one of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown category {name:?}; known: design_pattern, best_practice, common_error \
     (also: pattern, practice, error)"
)]
pub struct UnknownCategory {
    /// What was given.
    pub name: String,
}

impl FromStr for Category {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "design_pattern" | "pattern" => Ok(Self::DesignPattern),
            "best_practice" | "practice" => Ok(Self::BestPractice),
            "common_error" | "error" => Ok(Self::CommonError),
            _ => Err(UnknownCategory { name: s.to_owned() }),
        }
    }
}
