//! The CAS endpoints a browser visits (PROTOCOLS §4): `/cas/login` (a ticket for a registered
//! service, through the usual sign-in page when needed) and `/cas/logout`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::cas::{self, Grant};
use crate::error::ApiError;
use crate::flow::{Flow, Resume};
use crate::http::redirect::Location;
use crate::oidc::params::Params;
use crate::pages;
use crate::partners::{self, ClientRow, Registered};
use crate::sessions::{self, EndReason, Which};
use crate::state::{AppState, Shared};

/// A `/cas/login` request kept while the person signs in.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept {
    service: String,
    renew: bool,
}

fn error_page(state: &AppState, req: &HttpRequest, reason: &str) -> HttpResponse {
    pages::error_page(state, req, StatusCode::BAD_REQUEST, reason)
}

fn go(state: &AppState, to: Location) -> HttpResponse {
    pages::redirect(state, StatusCode::FOUND, to).finish()
}

async fn service(
    state: &AppState,
    req: &HttpRequest,
    raw: &str,
) -> Result<(ClientRow, Registered), HttpResponse> {
    partners::for_service(state, raw)
        .await
        .map_err(|e| match e {
            ApiError::CallbackNotRegistered => error_page(state, req, "callback_not_registered"),
            _ => error_page(state, req, "unavailable"),
        })
}

/// GET /cas/login: a ticket for `service`, or the sign-in page first.
pub async fn login(state: Shared, req: HttpRequest) -> HttpResponse {
    let p = Params::from_query(&req);
    if let Some(id) = p.get("flow") {
        return resume(&state, &req, id).await;
    }
    let Some(raw) = p.get("service") else {
        return go(&state, Location::page("/login"));
    };
    let (client, url) = match service(&state, &req, raw).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let renew = cas::flag(p.get("renew"));
    // `gateway` never shows a page, and is ignored with `renew`.
    let gateway = !renew && cas::flag(p.get("gateway"));
    let session = match pages::current_session(&state, &req).await {
        Ok(s) => s,
        Err(_) => return error_page(&state, &req, "unavailable"),
    };
    match session {
        Some((sid, _)) if !renew => return ticket(&state, &req, &client, &url, &sid, false).await,
        _ if gateway => return go(&state, url.location()),
        _ => {}
    }
    let kept = Flow {
        resume: Resume::Cas,
        client_name: client.name.clone(),
        login_hint: None,
        request: serde_json::to_value(Kept {
            service: url.as_url().to_string(),
            renew,
        })
        .unwrap_or_default(),
        signed_in: None,
        posted: false,
    };
    match kept.save(&state).await {
        Ok(id) => go(&state, Flow::sign_in_at(&id)),
        Err(_) => error_page(&state, &req, "unavailable"),
    }
}

/// A kept request, back from the sign-in page: a ticket for the session that signed in for
/// it, and for no other.
async fn resume(state: &AppState, req: &HttpRequest, id: &str) -> HttpResponse {
    let flow = match Flow::take(state, id).await {
        Ok(Some(flow)) if flow.resume == Resume::Cas => flow,
        Ok(_) => return error_page(state, req, "flow_expired"),
        Err(_) => return error_page(state, req, "unavailable"),
    };
    let Ok(kept) = serde_json::from_value::<Kept>(flow.request.clone()) else {
        return error_page(state, req, "flow_expired");
    };
    // The service may have been disabled, or its rule removed, while the person signed in.
    let (client, url) = match service(state, req, &kept.service).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let session = match pages::current_session(state, req).await {
        Ok(s) => s,
        Err(_) => return error_page(state, req, "unavailable"),
    };
    match session {
        Some((sid, _)) if flow.signed_in.as_deref() == Some(sid.as_str()) => {
            ticket(state, req, &client, &url, &sid, true).await
        }
        _ => {
            // Not signed in for this flow (yet): the sign-in page again, for the same flow.
            let again = Flow {
                signed_in: None,
                ..flow
            };
            match again.put(state, id).await {
                Ok(()) => go(state, Flow::sign_in_at(id)),
                Err(_) => error_page(state, req, "unavailable"),
            }
        }
    }
}

async fn ticket(
    state: &AppState,
    req: &HttpRequest,
    client: &ClientRow,
    url: &Registered,
    sid: &str,
    new_login: bool,
) -> HttpResponse {
    let grant = Grant {
        client_id: client.client_id.clone(),
        service: url.as_url().to_string(),
        sid: sid.to_owned(),
        new_login,
    };
    match cas::tickets::issue(state, &grant).await {
        Ok(ticket) => go(state, url.location_with("ticket", &ticket)),
        Err(_) => error_page(state, req, "unavailable"),
    }
}

/// GET /cas/logout: ends the session (single logout runs in the background), then goes to
/// `service` (or `url`) when it is a registered CAS service, else the signed-out page.
pub async fn logout(state: Shared, req: HttpRequest) -> HttpResponse {
    if let Ok(Some((sid, _))) = pages::current_session(&state, &req).await
        && sessions::end(&state, Which::One(&sid), EndReason::SignOut)
            .await
            .is_err()
    {
        return error_page(&state, &req, "unavailable");
    }
    let clear = pages::clear_session_cookie(&state);
    let p = Params::from_query(&req);
    if let Some(raw) = p.get("service").or(p.get("url"))
        && let Ok((_, url)) = partners::for_service(&state, raw).await
    {
        return pages::redirect(&state, StatusCode::FOUND, url.location())
            .cookie(clear)
            .finish();
    }
    let mut res = super::logout::signed_out_page(&state, &req);
    let _ = res.add_cookie(&clear);
    res
}

/// Any method but GET at a CAS browser endpoint.
pub async fn not_get(state: Shared, req: HttpRequest) -> HttpResponse {
    error_page(&state, &req, "invalid_request")
}
