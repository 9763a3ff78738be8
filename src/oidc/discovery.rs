//! The provider's metadata (OpenID Connect Discovery 1.0; PROTOCOLS §3.1).

use actix_web::http::header;
use actix_web::{HttpResponse, get};
use serde_json::json;

use super::SCOPES;
use crate::partners::AuthMethod;
use crate::state::Shared;
use crate::tokens::ClientAlg;

/// The claims userinfo and ID tokens may carry.
const CLAIMS: [&str; 17] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "sid",
    "name",
    "preferred_username",
    "picture",
    "updated_at",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
];

/// The provider's metadata (OpenID Connect Discovery 1.0).
#[utoipa::path(
    tag = "oidc",
    responses((status = 200, description = "Provider metadata", body = Object))
)]
#[get("/.well-known/openid-configuration")]
pub async fn discovery(state: Shared) -> HttpResponse {
    let issuer = state.tokens.issuer();
    let at = |path: &str| format!("{issuer}{path}");
    let methods = AuthMethod::ALL.map(AuthMethod::as_str);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(json!({
            "issuer": issuer,
            "authorization_endpoint": at("/oauth2/authorize"),
            "token_endpoint": at("/oauth2/token"),
            "userinfo_endpoint": at("/oauth2/userinfo"),
            "jwks_uri": at("/.well-known/jwks.json"),
            "introspection_endpoint": at("/oauth2/introspect"),
            "revocation_endpoint": at("/oauth2/revoke"),
            "end_session_endpoint": at("/oauth2/logout"),
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ClientAlg::ALL.map(ClientAlg::as_str),
            "token_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_methods_supported": methods,
            "introspection_endpoint_auth_methods_supported": &methods[..2],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": CLAIMS,
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "ui_locales_supported": ["zh-CN", "en"],
            "authorization_response_iss_parameter_supported": true,
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "claims_parameter_supported": false,
            "frontchannel_logout_supported": false,
        }))
}
