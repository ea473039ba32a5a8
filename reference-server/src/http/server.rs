//! The accept loop: HTTP/1.1 with keep-alive over hyper, a header-read timeout so a
//! slow client cannot hold a connection forever, connection caps, and graceful shutdown.
//!
//! Caps (issue 12 item 3): at most `max_connections` open connections, and
//! `max_connections_per_ip` from one source address. A connection past a cap is closed
//! as soon as it is accepted, before anything is read, so admitted connections keep
//! their file descriptors and their speed. If accepting fails anyway (out of file
//! descriptors), the loop waits a moment and goes on; it never stops serving.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use super::App;

/// How long shutdown waits for open requests before it lets go.
const DRAIN: Duration = Duration::from_secs(5);
/// How long a client may take to send its request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// hyper's own read buffer; heads over it get hyper's 431. Heads under it but over the
/// profile's `max_header_bytes` get the profile's envelope (see `App::handle`).
const MAX_BUF: usize = 128 * 1024;

/// Open connections, in total and by source address.
#[derive(Default)]
struct Admissions {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One admitted connection; dropping it frees its place.
struct Admitted {
    admissions: Arc<Admissions>,
    ip: IpAddr,
}

impl Admissions {
    fn admit(self: &Arc<Self>, ip: IpAddr, max: usize, max_per_ip: usize) -> Option<Admitted> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (total, by_ip) = &mut *open;
        let from_ip = by_ip.get(&ip).copied().unwrap_or(0);
        if *total >= max || from_ip >= max_per_ip {
            return None;
        }
        *total += 1;
        by_ip.insert(ip, from_ip + 1);
        Some(Admitted {
            admissions: self.clone(),
            ip,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .admissions
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (total, by_ip) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(n) = by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                by_ip.remove(&self.ip);
            }
        }
    }
}

pub async fn run(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listen_addr = listener.local_addr()?;
    let admissions = Arc::new(Admissions::default());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let sweeper = {
        let app = app.clone();
        tokio::spawn(async move {
            // Every request purges a little on its way (see `Core::lock`); this catches
            // up when the server is idle, in short steps.
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                app.core.purge_expired().await;
            }
        })
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: a short pause instead of
                        // spinning; open connections are served meanwhile on their tasks.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let Some(admitted) =
                    admissions.admit(peer.ip(), app.max_connections, app.max_connections_per_ip)
                else {
                    tracing::debug!(peer = %peer.ip(), "connection refused: over the connection cap");
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                // The address the client reached (the listen address may be 0.0.0.0), and
                // as a Host header names it, for the Host check's fast path.
                let local = stream.local_addr().unwrap_or(listen_addr);
                let local_host: std::sync::Arc<str> = local.to_string().into();
                let app = app.clone();
                let service = service_fn(move |req| {
                    let app = app.clone();
                    let local_host = local_host.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            app.handle(req, peer, local, &local_host).await,
                        )
                    }
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .keep_alive(true)
                    .max_buf_size(MAX_BUF)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(admitted);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    sweeper.abort();
    app.begin_shutdown();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => tracing::warn!("open connections did not finish in time"),
    }
    Ok(())
}
