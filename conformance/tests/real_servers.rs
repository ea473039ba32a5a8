//! The flexslot suite against real authorization servers that we did not write, installed
//! from their registries (issue 18 item 8): panva's oidc-provider (npm) and Authlib on
//! Flask (PyPI), configured like Flexslot as far as each goes
//! (`tests/real_servers/<name>/`). Each is started on a loopback port 0, and the
//! `conformance` binary runs against it as a user would: `--target`, the fixture
//! credentials, approvals by the server's own pages through `approve.py` (no test
//! controls), every level gating, and the server's `expected.toml`. The run must exit 0:
//! every failing check is a listed, reasoned true difference (`expected-fail`), and every
//! listed one still fails (an `UNEXPECTED-PASS` exits 1).
//!
//! The servers are installed by `.ci/run` (`tests/real_servers/install.sh`, into
//! `target/real-servers/`). Where node, python3 or an install is missing, a test says how
//! to install it and passes, except under `CI=true`, where it fails, as the browser test
//! of `tests/reports.rs` does.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(20);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn servers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/real_servers")
}

/// `target/real-servers/`, where `install.sh` puts the packages.
fn installs() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("real-servers")
}

/// A real server: how to start it, and what must be there first.
struct RealServer {
    /// The folder under `tests/real_servers/` and the test's name for it.
    name: &'static str,
    /// The program and its arguments; the environment it needs.
    command: Vec<String>,
    env: Vec<(&'static str, String)>,
    /// What must exist before it can start: (what, path).
    needs: Vec<(&'static str, PathBuf)>,
}

impl RealServer {
    fn oidc_provider() -> RealServer {
        let modules = installs().join("oidc-provider/node_modules");
        RealServer {
            name: "oidc_provider",
            command: vec![
                "node".into(),
                path(&servers_dir().join("oidc_provider/server.mjs")),
                "--modules".into(),
                path(&modules),
            ],
            env: vec![],
            needs: vec![("oidc-provider (npm)", modules.join("oidc-provider"))],
        }
    }

    fn authlib() -> RealServer {
        let site = installs().join("authlib/site");
        RealServer {
            name: "authlib",
            command: vec![
                "python3".into(),
                path(&servers_dir().join("authlib/server.py")),
            ],
            env: vec![("PYTHONPATH", path(&site))],
            needs: vec![("Authlib and Flask (PyPI)", site.join("authlib"))],
        }
    }

    fn dir(&self) -> PathBuf {
        servers_dir().join(self.name)
    }

    /// Why it cannot run here, if it cannot: a runtime or an install missing.
    fn missing(&self) -> Option<String> {
        for program in [self.command[0].as_str(), "python3"] {
            let found = Command::new(program)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !found {
                return Some(format!(
                    "`{program}` is not on PATH: install it with `apt-get update && apt-get install -y nodejs npm python3 python3-pip`, then run `conformance/tests/real_servers/install.sh`"
                ));
            }
        }
        self.needs.iter().find(|(_, p)| !p.exists()).map(|(what, p)| {
            format!(
                "{what} is not installed at {}: run `conformance/tests/real_servers/install.sh` (it installs into target/real-servers/ from the committed lock files)",
                p.display()
            )
        })
    }

    /// Starts it and waits for its `listening URL` line.
    fn start(&self) -> Running {
        let mut child = Command::new(&self.command[0])
            .args(&self.command[1..])
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", self.name));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        // The server's warnings and errors go to the test's output, read as they come so
        // a full pipe never stalls it.
        let name = self.name;
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[{name}] {line}");
            }
        });
        let mut running = Running { child, url: None };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(url) => running.url = Some(url),
            Err(_) => panic!(
                "{} printed no `listening URL` line within {} s",
                self.name,
                START_TIMEOUT.as_secs()
            ),
        }
        running
    }
}

fn path(p: &Path) -> String {
    p.to_str().expect("a UTF-8 path").to_owned()
}

/// A started server; dropping it stops it (its own process, by its id).
struct Running {
    child: Child,
    url: Option<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the CLI left: its exit code, output and `report.json`.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    report: Option<Value>,
}

