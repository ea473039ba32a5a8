//! The accept loop: HTTP/1.1 with keep-alive over hyper, a header-read timeout so a
//! slow client cannot hold a connection forever, connection caps, and graceful shutdown.
//!
//! Caps (issue 12 item 3): at most `max_connections` open connections, and
//! `max_connections_per_ip` from one source address. A connection past a cap is closed
//! as soon as it is accepted, before anything is read, so admitted connections keep
//! their file descriptors and their speed. If accepting fails anyway (out of file
//! descriptors), the loop waits a moment and goes on; it never stops serving.
//!
//! HTTPS (issue 23 item 0, `--tls-cert`/`--tls-key`): the same loop, caps and shutdown;
//! each admitted connection does its TLS handshake on its own task, within the
//! header-read timeout, before hyper reads a byte.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::App;
use super::conn_watch::Watches;

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
    run_with(listener, app, None, shutdown).await
}

/// Serves `config` over HTTPS with the certificate chain and key of `tls` (what
/// `reference-server --tls-cert FILE --tls-key FILE` runs).
pub async fn serve_tls(
    listener: TcpListener,
    config: crate::config::ServerConfig,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Arc::new(App::new(config)?);
    run_with(listener, app, Some(TlsAcceptor::from(tls)), shutdown).await
}

/// The TLS settings for a PEM certificate chain and private key (`--tls-cert`,
/// `--tls-key`): HTTP/1.1 only, on the same crypto provider as the tools' clients. The
/// error is a sentence that names the flag to fix.
pub fn tls_config(
    cert_pem: &std::path::Path,
    key_pem: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert_pem)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "cannot read a PEM certificate chain from {}: {e}. Check the file given to --tls-cert.",
                cert_pem.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no certificate (-----BEGIN CERTIFICATE-----). Check the file given to --tls-cert.",
            cert_pem.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| {
        format!(
            "cannot read a PEM private key from {}: {e}. Check the file given to --tls-key.",
            key_pem.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "the key in {} does not fit the certificate in {} ({e}). Give the key of that certificate.",
                key_pem.display(),
                cert_pem.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A server on HTTPS on a background task, for tests: its address, and the means to
/// stop it.
pub struct TlsServer {
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TlsServer {
    /// Binds 127.0.0.1 on a free port and serves `config` over HTTPS.
    pub async fn spawn(
        config: crate::config::ServerConfig,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<TlsServer> {
        let app = Arc::new(App::new(config)?);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run_with(
            listener,
            app,
            Some(TlsAcceptor::from(tls)),
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(TlsServer {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Stops accepting, lets open requests finish, and waits for the server to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

async fn run_with(
    listener: TcpListener,
    app: Arc<App>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listen_addr = listener.local_addr()?;
    let admissions = Arc::new(Admissions::default());
    // Head deadlines and the shutdown signal of every connection (conn_watch.rs).
    let watches = Arc::new(Watches::default());
    // Each connection's task holds a sender; the drain ends when the last is dropped.
    let (open_tx, mut open_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    let sweeper = {
        let app = app.clone();
        let watches = watches.clone();
        tokio::spawn(async move {
            // Every request purges a little on its way (see `Core::lock`); this catches
            // up when the server is idle, in short steps.
            let mut tick = tokio::time::interval(super::conn_watch::TICK);
            loop {
                tick.tick().await;
                watches.sweep();
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
                let app_observes = app.observatory.enabled();
                // The request's future is made as hyper calls the service (App::handle says
                // why), and carries nothing else.
                let service = service_fn(move |req| {
                    futures_util::FutureExt::map(
                        app.handle(req, peer, local, &local_host),
                        Ok::<_, std::convert::Infallible>,
                    )
                });
                let timer = watches.register();
                let watches = watches.clone();
                let open = open_tx.clone();
                let tls = tls.clone();
                let observed = app_observes;
                let connection = async move {
                    let builder = {
                        let mut b = http1::Builder::new();
                        b.timer(timer.clone())
                            .header_read_timeout(HEADER_READ_TIMEOUT)
                            .keep_alive(true)
                            .max_buf_size(MAX_BUF);
                        b
                    };
                    let served = match tls {
                        None => watches.watch(&timer, builder.serve_connection(TokioIo::new(stream), service)).await,
                        Some(acceptor) => {
                            // A client that never finishes its handshake holds nothing for long.
                            let handshake = tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream)).await;
                            match handshake {
                                Ok(Ok(tls_stream)) => watches.watch(&timer, builder.serve_connection(TokioIo::new(tls_stream), service)).await,
                                Ok(Err(e)) => {
                                    tracing::debug!(peer = %peer.ip(), error = %e, "TLS handshake failed");
                                    Ok(())
                                }
                                Err(_) => {
                                    tracing::debug!(peer = %peer.ip(), "TLS handshake timed out");
                                    Ok(())
                                }
                            }
                        }
                    };
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(admitted);
                    drop(open);
                };
                // With client observation on, the connection's task holds the kernel's
                // notes on each request (issue 22).
                if observed {
                    tokio::spawn(crate::core::notes::connection(connection));
                } else {
                    tokio::spawn(connection);
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    sweeper.abort();
    app.begin_shutdown();
    watches.shut_down();
    drop(open_tx);
    tokio::select! {
        _ = open_rx.recv() => {}
        () = tokio::time::sleep(DRAIN) => tracing::warn!("open connections did not finish in time"),
    }
    // The client report (issue 22 item 2), once every request is answered.
    app.observatory
        .finish()
        .map_err(|e| std::io::Error::other(format!("cannot write the --client-report: {e}")))
}
