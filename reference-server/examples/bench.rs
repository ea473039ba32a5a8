//! The throughput benchmark (issue 2, point 8; `docs/benchmark.md`):
//!
//! ```text
//! cargo run --release -p reference-server --example bench
//! ```
//!
//! In one run, on loopback, it measures requests per second of
//! 1. a bare hyper 1 server on a current-thread runtime with keep-alive that does no work
//!    (it answers every request with the same small body): the baseline;
//! 2. `GET /api/platform/v1/me` with a valid bearer token;
//! 3. a refresh at `POST /api/platform/v1/oauth/token` (`grant_type=refresh_token`), where
//!    every connection sends the refresh token the previous answer rotated to,
//! 4. enterprise client-credentials issuance at `POST /oauth/access-token` (a new token
//!    per request, EN-TOKEN-1),
//! 5. enterprise introspection of one live token at `POST /oauth/introspect` (EN-INTRO-1),
//!
//! the enterprise targets against a server whose copy of the enterprise profile lifts the
//! `/api/*` limit (issue 8 item 4),
//!
//! and prints them with the ratios to the baseline. The bare server runs on a current-thread
//! runtime on its own thread; the load generator on a current-thread runtime on the main
//! thread; the reference servers on a multi-thread runtime like `main`'s, with one worker
//! per core but the generator's (`--server-threads` to change it), so that for every
//! target the generator has a core to itself. All three targets get the same generator:
//! `--connections` keep-alive connections through hyper's own client, each sending its
//! next request when the previous answer is read.
//!
//! This is a measuring tool, not a test: the figures depend on the machine and on what
//! else runs on it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1 as client;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use profile::Profile;
use reference_server::{RunningServer, ServerConfig};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tokio::net::{TcpListener, TcpStream};

/// The confidential fixture app the tokens are issued to, and its redirect URI.
const CLIENT_ID: &str = "pp-web";
const CLIENT_SECRET: &str = "pp-web-secret";
const REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";
const USERNAME: &str = "alice";
/// The enterprise fixture client (active enterprise, company `acme`, `tags:read`).
const EN_CLIENT_ID: &str = "en-acme";
const EN_CLIENT_SECRET: &str = "en-acme-secret";
/// What the bare server answers: the same bytes `GET me` answers for alice.
const BARE_BODY: &[u8] = br#"{"display_name":"Alice Example","username":"alice"}"#;