impl Outcome {
    /// Each check of the report with its status, for messages: `id status: message`.
    fn rows(&self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let Some(checks) = self.report.as_ref().and_then(|r| r["checks"].as_array()) else {
            return Vec::new();
        };
        checks
            .iter()
            .filter(|c| keep(c["status"].as_str().unwrap_or_default()))
            .map(|c| {
                format!(
                    "{} {}: {}",
                    c["id"].as_str().unwrap_or_default(),
                    c["status"].as_str().unwrap_or_default(),
                    c["message"].as_str().unwrap_or_default()
                )
            })
            .collect()
    }

    fn status_of(&self, id: &str) -> Option<String> {
        self.report.as_ref()?["checks"]
            .as_array()?
            .iter()
            .find(|c| c["id"] == id)
            .and_then(|c| c["status"].as_str().map(str::to_owned))
    }
}

/// Runs the suite against `url` as a user with this server's approval command and
/// expected deviations would, every level gating.
fn run_suite(server: &RealServer, url: &str) -> Outcome {
    let reports = std::env::temp_dir().join(format!(
        "real-servers-{}-{}",
        server.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&reports);
    let approve = format!("python3 '{}'", path(&server.dir().join("approve.py")));
    let out = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["--profile", "flexslot", "--target", url])
        .args([
            "--credentials",
            &path(&workspace().join("fixtures/identities/flexslot.toml")),
        ])
        .args(["--approve-cmd", &approve])
        .args(["--expected", &path(&server.dir().join("expected.toml"))])
        .args(["--level", "decided", "--no-progress", "--report-dir"])
        .arg(&reports)
        .env_remove("CI")
        .output()
        .expect("the conformance binary runs");
    let report = std::fs::read_dir(&reports)
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .and_then(|e| std::fs::read_to_string(e.path().join("report.json")).ok())
        .and_then(|t| serde_json::from_str(&t).ok());
    let _ = std::fs::remove_dir_all(&reports);
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        report,
    }
}

/// The check ids `expected.toml` lists.
fn listed(server: &RealServer) -> Vec<String> {
    let text = std::fs::read_to_string(server.dir().join("expected.toml"))
        .expect("the server's expected.toml");
    let doc: toml::Value = toml::from_str(&text).expect("expected.toml is TOML");
    doc["deviation"]
        .as_array()
        .expect("[[deviation]] entries")
        .iter()
        .map(|d| d["check"].as_str().expect("a check id").to_owned())
        .collect()
}

fn fails_only_its_expected_deviations(server: RealServer) {
    if let Some(why) = server.missing() {
        assert!(!conformance::snapshot::in_ci(), "{}: {why}", server.name);
        eprintln!("SKIPPED the real server {}: {why}", server.name);
        return;
    }
    let started = Instant::now();
    let running = server.start();
    let url = running.url.clone().expect("a URL");
    let outcome = run_suite(&server, &url);
    drop(running);
    eprintln!(
        "{}: the suite against it took {} ms in all (start, run, stop)",
        server.name,
        started.elapsed().as_millis()
    );
    let unexpected = outcome.rows(|s| matches!(s, "fail" | "error" | "unexpected_pass"));
    assert!(
        outcome.code == Some(0) && unexpected.is_empty(),
        "{}: exit {:?}; checks that failed but are not listed in its expected.toml, or listed and passed:\n{}\n\nstdout:\n{}\nstderr:\n{}",
        server.name,
        outcome.code,
        unexpected.join("\n"),
        outcome.stdout,
        outcome.stderr
    );
    for id in listed(&server) {
        assert_eq!(
            outcome.status_of(&id).as_deref(),
            Some("expected_fail"),
            "{}: {id} is listed in expected.toml but did not fail",
            server.name
        );
    }
}

#[test]
fn oidc_provider_fails_only_its_expected_deviations() {
    fails_only_its_expected_deviations(RealServer::oidc_provider());
}

#[test]
fn authlib_fails_only_its_expected_deviations() {
    fails_only_its_expected_deviations(RealServer::authlib());
}
