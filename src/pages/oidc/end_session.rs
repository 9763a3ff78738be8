//! RP-initiated logout, `/oauth2/logout` (PROTOCOLS §3.5).

use super::*;

/// An RP-initiated logout request, checked (PROTOCOLS §3.5).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LogoutRequest {
    /// The hint's `sid`, when it came with one.
    sid: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

impl LogoutRequest {
    /// Checks the hint, the client and the return URI; the reason for the error page if not.
    async fn check(
        state: &AppState,
        p: &Params,
    ) -> Result<(LogoutRequest, Option<ClientRow>), &'static str> {
        if p.repeated().is_some() {
            return Err("invalid_request");
        }
        let hint = match p.get("id_token_hint") {
            Some(raw) => Some(
                state
                    .tokens
                    .decode_id_token(raw)
                    .map_err(|_| "token_invalid")?,
            ),
            None => None,
        };
        let client_id = match (hint.as_ref().map(|h| h.aud.as_str()), p.get("client_id")) {
            (Some(aud), Some(named)) if aud != named => return Err("invalid_client"),
            (aud, named) => aud.or(named).map(str::to_owned),
        };
        let client = match &client_id {
            Some(id) => Some(
                partners::oidc_client(state, id)
                    .await
                    .map_err(|_| "unavailable")?
                    .ok_or("invalid_client")?,
            ),
            None => None,
        };
        let post_logout_redirect_uri = match p.get("post_logout_redirect_uri") {
            Some(raw) => {
                let registered = client
                    .as_ref()
                    .and_then(|c| c.post_logout_redirect_uri(raw))
                    .ok_or("callback_not_registered")?;
                Some(registered.as_str().to_owned())
            }
            None => None,
        };
        let request = LogoutRequest {
            sid: hint.and_then(|h| h.sid),
            client_id,
            post_logout_redirect_uri,
            state: p
                .get("state")
                .filter(|s| s.len() <= 1024)
                .map(str::to_owned),
        };
        Ok((request, client))
    }
}

/// GET /oauth2/logout: RP-initiated logout.
#[utoipa::path(
    tag = "oidc",
    params(
        ("id_token_hint" = Option<String>, Query), ("client_id" = Option<String>, Query),
        ("post_logout_redirect_uri" = Option<String>, Query), ("state" = Option<String>, Query),
        ("flow" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "The signed-out page, or a page asking to confirm", content_type = "text/html"),
        (status = 302, description = "Signed out: to the registered post-logout redirect URI with `state`"),
        (status = 400, description = "Error page: `token_invalid`, `invalid_client`, `callback_not_registered`", content_type = "text/html"),
    )
)]
#[get("/oauth2/logout")]
pub async fn logout(state: Shared, req: HttpRequest) -> HttpResponse {
    let p = Params::from_query(&req);
    if let Some(id) = p.get("flow") {
        let request = match Flow::take(&state, id).await {
            Ok(Some(flow)) if flow.resume == Resume::Logout => {
                serde_json::from_value::<LogoutRequest>(flow.request).ok()
            }
            Ok(_) => None,
            Err(_) => return error_page(&state, &req, "unavailable"),
        };
        return match request {
            Some(request) => ask_or_end(&state, &req, request, None).await,
            None => error_page(&state, &req, "flow_expired"),
        };
    }
    match LogoutRequest::check(&state, &p).await {
        Ok((request, client)) => ask_or_end(&state, &req, request, client).await,
        Err(reason) => error_page(&state, &req, reason),
    }
}