/// Requests per second of `GET me`, a refresh at `oauth/token`, enterprise token issuance and
/// introspection, and a bare hyper server, on loopback.
#[derive(Parser, Debug)]
#[command(name = "bench")]
struct Args {
    /// Concurrent keep-alive connections per target.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Rounds; each round drives every target in turn, so a change in the machine's load
    /// hits all of them alike.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds measured per target and round.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Seconds of load per target and round before measuring starts.
    #[arg(long, default_value_t = 0.5)]
    warmup: f64,
    /// Stop measuring a target in a round after this many answers, whatever the time.
    #[arg(long, default_value_t = 5_000_000)]
    max_requests: u64,
    /// The reference server's runtime: multi-thread as `main` runs it, or current-thread
    /// on one thread of its own like the bare server (to see what the runtime costs).
    #[arg(long, value_enum, default_value_t = ServerRuntime::MultiThread)]
    server_runtime: ServerRuntime,
    /// Worker threads of the multi-thread runtime. By default one per core but the one the
    /// generator needs (at least one), so that the generator keeps a core to itself for
    /// every target, as it does beside the bare server. `main` uses one per core: pass
    /// the number of cores to measure that, generator and server then share every core.
    #[arg(long)]
    server_threads: Option<usize>,
    /// Which targets to measure, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Target::Bare, Target::Me, Target::Refresh, Target::EnToken, Target::EnIntrospect])]
    targets: Vec<Target>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServerRuntime {
    MultiThread,
    CurrentThread,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    Bare,
    Me,
    Refresh,
    EnToken,
    EnIntrospect,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Bare => "bare hyper server (no work)",
            Target::Me => "GET /api/platform/v1/me",
            Target::Refresh => "POST oauth/token (refresh)",
            Target::EnToken => "ent POST /oauth/access-token",
            Target::EnIntrospect => "ent POST /oauth/introspect",
        }
    }
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Failure> {
    let args = Args::parse();
    // Logging as `main` sets it up: what a request costs includes its log line, if any.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("reference_server=info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let server_threads = args
        .server_threads
        .unwrap_or(cores.saturating_sub(1).max(1));
    let server_rt = ReferenceRuntime::start(args.server_runtime, server_threads)?;
    let generator = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    println!(
        "{cores} cores; {} connections; {} rounds of {:.1} s warm-up + {:.1} s measured per target; reference server on {}",
        args.connections,
        args.rounds,
        args.warmup,
        args.seconds,
        match args.server_runtime {
            ServerRuntime::MultiThread => format!(
                "a multi-thread runtime with {server_threads} worker thread(s){}",
                if server_threads == cores {
                    " (one per core, as `main`)"
                } else {
                    ", the generator on a core of its own"
                }
            ),
            ServerRuntime::CurrentThread => "a current-thread runtime on its own thread".to_owned(),
        },
    );

    // Each target gets its own server (the bare one, or a reference server) and its jobs,
    // kept across rounds so refresh chains go on where they stopped.
    let mut targets = Vec::with_capacity(args.targets.len());
    for &target in &args.targets {
        targets.push(generator.block_on(prepare(target, &server_rt, args.connections))?);
    }
    let mut rounds: Vec<Vec<Measurement>> = Vec::with_capacity(args.rounds);
    for round in 1..=args.rounds {
        let mut measured = Vec::with_capacity(targets.len());
        for prepared in &mut targets {
            let jobs = std::mem::take(&mut prepared.jobs);
            let (m, jobs) = generator.block_on(drive(prepared.addr, jobs, &args))?;
            prepared.jobs = jobs;
            println!(
                "  round {round}: {:<30} {:>9.0} req/s  (other load on the machine: {})",
                prepared.target.label(),
                m.per_second(),
                m.other_load()
                    .map_or_else(|| "-".to_owned(), |l| format!("{l:.2} cores")),
            );
            measured.push(m);
        }
        rounds.push(measured);
    }
    for prepared in targets {
        if let Some(server) = prepared.server {
            generator.block_on(server_rt.handle.spawn(server.stop()))?;
        }
    }
    server_rt.stop();
    print_table(&args.targets, &rounds);
    Ok(())
}

/// A target ready to be driven: where it listens and what each connection sends.
struct Prepared {
    target: Target,
    addr: SocketAddr,
    jobs: Vec<Job>,
    server: Option<RunningServer>,
}

