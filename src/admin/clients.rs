use actix_web::{delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::audit::{By, Event};
use crate::auth::Operator;
use crate::error::{Answer, ApiError, ApiResult};
use crate::http::envelope;
use crate::http::input::Input;
use crate::openapi::responses::{OperatorByIdRefusals, OperatorRefusals, refusals};
use crate::openapi::{EnvelopeNull, EnvelopeOf};
use crate::partners::{self, ClientMode, ClientRow, ClientView, NewClient, Registration};
use crate::state::{AppState, Shared};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClientRequest {
    #[schema(schema_with = crate::openapi::fields::client_name)]
    pub name: String,
    /// Token and ticket partners: required.
    #[schema(schema_with = crate::openapi::fields::callbacks)]
    pub callbacks: Option<Value>,
    #[schema(schema_with = crate::openapi::fields::logout_url_opt)]
    pub logout_url: Option<String>,
    #[schema(schema_with = crate::openapi::fields::mode_opt)]
    pub mode: Option<String>,
    /// OpenID Connect partners: required, exact URLs (at most 20).
    #[schema(schema_with = crate::openapi::fields::exact_urls)]
    pub redirect_uris: Option<Value>,
    #[schema(schema_with = crate::openapi::fields::exact_urls)]
    pub post_logout_redirect_uris: Option<Value>,
    #[schema(schema_with = crate::openapi::fields::auth_method_opt)]
    pub token_endpoint_auth_method: Option<String>,
    #[schema(schema_with = crate::openapi::fields::alg_opt)]
    pub id_token_signed_response_alg: Option<String>,
    /// PUT only (create always enables); defaults to true.
    #[schema(schema_with = crate::openapi::fields::flag_opt)]
    pub enabled: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: ClientView,
    /// Shown once; only its hash is stored. Null for a public OpenID Connect client.
    pub client_secret: Option<String>,
}

/// A list field: a JSON array of strings, or (from a form) one string with an entry per line
/// (callback rules may also be separated by commas; URLs may hold commas in their query).
fn list(field: &str, raw: Option<Value>, separators: &[char]) -> ApiResult<Vec<String>> {
    let bad = || ApiError::field(field, "an array of strings");
    Ok(match raw {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s
            .split(separators)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(bad()),
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => return Err(bad()),
    })
}

/// Empty counts as absent (PROTOCOLS §2).
fn given(raw: Option<String>) -> Option<String> {
    raw.filter(|s| !s.is_empty())
}

fn validated(p: ClientRequest) -> ApiResult<(Registration, bool)> {
    let callbacks = list("callbacks", p.callbacks, &['\n', ','])?;
    let redirect_uris = list("redirect_uris", p.redirect_uris, &['\n'])?;
    let post_logout_redirect_uris = list(
        "post_logout_redirect_uris",
        p.post_logout_redirect_uris,
        &['\n'],
    )?;
    let mode = match given(p.mode) {
        None => ClientMode::default(),
        Some(name) => name
            .parse::<ClientMode>()
            .map_err(|e| ApiError::field("mode", &e.to_string()))?,
    };
    let new = NewClient {
        name: p.name,
        mode,
        callbacks,
        logout_url: given(p.logout_url),
        redirect_uris,
        post_logout_redirect_uris,
        token_endpoint_auth_method: given(p.token_endpoint_auth_method),
        id_token_signed_response_alg: given(p.id_token_signed_response_alg),
    }
    .validate()
    .map_err(|e| ApiError::field(e.field, &e.message))?;
    let enabled = match p.enabled {
        None => true,
        Some(Value::Bool(b)) => b,
        // Forms cannot send a boolean, only its name.
        Some(Value::String(s)) if s == "true" => true,
        Some(Value::String(s)) if s == "false" => false,
        Some(_) => return Err(ApiError::field("enabled", "true or false")),
    };
    Ok((new, enabled))
}

async fn find(state: &AppState, id: String) -> ApiResult<ClientRow> {
    partners::by_id(state, &id).await?.ok_or(ApiError::NotFound)
}

/// Partner systems.
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "All partner systems", body = inline(EnvelopeOf<Vec<ClientView>>)),
        OperatorRefusals,
    )
)]
#[get("/admin/api/clients")]
pub async fn list_clients(state: Shared, _operator: Operator) -> Answer {
    let rows = state
        .db
        .run(|conn| partners::list(conn).map_err(ApiError::from))
        .await?;
    let views: Vec<ClientView> = rows.iter().map(ClientView::from).collect();
    let total = views.len() as u64;
    Ok(envelope::list(views, total))
}

refusals!(CreateClientRefusals: [SIGNED_IN, OPERATOR_ONLY, TOO_LARGE, DOWN] "invalid_params");

/// Registers a partner system; the secret is returned once.
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    request_body = ClientRequest,
    responses(
        (status = 201, description = "Created", body = inline(EnvelopeOf<ClientWithSecret>)),
        CreateClientRefusals,
    )
)]
#[post("/admin/api/clients")]
pub async fn create_client(
    state: Shared,
    operator: Operator,
    req: actix_web::HttpRequest,
    input: Input,
) -> Answer {
    let by = operator.by(&req, &state.proxies);
    Ok(envelope::created(
        create(&state, &by, input.parse()?).await?,
    ))
}

/// One partner system.
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The partner", body = inline(EnvelopeOf<ClientView>)),
        OperatorByIdRefusals,
    )
)]
#[get("/admin/api/clients/{client_id}")]
pub async fn get_client(state: Shared, _operator: Operator, path: web::Path<String>) -> Answer {
    let row = find(&state, path.into_inner()).await?;
    Ok(envelope::ok(ClientView::from(&row)))
}

