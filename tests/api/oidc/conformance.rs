//! The OpenID Foundation's conformance test plans for an OpenID Provider, walked item by item
//! against a real Gatehouse on loopback.
//!
//! Source: the module lists and checks of the public conformance suite (the OpenID Foundation's
//! `openid/conformance-suite`, read from its GitHub mirror `openid-certification/conformance-suite`
//! at commit 12f2a4da of August 2026: classes `OIDCCBasicTestPlan`,
//! `OIDCCRpInitiatedLogoutTestPlan`, `OIDCCBackchannelRpInitiatedLogoutTestPlan` and the modules
//! and conditions they run; condition names are quoted where a check mirrors one). Each test below does what the named module does to the
//! provider and asserts what its conditions assert (statuses, parameters, claims, the `iss`
//! response parameter, the `state` echo, errors), with the plans' variants: discovery,
//! a statically registered client, `response_type=code`, default response mode,
//! `client_secret_basic` (and `client_secret_post` where the plan switches to it).
//! Where a module's condition only *warns* and PROTOCOLS decides otherwise, PROTOCOLS wins
//! and the note says so. Every module of the plans is either a test here (or in `flows`), or
//! a reason it does not apply.
//!
//! # `oidcc-basic-certification-test-plan` (Basic OP)
//!
//! | module | covered by | note |
//! |---|---|---|
//! | `oidcc-server` | [`the_code_flow_passes_the_checks_of_oidcc_server`] | discovery, JWKS, registered query kept, `iss`, `state`, code length and entropy, token response, ID token, userinfo |
//! | `oidcc-response-type-missing` | [`authorization_errors_go_back_as_the_suite_validates_them`] | `invalid_request` by redirect |
//! | `oidcc-idtoken-signature` | [`the_code_flow_passes_the_checks_of_oidcc_server`] | `kid` present, RS256 when the client asked for no alg |
//! | `oidcc-idtoken-unsigned` | not applicable: `none` is not an ID token alg (PROTOCOLS §2, §3.1: `RS256`, `EdDSA`); the module skips itself on discovery; [`the_suites_skip_conditions_hold`] asserts that and that `none` cannot be registered | |
//! | `oidcc-userinfo-get` | [`the_code_flow_passes_the_checks_of_oidcc_server`] | |
//! | `oidcc-userinfo-post-header` | [`the_code_flow_passes_the_checks_of_oidcc_server`] | |
//! | `oidcc-userinfo-post-body` | [`the_code_flow_passes_the_checks_of_oidcc_server`] | PROTOCOLS §3.5 offers the body form |
//! | `oidcc-ensure-request-without-nonce-succeeds-for-code-flow` | [`optional_and_unknown_parameters_do_not_fail_the_request`] | |
//! | `oidcc-scope-profile` | [`each_offered_scope_gives_its_claims_at_userinfo`] | the suite warns when `given_name`, `family_name`, … are missing: Gatehouse has only `name`, `preferred_username`, `picture`, `updated_at` (PROTOCOLS §3.4) |
//! | `oidcc-scope-email` | [`each_offered_scope_gives_its_claims_at_userinfo`] | the suite warns when `email` is also in the ID token; PROTOCOLS §3.4 puts the granted scopes' claims there, so that is asserted instead |
//! | `oidcc-scope-address` | not applicable: `address` is not offered (PROTOCOLS §3.1 scopes `openid profile email phone`); the module skips itself when `scopes_supported` lacks it; [`the_suites_skip_conditions_hold`] asserts that, [`each_offered_scope_gives_its_claims_at_userinfo`] that `address` asked for is ignored | |
//! | `oidcc-scope-phone` | [`each_offered_scope_gives_its_claims_at_userinfo`] | |
//! | `oidcc-scope-all` | [`each_offered_scope_gives_its_claims_at_userinfo`] | with `address` in the request as the module sends it; the module itself would skip (no `address`), so this runs what it would run with the offered scopes |
//! | `oidcc-alternate-happy-flow` | [`each_offered_scope_gives_its_claims_at_userinfo`] | scope order reversed, parameters in reverse order |
//! | `oidcc-display-page` | [`optional_and_unknown_parameters_do_not_fail_the_request`] | the normal sign-in page (PROTOCOLS §3.3: `display` ignored) |
//! | `oidcc-display-popup` | [`optional_and_unknown_parameters_do_not_fail_the_request`] | likewise |
//! | `oidcc-prompt-login` | [`a_live_session_is_reused_or_asked_again_as_requested`] | sign-in page despite the session, later `auth_time` |
//! | `oidcc-prompt-none-not-logged-in` | `flows::prompt_none_without_a_session_is_login_required`; [`authorization_errors_go_back_as_the_suite_validates_them`] adds the module's 128-character `state` and the error response's parameter checks | |
//! | `oidcc-prompt-none-logged-in` | [`a_live_session_is_reused_or_asked_again_as_requested`] | |
//! | `oidcc-max-age-1` | [`a_live_session_is_reused_or_asked_again_as_requested`] | waits 2 s as the module does |
//! | `oidcc-max-age-10000` | [`a_live_session_is_reused_or_asked_again_as_requested`] | |
//! | `oidcc-ensure-request-with-unknown-parameter-succeeds` | [`optional_and_unknown_parameters_do_not_fail_the_request`] | |
//! | `oidcc-id-token-hint` | [`a_live_session_is_reused_or_asked_again_as_requested`] | |
//! | `oidcc-login-hint` | [`login_hint_and_ui_locales_shape_the_sign_in_page`] | pre-fills the number (PROTOCOLS §3.3) |
//! | `oidcc-ui-locales` | [`login_hint_and_ui_locales_shape_the_sign_in_page`] | `se` is no error; `en` picks English |
//! | `oidcc-claims-locales` | [`optional_and_unknown_parameters_do_not_fail_the_request`] | |
//! | `oidcc-ensure-request-with-acr-values-succeeds` | [`optional_and_unknown_parameters_do_not_fail_the_request`] | the suite warns without `acr`; PROTOCOLS §3.4: no `acr` |
//! | `oidcc-codereuse` | `flows::a_replayed_code_is_refused_and_revokes_what_it_issued`; [`a_reused_code_is_refused_as_the_suite_expects`] adds the JSON answer and its `error_description` | |
//! | `oidcc-codereuse-30seconds` | `flows::a_replayed_code_is_refused_and_revokes_what_it_issued`; [`a_reused_code_is_refused_as_the_suite_expects`] adds the revoked access token refused at userinfo | without the 30 s wait: Gatehouse has nothing timed below the code's 60 s life and the 10 min replay mark (PROTOCOLS §3.3), and the module must stay fast |
//! | `oidcc-ensure-registered-redirect-uri` | `flows::a_redirect_uri_not_byte_equal_gets_the_error_page`; [`requests_without_a_usable_redirect_uri_get_the_error_page`] adds the module's own shape (a random path under the registered one) | |
//! | `oidcc-ensure-post-request-succeeds` | [`a_posted_authorization_request_completes`] | 303 to the GET form (PROTOCOLS §1) |
//! | `oidcc-server-client-secret-post` | [`client_secret_post_completes_the_code_flow`] | |
//! | `oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported` | [`authorization_errors_go_back_as_the_suite_validates_them`] | rejected: `request_uri_not_supported` (PROTOCOLS §3.3, §3.6) |
//! | `oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported` | [`authorization_errors_go_back_as_the_suite_validates_them`] | rejected: `request_not_supported` |
//! | `oidcc-claims-essential` | [`optional_and_unknown_parameters_do_not_fail_the_request`] | `claims` ignored (PROTOCOLS §3.3, `claims_parameter_supported: false`); the suite only warns when `name` is not returned |
//! | `oidcc-ensure-request-object-with-redirect-uri` | [`requests_without_a_usable_redirect_uri_get_the_error_page`] | request objects are not read, so the bad outer `redirect_uri` gets the error page, never a redirect |
//! | `oidcc-refresh-token` | [`refresh_tokens_work_and_stay_bound_to_their_client`]; rotation and reuse: `flows::refresh_rotates_and_reuse_revokes_the_clients_tokens` | |
//! | `oidcc-ensure-request-with-valid-pkce-succeeds` | [`optional_and_unknown_parameters_do_not_fail_the_request`]; public clients and refusals: `flows::pkce_plain_and_a_missing_challenge_for_public_clients_are_refused` | |
//!
//! Also asked for, from the Dynamic OP plan: `oidcc-ensure-redirect-uri-in-authorization-request`
//! (a client with two redirect URIs sends none): [`requests_without_a_usable_redirect_uri_get_the_error_page`].
//!
//! Variants the plan offers that do not apply: dynamic client registration (PROTOCOLS §3.6: not
//! offered; clients are registered by operators, §2), `response_mode=form_post` (§3.3: `query`
//! only), implicit and hybrid response types (§3.6), and client authentication by
//! `client_secret_jwt`, `private_key_jwt` or mTLS (§3.4: Basic, body secret or public only).
//!
//! # `oidcc-rp-initiated-logout-certification-test-plan` (RP-Initiated Logout OP)
//!
//! | module | covered by |
//! |---|---|
//! | `oidcc-rp-initiated-logout-discovery-endpoint-verification` | [`discovery_over_https_names_what_the_logout_plans_need`] |
//! | `oidcc-rp-initiated-logout` | [`rp_initiated_logout_completes_as_each_module_expects`]; also `flows::rp_initiated_logout_ends_the_session_and_every_partner_is_told` |
//! | `oidcc-rp-initiated-logout-bad-post-logout-redirect-uri` | [`rp_initiated_logout_refuses_as_each_module_expects`] |
//! | `oidcc-rp-initiated-logout-modified-id-token-hint` | [`rp_initiated_logout_refuses_as_each_module_expects`] |
//! | `oidcc-rp-initiated-logout-no-id-token-hint` | [`rp_initiated_logout_refuses_as_each_module_expects`] |
//! | `oidcc-rp-initiated-logout-no-params` | [`rp_initiated_logout_completes_as_each_module_expects`] (the page asks first, PROTOCOLS §3.5) |
//! | `oidcc-rp-initiated-logout-no-post-logout-redirect-uri` | [`rp_initiated_logout_completes_as_each_module_expects`] |
//! | `oidcc-rp-initiated-logout-no-state` | [`rp_initiated_logout_completes_as_each_module_expects`] |
//! | `oidcc-rp-initiated-logout-only-state` | [`rp_initiated_logout_completes_as_each_module_expects`] (the page asks first) |
//! | `oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri` | [`rp_initiated_logout_refuses_as_each_module_expects`] |
//! | `oidcc-rp-initiated-logout-bad-id-token-hint` | [`rp_initiated_logout_refuses_as_each_module_expects`] |
//!
//! # `oidcc-backchannel-rp-initiated-logout-certification-test-plan` (Back-Channel Logout OP)
//!
//! | module | covered by |
//! |---|---|
//! | `oidcc-backchannel-logout-discovery-endpoint-verification` | [`discovery_over_https_names_what_the_logout_plans_need`] |
//! | `oidcc-backchannel-rp-initiated-logout` | [`back_channel_logout_is_sent_as_the_module_checks`]; also `flows::rp_initiated_logout_ends_the_session_and_every_partner_is_told` |
//!
//! Not part of these plans, covered in `flows`: introspection and revocation
//! (`flows::introspection_and_revocation_answer_only_the_callers_tokens`). Front-channel logout
//! and session management plans do not apply (PROTOCOLS §3.6: no front-channel logout;
//! `frontchannel_logout_supported: false`).
//!
//! Totals: 38 Basic OP modules (36 tested, 2 not applicable), 11 RP-initiated logout modules
//! (all tested), 2 back-channel logout modules (both tested), and the Dynamic plan's
//! `oidcc-ensure-redirect-uri-in-authorization-request` tested.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

