//! The reports and the command line as a person and a CI job meet them: `report.html` in a
//! real headless browser (Debian's chromium), `report.json` against its published schema,
//! `report.md` and the terminal leading with the same verdict, and the CLI's conventions
//! (`--version`, a closed stdout, exit codes in `--help`, `NO_COLOR`, one-line errors).
//!
//! The failing run they read: the in-process reference server with the `code_reusable`
//! fault (PP-AUTHZ-8, a SHOULD check, fails) and a snapshot directory where PP-TOKEN-1's
//! snapshot says `"expires_in": 3599` (a MUST check fails on a coloured diff).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser as _;
use conformance::cli::{self, Args, EXIT_COULD_NOT_RUN, EXIT_NON_CONFORMANT};

const MISMATCHED_SNAPSHOT: &str = "PP-TOKEN-1__code-redemption-answers-a-bearer-token-pair.snap";

fn fresh_dir(what: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "conformance-reports-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

/// The committed snapshots, with PP-TOKEN-1's changed so that its check fails on a diff.
fn snapshots_with_one_mismatch(root: &Path) -> PathBuf {
    let committed = cli::default_snapshot_dir("punchplay");
    let snaps = root.join("snapshots");
    std::fs::create_dir_all(&snaps).expect("dir");
    for entry in std::fs::read_dir(&committed).expect("committed snapshots") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("a name").to_owned();
        let mut text = std::fs::read_to_string(&path).expect("a snapshot");
        if name == MISMATCHED_SNAPSHOT {
            assert!(text.contains("\"expires_in\": 3600"), "{text}");
            text = text.replace("\"expires_in\": 3600", "\"expires_in\": 3599");
        }
        std::fs::write(snaps.join(name), text).expect("write");
    }
    snaps
}

/// The arguments of the failing run (see the module comment), at `--level must`.
fn failing_run_args(root: &Path) -> Vec<String> {
    let snaps = snapshots_with_one_mismatch(root);
    [
        "--only",
        "PP-AUTHZ",
        "--only",
        "PP-TOKEN-1",
        "--only",
        "PP-TOKEN-2",
        "--fault",
        "code_reusable",
        "--level",
        "must",
        "--no-progress",
        "--snapshot-dir",
        snaps.to_str().expect("utf-8"),
        "--report-dir",
        root.join("reports").to_str().expect("utf-8"),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Runs the failing run in-process and answers its run folder.
async fn failing_run(what: &str) -> PathBuf {
    let root = fresh_dir(what);
    let mut argv = vec!["conformance".to_owned()];
    argv.extend(failing_run_args(&root));
    let code = cli::run(Args::parse_from(argv)).await;
    assert_eq!(
        code, EXIT_NON_CONFORMANT,
        "PP-TOKEN-1 (MUST) fails on its diff"
    );
    run_folder(&root.join("reports"))
}

fn run_folder(reports: &Path) -> PathBuf {
    std::fs::read_dir(reports)
        .expect("the reports folder")
        .next()
        .expect("one run")
        .expect("entry")
        .path()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("JSON")
}

// ---------------------------------------------------------------------------------------
// report.html in a real browser

/// Debian's chromium, or `CHROMIUM` if set. Missing: the test says how to install it, and
/// fails when `CI` is set (CI installs it; `.ci/run`), rather than passing unseen.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "chromium is not at {}: install it with `apt-get update && apt-get install -y chromium` or set CHROMIUM to its path",
        path.display()
    );
    assert!(!conformance::snapshot::in_ci(), "{why}");
    eprintln!("SKIPPED the browser check: {why}");
    None
}

/// Loads `url` in headless chromium and answers the DOM after the page's scripts ran.
fn dump_dom(chromium: &Path, url: &str, profile_dir: &Path) -> String {
    let out = Command::new("timeout")
        .arg("90")
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("chromium starts");
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 DOM")
}

