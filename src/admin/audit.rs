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
    #[param(schema_with = crate::openapi::fields::text_opt)]
    pub user_id: Option<String>,
    #[param(schema_with = crate::openapi::fields::text_opt)]
    pub client_id: Option<String>,
    /// An event name, e.g. `signin.failed`.
    #[param(schema_with = crate::openapi::fields::audit_event_opt)]
    pub event: Option<String>,
    /// Events at or after this time.
    #[param(schema_with = crate::openapi::fields::time_opt)]
    pub from: Option<String>,
    /// Events before this time.
    #[param(schema_with = crate::openapi::fields::time_opt)]
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
        let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        Ok(Filter {
            user_id: given(&self.user_id),
            client_id: given(&self.client_id),
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