use super::flows::verify_with_jwks;
use super::*;

// ---------------------------------------------------------------------------------------------
// What the suite's conditions check, once.

/// The query of `location`, each parameter once (a repeat fails the test).
fn query_map(location: &str) -> BTreeMap<String, String> {
    let url = url::Url::parse(location).unwrap_or_else(|e| panic!("{e}: {location}"));
    let mut out = BTreeMap::new();
    for (k, v) in url.query_pairs() {
        assert!(
            out.insert(k.to_string(), v.to_string()).is_none(),
            "`{k}` twice in {location}"
        );
    }
    out
}

/// `location` goes to the registered URI `registered`, whose own query parameters it keeps
/// (`CheckMatchingCallbackParameters`: the suite registers `?dummy1=lorem&dummy2=ipsum`).
fn assert_back_to(registered: &str, location: &str) {
    let base = |u: &str| u.split(['?', '#']).next().unwrap().to_owned();
    assert_eq!(base(location), base(registered), "{location}");
    assert!(!location.contains('#'), "no fragment: {location}");
    let got = query_map(location);
    if registered.contains('?') {
        for (k, v) in query_map(registered) {
            assert_eq!(got.get(&k), Some(&v), "registered `{k}` kept: {location}");
        }
    }
}

/// The RFC 6749 §5.2 / §4.1.2.1 character set of `error_description`
/// (`ValidateErrorDescriptionFrom…ResponseError`).
fn assert_description_charset(description: &str) {
    assert!(
        description.bytes().all(|b| matches!(b,
            0x09 | 0x0a | 0x0d | 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e)),
        "error_description outside RFC 6749's set: {description:?}"
    );
}

/// Shannon entropy of `s` in bits (characters' frequencies × length), as the suite's
/// `EnsureMinimum…Entropy` estimates it.
fn shannon_bits(s: &str) -> f64 {
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let n = s.chars().count() as f64;
    let per_char: f64 = counts
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum();
    per_char * n
}

/// RFC 6749 Appendix A VSCHAR (`Ensure…ContainsAllowedCharactersOnly`).
fn assert_vschar(what: &str, s: &str) {
    assert!(
        !s.is_empty() && s.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        "{what} has characters outside %x20-7E: {s:?}"
    );
}

/// A successful authorization response (`CheckMatchingCallbackParameters`,
/// `ValidateIssIfPresentInAuthorizationResponse`, `CheckStateInAuthorizationResponse`,
/// `EnsureMinimumAuthorizationCodeLength`/`Entropy`): its code.
fn code_from(app: &TestApp, rp: &Rp, location: &str, state: Option<&str>) -> String {
    assert_back_to(&rp.redirect, location);
    let q = query_map(location);
    assert!(!q.contains_key("error"), "{location}");
    assert_eq!(q.get("iss"), Some(&app.address), "iss: {location}");
    assert_eq!(
        q.get("state").map(String::as_str),
        state,
        "state: {location}"
    );
    let code = q
        .get("code")
        .unwrap_or_else(|| panic!("no code: {location}"));
    assert!(code.len() * 8 >= 128, "code shorter than 128 bits: {code}");
    assert!(shannon_bits(code) > 96.0, "code entropy: {code}");
    code.clone()
}

/// An error authorization response as `performGenericAuthorizationEndpointErrorResponseValidation`
/// checks it: back to the client, `state` as sent, our `iss`, no code, only the parameters an
/// error response has, a well-formed description; the error, which must be one of `allowed`.
fn error_from(
    app: &TestApp,
    rp: &Rp,
    location: &str,
    state: Option<&str>,
    allowed: &[&str],
) -> String {
    assert_back_to(&rp.redirect, location);
    let q = query_map(location);
    let registered: Vec<String> = match rp.redirect.contains('?') {
        true => query_map(&rp.redirect).into_keys().collect(),
        false => Vec::new(),
    };
    for k in q.keys() {
        assert!(
            [
                "error",
                "error_description",
                "error_uri",
                "state",
                "session_state",
                "iss"
            ]
            .contains(&k.as_str())
                || registered.contains(k),
            "unexpected `{k}` in an error response: {location}"
        );
    }
    assert_eq!(q.get("iss"), Some(&app.address), "iss: {location}");
    assert_eq!(
        q.get("state").map(String::as_str),
        state,
        "state: {location}"
    );
    if let Some(d) = q.get("error_description") {
        assert_description_charset(d);
    }
    if let Some(u) = q.get("error_uri") {
        url::Url::parse(u).expect("error_uri is a URL");
    }
    let error = q
        .get("error")
        .unwrap_or_else(|| panic!("no error: {location}"));
    assert!(
        allowed.contains(&error.as_str()),
        "{error} not in {allowed:?}"
    );
    error.clone()
}

/// A 128-character state using every unreserved URL character (the suite's
/// `requested_state_length` = 128, which ends in `-._~`).
fn long_state() -> String {
    let mut s: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .repeat(4)
        .chars()
        .take(124)
        .collect();
    s.push_str("-._~");
    s
}

