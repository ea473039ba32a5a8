//! What the server saw of its clients (issues 21 and 22): the request recorder and, reading
//! each entry as it is recorded, client observation. It owns both, under one lock taken
//! once per request after the answer is written. It imports the kernel's types only;
//! the shell fills an [`Entry`] and calls [`Observatory::record`].

pub mod findings;
pub mod recorder;
pub mod report;
pub mod rules;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::core::notes::Notes;
pub use crate::core::notes::Presented;
pub use findings::{Finding, Findings};
pub use recorder::{CAPACITY, Entry, Recorder};
pub use rules::{RULES, Rule, Watch};

/// The header the contract's own tools (the conformance suite, load) send naming
/// themselves, so that `--exclude-tool-traffic` can leave their deliberate violations
/// out of the findings.
pub const TOOL_HEADER: &str = "x-reference-tool";

/// What observation needs of a request beyond what the recorder shows, filled by the shell
/// from the request, its route and the kernel's notes. Never holds a secret: credentials
/// are kept as 64-bit digests.
#[derive(Debug, Clone, Default)]
pub struct Sighting {
    /// The credential the body presented (refresh token, code, device code, token) and
    /// its digest.
    pub presented: Option<(Presented, u64)>,
    /// The digest of the bearer token sent.
    pub bearer: Option<u64>,
    /// The name of a credential parameter sent in the query string.
    pub query_credential: Option<Box<str>>,
    /// What the kernel noted while serving it.
    pub notes: Notes,
}

/// What the server was started with for observation.
#[derive(Debug, Clone)]
pub struct ObservationConfig {
    /// Record requests and observe clients. On by default; off only to measure its cost
    /// (`--no-client-observation`).
    pub enabled: bool,
    /// Leave the requests that carry [`TOOL_HEADER`] (the suite's, load's) out of the
    /// findings; they are still recorded (`--exclude-tool-traffic`).
    pub exclude_tools: bool,
    /// Where the client report is written when the server stops (`--client-report`):
    /// JUnit XML at this path with the extension `.xml`, JSON with `.json`.
    pub report: Option<PathBuf>,
    /// Set when the server has stopped: how many findings it held then.
    pub findings_at_stop: Arc<OnceLock<usize>>,
}

impl Default for ObservationConfig {
    fn default() -> Self {
        ObservationConfig {
            enabled: true,
            exclude_tools: false,
            report: None,
            findings_at_stop: Arc::default(),
        }
    }
}

impl PartialEq for ObservationConfig {
    fn eq(&self, other: &Self) -> bool {
        (self.enabled, self.exclude_tools, &self.report)
            == (other.enabled, other.exclude_tools, &other.report)
    }
}

/// The recorder, the watch and the findings, under one lock.
#[derive(Debug)]
pub struct Observatory {
    config: ObservationConfig,
    /// The family's name, for reports.
    family: &'static str,
    profile: profile::Profile,
    log: Mutex<Log>,
}

#[derive(Debug)]
struct Log {
    recorder: Recorder,
    watch: Watch,
    findings: Findings,
}

impl Observatory {
    pub fn new(
        config: &ObservationConfig,
        family: &'static str,
        profile: &profile::Profile,
    ) -> Self {
        Observatory {
            config: config.clone(),
            family,
            profile: profile.clone(),
            log: Mutex::new(Log {
                recorder: Recorder::default(),
                watch: Watch::new(profile.lifetimes.device_poll_interval),
                findings: Findings::default(),
            }),
        }
    }

    /// Whether requests are recorded.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an answered request, judging it first (unless it is a tool's and those are
    /// left out).
    pub fn record(&self, mut entry: Entry, sighting: &Sighting) {
        if !self.config.enabled {
            return;
        }
        let mut log = self.log();
        entry.seq = log.recorder.next_seq();
        if !(self.config.exclude_tools && entry.tool.is_some()) {
            let (breaches, owner_of_dead) = log.watch.judge(&entry, sighting);
            if entry.client_id.is_none() {
                entry.client_id = owner_of_dead;
            }
            if let Some(client) = &entry.client_id {
                log.findings.saw_client(client);
            }
            for breach in breaches {
                log.findings.add(breach, entry.at);
            }
        }
        log.recorder.push(entry);
    }

    /// The recorded requests, oldest first, of `client_id` when given, with the number
    /// dropped as the oldest since the last clear.
    pub fn requests(&self, client_id: Option<&str>) -> (Vec<Entry>, u64) {
        let log = self.log();
        (
            log.recorder.entries(client_id).cloned().collect(),
            log.recorder.dropped(),
        )
    }

    /// Forgets the recorded requests; returns how many there were.
    pub fn clear_requests(&self) -> usize {
        self.log().recorder.clear()
    }

    /// The findings, oldest first, of `client_id` when given, with the number dropped.
    pub fn findings(&self, client_id: Option<&str>) -> (Vec<Finding>, u64) {
        let log = self.log();
        (
            log.findings.of(client_id).cloned().collect(),
            log.findings.dropped(client_id),
        )
    }

    /// Forgets the findings (and what the rules remembered); returns how many there were.
    pub fn clear_findings(&self) -> usize {
        let mut log = self.log();
        log.watch = Watch::new(self.profile.lifetimes.device_poll_interval);
        log.findings.clear()
    }

    /// The rules that apply to this server's family.
    pub fn rules(&self) -> impl Iterator<Item = &'static Rule> + '_ {
        RULES
            .iter()
            .copied()
            .filter(|r| rules::applies(r, &self.profile))
    }

    /// The report as JSON and as JUnit XML (issue 22 item 2).
    pub fn report(&self) -> report::ClientReport {
        let log = self.log();
        report::ClientReport::new(self, &log.findings)
    }

    /// At a clean stop: writes `--client-report` and sets `findings_at_stop`.
    pub fn finish(&self) -> std::io::Result<()> {
        let report = self.report();
        let _ = self.config.findings_at_stop.set(report.findings);
        if let Some(path) = &self.config.report {
            report.write(path)?;
        }
        Ok(())
    }
}
