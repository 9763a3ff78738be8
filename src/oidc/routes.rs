//! The OpenID Connect JSON endpoints (PROTOCOLS §3.1, §3.4-3.6): discovery, token, userinfo,
//! introspection, revocation. Errors are OAuth's own JSON (`error::OAuthError`).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, options, post, web};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::claims;
use super::client_auth::{self, Public};
use super::error::{OAuthError, OAuthResult};
use super::grants::{self, Rotation};
use super::params::Params;
use super::presented::{self, Found};
use crate::partners::{self, ClientRow};
use crate::state::{AppState, Shared};

/// The token endpoint's form (documentation; the body is read by `Params`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenForm {
    /// `authorization_code` or `refresh_token`.
    pub grant_type: String,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// `client_secret_post` and public clients.
    pub client_id: Option<String>,
    /// `client_secret_post` only.
    pub client_secret: Option<String>,
}

/// A token (and its hint) with the client's credentials: introspection and revocation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenOfClient {
    pub token: String,
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// A client's call to an OAuth endpoint: its form, and the client it authenticates as.
async fn client_call(
    state: &AppState,
    req: &HttpRequest,
    body: web::Payload,
    public: Public,
) -> OAuthResult<(Params, ClientRow)> {
    let p = Params::from_form(req, body).await?;
    let client = client_auth::authenticate(state, req, &p, public).await?;
    Ok((p, client))
}

/// The `token` of introspection and revocation (RFC 7662 §2.1, RFC 7009 §2.1).
fn token_param(p: &Params) -> OAuthResult<&str> {
    p.get("token")
        .ok_or_else(|| OAuthError::invalid_request("`token` is required"))
}