/// The identity claims of an ID token or userinfo answer have the types OpenID Connect Core
/// §5.1 gives them (`ValidateIdTokenStandardClaims`, `ValidateUserInfoStandardClaims`,
/// `Ensure…UpdatedAtValid`).
fn assert_standard_claims(claims: &Value) {
    const STRINGS: [&str; 18] = [
        "sub",
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "email",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "phone_number",
        "txn",
        "address",
    ];
    let obj = claims.as_object().expect("claims are an object");
    for (k, v) in obj {
        match k.as_str() {
            "address" => assert!(v.is_object(), "address: {v}"),
            "email_verified" | "phone_number_verified" => assert!(v.is_boolean(), "{k}: {v}"),
            "updated_at" => {
                let at = v.as_i64().unwrap_or_else(|| panic!("updated_at: {v}"));
                let now = chrono::Utc::now().timestamp();
                assert!((631_152_000..=now + 300).contains(&at), "updated_at {at}");
            }
            name if STRINGS.contains(&name) => {
                let s = v
                    .as_str()
                    .unwrap_or_else(|| panic!("{k} is no string: {v}"));
                assert!(
                    !s.trim().is_empty() && !s.eq_ignore_ascii_case("null"),
                    "{k}: {s:?}"
                );
            }
            _ => {}
        }
    }
    let sub = obj["sub"].as_str().expect("sub");
    assert!(
        !sub.is_empty() && sub.len() <= 255 && sub.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "sub: {sub:?}"
    );
}

/// An ID token checked as `PerformStandardIdTokenChecks` does (signature by a published key
/// named by `kid`, `iss`, `aud`, `exp`, `iat`, `auth_time`, `acr`, `sub`, `nonce`, standard
/// claims) plus `at_hash` when there is one (`ValidateAtHash`); its claims.
async fn checked_id_token(
    app: &TestApp,
    client_id: &str,
    id_token: &str,
    nonce: Option<&str>,
    access_token: &str,
) -> Value {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert!(header.kid.is_some(), "EnsureIdTokenContainsKid");
    let claims = verify_with_jwks(app, id_token, client_id).await;
    let now = chrono::Utc::now().timestamp();
    assert_eq!(claims["iss"], app.address);
    assert_eq!(claims["aud"], client_id, "aud is the client, one string");
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(exp > now - 300 && exp < now + 50 * 365 * 86400, "exp {exp}");
    let iat = claims["iat"].as_i64().expect("iat");
    assert!((now - 300..=now + 300).contains(&iat), "iat {iat}");
    if let Some(auth_time) = claims.get("auth_time") {
        let t = auth_time.as_i64().expect("auth_time is a number");
        assert!(t <= now + 300 && t > now - 365 * 86400, "auth_time {t}");
    }
    if let Some(acr) = claims.get("acr") {
        assert!(acr.as_str().is_some_and(|a| !a.is_empty()), "acr: {acr}");
    }
    assert_eq!(claims.get("nonce").and_then(Value::as_str), nonce, "nonce");
    let identity: serde_json::Map<String, Value> = claims
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| {
            ![
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "azp",
                "c_hash",
                "at_hash",
                "s_hash",
                "jti",
                "nbf",
            ]
            .contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_standard_claims(&Value::Object(identity));
    if let Some(at_hash) = claims.get("at_hash") {
        let digest: Vec<u8> = match header.alg {
            jsonwebtoken::Algorithm::RS256 => Sha256::digest(access_token.as_bytes()).to_vec(),
            jsonwebtoken::Algorithm::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
            other => panic!("unexpected ID token alg {other:?}"),
        };
        assert_eq!(
            at_hash.as_str(),
            Some(URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]).as_str()),
            "at_hash"
        );
    }
    claims
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Basic,
    Post,
}

/// A token endpoint request; the checks every successful answer gets
/// (`CheckTokenEndpointHttpStatus200`, `…ReturnedJsonContentType`, `…CacheHeaders`,
/// `CheckForAccessTokenValue`, `CheckTokenTypeIsBearer`, `ValidateExpiresIn`,
/// `EnsureMinimumAccessTokenEntropy`, `…AllowedCharactersOnly`).
async fn token_ok(app: &TestApp, rp: &Rp, auth: Auth, form: &[(&str, &str)]) -> Value {
    let res = token_call(app, rp, auth, form).await;
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    let body: Value = res.json().await.unwrap();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .split(',')
            .any(|p| p.trim() == "no-store"),
        "no-store"
    );
    let access = body["access_token"].as_str().expect("access_token");
    assert_vschar("access_token", access);
    assert!(shannon_bits(access) > 96.0);
    assert!(
        body["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
    );
    let expires_in = body["expires_in"].as_i64().expect("expires_in is a number");
    assert!(expires_in > 0 && expires_in <= 31_536_000, "{expires_in}");
    body
}

async fn token_call(
    app: &TestApp,
    rp: &Rp,
    auth: Auth,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let secret = rp.secret.as_deref().expect("a confidential client");
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut req = app.client.post(app.url("/oauth2/token"));
    match auth {
        // As the suite's `AddBasicAuthClientSecretToRequest` (RFC 6749 §2.3.1): each part
        // form-url-encoded before base64.
        Auth::Basic => {
            let (id, secret) = (urlencode(&rp.client_id), urlencode(secret));
            req = req.header("authorization", basic(&id, &secret));
        }
        Auth::Post => form.extend([
            ("client_id", rp.client_id.as_str()),
            ("client_secret", secret),
        ]),
    }
    req.form(&form).send().await.unwrap()
}

/// Exchanges `code` (with `verifier` if given), checking the answer and its ID token; (the
/// token answer, the ID token's claims).
async fn redeem(
    app: &TestApp,
    rp: &Rp,
    auth: Auth,
    code: &str,
    verifier: Option<&str>,
    nonce: Option<&str>,
) -> (Value, Value) {
    let tokens = token_ok(app, rp, auth, &code_form(rp, code, verifier)).await;
    let id = checked_id_token(
        app,
        &rp.client_id,
        tokens["id_token"].as_str().expect("id_token"),
        nonce,
        tokens["access_token"].as_str().unwrap(),
    )
    .await;
    (tokens, id)
}

/// How userinfo is called (`oidcc-userinfo-get`, `-post-header`, `-post-body`).
#[derive(Debug, Clone, Copy)]
enum Via {
    Get,
    PostHeader,
    PostBody,
}

/// A userinfo call as `AbstractOIDCCUserInfoTest` checks it (200, JSON, `sub`, standard
/// claims, `updated_at`); the claims.
async fn userinfo(app: &TestApp, access: &str, via: Via) -> Value {
    let url = app.url("/oauth2/userinfo");
    let req = match via {
        Via::Get => app.client.get(&url).bearer_auth(access),
        Via::PostHeader => app.client.post(&url).bearer_auth(access),
        Via::PostBody => app.client.post(&url).form(&[("access_token", access)]),
    };
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "{via:?}");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{via:?}"
    );
    let body: Value = res.json().await.unwrap();
    assert_standard_claims(&body);
    body
}

