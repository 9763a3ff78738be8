//! What a successful sign-in on the page does: the session (kept for the same person, new
//! for anyone else) and where the browser goes next.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::accounts::model;
use crate::audit::{Event, Origin, Record};
use crate::error::{ApiError, ApiResult};
use crate::flow::Flow;
use crate::http::client_ip::client_ip;
use crate::http::redirect::Location;
use crate::pages;
use crate::partners::{self, ClientMode, ClientRow, Registered, tickets};
use crate::sessions::{self, Amr, EndReason, NewSession, Which};
use crate::state::AppState;

/// Where the browser goes back to: the callback with a fresh token or ticket for its partner.
pub(super) async fn back_to_partner(
    state: &AppState,
    sid: &str,
    client: &ClientRow,
    url: &Registered,
) -> ApiResult<Location> {
    Ok(match client.mode() {
        ClientMode::Ticket => {
            let (token, _) = sessions::issue_in(state, sid, Some(&client.client_id), false).await?;
            let ticket = tickets::issue(state, &client.client_id, &token).await?;
            url.location_with("ticket", &ticket)
        }
        ClientMode::Token => {
            let (token, _) = sessions::issue_in(state, sid, Some(&client.client_id), true).await?;
            url.location_with("token", &token)
        }
        // Never found by a callback URL (`partners::for_callback`).
        ClientMode::Oidc | ClientMode::Cas => return Err(ApiError::CallbackNotRegistered),
    })
}

/// Where a successful sign-in goes: back to a partner's callback, on with a protocol flow,
/// or to the account page.
pub(super) struct Onward<'a> {
    pub(super) target: Option<&'a (ClientRow, Registered)>,
    pub(super) flow: Option<(&'a str, Flow)>,
}

pub(super) async fn finish_sign_in(
    state: &AppState,
    req: &HttpRequest,
    user: &model::UserRow,
    amr: Amr,
    onward: Onward<'_>,
) -> ApiResult<HttpResponse> {
    let secret = partners::new_secret();
    let browser_key = pages::browser_key(&secret);
    // The same person signing in again keeps the session and its partners with a new cookie
    // (PROTOCOLS §1); anyone else's session in this browser ends.
    let kept = match pages::current_session(state, req).await? {
        Some((sid, owner)) if owner == user.id => {
            let signed_in = Record::new(Event::SigninSucceeded)
                .user(&user.id)
                .actor(Some(&user.id))
                .from(&Origin::of(req, &state.proxies))
                .with("terminal", "PC");
            sessions::reauthenticate(state, &sid, browser_key.clone(), amr, signed_in).await?;
            Some(sid)
        }
        Some((old, _)) => {
            sessions::end(state, Which::One(&old), EndReason::SignOut).await?;
            None
        }
        None => None,
    };
    let sid = match kept {
        Some(sid) => sid,
        None => {
            let (_, claims) = sessions::start(
                state,
                NewSession {
                    user_id: &user.id,
                    phone: user.phone.as_deref(),
                    openid: user.openid.as_deref(),
                    terminal: "pc",
                    user_agent: &crate::accounts::routes::user_agent(req),
                    ip: client_ip(req, &state.proxies).to_string(),
                    client_id: None,
                    browser_key: Some(browser_key),
                    amr: Some(amr),
                    method: amr.method(),
                },
            )
            .await?;
            claims.sid
        }
    };
    let location = match onward {
        Onward {
            flow: Some((id, flow)),
            ..
        } => {
            let at = flow.resume_at(id);
            flow.signed_in(state, id, &sid).await?;
            at
        }
        Onward {
            target: Some((client, url)),
            ..
        } => back_to_partner(state, &sid, client, url).await?,
        Onward { .. } => Location::page("/account"),
    };
    Ok(pages::redirect(state, StatusCode::SEE_OTHER, location)
        .cookie(pages::cookie(
            state,
            pages::session_cookie_name(state),
            secret,
        ))
        .finish())
}
