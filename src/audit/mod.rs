//! The audit trail (CONTRACT §9): who signed in as whom, from where, how it ended, and what
//! operators changed. Each event is a row in `audit_events`, written in the transaction of the
//! change it records (an event and its change commit together or not at all), and one log line
//! with the field `event`. Events older than `GATEHOUSE_AUDIT_RETENTION_DAYS` are pruned by a
//! background task.
//!
//! An event never holds a password, code, token or secret: its `detail` is built here from
//! fixed names (method, terminal, reason, cause, changed fields), never from request text.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::audit_events;

mod sources;
pub use sources::{By, signin_attempt};

/// The events, by their contract names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    SigninSucceeded,
    SigninFailed,
    Signout,
    SessionEnded,
    PasswordChanged,
    PasswordReset,
    ContactChanged,
    AccountDeleted,
    AccountLocked,
    ClientCreated,
    ClientUpdated,
    ClientSecretRotated,
    ClientDisabled,
    UserDisabled,
    UserEnabled,
    UserRoleChanged,
    UserSignedOutByOperator,
    KeyRotated,
}

impl Event {
    pub const ALL: [Event; 18] = [
        Event::SigninSucceeded,
        Event::SigninFailed,
        Event::Signout,
        Event::SessionEnded,
        Event::PasswordChanged,
        Event::PasswordReset,
        Event::ContactChanged,
        Event::AccountDeleted,
        Event::AccountLocked,
        Event::ClientCreated,
        Event::ClientUpdated,
        Event::ClientSecretRotated,
        Event::ClientDisabled,
        Event::UserDisabled,
        Event::UserEnabled,
        Event::UserRoleChanged,
        Event::UserSignedOutByOperator,
        Event::KeyRotated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::SigninSucceeded => "signin.succeeded",
            Event::SigninFailed => "signin.failed",
            Event::Signout => "signout",
            Event::SessionEnded => "session.ended",
            Event::PasswordChanged => "password.changed",
            Event::PasswordReset => "password.reset",
            Event::ContactChanged => "contact.changed",
            Event::AccountDeleted => "account.deleted",
            Event::AccountLocked => "account.locked",
            Event::ClientCreated => "client.created",
            Event::ClientUpdated => "client.updated",
            Event::ClientSecretRotated => "client.secret_rotated",
            Event::ClientDisabled => "client.disabled",
            Event::UserDisabled => "user.disabled",
            Event::UserEnabled => "user.enabled",
            Event::UserRoleChanged => "user.role_changed",
            Event::UserSignedOutByOperator => "user.signed_out_by_operator",
            Event::KeyRotated => "key.rotated",
        }
    }

    pub fn parse(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// Where a request came from, as the audit trail keeps it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The client IP (CONTRACT §8).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Origin {
    pub fn of(req: &actix_web::HttpRequest, proxies: &[ipnet::IpNet]) -> Origin {
        let ua = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            // Bounded: a header is the client's to make as long as it likes.
            .map(|v| v.chars().take(256).collect());
        Origin {
            ip: Some(crate::http::client_ip::client_ip(req, proxies).to_string()),
            user_agent: ua,
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Record {
    pub event: Event,
    /// The account concerned.
    pub user_id: Option<String>,
    /// The operator for operator actions, else the acting user (or none).
    pub actor_id: Option<String>,
    pub client_id: Option<String>,
    pub origin: Origin,
    pub detail: Map<String, Value>,
}

impl Record {
    pub fn new(event: Event) -> Record {
        Record {
            event,
            user_id: None,
            actor_id: None,
            client_id: None,
            origin: Origin::default(),
            detail: Map::new(),
        }
    }

    pub fn user(mut self, id: &str) -> Record {
        self.user_id = Some(id.to_owned());
        self
    }

    pub fn actor(mut self, id: Option<&str>) -> Record {
        self.actor_id = id.map(str::to_owned);
        self
    }

    pub fn client(mut self, id: Option<&str>) -> Record {
        self.client_id = id.map(str::to_owned);
        self
    }

    pub fn from(mut self, origin: &Origin) -> Record {
        self.origin = origin.clone();
        self
    }

    /// A detail field: a fixed name and a value made by the caller from fixed names.
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> Record {
        self.detail.insert(key.to_owned(), value.into());
        self
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
struct Row {
    id: String,
    at: NaiveDateTime,
    event: String,
    user_id: Option<String>,
    actor_id: Option<String>,
    client_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: String,
}

/// Writes `record`; call inside the transaction of the change it records. The log line goes
/// out at once (a transaction that then rolls back leaves a log line without its row).
pub fn record(conn: &mut DbConnection, record: Record) -> QueryResult<()> {
    let detail = Value::Object(record.detail).to_string();
    tracing::info!(
        event = record.event.as_str(),
        user_id = record.user_id.as_deref(),
        actor_id = record.actor_id.as_deref(),
        client_id = record.client_id.as_deref(),
        ip = record.origin.ip.as_deref(),
        detail = %detail,
        "audit"
    );
    diesel::insert_into(audit_events::table)
        .values(Row {
            id: uuid::Uuid::new_v4().to_string(),
            at: crate::db::now(),
            event: record.event.as_str().to_owned(),
            user_id: record.user_id,
            actor_id: record.actor_id,
            client_id: record.client_id,
            ip: record.origin.ip,
            user_agent: record.origin.user_agent,
            detail,
        })
        .execute(conn)?;
    Ok(())
}

/// An event as operators read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditView {
    pub id: String,
    /// RFC 3339.
    pub at: String,
    pub event: String,
    pub user_id: Option<String>,
    pub actor_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub detail: Value,
}

impl From<Row> for AuditView {
    fn from(r: Row) -> Self {
        AuditView {
            id: r.id,
            at: crate::accounts::model::rfc3339(r.at),
            event: r.event,
            user_id: r.user_id,
            actor_id: r.actor_id,
            client_id: r.client_id,
            ip: r.ip,
            user_agent: r.user_agent,
            detail: serde_json::from_str(&r.detail).unwrap_or(Value::Null),
        }
    }
}

/// Which events a listing wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub event: Option<Event>,
    /// `from` ≤ `at` < `to`.
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// A page of events, newest first, and how many match in all.
pub fn list(
    conn: &mut DbConnection,
    filter: &Filter,
    page: i64,
    limit: i64,
) -> QueryResult<(Vec<AuditView>, i64)> {
    let query = || {
        let mut q = audit_events::table.into_boxed();
        if let Some(u) = &filter.user_id {
            q = q.filter(audit_events::user_id.eq(u.clone()));
        }
        if let Some(c) = &filter.client_id {
            q = q.filter(audit_events::client_id.eq(c.clone()));
        }
        if let Some(e) = filter.event {
            q = q.filter(audit_events::event.eq(e.as_str()));
        }
        if let Some(from) = filter.from {
            q = q.filter(audit_events::at.ge(from));
        }
        if let Some(to) = filter.to {
            q = q.filter(audit_events::at.lt(to));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows: Vec<Row> = query()
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .limit(limit)
        .offset((page - 1) * limit)
        .select(Row::as_select())
        .load(conn)?;
    Ok((rows.into_iter().map(AuditView::from).collect(), total))
}

/// A person's own recent sign-ins, newest first (for `/account`).
pub fn recent_signins(
    conn: &mut DbConnection,
    user_id: &str,
    limit: i64,
) -> QueryResult<Vec<AuditView>> {
    let filter = Filter {
        user_id: Some(user_id.to_owned()),
        event: Some(Event::SigninSucceeded),
        ..Filter::default()
    };
    Ok(list(conn, &filter, 1, limit)?.0)
}

/// Deletes events recorded before `before`; how many went.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(audit_events::table.filter(audit_events::at.lt(before))).execute(conn)
}

/// Prunes the trail every hour on every instance (a delete of nothing costs an index probe).
pub fn spawn_retention(state: actix_web::web::Data<crate::state::AppState>) {
    let days = i64::from(state.settings.audit_retention_days);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let before = crate::db::now() - chrono::Duration::days(days);
            match state.db.run(move |conn| Ok(prune(conn, before)?)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "audit events past retention pruned"),
                Err(err) => tracing::warn!(%err, "could not prune the audit trail"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_parses_back() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.as_str()), Some(e));
        }
        assert_eq!(Event::parse("signin"), None);
    }
}
