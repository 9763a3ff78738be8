use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::Operator;
use crate::error::{ApiError, ApiResult};
use crate::http::envelope;
use crate::http::input::{Input, Required};
use crate::partners::ClientMode;
use crate::partners::{self, ClientRow, ClientView, NewClient};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClientRequest {
    #[schema(schema_with = crate::openapi::fields::client_name, required = true)]
    pub name: Option<String>,
    #[schema(schema_with = crate::openapi::fields::callbacks, required = true)]
    pub callbacks: Option<Value>,
    #[schema(schema_with = crate::openapi::fields::logout_url_opt)]
    pub logout_url: Option<String>,
    #[schema(schema_with = crate::openapi::fields::mode_opt)]
    pub mode: Option<String>,
    /// PUT only (create always enables); defaults to true.
    #[schema(schema_with = crate::openapi::fields::flag_opt)]
    pub enabled: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: ClientView,
    /// Shown once; only its hash is stored.
    pub client_secret: String,
}

fn rules(raw: Option<Value>) -> ApiResult<Vec<String>> {
    let bad = || ApiError::field("callbacks", "an array of callback rules");
    match raw {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split(['\n', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

fn validated(p: ClientRequest) -> ApiResult<(NewClient, bool)> {
    let mut required = Required::default();
    let name = required.take("name", p.name);
    let callbacks = rules(p.callbacks)?;
    if callbacks.is_empty() {
        required.take("callbacks", None);
    }
    required.finish()?;
    // Checked after the other fields, as the contract lists them.
    let mode = match p.mode.as_deref() {
        None => Ok(ClientMode::default()),
        Some(name) => name.parse::<ClientMode>(),
    };
    let new = NewClient {
        name,
        callbacks,
        logout_url: p.logout_url,
        mode: mode.clone().unwrap_or_default(),
    }
    .validate()
    .map_err(|e| {
        let field = match e {
            partners::ClientError::Name => "name",
            partners::ClientError::Callback(..) | partners::ClientError::NoCallback => "callbacks",
            partners::ClientError::LogoutUrl => "logout_url",
        };
        ApiError::field(field, &e.to_string())
    })?;
    mode.map_err(|e| ApiError::field("mode", &e.to_string()))?;
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
    tag = "admin",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "All partner systems", body = inline(crate::openapi::EnvelopeOf<Vec<ClientView>>)),
        crate::openapi::responses::Unreadable, crate::openapi::responses::SignedIn, crate::openapi::responses::OperatorOnly, crate::openapi::responses::Down,
    )
)]
#[get("/admin/api/clients")]
pub async fn list_clients(
    state: web::Data<AppState>,
    _operator: Operator,
) -> ApiResult<HttpResponse> {
    let rows = state
        .db
        .run(|conn| partners::list(conn).map_err(ApiError::from))
        .await?;
    let views: Vec<ClientView> = rows.iter().map(ClientView::from).collect();
    let total = views.len() as u64;
    Ok(envelope::list(views, total))
}

/// Registers a partner system; the secret is returned once.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    request_body(content((ClientRequest = "application/json"), (ClientRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 201, description = "Created", body = inline(crate::openapi::EnvelopeOf<ClientWithSecret>)),
        (status = 400, description = "invalid_params", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::SignedIn, crate::openapi::responses::OperatorOnly, crate::openapi::responses::TooLarge, crate::openapi::responses::Down,
    )
)]
#[post("/admin/api/clients")]
pub async fn create_client(
    state: web::Data<AppState>,
    _operator: Operator,
    input: Input,
) -> ApiResult<HttpResponse> {
    Ok(envelope::created(create(&state, input.parse()?).await?))
}