/// Starts `target`'s server and obtains its tokens through the real flows.
async fn prepare(
    target: Target,
    server_rt: &ReferenceRuntime,
    connections: usize,
) -> Result<Prepared, Failure> {
    match target {
        Target::Bare => {
            let addr = start_bare_server()?;
            // The same request bytes as `GET me`; the bare server ignores them.
            let jobs = (0..connections)
                .map(|_| Job::get(&server_path("me"), "Bearer bare"))
                .collect();
            Ok(Prepared {
                target,
                addr,
                jobs,
                server: None,
            })
        }
        Target::Me => {
            let server = server_rt
                .handle
                .spawn(reference_server::spawn(ServerConfig {
                    test_controls: true,
                    ..ServerConfig::punchplay()
                }))
                .await??;
            let mut setup = Conn::open(server.addr()).await?;
            let tokens = setup.authorization_code_grant(0).await?;
            let bearer = format!("Bearer {}", tokens.access_token);
            let jobs = (0..connections)
                .map(|_| Job::get(&server_path("me"), &bearer))
                .collect();
            Ok(Prepared {
                target,
                addr: server.addr(),
                jobs,
                server: Some(server),
            })
        }
        Target::Refresh => {
            let mut profile = Profile::punchplay();
            for limit in &mut profile.rate_limits {
                if limit.endpoint() == Some("token") {
                    println!(
                        "refresh: the server runs a copy of the punchplay profile with the `{}` limit raised from {} to {} per {} s (the limiter is not what is measured)",
                        limit.name,
                        limit.max,
                        u32::MAX,
                        limit.window_secs
                    );
                    limit.max = u32::MAX;
                }
            }
            let server = server_rt
                .handle
                .spawn(reference_server::spawn(ServerConfig {
                    profile,
                    test_controls: true,
                    ..ServerConfig::punchplay()
                }))
                .await??;
            let mut setup = Conn::open(server.addr()).await?;
            let mut jobs = Vec::with_capacity(connections);
            for i in 0..connections {
                // One grant per connection: each one rotates its own refresh token.
                let tokens = setup.authorization_code_grant(i).await?;
                jobs.push(Job::refresh(&server_path("token"), tokens.refresh_token));
            }
            Ok(Prepared {
                target,
                addr: server.addr(),
                jobs,
                server: Some(server),
            })
        }
        Target::EnToken | Target::EnIntrospect => {
            let enterprise = ServerConfig::enterprise();
            let mut profile = enterprise.profile.clone();
            for limit in &mut profile.rate_limits {
                if limit.path_prefix().is_some() {
                    println!(
                        "{}: the server runs a copy of the enterprise profile with the `{}` limit on {} raised from {} to {} per {} s",
                        target.label(),
                        limit.name,
                        limit.path_prefix().unwrap_or_default(),
                        limit.max,
                        u32::MAX,
                        limit.window_secs
                    );
                    limit.max = u32::MAX;
                }
            }
            let paths = profile.paths.clone();
            let server = server_rt
                .handle
                .spawn(reference_server::spawn(ServerConfig {
                    profile,
                    ..enterprise
                }))
                .await??;
            let credentials =
                serde_json::json!({"client_id": EN_CLIENT_ID, "client_secret": EN_CLIENT_SECRET});
            let job = if target == Target::EnToken {
                Job::post_json(&paths["token"], &credentials)
            } else {
                let mut setup = Conn::open(server.addr()).await?;
                let body = setup
                    .expect_ok(
                        json_post(&paths["token"], &credentials)?,
                        "the token request",
                    )
                    .await?;
                let issued: serde_json::Value = serde_json::from_slice(&body)?;
                let token = issued["data"]["access_token"]
                    .as_str()
                    .ok_or("the token answer carries no data.access_token")?;
                Job::post_json(&paths["introspect"], &serde_json::json!({ "token": token }))
            };
            let jobs = (0..connections).map(|_| job.clone()).collect();
            Ok(Prepared {
                target,
                addr: server.addr(),
                jobs,
                server: Some(server),
            })
        }
    }
}

/// The punchplay profile's path of `endpoint`.
fn server_path(endpoint: &str) -> String {
    static PUNCHPLAY: std::sync::LazyLock<Profile> = std::sync::LazyLock::new(Profile::punchplay);
    PUNCHPLAY.path(endpoint).to_owned()
}

/// Where the reference servers run.
struct ReferenceRuntime {
    handle: tokio::runtime::Handle,
    /// A multi-thread runtime runs on its own workers; a current-thread one on a thread
    /// blocked in `block_on` until told to stop.
    kept: Kept,
}

enum Kept {
    MultiThread(tokio::runtime::Runtime),
    CurrentThread(
        tokio::sync::oneshot::Sender<()>,
        std::thread::JoinHandle<()>,
    ),
}

impl ReferenceRuntime {
    fn start(kind: ServerRuntime, threads: usize) -> Result<ReferenceRuntime, Failure> {
        match kind {
            ServerRuntime::MultiThread => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.enable_all().thread_name("reference-server");
                builder.worker_threads(threads);
                let rt = builder.build()?;
                Ok(ReferenceRuntime {
                    handle: rt.handle().clone(),
                    kept: Kept::MultiThread(rt),
                })
            }
            ServerRuntime::CurrentThread => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let handle = rt.handle().clone();
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let thread = std::thread::Builder::new()
                    .name("reference-server".into())
                    .spawn(move || {
                        // Spawned tasks run while this thread is in `block_on`.
                        let _ = rt.block_on(stopped);
                    })?;
                Ok(ReferenceRuntime {
                    handle,
                    kept: Kept::CurrentThread(stop, thread),
                })
            }
        }
    }

    fn stop(self) {
        match self.kept {
            Kept::MultiThread(rt) => drop(rt),
            Kept::CurrentThread(stop, thread) => {
                let _ = stop.send(());
                let _ = thread.join();
            }
        }
    }
}

