use actix_web::{get, patch, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::accounts::UserView;
use crate::accounts::model::{ROLE_ADMIN, ROLE_USER, STATUS_ACTIVE, STATUS_DISABLED};
use crate::admin::page_params;
use crate::audit::{By, Event};
use crate::auth::Operator;
use crate::error::{Answer, ApiError, ApiResult};
use crate::http::envelope;
use crate::http::input::Input;
use crate::openapi::responses::{OperatorByIdRefusals, OperatorListRefusals, refusals};
use crate::openapi::{EnvelopeNull, EnvelopeOf};
use crate::partners::logout::DeliveryView;
use crate::sessions::{self, EndReason, Which};
use crate::state::{AppState, Shared};

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserPatch {
    #[schema(schema_with = crate::openapi::fields::status_opt)]
    pub status: Option<String>,
    #[schema(schema_with = crate::openapi::fields::role_opt)]
    pub role: Option<String>,
}

refusals!(PatchUserRefusals: [SIGNED_IN, OPERATOR_ONLY, TOO_LARGE, DOWN]
    "invalid_params", "not_found");

/// Changes an account's status or role.
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("id" = String, Path, description = "User id (UUID); anything else is an unknown id (404)")),
    request_body = Option<UserPatch>,
    responses(
        (status = 200, description = "The updated user", body = inline(EnvelopeOf<UserView>)),
        PatchUserRefusals,
    )
)]
#[patch("/admin/api/users/{id}")]
pub async fn patch_user(
    state: Shared,
    operator: Operator,
    req: actix_web::HttpRequest,
    input: Input,
    path: web::Path<String>,
) -> Answer {
    let by = operator.by(&req, &state.proxies);
    let saved = apply_patch(&state, &by, &path.into_inner(), input.parse()?).await?;
    Ok(envelope::ok(UserView::from(&saved)))
}

/// Changes status or role; disabling ends every session of the account.
pub async fn apply_patch(
    state: &AppState,
    by: &By,
    id: &str,
    p: UserPatch,
) -> ApiResult<crate::accounts::UserRow> {
    let mut user = crate::accounts::by_id(state, id).await?;
    let mut events = Vec::new();
    if let Some(status) = p.status.as_deref() {
        if ![STATUS_ACTIVE, STATUS_DISABLED].contains(&status) {
            return Err(ApiError::field("status", "active or disabled"));
        }
        if user.status != status {
            let event = match status {
                STATUS_DISABLED => Event::UserDisabled,
                _ => Event::UserEnabled,
            };
            events.push(by.record(event).user(&user.id));
        }
        user.status = status.to_owned();
    }
    if let Some(role) = p.role.as_deref() {
        if ![ROLE_USER, ROLE_ADMIN].contains(&role) {
            return Err(ApiError::field("role", "user or admin"));
        }
        if user.role != role {
            let event = by.record(Event::UserRoleChanged).user(&user.id);
            events.push(event.with("from", user.role.clone()).with("to", role));
        }
        user.role = role.to_owned();
    }
    let saved = crate::accounts::save_recording(state, user, events).await?;
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
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(("id" = String, Path, description = "User id (UUID); anything else is an unknown id (404)")),
    responses(
        (status = 200, description = "Signed out everywhere", body = EnvelopeNull),
        OperatorByIdRefusals,
    )
)]
#[post("/admin/api/users/{id}/signout")]
pub async fn force_signout(
    state: Shared,
    operator: Operator,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
) -> Answer {
    let by = operator.by(&req, &state.proxies);
    sign_out_everywhere(&state, &by, &path.into_inner()).await?;
    Ok(envelope::ok(()))
}

/// Ends every session of an account (single logout runs).
pub async fn sign_out_everywhere(state: &AppState, by: &By, id: &str) -> ApiResult<()> {
    let user = crate::accounts::by_id(state, id).await?;
    // Recorded before the sessions end (each of which records its own `session.ended`).
    let forced = by.record(Event::UserSignedOutByOperator).user(&user.id);
    state
        .db
        .run(move |conn| Ok(crate::audit::record(conn, forced)?))
        .await?;
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
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of deliveries", body = inline(EnvelopeOf<Vec<DeliveryView>>)),
        OperatorListRefusals,
    )
)]
#[get("/admin/api/deliveries")]
pub async fn deliveries(state: Shared, _operator: Operator, input: Input) -> Answer {
    let p: PageParams = input.parse()?;
    let (page, limit) = page_params(p.page.as_deref(), p.limit.as_deref())?;
    let (rows, total) = state
        .db
        .read(move |conn| Ok(crate::partners::logout::recent(conn, page, limit)?))
        .await?;
    let views: Vec<DeliveryView> = rows.iter().map(DeliveryView::from).collect();
    Ok(envelope::list(views, total.max(0) as u64))
}
