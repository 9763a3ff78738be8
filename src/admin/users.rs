use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::accounts::UserView;
use crate::accounts::model::{self, ROLE_ADMIN, ROLE_USER, STATUS_ACTIVE, STATUS_DISABLED};
use crate::admin::page_params;
use crate::auth::Operator;
use crate::error::{ApiError, ApiResult};
use crate::http::envelope;
use crate::http::input::Input;
use crate::partners::logout::DeliveryView;
use crate::sessions::{self, EndReason, Which};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserPatch {
    #[schema(schema_with = crate::openapi::fields::status_opt)]
    pub status: Option<String>,
    #[schema(schema_with = crate::openapi::fields::role_opt)]
    pub role: Option<String>,
}

/// Changes an account's status or role.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("id" = String, Path, description = "User id (UUID); anything else is an unknown id (404)")),
    request_body(content((Option<UserPatch> = "application/json"), (Option<UserPatch> = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The updated user", body = inline(crate::openapi::EnvelopeOf<UserView>)),
        (status = 400, description = "invalid_params", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "not_found", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::SignedIn, crate::openapi::responses::OperatorOnly, crate::openapi::responses::TooLarge, crate::openapi::responses::Down,
    )
)]
#[patch("/admin/api/users/{id}")]
pub async fn patch_user(
    state: web::Data<AppState>,
    _operator: Operator,
    input: Input,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let saved = apply_patch(&state, &path.into_inner(), input.parse()?).await?;
    Ok(envelope::ok(UserView::from(&saved)))
}

/// Changes status or role; disabling ends every session of the account.
pub async fn apply_patch(
    state: &AppState,
    id: &str,
    p: UserPatch,
) -> ApiResult<crate::accounts::UserRow> {
    let mut user = crate::accounts::by_id(state, id).await?;
    if let Some(status) = p.status.as_deref() {
        if ![STATUS_ACTIVE, STATUS_DISABLED].contains(&status) {
            return Err(ApiError::field("status", "active or disabled"));
        }
        user.status = status.to_owned();
    }
    if let Some(role) = p.role.as_deref() {
        if ![ROLE_USER, ROLE_ADMIN].contains(&role) {
            return Err(ApiError::field("role", "user or admin"));
        }
        user.role = role.to_owned();
    }
    user.updated_at = crate::db::now();
    let saved = user.clone();
    state
        .db
        .run(move |conn| model::save(conn, &user).map_err(ApiError::from))
        .await?;
    if saved.status == STATUS_DISABLED {
        sessions::end(
            state,
            Which::AllOfUser {
                user_id: &saved.id,
                except: None,
            },
            EndReason::AccountDisabled,
        )
        .await?;
    }
    Ok(saved)
}

/// Ends every session of an account (single logout runs).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("id" = String, Path, description = "User id (UUID); anything else is an unknown id (404)")),
    responses(
        (status = 200, description = "Signed out everywhere", body = crate::openapi::EnvelopeNull),
        (status = 404, description = "not_found", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::Unreadable, crate::openapi::responses::SignedIn, crate::openapi::responses::OperatorOnly, crate::openapi::responses::Down,
    )
)]
#[post("/admin/api/users/{id}/signout")]
pub async fn force_signout(
    state: web::Data<AppState>,
    _operator: Operator,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    sign_out_everywhere(&state, &path.into_inner()).await?;
    Ok(envelope::ok(()))
}

/// Ends every session of an account (single logout runs).
pub async fn sign_out_everywhere(state: &AppState, id: &str) -> ApiResult<()> {
    let user = crate::accounts::by_id(state, id).await?;
    sessions::end(
        state,
        Which::AllOfUser {
            user_id: &user.id,
            except: None,
        },
        EndReason::ForcedSignOut,
    )
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    #[param(schema_with = crate::openapi::fields::page)]
    pub page: Option<String>,
    #[param(schema_with = crate::openapi::fields::limit)]
    pub limit: Option<String>,
}

/// Single-logout deliveries, newest first.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of deliveries", body = inline(crate::openapi::EnvelopeOf<Vec<DeliveryView>>)),
        (status = 400, description = "invalid_params", body = crate::openapi::ErrorEnvelope),
        crate::openapi::responses::SignedIn, crate::openapi::responses::OperatorOnly, crate::openapi::responses::Down,
    )
)]
#[get("/admin/api/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    _operator: Operator,
    input: Input,
) -> ApiResult<HttpResponse> {
    let p: PageParams = input.parse()?;
    let (page, limit) = page_params(p.page.as_deref(), p.limit.as_deref())?;
    let (rows, total) = state
        .db
        .run(move |conn| Ok(crate::partners::logout::recent(conn, page, limit)?))
        .await?;
    let views: Vec<DeliveryView> = rows.iter().map(DeliveryView::from).collect();
    Ok(envelope::list(views, total.max(0) as u64))
}
