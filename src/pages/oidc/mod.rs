//! The OpenID Connect endpoints a browser visits (PROTOCOLS §3.2, §3.5): `/oauth2/authorize`
//! and `/oauth2/logout`. A POST to either is kept as a flow and answered 303 to its GET form,
//! so the `SameSite=Lax` session cookie comes along.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::{Deserialize, Serialize};

use crate::flow::{Flow, Resume};
use crate::http::redirect::Location;
use crate::oidc::params::Params;
use crate::oidc::{self, AuthRequest, Refusal};
use crate::pages::{self, Texts, i18n};
use crate::partners::{self, ClientRow, RegisteredUri};
use crate::sessions::{self, EndReason, Which};
use crate::state::{AppState, Shared};

mod end_session;
pub use end_session::{logout, logout_post};

fn error_page(state: &AppState, req: &HttpRequest, reason: &str) -> HttpResponse {
    pages::error_page(state, req, StatusCode::BAD_REQUEST, reason)
}

fn go(state: &AppState, status: StatusCode, to: Location) -> HttpResponse {
    pages::redirect(state, status, to).finish()
}

/// GET /oauth2/authorize: a request, or (`?flow=`) one kept while the person signed in.
#[utoipa::path(
    tag = "oidc",
    params(
        ("client_id" = Option<String>, Query), ("redirect_uri" = Option<String>, Query),
        ("response_type" = Option<String>, Query), ("scope" = Option<String>, Query),
        ("state" = Option<String>, Query), ("nonce" = Option<String>, Query),
        ("code_challenge" = Option<String>, Query), ("code_challenge_method" = Option<String>, Query),
        ("prompt" = Option<String>, Query), ("max_age" = Option<String>, Query),
        ("login_hint" = Option<String>, Query), ("ui_locales" = Option<String>, Query),
        ("id_token_hint" = Option<String>, Query), ("flow" = Option<String>, Query),
    ),
    responses(
        (status = 302, description = "To the client's redirect URI with `code` (or `error`), `state` and `iss`; or to the sign-in page"),
        (status = 400, description = "Error page: `invalid_client`, `callback_not_registered`, `flow_expired`", content_type = "text/html"),
    )
)]
#[get("/oauth2/authorize")]
pub async fn authorize(state: Shared, req: HttpRequest) -> HttpResponse {
    let p = Params::from_query(&req);
    if let Some(id) = p.get("flow") {
        return resume(&state, &req, id).await;
    }
    match AuthRequest::check(&state, &p).await {
        Ok((client, uri, request)) => decide(&state, &req, &client, &uri, request, None).await,
        Err(refusal) => refused(&state, &req, refusal),
    }
}

/// POST /oauth2/authorize: kept, then its GET form.
#[utoipa::path(
    tag = "oidc",
    request_body(content = Option<Object>, content_type = "application/x-www-form-urlencoded",
        description = "The parameters of GET /oauth2/authorize"),
    responses(
        (status = 303, description = "To GET /oauth2/authorize?flow=…, or an error response as for GET"),
        (status = 400, description = "Error page", content_type = "text/html"),
    )
)]
#[post("/oauth2/authorize")]
pub async fn authorize_post(state: Shared, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let p = match Params::from_form(&req, body).await {
        Ok(p) => p,
        Err(_) => return error_page(&state, &req, "invalid_request"),
    };
    match AuthRequest::check(&state, &p).await {
        Ok((client, _, request)) => {
            let flow = Flow {
                resume: Resume::Authorize,
                client_name: client.name.clone(),
                login_hint: request.login_hint.clone(),
                request: serde_json::to_value(&request).unwrap_or_default(),
                signed_in: None,
                posted: true,
            };
            match flow.save(&state).await {
                Ok(id) => go(&state, StatusCode::SEE_OTHER, flow.resume_at(&id)),
                Err(_) => error_page(&state, &req, "unavailable"),
            }
        }
        Err(refusal) => {
            let mut res = refused(&state, &req, refusal);
            if res.status() == StatusCode::FOUND {
                *res.status_mut() = StatusCode::SEE_OTHER;
            }
            res
        }
    }
}

fn refused(
    state: &AppState,
    req: &HttpRequest,
    (refusal, back): (Refusal, Option<(RegisteredUri, Option<String>)>),
) -> HttpResponse {
    match (refusal, back) {
        (Refusal::Redirect { error, description }, Some((uri, echo))) => go(
            state,
            StatusCode::FOUND,
            oidc::respond(
                state,
                &uri,
                &[("error", error), ("error_description", &description)],
                echo.as_deref(),
            ),
        ),
        (Refusal::Page(reason), _) => error_page(state, req, reason),
        (Refusal::Redirect { error, .. }, None) => error_page(state, req, error),
    }
}