/// Drives a browser through `/oauth2/authorize?{query}`: the sign-in page when shown (its
/// body), and the final redirect to the client.
async fn drive(browser: &mut Browser<'_>, query: &str) -> (Option<String>, String) {
    let first = browser.get(&format!("/oauth2/authorize?{query}")).await;
    assert_eq!(first.status, 302, "{}", first.body);
    if !first.location.contains("/login?flow=") {
        return (None, first.location);
    }
    let page = browser.get(&local(&first.location)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let signed_in = submit_sign_in(browser, &page.body).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let back = browser.get(&local(&signed_in.location)).await;
    assert_eq!(back.status, 302, "{}", back.body);
    (Some(page.body), back.location)
}

/// An authorization query for `rp` with the suite's usual parameters and `extra`.
fn query(rp: &Rp, extra: &[(&str, &str)]) -> String {
    authorize_path(rp, extra)
        .strip_prefix("/oauth2/authorize?")
        .unwrap()
        .to_owned()
}

/// The suite's happy flow from a browser with no session: the sign-in page is shown, a code
/// comes back with `state` and `iss`, and the exchange (with `verifier` when given) passes;
/// (sign-in page, tokens, ID token claims). `extra` adds or replaces authorization parameters;
/// an empty value leaves the parameter out.
async fn happy_flow(
    app: &TestApp,
    rp: &Rp,
    extra: &[(&str, &str)],
    verifier: Option<&str>,
) -> (String, Value, Value) {
    let mut browser = Browser::new(app);
    let mut params: Vec<(&str, &str)> = vec![("state", "st4teV4lue"), ("nonce", "n0nceV4lue")];
    params.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    params.extend_from_slice(extra);
    params.retain(|(_, v)| !v.is_empty());
    let (page, location) = drive(&mut browser, &query(rp, &params)).await;
    let page = page.expect("no session: the sign-in page is shown");
    let state = params.iter().find(|(k, _)| *k == "state").map(|(_, v)| *v);
    let nonce = params.iter().find(|(k, _)| *k == "nonce").map(|(_, v)| *v);
    let code = code_from(app, rp, &location, state);
    let (tokens, id) = redeem(app, rp, Auth::Basic, &code, verifier, nonce).await;
    (page, tokens, id)
}

/// The suite's redirect URI shape: a registered query that must come back.
const SUITE_REDIRECT: &str = "https://rp.example/oidc/callback?dummy1=lorem&dummy2=ipsum";
const POST_LOGOUT: &str = "https://rp.example/post_logout_redirect";

// ---------------------------------------------------------------------------------------------
// oidcc-basic-certification-test-plan

#[tokio::test]
async fn the_code_flow_passes_the_checks_of_oidcc_server() {
    let (app, admin) = provider().await;
    // Discovery and keys, as every module's configuration checks them (`CheckServerConfiguration`,
    // `FetchServerKeys`, `ValidateJwksSequence`, `CheckForKeyIdInServerJWKs`,
    // `CheckDistinctKeyIdValueInServerJWKs`, `EnsureServerConfigurationSupportsClientSecretBasic`).
    let (status, d) = app.get("/.well-known/openid-configuration").await;
    assert_eq!(status, 200);
    assert_eq!(d["issuer"], app.address);
    for field in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ] {
        let url = d[field].as_str().unwrap_or_else(|| panic!("{field}"));
        assert!(url.starts_with(&app.address), "{field}: {url}");
    }
    assert!(
        d["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_secret_basic"))
    );
    let (status, jwks) = app.get(&local(d["jwks_uri"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    let keys = jwks["keys"].as_array().expect("a JWK Set");
    assert!(!keys.is_empty());
    let mut kids: Vec<&str> = keys
        .iter()
        .map(|k| k["kid"].as_str().expect("every key has a kid"))
        .collect();
    for key in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
            assert!(key.get(private).is_none(), "private `{private}` in {key}");
        }
        assert!(key["kty"].is_string() && key["use"] == "sig", "{key}");
    }
    serde_json::from_value::<jsonwebtoken::jwk::JwkSet>(jwks.clone()).expect("keys parse");
    kids.sort_unstable();
    kids.dedup();
    assert_eq!(kids.len(), keys.len(), "distinct kids");

    // A client registered without an ID token alg, with the suite's redirect URI.
    let rp = register(&app, &admin, json!({ "redirect_uris": [SUITE_REDIRECT] })).await;
    let mut browser = Browser::new(&app);
    let (page, location) = drive(
        &mut browser,
        &query(
            &rp,
            &[
                ("scope", "openid"),
                ("state", "k3yStat3Va"),
                ("nonce", "n0nc3Valu3"),
            ],
        ),
    )
    .await;
    assert!(page.is_some(), "no session: the sign-in page");
    let code = code_from(&app, &rp, &location, Some("k3yStat3Va"));
    let (tokens, id) = redeem(&app, &rp, Auth::Basic, &code, None, Some("n0nc3Valu3")).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    // oidcc-idtoken-signature: RS256 by default, with a kid.
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert!(id.get("at_hash").is_some(), "at_hash (checked) is there");
    // `EnsureIdTokenDoesNotContainName`, `EnsureIdTokenDoesNotContainNonRequestedClaims`:
    // scope=openid asks for no identity claims.
    let allowed = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "azp",
        "at_hash",
        "c_hash",
        "nbf",
        "jti",
        "sid",
        "s_hash",
    ];
    for k in id.as_object().unwrap().keys() {
        assert!(allowed.contains(&k.as_str()), "non-requested claim `{k}`");
    }
    // oidcc-userinfo-get, -post-header, -post-body: the same answer, the ID token's sub.
    let access = tokens["access_token"].as_str().unwrap();
    for via in [Via::Get, Via::PostHeader, Via::PostBody] {
        let info = userinfo(&app, access, via).await;
        assert_eq!(info["sub"], id["sub"], "{via:?}");
    }
}

#[tokio::test]
async fn client_secret_post_completes_the_code_flow() {
    let (app, admin) = provider().await;
    let (_, d) = app.get("/.well-known/openid-configuration").await;
    assert!(
        d["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_secret_post"))
    );
    let rp = register(
        &app,
        &admin,
        json!({ "redirect_uris": [SUITE_REDIRECT], "token_endpoint_auth_method": "client_secret_post" }),
    )
    .await;
    let mut browser = Browser::new(&app);
    let (_, location) = drive(
        &mut browser,
        &query(&rp, &[("state", "p0stState"), ("nonce", "p0stNonce")]),
    )
    .await;
    let code = code_from(&app, &rp, &location, Some("p0stState"));
    let (tokens, id) = redeem(&app, &rp, Auth::Post, &code, None, Some("p0stNonce")).await;
    let info = userinfo(&app, tokens["access_token"].as_str().unwrap(), Via::Get).await;
    assert_eq!(info["sub"], id["sub"]);
}

#[tokio::test]
async fn optional_and_unknown_parameters_do_not_fail_the_request() {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({ "redirect_uris": [SUITE_REDIRECT] })).await;
    // oidcc-ensure-request-without-nonce-succeeds-for-code-flow: a code, and no nonce anywhere.
    let (_, tokens, id) = happy_flow(&app, &rp, &[("nonce", "")], None).await;
    assert!(id.get("nonce").is_none());
    userinfo(&app, tokens["access_token"].as_str().unwrap(), Via::Get).await;
    // Each of these must simply not cause an error; the sign-in page is the normal one.
    for extra in [
        ("display", "page"),                                       // oidcc-display-page
        ("display", "popup"),                                      // oidcc-display-popup
        ("extra", "foobar"), // oidcc-ensure-request-with-unknown-parameter-succeeds
        ("claims_locales", "se"), // oidcc-claims-locales
        ("acr_values", "1 2"), // oidcc-ensure-request-with-acr-values-succeeds
        ("claims", r#"{"userinfo":{"name":{"essential":true}}}"#), // oidcc-claims-essential
    ] {
        let (page, tokens, id) = happy_flow(&app, &rp, &[extra], None).await;
        assert!(page.contains("name=\"pwd\""), "{extra:?}: the sign-in form");
        let info = userinfo(&app, tokens["access_token"].as_str().unwrap(), Via::Get).await;
        assert_eq!(info["sub"], id["sub"], "{extra:?}");
        if extra.0 == "acr_values" {
            assert!(id.get("acr").is_none(), "PROTOCOLS §3.4: no acr");
        }
        if extra.0 == "claims" {
            // scope=openid profile email phone here, so `name` comes from the scope; the
            // `claims` request adds nothing and takes nothing away.
            assert_eq!(info.get("name"), id.get("name"));
        }
    }
    // oidcc-claims-essential as the module sends it: scope=openid only; the `claims` parameter
    // is ignored, so no `name` is added anywhere (the suite only warns about userinfo).
    let (_, tokens, id) = happy_flow(
        &app,
        &rp,
        &[
            ("scope", "openid"),
            ("claims", r#"{"userinfo":{"name":{"essential":true}}}"#),
        ],
        None,
    )
    .await;
    assert!(id.get("name").is_none(), "EnsureIdTokenDoesNotContainName");
    let info = userinfo(&app, tokens["access_token"].as_str().unwrap(), Via::Get).await;
    assert_eq!(
        info.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["sub"]
    );
    // oidcc-ensure-request-with-valid-pkce-succeeds: a confidential client speculatively
    // using PKCE.
    let (verifier, challenge) = pkce();
    let (_, tokens, _) = happy_flow(
        &app,
        &rp,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
        Some(&verifier),
    )
    .await;
    userinfo(&app, tokens["access_token"].as_str().unwrap(), Via::Get).await;
}

#[tokio::test]
async fn login_hint_and_ui_locales_shape_the_sign_in_page() {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({})).await;
    // oidcc-login-hint: the suite's default hint is buffy@<issuer host>; no error, and the
    // number field is pre-filled with it (PROTOCOLS §3.3).
    for hint in ["buffy@127.0.0.1", USER] {
        let (page, _, _) = happy_flow(&app, &rp, &[("login_hint", hint)], None).await;
        let input = &page[page.find("<input id=\"number\"").expect("the number field")..];
        let input = &input[..input.find('>').unwrap()];
        assert!(
            input.contains(&format!("value=\"{hint}\"")),
            "{hint} pre-filled: {input}"
        );
    }
    // oidcc-ui-locales: `se` (the suite's default) is no error, and the page keeps its
    // default language; a language we have is used.
    let (page, _, _) = happy_flow(&app, &rp, &[("ui_locales", "se")], None).await;
    assert!(page.contains("<html lang=\"zh-CN\">"), "default language");
    let (page, _, _) = happy_flow(&app, &rp, &[("ui_locales", "se en")], None).await;
    assert!(page.contains("<html lang=\"en\">"), "English asked for");
}

