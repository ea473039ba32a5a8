//! Scopes are sent (issue 18 item 2): every approval the suite drives asks for the scopes
//! the credentials allow the app (RFC 6749 §3.3), in every family; only the checks of
//! what a server does without `scope` leave it out.

use std::sync::Arc;
use std::time::Duration;

use conformance::check::{Ctx, Env};
use conformance::client::{HttpOptions, ReqBody};
use conformance::drivers::Driver;
use conformance::kit::flows;
use conformance::transcript::Entry;

/// The authorize URLs the run's driver was asked to decide (test controls: the `url` of
/// each `POST /__test/authorize/decide`).
fn decided_urls(ctx: &Ctx) -> Vec<url::Url> {
    ctx.transcript
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Exchange(ex) if ex.req.path == "/__test/authorize/decide" => {
                match &ex.req.body {
                    ReqBody::Json(v) => v["url"].as_str().and_then(|u| url::Url::parse(u).ok()),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}

fn scope_of(url: &url::Url) -> Option<String> {
    flows::query(url, "scope")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_ask_for_the_apps_scopes_in_every_family_with_flows() {
    for family in ["punchplay", "flexslot"] {
        let b = profile::builtin::find(family).expect("built in");
        let profile = b.profile();
        let server = reference_server::spawn(reference_server::ServerConfig {
            profile: profile.clone(),
            identities: b.identities(),
            test_controls: true,
            ..reference_server::ServerConfig::punchplay()
        })
        .await
        .expect("the reference server starts");
        let http = HttpOptions {
            base: url::Url::parse(&server.base_url()).expect("a URL"),
            timeout: Duration::from_secs(10),
            request_id_header: profile
                .request_id()
                .map(|f| f.header.clone())
                .unwrap_or_default(),
        };
        let env = Arc::new(
            Env::new(
                profile.clone(),
                b.identities(),
                http,
                true,
                Driver::TestControls,
                false,
            )
            .expect("the fixtures fill every role"),
        );
        let app = b
            .identities()
            .apps
            .into_iter()
            .find(|a| a.active && !a.redirect_uris.is_empty() && a.secret.is_some())
            .expect("a confidential app with a redirect URI");
        let mut ctx = Ctx::new(env, "scopes-are-sent").expect("a context");
        let tokens = flows::code_tokens(&mut ctx, &app, None).await;
        let pkce = flows::pkce(&mut ctx);
        let without = flows::authorize_code_without_scope(&mut ctx, &app, &pkce).await;
        server.stop().await;
        tokens.unwrap_or_else(|p| panic!("{family}: the code flow: {p:?}"));
        without.unwrap_or_else(|p| panic!("{family}: the request without scope: {p:?}"));
        let urls = decided_urls(&ctx);
        assert_eq!(urls.len(), 2, "{family}: two approvals were driven");
        assert_eq!(
            scope_of(&urls[0]).as_deref(),
            Some(app.allowed_scopes.join(" ").as_str()),
            "{family}: the approval asks for the app's scopes: {}",
            urls[0]
        );
        assert_eq!(
            scope_of(&urls[1]),
            None,
            "{family}: the request without scope has none: {}",
            urls[1]
        );
    }
}
