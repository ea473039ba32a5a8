//! The server's tables under load (issue 12 items 2 and 4; `docs/benchmark.md`):
//!
//! ```text
//! cargo run --release -p reference-server --example hostile -- memory
//! cargo run --release -p reference-server --example hostile -- stall
//! ```
//!
//! - `memory` issues tokens through the real flows (the authorization code grant with
//!   PKCE, approved through the test controls, then refreshes) and prints the growth of
//!   the heap (counted by the `cap` allocator) per live access token, right after and
//!   once the codes behind them expired (they live minutes, the tokens hours), with the
//!   table sizes and the process's resident memory for comparison.
//! - `stall` fills the server with live tokens the same way, then measures `GET me` on
//!   its own connection (p50, p99, max) first while grants are revoked by replaying spent
//!   refresh tokens (PP-REFRESH-3) on other connections, then while the purge drops every
//!   access token after the test clock moves past their lifetime.
//!
//! Server and client share the process; the rate limits are raised (the limiter is not
//! what is measured). A measuring tool, not a test: figures depend on the machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Parser, Subcommand};
use reference_server::ServerConfig;
use reference_server::http::App;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

const CLIENT_ID: &str = "pp-web";
const CLIENT_SECRET: &str = "pp-web-secret";
const REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Counts live heap bytes, so the figure is the server's tables, not the allocator's slack.
#[global_allocator]
static HEAP: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

#[derive(Parser, Debug)]
#[command(name = "hostile")]
struct Args {
    #[command(subcommand)]
    what: What,
    /// Grants issued through the authorization code flow.
    #[arg(long, default_value_t = 20_000, global = true)]
    grants: usize,
    /// Refreshes per grant; each adds an access token and spends a refresh token.
    #[arg(long, default_value_t = 4, global = true)]
    refreshes: usize,
    /// Concurrent connections issuing tokens (and revoking, for `stall`).
    #[arg(long, default_value_t = 8, global = true)]
    connections: usize,
}

#[derive(Subcommand, Debug)]
enum What {
    /// Resident memory per live access token.
    Memory,
    /// `GET me` latency while grants are revoked and expired tokens purged.
    Stall {
        /// Grants revoked by a replayed refresh token.
        #[arg(long, default_value_t = 10_000)]
        revocations: usize,
        /// Seconds `GET me` is measured after the clock moves (the purge runs meanwhile).
        #[arg(long, default_value_t = 3.0)]
        purge_seconds: f64,
    },
}

#[derive(Deserialize)]
struct TokenPair {
    access_token: String,
    refresh_token: String,
}

/// One grant: its first refresh token (spent by the first refresh) and its newest pair.
struct Issued {
    first_refresh: String,
    newest: TokenPair,
}

struct Target {
    base: String,
    http: reqwest::Client,
    profile: profile::Profile,
}

impl Target {
    fn url(&self, endpoint: &str) -> String {
        format!("{}{}", self.base, self.profile.path(endpoint))
    }

    async fn post_token(&self, form: &[(&str, &str)]) -> Result<TokenPair, Failure> {
        let reply = self.http.post(self.url("token")).form(form).send().await?;
        let status = reply.status();
        let body = reply.bytes().await?;
        if !status.is_success() {
            return Err(format!("token: {status} {}", String::from_utf8_lossy(&body)).into());
        }
        Ok(serde_json::from_slice(&body)?)
    }

    /// The authorization code flow with PKCE (approved as alice), then `refreshes` refreshes.
    async fn issue(&self, n: usize, refreshes: usize) -> Result<Issued, Failure> {
        let verifier = format!("hostile-pkce-verifier-{n:030}");
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let decide = serde_json::json!({
            "url": format!("{}?{query}", self.profile.path("authorize")),
            "username": "alice",
            "approve": true,
        });
        let decided: serde_json::Value = self
            .http
            .post(format!("{}/__test/authorize/decide", self.base))
            .json(&decide)
            .send()
            .await?
            .json()
            .await?;
        let location = url::Url::parse(decided["location"].as_str().unwrap_or_default())?;
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .ok_or("the approval carries no code")?;
        let mut pair = self
            .post_token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .await?;
        let first_refresh = pair.refresh_token.clone();
        for _ in 0..refreshes {
            pair = self.refresh(&pair.refresh_token).await?;
        }
        Ok(Issued {
            first_refresh,
            newest: pair,
        })
    }

