//! The benchmark: the offered load (requests per second) a limit's goose scenario
//! sustains against the reference server, against a plain keep-alive client sending the
//! same requests from the same addresses with the same concurrency, in the same run.
//!
//! Not a test: it prints figures for the README. The two sides take turns for a number of
//! rounds, so that load from other processes falls on both. Each side is bounded by time
//! and by a request count, and is measured from its first request to its last answer, so
//! neither is charged for its start or its shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use goose::GooseAttack;
use goose::goose::{GooseRequest, GooseUser, Scenario, Transaction, TransactionResult};
use serde::Serialize;

use crate::keys::{self, KeyPlan, loopback_sources, usable_clients};
use crate::run::LoadOptions;
use crate::target::{Target, client_builder};
use crate::traffic::Traffic;

/// No side sends more than this many requests in a round, whatever the duration.
const MAX_REQUESTS: u64 = 20_000_000;

#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub goose_requests: u64,
    pub goose_rps: f64,
    pub plain_requests: u64,
    pub plain_rps: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub limit: String,
    pub users: usize,
    pub seconds: u64,
    pub rounds: Vec<Round>,
    /// Over all rounds.
    pub goose_rps: f64,
    pub plain_rps: f64,
    /// goose / plain.
    pub ratio: f64,
}

/// Answered requests and the span from the first request sent to the last answer.
#[derive(Debug)]
struct Meter {
    base: Instant,
    claimed: AtomicU64,
    answered: AtomicU64,
    first_ns: AtomicU64,
    last_ns: AtomicU64,
}

impl Meter {
    fn new() -> Self {
        Meter {
            base: Instant::now(),
            claimed: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            first_ns: AtomicU64::new(u64::MAX),
            last_ns: AtomicU64::new(0),
        }
    }

    /// The next request's index, or `None` once the bound is reached.
    fn claim(&self) -> Option<u64> {
        let n = self.claimed.fetch_add(1, Ordering::Relaxed);
        (n < MAX_REQUESTS).then_some(n)
    }

    fn answered(&self, started: Instant) {
        let start = started.duration_since(self.base).as_nanos() as u64;
        let end = self.base.elapsed().as_nanos() as u64;
        self.first_ns.fetch_min(start, Ordering::Relaxed);
        self.last_ns.fetch_max(end, Ordering::Relaxed);
        self.answered.fetch_add(1, Ordering::Relaxed);
    }

    /// (requests answered, per second).
    fn rate(&self) -> (u64, f64) {
        let n = self.answered.load(Ordering::Relaxed);
        let span = self
            .last_ns
            .load(Ordering::Relaxed)
            .saturating_sub(self.first_ns.load(Ordering::Relaxed));
        (n, n as f64 / (span.max(1) as f64 / 1e9))
    }
}

struct BenchState {
    traffic: Traffic,
    plan: KeyPlan,
    meter: Meter,
}

fn user_client(traffic: &Traffic, plan: &KeyPlan, index: usize) -> reqwest::ClientBuilder {
    let keys = plan.keys.len();
    let source = plan.keys[index % keys].source_for_slot(index / keys);
    client_builder(&traffic.base_url(), source, &traffic.access)
}

async fn seat(user: &mut GooseUser, state: Arc<BenchState>) -> TransactionResult {
    let builder = user_client(&state.traffic, &state.plan, user.weighted_users_index);
    user.set_client_builder(builder).await.map_err(Box::new)
}

async fn steady(user: &mut GooseUser, state: Arc<BenchState>) -> TransactionResult {
    let Some(n) = state.meter.claim() else {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Ok(());
    };
    let started = Instant::now();
    let key = &state.plan.keys[user.weighted_users_index % state.plan.keys.len()];
    let request = state.traffic.request(&user.client, key, n as usize, None);
    let goose = user
        .request(
            GooseRequest::builder()
                .set_request_builder(request)
                .name("steady")
                .build(),
        )
        .await?;
    if let Ok(r) = goose.response
        && r.bytes().await.is_ok()
    {
        state.meter.answered(started);
    }
    Ok(())
}

