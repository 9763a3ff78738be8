use actix_web::{delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::Operator;
use crate::error::{Answer, ApiError, ApiResult};
use crate::http::envelope;
use crate::http::input::Input;
use crate::openapi::responses::{OperatorByIdRefusals, OperatorRefusals, refusals};
use crate::openapi::{EnvelopeNull, EnvelopeOf};
use crate::partners::ClientMode;
use crate::partners::{self, ClientRow, ClientView, NewClient};
use crate::state::{AppState, Shared};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClientRequest {
    #[schema(schema_with = crate::openapi::fields::client_name)]
    pub name: String,
    #[schema(schema_with = crate::openapi::fields::callbacks)]
    pub callbacks: Value,
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

fn rules(raw: Value) -> ApiResult<Vec<String>> {
    let bad = || ApiError::field("callbacks", "an array of callback rules");
    let rules: Vec<String> = match raw {
        Value::String(s) => s
            .split(['\n', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(bad()),
            })
            .collect::<ApiResult<_>>()?,
        _ => return Err(bad()),
    };
    match rules.is_empty() {
        true => Err(ApiError::field("callbacks", "required")),
        false => Ok(rules),
    }
}

fn validated(p: ClientRequest) -> ApiResult<(NewClient, bool)> {
    let callbacks = rules(p.callbacks)?;
    // Checked after the other fields, as the contract lists them.
    let mode = match p.mode.as_deref() {
        None => Ok(ClientMode::default()),
        Some(name) => name.parse::<ClientMode>(),
    };
    let new = NewClient {
        name: p.name,
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
pub async fn create_client(state: Shared, _operator: Operator, input: Input) -> Answer {
    Ok(envelope::created(create(&state, input.parse()?).await?))
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
    "invalid_params", "not_found");

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
    _operator: Operator,
    input: Input,
    path: web::Path<String>,
) -> Answer {
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
    let row = state
        .db
        .run(move |conn| {
            partners::replace(conn, &mut row, new, enabled)?;
            Ok(row)
        })
        .await?;
    Ok(ClientView::from(&row))
}

/// Removes a partner system.
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("client_id" = String, Path)),
    responses((status = 200, description = "Deleted", body = EnvelopeNull), OperatorByIdRefusals)
)]
#[delete("/admin/api/clients/{client_id}")]
pub async fn delete_client(state: Shared, _operator: Operator, path: web::Path<String>) -> Answer {
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
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The new secret, shown once", body = inline(EnvelopeOf<ClientWithSecret>)),
        OperatorByIdRefusals,
    )
)]
#[post("/admin/api/clients/{client_id}/secret")]
pub async fn rotate_secret(state: Shared, _operator: Operator, path: web::Path<String>) -> Answer {
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
