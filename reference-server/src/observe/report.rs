//! The client report (issue 22 item 2): the findings as JSON and as JUnit XML, one test
//! suite per client and one test case per rule of the family, failing with its findings,
//! so CI systems show each client's behaviour rule by rule. Findings of requests that
//! named no client form the suite `(no client)`.

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde_json::{Value, json};

use super::Observatory;
use super::findings::{Finding, Findings};
use crate::core::clock::rfc3339;

/// The suite name of findings without a client.
const NO_CLIENT: &str = "(no client)";

/// A rendered report.
#[derive(Debug, Clone)]
pub struct ClientReport {
    /// How many findings it holds.
    pub findings: usize,
    pub json: Value,
    pub junit: String,
}

impl ClientReport {
    /// The report of `findings`, with a passing row for each rule of each client `seen`
    /// that has no finding of it.
    pub(super) fn new(observatory: &Observatory, seen: &[&str], findings: &Findings) -> Self {
        let rules: Vec<_> = observatory.rules().collect();
        let mut clients: Vec<Option<&str>> = seen.iter().map(|c| Some(*c)).collect();
        for f in findings.of(None) {
            let c = f.client_id.as_deref();
            if !clients.contains(&c) {
                clients.push(c);
            }
        }
        let mut junit = Report::new(format!("client-behaviour-{}", observatory.family));
        let mut json_clients = Vec::new();
        for client in &clients {
            let name = client.unwrap_or(NO_CLIENT);
            let mut suite = TestSuite::new(name);
            let mut json_rules = Vec::new();
            for rule in &rules {
                let found: Vec<&Finding> = findings
                    .of(None)
                    .filter(|f| f.client_id.as_deref() == *client && f.rule.id == rule.id)
                    .collect();
                let status = if found.is_empty() {
                    TestCaseStatus::success()
                } else {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!(
                        "{} {}: {} finding(s)",
                        name,
                        rule.title,
                        found.len()
                    ));
                    s.set_type(rule.source);
                    s.set_description(
                        found
                            .iter()
                            .map(|f| {
                                format!(
                                    "{} ({}, {} time(s)); requests {}. Instead: {}",
                                    f.detail,
                                    rfc3339(f.first_at),
                                    f.occurrences,
                                    f.request_ids.join(", "),
                                    rule.instead
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n"),
                    );
                    s
                };
                let mut tc = TestCase::new(rule.id, status);
                tc.set_classname(format!("{}.{}", observatory.family, name));
                suite.add_test_case(tc);
                json_rules.push(json!({"rule": rule.id, "findings": found.len()}));
            }
            junit.add_test_suite(suite);
            json_clients.push(json!({"client_id": client, "rules": json_rules}));
        }
        let json = json!({
            "family": observatory.family,
            "findings": findings.of(None).map(Finding::to_json).collect::<Vec<_>>(),
            "dropped": findings.dropped(None),
            "clients": json_clients,
            "rules": rules.iter().map(|r| json!({
                "rule": r.id, "title": r.title, "source": r.source, "instead": r.instead,
            })).collect::<Vec<_>>(),
        });
        ClientReport {
            findings: findings.len(),
            json,
            junit: junit.to_string().unwrap_or_default(),
        }
    }

    /// Writes the JUnit XML to `path` with the extension `.xml` and the JSON with `.json`.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path.with_extension("xml"), &self.junit)?;
        let json = serde_json::to_string_pretty(&self.json).unwrap_or_default();
        std::fs::write(path.with_extension("json"), json + "\n")
    }
}
