use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::accounts::UserView;
use crate::accounts::list::ListQuery;
use crate::auth::Operator;
use crate::error::{ApiError, ApiResult};
use crate::http::envelope;
use crate::http::input::Input;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    /// JSON `{"page": 1, "limit": 20}`; page from 1, limit 1..100.
    pub paginate: Option<String>,
    /// JSON `[{"fieldname": "username", "option": "like", "value": "张"}]`; options eq, ne,
    /// like, prefix, gt, gte, lt, lte; without `value`, `option` is searched as `like`.
    pub filter: Option<String>,
    /// JSON `[{"field": "created_at", "direction": "desc"}]`.
    pub sort: Option<String>,
    pub token: Option<String>,
}

/// Lists users (operators only); `total` counts every match.
#[utoipa::path(
    tag = "accounts",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of users", body = inline(crate::openapi::EnvelopeOf<Vec<UserView>>)),
        (status = 400, description = "invalid_params", body = crate::openapi::ErrorEnvelope),
        (status = 401, description = "token_*", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "forbidden", body = crate::openapi::ErrorEnvelope),
    )
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    _operator: Operator,
    input: Input,
) -> ApiResult<HttpResponse> {
    let p: ListParams = input.parse()?;
    let query = ListQuery::parse(
        p.paginate.as_deref(),
        p.filter.as_deref(),
        p.sort.as_deref(),
    )?;
    let (rows, total) = state
        .db
        .run(move |conn| query.run(conn).map_err(ApiError::from))
        .await?;
    let users: Vec<UserView> = rows.iter().map(UserView::from).collect();
    Ok(envelope::list(users, total.max(0) as u64))
}
