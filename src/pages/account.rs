//! `/account`: the person's profile, password change, live sessions (with the systems each is
//! signed into) and signing out one session or all of them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::accounts::routes::register::ChangePasswordRequest;
use crate::accounts::{UserRow, load_self, registration};
use crate::error::{ApiError, ApiResult};
use crate::pages::form::Posted;
use crate::pages::{self, Texts, i18n};
use crate::partners;
use crate::sessions;
use crate::state::{AppState, Shared};

pub struct SessionLine {
    pub id: String,
    pub created_at: String,
    pub terminal: String,
    pub user_agent: String,
    pub systems: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub t: &'static Texts,
    pub csrf: &'a str,
    pub user: &'a UserRow,
    pub sessions: Vec<SessionLine>,
    /// The person's own recent sign-ins, from the audit trail.
    pub signins: Vec<crate::audit::AuditView>,
    pub flash: pages::Flash,
}

/// The person's live sessions, each with the names of the systems signed into it.
async fn session_lines(
    state: &AppState,
    user_id: &str,
    current: &str,
    t: &Texts,
) -> ApiResult<Vec<SessionLine>> {
    let list = sessions::live_of_user(state, user_id).await?;
    let names = partners::names(state).await?;
    let line = |(s, clients): (sessions::SessionRow, Vec<String>)| {
        let systems: Vec<&str> = clients
            .iter()
            .filter_map(|id| names.get(id).map(String::as_str))
            .collect();
        SessionLine {
            current: s.id == current,
            created_at: crate::accounts::model::rfc3339(s.created_at),
            terminal: s.terminal,
            user_agent: s.user_agent,
            systems: if systems.is_empty() {
                t.none.to_owned()
            } else {
                systems.join(", ")
            },
            id: s.id,
        }
    };
    Ok(list.into_iter().map(line).collect())
}

async fn show(state: &AppState, req: &HttpRequest, flash: pages::Flash) -> HttpResponse {
    let Ok(Some((sid, user_id))) = pages::current_session(state, req).await else {
        return pages::redirect(state, StatusCode::SEE_OTHER, "/login").finish();
    };
    let t = i18n::texts(req);
    let user = match load_self(state, &user_id).await {
        Ok(u) => u,
        Err(_) => return pages::redirect(state, StatusCode::SEE_OTHER, "/login").finish(),
    };
    let id = user_id.clone();
    let recent = state
        .db
        .read(move |conn| Ok(crate::audit::recent_signins(conn, &id, 10)?));
    let (lines, signins) = match tokio::try_join!(session_lines(state, &user_id, &sid, t), recent) {
        Ok(both) => both,
        Err(err) => {
            return pages::error_page(state, req, StatusCode::SERVICE_UNAVAILABLE, err.reason());
        }
    };
    pages::render_form(state, req, |csrf| {
        pages::render(
            state,
            StatusCode::OK,
            &AccountPage {
                t,
                csrf,
                user: &user,
                sessions: lines,
                signins,
                flash,
            },
        )
    })
}

pub async fn account(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let flash = pages::take_flash(&state, &req).await;
    show(&state, &req, flash).await
}

/// POST /account/password: the fields of `PATCH /users/password`, read the same way.
pub async fn change_password(
    state: Shared,
    req: HttpRequest,
    (form, input): Posted,
) -> HttpResponse {
    let (sid, user_id) = match pages::own_post(&state, &req, form.csrf.as_deref()).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let t = i18n::texts(&req);
    let ip = crate::http::client_ip::client_ip(&req, &state.proxies);
    let changed = async {
        let p: ChangePasswordRequest = input.parse()?;
        registration::change_password(&state, &user_id, &sid, &p.old_pwd, &p.new_pwd, ip).await
    };
    let flash = match changed.await {
        Ok(()) => pages::Flash {
            message: t.saved.to_owned(),
            ..Default::default()
        },
        Err(err) => pages::Flash {
            error: match err {
                ApiError::CredentialsInvalid => t.err_credentials,
                ApiError::PasswordWeak(_) => t.err_weak,
                ApiError::RateLimited { .. } => t.err_locked,
                ApiError::InvalidParams(_) => t.err_required,
                _ => t.err_unavailable,
            }
            .to_owned(),
            ..Default::default()
        },
    };
    pages::redirect_with_flash(&state, "/account", &flash).await
}

/// POST /account/sessions/end (one session, `sid`) and /account/signout-all.
pub async fn end_sessions(state: Shared, req: HttpRequest, (form, input): Posted) -> HttpResponse {
    let (current, user_id) = match pages::own_post(&state, &req, form.csrf.as_deref()).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    match sessions::end_own(&state, &user_id, &current, input.str("sid")).await {
        Ok(true) => pages::redirect(&state, StatusCode::SEE_OTHER, "/login")
            .cookie(pages::clear_session_cookie(&state))
            .finish(),
        Ok(false) => pages::redirect(&state, StatusCode::SEE_OTHER, "/account").finish(),
        Err(ApiError::NotFound) => {
            pages::error_page(&state, &req, StatusCode::NOT_FOUND, "not_found")
        }
        Err(err) => pages::error_page(&state, &req, StatusCode::SERVICE_UNAVAILABLE, err.reason()),
    }
}
