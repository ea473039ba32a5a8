//! The `load` binary as a person runs it (issue 13): `--version`, the exit codes in
//! `--help`, one-line errors that say what to change, and a closed standard output
//! (`load | head`) that ends the run quietly instead of a panic.

use std::io::Read;
use std::process::{Command, Stdio};

fn load() -> Command {
    Command::new(env!("CARGO_BIN_EXE_load"))
}

#[test]
fn version_and_help_answer_and_list_the_exit_codes() {
    let out = load().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("load "));
    let out = load().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        help.contains("Exit codes:") && help.contains("3  no limit failed"),
        "{help}"
    );
}

#[test]
fn a_bad_argument_is_one_line_that_says_what_to_do() {
    let out = load().args(["--limit", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("use all or one of: device-code"), "{err}");
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let dir = std::env::temp_dir().join(format!("load-cli-{}", std::process::id()));
    let mut child = load()
        .args(["--limit", "refresh", "--windows", "1", "--report-dir"])
        .arg(&dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing: the reader is gone before the first line is written.
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(141), "{err}");
}

#[test]
fn a_run_of_every_limit_says_what_it_does_once_and_goose_says_nothing() {
    let dir = std::env::temp_dir().join(format!("load-cli-all-{}", std::process::id()));
    let out = load()
        .args(["--limit", "all", "--windows", "1", "--report-dir"])
        .arg(&dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let both = format!("{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(0), "{both}");
    // goose 0.19's own line ("64 users launched.", once per limit) never shows.
    assert!(!both.contains("users launched"), "{both}");
    // One header for the whole run, first, naming every limit.
    let headers: Vec<&str> = both.lines().filter(|l| l.starts_with("load: ")).collect();
    assert_eq!(headers.len(), 1, "{both}");
    assert!(
        stdout.starts_with("load: 6 limits (device-code, "),
        "{stdout}"
    );
    assert!(stdout.contains("every limit holds"), "{stdout}");
}
