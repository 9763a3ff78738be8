//! The OpenAPI document. Paths come from the handlers themselves: routes are registered through
//! `utoipa_actix_web`, which only accepts handlers carrying `#[utoipa::path]`, so a route
//! cannot be added without being documented.

pub mod fields;
pub mod responses;

/// `schema_from!(Type, build)`: `Type`'s schema is the one `build()` writes by hand (in
/// [`fields`]), for a body utoipa cannot derive, such as one whose fields depend on each other.
macro_rules! schema_from {
    ($type:ty, $build:path) => {
        impl utoipa::PartialSchema for $type {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $build().into()
            }
        }

        impl utoipa::ToSchema for $type {}
    };
}
pub(crate) use schema_from;

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{AnyOfBuilder, Schema};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{RefOr, Required};
use utoipa::{IntoParams, Modify, OpenApi, PartialSchema, ToSchema};

/// The envelope every JSON answer is wrapped in.
#[derive(Serialize, ToSchema)]
pub struct EnvelopeOf<T> {
    /// Equals the HTTP status.
    pub code: u16,
    /// Human-readable; Simplified Chinese unless `Accept-Language` prefers English.
    pub message: String,
    pub data: T,
    /// Total matching rows for list endpoints, else 0.
    pub total: u64,
}

/// A success whose `data` is `null`.
#[derive(Serialize, ToSchema)]
pub struct EnvelopeNull {
    pub code: u16,
    pub message: String,
    #[schema(value_type = Option<String>)]
    pub data: Option<()>,
    pub total: u64,
}

/// A success whose `data` is a string (a token).
#[derive(Serialize, ToSchema)]
pub struct EnvelopeString {
    pub code: u16,
    pub message: String,
    pub data: String,
    pub total: u64,
}

/// Why a request failed.
#[derive(Serialize, ToSchema)]
pub struct ErrorData {
    /// Stable, machine-readable reason, e.g. `invalid_params`, `token_revoked`.
    pub error: String,
    /// For `invalid_params`: parameter name to problem.
    #[schema(value_type = Option<Object>)]
    pub fields: Option<serde_json::Value>,
    /// For `rate_limited`: seconds to wait (also in `Retry-After`).
    pub retry_after: Option<u64>,
}

/// A failure.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub code: u16,
    pub message: String,
    pub data: ErrorData,
    pub total: u64,
}

/// Final touches to the serialised document, once every route's path is in it.
///
/// - An optional request body is written `Option<T>` in the annotations, which utoipa renders
///   as `oneOf: [T, null]`; the body may be left out, but is never a JSON `null`, so the
///   `null` alternative is dropped.
/// - A form cannot send `null` or an array (a repeated key leaves its last value), so each
///   urlencoded body gets its own copy of the schema without them ([`formify`]).
pub fn finish(doc: &mut Value) {
    let components = doc
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or(Value::Null);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        for method in ["get", "put", "post", "delete", "patch"] {
            let Some(content) = item
                .pointer_mut(&format!("/{method}/requestBody/content"))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            // Every route reads its parameters alike from JSON or a form (`http::input`), so
            // the form is documented here once rather than on each route.
            if let Some(json) = content.get("application/json").cloned() {
                content
                    .entry("application/x-www-form-urlencoded")
                    .or_insert(json);
            }
            for (media_type, media) in content.iter_mut() {
                let Some(schema) = media.get_mut("schema") else {
                    continue;
                };
                if let Some(Value::Array(alternatives)) = schema.get("oneOf")
                    && alternatives.len() == 2
                    && let Some(body) = alternatives
                        .iter()
                        .find(|a| a.get("type") != Some(&json!("null")))
                {
                    *schema = body.clone();
                }
                if media_type == "application/x-www-form-urlencoded" {
                    if let Some(name) = schema
                        .get("$ref")
                        .and_then(Value::as_str)
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        && let Some(target) = components.get(name)
                    {
                        *schema = target.clone();
                    }
                    formify(schema);
                }
            }
        }
    }
}

