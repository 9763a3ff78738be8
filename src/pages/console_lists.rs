//! The operators' console's lists, each paged on its own: users (with the search), single-
//! logout deliveries, and the audit trail (filtered by event, account and partner). Every list
//! is read through the same functions as `/admin/api/`.

use serde::Deserialize;

use crate::accounts::UserView;
use crate::accounts::list::ListQuery;
use crate::audit::{AuditView, Event, Filter};
use crate::error::{ApiError, ApiResult};
use crate::partners::logout::{Backlog, DeliveryView};
use crate::state::AppState;

/// Rows on one page of each list.
const PAGE: i64 = 50;

/// `/admin`'s query: the user search, each list's page, the audit filters.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ConsoleQuery {
    pub q: Option<String>,
    pub users_page: Option<i64>,
    pub deliveries_page: Option<i64>,
    pub audit_page: Option<i64>,
    pub audit_event: Option<String>,
    pub audit_user: Option<String>,
    pub audit_client: Option<String>,
}

impl ConsoleQuery {
    /// The search as typed, at most 100 characters.
    pub fn search(&self) -> String {
        self.q.as_deref().unwrap_or("").chars().take(100).collect()
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let text = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let num = |v: Option<i64>| v.map(|n| n.to_string());
        [
            ("q", text(&self.q)),
            ("users_page", num(self.users_page)),
            ("deliveries_page", num(self.deliveries_page)),
            ("audit_page", num(self.audit_page)),
            ("audit_event", text(&self.audit_event)),
            ("audit_user", text(&self.audit_user)),
            ("audit_client", text(&self.audit_client)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    /// `/admin` with this query but list `field` on `page`.
    fn with_page(&self, field: &str, page: i64) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs() {
            if k != field {
                out.append_pair(k, &v);
            }
        }
        out.append_pair(field, &page.to_string());
        format!("/admin?{}", out.finish())
    }
}

/// Where a list stands: its page, how many there are, and the links to its neighbours.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    fn new(query: &ConsoleQuery, field: &str, page: i64, total: i64) -> Pager {
        let pages = ((total.max(0) + PAGE - 1) / PAGE).max(1);
        Pager {
            page,
            pages,
            prev: (page > 1).then(|| query.with_page(field, page - 1)),
            next: (page < pages).then(|| query.with_page(field, page + 1)),
        }
    }
}

fn page_of(raw: Option<i64>) -> i64 {
    raw.unwrap_or(1).clamp(1, 1_000_000)
}

/// The lists as the console shows them.
pub struct Lists {
    pub users: Vec<UserView>,
    pub users_pager: Pager,
    pub deliveries: Vec<DeliveryView>,
    pub deliveries_pager: Pager,
    pub backlogs: Vec<Backlog>,
    pub audit: Vec<AuditView>,
    pub audit_pager: Pager,
    /// Every event name, for the filter.
    pub events: Vec<&'static str>,
}

fn user_filter(q: &str) -> Option<String> {
    if q.is_empty() {
        return None;
    }
    // A number searches phones and e-mails, anything else usernames.
    if q.chars().any(|c| c.is_ascii_digit() || c == '@') {
        let field = if q.contains('@') { "email" } else { "phone" };
        return Some(
            serde_json::json!([{ "fieldname": field, "option": "like", "value": q }]).to_string(),
        );
    }
    Some(serde_json::json!([{ "fieldname": "username", "option": q }]).to_string())
}

pub async fn load(state: &AppState, query: &ConsoleQuery) -> ApiResult<Lists> {
    let q = query.search();
    let (users_page, deliveries_page, audit_page) = (
        page_of(query.users_page),
        page_of(query.deliveries_page),
        page_of(query.audit_page),
    );
    let paging = serde_json::json!({ "page": users_page, "limit": PAGE }).to_string();
    let list = ListQuery::parse(Some(&paging), user_filter(&q).as_deref(), None)?;
    let (users, users_total) = state
        .db
        .read(move |conn| list.run(conn).map_err(ApiError::from))
        .await?;
    let event = match query.audit_event.as_deref().filter(|e| !e.is_empty()) {
        None => None,
        Some(name) => Some(Event::parse(name).ok_or(ApiError::field("audit_event", "unknown"))?),
    };
    let filter = Filter {
        user_id: query.audit_user.clone().filter(|s| !s.is_empty()),
        client_id: query.audit_client.clone().filter(|s| !s.is_empty()),
        event,
        ..Filter::default()
    };
    let (deliveries, deliveries_total, backlogs, audit, audit_total) = state
        .db
        .read(move |conn| {
            let (recent, total) = crate::partners::logout::recent(conn, deliveries_page, PAGE)?;
            let backlogs = crate::partners::logout::backlogs(conn)?;
            let (audit, audit_total) = crate::audit::list(conn, &filter, audit_page, PAGE)?;
            Ok((recent, total, backlogs, audit, audit_total))
        })
        .await?;
    Ok(Lists {
        users: users.iter().map(UserView::from).collect(),
        users_pager: Pager::new(query, "users_page", users_page, users_total),
        deliveries: deliveries.iter().map(DeliveryView::from).collect(),
        deliveries_pager: Pager::new(query, "deliveries_page", deliveries_page, deliveries_total),
        backlogs,
        audit,
        audit_pager: Pager::new(query, "audit_page", audit_page, audit_total),
        events: Event::ALL.iter().map(|e| e.as_str()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_link_keeps_the_other_lists_and_filters() {
        let query = ConsoleQuery {
            q: Some("a&b".into()),
            users_page: Some(2),
            audit_event: Some("signin.failed".into()),
            ..ConsoleQuery::default()
        };
        let pager = Pager::new(&query, "audit_page", 1, 120);
        assert_eq!(pager.pages, 3);
        assert_eq!(pager.prev, None);
        assert_eq!(
            pager.next.as_deref(),
            Some("/admin?q=a%26b&users_page=2&audit_event=signin.failed&audit_page=2")
        );
        assert_eq!(Pager::new(&query, "users_page", 1, 0).pages, 1);
    }
}
