//! What the server saw of its clients (issues 21 and 22): the request recorder and, reading
//! each entry as it is recorded, client observation. It owns both, under one lock taken
//! once per request after the answer is written. It imports the kernel's types only;
//! the shell fills an [`Entry`] and calls [`Observatory::record`].

pub mod findings;
pub mod recorder;
pub mod report;
pub mod rules;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

pub use crate::config::ObservationConfig;
use crate::core::notes::Notes;
pub use crate::core::notes::Presented;
pub use findings::{Finding, Findings};
pub use recorder::{Answered, CAPACITY, Entry, Recorder};
pub use rules::{RULES, Rule, Watch};

/// How the contract's own tools name themselves in `User-Agent` (`conformance/0.1.0`,
/// `load/0.1.0`), so that `--exclude-tool-traffic` can leave their deliberate violations
/// out of the findings.
pub const TOOLS: &[&str] = &["conformance/", "load/"];

/// The tool a `User-Agent` names, if it is one of [`TOOLS`].
pub fn tool_of(user_agent: &str) -> Option<&str> {
    TOOLS
        .iter()
        .any(|t| user_agent.starts_with(t))
        .then(|| &user_agent[..user_agent.len().min(64)])
        .filter(|t| user_agent.is_char_boundary(t.len()))
}

/// What observation needs of a request beyond what the recorder shows, filled by the shell
/// from the request, its route and the kernel's notes. Never holds a secret: credentials
/// are kept as 64-bit digests.
#[derive(Debug, Clone)]
pub struct Sighting<'n> {
    /// The credential the body presented (refresh token, code, device code, token) and
    /// its digest.
    pub presented: Option<(Presented, u64)>,
    /// The digest of the bearer token sent.
    pub bearer: Option<u64>,
    /// The name of a credential parameter sent in the query string.
    pub query_credential: Option<Box<str>>,
    /// What the kernel noted while serving it.
    pub notes: &'n Notes,
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
    /// The clients seen, each name once: entries share it, and the reports list them.
    clients: Shared,
    /// The paths requested, each once, shared by the entries.
    paths: Shared,
}

/// Clients (and paths) remembered by name; past it an entry keeps its own copy of the
/// name, and the reports list only clients with findings.
pub const MAX_CLIENTS: usize = 1_000;

/// Names kept once and shared, so that a recorded request allocates nothing for them;
/// the last one is at hand without a lookup (requests come in runs of one client, one path).
#[derive(Debug, Default)]
struct Shared {
    all: HashMap<Box<str>, Arc<str>, rustc_hash::FxBuildHasher>,
    last: Option<Arc<str>>,
}

impl Shared {
    fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(last) = &self.last
            && **last == *name
        {
            return last.clone();
        }
        let shared = match self.all.get(name) {
            Some(shared) => shared.clone(),
            None => {
                let shared: Arc<str> = name.into();
                if self.all.len() < MAX_CLIENTS {
                    self.all.insert(name.into(), shared.clone());
                }
                shared
            }
        };
        self.last = Some(shared.clone());
        shared
    }
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
                clients: Shared::default(),
                paths: Shared::default(),
            }),
        }
    }

    /// Whether requests are recorded.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Whether the tools' requests are left out of the findings.
    pub fn excludes_tools(&self) -> bool {
        self.config.exclude_tools
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an answered request of `client` (the name it gave or its token's),
    /// judging it first (unless it is a tool's and those are left out).
    pub fn record(&self, answered: Answered<'_>, client: Option<&str>, sighting: Sighting) {
        if !self.config.enabled {
            return;
        }
        let mut log = self.log();
        let mut entry = Entry {
            seq: log.recorder.next_seq(),
            at: answered.at,
            method: answered.method,
            path: log.paths.get(answered.path),
            query: answered.query,
            status: answered.status,
            client_id: client.map(|c| log.clients.get(c)),
            request_id: answered.request_id,
            error: answered.error,
            tool: answered.tool,
        };
        if !(self.config.exclude_tools && entry.tool.is_some()) {
            let (breaches, owner_of_dead) = log.watch.judge(&entry, &sighting);
            if entry.client_id.is_none() {
                entry.client_id = owner_of_dead;
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
        let mut clients: Vec<&str> = log.clients.all.keys().map(|c| &**c).collect();
        clients.sort_unstable();
        report::ClientReport::new(self, &clients, &log.findings)
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
