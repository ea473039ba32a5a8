//! One test per check id, each against its own in-process reference server with test
//! controls, gated by the committed spec snapshot of that check (insta). The list below
//! must name every check of the suite; `the_list_names_every_check` keeps it honest.

use std::sync::Arc;
use std::time::Duration;

use conformance::expected::Expected;
use conformance::runner::{self, RunOptions, Status};
use conformance::snapshot::{SnapshotMode, SnapshotStore};
use profile::Profile;

async fn run_check(id: &str) {
    let server = reference_server::spawn(reference_server::ServerConfig {
        test_controls: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts");
    let env = Arc::new(
        conformance::cli::reference_env(&server.base_url()).expect("the fixtures fill every role"),
    );
    let check = conformance::checks::find(&Profile::punchplay(), id).expect("a check of the suite");
    let opts = Arc::new(RunOptions {
        concurrency: 1,
        check_timeout: Duration::from_secs(30),
        snapshots: SnapshotStore {
            dir: conformance::cli::default_snapshot_dir("punchplay"),
            mode: SnapshotMode::Off,
        },
        expected: Expected::default(),
    });
    let budget = check.budget.clone();
    let exhausting = check.exhausts.is_some();
    let report = runner::run_one(env, check, opts).await;
    server.stop().await;
    assert_eq!(
        report.status,
        Status::Pass,
        "{id} against the reference server: {}\n{:#?}",
        report.message.unwrap_or_default(),
        report.support
    );
    // The declared budget is what the runner plans with against a deployment: it must
    // cover what the check really sends.
    if !exhausting {
        for (limit, used) in &report.usage {
            let declared = budget
                .iter()
                .find(|(n, _)| n == limit)
                .map_or(0, |(_, n)| *n);
            assert!(
                *used <= declared,
                "{id} sent {used} requests counted by `{limit}` but declares {declared}"
            );
        }
    }
    insta::with_settings!({
        snapshot_path => "../../fixtures/snapshots/punchplay",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(id, report.transcript);
    });
}

macro_rules! checks {
    ($($name:ident => $id:literal,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                run_check($id).await;
            }
        )*

        #[test]
        fn the_list_names_every_check() {
            let listed: Vec<&str> = vec![$($id),*];
            let suite: Vec<&str> = conformance::checks::all(&Profile::punchplay()).iter().map(|c| c.id).collect();
            assert_eq!(listed, suite, "tests/checks.rs must list every check, in suite order");
        }
    };
}

checks! {
    pp_app_1_registered_app_has_id_name_scopes_redirects_kind => "PP-APP-1/registered-app-has-id-name-scopes-redirects-kind",
    pp_app_2_confidential_client_authenticates_everywhere => "PP-APP-2/confidential-client-authenticates-everywhere",
    pp_app_3_wrong_or_missing_secret_is_invalid_client => "PP-APP-3/wrong-or-missing-secret-is-invalid-client",
    pp_app_3_public_client_sending_secret_is_invalid_client => "PP-APP-3/public-client-sending-secret-is-invalid-client",
    pp_app_4_inactive_app_is_unauthorized_client => "PP-APP-4/inactive-app-is-unauthorized-client",
    pp_app_4_unknown_client_is_invalid_client => "PP-APP-4/unknown-client-is-invalid-client",
    pp_app_5_deactivation_revokes_every_token => "PP-APP-5/deactivation-revokes-every-token",
    pp_app_6_secrets_are_never_echoed => "PP-APP-6/secrets-are-never-echoed",
    pp_app_7_register_confidential_and_public_apps => "PP-APP-7/register-confidential-and-public-apps",
    pp_app_7_developer_page_lists_and_creates_apps => "PP-APP-7/developer-page-lists-and-creates-apps",
    pp_app_7_redirect_uris_must_be_https_or_loopback => "PP-APP-7/redirect-uris-must-be-https-or-loopback",
    pp_app_8_rotated_secret_replaces_the_old_one_at_once => "PP-APP-8/rotated-secret-replaces-the-old-one-at-once",
    pp_app_8_owner_deactivates_app => "PP-APP-8/owner-deactivates-app",
    pp_scope_1_every_documented_scope_is_grantable => "PP-SCOPE-1/every-documented-scope-is-grantable",
    pp_scope_2_omitted_scope_grants_allowed_scopes => "PP-SCOPE-2/omitted-scope-grants-allowed-scopes",
    pp_scope_3_authorize_outside_allowed_scopes_redirects_invalid_scope => "PP-SCOPE-3/authorize-outside-allowed-scopes-redirects-invalid-scope",
    pp_scope_3_device_code_with_unknown_scope_is_invalid_scope => "PP-SCOPE-3/device-code-with-unknown-scope-is-invalid-scope",
    pp_scope_4_token_and_device_responses_carry_the_granted_scope => "PP-SCOPE-4/token-and-device-responses-carry-the-granted-scope",
    pp_authz_1_code_flow_with_s256_completes => "PP-AUTHZ-1/code-flow-with-s256-completes",
    pp_authz_2_approval_page_shows_app_and_scopes => "PP-AUTHZ-2/approval-page-shows-app-and-scopes",
    pp_authz_2_sign_in_first_then_decide_by_form_post => "PP-AUTHZ-2/sign-in-first-then-decide-by-form-post",
    pp_authz_3_approval_redirects_with_code_state_and_scope => "PP-AUTHZ-3/approval-redirects-with-code-state-and-scope",
    pp_authz_4_denial_redirects_access_denied => "PP-AUTHZ-4/denial-redirects-access-denied",
    pp_authz_4_unsupported_response_type_redirects => "PP-AUTHZ-4/unsupported-response-type-redirects",
    pp_authz_4_missing_response_type_redirects_invalid_request => "PP-AUTHZ-4/missing-response-type-redirects-invalid-request",
    pp_authz_4_inactive_app_redirects_unauthorized_client => "PP-AUTHZ-4/inactive-app-redirects-unauthorized-client",
    pp_authz_5_unknown_client_gets_an_error_page => "PP-AUTHZ-5/unknown-client-gets-an-error-page",
    pp_authz_5_unregistered_redirect_uri_gets_an_error_page => "PP-AUTHZ-5/unregistered-redirect-uri-gets-an-error-page",
    pp_authz_6_plain_or_missing_challenge_is_invalid_request => "PP-AUTHZ-6/plain-or-missing-challenge-is-invalid-request",
    pp_authz_6_verifier_outside_43_128_unreserved_is_refused => "PP-AUTHZ-6/verifier-outside-43-128-unreserved-is-refused",
    pp_authz_7_code_is_bound_to_the_challenge => "PP-AUTHZ-7/code-is-bound-to-the-challenge",
    pp_authz_7_code_is_bound_to_client_and_redirect_uri => "PP-AUTHZ-7/code-is-bound-to-client-and-redirect-uri",
    pp_authz_7_code_expires_after_its_lifetime => "PP-AUTHZ-7/code-expires-after-its-lifetime",
    pp_authz_8_second_redemption_fails_and_revokes_tokens => "PP-AUTHZ-8/second-redemption-fails-and-revokes-tokens",
    pp_token_1_code_redemption_answers_a_bearer_token_pair => "PP-TOKEN-1/code-redemption-answers-a-bearer-token-pair",
    pp_token_2_unknown_code_and_refresh_token_are_invalid_grant => "PP-TOKEN-2/unknown-code-and-refresh-token-are-invalid-grant",
    pp_token_3_other_grant_types_are_unsupported => "PP-TOKEN-3/other-grant-types-are-unsupported",
    pp_token_3_missing_fields_are_invalid_request => "PP-TOKEN-3/missing-fields-are-invalid-request",
    pp_token_4_json_bodies_are_accepted => "PP-TOKEN-4/json-bodies-are-accepted",
    pp_token_4_other_content_types_are_invalid_request => "PP-TOKEN-4/other-content-types-are-invalid-request",
    pp_token_4_token_responses_carry_no_store => "PP-TOKEN-4/token-responses-carry-no-store",
    pp_token_4_access_tokens_live_the_documented_lifetime => "PP-TOKEN-4/access-tokens-live-the-documented-lifetime",
    pp_token_5_wrong_basic_credentials_are_invalid_client_with_a_basic_challenge => "PP-TOKEN-5/wrong-basic-credentials-are-invalid-client-with-a-basic-challenge",
    pp_token_5_http_basic_client_authentication => "PP-TOKEN-5/http-basic-client-authentication",
    pp_token_5_basic_and_body_credentials_together_are_invalid_request => "PP-TOKEN-5/basic-and-body-credentials-together-are-invalid-request",
    pp_device_1_device_code_response_has_every_field => "PP-DEVICE-1/device-code-response-has-every-field",
    pp_device_1_interval_lifetime_and_user_code_shape => "PP-DEVICE-1/interval-lifetime-and-user-code-shape",
    pp_device_2_qr_code_decodes_to_verification_uri_complete => "PP-DEVICE-2/qr-code-decodes-to-verification-uri-complete",
    pp_device_3_polling_pending_then_tokens_once_then_expired => "PP-DEVICE-3/polling-pending-then-tokens-once-then-expired",
    pp_device_3_unknown_device_code_is_expired => "PP-DEVICE-3/unknown-device-code-is-expired",
    pp_device_3_timed_out_device_code_is_expired => "PP-DEVICE-3/timed-out-device-code-is-expired",
    pp_device_4_denied_device_code_is_access_denied => "PP-DEVICE-4/denied-device-code-is-access-denied",
    pp_device_5_activate_page_shows_app_and_scopes => "PP-DEVICE-5/activate-page-shows-app-and-scopes",
    pp_device_5_rfc8628_grant_type_is_accepted => "PP-DEVICE-5/rfc8628-grant-type-is-accepted",
    pp_refresh_1_browser_app_refreshes_at_the_token_endpoint => "PP-REFRESH-1/browser-app-refreshes-at-the-token-endpoint",
    pp_refresh_1_device_app_refreshes_at_auth_refresh => "PP-REFRESH-1/device-app-refreshes-at-auth-refresh",
    pp_refresh_2_spent_refresh_token_is_invalid_grant => "PP-REFRESH-2/spent-refresh-token-is-invalid-grant",
    pp_refresh_3_replay_revokes_the_grant => "PP-REFRESH-3/replay-revokes-the-grant",
    pp_refresh_4_concurrent_refreshes_exactly_one_wins => "PP-REFRESH-4/concurrent-refreshes-exactly-one-wins",
    pp_refresh_5_narrower_scope_allowed_wider_refused => "PP-REFRESH-5/narrower-scope-allowed-wider-refused",
    pp_refresh_5_refresh_token_idles_out => "PP-REFRESH-5/refresh-token-idles-out",
    pp_api_1_missing_malformed_or_unknown_bearer_is_invalid_token => "PP-API-1/missing-malformed-or-unknown-bearer-is-invalid-token",
    pp_api_1_expired_access_token_is_invalid_token => "PP-API-1/expired-access-token-is-invalid-token",
    pp_api_1_invalid_token_answers_carry_a_bearer_challenge => "PP-API-1/invalid-token-answers-carry-a-bearer-challenge",
    pp_api_2_token_without_the_scope_is_insufficient_scope => "PP-API-2/token-without-the-scope-is-insufficient-scope",
    pp_api_3_every_playback_action_applies => "PP-API-3/every-playback-action-applies",
    pp_api_3_unknown_action_is_not_found => "PP-API-3/unknown-action-is-not-found",
    pp_api_3_malformed_body_is_invalid_request_naming_the_field => "PP-API-3/malformed-body-is-invalid-request-naming-the-field",
    pp_api_4_older_event_is_accepted_and_changes_nothing => "PP-API-4/older-event-is-accepted-and-changes-nothing",
    pp_api_4_repeated_event_id_changes_nothing => "PP-API-4/repeated-event-id-changes-nothing",
    pp_api_5_start_of_another_item_ends_the_first => "PP-API-5/start-of-another-item-ends-the-first",
    pp_api_6_now_playing_has_state_media_position_updated_at => "PP-API-6/now-playing-has-state-media-position-updated-at",
    pp_api_7_me_answers_username_and_display_name => "PP-API-7/me-answers-username-and-display-name",
    pp_api_8_stream_delivers_every_action_in_order => "PP-API-8/stream-delivers-every-action-in-order",
    pp_api_8_last_event_id_resumes_the_stream => "PP-API-8/last-event-id-resumes-the-stream",
    pp_api_8_stream_ends_when_the_grant_is_revoked => "PP-API-8/stream-ends-when-the-grant-is-revoked",
    pp_api_8_query_string_token_is_refused => "PP-API-8/query-string-token-is-refused",
    pp_api_9_unknown_platform_route_is_not_found => "PP-API-9/unknown-platform-route-is-not-found",
    pp_public_1_user_profile_needs_no_token => "PP-PUBLIC-1/user-profile-needs-no-token",
    pp_public_1_unknown_user_is_not_found => "PP-PUBLIC-1/unknown-user-is-not-found",
    pp_revoke_1_connected_apps_revoke_ends_every_token => "PP-REVOKE-1/connected-apps-revoke-ends-every-token",
    pp_err_1_error_bodies_carry_error_message_request_id => "PP-ERR-1/error-bodies-carry-error-message-request-id",
    pp_err_2_request_id_on_every_response_unique_and_equal_to_the_body => "PP-ERR-2/request-id-on-every-response-unique-and-equal-to-the-body",
    pp_err_3_statuses_follow_the_documented_table => "PP-ERR-3/statuses-follow-the-documented-table",
    pp_err_3_temporary_failure_is_500_server_error => "PP-ERR-3/temporary-failure-is-500-server-error",
    pp_err_4_error_codes_come_from_the_documented_table => "PP-ERR-4/error-codes-come-from-the-documented-table",
    pp_err_4_temporarily_unavailable_answers_server_error => "PP-ERR-4/temporarily-unavailable-answers-server-error",
    pp_rate_1_device_code_admits_the_documented_number => "PP-RATE-1/device-code-admits-the-documented-number",
    pp_rate_2_device_code_refusal_is_rate_limited_with_request_id => "PP-RATE-2/device-code-refusal-is-rate-limited-with-request-id",
    pp_rate_2_device_code_refusal_has_retry_after => "PP-RATE-2/device-code-refusal-has-retry-after",
    pp_rate_3_device_code_reopens_at_retry_after => "PP-RATE-3/device-code-reopens-at-retry-after",
    pp_rate_1_device_token_admits_the_documented_number => "PP-RATE-1/device-token-admits-the-documented-number",
    pp_rate_2_device_token_refusal_is_rate_limited_with_request_id => "PP-RATE-2/device-token-refusal-is-rate-limited-with-request-id",
    pp_rate_2_device_token_refusal_has_retry_after => "PP-RATE-2/device-token-refusal-has-retry-after",
    pp_rate_3_device_token_reopens_at_retry_after => "PP-RATE-3/device-token-reopens-at-retry-after",
    pp_rate_1_refresh_admits_the_documented_number => "PP-RATE-1/refresh-admits-the-documented-number",
    pp_rate_2_refresh_refusal_is_rate_limited_with_request_id => "PP-RATE-2/refresh-refusal-is-rate-limited-with-request-id",
    pp_rate_2_refresh_refusal_has_retry_after => "PP-RATE-2/refresh-refusal-has-retry-after",
    pp_rate_3_refresh_reopens_at_retry_after => "PP-RATE-3/refresh-reopens-at-retry-after",
    pp_rate_1_token_admits_the_documented_number => "PP-RATE-1/token-admits-the-documented-number",
    pp_rate_2_token_refusal_is_rate_limited_with_request_id => "PP-RATE-2/token-refusal-is-rate-limited-with-request-id",
    pp_rate_2_token_refusal_has_retry_after => "PP-RATE-2/token-refusal-has-retry-after",
    pp_rate_3_token_reopens_at_retry_after => "PP-RATE-3/token-reopens-at-retry-after",
    pp_rate_1_playback_admits_the_documented_number => "PP-RATE-1/playback-admits-the-documented-number",
    pp_rate_2_playback_refusal_is_rate_limited_with_request_id => "PP-RATE-2/playback-refusal-is-rate-limited-with-request-id",
    pp_rate_2_playback_refusal_has_retry_after => "PP-RATE-2/playback-refusal-has-retry-after",
    pp_rate_3_playback_reopens_at_retry_after => "PP-RATE-3/playback-reopens-at-retry-after",
    pp_rate_1_public_user_admits_the_documented_number => "PP-RATE-1/public-user-admits-the-documented-number",
    pp_rate_2_public_user_refusal_is_rate_limited_with_request_id => "PP-RATE-2/public-user-refusal-is-rate-limited-with-request-id",
    pp_rate_2_public_user_refusal_has_retry_after => "PP-RATE-2/public-user-refusal-has-retry-after",
    pp_rate_3_public_user_reopens_at_retry_after => "PP-RATE-3/public-user-reopens-at-retry-after",
    pp_rate_4_ip_limits_count_per_source_address => "PP-RATE-4/ip-limits-count-per-source-address",
    pp_rate_4_spoofed_x_forwarded_for_does_not_escape_an_ip_limit => "PP-RATE-4/spoofed-x-forwarded-for-does-not-escape-an-ip-limit",
    pp_rate_4_token_limit_counts_per_client => "PP-RATE-4/token-limit-counts-per-client",
    pp_rate_4_unauthenticated_requests_do_not_count_against_the_user => "PP-RATE-4/unauthenticated-requests-do-not-count-against-the-user",
}
