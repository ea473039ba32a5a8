//! An in-memory reference server for the documented contract (`CONTRACT.md`).
//!
//! Layout:
//! - [`core`]: the protocol rules as plain functions over typed inputs, with one
//!   [`Clock`](core::clock::Clock) and one state lock. No hyper, no sockets.
//! - [`http`]: a thin hyper shell: parses requests, calls the core, renders the
//!   profile's error envelope, pages and server-sent events.
//! - [`families`]: each profile family's routes, handlers, error envelopes and challenge
//!   (punchplay today); the shell asks the family, never names its routes.
//! - [`faults`]: named defects the test controls can switch on.
//!
//! [`serve`] is what `main` and every test call; [`spawn`] binds `127.0.0.1:0` for tests
//! and in-process runs.

pub mod core;
pub mod families;
pub mod faults;
pub mod http;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use profile::{Identities, Profile};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::Fault;

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
        }
    }
}

/// Serves `config` on `listener` until `shutdown` completes, then lets open requests
/// finish (live event streams are closed) and returns.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Arc::new(http::App::new(config)?);
    http::server::run(listener, app, shutdown).await
}

/// A server running on a background task, for tests and in-process runs.
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets open requests finish, and waits for the server to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `127.0.0.1:0` and serves `config` on a background task.
pub async fn spawn(config: ServerConfig) -> std::io::Result<RunningServer> {
    spawn_on("127.0.0.1:0".parse().expect("a valid address"), config).await
}

/// Binds `addr` and serves `config` on a background task.
pub async fn spawn_on(addr: SocketAddr, config: ServerConfig) -> std::io::Result<RunningServer> {
    // A profile the server cannot serve is refused here, not inside the task.
    let app = Arc::new(http::App::new(config)?);
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(http::server::run(listener, app, async move {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr,
        stop: Some(stop),
        task,
    })
}