#[tokio::test]
async fn each_offered_scope_gives_its_claims_at_userinfo() {
    let (app, admin) = provider().await;
    // The account has a username, a picture and a verified e-mail address besides its phone.
    let user_id = user_id_of(&app, USER).await;
    set_profile(&app, &user_id).await;
    let rp = register(&app, &admin, json!({ "redirect_uris": [SUITE_REDIRECT] })).await;

    let profile = ["name", "preferred_username", "picture", "updated_at"];
    let email = ["email", "email_verified"];
    let phone = ["phone_number", "phone_number_verified"];
    let cases: [(&str, &str, Vec<&str>); 6] = [
        ("oidcc-scope-profile", "openid profile", profile.to_vec()),
        ("oidcc-scope-email", "openid email", email.to_vec()),
        ("oidcc-scope-phone", "openid phone", phone.to_vec()),
        ("oidcc-scope-address", "openid address", vec![]),
        (
            "oidcc-scope-all",
            "openid email phone address profile",
            [profile.as_slice(), &email, &phone].concat(),
        ),
        // oidcc-alternate-happy-flow: oidcc-scope-email with the scope reversed (below, the
        // parameters are sent in reverse order too).
        ("oidcc-alternate-happy-flow", "email openid", email.to_vec()),
    ];
    for (module, scope, expected) in cases {
        let mut browser = Browser::new(&app);
        let q = match module {
            "oidcc-alternate-happy-flow" => {
                let mut pairs = [
                    ("client_id", rp.client_id.as_str()),
                    ("redirect_uri", rp.redirect.as_str()),
                    ("response_type", "code"),
                    ("scope", scope),
                    ("state", "sc0peState"),
                    ("nonce", "sc0peNonce"),
                ];
                pairs.sort_by(|a, b| b.0.cmp(a.0));
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={}", urlencode(v)))
                    .collect::<Vec<_>>()
                    .join("&")
            }
            _ => query(
                &rp,
                &[
                    ("scope", scope),
                    ("state", "sc0peState"),
                    ("nonce", "sc0peNonce"),
                ],
            ),
        };
        let (_, location) = drive(&mut browser, &q).await;
        let code = code_from(&app, &rp, &location, Some("sc0peState"));
        let (tokens, id) = redeem(&app, &rp, Auth::Basic, &code, None, Some("sc0peNonce")).await;
        let info = userinfo(&app, tokens["access_token"].as_str().unwrap(), Via::Get).await;
        assert_eq!(info["sub"], id["sub"], "{module}");
        // `VerifyScopesReturnedInUserInfoClaims`, for the claims Gatehouse has.
        let mut got: Vec<&str> = info
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "sub")
            .collect();
        got.sort_unstable();
        let mut want = expected.clone();
        want.sort_unstable();
        assert_eq!(got, want, "{module}");
        assert!(info.get("address").is_none(), "{module}: no address scope");
        assert!(
            !tokens["scope"].as_str().unwrap().contains("address"),
            "{module}: address is not granted"
        );
        // PROTOCOLS §3.4: the ID token carries the granted scopes' claims (where the suite's
        // oidcc-scope-email only warns); `name` only with `profile`.
        for claim in &expected {
            assert_eq!(id.get(*claim), info.get(*claim), "{module}: {claim}");
        }
        if !expected.contains(&"name") {
            assert!(
                id.get("name").is_none(),
                "{module}: EnsureIdTokenDoesNotContainName"
            );
        }
        if module == "oidcc-scope-all" {
            assert_eq!(info["email"], "buffy@rp.example");
            assert_eq!(info["email_verified"], true);
            assert_eq!(info["phone_number"], "+8613800138000");
            assert_eq!(info["phone_number_verified"], true);
            assert_eq!(info["preferred_username"], "buffy");
            assert_eq!(info["name"], "buffy");
            assert_eq!(info["picture"], "https://rp.example/buffy.png");
        }
    }
}

/// Gives the account a username, an http(s) picture and a verified e-mail address, as its
/// owner would on the account page (set in the database: codes for e-mail are not the point
/// here).
async fn set_profile(app: &TestApp, user_id: &str) {
    let id = user_id.to_owned();
    app.db(move |conn| {
        use diesel::prelude::*;
        use gatehouse::db::schema::users;
        let now = chrono::Utc::now().naive_utc();
        diesel::update(users::table.find(id))
            .set((
                users::username.eq(Some("buffy")),
                users::username_lower.eq(Some("buffy")),
                users::head_img.eq(Some("https://rp.example/buffy.png")),
                users::email.eq(Some("buffy@rp.example")),
                users::email_verified_at.eq(Some(now)),
                users::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
    })
    .await;
}

/// The id of the account with the phone `number`.
async fn user_id_of(app: &TestApp, number: &str) -> String {
    let number = number.to_owned();
    app.db(move |conn| {
        use diesel::prelude::*;
        use gatehouse::db::schema::users;
        users::table
            .filter(users::phone.eq(number))
            .select(users::id)
            .first::<String>(conn)
            .unwrap()
    })
    .await
}

#[tokio::test]
async fn a_live_session_is_reused_or_asked_again_as_requested() {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({ "redirect_uris": [SUITE_REDIRECT] })).await;
    let nonce = Some("n0nceV4lue");

    /// First authorization of a module: with a sign-in; (ID token claims, ID token).
    async fn first(
        app: &TestApp,
        rp: &Rp,
        browser: &mut Browser<'_>,
        extra: &[(&str, &str)],
    ) -> (Value, String) {
        let mut params = vec![("state", "f1rstState"), ("nonce", "n0nceV4lue")];
        params.extend_from_slice(extra);
        let (page, location) = drive(browser, &query(rp, &params)).await;
        assert!(page.is_some(), "the first authorization signs in");
        let code = code_from(app, rp, &location, Some("f1rstState"));
        let (tokens, id) = redeem(app, rp, Auth::Basic, &code, None, Some("n0nceV4lue")).await;
        (id, tokens["id_token"].as_str().unwrap().to_owned())
    }

    // The three that must not ask again share one session; the two that must ask again each
    // have their own, and they wait concurrently.
    let silent = async {
        let mut browser = Browser::new(&app);
        // oidcc-max-age-10000 starts with max_age=15000, so auth_time must be there.
        let (id1, id_token) = first(&app, &rp, &mut browser, &[("max_age", "15000")]).await;
        assert!(
            id1["auth_time"].is_i64(),
            "CheckIdTokenAuthTimeClaimPresentDueToMaxAge"
        );
        for (module, extra) in [
            ("oidcc-prompt-none-logged-in", vec![("prompt", "none")]),
            ("oidcc-max-age-10000", vec![("max_age", "10000")]),
            (
                "oidcc-id-token-hint",
                vec![("prompt", "none"), ("id_token_hint", id_token.as_str())],
            ),
        ] {
            let mut params = vec![("state", "s3condSt"), ("nonce", "n0nceV4lue")];
            params.extend(extra);
            let (page, location) = drive(&mut browser, &query(&rp, &params)).await;
            assert!(page.is_none(), "{module}: no sign-in page");
            let code = code_from(&app, &rp, &location, Some("s3condSt"));
            let (_, id2) = redeem(&app, &rp, Auth::Basic, &code, None, nonce).await;
            // `CheckIdTokenAuthTimeClaimsSameIfPresent`, `CheckIdTokenSubConsistentForSecondAuthorization`.
            assert_eq!(id2["auth_time"], id1["auth_time"], "{module}");
            assert!(id2["auth_time"].is_i64(), "{module}");
            assert_eq!(id2["sub"], id1["sub"], "{module}");
        }
    };
    let asked_again = |module: &'static str, wait_ms: u64, extra: (&'static str, &'static str)| {
        let (app, rp) = (&app, &rp);
        async move {
            let mut browser = Browser::new(app);
            let (id1, _) = first(app, rp, &mut browser, &[]).await;
            sleep_ms(wait_ms).await;
            let (page, location) = drive(
                &mut browser,
                &query(rp, &[("state", "s3condSt"), ("nonce", "n0nceV4lue"), extra]),
            )
            .await;
            assert!(
                page.is_some(),
                "{module}: the sign-in page despite the session"
            );
            let code = code_from(app, rp, &location, Some("s3condSt"));
            let (_, id2) = redeem(app, rp, Auth::Basic, &code, None, Some("n0nceV4lue")).await;
            // `CheckIdTokenAuthTimeClaimPresentDueToMaxAge`, `CheckSecondIdTokenAuthTimeIsLaterIfPresent`,
            // `CheckIdTokenAuthTimeIsRecentIfPresent`.
            let (t1, t2) = (id1["auth_time"].as_i64(), id2["auth_time"].as_i64());
            assert!(t2.is_some(), "{module}: auth_time");
            assert!(t2 > t1, "{module}: auth_time {t1:?} -> {t2:?}");
            assert!(
                t2.unwrap() >= chrono::Utc::now().timestamp() - 2,
                "{module}: recent"
            );
            assert_eq!(id2["sub"], id1["sub"], "{module}");
        }
    };
    tokio::join!(
        silent,
        // The module waits a second so that auth_time must differ.
        asked_again("oidcc-prompt-login", 1100, ("prompt", "login")),
        // The module waits 2 s before max_age=1.
        asked_again("oidcc-max-age-1", 2100, ("max_age", "1")),
    );
}