/// The baseline: a small hyper server on a current-thread runtime, on its own thread,
/// with keep-alive, that answers every request with [`BARE_BODY`].
fn start_bare_server() -> Result<SocketAddr, Failure> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("bare-server".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let _ = tx.send(listener.local_addr());
                while let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(async move {
                        let service = service_fn(|_req| async {
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                                BARE_BODY,
                            ))))
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        })?;
    Ok(rx.recv()??)
}

/// One keep-alive connection through hyper's client.
struct Conn {
    send: client::SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

#[derive(Deserialize)]
struct TokenPair {
    access_token: String,
    refresh_token: String,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Conn, Failure> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (send, conn) = client::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            send,
            host: HeaderValue::from_str(&addr.to_string())?,
        })
    }

    async fn call(
        &mut self,
        mut req: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Bytes), hyper::Error> {
        req.headers_mut().insert(HOST, self.host.clone());
        self.send.ready().await?;
        let res = self.send.send_request(req).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    async fn expect_ok(&mut self, req: Request<Full<Bytes>>, what: &str) -> Result<Bytes, Failure> {
        let (status, body) = self.call(req).await?;
        if status != StatusCode::OK {
            return Err(format!(
                "{what} answered {status}: {}",
                String::from_utf8_lossy(&body)
            )
            .into());
        }
        Ok(body)
    }

    /// Tokens through the real authorization-code flow with PKCE: the test control
    /// approves as alice, then the code is redeemed at the token endpoint.
    async fn authorization_code_grant(&mut self, n: usize) -> Result<TokenPair, Failure> {
        let verifier = format!("bench-pkce-verifier-{n:030}");
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("scope", "profile:read playback:read")
            .append_pair("state", "bench")
            .finish();
        let decide = serde_json::json!({
            "url": format!("{}?{query}", server_path("authorize")),
            "username": USERNAME,
            "approve": true,
        });
        let body = self
            .expect_ok(
                json_post("/__test/authorize/decide", &decide)?,
                "POST /__test/authorize/decide",
            )
            .await?;
        #[derive(Deserialize)]
        struct Decided {
            location: String,
        }
        let location = url::Url::parse(&serde_json::from_slice::<Decided>(&body)?.location)?;
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| format!("the approval redirect carries no code: {location}"))?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", &code)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("code_verifier", &verifier)
            .append_pair("client_id", CLIENT_ID)
            .append_pair("client_secret", CLIENT_SECRET)
            .finish();
        let body = self
            .expect_ok(form_post(&server_path("token"), form)?, "the code exchange")
            .await?;
        Ok(serde_json::from_slice(&body)?)
    }
}

fn json_post(path: &str, value: &serde_json::Value) -> Result<Request<Full<Bytes>>, Failure> {
    Ok(Request::post(path)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(value)?)))?)
}

fn form_post(path: &str, form: String) -> Result<Request<Full<Bytes>>, Failure> {
    Ok(Request::post(path)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form)))?)
}

/// What one connection sends, over and over.
#[derive(Clone)]
enum Job {
    /// The same GET with the same `Authorization` header.
    Get {
        path: String,
        authorization: HeaderValue,
    },
    /// A refresh with the refresh token the previous answer on this connection rotated to.
    Refresh { path: String, refresh_token: String },
    /// The same JSON POST.
    PostJson { path: String, body: Bytes },
}

impl Job {
    fn get(path: &str, authorization: &str) -> Job {
        Job::Get {
            path: path.to_owned(),
            authorization: HeaderValue::from_str(authorization)
                .expect("a token is a valid header value"),
        }
    }

    fn post_json(path: &str, body: &serde_json::Value) -> Job {
        Job::PostJson {
            path: path.to_owned(),
            body: Bytes::from(serde_json::to_vec(body).expect("JSON values serialize")),
        }
    }

