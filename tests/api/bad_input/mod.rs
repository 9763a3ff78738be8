//! Bad input, route by route: every parameter missing, empty, of the wrong type and absurdly
//! long; hostile list parameters; forged tokens; callback tricks; replayed captchas and codes;
//! and the envelope itself. Each rejection must be a 4xx envelope with the contract's reason
//! and must leave the database exactly as it was.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::both_backends;
use crate::helpers::*;

/// "Absurd size": ten thousand bytes where a handful are expected.
const HUGE: usize = 10_000;

/// Every reason the contract defines (section 1).
const REASONS: &[&str] = &[
    "invalid_params",
    "captcha_invalid",
    "verify_code_invalid",
    "credentials_invalid",
    "account_exists",
    "account_not_found",
    "account_disabled",
    "password_weak",
    "token_missing",
    "token_invalid",
    "token_expired",
    "token_revoked",
    "refresh_window_passed",
    "callback_not_registered",
    "client_auth_failed",
    "wechat_code_invalid",
    "word_info_invalid",
    "rate_limited",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "payload_too_large",
    "conflict",
    "unavailable",
    "internal",
];

const CALLBACK: &str = "https://good.example/cb";

fn huge(unit: &str) -> String {
    unit.repeat(HUGE / unit.len())
}

fn huge_url() -> String {
    format!("https://good.example/{}", huge("a"))
}

fn huge_email() -> String {
    format!("{}@example.com", huge("a"))
}

// ---------------------------------------------------------------------------------------------
// Envelope checks
// ---------------------------------------------------------------------------------------------

/// Exactly `code`/`message`/`data`/`total`, `code` equal to the status, never a 5xx, and for
/// failures `data.error` one of the contract's reasons and `total` 0.
#[track_caller]
fn assert_envelope(status: u16, body: &Value, ctx: &str) {
    assert!(
        status < 500,
        "{ctx}: never a 5xx for bad input, got {status} {body}"
    );
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{ctx}: not a JSON object: {body}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "data", "message", "total"], "{ctx}: {body}");
    assert_eq!(
        body["code"], status,
        "{ctx}: code must equal the HTTP status: {body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{ctx}: {body}"
    );
    assert!(body["total"].is_u64(), "{ctx}: {body}");
    if status >= 400 {
        assert_eq!(body["total"], 0, "{ctx}: {body}");
        let data = body["data"]
            .as_object()
            .unwrap_or_else(|| panic!("{ctx}: failure data must be an object: {body}"));
        let reason = data["error"].as_str().unwrap_or_default();
        assert!(REASONS.contains(&reason), "{ctx}: unknown reason: {body}");
        for key in data.keys() {
            assert!(
                ["error", "fields", "retry_after"].contains(&key.as_str()),
                "{ctx}: unexpected key `{key}` in data: {body}"
            );
        }
        if let Some(fields) = data.get("fields") {
            let fields = fields
                .as_object()
                .unwrap_or_else(|| panic!("{ctx}: {body}"));
            assert!(fields.values().all(Value::is_string), "{ctx}: {body}");
        }
    }
}

/// [`assert_error`] plus the full envelope shape.
#[track_caller]
fn expect_error(status: u16, body: &Value, want_status: u16, reason: &str, ctx: &str) {
    assert_envelope(status, body, ctx);
    assert_eq!(
        (status, body["data"]["error"].as_str()),
        (want_status, Some(reason)),
        "{ctx}: {body}"
    );
}

/// What a bad value must get.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// 400 `invalid_params` whose `data.fields` names the parameter.
    Invalid,
    /// This status and reason.
    Reason(u16, &'static str),
    /// Where the token is the thing being checked (POST /token): 401 `token_missing`, or 400
    /// `invalid_params` naming `token` — both say "missing".
    NoToken,
    /// Something that is not a token: 401 `token_missing` or `token_invalid`.
    NotAToken,
}

#[track_caller]
fn judge(status: u16, body: &Value, want: Want, field: &str, ctx: &str) {
    assert_envelope(status, body, ctx);
    let reason = body["data"]["error"].as_str().unwrap_or_default();
    let names_field = body["data"]["fields"].get(field).is_some();
    let ok = match want {
        Want::Invalid => status == 400 && reason == "invalid_params" && names_field,
        Want::Reason(s, r) => status == s && reason == r,
        Want::NoToken => {
            (status == 401 && reason == "token_missing")
                || (status == 400 && reason == "invalid_params" && names_field)
        }
        Want::NotAToken => status == 401 && matches!(reason, "token_missing" | "token_invalid"),
    };
    assert!(
        ok,
        "{ctx}: wanted {want:?} for `{field}`, got {status} {body}"
    );
}

mod callbacks;
mod captchas;
mod envelope;
mod params;
mod support;
mod tokens;

use support::*;

// ---------------------------------------------------------------------------------------------
// The parameter matrix
// ---------------------------------------------------------------------------------------------

struct Param {
    name: &'static str,
    /// What a missing or empty value gets; `None` for optional parameters (an empty optional
    /// parameter counts as absent, so it is not an error).
    missing: Option<Want>,
    /// What a JSON number, boolean, object or array gets.
    wrong: Want,
    /// Odd values and what they get; the first is the absurdly long one.
    odd: Vec<(String, Want)>,
}

impl Param {
    fn required(name: &'static str, huge: String, want: Want) -> Self {
        Param {
            name,
            missing: Some(Want::Invalid),
            wrong: Want::Invalid,
            odd: vec![(huge, want)],
        }
    }

    fn optional(name: &'static str, huge: String, want: Want) -> Self {
        Param {
            missing: None,
            ..Param::required(name, huge, want)
        }
    }

