//! Validating a service ticket (PROTOCOLS §4, the `…Validate` endpoints): the ticket is taken
//! first, so any attempt uses it up; then the service, the partner, `renew` and the session
//! decide, and a success records the ticket in the session for single logout.

use super::tickets::{self, Grant};
use crate::accounts::UserRow;
use crate::error::{ApiError, ApiResult};
use crate::partners::{self, CallbackUrl, ClientMode};
use crate::sessions;
use crate::state::AppState;

/// Why a validation fails: CAS's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    InvalidRequest,
    InvalidTicket,
    InvalidTicketSpec,
    InvalidService,
    InternalError,
}

impl Failure {
    pub const fn code(self) -> &'static str {
        match self {
            Failure::InvalidRequest => "INVALID_REQUEST",
            Failure::InvalidTicket => "INVALID_TICKET",
            Failure::InvalidTicketSpec => "INVALID_TICKET_SPEC",
            Failure::InvalidService => "INVALID_SERVICE",
            Failure::InternalError => "INTERNAL_ERROR",
        }
    }

    pub const fn description(self) -> &'static str {
        match self {
            Failure::InvalidRequest => "service and ticket are required",
            Failure::InvalidTicket => "the ticket is not recognised",
            Failure::InvalidTicketSpec => "the ticket did not come from a new sign-in",
            Failure::InvalidService => "the ticket was not issued for this service",
            Failure::InternalError => "a backing service is unavailable",
        }
    }
}

/// Who the ticket's session belongs to, and how they signed in.
#[derive(Debug, Clone)]
pub struct Success {
    pub user: UserRow,
    /// The session's last primary sign-in (unix seconds).
    pub auth_time: i64,
    pub new_login: bool,
}

/// What a service's back end sent: `service`, `ticket` and `renew`.
#[derive(Debug, Default, Clone)]
pub struct Presented<'a> {
    pub service: Option<&'a str>,
    pub ticket: Option<&'a str>,
    pub renew: bool,
}

fn internal(_: ApiError) -> Failure {
    Failure::InternalError
}

pub async fn validate(state: &AppState, presented: Presented<'_>) -> Result<Success, Failure> {
    let grant = match presented.ticket {
        Some(ticket) => tickets::take(state, ticket).await.map_err(internal)?,
        None => None,
    };
    let (Some(service), Some(ticket)) = (presented.service, presented.ticket) else {
        return Err(Failure::InvalidRequest);
    };
    let grant = grant.ok_or(Failure::InvalidTicket)?;
    let service_url = CallbackUrl::parse(service)
        .filter(|s| s.as_str() == grant.service)
        .ok_or(Failure::InvalidService)?;
    // The partner may have been disabled, or the rule removed, since the ticket was issued.
    match partners::by_id(state, &grant.client_id)
        .await
        .map_err(internal)?
    {
        Some(c) if c.mode() == ClientMode::Cas && c.matches(&service_url) => {}
        _ => return Err(Failure::InvalidService),
    }
    if presented.renew && !grant.new_login {
        return Err(Failure::InvalidTicketSpec);
    }
    let (session, user, _) = match sessions::live_for_partner(state, &grant.sid).await {
        Ok(live) => live,
        Err(ApiError::TokenRevoked) => return Err(Failure::InvalidTicket),
        Err(e) => return Err(internal(e)),
    };
    record(state, &grant, ticket).await.map_err(internal)?;
    Ok(Success {
        user,
        auth_time: session.auth_time(),
        new_login: grant.new_login,
    })
}

async fn record(state: &AppState, grant: &Grant, ticket: &str) -> ApiResult<()> {
    sessions::record_cas_ticket(state, &grant.sid, &grant.client_id, ticket, &grant.service).await
}
