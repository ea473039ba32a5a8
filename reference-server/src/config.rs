//! What a server instance is started with: [`ServerConfig`], its profile, identities and
//! switches. Read by the shell and the families; imports nothing of the server.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use profile::{Identities, Profile};

/// Everything a server instance needs: the profile it enforces, the identities it ships
/// with and its switches.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub profile: Profile,
    pub identities: Identities,
    /// Serve `/__test/*` (CONTRACT.md, "The reference server's test controls"). Off by default.
    pub test_controls: bool,
    /// Take the client IP from the last `X-Forwarded-For` entry (PP-RATE-4). Off by default.
    pub trust_proxy: bool,
    /// Connections served at once; past it a new connection is closed at once, so the
    /// server never runs out of file descriptors (issue 12 item 3).
    pub max_connections: usize,
    /// Connections served at once from one source address.
    pub max_connections_per_ip: usize,
    /// The base of absolute URLs (`verification_uri`, its QR code), like
    /// `https://play.example`. Without it they use the listen address, and requests whose
    /// `Host` names anything but this server or loopback are refused (issue 12 item 7).
    pub public_url: Option<url::Url>,
    /// A fault of the profile's family switched on from the start and again by every
    /// `POST /__test/reset` (issue 23 item 3), by name.
    pub fault: Option<String>,
    /// The request recorder and client observation (issues 21, 22): on by default.
    pub observation: ObservationConfig,
}

/// Defaults of [`ServerConfig::max_connections`] and `max_connections_per_ip`: room for
/// the load tool (64 users over 8 addresses), the suite and the benchmarks (hundreds of
/// connections from 127.0.0.1), well under a common 4096 file limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2048;
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 512;

impl ServerConfig {
    /// The flexslot profile with its fixture identities, test controls off.
    pub fn flexslot() -> Self {
        let builtin = profile::builtin::find("flexslot").expect("flexslot is a built-in profile");
        ServerConfig {
            profile: builtin.profile(),
            identities: builtin.identities(),
            ..Self::punchplay()
        }
    }

    /// The punchplay profile with its fixture identities, test controls off.
    pub fn punchplay() -> Self {
        ServerConfig {
            profile: Profile::punchplay(),
            identities: Identities::punchplay(),
            test_controls: false,
            trust_proxy: false,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            public_url: None,
            fault: None,
            observation: Default::default(),
        }
    }

    /// The enterprise profile with its fixture identities (enterprises, companies and the
    /// `en-*` apps), test controls off.
    pub fn enterprise() -> Self {
        let builtin = profile::builtin::find("enterprise").expect("enterprise is built in");
        ServerConfig {
            profile: builtin.profile(),
            identities: builtin.identities(),
            ..Self::punchplay()
        }
    }
}

/// What the server was started with for observation.
#[derive(Debug, Clone)]
pub struct ObservationConfig {
    /// Record requests and observe clients. On by default; off only to measure its cost
    /// (`--no-client-observation`).
    pub enabled: bool,
    /// Leave the requests of the contract's own tools (`observe::TOOLS`) out of the findings;
    /// they are still recorded (`--exclude-tool-traffic`).
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