/// A kept request, back from the sign-in page (or from its own POST).
async fn resume(state: &AppState, req: &HttpRequest, id: &str) -> HttpResponse {
    let flow = match Flow::take(state, id).await {
        Ok(Some(flow)) if flow.resume == Resume::Authorize => flow,
        Ok(_) => return error_page(state, req, "flow_expired"),
        Err(_) => return error_page(state, req, "unavailable"),
    };
    let Ok(request) = serde_json::from_value::<AuthRequest>(flow.request.clone()) else {
        return error_page(state, req, "flow_expired");
    };
    // The client may have been disabled, or its URI removed, while the person signed in.
    let client = match partners::oidc_client(state, &request.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return error_page(state, req, "invalid_client"),
        Err(_) => return error_page(state, req, "unavailable"),
    };
    let Some(uri) = client.redirect_uri(&request.redirect_uri) else {
        return error_page(state, req, "callback_not_registered");
    };
    if flow.posted {
        return decide(state, req, &client, &uri, request, None).await;
    }
    decide(state, req, &client, &uri, request, Some((id, flow))).await
}

/// Code now, `login_required`, or the sign-in page (PROTOCOLS §3.2 step 3). `flow` is the
/// kept flow this request came back through, which a sign-in made for it satisfies.
async fn decide(
    state: &AppState,
    req: &HttpRequest,
    client: &ClientRow,
    uri: &RegisteredUri,
    request: AuthRequest,
    flow: Option<(&str, Flow)>,
) -> HttpResponse {
    let unavailable = |state: &AppState| {
        let to = oidc::respond(
            state,
            uri,
            &[
                ("error", "temporarily_unavailable"),
                ("error_description", "a backing service is unavailable"),
            ],
            request.state.as_deref(),
        );
        go(state, StatusCode::FOUND, to)
    };
    let session = match pages::current_session(state, req).await {
        Ok(s) => s,
        Err(_) => return unavailable(state),
    };
    if let Some((sid, user_id)) = &session {
        let signed_in_for_it = flow
            .as_ref()
            .is_some_and(|(_, f)| f.signed_in.as_deref() == Some(sid.as_str()));
        let satisfied = match signed_in_for_it {
            true => Ok(true),
            false if flow.is_some() => Ok(false),
            false => oidc::satisfied_by(state, &request, sid, user_id).await,
        };
        match satisfied {
            Ok(true) => {
                return match oidc::issue_code(state, uri, &request, sid).await {
                    Ok(to) => go(state, StatusCode::FOUND, to),
                    Err(_) => unavailable(state),
                };
            }
            Ok(false) => {}
            Err(_) => return unavailable(state),
        }
    }
    if request.prompt_none {
        let to = oidc::respond(
            state,
            uri,
            &[
                ("error", "login_required"),
                ("error_description", "no session satisfies the request"),
            ],
            request.state.as_deref(),
        );
        return go(state, StatusCode::FOUND, to);
    }
    let lang = request.ui_locales.clone();
    let kept = Flow {
        resume: Resume::Authorize,
        client_name: client.name.clone(),
        login_hint: request.login_hint.clone(),
        request: serde_json::to_value(&request).unwrap_or_default(),
        signed_in: None,
        posted: false,
    };
    let id = match flow {
        Some((id, _)) => kept.put(state, id).await.map(|_| id.to_owned()),
        None => kept.save(state).await,
    };
    let Ok(id) = id else {
        return unavailable(state);
    };
    let mut res = go(state, StatusCode::FOUND, Flow::sign_in_at(&id));
    if let Some(tag) = lang.as_deref().and_then(ui_locale) {
        let mut c = pages::cookie(state, "lang", tag.to_owned());
        c.set_http_only(false);
        let _ = res.add_cookie(&c);
    }
    res
}

/// The page language `ui_locales` asks for first, among ours: `en`, or any `zh`.
fn ui_locale(ui_locales: &str) -> Option<&'static str> {
    ui_locales.split(' ').find_map(|tag| {
        let tag = tag.to_ascii_lowercase();
        match tag.split('-').next() {
            Some("en") => Some("en"),
            Some("zh") => Some("zh-CN"),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_pick_the_first_language_we_have() {
        assert_eq!(ui_locale("fr en"), Some("en"));
        assert_eq!(ui_locale("zh-TW"), Some("zh-CN"));
        assert_eq!(ui_locale("EN-us zh"), Some("en"));
        assert_eq!(ui_locale("fr de"), None);
    }
}