/// The schema a form body can meet: no `null` types or values, no array alternatives.
fn formify(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
            }
            if let Some(Value::Array(types)) = map.get("type")
                && let [only] = types.as_slice()
            {
                let only = only.clone();
                map.insert("type".into(), only);
            }
            if let Some(Value::Array(values)) = map.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            if let Some(Value::Array(alternatives)) = map.get_mut("anyOf") {
                alternatives.retain(|a| a.get("type") != Some(&json!("array")));
            }
            map.values_mut().for_each(formify);
        }
        Value::Array(items) => items.iter_mut().for_each(formify),
        _ => {}
    }
}

/// A user as `GET /users/{user_id}` shows it: the full object (oneself, operators) or only
/// `id`, `username` and `head_img`.
pub struct UserOrPublic;

impl PartialSchema for UserOrPublic {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(crate::accounts::UserView::schema())
            .item(crate::accounts::model::PublicUserView::schema())
            .into()
    }
}

impl ToSchema for UserOrPublic {}

/// The seed-001 (camelCase) user object of `GET /users/info/*`: `phone` and `openid` only for
/// oneself and operators, the WeChat profile keys only on WeChat users' objects.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub id: String,
    #[schema(required = true)]
    pub user_name: Option<String>,
    #[schema(required = true)]
    pub head_img: Option<String>,
    pub phone: Option<String>,
    pub openid: Option<String>,
    pub avatar_url: Option<String>,
    pub nick_name: Option<String>,
    pub country: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub language: Option<String>,
}

/// A header parameter built from one of the [`fields`] schemas.
fn header(name: &str, required: bool, schema: utoipa::openapi::schema::Schema) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .schema(Some(schema))
        .build()
}

/// The optional `terminal` header of the sign-in routes.
pub struct TerminalHeader;

impl IntoParams for TerminalHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![header("terminal", false, fields::terminal_header())]
    }
}

/// The `word-info` header, required (registration).
pub struct WordInfoHeader;

impl IntoParams for WordInfoHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![header("word-info", true, fields::word_info())]
    }
}

/// The `word-info` header of `POST /users/login`: needed with `phone`, not with a WeChat
/// `code` (OpenAPI cannot tie a header to a body field; without it a phone login is 400
/// `invalid_params`).
pub struct LoginHeaders;

impl IntoParams for LoginHeaders {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            header("word-info", false, fields::word_info()),
            header("terminal", false, fields::terminal_header()),
        ]
    }
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        // The other two ways a token may travel (the contract's token transport); a write
        // request may also carry it as a `token` field of its body.
        components.add_security_scheme(
            "token_header",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("token"))),
        );
        components.add_security_scheme(
            "token_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("token"))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse",
        description = "Single sign-on identity provider. Every JSON answer is an envelope \
            `{code, message, data, total}`; write requests take JSON or urlencoded forms; a token \
            may come as `Authorization: Bearer`, a `token` header or a `token` parameter."
    ),
    components(schemas(ErrorEnvelope, ErrorData, EnvelopeNull, EnvelopeString)),
    modifiers(&Security),
    tags(
        (name = "accounts", description = "Sign-up, sign-in, passwords, profiles"),
        (name = "codes", description = "Verification codes"),
        (name = "captcha", description = "Image captchas"),
        (name = "tokens", description = "Token checks and keys"),
        (name = "health", description = "Liveness and readiness"),
        (name = "multi-terminal", description = "Apps and mini-programs: word-info passwords, WeChat login, refresh"),
        (name = "admin", description = "Operators: partner systems, users, single-logout deliveries"),
        (name = "oidc", description = "OpenID Connect provider (PROTOCOLS §3): discovery, authorization, tokens, userinfo, introspection, revocation, logout"),
        (name = "cas", description = "CAS 3.0 server (PROTOCOLS §4): ticket validation answered in CAS XML, JSON or text; `/cas/login` and `/cas/logout` are browser pages"),
    )
)]
pub struct ApiDoc;
