//! `GET /admin/api/audit`: the audit trail for operators (CONTRACT §9).

use actix_web::get;
use chrono::NaiveDateTime;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::admin::page_params;
use crate::audit::{AuditView, Event, Filter};
use crate::auth::Operator;
use crate::error::{Answer, ApiError, ApiResult};
use crate::http::envelope;
use crate::http::input::Input;
use crate::openapi::EnvelopeOf;
use crate::openapi::responses::OperatorListRefusals;
use crate::state::Shared;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    #[param(schema_with = crate::openapi::fields::page)]
    pub page: Option<String>,
    #[param(schema_with = crate::openapi::fields::limit)]
    pub limit: Option<String>,
    /// The account concerned.
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    /// An event name, e.g. `signin.failed`.
    pub event: Option<String>,
    /// RFC 3339: events at or after.
    pub from: Option<String>,
    /// RFC 3339: events before.
    pub to: Option<String>,
}

fn time(raw: Option<&str>, name: &str) -> ApiResult<Option<NaiveDateTime>> {
    raw.map(|v| {
        chrono::DateTime::parse_from_rfc3339(v)
            .map(|t| t.naive_utc())
            .map_err(|_| ApiError::field(name, "must be an RFC 3339 time"))
    })
    .transpose()
}

impl AuditParams {
    fn filter(&self) -> ApiResult<Filter> {
        let event = match self.event.as_deref() {
            None => None,
            Some(name) => Some(
                Event::parse(name).ok_or_else(|| ApiError::field("event", "not an event name"))?,
            ),
        };
        Ok(Filter {
            user_id: self.user_id.clone(),
            client_id: self.client_id.clone(),
            event,
            from: time(self.from.as_deref(), "from")?,
            to: time(self.to.as_deref(), "to")?,
        })
    }
}

/// The audit trail, newest first, paged like the other lists and filtered by account,
/// partner, event and time (`from` ≤ `at` < `to`).
#[utoipa::path(
    tag = "admin", security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    params(AuditParams),
    responses(
        (status = 200, description = "A page of events", body = inline(EnvelopeOf<Vec<AuditView>>)),
        OperatorListRefusals,
    )
)]
#[get("/admin/api/audit")]
pub async fn audit(state: Shared, _operator: Operator, input: Input) -> Answer {
    let p: AuditParams = input.parse()?;
    let (page, limit) = page_params(p.page.as_deref(), p.limit.as_deref())?;
    let filter = p.filter()?;
    let (rows, total) = state
        .db
        .read(move |conn| Ok(crate::audit::list(conn, &filter, page, limit)?))
        .await?;
    Ok(envelope::list(rows, total.max(0) as u64))
}
