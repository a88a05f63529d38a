//! The `/v1` routes, one file per capability.

pub mod episodes;
pub mod extract;
pub mod knowledge;
pub mod leases;
pub mod memory;

use super::error::ApiError;
use crate::memory::Language;

/// A language named in a request (`python`, `py`, …), or a 422 listing the known ones.
pub fn language(name: &str) -> Result<Language, ApiError> {
    name.parse::<Language>()
        .map_err(|e| ApiError::invalid(e.to_string()))
}

/// An optional language field: absent stays absent, a name must be known.
pub fn optional_language(name: Option<&str>) -> Result<Option<Language>, ApiError> {
    name.map(language).transpose()
}