    fn refresh(path: &str, refresh_token: String) -> Job {
        Job::Refresh {
            path: path.to_owned(),
            refresh_token,
        }
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(Bytes::new()));
        match self {
            Job::Get {
                path,
                authorization,
            } => {
                *req.uri_mut() = path.parse().expect("a valid path");
                req.headers_mut()
                    .insert(AUTHORIZATION, authorization.clone());
            }
            Job::Refresh {
                path,
                refresh_token,
            } => {
                *req.method_mut() = Method::POST;
                *req.uri_mut() = path.parse().expect("a valid path");
                req.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                let form = format!(
                    "grant_type=refresh_token&refresh_token={refresh_token}&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
                );
                *req.body_mut() = Full::new(Bytes::from(form));
            }
            Job::PostJson { path, body } => {
                *req.method_mut() = Method::POST;
                *req.uri_mut() = path.parse().expect("a valid path");
                req.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                *req.body_mut() = Full::new(body.clone());
            }
        }
        req
    }

    /// Takes in a 200 answer; a refresh keeps the rotated token for the next request.
    fn answered(&mut self, body: &[u8]) -> Result<(), String> {
        if let Job::Refresh { refresh_token, .. } = self {
            let pair: TokenPair = serde_json::from_slice(body)
                .map_err(|e| format!("a refresh answer is not a token pair: {e}"))?;
            *refresh_token = pair.refresh_token;
        }
        Ok(())
    }
}

/// What one target did in one round's measured window.
struct Measurement {
    answers: u64,
    errors: u64,
    elapsed: Duration,
    cpu: Option<Cpu>,
}

/// CPU seconds spent while measured (Linux only, from `/proc`).
#[derive(Debug, Clone, Copy)]
struct Cpu {
    /// This process: the servers and the generator.
    process: f64,
    /// The generator's thread.
    generator: f64,
    /// Every core of the machine, whoever ran on it.
    machine: f64,
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, earlier: Cpu) -> Cpu {
        Cpu {
            process: self.process - earlier.process,
            generator: self.generator - earlier.generator,
            machine: self.machine - earlier.machine,
        }
    }
}

impl Measurement {
    fn per_second(&self) -> f64 {
        self.answers as f64 / self.elapsed.as_secs_f64()
    }

    /// Cores busy with other processes than this one while measured.
    fn other_load(&self) -> Option<f64> {
        let cpu = self.cpu?;
        Some(((cpu.machine - cpu.process) / self.elapsed.as_secs_f64()).max(0.0))
    }
}

/// Runs `jobs` (one new connection each) against `addr`: warm-up, then a measured window
/// ended by time or by `--max-requests` answers. Hands the jobs back for the next round.
async fn drive(
    addr: SocketAddr,
    jobs: Vec<Job>,
    args: &Args,
) -> Result<(Measurement, Vec<Job>), Failure> {
    let mut conns = Vec::with_capacity(jobs.len());
    for _ in 0..jobs.len() {
        conns.push(Conn::open(addr).await?);
    }
    let answers = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let cap_reached = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let started = Instant::now();
    let measure_from = started + Duration::from_secs_f64(args.warmup);
    let until = measure_from + Duration::from_secs_f64(args.seconds);
    let cap = args.max_requests;
    let mut tasks = Vec::with_capacity(jobs.len());
    for (mut job, mut conn) in jobs.into_iter().zip(conns) {
        let (answers, errors, cap_reached) = (answers.clone(), errors.clone(), cap_reached.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let outcome = conn.call(job.request()).await;
                let done = Instant::now();
                let ok = match outcome {
                    Ok((StatusCode::OK, body)) => job.answered(&body).is_ok(),
                    Ok(_) | Err(_) => false,
                };
                if !ok {
                    // A failed refresh breaks this connection's chain of rotated tokens.
                    errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                if done >= until {
                    break;
                }
                if done >= measure_from {
                    let n = answers.fetch_add(1, Ordering::Relaxed) + 1;
                    if n == cap {
                        *cap_reached.lock().expect("not poisoned") = Some(done);
                    }
                    if n >= cap {
                        break;
                    }
                }
            }
            job
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = cpu_seconds();
    tokio::time::sleep_until(until.into()).await;
    let cpu_after = cpu_seconds();
    let mut jobs = Vec::with_capacity(tasks.len());
    for task in tasks {
        jobs.push(task.await?);
    }
    let ended = cap_reached.lock().expect("not poisoned").unwrap_or(until);
    let measured = Measurement {
        answers: answers.load(Ordering::Relaxed).min(cap),
        errors: errors.load(Ordering::Relaxed),
        elapsed: ended.saturating_duration_since(measure_from),
        cpu: cpu_before
            .zip(cpu_after)
            .map(|(before, after)| after - before),
    };
    Ok((measured, jobs))
}

/// CPU seconds so far, user + system. Called on the generator's thread, so that
/// `/proc/thread-self` is the generator.
fn cpu_seconds() -> Option<Cpu> {
    // USER_HZ is 100 on every Linux this runs on.
    const HZ: f64 = 100.0;
    fn task_ticks(path: &str) -> Option<f64> {
        let stat = std::fs::read_to_string(path).ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        // utime and stime are fields 14 and 15 of proc_pid_stat(5), 12 and 13 after the name.
        let user: f64 = fields.get(11)?.parse().ok()?;
        let system: f64 = fields.get(12)?.parse().ok()?;
        Some(user + system)
    }
    fn machine_ticks() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let f: Vec<f64> = line
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0.0))
            .collect();
        // user nice system idle iowait irq softirq steal: everything but idle and iowait.
        Some(f.iter().take(8).sum::<f64>() - f.get(3)? - f.get(4)?)
    }
    Some(Cpu {
        process: task_ticks("/proc/self/stat")? / HZ,
        generator: task_ticks("/proc/thread-self/stat")? / HZ,
        machine: machine_ticks()? / HZ,
    })
}

