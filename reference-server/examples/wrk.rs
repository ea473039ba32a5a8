//! The reference server against a bare hyper server, driven by an outside generator:
//! `wrk` (Debian's package, `apt-get install wrk`), issue 20 item 8; `docs/benchmark.md`.
//!
//! ```text
//! cargo build --release -p reference-server --bin reference-server --example wrk
//! target/release/examples/wrk
//! ```
//!
//! It starts, as processes of their own on loopback, a bare hyper server (this binary with
//! `--serve-bare`: on a current-thread tokio runtime by default, the stricter baseline, or
//! `--bare-runtime multi-thread`; it answers `GET me`'s request with the same 51 bytes the
//! reference server answers, and never reads a body) and, for each
//! `--server LABEL=PATH` (the release build beside this example by default), a punchplay
//! and an enterprise reference server with test controls on. It obtains an access token
//! through the real flows, then in each of `--rounds` rounds runs `wrk -t1 -c16` for
//! `--seconds` against bare hyper and then each target of each server, so a change in the
//! machine's load falls on all of them alike:
//!
//! - `me`: `GET /api/platform/v1/me` with a valid bearer token (PP-API-7);
//! - `en-token`: `POST /oauth/access-token`, a new client-credentials token per request
//!   (EN-TOKEN-1);
//! - `en-introspect`: `POST /oauth/introspect` of one live token (EN-INTRO-1).
//!
//! Every ratio is a target's requests per second over bare hyper's in the same round; the
//! table gives the median and the spread (lowest and highest round). The server's CPU per
//! request is its process's user + system time (`/proc/PID/stat`) over the requests wrk
//! completed in the round, steadier than throughput on a shared machine.
//!
//! A measuring tool, not a test: the figures depend on the machine and on what else runs.

use std::convert::Infallible;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sha2::{Digest as _, Sha256};

/// What the bare server answers: the same bytes `GET me` answers for alice.
const BARE_BODY: &[u8] = br#"{"display_name":"Alice Example","username":"alice"}"#;
const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";
const EN_CREDENTIALS: &str = r#"{"client_id":"en-acme","client_secret":"en-acme-secret"}"#;

