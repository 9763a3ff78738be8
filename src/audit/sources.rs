//! Where events come from: a refused sign-in (written on its own, as it changes nothing) and
//! an operator's change (`By`: who, through which door, from where).

use super::{Event, Origin, Record, record};

/// Refusals not written to the trail: malformed requests, a backing service down, and the
/// limiter's own refusals, which cost an attacker nothing to repeat (each would otherwise be a
/// database write); the metrics count them all.
const UNRECORDED: &[&str] = &["invalid_params", "unavailable", "rate_limited"];

/// Counts a sign-in attempt and records a refused one (`signin.failed`, with the method and
/// the reason). A success is recorded by the session it starts, in its transaction.
pub async fn signin_attempt<T>(
    state: &crate::state::AppState,
    req: &actix_web::HttpRequest,
    method: crate::observe::SigninMethod,
    outcome: &crate::error::ApiResult<T>,
) {
    state.metrics.signin(method, outcome);
    let Err(err) = outcome else { return };
    let reason = err.reason();
    if UNRECORDED.contains(&reason) {
        return;
    }
    let failed = Record::new(Event::SigninFailed)
        .from(&Origin::of(req, &state.proxies))
        .with("method", method.as_str())
        .with("reason", reason);
    if let Err(e) = state.db.run(move |conn| Ok(record(conn, failed)?)).await {
        tracing::warn!(err = %e, "could not record a failed sign-in");
    }
}

/// Who made an operator's change, and from where: the operator's id for the JSON API and the
/// console, none for the command line.
#[derive(Debug, Clone, Default)]
pub struct By {
    pub actor_id: Option<String>,
    pub origin: Origin,
    /// `api`, `console`, `cli` or `schedule`.
    pub via: &'static str,
}

impl By {
    pub fn operator(id: &str, via: &'static str, origin: Origin) -> By {
        By {
            actor_id: Some(id.to_owned()),
            origin,
            via,
        }
    }

    pub fn command_line() -> By {
        By {
            via: "cli",
            ..By::default()
        }
    }

    /// The service itself, on a schedule (a key rotated by GATEHOUSE_KEY_ROTATE_DAYS).
    pub fn scheduled() -> By {
        By {
            via: "schedule",
            ..By::default()
        }
    }

    /// An event done by this actor.
    pub fn record(&self, event: Event) -> Record {
        Record::new(event)
            .actor(self.actor_id.as_deref())
            .from(&self.origin)
            .with("via", self.via)
    }
}