#[tokio::test]
async fn authorization_errors_go_back_as_the_suite_validates_them() {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({ "redirect_uris": [SUITE_REDIRECT] })).await;
    let mut browser = Browser::new(&app);
    // oidcc-response-type-missing: the request without response_type.
    let q =
        query(&rp, &[("state", "rtM1ssing"), ("nonce", "n")]).replace("response_type=code&", "");
    assert!(!q.contains("response_type"));
    let page = browser.get(&format!("/oauth2/authorize?{q}")).await;
    assert_eq!(page.status, 302);
    error_from(
        &app,
        &rp,
        &page.location,
        Some("rtM1ssing"),
        &["invalid_request", "unsupported_response_type"],
    );

    // oidcc-prompt-none-not-logged-in: a 128-character state comes back unchanged.
    let state = long_state();
    let page = browser
        .get(&authorize_path(
            &rp,
            &[("prompt", "none"), ("state", &state), ("nonce", "n")],
        ))
        .await;
    assert_eq!(page.status, 302);
    error_from(
        &app,
        &rp,
        &page.location,
        Some(&state),
        &[
            "interaction_required",
            "login_required",
            "account_selection_required",
            "consent_required",
        ],
    );

    // The request-object modules send response_type, client_id, scope and redirect_uri as
    // parameters and everything (state and nonce too) in an unsigned request object.
    let object = unsigned_jwt(&json!({
        "client_id": rp.client_id, "redirect_uri": rp.redirect, "response_type": "code",
        "scope": "openid", "state": "inTheObject", "nonce": "inTheObject",
    }));
    let outer = |name: &str, value: &str| {
        format!(
            "client_id={}&redirect_uri={}&response_type=code&scope=openid&{name}={}",
            urlencode(&rp.client_id),
            urlencode(&rp.redirect),
            urlencode(value)
        )
    };
    // oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported
    let page = browser
        .get(&format!("/oauth2/authorize?{}", outer("request", &object)))
        .await;
    assert_eq!(page.status, 302);
    error_from(&app, &rp, &page.location, None, &["request_not_supported"]);
    // oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported
    let page = browser
        .get(&format!(
            "/oauth2/authorize?{}",
            outer("request_uri", "https://rp.example/requests/1")
        ))
        .await;
    assert_eq!(page.status, 302);
    error_from(
        &app,
        &rp,
        &page.location,
        None,
        &["request_uri_not_supported"],
    );
    // …and discovery says so, as the modules check when they get the error.
    let (_, d) = app.get("/.well-known/openid-configuration").await;
    assert_eq!(d["request_parameter_supported"], false);
    assert_eq!(d["request_uri_parameter_supported"], false);
}

/// An unsigned (`alg: none`) JWT of `claims`.
fn unsigned_jwt(claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test]
async fn requests_without_a_usable_redirect_uri_get_the_error_page() {
    let (app, admin) = provider().await;
    let rp = register(
        &app,
        &admin,
        json!({ "redirect_uris": [REDIRECT, "https://rp.example/oidc/callback2"] }),
    )
    .await;
    let mut browser = Browser::new(&app);
    let never_redirected = |page: &Page, why: &str| {
        assert_eq!(page.status, 400, "{why}: {}", page.body);
        assert!(page.location.is_empty(), "{why}: never a redirect");
        assert!(page.body.contains("callback_not_registered"), "{why}");
    };
    // oidcc-ensure-redirect-uri-in-authorization-request: two registered, none sent.
    let q = authorize_path(&rp, &[("state", "s"), ("nonce", "n")])
        .replace(&format!("redirect_uri={}&", urlencode(REDIRECT)), "");
    assert!(!q.contains("redirect_uri"));
    never_redirected(&browser.get(&q).await, "no redirect_uri");
    // oidcc-ensure-registered-redirect-uri: the module's own shape, a random path appended.
    let random = format!(
        "{REDIRECT}/callback/{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let page = browser
        .get(&authorize_path(
            &rp,
            &[("redirect_uri", &random), ("state", "s")],
        ))
        .await;
    never_redirected(&page, "unregistered redirect_uri");
    // oidcc-ensure-request-object-with-redirect-uri: the registered URI only inside the
    // request object, a wrong one outside; request objects are not read, so the outer one
    // decides and gets the error page (not `request_not_supported` at the registered URI).
    let object = unsigned_jwt(&json!({
        "client_id": rp.client_id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid", "state": "s", "nonce": "n",
    }));
    let page = browser
        .get(&format!(
            "/oauth2/authorize?client_id={}&redirect_uri={}&request={object}&response_type=code&scope=openid",
            rp.client_id,
            urlencode(&format!("{REDIRECT}_invalid")),
        ))
        .await;
    never_redirected(&page, "request object with another redirect_uri");
}

#[tokio::test]
async fn a_posted_authorization_request_completes() {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({ "redirect_uris": [SUITE_REDIRECT] })).await;
    let mut browser = Browser::new(&app);
    let form = [
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", rp.redirect.as_str()),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "p0sted"),
        ("nonce", "p0stedN"),
    ];
    // Without a session: 303 to the GET form, the sign-in page, then the code.
    let posted = browser.post("/oauth2/authorize", &form).await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    let (page, location) = drive(
        &mut browser,
        local(&posted.location)
            .strip_prefix("/oauth2/authorize?")
            .unwrap(),
    )
    .await;
    assert!(page.is_some());
    let code = code_from(&app, &rp, &location, Some("p0sted"));
    redeem(&app, &rp, Auth::Basic, &code, None, Some("p0stedN")).await;
    // With the session: straight back to the client.
    let posted = browser.post("/oauth2/authorize", &form).await;
    assert_eq!(posted.status, 303);
    let back = browser.get(&local(&posted.location)).await;
    assert_eq!(back.status, 302);
    let code = code_from(&app, &rp, &back.location, Some("p0sted"));
    redeem(&app, &rp, Auth::Basic, &code, None, Some("p0stedN")).await;
}

#[tokio::test]
async fn a_reused_code_is_refused_as_the_suite_expects() {
    let (app, admin) = provider().await;
    let rp = register(&app, &admin, json!({ "redirect_uris": [SUITE_REDIRECT] })).await;
    let mut browser = Browser::new(&app);
    let (_, location) = drive(&mut browser, &query(&rp, &[("state", "r")])).await;
    let code = code_from(&app, &rp, &location, Some("r"));
    let (tokens, _) = redeem(&app, &rp, Auth::Basic, &code, None, None).await;
    let access = tokens["access_token"].as_str().unwrap();
    userinfo(&app, access, Via::Get).await;
    // The same request again (`AbstractOIDCCAuthCodeReuse.checkResponse`).
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", rp.redirect.as_str()),
    ];
    let res = token_call(&app, &rp, Auth::Basic, &form).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_description_charset(body["error_description"].as_str().unwrap());
    assert!(body.get("error_uri").is_none());
    // oidcc-codereuse-30seconds: the access token the code gave is refused now.
    let res = app
        .client
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
}