refusals!(UpdateClientRefusals: [SIGNED_IN, OPERATOR_ONLY, TOO_LARGE, DOWN]
    "invalid_params", "not_found",
    "conflict" = "the mode changed other than between token and ticket, or the auth method other than between the two with a secret");

/// Replaces a partner system's fields (the secret is kept).
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("client_id" = String, Path)), request_body = ClientRequest,
    responses(
        (status = 200, description = "Updated", body = inline(EnvelopeOf<ClientView>)),
        UpdateClientRefusals,
    )
)]
#[put("/admin/api/clients/{client_id}")]
pub async fn update_client(
    state: Shared,
    operator: Operator,
    req: actix_web::HttpRequest,
    input: Input,
    path: web::Path<String>,
) -> Answer {
    let by = operator.by(&req, &state.proxies);
    Ok(envelope::ok(
        update(&state, &by, path.into_inner(), input.parse()?).await?,
    ))
}

/// Registers a partner; the secret is in the answer, once.
pub async fn create(state: &AppState, by: &By, p: ClientRequest) -> ApiResult<ClientWithSecret> {
    let (new, _) = validated(p)?;
    let by = by.clone();
    let (row, secret) = state
        .db
        .run(move |conn| insert_recorded(conn, new, &by).map_err(ApiError::from))
        .await?;
    Ok(ClientWithSecret {
        client: ClientView::from(&row),
        client_secret: secret,
    })
}

/// Registers a partner and records `client.created` in one transaction: the API, the
/// console and the command line all register through here.
pub fn insert_recorded(
    conn: &mut crate::db::DbConnection,
    new: partners::Registration,
    by: &By,
) -> diesel::QueryResult<(partners::ClientRow, Option<String>)> {
    crate::db::write_transaction(conn, |conn| {
        let (row, secret) = partners::insert(conn, new)?;
        let created = by
            .record(Event::ClientCreated)
            .client(Some(&row.client_id))
            .with("mode", row.mode().as_str());
        crate::audit::record(conn, created)?;
        Ok((row, secret))
    })
}

/// Replaces a partner's fields, keeping its id and secret.
pub async fn update(
    state: &AppState,
    by: &By,
    id: String,
    p: ClientRequest,
) -> ApiResult<ClientView> {
    let mut row = find(state, id).await?;
    let (new, enabled) = validated(p)?;
    if !row.may_become(&new) {
        return Err(ApiError::Conflict("registration"));
    }
    let was_enabled = row.enabled;
    let by = by.clone();
    let row = state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                partners::replace(conn, &mut row, new, enabled)?;
                let id = Some(row.client_id.as_str());
                crate::audit::record(conn, by.record(Event::ClientUpdated).client(id))?;
                if was_enabled && !row.enabled {
                    crate::audit::record(conn, by.record(Event::ClientDisabled).client(id))?;
                }
                Ok::<_, diesel::result::Error>(row)
            })
            .map_err(ApiError::from)
        })
        .await?;
    partners::forget(state, &row.client_id).await?;
    Ok(ClientView::from(&row))
}

/// Removes a partner system.
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("client_id" = String, Path)),
    responses((status = 200, description = "Deleted", body = EnvelopeNull), OperatorByIdRefusals)
)]
#[delete("/admin/api/clients/{client_id}")]
pub async fn delete_client(
    state: Shared,
    operator: Operator,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
) -> Answer {
    let id = path.into_inner();
    let gone = id.clone();
    let deleted = operator
        .by(&req, &state.proxies)
        .record(Event::ClientDisabled)
        .client(Some(&id))
        .with("deleted", true);
    let removed = state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                let removed = partners::delete(conn, &gone)?;
                if removed {
                    crate::audit::record(conn, deleted)?;
                }
                Ok::<_, diesel::result::Error>(removed)
            })
            .map_err(ApiError::from)
        })
        .await?;
    partners::forget(&state, &id).await?;
    if !removed {
        return Err(ApiError::NotFound);
    }
    Ok(envelope::ok(()))
}

refusals!(RotateSecretRefusals: [UNREADABLE, SIGNED_IN, OPERATOR_ONLY, DOWN] "not_found",
    "conflict" = "a public OpenID Connect client has no secret");

/// Replaces the secret; the old one stops working at once.
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The new secret, shown once", body = inline(EnvelopeOf<ClientWithSecret>)),
        RotateSecretRefusals,
    )
)]
#[post("/admin/api/clients/{client_id}/secret")]
pub async fn rotate_secret(
    state: Shared,
    operator: Operator,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
) -> Answer {
    let by = operator.by(&req, &state.proxies);
    Ok(envelope::ok(rotate(&state, &by, path.into_inner()).await?))
}

/// Replaces a partner's secret; the old one stops working at once.
pub async fn rotate(state: &AppState, by: &By, id: String) -> ApiResult<ClientWithSecret> {
    let mut row = find(state, id).await?;
    if !row.has_secret() {
        return Err(ApiError::Conflict("secret"));
    }
    let rotated = by
        .record(Event::ClientSecretRotated)
        .client(Some(&row.client_id));
    let (row, secret) = state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                let secret = partners::rotate_secret(conn, &mut row)?;
                crate::audit::record(conn, rotated)?;
                Ok::<_, diesel::result::Error>((row, secret))
            })
            .map_err(ApiError::from)
        })
        .await?;
    partners::forget(state, &row.client_id).await?;
    Ok(ClientWithSecret {
        client: ClientView::from(&row),
        client_secret: Some(secret),
    })
}