    /// Moves the server's clock forward (`POST /__test/clock/advance`).
    async fn advance(&self, seconds: u64) -> Result<(), Failure> {
        self.http
            .post(format!("{}/__test/clock/advance", self.base))
            .json(&serde_json::json!({ "seconds": seconds }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, Failure> {
        self.post_token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await
    }

    /// Issues `grants` grants on `connections` tasks; answers them all.
    async fn issue_many(
        self: &Arc<Self>,
        grants: usize,
        refreshes: usize,
        connections: usize,
    ) -> Result<Vec<Issued>, Failure> {
        let mut tasks = Vec::new();
        for c in 0..connections.max(1) {
            let target = self.clone();
            tasks.push(tokio::spawn(async move {
                let mut issued = Vec::new();
                for n in (c..grants).step_by(connections.max(1)) {
                    issued.push(target.issue(n, refreshes).await?);
                }
                Ok::<_, Failure>(issued)
            }));
        }
        let mut all = Vec::with_capacity(grants);
        for task in tasks {
            all.extend(task.await??);
        }
        Ok(all)
    }

    /// `GET me` in a loop on its own connection until `until` resolves; answers latencies.
    async fn measure_me(
        &self,
        bearer: &str,
        until: impl std::future::Future<Output = ()>,
    ) -> Result<Vec<Duration>, Failure> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        let url = self.url("me");
        let mut until = std::pin::pin!(until);
        let mut latencies = Vec::new();
        loop {
            let started = Instant::now();
            let request = http.get(&url).bearer_auth(bearer).send();
            tokio::select! {
                reply = request => {
                    let reply = reply?;
                    if !reply.status().is_success() {
                        return Err(format!("GET me answered {}", reply.status()).into());
                    }
                    reply.bytes().await?;
                    latencies.push(started.elapsed());
                }
                () = &mut until => return Ok(latencies),
            }
        }
    }
}

/// Resident memory of this process in bytes (Linux).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn summary(label: &str, latencies: &mut [Duration]) {
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<44} {:>7} requests  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        latencies.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Failure> {
    let args = Args::parse();
    let mut profile = profile::Profile::punchplay();
    for limit in &mut profile.rate_limits {
        limit.max = u32::MAX;
    }
    let app = Arc::new(App::new(ServerConfig {
        profile: profile.clone(),
        test_controls: true,
        ..ServerConfig::punchplay()
    })?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(reference_server::http::server::run(
        listener,
        app.clone(),
        std::future::pending(),
    ));
    let target = Arc::new(Target {
        base,
        http: reqwest::Client::new(),
        profile,
    });
    // Warm the allocator, the connection pool and the tables' first growth.
    target.issue_many(200, 0, args.connections).await?;
    let before = resident_bytes();
    let heap_before = HEAP.allocated();
    let started = Instant::now();
    let issued = target
        .issue_many(args.grants, args.refreshes, args.connections)
        .await?;
    let counts = app.core.lock().grants.counts();
    let after = resident_bytes();
    let heap_after = HEAP.allocated();
    println!(
        "issued {} grants x (1 code exchange + {} refreshes) in {:.1} s: {counts:?}",
        args.grants,
        args.refreshes,
        started.elapsed().as_secs_f64()
    );
    match args.what {
        What::Memory => {
            let tokens = (args.grants * (args.refreshes + 1)) as f64;
            let per_token = |bytes: usize| bytes.saturating_sub(heap_before) as f64 / tokens;
            println!(
                "heap grew {:.1} MiB: {:.0} B per live access token ({} access, {} live refresh, {} spent refresh, {} grants)",
                heap_after.saturating_sub(heap_before) as f64 / (1024.0 * 1024.0),
                per_token(heap_after),
                counts.access,
                counts.refresh,
                counts.spent,
                counts.grants
            );
            if let (Some(before), Some(after)) = (before, after) {
                println!(
                    "resident memory grew {:.1} MiB ({:.0} B per token, allocator slack included)",
                    after.saturating_sub(before) as f64 / (1024.0 * 1024.0),
                    after.saturating_sub(before) as f64 / tokens
                );
            }
            // Codes (and their pending requests) expire long before the tokens do.
            let code_lifetime = app.core.profile.lifetimes.authorization_code;
            target.advance(code_lifetime + 1).await?;
            app.core.purge_expired().await;
            let counts = app.core.lock().grants.counts();
            println!(
                "after the codes expired ({code_lifetime} s later): {:.0} B per live access token ({} access live)",
                per_token(HEAP.allocated()),
                counts.access
            );
        }
        What::Stall {
            revocations,
            purge_seconds,
        } => {
            let me = target.issue(usize::MAX / 2, 0).await?.newest.access_token;
            let mut idle = target
                .measure_me(&me, tokio::time::sleep(Duration::from_secs(1)))
                .await?;
            summary("GET me, idle", &mut idle);
            // Revoke by replaying each grant's first (spent) refresh token.
            let replays: Vec<String> = issued
                .iter()
                .take(revocations)
                .map(|i| i.first_refresh.clone())
                .collect();
            let revoker = {
                let target = target.clone();
                let connections = args.connections;
                tokio::spawn(async move {
                    let started = Instant::now();
                    let chunks: Vec<Vec<String>> = replays
                        .chunks(replays.len().div_ceil(connections.max(1)).max(1))
                        .map(<[String]>::to_vec)
                        .collect();
                    let mut tasks = Vec::new();
                    for chunk in chunks {
                        let target = target.clone();
                        tasks.push(tokio::spawn(async move {
                            for token in chunk {
                                // invalid_grant is the expected answer; the grant is revoked.
                                let _ = target.refresh(&token).await;
                            }
                        }));
                    }
                    for task in tasks {
                        let _ = task.await;
                    }
                    started.elapsed()
                })
            };
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            let watcher = tokio::spawn(async move {
                let took = revoker.await;
                let _ = done_tx.send(());
                took
            });
            let mut during_revocations = target
                .measure_me(&me, async {
                    let _ = done_rx.await;
                })
                .await?;
            let took = watcher.await??;
            println!(
                "revoked {revocations} grants in {:.2} s: {:?}",
                took.as_secs_f64(),
                app.core.lock().grants.counts()
            );
            summary("GET me, during revocations", &mut during_revocations);
            // Every access token but `me`'s expires; the purge drops them as the clock moves.
            let lifetime = app.core.profile.lifetimes.access_token;
            target.advance(lifetime + 1).await?;
            let me = target.issue(usize::MAX / 3, 0).await?.newest.access_token;
            let mut during_purge = target
                .measure_me(
                    &me,
                    tokio::time::sleep(Duration::from_secs_f64(purge_seconds)),
                )
                .await?;
            println!("after the purge: {:?}", app.core.lock().grants.counts());
            summary("GET me, while expired tokens are purged", &mut during_purge);
        }
    }
    Ok(())
}
