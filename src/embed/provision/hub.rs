//! Download from the Hugging Face hub.

use std::time::Duration;

use super::folder::Staging;
use crate::embed::spec::ModelSpec;

/// Downloads every file of `spec` from `endpoint` into `staging`, verifying each digest.
/// The error says which request failed and why.
pub(super) fn fetch(spec: &ModelSpec, endpoint: &str, staging: &Staging) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_resolve(Some(Duration::from_secs(10)))
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .timeout_recv_body(Some(Duration::from_secs(600)))
        .user_agent(concat!("engram/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let endpoint = endpoint.trim_end_matches('/');
    for file in spec.files {
        let url = format!(
            "{endpoint}/{}/resolve/{}/{}",
            spec.hub_repo, spec.hub_revision, file.path
        );
        let response = agent
            .get(&url)
            .call()
            .map_err(|error| format!("GET {url}: {error}"))?;
        staging.write_verified(file, response.into_body().into_reader())?;
    }
    Ok(())
}
