//! `/logout` and the signed-out page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::login::{LoginQuery, page_error, registered};
use crate::pages::{self, i18n};
use crate::sessions::{self, EndReason, Which};
use crate::state::AppState;

/// GET /logout: ends the session (single logout runs in the background), then goes back to a
/// registered callback or shows the signed-out page.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    if let Ok(Some((sid, _))) = pages::current_session(&state, &req).await
        && let Err(err) = sessions::end(&state, Which::One(&sid), EndReason::SignOut).await
    {
        return page_error(&state, &req, err);
    }
    let clear = pages::clear_session_cookie(&state);
    if let Ok(Some((_, url))) = registered(&state, query.callback_url.as_deref()).await {
        return pages::redirect(&state, StatusCode::FOUND, url.location())
            .cookie(clear)
            .finish();
    }
    let mut res = signed_out_page(&state, &req);
    let _ = res.add_cookie(&clear);
    res
}

/// The page after signing out.
pub fn signed_out_page(state: &AppState, req: &HttpRequest) -> HttpResponse {
    let t = i18n::texts(req);
    pages::render(
        state,
        StatusCode::OK,
        &pages::MessagePage {
            t,
            title: t.signed_out,
            id: "signed-out",
            text: t.signed_out_text,
            detail: "",
            link: Some(("/login", t.sign_in)),
        },
    )
}
