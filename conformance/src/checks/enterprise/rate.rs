//! EN-RATE-1: enterprise's part of the rate checks, which the kit makes from the
//! profile's `[[rate_limits]]` (`kit::rate`): which checks it has ([`SPEC`]: N admitted
//! then 429, watched for the rest of the window; the refusal's body and Retry-After;
//! reopening at Retry-After and every status counting, both with PP-RATE-3's semantics;
//! the IP key) and the request that counts ([`Recipe`]): the tags route with a live token
//! for a prefix that covers it, else a path under the prefix; for an endpoint limit, the
//! endpoint's own request.

use profile::{Level, LimitKey, LimitTarget, Profile, RateLimit};

use super::{api_error, issue, roles, tags_request, token_body, token_request};
use crate::check::Ctx;
use crate::client::{Req, Resp};
use crate::kit::rate::{Kind, RateFamily, RateSpec, Setup, Template};
use crate::outcome::{CheckResult, Problem};

/// The clause an over-admission breaks, wherever it is seen.
pub const OVER_ADMISSION_CLAUSE: &str = "EN-RATE-1";
/// EN-RATE-1 (DECIDED body).
const TOO_MANY_ATTEMPTS: &str = "Too Many Attempts.";

/// Enterprise's rate checks.
pub static SPEC: RateSpec = RateSpec {
    per_limit: &[
        Template::new(
            "EN-RATE-1/{limit}-admits-the-documented-number",
            "Exactly the documented number of requests is admitted per window, then 429",
            Kind::Admits { refusal: false },
        ),
        Template::new(
            "EN-RATE-1/{limit}-refusal-has-retry-after",
            "The refusal is 429 {\"message\": \"Too Many Attempts.\"} with Retry-After in whole seconds, 1 to the window",
            Kind::RetryAfter { refusal: true },
        )
        .part(Level::Decided),
        Template::new(
            "EN-RATE-1/{limit}-reopens-at-retry-after",
            "Just before Retry-After still refused; at Retry-After admitted (PP-RATE-3 semantics)",
            Kind::Reopens { refusal: false },
        )
        .part(Level::Decided),
        Template::new(
            "EN-RATE-1/{limit}-counts-every-status",
            "Requests refused for their token count against the limit too (PP-RATE-3 semantics)",
            Kind::FailedAuthenticationCounts,
        )
        .part(Level::Decided),
        Template::new(
            "EN-RATE-1/{limit}-counts-per-source-address",
            "The limit exhausted from one address still admits another (per IP)",
            Kind::PerSourceAddress,
        )
        .key(LimitKey::Ip),
    ],
    once: &[],
    retry_after_clause: "EN-RATE-1",
};

/// The `[paths]` endpoints enterprise's recipe makes requests for (besides a prefix).
const RECIPES: &[&str] = &["tags", "introspect", "revoke", "token"];

/// Enterprise's request recipe.
pub struct Recipe;

impl RateFamily for Recipe {
    fn spec(&self) -> &'static RateSpec {
        &SPEC
    }

    fn has_recipe(&self, _profile: &Profile, limit: &RateLimit) -> bool {
        match &limit.target {
            LimitTarget::PathPrefix(_) => true,
            LimitTarget::Endpoint(endpoint) => RECIPES.contains(&endpoint.as_str()),
        }
    }

    /// A live token of the active app: the requests that count are ones the API serves.
    fn token<'a>(&'a self, ctx: &'a mut Ctx, _limit: &'a RateLimit) -> Setup<'a, Option<String>> {
        Box::pin(async move {
            let app = roles::active(ctx)?;
            Ok(Some(issue(ctx, &app, None).await?.access_token))
        })
    }

    fn request(&self, ctx: &Ctx, limit: &RateLimit, token: Option<&str>) -> Result<Req, Problem> {
        match &limit.target {
            LimitTarget::PathPrefix(prefix) => {
                let tags = ctx.path("tags");
                if profile::is_under_prefix(&tags, prefix) {
                    Ok(tags_request(ctx, token))
                } else {
                    let path = format!("{}/conformance-probe", prefix.trim_end_matches('/'));
                    Ok(match token {
                        Some(t) => Req::get(path).bearer(t),
                        None => Req::get(path),
                    })
                }
            }
            LimitTarget::Endpoint(endpoint) => match endpoint.as_str() {
                "tags" => Ok(tags_request(ctx, token)),
                "introspect" | "revoke" => {
                    Ok(token_body(ctx, endpoint, "conformance-unknown-token"))
                }
                "token" => Ok(token_request(ctx, &roles::active(ctx)?, None)),
                other => Err(Problem::error(format!(
                    "enterprise's rate recipe has no request for the endpoint `{other}`"
                ))),
            },
        }
    }

    /// EN-API-1 says how `/api/*` refuses a token it does not know.
    fn unauthenticated_clause(&self, limit: &RateLimit) -> Option<&'static str> {
        matches!(limit.target, LimitTarget::PathPrefix(_)).then_some("EN-API-1")
    }

    /// EN-RATE-1's DECIDED body: `{"message": "Too Many Attempts."}` at the profile's
    /// status.
    fn refusal(&self, ctx: &Ctx, refused: &Resp) -> CheckResult {
        api_error(
            ctx,
            refused,
            "rate_limited",
            TOO_MANY_ATTEMPTS,
            OVER_ADMISSION_CLAUSE,
        )
    }
}
