//! The four memory collections and their schemas.

use serde::{Deserialize, Serialize};

use crate::store::{CollectionSpec, FieldKind, Fusion};

/// One of engram's memory collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemoryKind {
    /// Reusable code structures.
    CodePattern,
    /// Complete solutions to problems.
    Solution,
    /// Error messages and how they were resolved.
    Error,
    /// Episodes of task execution.
    Experience,
}

impl MemoryKind {
    /// Every kind, in display order.
    pub const ALL: [MemoryKind; 4] = [
        MemoryKind::CodePattern,
        MemoryKind::Solution,
        MemoryKind::Error,
        MemoryKind::Experience,
    ];

    /// The collection's name.
    pub fn collection(self) -> &'static str {
        match self {
            Self::CodePattern => "code_patterns",
            Self::Solution => "solutions",
            Self::Error => "errors",
            Self::Experience => "experiences",
        }
    }

    /// The collection's schema for `dimension`-long vectors: the fields recall filters on
    /// are indexed; code is fused dense-heavy (see `store::fusion`).
    pub fn spec(self, dimension: usize) -> CollectionSpec {
        let fusion = match self {
            Self::CodePattern => Fusion::CODE,
            Self::Solution | Self::Error | Self::Experience => Fusion::TEXT,
        };
        let spec = CollectionSpec::new(self.collection(), dimension)
            .with_fusion(fusion)
            .with_index("language", FieldKind::Keyword)
            .with_index("tags", FieldKind::Keyword)
            .with_index("source", FieldKind::Keyword)
            .with_index("success_rate", FieldKind::Float)
            .with_index("seen_count", FieldKind::Integer)
            .with_index("updated_at", FieldKind::Integer);
        match self {
            // Episodes are filtered by where they stand.
            Self::Experience => spec.with_index("status", FieldKind::Keyword),
            Self::CodePattern | Self::Solution | Self::Error => spec,
        }
    }
}