/// Measures the page as laid out by the browser, after the report's own script ran, and
/// leaves the figures as JSON in `<pre id="probe">`.
const PROBE: &str = r#"<script>
(function(){
  function top(e){return e?e.getBoundingClientRect().top+window.scrollY:-1}
  var ids=[].slice.call(document.querySelectorAll('.id'));
  var body=document.querySelector('article.failure pre.body');
  var short=body?body.clientHeight:0;
  if(body){body.textContent=new Array(400).join('a long line of a response body\n');}
  var del=document.querySelector('pre.diff .del'),ins=document.querySelector('pre.diff .ins');
  var collapsed={
    openAreas:[].slice.call(document.querySelectorAll('details.area')).filter(function(d){return d.open&&!d.hidden}).length,
    visibleRows:[].slice.call(document.querySelectorAll('#by-area tr[data-search]')).filter(function(r){return r.checkVisibility()}).length
  };
  // Ids in every row, opened, in a narrow column: none may wrap.
  document.querySelectorAll('details').forEach(function(d){d.open=true});
  document.querySelector('main').style.maxWidth='24rem';
  var wrapped=ids.filter(function(e){return e.getClientRects().length>1}).map(function(e){return e.textContent});
  document.querySelector('main').style.maxWidth='';
  var r={
    ready:document.body.dataset.ready==='true',
    verdict:document.getElementById('verdict').textContent,
    verdictTop:top(document.getElementById('verdict')),
    levelsTop:top(document.getElementById('levels')),
    areasTop:top(document.getElementById('areas')),
    firstFailureTop:top(document.querySelector('article.failure')),
    byAreaTop:top(document.getElementById('by-area')),
    failureIds:[].slice.call(document.querySelectorAll('article.failure')).filter(function(a){return !a.hidden}).map(function(a){return a.id}),
    visibleRows:collapsed.visibleRows,
    shownRows:[].slice.call(document.querySelectorAll('[data-search]')).filter(function(r){return !r.hidden}).map(function(r){return r.dataset.status}),
    openAreas:collapsed.openAreas,
    areas:document.querySelectorAll('details.area').length,
    wrappedIds:wrapped,
    ids:ids.length,
    bodyShortHeight:short,
    bodyLongHeight:body?body.clientHeight:0,
    bodyScrolls:body?body.scrollHeight>body.clientHeight:false,
    viewport:window.innerHeight,
    delColour:del?getComputedStyle(del).backgroundColor:'',
    insColour:ins?getComputedStyle(ins).backgroundColor:'',
    ctxColour:del?getComputedStyle(del.parentNode).backgroundColor:'',
    shown:document.getElementById('shown').textContent,
    failuresCount:(document.getElementById('failures-count')||{}).textContent,
    asserts:[].slice.call(document.querySelectorAll('article.failure .asserts')).map(function(e){return e.textContent}),
    clauses:[].slice.call(document.querySelectorAll('article.failure .clause')).map(function(e){return e.textContent}),
    clauseLinks:[].slice.call(document.querySelectorAll('article.failure .clause a')).map(function(e){return e.getAttribute('href')}),
    reruns:[].slice.call(document.querySelectorAll('article.failure .rerun code')).map(function(e){return e.textContent}),
    longestOpaque:[].slice.call(document.querySelectorAll('article.failure')).map(function(a){return a.textContent.split(/[\s"',{}<>\[\]]+/).reduce(function(m,w){return Math.max(m,w.length)},0)}).reduce(function(m,n){return Math.max(m,n)},0),
    external:[].slice.call(document.querySelectorAll('[src],link[href]')).length
  };
  var pre=document.createElement('pre');pre.id='probe';pre.textContent=JSON.stringify(r);
  document.body.appendChild(pre);
})();
</script>"#;

fn probe(chromium: &Path, html: &Path, fragment: &str, work: &Path) -> serde_json::Value {
    let page = std::fs::read_to_string(html).expect("report.html");
    let probed = work.join(format!("probed-{}.html", fragment.len()));
    std::fs::write(&probed, page.replace("</body>", &format!("{PROBE}</body>"))).expect("write");
    let dom = dump_dom(
        chromium,
        &format!("file://{}{fragment}", probed.display()),
        &work.join(format!("chromium-profile-{}", fragment.len())),
    );
    let start = dom.find("<pre id=\"probe\">").expect("the probe ran") + "<pre id=\"probe\">".len();
    let end = start + dom[start..].find("</pre>").expect("the probe's end");
    serde_json::from_str(&html_escape::decode_html_entities(&dom[start..end])).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_reads_like_a_dashboard_in_a_real_browser() {
    let Some(chromium) = chromium() else { return };
    let run = failing_run("html").await;
    let html = run.join("report.html");
    let work = fresh_dir("browser");
    let page = probe(&chromium, &html, "", &work);

    assert_eq!(page["ready"], true, "the page's script ran: {page}");
    assert_eq!(page["external"], 0, "one self-contained file: {page}");
    let verdict = page["verdict"].as_str().expect("text");
    assert!(
        verdict.starts_with("NOT CONFORMANT at MUST; 1 MUST check failed: PP-TOKEN-1/"),
        "{verdict}"
    );
    assert!(
        verdict.contains("1 SHOULD check failed: PP-AUTHZ-8/"),
        "{verdict}"
    );
    // Summary first, then failures, then the rest; the first failure within two screens.
    let at = |k: &str| page[k].as_f64().expect(k);
    assert!(at("verdictTop") < at("levelsTop") && at("levelsTop") < at("areasTop"));
    assert!(at("areasTop") < at("firstFailureTop"));
    assert!(at("firstFailureTop") < at("byAreaTop"));
    assert!(at("firstFailureTop") < 2.0 * at("viewport"), "{page}");
    // The gating failure before the one that does not gate.
    let failures: Vec<&str> = page["failureIds"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id"))
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].starts_with("PP-TOKEN-1/") && failures[1].starts_with("PP-AUTHZ-8/"));
    // Passing checks collapsed; ids on one line; long bodies scroll inside their block.
    assert_eq!(page["openAreas"], 0, "{page}");
    assert_eq!(
        page["visibleRows"], 0,
        "collapsed rows are not laid out: {page}"
    );
    assert!(page["ids"].as_u64().expect("n") > 15, "{page}");
    assert_eq!(page["wrappedIds"], serde_json::json!([]), "{page}");
    assert!(page["bodyScrolls"] == true, "{page}");
    assert!(
        at("bodyLongHeight") < at("viewport") / 2.0,
        "a 400-line body stays in a small block: {page}"
    );
    // Each failure says what it asserts, quotes its clause with a link to the contract,
    // and gives the command that reruns it alone (issue 23 item 6).
    let texts = |k: &str| -> Vec<String> {
        page[k]
            .as_array()
            .unwrap_or_else(|| panic!("{k}: {page}"))
            .iter()
            .map(|v| v.as_str().expect("text").to_owned())
            .collect()
    };
    assert_eq!(texts("asserts").len(), 2, "{page}");
    assert!(
        texts("asserts")
            .iter()
            .all(|a| a.starts_with("Asserts: ") && a.len() > 20),
        "{page}"
    );
    let clauses = texts("clauses");
    assert!(
        clauses[0].starts_with("PP-TOKEN-1 (MUST): ")
            && clauses[0].contains("grant_type=authorization_code"),
        "{page}"
    );
    assert!(
        texts("clauseLinks")
            .iter()
            .all(|l| l.contains("CONTRACT.md")),
        "{page}"
    );
    let reruns = texts("reruns");
    assert!(
        reruns[0].starts_with("conformance ")
            && reruns[0].contains("--fault code_reusable")
            && reruns[0].ends_with("--only PP-TOKEN-1/code-redemption-answers-a-bearer-token-pair"),
        "{page}"
    );
    assert!(
        !reruns[0].contains("--report-dir"),
        "where reports go is no part of the rerun: {page}"
    );
    assert!(
        at("longestOpaque") < 200.0,
        "long opaque values are folded: {page}"
    );
    assert_eq!(page["failuresCount"], "2", "{page}");

    // The diff is coloured: removed and added lines differ from each other and the rest.
    let (del, ins, ctx) = (&page["delColour"], &page["insColour"], &page["ctxColour"]);
    assert!(del != ins && del != ctx && ins != ctx, "{page}");

    // The filter, from the fragment as a link would carry it: only the failures remain.
    let failed = probe(&chromium, &html, "#status=FAIL", &work);
    let shown: Vec<&str> = failed["shownRows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|v| v.as_str().expect("status"))
        .collect();
    assert_eq!(shown, vec!["FAIL", "FAIL"], "{failed}");
    assert!(
        failed["shown"].as_str().expect("text").starts_with("2 of "),
        "{failed}"
    );
    // By text (id, area, level): one passing PP-TOKEN-2 row, its area opened.
    let token2 = probe(
        &chromium,
        &html,
        "#q=pp-token-2%2Funknown&level=MUST",
        &work,
    );
    assert_eq!(token2["shownRows"], serde_json::json!(["pass"]), "{token2}");
    assert_eq!(
        token2["failuresCount"], "0 of 2",
        "the heading's count follows the filter: {token2}"
    );
    assert_eq!(token2["openAreas"], 1, "{token2}");
    assert_eq!(token2["visibleRows"], 1, "{token2}");
    let _ = std::fs::remove_dir_all(&work);
}

// ---------------------------------------------------------------------------------------
// report.json, report.md and the terminal

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report.schema.json");
    jsonschema::validator_for(&read_json(&path)).expect("a valid JSON Schema")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_json_of_a_real_run_follows_the_published_schema() {
    let run = failing_run("json").await;
    let json = read_json(&run.join("report.json"));
    let schema = schema();
    let errors: Vec<String> = schema.iter_errors(&json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(json["schema_version"], 2);
    assert_eq!(json["conformant"], false);
    // The schema holds a reader to something: wrong shapes are refused.
    for (pointer, wrong) in [
        ("/schema_version", serde_json::json!("2")),
        ("/schema_version", serde_json::json!(1)),
        ("/checks/0/status", serde_json::json!("passed")),
        ("/checks/0/level", serde_json::json!("MAY")),
        ("/gate", serde_json::json!("MUST")),
    ] {
        let mut bad = json.clone();
        *bad.pointer_mut(pointer).expect(pointer) = wrong;
        assert!(!schema.is_valid(&bad), "{pointer} was not checked");
    }
    let mut without_version = json.clone();
    without_version
        .as_object_mut()
        .expect("object")
        .remove("schema_version");
    assert!(!schema.is_valid(&without_version));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_md_leads_with_the_verdict_counts_and_failures() {
    let run = failing_run("md").await;
    let md = std::fs::read_to_string(run.join("report.md")).expect("report.md");
    let verdict = read_json(&run.join("report.json"))["verdict"]
        .as_str()
        .expect("text")
        .to_owned();
    let at = |needle: &str| {
        md.find(needle)
            .unwrap_or_else(|| panic!("report.md lacks `{needle}`:\n{md}"))
    };
    assert!(at(&verdict) < at("| level | gates |"));
    assert!(at("| level | gates |") < at("| area | pass | fail | error | skip |"));
    assert!(at("| area | pass | fail | error | skip |") < at("## Failures and errors"));
    assert!(at("## Failures and errors") < at("## Checks by area"));
    assert!(
        at("### `PP-TOKEN-1/") < at("### `PP-AUTHZ-8/"),
        "gating failures first"
    );
    assert!(md.contains("(FAIL, MUST PP-TOKEN-1, gating)"), "{md}");
    assert!(md.contains("(FAIL, SHOULD PP-AUTHZ-8, not gating)"), "{md}");
    assert!(
        md.contains("```diff\n") && md.contains("--- committed snapshot\n+++ this run\n"),
        "the mismatch's diff as a `diff` block, which viewers colour: {md}"
    );
}

/// Runs the conformance binary; never longer than a minute.
fn binary(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("60")
        .arg(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_terminal_ends_with_the_same_verdict_line_as_the_reports() {
    let root = fresh_dir("terminal");
    let args = failing_run_args(&root);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = binary(&args, &[]);
    assert_eq!(
        out.status.code(),
        Some(EXIT_NON_CONFORMANT),
        "{}",
        stderr(&out)
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let (reports, verdict) = (lines[lines.len() - 1], lines[lines.len() - 2]);
    assert!(reports.starts_with("reports: "), "{text}");
    let json = read_json(&run_folder(&root.join("reports")).join("report.json"));
    assert_eq!(verdict, json["verdict"], "{text}");
    assert!(
        text.find("│ level").expect("levels") < text.find("FAIL PP-TOKEN-1/").expect("failure"),
        "counts lead, failures follow: {text}"
    );
    assert!(
        text.contains("│ error │"),
        "areas count errors apart: {text}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// PP-AUTHZ-8 is SHOULD: at `--level must` its failure is reported, named on the last
/// line, and does not gate the exit code.
#[test]
fn a_should_failure_under_level_must_is_named_on_the_last_line() {
    let out = binary(
        &[
            "--only",
            "PP-AUTHZ-8",
            "--fault",
            "code_reusable",
            "--level",
            "must",
            "--no-reports",
            "--no-progress",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let last = text
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .expect("a line");
    assert!(
        last.starts_with(
            "CONFORMANT at MUST; 1 SHOULD check failed: PP-AUTHZ-8/second-redemption-fails-and-revokes-tokens."
        ),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// CLI conventions

#[test]
fn version_prints_the_name_and_version() {
    let out = binary(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out).trim(),
        format!("conformance {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_the_exit_codes_and_no_color() {
    let out = binary(&["--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for part in [
        "Exit codes:",
        "0  conformant",
        "1  not conformant",
        "2  the suite could not run",
        "NO_COLOR",
    ] {
        assert!(help.contains(part), "--help lacks `{part}`:\n{help}");
    }
}

#[test]
fn a_closed_stdout_ends_the_list_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--list")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // Closed before the first line is written, as `| head -0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("it ends");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "no panic, no message");
}

#[test]
fn shared_flag_names_parse() {
    let args = Args::try_parse_from([
        "conformance",
        "--target",
        "https://staging.example.com",
        "--profile",
        "p.toml",
        "--report-dir",
        "out",
        "--no-progress",
    ])
    .expect("the flags every binary shares");
    assert_eq!(args.report_dir, PathBuf::from("out"));
    assert!(args.no_progress);
}

#[test]
fn no_color_turns_the_terminal_colours_off() {
    let run = |env: &[(&str, &str)]| {
        stdout(&binary(
            &[
                "--only",
                "PP-AUTHZ-8",
                "--fault",
                "code_reusable",
                "--no-reports",
                "--no-progress",
            ],
            env,
        ))
    };
    let forced = run(&[("CLICOLOR_FORCE", "1")]);
    assert!(
        forced.contains("\u{1b}["),
        "colours when forced: {forced:?}"
    );
    let plain = run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!plain.contains('\u{1b}'), "NO_COLOR wins: {plain:?}");
    assert!(plain.contains("FAIL PP-AUTHZ-8/"), "{plain}");
    let piped = run(&[]);
    assert!(!piped.contains('\u{1b}'), "not a terminal: {piped:?}");
}

/// Every error is one line on stderr with what to do, and exit 2.
#[test]
fn errors_are_one_line_with_the_fix() {
    let missing = std::env::temp_dir().join("conformance-no-such-profile.toml");
    let broken = fresh_dir("broken-profile").join("profile.toml");
    std::fs::write(&broken, "name = \"x\"\n[paths\n").expect("write");
    for (args, fix) in [
        (
            vec!["--reports", "out"],
            "run `conformance --help` for every flag",
        ),
        (vec!["--level", "sometimes"], "--help"),
        (
            vec!["--target", "https://staging.example.com"],
            "--credentials FILE",
        ),
        (
            vec!["--profile", missing.to_str().expect("utf-8")],
            "check the path given to --profile",
        ),
        (
            vec!["--profile", broken.to_str().expect("utf-8")],
            "fixtures/profiles/punchplay.toml is a complete example",
        ),
        (vec!["--only", "PP-NOTHING-99"], "see --list"),
    ] {
        let out = binary(&args, &[]);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(EXIT_COULD_NOT_RUN),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains(fix), "{args:?} lacks `{fix}`: {err}");
    }
    let tip = stderr(&binary(&["--reports", "out"], &[]));
    assert!(tip.contains("'--report-dir'"), "clap's tip is kept: {tip}");
}

// ---------------------------------------------------------------------------------------
// Identical failures, grouped

/// The one answer of [`same_answer_target`].
const SAME_BODY: &str = r#"{"status":"ok","service":"edge-gateway"}"#;

/// A target that answers every request alike (200, the same JSON object), as a gateway in
/// front of nothing might: most checks fail, many in the very same way.
async fn same_answer_target() -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("an address");
    let task = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Read the head and the body it announces (bounded), then answer and close.
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                let deadline = std::time::Duration::from_secs(2);
                while seen.len() < 64 * 1024 {
                    let Ok(Ok(n @ 1..)) = tokio::time::timeout(deadline, sock.read(&mut buf)).await
                    else {
                        break;
                    };
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen).to_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if seen.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{SAME_BODY}",
                    SAME_BODY.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_failures_are_grouped_with_one_body() {
    let (url, server) = same_answer_target().await;
    let root = fresh_dir("grouped");
    let creds = format!(
        "{}/../fixtures/identities/punchplay.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let code = cli::run(Args::parse_from([
        "conformance",
        "--target",
        &url,
        "--credentials",
        &creds,
        "--no-snapshots",
        "--no-progress",
        "--only",
        "PP-TOKEN",
        "--only",
        "PP-APP",
        "--report-dir",
        root.join("reports").to_str().expect("utf-8"),
    ]))
    .await;
    server.abort();
    assert_eq!(code, EXIT_NON_CONFORMANT);
    let run = run_folder(&root.join("reports"));
    let json = read_json(&run.join("report.json"));
    let failing = json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        // Failures and the checks not judged past another clause's difference (issue 18
        // item 4): both show the answer they met.
        .filter(|c| {
            (c["status"] == "fail" || c["status"] == "error") && c["support"]["body"] == SAME_BODY
        })
        .count();
    let md = std::fs::read_to_string(run.join("report.md")).expect("report.md");
    let html = std::fs::read_to_string(run.join("report.html")).expect("report.html");
    let _ = std::fs::remove_dir_all(&root);
    let shown_md = md.matches(SAME_BODY).count();
    let shown_html = html.matches(&*html_escape::encode_text(SAME_BODY)).count();
    assert!(
        failing >= 10,
        "{failing} failures with the same body:\n{md}"
    );
    assert!(
        md.contains("The same failure (message, status, body) in "),
        "{md}"
    );
    assert!(
        shown_md < failing && shown_html < failing,
        "{failing} identical-body failures, the body shown {shown_md} times in report.md and {shown_html} in report.html"
    );
}
