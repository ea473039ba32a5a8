//! `report.html`: a dashboard on one self-contained page (inline CSS and script, no
//! external asset, works offline). The verdict line and the counts per level and per area
//! come first, then the failures and errors grouped (clause, level, support block, a
//! coloured diff), then every other check collapsed by area. A filter box narrows every
//! row by id, area, status or level; its state lives in the URL's fragment
//! (`report.html#q=PP-RATE&status=FAIL`), so a filtered view can be linked.

use std::fmt::Write as _;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as esc};
use profile::Level;

use crate::runner::{CheckReport, RunReport, Status};
use crate::snapshot::SnapshotStatus;

use super::Explain;
use super::explain::fold_opaque;

const STYLE: &str = r#"
:root{--pass:#15692d;--fail:#b00020;--error:#a34a00;--skip:#6b6b6b;--expected:#8a6d00;--line:#d8d8d8;--soft:#f5f6f8}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d1d1f;background:#fff;line-height:1.4}
main{max-width:84rem;margin:0 auto;padding:1.5rem 2rem 4rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:2rem 0 .75rem}
.meta{color:#555;margin:0 0 1rem}.meta code{font-size:.9em}
.verdict{padding:.75rem 1rem;border-radius:.4rem;font-weight:600;border-left:.4rem solid}
.verdict.ok{background:#e9f6ee;border-color:var(--pass);color:#0d4a1f}
.verdict.bad{background:#fdecee;border-color:var(--fail);color:#6d0014}
.cards{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start;margin-top:1rem}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse}
td,th{border-bottom:1px solid var(--line);padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
td.hot{color:var(--fail);font-weight:700}td.warm{color:var(--error);font-weight:700}
.note{background:#fff8e1;border-left:.3rem solid var(--expected);padding:.5rem .75rem;margin:.5rem 0}
.id{white-space:nowrap;word-break:keep-all;overflow-wrap:normal}code.id{font-size:.92em}
.badge{display:inline-block;white-space:nowrap;border-radius:.3rem;padding:0 .4rem;font-size:.8rem;font-weight:700;border:1px solid currentColor}
.s-pass{color:var(--pass)}.s-fail,.s-unexpected_pass{color:var(--fail)}.s-error{color:var(--error)}
.s-skip,.s-unfinished{color:var(--skip)}.s-expected_fail{color:var(--expected)}
.filters{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:.6rem 0;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.filters input{flex:1 1 18rem;padding:.35rem .5rem;font:inherit}
.filters select{padding:.3rem;font:inherit}
#shown{color:#555;white-space:nowrap}
article.failure{border:1px solid var(--line);border-left:.35rem solid var(--fail);border-radius:.35rem;padding:.75rem 1rem;margin:0 0 1rem}
article.failure.f-error{border-left-color:var(--error)}article.failure.f-expected_fail{border-left-color:var(--expected)}
article.failure>header{display:flex;flex-wrap:wrap;gap:.5rem;align-items:baseline}
article.failure>header .id{font-size:1rem;font-weight:700;color:#1d1d1f}
.context{color:#555;white-space:nowrap}
.message{margin:.5rem 0;white-space:pre-wrap}
.same{margin:.4rem 0;color:#333}.same code.id{margin-right:.5rem}
dl.support{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.5rem 0;font-size:.92rem}
dl.support dt{color:#555}dl.support dd{margin:0;font-family:ui-monospace,monospace;overflow-wrap:anywhere}
pre{background:var(--soft);border:1px solid var(--line);border-radius:.3rem;padding:.5rem .75rem;margin:.4rem 0;max-height:22rem;overflow:auto;white-space:pre;font-size:.85rem;line-height:1.35}
pre.body{white-space:pre-wrap;overflow-wrap:anywhere}
pre.diff span{display:block}
pre.diff .del{background:#ffe3e6;color:#8a0016}pre.diff .ins{background:#dcf5e3;color:#0b5a23}
pre.diff .hunk{color:#2f5dab;background:#eef3fc}pre.diff .file{color:#555;font-weight:700}
details.area{border:1px solid var(--line);border-radius:.35rem;margin:0 0 .5rem}
details.area>summary{cursor:pointer;padding:.45rem .75rem;background:var(--soft);font-weight:600}
details.area>.scroll{padding:.25rem .75rem .5rem}
details.transcript>summary{cursor:pointer;color:#2f5dab;margin-top:.4rem}
.empty{color:#555;font-style:italic}
.asserts{margin:.4rem 0}.clause{margin:.4rem 0;padding:.4rem .75rem;border-left:.25rem solid var(--line);background:var(--soft)}
.rerun code{font-size:.85rem;overflow-wrap:anywhere}
[hidden]{display:none!important}
"#;

/// Narrows rows by the filter box and the three selects; keeps the state in the fragment.
const SCRIPT: &str = r#"
(function(){
  var q=document.getElementById('filter'),st=document.getElementById('status'),
      lv=document.getElementById('level'),ar=document.getElementById('area');
  var rows=[].slice.call(document.querySelectorAll('[data-search]'));
  var total=rows.reduce(function(n,r){return n+Number(r.dataset.count||1)},0);
  function has(list,v){return !v||list.split(' ').indexOf(v)>=0}
  function apply(write){
    var words=q.value.toLowerCase().split(/\s+/).filter(Boolean),shown=0;
    rows.forEach(function(r){
      var ok=words.every(function(w){return r.dataset.search.indexOf(w)>=0})
        &&(st.value==='problem'?has(r.dataset.status,'FAIL')||has(r.dataset.status,'ERROR')||has(r.dataset.status,'UNEXPECTED-PASS'):has(r.dataset.status,st.value))
        &&has(r.dataset.level,lv.value)&&has(r.dataset.area,ar.value);
      r.hidden=!ok; if(ok) shown+=Number(r.dataset.count||1);
    });
    var active=words.length>0||st.value||lv.value||ar.value;
    document.querySelectorAll('details.area').forEach(function(d){
      var any=d.querySelector('[data-search]:not([hidden])');
      d.hidden=!any; if(active&&any) d.open=true;
    });
    document.querySelectorAll('[data-empty-when-filtered]').forEach(function(e){
      var sec=document.getElementById(e.dataset.emptyWhenFiltered);
      e.hidden=!!(sec&&sec.querySelector('[data-search]:not([hidden])'))||!sec;
    });
    document.getElementById('shown').textContent=shown+' of '+total+' checks shown';
    // The failures' count follows the filter too.
    var fc=document.getElementById('failures-count');
    if(fc){var all=0,vis=0;document.querySelectorAll('#failures [data-search]').forEach(function(r){var n=Number(r.dataset.count||1);all+=n;if(!r.hidden)vis+=n});
      fc.textContent=vis===all?String(all):vis+' of '+all;}
    if(write){
      var p=new URLSearchParams();
      if(q.value)p.set('q',q.value);if(st.value)p.set('status',st.value);
      if(lv.value)p.set('level',lv.value);if(ar.value)p.set('area',ar.value);
      history.replaceState(null,'',p.toString()?'#'+p.toString():location.pathname);
    }
  }
  var p=new URLSearchParams(location.hash.slice(1));
  q.value=p.get('q')||'';st.value=p.get('status')||'';lv.value=p.get('level')||'';ar.value=p.get('area')||'';
  [q,st,lv,ar].forEach(function(e){e.addEventListener('input',function(){apply(true)});e.addEventListener('change',function(){apply(true)})});
  apply(false);
  document.body.dataset.ready='true';
})();
"#;

fn status_class(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Error => "error",
        Status::Skip => "skip",
        Status::ExpectedFail => "expected_fail",
        Status::UnexpectedPass => "unexpected_pass",
        Status::Unfinished => "unfinished",
    }
}

fn badge(status: Status) -> String {
    format!(
        "<span class=\"badge s-{}\">{}</span>",
        status_class(status),
        status.as_str()
    )
}

/// The attributes the filter reads, for one row standing for `checks`.
fn filter_attrs(checks: &[&CheckReport]) -> String {
    let words = |of: fn(&CheckReport) -> &str| {
        let mut v: Vec<&str> = checks.iter().map(|c| of(c)).collect();
        v.sort();
        v.dedup();
        v.join(" ")
    };
    let ids = words(|c| c.id.as_str());
    let areas = words(|c| c.area.as_str());
    let statuses = words(|c| c.status.as_str());
    let levels = words(|c| c.level.as_str());
    let clauses = words(|c| c.clause.as_str());
    let search = format!("{ids} {areas} {statuses} {levels} {clauses}").to_lowercase();
    format!(
        " data-search=\"{}\" data-status=\"{}\" data-level=\"{}\" data-area=\"{}\" data-count=\"{}\"",
        attr(&search),
        attr(&statuses),
        attr(&levels),
        attr(&areas),
        checks.len()
    )
}

/// A unified diff, one coloured line per span.
fn diff_html(diff: &str) -> String {
    let mut s = String::from("<pre class=\"diff\">");
    for line in diff.lines() {
        let class = if line.starts_with("---") || line.starts_with("+++") {
            "file"
        } else if line.starts_with("@@") {
            "hunk"
        } else if line.starts_with('-') {
            "del"
        } else if line.starts_with('+') {
            "ins"
        } else {
            "ctx"
        };
        let _ = write!(s, "<span class=\"{class}\">{}</span>", esc(line));
    }
    s.push_str("</pre>");
    s
}

/// The verdict line with each check id kept on one line (a hyphen is no place to break one).
fn verdict_html(line: &str) -> String {
    line.split(' ')
        .map(|word| {
            if word.starts_with("PP-") {
                format!("<span class=\"id\">{}</span>", esc(word))
            } else {
                esc(word).into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn failure_article(
    s: &mut String,
    report: &RunReport,
    explain: &Explain,
    group: &super::FailureGroup,
) {
    let c = group.first;
    let _ = write!(
        s,
        "<article class=\"failure f-{}\" id=\"{}\"{}><header>{}<code class=\"id\">{}</code><span class=\"context\">{}</span></header>",
        status_class(c.status),
        attr(&c.id),
        filter_attrs(&group.all().collect::<Vec<_>>()),
        badge(c.status),
        esc(&c.id),
        esc(&super::failure_context(report, c)),
    );
    if !c.title.is_empty() {
        let _ = write!(
            s,
            "<p class=\"asserts\"><strong>Asserts:</strong> {}</p>",
            esc(&c.title)
        );
    }
    let _ = write!(
        s,
        "<blockquote class=\"clause\"><a href=\"{}\"><code class=\"id\">{}</code></a> ({}){}</blockquote>",
        attr(&explain.clause_link(&c.clause)),
        esc(&c.clause),
        c.level,
        explain
            .clause_text(&c.clause)
            .map(|t| format!(": {}", esc(t)))
            .unwrap_or_default()
    );
    let _ = write!(
        s,
        "<p class=\"message\">{}</p>",
        esc(&fold_opaque(c.message.as_deref().unwrap_or("")))
    );
    if let Some(cmd) = explain.rerun(&c.id) {
        let _ = write!(
            s,
            "<p class=\"rerun\">Rerun alone: <code>{}</code></p>",
            esc(&cmd)
        );
    }
    if !group.same.is_empty() {
        let _ = write!(
            s,
            "<p class=\"same\">The same failure (message, status, body) in {} other check{}: ",
            group.same.len(),
            if group.same.len() == 1 { "" } else { "s" }
        );
        for other in &group.same {
            let _ = write!(
                s,
                "<code class=\"id\">{}</code> <span class=\"context\">({})</span> ",
                esc(&other.id),
                esc(&other.level.to_string())
            );
        }
        s.push_str("</p>");
    }
    for line in super::root_lines(report, c, "", usize::MAX) {
        let _ = write!(s, "<p class=\"root\">{}</p>", esc(&line));
    }
    if let Some(sup) = &c.support {
        let _ = write!(
            s,
            "<dl class=\"support\"><dt>request id</dt><dd>{}</dd><dt>time</dt><dd>{}</dd><dt>endpoint</dt><dd>{} {}</dd><dt>status</dt><dd>{}</dd><dt>client</dt><dd>{}</dd><dt>body</dt><dd></dd></dl><pre class=\"body\">{}</pre>",
            esc(sup.request_id.as_deref().unwrap_or("(none sent)")),
            esc(&sup.timestamp),
            esc(&sup.method),
            esc(&sup.endpoint),
            sup.status,
            esc(sup.client_id.as_deref().unwrap_or("(none)")),
            esc(&fold_opaque(&sup.body)),
        );
    }
    if let SnapshotStatus::Mismatched { diff, .. } = &c.snapshot {
        s.push_str("<p>Committed snapshot (−) against this run (+):</p>");
        s.push_str(&diff_html(diff));
    }
    if !c.transcript.is_empty() {
        let _ = write!(
            s,
            "<details class=\"transcript\"><summary>transcript (redacted)</summary><pre>{}</pre></details>",
            esc(&fold_opaque(&c.transcript))
        );
    }
    s.push_str("</article>");
}

fn summary_tables(s: &mut String, report: &RunReport) {
    s.push_str("<div class=\"cards\"><div class=\"scroll\"><table id=\"levels\"><caption hidden>per level</caption><tr><th>level</th><th>gates</th><th>pass</th><th>fail</th><th>error</th><th>skip</th><th>expected-fail</th><th>unexpected-pass</th></tr>");
    for level in Level::ALL {
        let [pass, fail, error, skip, expected, unexpected] = super::level_counts(report, level);
        let gates = super::gates_word(report, level);
        let hot = |n: usize| if n > 0 { " hot" } else { "" };
        let warm = |n: usize| if n > 0 { " warm" } else { "" };
        let _ = write!(
            s,
            "<tr><th>{level}</th><td>{gates}</td><td class=\"n\">{pass}</td><td class=\"n{}\">{fail}</td><td class=\"n{}\">{error}</td><td class=\"n\">{skip}</td><td class=\"n\">{expected}</td><td class=\"n{}\">{unexpected}</td></tr>",
            hot(fail),
            warm(error),
            hot(unexpected)
        );
    }
    s.push_str("</table></div><div class=\"scroll\"><table id=\"areas\"><tr><th>area</th><th>pass</th><th>fail</th><th>error</th><th>skip</th><th>failing clauses</th></tr>");
    for a in super::area_counts(report) {
        let _ = write!(
            s,
            "<tr><th><a href=\"#area-{}\">{}</a></th><td class=\"n\">{}</td><td class=\"n{}\">{}</td><td class=\"n{}\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            attr(&a.area),
            esc(&a.area),
            a.pass,
            if a.fail > 0 { " hot" } else { "" },
            a.fail,
            if a.error > 0 { " warm" } else { "" },
            a.error,
            a.skip,
            a.clauses
                .iter()
                .map(|c| format!("<code class=\"id\">{}</code>", esc(c)))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    s.push_str("</table></div></div>");
}

fn filter_bar(s: &mut String, report: &RunReport) {
    s.push_str("<div class=\"filters\" role=\"search\"><input id=\"filter\" type=\"search\" placeholder=\"Filter by id, clause, area, status or level (e.g. PP-RATE fail)\" aria-label=\"filter\">");
    s.push_str("<select id=\"status\" aria-label=\"status\"><option value=\"\">every status</option><option value=\"problem\">failed or errored</option>");
    for st in [
        Status::Pass,
        Status::Fail,
        Status::Error,
        Status::Skip,
        Status::ExpectedFail,
        Status::UnexpectedPass,
        Status::Unfinished,
    ] {
        let _ = write!(s, "<option>{}</option>", st.as_str());
    }
    s.push_str("</select><select id=\"level\" aria-label=\"level\"><option value=\"\">every level</option>");
    for l in Level::ALL {
        let _ = write!(s, "<option>{l}</option>");
    }
    s.push_str(
        "</select><select id=\"area\" aria-label=\"area\"><option value=\"\">every area</option>",
    );
    for a in super::area_counts(report) {
        let _ = write!(s, "<option>{}</option>", esc(&a.area));
    }
    let _ = write!(
        s,
        "</select><span id=\"shown\">{n} of {n} checks shown</span></div>",
        n = report.checks.len()
    );
}

pub fn render(report: &RunReport, explain: &Explain) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Conformance: {p} — {v}</title><style>{STYLE}</style></head><body><main>\
<h1>Conformance report: {p}</h1><p class=\"meta\">target <code>{t}</code> · driver {d} · started {st} · {ms} ms · gating levels {g}</p>\
<p class=\"verdict {cls}\" id=\"verdict\">{line}</p>",
        p = esc(&report.profile),
        v = super::verdict(report),
        t = esc(&report.target),
        d = esc(&report.driver),
        st = esc(&report.started_at),
        ms = report.duration_ms,
        g = report
            .gate
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        cls = if report.conformant() { "ok" } else { "bad" },
        line = verdict_html(&super::verdict_line(report)),
    );
    for line in super::incomplete_lines(report, usize::MAX) {
        let _ = write!(s, "<p class=\"verdict bad\">{}</p>", esc(&line));
    }
    summary_tables(&mut s, report);
    for note in report.notes.iter().chain(&super::unjudged_notes(report)) {
        let _ = write!(
            s,
            "<p class=\"note\"><strong>Note:</strong> {}</p>",
            esc(note)
        );
    }
    filter_bar(&mut s, report);

    let groups = super::failure_groups(report);
    let problems: usize = groups.iter().map(|g| 1 + g.same.len()).sum();
    let _ = write!(
        s,
        "<section id=\"failures\"><h2>Failures and errors (<span id=\"failures-count\">{problems}</span>)</h2>"
    );
    if groups.is_empty() {
        s.push_str("<p class=\"empty\">No check failed or errored.</p>");
    } else {
        s.push_str("<p class=\"empty\" data-empty-when-filtered=\"failures\" hidden>No failure matches the filter.</p>");
    }
    for g in &groups {
        failure_article(&mut s, report, explain, g);
    }
    s.push_str("</section><section id=\"by-area\"><h2>Passing and skipped checks by area</h2>");
    for a in super::area_counts(report) {
        let rest: Vec<&CheckReport> = report
            .checks
            .iter()
            .filter(|c| c.area == a.area && matches!(c.status, Status::Pass | Status::Skip))
            .collect();
        let _ = write!(
            s,
            "<details class=\"area\" id=\"area-{}\"><summary>{} · {} pass{}{}{}</summary><div class=\"scroll\"><table><tr><th>check</th><th>level</th><th>result</th><th>ms</th><th>note</th></tr>",
            attr(&a.area),
            esc(&a.area),
            a.pass,
            if a.skip > 0 {
                format!(" · {} skip", a.skip)
            } else {
                String::new()
            },
            if a.fail > 0 {
                format!(" · {} fail (above)", a.fail)
            } else {
                String::new()
            },
            if a.error > 0 {
                format!(" · {} error (above)", a.error)
            } else {
                String::new()
            },
        );
        for c in rest {
            let _ = write!(
                s,
                "<tr{}><td><code class=\"id\">{}</code></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                filter_attrs(&[c]),
                esc(&c.id),
                c.level,
                badge(c.status),
                c.duration_ms,
                esc(c.message.as_deref().unwrap_or(""))
            );
        }
        s.push_str("</table></div></details>");
    }
    let _ = writeln!(
        s,
        "</section></main><script>{SCRIPT}</script></body></html>"
    );
    s
}