/// POST /oauth2/logout: the confirmation, or a request kept and answered with its GET form.
#[utoipa::path(
    tag = "oidc",
    request_body(content = Option<Object>, content_type = "application/x-www-form-urlencoded",
        description = "The parameters of GET /oauth2/logout; or `csrf`, `flow` and `confirm` from the confirmation page"),
    responses(
        (status = 200, description = "The signed-out page", content_type = "text/html"),
        (status = 302, description = "Signed out: to the registered post-logout redirect URI"),
        (status = 303, description = "To GET /oauth2/logout?flow=…"),
        (status = 400, description = "Error page", content_type = "text/html"),
        (status = 403, description = "Error page: the confirmation's CSRF token is wrong", content_type = "text/html"),
    )
)]
#[post("/oauth2/logout")]
pub async fn logout_post(state: Shared, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let p = match Params::from_form(&req, body).await {
        Ok(p) => p,
        Err(_) => return error_page(&state, &req, "invalid_request"),
    };
    if p.get("confirm").is_some() {
        if !pages::csrf_ok(&state, &req, p.get("csrf")) {
            return pages::error_page(&state, &req, StatusCode::FORBIDDEN, "forbidden");
        }
        let flow = match p.get("flow") {
            Some(id) => Flow::take(&state, id).await.ok().flatten(),
            None => None,
        };
        return match flow
            .filter(|f| f.resume == Resume::Logout)
            .and_then(|f| serde_json::from_value::<LogoutRequest>(f.request).ok())
        {
            Some(request) => end_and_leave(&state, &req, &request).await,
            None => error_page(&state, &req, "flow_expired"),
        };
    }
    match LogoutRequest::check(&state, &p).await {
        Ok((request, client)) => match keep(&state, &request, client.as_ref()).await {
            Ok((id, flow)) => go(&state, StatusCode::SEE_OTHER, flow.resume_at(&id)),
            Err(_) => error_page(&state, &req, "unavailable"),
        },
        Err(reason) => error_page(&state, &req, reason),
    }
}

async fn keep(
    state: &AppState,
    request: &LogoutRequest,
    client: Option<&ClientRow>,
) -> crate::error::ApiResult<(String, Flow)> {
    let flow = Flow {
        resume: Resume::Logout,
        client_name: client.map(|c| c.name.clone()).unwrap_or_default(),
        login_hint: None,
        request: serde_json::to_value(request).unwrap_or_default(),
        signed_in: None,
        posted: false,
    };
    let id = flow.save(state).await?;
    Ok((id, flow))
}

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage<'a> {
    t: &'static Texts,
    csrf: &'a str,
    flow: &'a str,
    client_name: &'a str,
}

/// Ends the session at once when the hint names it or there is none; else asks first, so a
/// link cannot sign a person out of a session the client does not know.
async fn ask_or_end(
    state: &AppState,
    req: &HttpRequest,
    request: LogoutRequest,
    client: Option<ClientRow>,
) -> HttpResponse {
    let current = match pages::current_session(state, req).await {
        Ok(c) => c,
        Err(_) => return error_page(state, req, "unavailable"),
    };
    match current {
        Some((sid, _)) if request.sid.as_deref() != Some(sid.as_str()) => {
            let client = match (client, &request.client_id) {
                (Some(c), _) => Some(c),
                (None, Some(id)) => partners::oidc_client(state, id).await.ok().flatten(),
                (None, None) => None,
            };
            let Ok((id, flow)) = keep(state, &request, client.as_ref()).await else {
                return error_page(state, req, "unavailable");
            };
            pages::render_form(state, req, |csrf| {
                pages::render(
                    state,
                    StatusCode::OK,
                    &ConfirmPage {
                        t: i18n::texts(req),
                        csrf,
                        flow: &id,
                        client_name: &flow.client_name,
                    },
                )
            })
        }
        _ => end_and_leave(state, req, &request).await,
    }
}

/// Ends the browser's session (every partner is told), clears the cookie, and goes to the
/// registered post-logout URI or the signed-out page.
async fn end_and_leave(
    state: &AppState,
    req: &HttpRequest,
    request: &LogoutRequest,
) -> HttpResponse {
    if let Ok(Some((sid, _))) = pages::current_session(state, req).await
        && sessions::end(state, Which::One(&sid), EndReason::SignOut)
            .await
            .is_err()
    {
        return error_page(state, req, "unavailable");
    }
    let clear = pages::clear_session_cookie(state);
    let back = match (&request.client_id, &request.post_logout_redirect_uri) {
        (Some(id), Some(raw)) => partners::oidc_client(state, id)
            .await
            .ok()
            .flatten()
            .and_then(|c| c.post_logout_redirect_uri(raw)),
        _ => None,
    };
    match back {
        Some(uri) => {
            let mut params = Vec::new();
            if let Some(s) = &request.state {
                params.push(("state", s.as_str()));
            }
            pages::redirect(state, StatusCode::FOUND, uri.location_with(&params))
                .cookie(clear)
                .finish()
        }
        None => {
            let mut res = pages::logout::signed_out_page(state, req);
            let _ = res.add_cookie(&clear);
            res
        }
    }
}
