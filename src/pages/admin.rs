//! `/admin`: the operators' console — partner systems (create, edit rules and logout URL,
//! choose the mode, rotate the secret, disable), users (search, disable, force sign-out),
//! single-logout deliveries, the audit trail and the signing keys (rotate). Every action goes through the same functions as `/admin/api/`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use crate::accounts::load_self;
use crate::admin::clients::{self, ClientRequest};
use crate::admin::users::{self, UserPatch};
use crate::audit::{By, Origin};
use crate::error::{ApiError, ApiResult};
use crate::http::input::Input;
use crate::pages::console_lists::{self, ConsoleQuery, Lists};
use crate::pages::{self, Texts, i18n};
use crate::partners::{self, ClientMode, ClientView};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage<'a> {
    pub t: &'static Texts,
    pub csrf: &'a str,
    pub clients: Vec<ClientView>,
    /// Every mode a partner can be switched to.
    pub modes: &'static [ClientMode],
    pub auth_methods: [&'static str; 3],
    pub algs: [&'static str; 2],
    pub lists: Lists,
    /// The signing keys, newest first.
    pub keys: Vec<crate::keys::KeyView>,
    pub q: &'a str,
    pub query: &'a ConsoleQuery,
    pub flash: pages::Flash,
}

/// The signed-in operator's id, or the response to send instead.
async fn operator(state: &AppState, req: &HttpRequest) -> Result<String, HttpResponse> {
    match pages::current_session(state, req).await {
        Ok(Some((_, user_id))) => match load_self(state, &user_id).await {
            Ok(u) if u.is_admin() => Ok(user_id),
            _ => Err(pages::error_page(
                state,
                req,
                StatusCode::FORBIDDEN,
                "forbidden",
            )),
        },
        _ => Err(pages::redirect(state, StatusCode::SEE_OTHER, "/login").finish()),
    }
}

async fn show(
    state: &AppState,
    req: &HttpRequest,
    query: &ConsoleQuery,
    flash: pages::Flash,
) -> HttpResponse {
    let clients = state
        .db
        .read(|conn| partners::list(conn).map_err(ApiError::from))
        .await;
    let (clients, lists) = match (clients, console_lists::load(state, query).await) {
        (Ok(clients), Ok(lists)) => (clients, lists),
        (Err(err), _) | (_, Err(err)) => {
            return pages::error_page(state, req, StatusCode::BAD_REQUEST, err.reason());
        }
    };
    let q = query.search();
    pages::render_form(state, req, |csrf| {
        pages::render(
            state,
            if flash.error.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            },
            &AdminPage {
                t: i18n::texts(req),
                csrf,
                clients: clients.iter().map(ClientView::from).collect(),
                modes: &ClientMode::ALL,
                auth_methods: crate::partners::AuthMethod::ALL
                    .map(crate::partners::AuthMethod::as_str),
                algs: crate::tokens::ClientAlg::ALL.map(crate::tokens::ClientAlg::as_str),
                lists,
                keys: state.keyring.list(),
                q: &q,
                query,
                flash,
            },
        )
    })
}

pub async fn console(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ConsoleQuery>,
) -> HttpResponse {
    if let Err(res) = operator(&state, &req).await {
        return res;
    }
    let flash = pages::take_flash(&state, &req).await;
    show(&state, &req, &query, flash).await
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    pub csrf: Option<String>,
    pub enabled: Option<String>,
    pub status: Option<String>,
}

/// One operator action through the same functions as the admin JSON API; a new client secret
/// when the action made one.
async fn perform(
    state: &AppState,
    by: &By,
    kind: &str,
    id: String,
    verb: &str,
    f: ActionForm,
    input: Input,
) -> ApiResult<Option<String>> {
    // The client fields are read as the JSON API reads them; the checkbox is the exception, as
    // a browser sends it only when ticked.
    let client_request = || -> ApiResult<ClientRequest> {
        let mut request: ClientRequest = input.parse()?;
        request.enabled = Some(Value::Bool(f.enabled.is_some()));
        Ok(request)
    };
    match (kind, verb) {
        ("clients", "create") => Ok(clients::create(state, by, client_request()?)
            .await?
            .client_secret),
        ("clients", "save") => clients::update(state, by, id, client_request()?)
            .await
            .map(|_| None),
        ("clients", "rotate") => Ok(clients::rotate(state, by, id).await?.client_secret),
        ("users", "status") => {
            let patch = UserPatch {
                status: f.status,
                role: None,
            };
            users::apply_patch(state, by, &id, patch)
                .await
                .map(|_| None)
        }
        ("keys", "rotate") => {
            let alg = crate::admin::keys::requested_alg(input.str("alg"))?;
            state.keyring.rotate(alg, by).await.map(|_| None)
        }
        ("users", "signout") => users::sign_out_everywhere(state, by, &id)
            .await
            .map(|_| None),
        _ => Err(ApiError::NotFound),
    }
}

/// POST /admin/{kind}/{id?}/{action?}: one operator action, then the console again.
pub async fn action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    form: pages::form::Form<ActionForm>,
    input: Input,
) -> HttpResponse {
    if !pages::csrf_ok(&state, &req, form.csrf.as_deref()) {
        return pages::error_page(&state, &req, StatusCode::FORBIDDEN, "forbidden");
    }
    let operator_id = match operator(&state, &req).await {
        Ok(id) => id,
        Err(res) => return res,
    };
    let by = By::operator(&operator_id, "console", Origin::of(&req, &state.proxies));
    let (kind, id, verb) = path.into_inner();
    let t = i18n::texts(&req);
    let flash = match perform(&state, &by, &kind, id, &verb, form.into_inner(), input).await {
        Ok(secret) => pages::Flash {
            message: t.saved.to_owned(),
            secret: secret.unwrap_or_default(),
            error: String::new(),
        },
        Err(ApiError::InvalidParams(fields)) => pages::Flash {
            error: fields
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; "),
            ..Default::default()
        },
        Err(other) => pages::Flash {
            error: other.reason().to_owned(),
            ..Default::default()
        },
    };
    pages::redirect_with_flash(&state, "/admin", &flash).await
}