#[tokio::test]
async fn refresh_tokens_work_and_stay_bound_to_their_client() {
    let (app, admin) = provider().await;
    let (_, d) = app.get("/.well-known/openid-configuration").await;
    assert!(
        d["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("refresh_token")),
        "EnsureServerConfigurationSupportsRefreshToken"
    );
    let one = register(&app, &admin, json!({ "redirect_uris": [SUITE_REDIRECT] })).await;
    let two = register(
        &app,
        &admin,
        json!({ "name": "Second client", "redirect_uris": [SUITE_REDIRECT] }),
    )
    .await;
    let mut browser = Browser::new(&app);
    let (_, location) = drive(
        &mut browser,
        &query(
            &one,
            &[("scope", "openid"), ("state", "one"), ("nonce", "n1")],
        ),
    )
    .await;
    let code = code_from(&app, &one, &location, Some("one"));
    let (first, id1) = redeem(&app, &one, Auth::Basic, &code, None, Some("n1")).await;
    let refresh = first["refresh_token"].as_str().expect("a refresh token");
    assert_vschar("refresh_token", refresh);
    // `RefreshTokenRequestSteps`: with the original scope, a second later (so `iat` differs).
    sleep_ms(1050).await;
    let second = token_ok(
        &app,
        &one,
        Auth::Basic,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "openid"),
        ],
    )
    .await;
    let new_refresh = second["refresh_token"].as_str().unwrap();
    assert_vschar("refresh_token", new_refresh);
    assert!(new_refresh.len() * 8 >= 128 && shannon_bits(new_refresh) > 96.0);
    assert_ne!(second["access_token"], first["access_token"]);
    // `CompareIdTokenClaims` (OpenID Connect Core §12.2).
    let id2 = checked_id_token(
        &app,
        &one.client_id,
        second["id_token"].as_str().unwrap(),
        None,
        second["access_token"].as_str().unwrap(),
    )
    .await;
    for same in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(id2[same], id1[same], "{same}");
    }
    assert_ne!(id2["iat"], id1["iat"], "a new ID token is newly issued");
    assert!(id1.get("azp").is_none() && id2.get("azp").is_none());
    let info = userinfo(&app, second["access_token"].as_str().unwrap(), Via::Get).await;
    assert_eq!(info["sub"], id1["sub"]);

    // The second client, in the same browser (no sign-in), then its refresh token presented by
    // the first (`RefreshTokenRequestExpectingErrorSteps`).
    let (page, location) = drive(
        &mut browser,
        &query(
            &two,
            &[("scope", "openid"), ("state", "two"), ("nonce", "n2")],
        ),
    )
    .await;
    assert!(page.is_none());
    let code = code_from(&app, &two, &location, Some("two"));
    let (theirs, _) = redeem(&app, &two, Auth::Basic, &code, None, Some("n2")).await;
    let res = token_call(
        &app,
        &one,
        Auth::Basic,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", theirs["refresh_token"].as_str().unwrap()),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // Someone else's token shown is no reuse: it still works for its own client.
    token_ok(
        &app,
        &two,
        Auth::Basic,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", theirs["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_suites_skip_conditions_hold() {
    let (app, admin) = provider().await;
    let (_, d) = app.get("/.well-known/openid-configuration").await;
    // oidcc-idtoken-unsigned skips itself when `none` is not an ID token alg
    // (`OIDCCCheckIdTokenSigningAlgValuesSupportedAlgNone`); such a client cannot be registered.
    let algs = d["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(!algs.contains(&json!("none")), "{algs:?}");
    let (status, body) = app
        .send_with_token(
            reqwest::Method::POST,
            "/admin/api/clients",
            &admin,
            json!({ "name": "RP", "mode": "oidc", "redirect_uris": [REDIRECT],
                    "id_token_signed_response_alg": "none" }),
        )
        .await;
    assert_error(status, &body, 400, "invalid_params");
    // oidcc-scope-address (and the suite's oidcc-scope-all) skip when `address` is not in
    // scopes_supported (`OIDCCCheckScopesSupportedContainScopeTest`).
    let scopes = d["scopes_supported"].as_array().unwrap();
    assert!(!scopes.contains(&json!("address")), "{scopes:?}");
    // The request-object modules skip only when request_object_signing_alg_values_supported is
    // there without `none`; it is absent, so they run (and are tested above).
    assert!(
        d.get("request_object_signing_alg_values_supported")
            .is_none()
    );
    // oidcc-refresh-token asks for offline_access only when it is offered.
    assert!(!scopes.contains(&json!("offline_access")));
}

// ---------------------------------------------------------------------------------------------
// The logout plans

#[tokio::test]
async fn discovery_over_https_names_what_the_logout_plans_need() {
    // The suite requires every `*_endpoint` to be https, so this server's public URL is.
    let sms = SmsSink::start();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let settings = gatehouse::Settings::from_figment(
        test_settings(dir.path(), &sms)
            .merge(("public_url", "https://idp.example"))
            .merge(("captcha_test_answers", false)),
    )
    .unwrap();
    let app = TestApp::start(settings, Backend::Sqlite, sms, dir, false).await;
    let (status, d) = app.get("/.well-known/openid-configuration").await;
    assert_eq!(status, 200);
    assert_eq!(d["issuer"], "https://idp.example");
    // `CheckDiscEndpointAllEndpointsAreHttps`, `CheckDiscEndSessionEndpoint`.
    let endpoints: Vec<(&String, &Value)> = d
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.ends_with("_endpoint") || *k == "jwks_uri")
        .collect();
    let names: Vec<&str> = endpoints.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "authorization_endpoint",
            "end_session_endpoint",
            "introspection_endpoint",
            "jwks_uri",
            "revocation_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
        ]
    );
    for (k, v) in endpoints {
        let url = url::Url::parse(v.as_str().unwrap()).unwrap();
        assert_eq!(url.scheme(), "https", "{k}");
        assert_eq!(url.host_str(), Some("idp.example"), "{k}");
    }
    assert_eq!(
        d["end_session_endpoint"],
        "https://idp.example/oauth2/logout"
    );
    // `CheckDiscEndpointBackchannelLogoutSupported`, `…SessionSupported`.
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
}

/// An RP with a post-logout redirect URI, signed in in a fresh browser: (browser, ID token).
async fn signed_in<'a>(app: &'a TestApp, rp: &Rp) -> (Browser<'a>, String) {
    let mut browser = Browser::new(app);
    let state = long_state();
    let (_, location) = drive(
        &mut browser,
        &query(rp, &[("state", &state), ("nonce", "n")]),
    )
    .await;
    let code = code_from(app, rp, &location, Some(&state));
    let (tokens, _) = redeem(app, rp, Auth::Basic, &code, None, Some("n")).await;
    (browser, tokens["id_token"].as_str().unwrap().to_owned())
}

/// After logout the module tries prompt=none, which must fail as needing a sign-in; before,
/// a refused logout must have left the session alone (a code at once).
async fn session_is_live(app: &TestApp, rp: &Rp, browser: &mut Browser<'_>) -> bool {
    let state = long_state();
    let page = browser
        .get(&authorize_path(
            rp,
            &[("prompt", "none"), ("state", &state), ("nonce", "n")],
        ))
        .await;
    assert_eq!(page.status, 302);
    if query_map(&page.location).contains_key("code") {
        code_from(app, rp, &page.location, Some(&state));
        return true;
    }
    error_from(
        app,
        rp,
        &page.location,
        Some(&state),
        &[
            "interaction_required",
            "login_required",
            "account_selection_required",
            "consent_required",
        ],
    );
    false
}

/// The end-session request of `CreateEndSessionEndpointRequest` (hint, return URI, state),
/// with what a module leaves out left out.
fn end_session(id_token: Option<&str>, post_logout: Option<&str>, state: Option<&str>) -> String {
    let mut q = Vec::new();
    if let Some(t) = id_token {
        q.push(format!("id_token_hint={}", urlencode(t)));
    }
    if let Some(u) = post_logout {
        q.push(format!("post_logout_redirect_uri={}", urlencode(u)));
    }
    if let Some(s) = state {
        q.push(format!("state={}", urlencode(s)));
    }
    format!("/oauth2/logout?{}", q.join("&"))
}

/// An end-session `state` with every VSCHAR the suite may put in one
/// (`CreateRandomEndSessionState` leaves out `+`, space and `;`).
const END_STATE: &str = "Az09!\"#$%&'()*,-./:<=>?@[\\]^_`{|}~";

/// The signed-out page, the session cookie cleared.
fn assert_signed_out(page: &Page, browser: &Browser<'_>) {
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.location.is_empty());
    assert!(page.body.contains("id=\"signed-out\""), "{}", page.body);
    assert!(!browser.cookies.contains_key("gh_session"));
}

