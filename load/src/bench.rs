//! The benchmark: the offered load (requests per second) a limit's goose scenario
//! sustains against the reference server, against a plain keep-alive client sending the
//! same requests from the same addresses with the same concurrency, in the same run.
//!
//! Not a test: it prints figures for the README. Both sides are bounded by time and by
//! a request count.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use goose::GooseAttack;
use goose::goose::{GooseRequest, GooseUser, Scenario, Transaction, TransactionResult};
use serde::Serialize;
use url::Url;

use crate::keys::{self, KeyPlan, loopback_sources, usable_clients};
use crate::run::LoadOptions;
use crate::target::Target;
use crate::traffic::Traffic;

/// No side sends more than this many requests, whatever the duration.
const MAX_REQUESTS: u64 = 20_000_000;

#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub limit: String,
    pub users: usize,
    pub seconds: f64,
    pub goose_requests: u64,
    pub goose_rps: f64,
    pub plain_requests: u64,
    pub plain_rps: f64,
    /// goose / plain.
    pub ratio: f64,
}

struct BenchState {
    traffic: Traffic,
    plan: KeyPlan,
    sent: AtomicU64,
    first: std::sync::Mutex<Option<Instant>>,
}

fn user_client(base: &str, plan: &KeyPlan, index: usize) -> reqwest::ClientBuilder {
    let keys = plan.keys.len();
    let source = plan.keys[index % keys].source_for_slot(index / keys);
    crate::target::client_builder(base, source)
}

async fn seat(user: &mut GooseUser, state: Arc<BenchState>) -> TransactionResult {
    let builder = user_client(
        &state.traffic.base_url(),
        &state.plan,
        user.weighted_users_index,
    );
    user.set_client_builder(builder).await.map_err(Box::new)
}

async fn steady(user: &mut GooseUser, state: Arc<BenchState>) -> TransactionResult {
    let index = user.weighted_users_index;
    let n = state.sent.fetch_add(1, Ordering::Relaxed);
    if n >= MAX_REQUESTS {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Ok(());
    }
    state
        .first
        .lock()
        .expect("first lock")
        .get_or_insert_with(Instant::now);
    let key = &state.plan.keys[index % state.plan.keys.len()];
    let request = state.traffic.request(&user.client, key, n as usize, None);
    let goose = user
        .request(
            GooseRequest::builder()
                .set_request_builder(request)
                .name("steady")
                .build(),
        )
        .await?;
    if let Ok(r) = goose.response {
        let _ = r.bytes().await;
    }
    Ok(())
}

/// Runs both sides for `seconds` each against the target of `options` (or an in-process
/// reference server) on the limit `options.limit` (default `public-user`).
pub async fn bench(options: LoadOptions, seconds: u64) -> Result<BenchResult, String> {
    let limit_name = options
        .limit
        .clone()
        .unwrap_or_else(|| "public-user".into());
    let limit = options
        .profile
        .rate_limit(&limit_name)
        .ok_or_else(|| format!("the profile has no limit `{limit_name}`"))?
        .clone();
    if limit.key == profile::LimitKey::User {
        return Err("benchmark an IP- or client-keyed limit; the per-user one needs tokens".into());
    }
    let server = match &options.target {
        Some(_) => None,
        None => Some(
            reference_server::spawn(reference_server::ServerConfig {
                profile: options.profile.clone(),
                identities: options.identities.clone(),
                test_controls: true,
                ..reference_server::ServerConfig::punchplay()
            })
            .await
            .map_err(|e| format!("could not start the reference server: {e}"))?,
        ),
    };
    let base = match (&options.target, &server) {
        (Some(u), _) => u.clone(),
        (None, Some(s)) => Url::parse(&s.base_url()).map_err(|e| e.to_string())?,
        (None, None) => unreachable!("a server was started when no target was given"),
    };
    let mut target = Target::new(base.clone());
    let controls = target.detect_controls().await;
    let usernames: Vec<String> = options
        .identities
        .users
        .iter()
        .map(|u| u.username.clone())
        .collect();
    let traffic = Traffic::new(
        &options.profile,
        &limit,
        &base,
        &usernames,
        Default::default(),
    )
    .map_err(|e| e.to_string())?;
    let sources = if options.target.is_none() {
        loopback_sources(options.addresses.max(1))
    } else {
        vec![None]
    };
    let plan = keys::plan(
        limit.key,
        &sources,
        &usable_clients(&options.identities),
        &[],
        &[],
    )
    .map_err(|e| e.to_string())?;

    // goose.
    if controls {
        target.reset().await.map_err(|e| e.to_string())?;
    }
    let state = Arc::new(BenchState {
        traffic: traffic.clone(),
        plan: plan.clone(),
        sent: AtomicU64::new(0),
        first: std::sync::Mutex::new(None),
    });
    let mut config = crate::attack::goose_config(&traffic.base_url(), options.users, Vec::new());
    config.run_time = Some(seconds.to_string());
    let s1 = Arc::clone(&state);
    let s2 = Arc::clone(&state);
    let scenario = Scenario::new(&format!("bench-{limit_name}"))
        .register_transaction(
            Transaction::new(Arc::new(move |u| Box::pin(seat(u, Arc::clone(&s1))))).set_on_start(),
        )
        .register_transaction(Transaction::new(Arc::new(move |u| {
            Box::pin(steady(u, Arc::clone(&s2)))
        })));
    let attack = GooseAttack::initialize_with_config(config).map_err(|e| e.to_string())?;
    crate::attack::shared_default_client(attack)
        .map_err(|e| e.to_string())?
        .register_scenario(scenario)
        .execute()
        .await
        .map_err(|e| format!("goose failed: {e}"))?;
    let ended = Instant::now();
    let goose_requests = state.sent.load(Ordering::Relaxed).min(MAX_REQUESTS);
    let goose_secs = state
        .first
        .lock()
        .expect("first lock")
        .map_or(f64::NAN, |f| (ended - f).as_secs_f64());

    // The plain client: the same requests, one keep-alive client per task.
    if controls {
        target.reset().await.map_err(|e| e.to_string())?;
    }
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for index in 0..options.users {
        let client = user_client(&traffic.base_url(), &plan, index)
            .build()
            .map_err(|e| e.to_string())?;
        let key = plan.keys[index % plan.keys.len()].clone();
        let traffic = traffic.clone();
        let sent = Arc::clone(&sent);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let n = sent.fetch_add(1, Ordering::Relaxed);
                if n >= MAX_REQUESTS {
                    break;
                }
                if let Ok(r) = traffic
                    .request(&client, &key, n as usize, None)
                    .send()
                    .await
                {
                    let _ = r.bytes().await;
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let plain_secs = started.elapsed().as_secs_f64();
    let plain_requests = sent.load(Ordering::Relaxed).min(MAX_REQUESTS);
    if controls {
        let _ = target.reset().await;
    }
    if let Some(s) = server {
        s.stop().await;
    }
    let goose_rps = goose_requests as f64 / goose_secs;
    let plain_rps = plain_requests as f64 / plain_secs;
    Ok(BenchResult {
        limit: limit_name,
        users: options.users,
        seconds: seconds as f64,
        goose_requests,
        goose_rps,
        plain_requests,
        plain_rps,
        ratio: goose_rps / plain_rps,
    })
}