/// A JSON answer that no cache may keep (RFC 6749 §5.1).
fn no_store(body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// Issues tokens for a code or a refresh token.
#[utoipa::path(
    tag = "oidc",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "Access, refresh and ID tokens", body = Object),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`", body = Object),
        (status = 401, description = "`invalid_client`", body = Object),
        (status = 413, description = "Body over 64 KiB", body = Object),
        (status = 503, description = "`temporarily_unavailable`", body = Object),
    )
)]
#[post("/oauth2/token")]
pub async fn token_endpoint(state: Shared, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let answer = token_answer(&state, &req, body).await;
    with_cors(&state, &req, answer).await
}

async fn token_answer(
    state: &AppState,
    req: &HttpRequest,
    body: web::Payload,
) -> OAuthResult<HttpResponse> {
    let (p, client) = client_call(state, req, body, Public::Allowed).await?;
    if let Some(name) = p.repeated() {
        return Err(OAuthError::invalid_request(format!(
            "`{name}` given more than once"
        )));
    }
    let issued = match p.get("grant_type") {
        Some("authorization_code") => exchange_code(state, &client, &p).await?,
        Some("refresh_token") => {
            let presented = p
                .get("refresh_token")
                .ok_or_else(|| OAuthError::invalid_request("`refresh_token` is required"))?;
            match grants::refresh(state, &client, presented, p.get("scope")).await? {
                Rotation::Issued(issued) => issued,
                Rotation::InvalidGrant(why) => return Err(OAuthError::invalid_grant(why)),
                Rotation::InvalidScope => {
                    return Err(OAuthError::invalid_scope(
                        "scope must be within the original grant and include openid",
                    ));
                }
            }
        }
        None => return Err(OAuthError::invalid_request("`grant_type` is required")),
        Some(_) => return Err(OAuthError::unsupported_grant_type()),
    };
    Ok(no_store(&issued))
}

async fn exchange_code(
    state: &AppState,
    client: &ClientRow,
    p: &Params,
) -> OAuthResult<grants::Issued> {
    let code = p
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("`code` is required"))?;
    let grant = super::codes::redeem_code(
        state,
        client,
        code,
        p.get("redirect_uri"),
        p.get("code_verifier"),
    )
    .await?
    .map_err(OAuthError::invalid_grant)?;
    grants::issue(
        state,
        client,
        &grant.sid,
        &grant.scope,
        grant.nonce.as_deref(),
        &grant.seen,
    )
    .await
    .map_err(|e| match e {
        crate::error::ApiError::TokenRevoked => {
            OAuthError::invalid_grant("the session has ended or the account is disabled")
        }
        other => other.into(),
    })
}

/// The access token of a userinfo request: `Authorization: Bearer`, or (POST) the form's
/// `access_token`; never both.
async fn bearer(req: &HttpRequest, body: Option<web::Payload>) -> OAuthResult<Option<String>> {
    let header = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v.to_str().map_err(|_| OAuthError::invalid_token(true))?;
            match v.trim().split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                    Some(token.trim().to_owned())
                }
                _ => return Err(OAuthError::invalid_token(true)),
            }
        }
    };
    let form = match body {
        Some(body) => Params::from_form(req, body)
            .await?
            .get("access_token")
            .map(str::to_owned),
        None => None,
    };
    match (header, form) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "the access token was sent twice",
        )),
        (h, f) => Ok(h.or(f)),
    }
}

/// What the access token's scopes say about its user.
#[utoipa::path(
    tag = "oidc", security(("bearer" = [])),
    responses(
        (status = 200, description = "Claims: `sub` and those of the granted scopes", body = Object),
        (status = 401, description = "`invalid_token`, with `WWW-Authenticate: Bearer`", body = Object),
        (status = 403, description = "`insufficient_scope`: no `openid` scope", body = Object),
        (status = 503, description = "`temporarily_unavailable`", body = Object),
    )
)]
#[get("/oauth2/userinfo")]
pub async fn userinfo(state: Shared, req: HttpRequest) -> HttpResponse {
    let answer = match bearer(&req, None).await {
        Ok(token) => answer_userinfo(&state, token).await,
        Err(e) => Err(e),
    };
    with_cors(&state, &req, answer).await
}

/// Userinfo by POST (the token in the header or the form's `access_token`).
#[utoipa::path(
    tag = "oidc", security((), ("bearer" = [])),
    request_body(content = Option<UserinfoForm>, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Claims: `sub` and those of the granted scopes", body = Object),
        (status = 400, description = "`invalid_request`", body = Object),
        (status = 401, description = "`invalid_token`, with `WWW-Authenticate: Bearer`", body = Object),
        (status = 403, description = "`insufficient_scope`: no `openid` scope", body = Object),
        (status = 413, description = "Body over 64 KiB", body = Object),
        (status = 503, description = "`temporarily_unavailable`", body = Object),
    )
)]
#[post("/oauth2/userinfo")]
pub async fn userinfo_post(state: Shared, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let answer = match bearer(&req, Some(body)).await {
        Ok(token) => answer_userinfo(&state, token).await,
        Err(e) => Err(e),
    };
    with_cors(&state, &req, answer).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserinfoForm {
    pub access_token: Option<String>,
}

async fn answer_userinfo(state: &AppState, token: Option<String>) -> OAuthResult<HttpResponse> {
    let Some(token) = token else {
        return Err(OAuthError::invalid_token(false));
    };
    let claims = match crate::sessions::authenticate(state, &token).await {
        Ok(c) if c.is_oauth() => c,
        Err(e @ (crate::error::ApiError::Unavailable(_) | crate::error::ApiError::Internal(_))) => {
            return Err(e.into());
        }
        _ => return Err(OAuthError::invalid_token(true)),
    };
    let scope = claims.scope.as_deref().unwrap_or("");
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(OAuthError::insufficient_scope());
    }
    let user = crate::accounts::load(state, &claims.sub)
        .await?
        .filter(|u| u.is_active())
        .ok_or_else(|| OAuthError::invalid_token(true))?;
    let mut body = claims::for_scopes(&user, scope);
    body.insert("sub".into(), Value::from(user.id));
    Ok(no_store(&body))
}

/// RFC 7662 introspection, for confidential clients and their own tokens.
#[utoipa::path(
    tag = "oidc",
    request_body(content = TokenOfClient, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "`{\"active\": true, …}` for a live token of the caller, else `{\"active\": false}`", body = Object),
        (status = 400, description = "`invalid_request`", body = Object),
        (status = 401, description = "`invalid_client`", body = Object),
        (status = 413, description = "Body over 64 KiB", body = Object),
        (status = 503, description = "`temporarily_unavailable`", body = Object),
    )
)]
#[post("/oauth2/introspect")]
pub async fn introspect(
    state: Shared,
    req: HttpRequest,
    body: web::Payload,
) -> OAuthResult<HttpResponse> {
    let (p, client) = client_call(&state, &req, body, Public::Refused).await?;
    let token = token_param(&p)?;
    let found = presented::find(&state, &client, token).await?;
    Ok(no_store(&found.introspection(state.tokens.issuer())))
}

