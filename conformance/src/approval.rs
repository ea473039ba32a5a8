//! Which way a user approves during a run, as data: the run's choice of driver. The
//! driving itself (requests through a check's context) is in [`crate::drivers`]; this
//! module names no context, so the check context can hold a driver without the two
//! modules needing each other.

use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Driver {
    /// `POST /__test/authorize/decide` and `/__test/device/decide`.
    TestControls,
    /// The sign-in form, the approval page and the activate page.
    Pages,
    /// `sh -c CMD` with `PP_FLOW`, `PP_URL`, `PP_USER_CODE`, `PP_USERNAME`, `PP_PASSWORD`,
    /// `PP_DECISION` in its environment; for `authorize` it prints the redirect URL.
    Command(String),
    /// A person: the suite prints the URL and a QR code and waits.
    Manual { timeout: Duration },
}

impl Driver {
    pub fn name(&self) -> &'static str {
        match self {
            Driver::TestControls => "test-controls",
            Driver::Pages => "pages",
            Driver::Command(_) => "command",
            Driver::Manual { .. } => "manual",
        }
    }

    /// Whether polling can expect the decision to be in place at once.
    pub fn is_immediate(&self) -> bool {
        matches!(
            self,
            Driver::TestControls | Driver::Pages | Driver::Command(_)
        )
    }
}