/// One line per target over all rounds, with each round's figure beside it.
fn print_table(targets: &[Target], rounds: &[Vec<Measurement>]) {
    let of = |i: usize| rounds.iter().map(move |round| &round[i]);
    let total_rate = |i: usize| {
        let answers: u64 = of(i).map(|m| m.answers).sum();
        let secs: f64 = of(i).map(|m| m.elapsed.as_secs_f64()).sum();
        answers as f64 / secs
    };
    let bare = targets.iter().position(|t| *t == Target::Bare);
    let list = |values: Vec<String>| values.join(" ");
    println!();
    println!(
        "{:<28} {:>8}  {:<24} {:>6}  {:<16} {:>6} {:>9} {:>9} {:>10}",
        "target",
        "req/s",
        "per round",
        "÷ bare",
        "per round",
        "errors",
        "server",
        "generator",
        "other load"
    );
    println!(
        "{:<28} {:>8}  {:<24} {:>6}  {:<16} {:>6} {:>9} {:>9} {:>10}",
        "", "", "", "", "", "", "µs CPU/req", "busy", "(cores)"
    );
    for (i, target) in targets.iter().enumerate() {
        let rate = total_rate(i);
        let per_round = list(of(i).map(|m| format!("{:.0}", m.per_second())).collect());
        let (ratio, ratio_rounds) = match bare {
            Some(b) => (
                format!("{:.2}", rate / total_rate(b)),
                list(
                    rounds
                        .iter()
                        .map(|round| {
                            format!("{:.2}", round[i].per_second() / round[b].per_second())
                        })
                        .collect(),
                ),
            ),
            None => ("-".to_owned(), "-".to_owned()),
        };
        let errors: u64 = of(i).map(|m| m.errors).sum();
        let answers: u64 = of(i).map(|m| m.answers).sum();
        let secs: f64 = of(i).map(|m| m.elapsed.as_secs_f64()).sum();
        let cpu: Option<Cpu> = of(i).map(|m| m.cpu).try_fold(
            Cpu {
                process: 0.0,
                generator: 0.0,
                machine: 0.0,
            },
            |acc, c| {
                c.map(|c| Cpu {
                    process: acc.process + c.process,
                    generator: acc.generator + c.generator,
                    machine: acc.machine + c.machine,
                })
            },
        );
        let (server, busy, other) = match cpu {
            Some(c) if answers > 0 => (
                format!("{:.1}", (c.process - c.generator) * 1e6 / answers as f64),
                format!("{:.0}%", c.generator * 100.0 / secs),
                format!("{:.2}", ((c.machine - c.process) / secs).max(0.0)),
            ),
            _ => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        println!(
            "{:<28} {:>8.0}  {:<24} {:>6}  {:<16} {:>6} {:>9} {:>9} {:>10}",
            target.label(),
            rate,
            per_round,
            ratio,
            ratio_rounds,
            errors,
            server,
            busy,
            other
        );
    }
    if let Some(b) = bare {
        println!();
        for (i, target) in targets.iter().enumerate() {
            if i != b {
                println!(
                    "{} ÷ bare = {:.2}",
                    target.label(),
                    total_rate(i) / total_rate(b)
                );
            }
        }
    }
}