async fn goose_round(
    traffic: &Traffic,
    plan: &KeyPlan,
    users: usize,
    seconds: u64,
) -> Result<(u64, f64), String> {
    let state = Arc::new(BenchState {
        traffic: traffic.clone(),
        plan: plan.clone(),
        meter: Meter::new(),
    });
    let mut config = crate::attack::goose_config(&traffic.base_url(), users, Vec::new());
    config.run_time = Some(seconds.to_string());
    let (s1, s2) = (Arc::clone(&state), Arc::clone(&state));
    let scenario = Scenario::new(&format!("bench-{}", traffic.limit.name))
        .register_transaction(
            Transaction::new(Arc::new(move |u| Box::pin(seat(u, Arc::clone(&s1))))).set_on_start(),
        )
        .register_transaction(Transaction::new(Arc::new(move |u| {
            Box::pin(steady(u, Arc::clone(&s2)))
        })));
    let _turn = crate::attack::one_goose_at_a_time().await;
    let attack = GooseAttack::initialize_with_config(config).map_err(|e| e.to_string())?;
    crate::attack::shared_default_client(attack)
        .map_err(|e| e.to_string())?
        .register_scenario(scenario)
        .execute()
        .await
        .map_err(|e| format!("goose failed: {e}"))?;
    Ok(state.meter.rate())
}

async fn plain_round(
    traffic: &Traffic,
    plan: &KeyPlan,
    users: usize,
    seconds: u64,
) -> Result<(u64, f64), String> {
    let meter = Arc::new(Meter::new());
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for index in 0..users {
        let client = user_client(traffic, plan, index)
            .build()
            .map_err(|e| e.to_string())?;
        let key = plan.keys[index % plan.keys.len()].clone();
        let traffic = traffic.clone();
        let meter = Arc::clone(&meter);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let Some(n) = meter.claim() else { break };
                let started = Instant::now();
                if let Ok(r) = traffic
                    .request(&client, &key, n as usize, None)
                    .send()
                    .await
                    && r.bytes().await.is_ok()
                {
                    meter.answered(started);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(meter.rate())
}

/// Runs `rounds` rounds of both sides, `seconds` each, against the target of `options`
/// (or an in-process reference server) on the limit `options.limit` (default: the
/// family's [`crate::families::Family::bench_limit`]).
pub async fn bench(
    options: LoadOptions,
    seconds: u64,
    rounds: usize,
) -> Result<BenchResult, String> {
    let family = crate::families::for_profile(&options.profile)?;
    let limit_name = options
        .limit
        .clone()
        .unwrap_or_else(|| family.bench_limit().to_owned());
    let limit = options
        .profile
        .rate_limit(&limit_name)
        .ok_or_else(|| format!("the profile has no limit `{limit_name}`"))?
        .clone();
    if limit.key == profile::LimitKey::User {
        return Err("benchmark an IP- or client-keyed limit; the per-user one needs tokens".into());
    }
    let (base, server) = crate::run::target_or_embedded(&options)
        .await
        .map_err(|e| format!("could not start the reference server: {e}"))?;
    let mut target = Target::new(base.clone(), &options.access);
    let controls = target.detect_controls().await;
    let clients = usable_clients(&options.identities);
    let context = crate::families::Context {
        profile: &options.profile,
        identities: &options.identities,
        target: &target,
        clients: &clients,
        basic_auth: options.basic_auth,
    };
    let traffic = Traffic::new(&limit, &base, family.recipe(context, &limit).await?)
        .with_access(&options.access);
    let sources = if options.target.is_none() {
        loopback_sources(options.addresses.max(1))
    } else {
        vec![None]
    };
    let plan = keys::plan(limit.key, &sources, &clients, &[], &[]).map_err(|e| e.to_string())?;

    let mut results = Vec::new();
    for _ in 0..rounds.max(1) {
        if controls {
            target.reset().await.map_err(|e| e.to_string())?;
        }
        let (goose_requests, goose_rps) =
            goose_round(&traffic, &plan, options.users, seconds).await?;
        if controls {
            target.reset().await.map_err(|e| e.to_string())?;
        }
        let (plain_requests, plain_rps) =
            plain_round(&traffic, &plan, options.users, seconds).await?;
        results.push(Round {
            goose_requests,
            goose_rps,
            plain_requests,
            plain_rps,
        });
    }
    if controls {
        let _ = target.reset().await;
    }
    if let Some(s) = server {
        s.stop().await;
    }
    let mean = |f: fn(&Round) -> f64| results.iter().map(f).sum::<f64>() / results.len() as f64;
    let goose_rps = mean(|r| r.goose_rps);
    let plain_rps = mean(|r| r.plain_rps);
    Ok(BenchResult {
        limit: limit_name,
        users: options.users,
        seconds,
        rounds: results,
        goose_rps,
        plain_rps,
        ratio: goose_rps / plain_rps,
    })
}
