//! An in-memory reference server for the documented contract (`CONTRACT.md`).
//!
//! Layout:
//! - [`core`]: the protocol kernel: the rules every family shares as plain functions over
//!   typed inputs, with one [`Clock`](core::clock::Clock) and one state lock. No hyper, no
//!   sockets, no family.
//! - [`http`]: a thin hyper shell: parses requests, resolves them in the family's route
//!   table, calls the handlers, renders the family's error envelopes and the shared pages.
//!   It names no family.
//! - [`families`]: one rule pack per family (`http::pack::RulePack`): its routes, grants,
//!   rules, tables, faults, envelopes, pages and test controls.
//! - [`faults`]: every family's named defects, to name them by.
//!
//! [`serve`] is what `main` and every test call; [`spawn`] binds `127.0.0.1:0` for tests
//! and in-process runs; [`test_server::TestServer`] is the same server shaped by a
//! builder, for an integrator's own tests (issue 21 item 3).

mod config;
pub mod core;
pub mod families;
pub mod faults;
pub mod http;
pub mod observe;
pub mod test_server;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP, ObservationConfig, ServerConfig,
};
pub use faults::Fault;

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
    app: Arc<http::App>,
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

    /// The requests it answered (test controls excepted), oldest first, of `client_id`
    /// when given: the request recorder (issue 21 item 2; docs/reference-server.md).
    pub fn received_requests(&self, client_id: Option<&str>) -> Vec<observe::Entry> {
        self.app.observatory.requests(client_id).0
    }

    /// Forgets the recorded requests.
    pub fn clear_received_requests(&self) {
        self.app.observatory.clear_requests();
    }

    /// How its clients behaved: the findings so far, oldest first, of `client_id` when
    /// given (issue 22; docs/client-findings.md).
    pub fn client_findings(&self, client_id: Option<&str>) -> Vec<observe::Finding> {
        self.app.observatory.findings(client_id).0
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
    let task = tokio::spawn(http::server::run(listener, app.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr,
        app,
        stop: Some(stop),
        task,
    })
}
