//! What the server saw of its clients (issues 21 and 22): the request recorder and, reading
//! each entry as it is recorded, client observation. It owns both, under one lock taken
//! once per request after the answer is written. It imports the kernel's types only;
//! the shell fills an [`Entry`] and calls [`Observatory::record`].

pub mod recorder;

use std::sync::{Mutex, MutexGuard};

pub use recorder::{CAPACITY, Entry, Recorder};

/// The header the contract's own tools (the conformance suite, load) send naming
/// themselves, so that `--exclude-tool-traffic` can leave their deliberate violations
/// out of the findings.
pub const TOOL_HEADER: &str = "x-reference-tool";

/// What observation needs of a request beyond what the recorder shows, filled by the shell
/// from the request, its route and the kernel's notes. Never holds a secret: credentials
/// are kept as 64-bit digests.
#[derive(Debug, Clone, Default)]
pub struct Sighting {}

/// What the server was started with for observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationConfig {
    /// Record requests and observe clients. On by default; off only to measure its cost.
    pub enabled: bool,
}

impl Default for ObservationConfig {
    fn default() -> Self {
        ObservationConfig { enabled: true }
    }
}

/// The recorder, under one lock.
#[derive(Debug)]
pub struct Observatory {
    enabled: bool,
    log: Mutex<Log>,
}

#[derive(Debug, Default)]
struct Log {
    recorder: Recorder,
}

impl Observatory {
    pub fn new(config: &ObservationConfig) -> Self {
        Observatory {
            enabled: config.enabled,
            log: Mutex::new(Log::default()),
        }
    }

    /// Whether requests are recorded.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an answered request.
    pub fn record(&self, entry: Entry) {
        if !self.enabled {
            return;
        }
        self.log().recorder.push(entry);
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
}