/// The reference server against bare hyper under wrk, in one run.
#[derive(Parser, Debug)]
#[command(name = "wrk")]
struct Args {
    /// A reference-server binary to measure, as LABEL=PATH, and after the path, separated
    /// by spaces, flags of its own (`now-w2=target/release/reference-server --workers 2`);
    /// repeat it to measure two builds in the same run (before and after a change).
    /// Default: `now=` the `reference-server` beside this example.
    #[arg(long = "server", value_name = "LABEL=PATH [FLAGS]")]
    servers: Vec<String>,
    /// Rounds; each runs bare hyper and then every target of every server once.
    #[arg(long, default_value_t = 9)]
    rounds: usize,
    /// Seconds wrk runs per target and round.
    #[arg(long, default_value_t = 5)]
    seconds: u32,
    /// wrk's connections (`-c`); it runs one thread (`-t1`).
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// Other processes' load (cores) under which a round counts as quiet: the table gives
    /// the median of the quiet rounds beside the median of all.
    #[arg(long, default_value_t = 0.25)]
    quiet_load: f64,
    /// Targets, in this order: me, en-token, en-introspect.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "me,en-token,en-introspect"
    )]
    targets: Vec<String>,
    /// The bare server's runtime: `current-thread` (one thread, as the project's `--example
    /// bench` runs it: the stricter baseline) or `multi-thread` (default workers, as
    /// `reference-server` runs).
    #[arg(long, default_value = "current-thread", value_parser = ["current-thread", "multi-thread"])]
    bare_runtime: String,
    /// Serve as the bare hyper server on this address and do nothing else (the run starts
    /// this binary so).
    #[arg(long, value_name = "ADDR", hide = true)]
    serve_bare: Option<SocketAddr>,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Failure> {
    let args = Args::parse();
    if let Some(addr) = args.serve_bare {
        return serve_bare(addr, &args.bare_runtime);
    }
    let servers = servers(&args)?;
    for target in &args.targets {
        if !["me", "en-token", "en-introspect"].contains(&target.as_str()) {
            return Err(
                format!("unknown target `{target}`: use me, en-token, en-introspect").into(),
            );
        }
    }
    let scripts = tempdir()?;
    let bare_addr = free_addr()?;
    let bare = Spawned::start(
        "bare hyper",
        Command::new(std::env::current_exe()?).args([
            "--serve-bare",
            &bare_addr.to_string(),
            "--bare-runtime",
            &args.bare_runtime,
        ]),
        bare_addr,
    )?;
    let bare_script = write_script(
        &scripts,
        "bare",
        "GET",
        &[("Authorization", "Bearer x")],
        "",
    )?;
    let mut measured = Vec::new();
    for server in &servers {
        measured.push(Measured::start(server, &args.targets, &scripts)?);
    }
    println!(
        "wrk -t1 -c{} -d{}s, {} rounds; {} cores; bare hyper on a {} runtime; servers: {}",
        args.connections,
        args.seconds,
        args.rounds,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.bare_runtime,
        servers
            .iter()
            .map(|s| format!("{} = {}", s.label, s.command()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut bare_runs = Vec::new();
    for round in 1..=args.rounds {
        let base = run_wrk(&args, &bare, "/api/platform/v1/me", &bare_script)?;
        println!(
            "round {round}: bare hyper {:>9.0} req/s, {:.1} µs CPU/req, other load {:.2} cores",
            base.rps, base.cpu_us, base.other_load
        );
        for m in &mut measured {
            for t in &mut m.targets {
                // Issuance evicts the oldest tokens past its bounds: the token introspected
                // is issued just before its run.
                if t.name == "en-introspect" {
                    t.script = introspection_script(&scripts, &m.label, m.enterprise.addr)?;
                }
                let run = run_wrk(
                    &args,
                    t.server(&m.punchplay, &m.enterprise),
                    &t.path,
                    &t.script,
                )?;
                println!(
                    "round {round}: {:<5} {:<14} {:>9.0} req/s, {:.2} of bare, {:.1} µs CPU/req, other load {:.2} cores{}",
                    m.label,
                    t.name,
                    run.rps,
                    run.rps / base.rps,
                    run.cpu_us,
                    run.other_load,
                    if run.errors > 0 {
                        format!(", {} non-2xx answers", run.errors)
                    } else {
                        String::new()
                    }
                );
                t.ratios.push(run.rps / base.rps);
                t.quiet
                    .push(base.other_load < args.quiet_load && run.other_load < args.quiet_load);
                t.runs.push(run);
            }
        }
        bare_runs.push(base);
    }
    println!();
    println!(
        "| server | target | median req/s | median ÷ bare | rounds' ÷ bare (lowest-highest) | quiet rounds: n, median ÷ bare | median µs CPU/req |"
    );
    println!("|---|---|---:|---:|---|---|---:|");
    println!(
        "| - | bare hyper | {:.0} | 1.00 | | | {:.1} |",
        median(bare_runs.iter().map(|r| r.rps)),
        median(bare_runs.iter().map(|r| r.cpu_us))
    );
    for m in &measured {
        for t in &m.targets {
            let (low, high) = spread(&t.ratios);
            let quiet: Vec<f64> = t
                .ratios
                .iter()
                .zip(&t.quiet)
                .filter(|(_, q)| **q)
                .map(|(r, _)| *r)
                .collect();
            println!(
                "| {} | {} | {:.0} | **{:.2}** | {low:.2}-{high:.2} | {}, {} | {:.1} |",
                m.label,
                t.name,
                median(t.runs.iter().map(|r| r.rps)),
                median(t.ratios.iter().copied()),
                quiet.len(),
                if quiet.is_empty() {
                    "-".to_owned()
                } else {
                    format!("{:.2}", median(quiet.iter().copied()))
                },
                median(t.runs.iter().map(|r| r.cpu_us)),
            );
            if t.runs.iter().any(|r| r.errors > 0) {
                println!(
                    "  ({}: some answers were not 2xx; see the rounds above)",
                    t.name
                );
            }
        }
    }
    drop(measured);
    drop(bare);
    let _ = std::fs::remove_dir_all(&scripts);
    Ok(())
}

/// A reference server to measure: a label, a binary and flags of its own.
struct Server {
    label: String,
    path: PathBuf,
    flags: Vec<String>,
}

impl Server {
    fn command(&self) -> String {
        std::iter::once(self.path.display().to_string())
            .chain(self.flags.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The `--server` list, every path checked to exist.
fn servers(args: &Args) -> Result<Vec<Server>, Failure> {
    let specs = if args.servers.is_empty() {
        let beside = std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .map(|dir| dir.join("reference-server"))
            .ok_or("cannot tell where this example is")?;
        vec![format!("now={}", beside.display())]
    } else {
        args.servers.clone()
    };
    specs
        .iter()
        .map(|spec| {
            let (label, command) = spec
                .split_once('=')
                .ok_or_else(|| format!("--server {spec}: give LABEL=PATH"))?;
            let mut words = command.split_whitespace().map(str::to_owned);
            let path = PathBuf::from(
                words
                    .next()
                    .ok_or_else(|| format!("--server {spec}: give LABEL=PATH"))?,
            );
            if !path.is_file() {
                return Err(format!(
                    "--server {spec}: no file at {}; build it with `cargo build --release -p reference-server`",
                    path.display()
                )
                .into());
            }
            Ok(Server {
                label: label.to_owned(),
                path,
                flags: words.collect(),
            })
        })
        .collect()
}

/// A child process serving on `addr`, killed when dropped.
struct Spawned {
    child: Child,
    addr: SocketAddr,
}

impl Spawned {
    fn start(what: &str, command: &mut Command, addr: SocketAddr) -> Result<Spawned, Failure> {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        let spawned = Spawned { child, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline {
                return Err(format!("{what} did not listen on {addr} within 20 s").into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(spawned)
    }

    /// User + system CPU time of the process so far, in seconds (Linux).
    fn cpu_seconds(&self) -> f64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())) else {
            return f64::NAN;
        };
        // The fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        match (ticks(11), ticks(12)) {
            (Some(user), Some(system)) => (user + system) / clock_ticks_per_second(),
            _ => f64::NAN,
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sysconf(_SC_CLK_TCK)`, 100 on Linux unless the kernel says otherwise.
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// One server binary's two processes and its targets.
struct Measured {
    label: String,
    punchplay: Spawned,
    enterprise: Spawned,
    targets: Vec<Target>,
}

struct Target {
    name: String,
    path: String,
    script: PathBuf,
    on_enterprise: bool,
    ratios: Vec<f64>,
    /// Whether the round's bare and target runs both had other load under `--quiet-load`.
    quiet: Vec<bool>,
    runs: Vec<Run>,
}

impl Target {
    fn server<'a>(&self, punchplay: &'a Spawned, enterprise: &'a Spawned) -> &'a Spawned {
        if self.on_enterprise {
            enterprise
        } else {
            punchplay
        }
    }
}

impl Measured {
    fn start(server: &Server, targets: &[String], scripts: &Path) -> Result<Measured, Failure> {
        let label = &server.label;
        let start = |profile: &str| -> Result<Spawned, Failure> {
            let addr = free_addr()?;
            Spawned::start(
                &format!("{label} {profile}"),
                Command::new(&server.path)
                    .args([
                        "--profile",
                        profile,
                        "--test-controls",
                        "--listen",
                        &addr.to_string(),
                    ])
                    .args(&server.flags),
                addr,
            )
        };
        let punchplay = start("punchplay")?;
        let enterprise = start("enterprise")?;
        let mut prepared = Vec::new();
        for name in targets {
            let script_name = format!("{label}-{name}");
            let (path, script, on_enterprise) = match name.as_str() {
                "me" => {
                    let token = access_token(punchplay.addr)?;
                    let auth = format!("Bearer {token}");
                    let script = write_script(
                        scripts,
                        &script_name,
                        "GET",
                        &[("Authorization", &auth)],
                        "",
                    )?;
                    ("/api/platform/v1/me", script, false)
                }
                "en-token" => {
                    let script = write_script(
                        scripts,
                        &script_name,
                        "POST",
                        &[("Content-Type", "application/json")],
                        EN_CREDENTIALS,
                    )?;
                    ("/oauth/access-token", script, true)
                }
                _ => (
                    "/oauth/introspect",
                    introspection_script(scripts, label, enterprise.addr)?,
                    true,
                ),
            };
            prepared.push(Target {
                name: name.clone(),
                path: path.to_owned(),
                script,
                on_enterprise,
                ratios: Vec::new(),
                quiet: Vec::new(),
                runs: Vec::new(),
            });
        }
        Ok(Measured {
            label: label.to_owned(),
            punchplay,
            enterprise,
            targets: prepared,
        })
    }
}

/// A script introspecting a token issued now.
fn introspection_script(
    dir: &Path,
    label: &str,
    enterprise: SocketAddr,
) -> Result<PathBuf, Failure> {
    let issued = http(
        enterprise,
        "POST",
        "/oauth/access-token",
        "application/json",
        EN_CREDENTIALS,
        "",
    )?;
    let token = json_member(&issued.body, &["data", "access_token"])?;
    write_script(
        dir,
        &format!("{label}-en-introspect"),
        "POST",
        &[("Content-Type", "application/json")],
        &format!(r#"{{"token":"{token}"}}"#),
    )
}

/// What one wrk run measured.
struct Run {
    rps: f64,
    /// The server process's CPU per completed request, in µs.
    cpu_us: f64,
    errors: u64,
    /// Cores busy with other processes than the server and wrk while it ran.
    other_load: f64,
}

/// The machine's busy CPU time so far (all cores), in seconds, from `/proc/stat`.
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return f64::NAN;
    };
    let ticks: Vec<f64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    let busy: f64 = ticks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .take(8)
        .map(|(_, v)| v)
        .sum();
    busy / clock_ticks_per_second()
}

/// CPU time of this process's waited-for children (wrk), in seconds (`/proc/self/stat`).
fn children_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    // cutime and cstime are fields 16 and 17 of the line, 14 and 15 after the name.
    match (ticks(13), ticks(14)) {
        (Some(user), Some(system)) => (user + system) / clock_ticks_per_second(),
        _ => f64::NAN,
    }
}

fn run_wrk(args: &Args, server: &Spawned, path: &str, script: &Path) -> Result<Run, Failure> {
    let url = format!("http://{}{path}", server.addr);
    let cpu_before = server.cpu_seconds();
    let (busy_before, wrk_before, started) = (
        machine_busy_seconds(),
        children_cpu_seconds(),
        Instant::now(),
    );
    let out = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{}", args.connections),
            &format!("-d{}s", args.seconds),
            "-s",
        ])
        .arg(script)
        .arg(&url)
        .output()
        .map_err(|e| format!("cannot run wrk ({e}); install it with `apt-get install wrk`"))?;
    let cpu = server.cpu_seconds() - cpu_before;
    let wrk_cpu = children_cpu_seconds() - wrk_before;
    let other_load =
        (machine_busy_seconds() - busy_before - cpu - wrk_cpu) / started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed on {url}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let number_after = |label: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    let rps = number_after("Requests/sec:")
        .ok_or_else(|| format!("no Requests/sec in wrk's answer: {text}"))?;
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0);
    let errors = number_after("Non-2xx or 3xx responses:").unwrap_or(0.0) as u64;
    Ok(Run {
        rps,
        cpu_us: if requests > 0.0 {
            cpu / requests * 1e6
        } else {
            f64::NAN
        },
        errors,
        other_load: other_load.max(0.0),
    })
}

/// A wrk Lua script sending `method` with `headers` and `body`.
fn write_script(
    dir: &Path,
    name: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<PathBuf, Failure> {
    let lua = |s: &str| format!("{s:?}");
    let mut script = format!("wrk.method = {}\n", lua(method));
    for (k, v) in headers {
        script.push_str(&format!("wrk.headers[{}] = {}\n", lua(k), lua(v)));
    }
    if !body.is_empty() {
        script.push_str(&format!("wrk.body = {}\n", lua(body)));
    }
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(&path, script)?;
    Ok(path)
}

fn tempdir() -> Result<PathBuf, Failure> {
    let dir = std::env::temp_dir().join(format!("reference-server-wrk-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn free_addr() -> Result<SocketAddr, Failure> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn spread(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// A punchplay access token for alice through the test controls' authorize/decide and
/// the code exchange at the token endpoint (PP-AUTHZ-3, PP-TOKEN-1).
fn access_token(addr: SocketAddr) -> Result<String, Failure> {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(PKCE_VERIFIER.as_bytes()));
    let authorize = format!(
        "http://{addr}/oauth/authorize?response_type=code&client_id=pp-web&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    let decide =
        serde_json::json!({"url": authorize, "username": "alice", "approve": true}).to_string();
    let answer = http(
        addr,
        "POST",
        "/__test/authorize/decide",
        "application/json",
        &decide,
        "",
    )?;
    let location = json_member(&answer.body, &["location"])?;
    let code = url::Url::parse(&location)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("the approval redirect carries no code")?;
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("code_verifier", PKCE_VERIFIER)
        .append_pair("client_id", "pp-web")
        .append_pair("client_secret", "pp-web-secret")
        .finish();
    let tokens = http(
        addr,
        "POST",
        "/api/platform/v1/oauth/token",
        "application/x-www-form-urlencoded",
        &form,
        "",
    )?;
    json_member(&tokens.body, &["access_token"])
}

struct Answer {
    body: String,
}

/// One HTTP/1.1 request on a connection of its own; a non-2xx answer is an error.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    media: &str,
    body: &str,
    auth: &str,
) -> Result<Answer, Failure> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !media.is_empty() {
        head.push_str(&format!("Content-Type: {media}\r\n"));
    }
    if !auth.is_empty() {
        head.push_str(&format!("Authorization: {auth}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let mut answer = Vec::new();
    match length {
        Some(n) => {
            answer.resize(n, 0);
            reader.read_exact(&mut answer)?;
        }
        None => {
            reader.read_to_end(&mut answer)?;
        }
    }
    let body = String::from_utf8_lossy(&answer).into_owned();
    if !status
        .split_whitespace()
        .nth(1)
        .is_some_and(|s| s.starts_with('2'))
    {
        return Err(format!("{method} {path} answered {}: {body}", status.trim()).into());
    }
    Ok(Answer { body })
}

fn json_member(body: &str, path: &[&str]) -> Result<String, Failure> {
    let value: serde_json::Value = serde_json::from_str(body)?;
    path.iter()
        .try_fold(&value, |v, k| v.get(k))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| format!("no {} in {body}", path.join(".")).into())
}

/// The bare hyper server: `http1` with keep-alive on the runtime `--bare-runtime` names,
/// the same fixed answer to every request.
fn serve_bare(addr: SocketAddr, runtime: &str) -> Result<(), Failure> {
    let runtime = match runtime {
        "multi-thread" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    };
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
                    let mut res = Response::new(Full::new(Bytes::from_static(BARE_BODY)));
                    res.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, Infallible>(res)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
