//! PP-RATE: punchplay's part of the rate checks, which the kit makes from the profile's
//! `[[rate_limits]]` (`kit::rate`): which checks it has ([`SPEC`]: N admitted then
//! refused, PP-RATE-1; the refusal's envelope and Retry-After, PP-RATE-2; reopening at
//! Retry-After, PP-RATE-3; the keys, PP-RATE-4) and, per documented endpoint, the request
//! that counts ([`Recipe`]). A limit on any other endpoint is named in the run's notes.

use profile::{Level, LimitKey, Profile, RateLimit};

use super::roles;
use crate::check::Ctx;
use crate::client::{Req, Resp};
use crate::kit::flows::{self, with_auth};
use crate::kit::made_up::made_up;
use crate::kit::rate::{Kind, RateFamily, RateSpec, Setup, Template};
use crate::outcome::{CheckResult, Problem};

/// The clause an over-admission breaks, wherever it is seen.
pub const OVER_ADMISSION_CLAUSE: &str = "PP-RATE-1";

/// Punchplay's rate checks.
pub static SPEC: RateSpec = RateSpec {
    per_limit: &[
        Template::new(
            "PP-RATE-1/{limit}-admits-the-documented-number",
            "Exactly the documented number of requests is admitted per window, then 429 rate_limited",
            Kind::Admits { refusal: true },
        ),
        Template::new(
            "PP-RATE-2/{limit}-refusal-is-rate-limited-with-request-id",
            "The refusal is 429 rate_limited in the error envelope, its request id in the header and the body",
            Kind::Refusal,
        ),
        Template::new(
            "PP-RATE-2/{limit}-refusal-has-retry-after",
            "The refusal carries Retry-After in whole seconds, at least 1 and at most the window",
            Kind::RetryAfter { refusal: false },
        )
        .part(Level::Decided),
        Template::new(
            "PP-RATE-3/{limit}-reopens-at-retry-after",
            "Just before Retry-After still refused; at Retry-After admitted",
            Kind::Reopens { refusal: true },
        ),
    ],
    once: &[
        Template::new(
            "PP-RATE-4/ip-limits-count-per-source-address",
            "An IP-keyed limit exhausted from one address still admits another",
            Kind::PerSourceAddress,
        )
        .key(LimitKey::Ip),
        Template::new(
            "PP-RATE-4/spoofed-x-forwarded-for-does-not-escape-an-ip-limit",
            "A client cannot escape an IP-keyed limit by sending X-Forwarded-For (the peer address counts unless a trusted proxy appends the last entry)",
            Kind::SpoofedForwardedFor,
        )
        .key(LimitKey::Ip),
        Template::new(
            "PP-RATE-4/token-limit-counts-per-client",
            "The token limit exhausted by one client still admits another client from the same address",
            Kind::PerClient,
        )
        .key(LimitKey::ClientAndIp)
        .endpoint("token"),
        Template::new(
            "PP-RATE-4/unauthenticated-requests-do-not-count-against-the-user",
            "Playback requests that fail authentication are not counted against the user",
            Kind::FailedAuthenticationNotCounted,
        )
        .key(LimitKey::User),
    ],
    retry_after_clause: "PP-RATE-2",
};

/// The `[paths]` endpoints punchplay's recipe makes requests for.
const RECIPES: &[&str] = &[
    "device_code",
    "device_token",
    "refresh",
    "token",
    "playback",
    "public_user",
];

/// Punchplay's request recipe: per endpoint, a request the limit counts whatever it
/// answers (PP-RATE-3: every admitted request counts); the per-user limit's carries the
/// web app's token, got through the code flow.
pub struct Recipe;

impl RateFamily for Recipe {
    fn spec(&self) -> &'static RateSpec {
        &SPEC
    }

    fn has_recipe(&self, _profile: &Profile, limit: &RateLimit) -> bool {
        limit.endpoint().is_some_and(|e| RECIPES.contains(&e))
    }

    fn token<'a>(&'a self, ctx: &'a mut Ctx, limit: &'a RateLimit) -> Setup<'a, Option<String>> {
        Box::pin(async move {
            if limit.key != LimitKey::User {
                return Ok(None);
            }
            let web = roles(ctx)?.web.clone();
            Ok(Some(flows::code_tokens(ctx, &web, None).await?.access))
        })
    }

    fn request(&self, ctx: &Ctx, limit: &RateLimit, token: Option<&str>) -> Result<Req, Problem> {
        let roles = roles(ctx)?;
        let (web, tv) = (&roles.web, &roles.tv);
        let endpoint = limit.endpoint().unwrap_or_default();
        let path = ctx.env.profile.path_template(endpoint);
        let req = match endpoint {
            "device_code" => Req::post(path.as_str()).form(with_auth(tv, &[])),
            // A made-up credential per request: a burst counts refusals, it does not
            // mean to repeat one failing request (`repeated-failure`, issue 22).
            "device_token" => Req::post(path.as_str()).form(with_auth(
                tv,
                &[(
                    "device_code",
                    made_up("conformance-unknown-device-code").as_str(),
                )],
            )),
            "refresh" => Req::post(path.as_str()).form(with_auth(
                tv,
                &[(
                    "refresh_token",
                    made_up("conformance-unknown-refresh").as_str(),
                )],
            )),
            "token" => Req::post(path.as_str()).form(with_auth(
                web,
                &[
                    ("grant_type", "refresh_token"),
                    (
                        "refresh_token",
                        made_up("conformance-unknown-refresh").as_str(),
                    ),
                ],
            )),
            "playback" => Req::post(path.fill(&[("action", "progress")]))
                .bearer(token.unwrap_or_default())
                .json(super::api::playback_body(ctx, "conformance-rate", 1000)),
            "public_user" => Req::get(path.fill(&[("username", &roles.user.username)])),
            other => {
                return Err(Problem::error(format!(
                    "punchplay's rate recipe has no request for the endpoint `{other}`"
                )));
            }
        };
        Ok(req)
    }

    /// What each recipe's request is answered when admitted, by the clause that says it.
    fn admitted_clause(&self, limit: &RateLimit) -> Option<&'static str> {
        Some(match limit.endpoint()? {
            "device_code" => "PP-DEVICE-1",
            "device_token" => "PP-DEVICE-3",
            "refresh" | "token" => "PP-TOKEN-2",
            "playback" => "PP-API-3",
            "public_user" => "PP-PUBLIC-1",
            _ => return None,
        })
    }

    /// PP-RATE-2: 429 `rate_limited` in the error envelope, its request id in the header
    /// and the body.
    fn refusal(&self, ctx: &Ctx, refused: &Resp) -> CheckResult {
        ctx.error(refused, "rate_limited").map(drop)
    }

    /// The device app at the token endpoint: another client from the same address.
    fn other_client_request(&self, ctx: &Ctx, _limit: &RateLimit) -> Result<Req, Problem> {
        let tv = &roles(ctx)?.tv;
        Ok(Req::post(ctx.path("token")).form(with_auth(
            tv,
            &[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    made_up("conformance-unknown-refresh").as_str(),
                ),
            ],
        )))
    }
}
