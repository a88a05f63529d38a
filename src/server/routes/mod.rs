//! The `/v1` routes, one file per capability.

#[expect(
    unused_qualifications,
    reason = "utoipa's path macro qualifies the parameter types it is given"
)]
pub mod episodes;
pub mod extract;
pub mod knowledge;
#[expect(
    unused_qualifications,
    reason = "utoipa's path macro qualifies the parameter types it is given"
)]
pub mod leases;
#[expect(
    unused_qualifications,
    reason = "utoipa's path macro qualifies the parameter types it is given"
)]
pub mod memories;
pub mod memory;
#[expect(
    unused_qualifications,
    reason = "utoipa's path macro qualifies the parameter types it is given"
)]
pub mod specialists;
#[expect(
    unused_qualifications,
    reason = "utoipa's path macro qualifies the parameter types it is given"
)]
pub mod swarm;
#[expect(
    unused_qualifications,
    reason = "utoipa's path macro qualifies the parameter types it is given"
)]
pub mod swarm_agents;
pub mod swarm_health;
#[expect(
    unused_qualifications,
    reason = "utoipa's path macro qualifies the parameter types it is given"
)]
pub mod swarm_outcomes;

use super::error::ApiError;
use crate::memory::Language;

/// A language named in a request (`python`, `py`, …, exactly as the document's enum lists
/// them), or a 422 listing the known ones.
pub fn language(name: &str) -> Result<Language, ApiError> {
    Language::from_exact_name(name).map_err(|e| ApiError::invalid(e.to_string()))
}

/// An optional language field: absent stays absent, a name must be known.
pub fn optional_language(name: Option<&str>) -> Result<Option<Language>, ApiError> {
    name.map(language).transpose()
}
pub mod agents;
