//! Before the first check: can this target be checked as this profile, does it serve the
//! reference server's test controls, and the fault a run switches on (and off again,
//! even on Ctrl-C). The decision itself is the client crate's
//! [`contract_client::preflight`], shared with load; this module only builds its client
//! from the run's transport settings and words the outcome for this command line.

use std::time::Duration;

use contract_client::preflight::{self, FaultInfo};
use profile::Profile;
use url::Url;

/// The client the preflight and the test controls use: the run's access (trusted CAs,
/// headers, 3 s connect), no redirects followed.
fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    crate::client::access()
        .apply(reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()))
        .timeout(timeout)
        .build()
        .map_err(|e| format!("could not build the HTTP client: {e}"))
}

/// The longest one preflight request may take: the run's request timeout, at most 5 s, so
/// that a wrong target is known within seconds.
fn preflight_timeout(request_timeout: Duration) -> Duration {
    request_timeout.min(Duration::from_secs(5))
}

/// Refuses a target that cannot be checked as `profile` (exit 2), with what was seen.
pub async fn check_target(
    base: &Url,
    profile: &Profile,
    request_timeout: Duration,
) -> Result<(), String> {
    let timeout = preflight_timeout(request_timeout);
    let client = client(timeout)?;
    preflight::preflight(&client, base, profile, timeout)
        .await
        .map(drop)
        .map_err(|refusal| format!("the target cannot be checked: {refusal}"))
}

/// The faults of the running family if the target serves the test controls.
pub async fn test_controls(
    base: &Url,
    profile: &Profile,
    request_timeout: Duration,
) -> Result<Option<Vec<FaultInfo>>, String> {
    let timeout = preflight_timeout(request_timeout);
    let client = client(timeout)?;
    Ok(preflight::test_controls(&client, base, profile, timeout).await)
}

/// A server fault switched on for the run; [`FaultSwitch::off`] switches it off again.
pub struct FaultSwitch {
    base: Url,
    pub name: String,
    timeout: Duration,
}

impl FaultSwitch {
    /// Switches `name` on (`POST /__test/fault`), after checking that the running family
    /// has it; an unknown name lists the family's faults.
    pub async fn on(
        base: &Url,
        profile: &Profile,
        name: &str,
        faults: &[FaultInfo],
        request_timeout: Duration,
    ) -> Result<FaultSwitch, String> {
        if !faults.iter().any(|f| f.name == name) {
            return Err(preflight::unknown_fault(name, profile.family, faults));
        }
        let switch = FaultSwitch {
            base: base.clone(),
            name: name.to_owned(),
            timeout: preflight_timeout(request_timeout),
        };
        switch.set(Some(name)).await?;
        Ok(switch)
    }

    /// Switches the fault off (`POST /__test/fault {"fault": null}`).
    pub async fn off(&self) -> Result<(), String> {
        self.set(None).await
    }

    async fn set(&self, fault: Option<&str>) -> Result<(), String> {
        let url = format!("{}/__test/fault", self.base.as_str().trim_end_matches('/'));
        let resp = client(self.timeout)?
            .post(&url)
            .json(&serde_json::json!({ "fault": fault }))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "POST /__test/fault failed: {}",
                    contract_client::access::explain(&e, &url)
                )
            })?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(format!(
                "the server answered POST /__test/fault with {status}; is it a reference server started with --test-controls?"
            ));
        }
        Ok(())
    }
}