/// RFC 7009 revocation: always 200 once the client is known.
#[utoipa::path(
    tag = "oidc",
    request_body(content = TokenOfClient, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "Revoked, or nothing of the caller's to revoke"),
        (status = 400, description = "`invalid_request`", body = Object),
        (status = 401, description = "`invalid_client`", body = Object),
        (status = 413, description = "Body over 64 KiB", body = Object),
        (status = 503, description = "`temporarily_unavailable`", body = Object),
    )
)]
#[post("/oauth2/revoke")]
pub async fn revoke(state: Shared, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let answer = revoke_answer(&state, &req, body).await;
    with_cors(&state, &req, answer).await
}

async fn revoke_answer(
    state: &AppState,
    req: &HttpRequest,
    body: web::Payload,
) -> OAuthResult<HttpResponse> {
    let (p, client) = client_call(state, req, body, Public::Allowed).await?;
    let token = token_param(&p)?;
    match presented::find(state, &client, token).await? {
        Found::Access(claims) => presented::revoke_access(state, &claims).await?,
        Found::Refresh(row) => {
            grants::revoke_client_in_session(state, &row.sid, &client.client_id).await?
        }
        Found::None => {}
    }
    Ok(HttpResponse::Ok().finish())
}

/// CORS preflight for the endpoints a public client's page calls (PROTOCOLS §3.6).
async fn preflight(state: &AppState, req: &HttpRequest) -> HttpResponse {
    let res = HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
        .finish();
    with_cors(state, req, Ok(res)).await
}

/// CORS preflight: the origin is allowed only when it is a public client's.
#[utoipa::path(tag = "oidc", responses((status = 204, description = "Preflight answered")))]
#[options("/oauth2/token")]
pub async fn token_preflight(state: Shared, req: HttpRequest) -> HttpResponse {
    preflight(&state, &req).await
}

/// CORS preflight: the origin is allowed only when it is a public client's.
#[utoipa::path(tag = "oidc", responses((status = 204, description = "Preflight answered")))]
#[options("/oauth2/revoke")]
pub async fn revoke_preflight(state: Shared, req: HttpRequest) -> HttpResponse {
    preflight(&state, &req).await
}

/// CORS preflight: the origin is allowed only when it is a public client's.
#[utoipa::path(tag = "oidc", responses((status = 204, description = "Preflight answered")))]
#[options("/oauth2/userinfo")]
pub async fn userinfo_preflight(state: Shared, req: HttpRequest) -> HttpResponse {
    preflight(&state, &req).await
}

/// Reflects the request's `Origin` when it is the origin of a public client's redirect URI;
/// never with credentials.
async fn with_cors(
    state: &AppState,
    req: &HttpRequest,
    answer: OAuthResult<HttpResponse>,
) -> HttpResponse {
    // Errors too: a public client's page must be able to read why it was refused.
    let mut res = answer.unwrap_or_else(|e| actix_web::ResponseError::error_response(&e));
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    else {
        return res;
    };
    if let Ok(origins) = partners::public_origins(state).await
        && origins.iter().any(|o| o == origin)
        && let Ok(value) = HeaderValue::from_str(origin)
    {
        res.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    res
}