/// One partner system.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The partner", body = inline(crate::openapi::EnvelopeOf<ClientView>)),
        (status = 404, description = "not_found", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::Unreadable, crate::openapi::responses::SignedIn, crate::openapi::responses::OperatorOnly, crate::openapi::responses::Down,
    )
)]
#[get("/admin/api/clients/{client_id}")]
pub async fn get_client(
    state: web::Data<AppState>,
    _operator: Operator,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let row = find(&state, path.into_inner()).await?;
    Ok(envelope::ok(ClientView::from(&row)))
}

/// Replaces a partner system's fields (the secret is kept).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("client_id" = String, Path)),
    request_body(content((ClientRequest = "application/json"), (ClientRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Updated", body = inline(crate::openapi::EnvelopeOf<ClientView>)),
        (status = 400, description = "invalid_params", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "not_found", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::SignedIn, crate::openapi::responses::OperatorOnly, crate::openapi::responses::TooLarge, crate::openapi::responses::Down,
    )
)]
#[put("/admin/api/clients/{client_id}")]
pub async fn update_client(
    state: web::Data<AppState>,
    _operator: Operator,
    input: Input,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(envelope::ok(
        update(&state, path.into_inner(), input.parse()?).await?,
    ))
}

/// Registers a partner; the secret is in the answer, once.
pub async fn create(state: &AppState, p: ClientRequest) -> ApiResult<ClientWithSecret> {
    let (new, _) = validated(p)?;
    let (row, secret) = state
        .db
        .run(move |conn| partners::insert(conn, new).map_err(ApiError::from))
        .await?;
    Ok(ClientWithSecret {
        client: ClientView::from(&row),
        client_secret: secret,
    })
}

/// Replaces a partner's fields, keeping its id and secret.
pub async fn update(state: &AppState, id: String, p: ClientRequest) -> ApiResult<ClientView> {
    let mut row = find(state, id).await?;
    let (new, enabled) = validated(p)?;
    row.name = new.name;
    row.callbacks =
        serde_json::to_string(&new.callbacks).map_err(|e| ApiError::Internal(e.to_string()))?;
    row.logout_url = new.logout_url;
    row.set_mode(new.mode);
    row.enabled = enabled;
    row.updated_at = crate::db::now();
    let saved = row.clone();
    state
        .db
        .run(move |conn| partners::save(conn, &row).map_err(ApiError::from))
        .await?;
    Ok(ClientView::from(&saved))
}

/// Removes a partner system.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "Deleted", body = crate::openapi::EnvelopeNull),
        (status = 404, description = "not_found", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::Unreadable, crate::openapi::responses::SignedIn, crate::openapi::responses::OperatorOnly, crate::openapi::responses::Down,
    )
)]
#[delete("/admin/api/clients/{client_id}")]
pub async fn delete_client(
    state: web::Data<AppState>,
    _operator: Operator,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let removed = state
        .db
        .run(move |conn| partners::delete(conn, &id).map_err(ApiError::from))
        .await?;
    if !removed {
        return Err(ApiError::NotFound);
    }
    Ok(envelope::ok(()))
}

/// Replaces the secret; the old one stops working at once.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The new secret, shown once", body = inline(crate::openapi::EnvelopeOf<ClientWithSecret>)),
        (status = 404, description = "not_found", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::Unreadable, crate::openapi::responses::SignedIn, crate::openapi::responses::OperatorOnly, crate::openapi::responses::Down,
    )
)]
#[post("/admin/api/clients/{client_id}/secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    _operator: Operator,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(envelope::ok(rotate(&state, path.into_inner()).await?))
}

/// Replaces a partner's secret; the old one stops working at once.
pub async fn rotate(state: &AppState, id: String) -> ApiResult<ClientWithSecret> {
    let mut row = find(state, id).await?;
    let (row, secret) = state
        .db
        .run(move |conn| {
            let secret = partners::rotate_secret(conn, &mut row)?;
            Ok((row, secret))
        })
        .await?;
    Ok(ClientWithSecret {
        client: ClientView::from(&row),
        client_secret: secret,
    })
}