    fn token(huge: String) -> Self {
        Param {
            name: "token",
            missing: Some(Want::NoToken),
            wrong: Want::NoToken,
            odd: vec![(huge, Want::Reason(401, "token_invalid"))],
        }
    }

    fn and(mut self, value: &str, want: Want) -> Self {
        self.odd.push((value.to_owned(), want));
        self
    }
}

struct Route {
    method: Method,
    path: &'static str,
    /// Sent as `Authorization: Bearer`.
    token: Option<String>,
    /// Needs a fresh captcha (`captcha_id` + `client_code`) for every request.
    captcha: bool,
    /// A body that succeeds, with [`Route::ok`].
    valid: Value,
    ok: u16,
    params: Vec<Param>,
}

impl Route {
    /// `method path`, open to anyone without a captcha: `valid` succeeds with status `ok`, and
    /// each of `params` is tried bad in turn.
    fn new(method: Method, path: &'static str, valid: Value, ok: u16, params: Vec<Param>) -> Self {
        Route {
            method,
            path,
            token: None,
            captcha: false,
            valid,
            ok,
            params,
        }
    }

    /// The same route, needing a fresh captcha with every request.
    fn with_captcha(self) -> Self {
        Route {
            captcha: true,
            ..self
        }
    }

    /// The same route, sent with `token` as `Authorization: Bearer`.
    fn signed_in(self, token: String) -> Self {
        Route {
            token: Some(token),
            ..self
        }
    }
}

/// A way of presenting a token: (what, header, token parameter, expectation).
type TokenCase = (
    &'static str,
    Option<(&'static str, String)>,
    Option<Value>,
    Want,
);

#[derive(Clone, Copy)]
enum Enc {
    Json,
    Form,
}

async fn fresh_body(app: &TestApp, route: &Route) -> Map<String, Value> {
    let mut body = route.valid.as_object().unwrap().clone();
    if route.captcha {
        let (id, answer) = app.captcha().await;
        body.insert("captcha_id".into(), json!(id));
        body.insert("client_code".into(), json!(answer));
    }
    body
}

async fn send_route(
    app: &TestApp,
    route: &Route,
    body: &Map<String, Value>,
    enc: Enc,
) -> (u16, Value) {
    let mut rb = app
        .client
        .request(route.method.clone(), app.url(route.path));
    if let Some(t) = &route.token {
        rb = rb.bearer_auth(t);
    }
    rb = match enc {
        Enc::Json => rb.json(body),
        Enc::Form => rb.form(&form_pairs(body)),
    };
    go(rb).await
}

/// Sends every bad variant of every parameter of `route`, checks each answer, checks that the
/// database (and the SMS gateway) saw nothing, then proves the valid body does succeed — so
/// each rejection was due to the one bad parameter alone.
async fn exercise(app: &TestApp, route: &Route) {
    let label = format!("{} {}", route.method, route.path);
    let before = snapshot(app).await;
    let sms_before = app.sms.count();

    // All required parameters at once: one answer names every one of them.
    let required: Vec<&str> = route
        .params
        .iter()
        .filter(|p| matches!(p.missing, Some(Want::Invalid)))
        .map(|p| p.name)
        .collect();
    if !required.is_empty() {
        let mut body = fresh_body(app, route).await;
        for name in &required {
            body.remove(*name);
        }
        let (status, answer) = send_route(app, route, &body, Enc::Json).await;
        let ctx = format!("{label} without {required:?}");
        expect_error(status, &answer, 400, "invalid_params", &ctx);
        for name in &required {
            assert!(
                answer["data"]["fields"].get(*name).is_some(),
                "{ctx}: `{name}` not named: {answer}"
            );
        }
    }

    for p in &route.params {
        // (what, encoding, new value or None to drop it, expectation)
        let mut cases: Vec<(String, Enc, Option<Value>, Want)> = Vec::new();
        if let Some(w) = p.missing {
            cases.push(("missing".into(), Enc::Json, None, w));
            cases.push(("empty".into(), Enc::Json, Some(json!("")), w));
            cases.push(("null".into(), Enc::Json, Some(Value::Null), w));
            cases.push(("missing (form)".into(), Enc::Form, None, w));
            cases.push(("empty (form)".into(), Enc::Form, Some(json!("")), w));
        }
        for wrong in [json!(12345), json!(true), json!({ "a": 1 }), json!(["a"])] {
            cases.push((
                format!("of wrong type {wrong}"),
                Enc::Json,
                Some(wrong),
                p.wrong,
            ));
        }
        for (i, (value, w)) in p.odd.iter().enumerate() {
            let what = if value.len() > 64 {
                format!("{} bytes long", value.len())
            } else {
                format!("{value:?}")
            };
            cases.push((what.clone(), Enc::Json, Some(json!(value)), *w));
            if i == 0 {
                cases.push((format!("{what} (form)"), Enc::Form, Some(json!(value)), *w));
            }
        }
        for (what, enc, value, want) in cases {
            let mut body = fresh_body(app, route).await;
            match value {
                Some(v) => body.insert(p.name.into(), v),
                None => body.remove(p.name),
            };
            let (status, answer) = send_route(app, route, &body, enc).await;
            judge(
                status,
                &answer,
                want,
                p.name,
                &format!("{label} with `{}` {what}", p.name),
            );
        }
    }

    assert_unchanged(&before, &snapshot(app).await, &label);
    assert_eq!(app.sms.count(), sms_before, "{label}: a code went out");

    let body = fresh_body(app, route).await;
    let (status, answer) = send_route(app, route, &body, Enc::Json).await;
    assert_eq!(
        status, route.ok,
        "{label}: the valid body must succeed: {answer}"
    );
}