#[tokio::test]
async fn rp_initiated_logout_completes_as_each_module_expects() {
    let (app, admin) = provider().await;
    let rp = register(
        &app,
        &admin,
        json!({ "redirect_uris": [SUITE_REDIRECT], "post_logout_redirect_uris": [POST_LOGOUT] }),
    )
    .await;

    // oidcc-rp-initiated-logout: back to the registered URI with the state, and only that
    // (`CheckPostLogoutState`, `CheckForUnexpectedParametersInPostLogoutRedirect`).
    let (mut browser, id_token) = signed_in(&app, &rp).await;
    let page = browser
        .get(&end_session(
            Some(&id_token),
            Some(POST_LOGOUT),
            Some(END_STATE),
        ))
        .await;
    assert_eq!(page.status, 302, "{}", page.body);
    assert_back_to(POST_LOGOUT, &page.location);
    let q = query_map(&page.location);
    assert_eq!(q.keys().collect::<Vec<_>>(), ["state"], "{}", page.location);
    assert_eq!(q["state"], END_STATE);
    assert!(
        !session_is_live(&app, &rp, &mut browser).await,
        "logged out"
    );

    // oidcc-rp-initiated-logout-no-state: back with no state at all (`CheckNoPostLogoutState`).
    let (mut browser, id_token) = signed_in(&app, &rp).await;
    let page = browser
        .get(&end_session(Some(&id_token), Some(POST_LOGOUT), None))
        .await;
    assert_eq!(page.status, 302, "{}", page.body);
    assert_eq!(page.location, POST_LOGOUT);
    assert!(
        !session_is_live(&app, &rp, &mut browser).await,
        "logged out"
    );

    // oidcc-rp-initiated-logout-no-post-logout-redirect-uri: logged out, shown the
    // signed-out page, not sent back.
    let (mut browser, id_token) = signed_in(&app, &rp).await;
    let page = browser
        .get(&end_session(Some(&id_token), None, Some(END_STATE)))
        .await;
    assert_signed_out(&page, &browser);
    assert!(
        !session_is_live(&app, &rp, &mut browser).await,
        "logged out"
    );

    // oidcc-rp-initiated-logout-no-params and -only-state: nothing names the session, so a
    // page asks first (PROTOCOLS §3.5); confirming logs out and shows the signed-out page.
    for (module, path) in [
        ("no-params", "/oauth2/logout".to_owned()),
        ("only-state", end_session(None, None, Some(END_STATE))),
    ] {
        let (mut browser, _) = signed_in(&app, &rp).await;
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{module}: {}", page.body);
        assert!(page.location.is_empty(), "{module}: never sent back");
        assert!(page.body.contains("id=\"logout-confirm\""), "{module}");
        let flow = attr(&page.body, "name=\"flow\" value=\"");
        let done = browser
            .submit("/oauth2/logout", &[("flow", &flow), ("confirm", "1")])
            .await;
        assert_signed_out(&done, &browser);
        assert!(
            !session_is_live(&app, &rp, &mut browser).await,
            "{module}: logged out"
        );
    }
}

#[tokio::test]
async fn rp_initiated_logout_refuses_as_each_module_expects() {
    let (app, admin) = provider().await;
    let rp = register(
        &app,
        &admin,
        json!({ "redirect_uris": [SUITE_REDIRECT], "post_logout_redirect_uris": [POST_LOGOUT] }),
    )
    .await;
    let (mut browser, id_token) = signed_in(&app, &rp).await;
    let claims = claims(&id_token);

    // oidcc-rp-initiated-logout-modified-id-token-hint: the same token "signed" with none.
    let modified = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg": "none"}"#),
        id_token.split('.').nth(1).unwrap()
    );
    // oidcc-rp-initiated-logout-bad-id-token-hint: a token the client made itself (HS256 with
    // its secret, `iss` the client, `aud` the issuer).
    let now = chrono::Utc::now().timestamp();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "iss": rp.client_id, "sub": "SubjectID", "aud": app.address,
                 "nonce": "flibble", "iat": now, "exp": now + 300 }),
        &jsonwebtoken::EncodingKey::from_secret(rp.secret.as_deref().unwrap().as_bytes()),
    )
    .unwrap();
    // …and the same claims as ours, signed by the client: a right-looking token, wrong key.
    let forged_ours = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(rp.secret.as_deref().unwrap().as_bytes()),
    )
    .unwrap();
    let with_query = format!("{POST_LOGOUT}?foo=bar");
    let cases: [(&str, String, &[&str]); 6] = [
        (
            "bad-post-logout-redirect-uri",
            end_session(
                Some(&id_token),
                Some("https://rp.example/bad_post_logout_redirect_uri"),
                Some(END_STATE),
            ),
            &["callback_not_registered"],
        ),
        (
            "modified-id-token-hint",
            end_session(Some(&modified), Some(POST_LOGOUT), Some(END_STATE)),
            &["token_invalid"],
        ),
        (
            "no-id-token-hint",
            end_session(None, Some(POST_LOGOUT), Some(END_STATE)),
            &["callback_not_registered"],
        ),
        (
            "query-added-to-post-logout-redirect-uri",
            end_session(Some(&id_token), Some(&with_query), Some(END_STATE)),
            &["callback_not_registered"],
        ),
        (
            "bad-id-token-hint",
            end_session(Some(&forged), Some(POST_LOGOUT), Some(END_STATE)),
            &["token_invalid"],
        ),
        (
            "bad-id-token-hint (our claims)",
            end_session(Some(&forged_ours), Some(POST_LOGOUT), Some(END_STATE)),
            &["token_invalid"],
        ),
    ];
    for (module, path, reasons) in cases {
        // Not sent back: an error page (or a page asking, which the modules accept too; here
        // PROTOCOLS §3.5 says error page), and nothing is ended.
        let page = browser.get(&path).await;
        assert_eq!(page.status, 400, "{module}: {}", page.body);
        assert!(page.location.is_empty(), "{module}: never sent back");
        assert!(
            reasons.iter().any(|r| page.body.contains(r)),
            "{module}: {}",
            page.body
        );
        assert!(
            session_is_live(&app, &rp, &mut browser).await,
            "{module}: nothing ended"
        );
    }
}

/// The back-channel requests a stand-in RP receives: (content type, body).
type Received = Arc<Mutex<Vec<(String, String)>>>;

fn back_channel_receiver() -> (Received, String) {
    let received: Received = Default::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let sink = received.clone();
    serve_every_path(listener, move || {
        let sink = sink.clone();
        actix_web::web::post().to(
            move |req: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                let sink = sink.clone();
                async move {
                    let content_type = req
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    sink.lock()
                        .unwrap()
                        .push((content_type, String::from_utf8_lossy(&body).into_owned()));
                    actix_web::HttpResponse::Ok()
                        .insert_header(("cache-control", "no-store"))
                        .finish()
                }
            },
        )
    });
    (received, address)
}

#[tokio::test]
async fn back_channel_logout_is_sent_as_the_module_checks() {
    let (app, admin) = provider().await;
    let (received, receiver) = back_channel_receiver();
    let rp = register(
        &app,
        &admin,
        json!({
            "redirect_uris": [SUITE_REDIRECT],
            "post_logout_redirect_uris": [POST_LOGOUT],
            "logout_url": format!("{receiver}/backchannel_logout"),
        }),
    )
    .await;
    let (mut browser, id_token) = signed_in(&app, &rp).await;
    let id = claims(&id_token);
    let page = browser
        .get(&end_session(
            Some(&id_token),
            Some(POST_LOGOUT),
            Some(END_STATE),
        ))
        .await;
    // The front channel: back with the state, only the state.
    assert_eq!(page.status, 302, "{}", page.body);
    assert_back_to(POST_LOGOUT, &page.location);
    assert_eq!(
        query_map(&page.location),
        BTreeMap::from([("state".to_owned(), END_STATE.to_owned())])
    );
    // The back channel.
    let mut waited = Duration::ZERO;
    let (content_type, body) = loop {
        if let Some(first) = received.lock().unwrap().first().cloned() {
            break first;
        }
        assert!(
            waited < Duration::from_secs(10),
            "no back-channel logout request"
        );
        sleep_ms(50).await;
        waited += Duration::from_millis(50);
    };
    assert!(
        content_type.starts_with("application/x-www-form-urlencoded"),
        "{content_type}"
    );
    // `ExtractLogoutTokenFromBackchannelLogoutRequest`,
    // `CheckForUnexpectedParametersInBackchannelLogoutRequest`.
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(form.len(), 1, "{form:?}");
    assert_eq!(form[0].0, "logout_token");
    let token = &form[0].1;
    // `ValidateLogoutTokenSignature` (the published keys), `ValidateLogoutTokenClaims`.
    let logout = verify_with_jwks(&app, token, &rp.client_id).await;
    let now = chrono::Utc::now().timestamp();
    assert_eq!(logout["iss"], app.address);
    assert_eq!(logout["aud"], rp.client_id);
    let iat = logout["iat"].as_i64().expect("iat");
    assert!(iat <= now + 300 && iat > now - 86400, "iat {iat}");
    assert!(logout["jti"].as_str().is_some_and(|j| !j.is_empty()), "jti");
    assert_eq!(
        logout["events"],
        json!({ "http://schemas.openid.net/event/backchannel-logout": {} }),
        "events: exactly the back-channel event, an empty object"
    );
    // `CheckIdTokenSubMatchesLogoutToken`, `CheckIdTokenSidMatchesLogoutToken`,
    // `CheckLogoutTokenNoNonce`, `CheckLogoutTokenHasSubOrSid`.
    assert_eq!(logout["sub"], id["sub"]);
    assert_eq!(logout["sid"], id["sid"]);
    assert!(logout["sid"].is_string());
    assert!(logout.get("nonce").is_none());
    // Then prompt=none must need a sign-in.
    assert!(
        !session_is_live(&app, &rp, &mut browser).await,
        "logged out"
    );
    assert_eq!(received.lock().unwrap().len(), 1, "told once");
}
