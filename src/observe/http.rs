//! Requests by route template: `/users/{user_id}`, not the path with its id (CONTRACT §9).
//!
//! actix finds a request's template by matching its path against every route again, which
//! costs microseconds on the hot path; a fixed path's template is therefore remembered. Paths
//! with parameters, and paths no route matches, are never remembered, so the table holds at
//! most one entry per fixed route whatever clients send.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::HttpRequest;
use prometheus::{Histogram, IntCounter};

use super::Metrics;

/// What an unmatched request is counted as.
pub const UNMATCHED: &str = "unmatched";

pub struct Templates {
    fixed: RwLock<HashMap<String, &'static str>>,
    /// Every template seen, each leaked once: there are as many as routes.
    interned: RwLock<Vec<&'static str>>,
    /// Which server's metrics a thread's `RECENT` handles count into.
    owner: u64,
}

impl Default for Templates {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Templates {
            fixed: RwLock::default(),
            interned: RwLock::default(),
            owner: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// Whether `template` is the fixed path `path`: only those are remembered.
fn is_fixed(template: &str, path: &str) -> bool {
    !template.contains('{') && template == path
}

impl Templates {
    pub fn of(&self, req: &HttpRequest) -> &'static str {
        let path = req.path();
        if let Some(t) = self.fixed.read().ok().and_then(|m| m.get(path).copied()) {
            return t;
        }
        let Some(pattern) = req.match_pattern() else {
            return UNMATCHED;
        };
        let template = self.intern(pattern);
        if is_fixed(template, path)
            && let Ok(mut m) = self.fixed.write()
        {
            m.insert(path.to_owned(), template);
        }
        template
    }

    fn intern(&self, pattern: String) -> &'static str {
        if let Some(t) = self
            .interned
            .read()
            .ok()
            .and_then(|v| v.iter().copied().find(|t| *t == pattern))
        {
            return t;
        }
        let mut all = match self.interned.write() {
            Ok(all) => all,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(t) = all.iter().copied().find(|t| *t == pattern) {
            return t;
        }
        let leaked: &'static str = Box::leak(pattern.into_boxed_str());
        all.push(leaked);
        leaked
    }
}

/// The series of one fixed path, method and status that a thread counted into lately.
struct Recent {
    path: Box<str>,
    method: &'static str,
    status: &'static str,
    requests: IntCounter,
    duration: Histogram,
}

/// How many series each thread keeps at hand.
const KEPT: usize = 16;

thread_local! {
    /// The owner (`Templates::owner`) of the handles, and the handles, latest first. Finding
    /// a series by its labels takes the route table's lock and both metrics' locks and
    /// hashes, every one an atomic on memory the other workers share: a worker answering the
    /// same few routes over and over keeps their handles instead.
    static RECENT: RefCell<(u64, Vec<Recent>)> = const { RefCell::new((0, Vec::new())) };
}

impl Metrics {
    /// Counts one answered request and its latency.
    pub fn request(&self, req: &HttpRequest, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let method = method_label(req.method());
        let path = req.path();
        let owner = self.templates.owner;
        let label = status_label(status);
        if let Some(status) = label
            && self.count_kept(path, method, status, seconds)
        {
            return;
        }
        let route = self.templates.of(req);
        let unusual;
        let status_text = match label {
            Some(label) => label,
            None => {
                unusual = status.to_string();
                &unusual
            }
        };
        let labels = [route, method, status_text];
        let requests = self.http_requests.with_label_values(&labels);
        let duration = self.http_duration.with_label_values(&labels);
        requests.inc();
        duration.observe(seconds);
        // A path with parameters has one series for many paths: only fixed ones are kept, and
        // only with a status label of the usual, static ones.
        if let Some(status) = label
            && is_fixed(route, path)
        {
            RECENT.with_borrow_mut(|(of, recent)| {
                if *of == owner {
                    recent.truncate(KEPT - 1);
                    recent.insert(
                        0,
                        Recent {
                            path: path.into(),
                            method,
                            status,
                            requests,
                            duration,
                        },
                    );
                }
            });
        }
    }

    /// Counts into this thread's kept handles of the series, if it has them.
    fn count_kept(&self, path: &str, method: &str, status: &str, seconds: f64) -> bool {
        let owner = self.templates.owner;
        RECENT.with_borrow_mut(|(of, recent)| {
            if *of != owner {
                recent.clear();
                *of = owner;
            }
            let Some(at) = recent
                .iter()
                .position(|r| r.status == status && r.method == method && *r.path == *path)
            else {
                return false;
            };
            recent[at].requests.inc();
            recent[at].duration.observe(seconds);
            recent[..=at].rotate_right(1);
            true
        })
    }
}

/// The standard methods by name and every other as `other`: HTTP lets a client send any
/// token as a method, and each would otherwise become series of its own in the registry.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    const KNOWN: &[(Method, &str)] = &[
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, label)| label)
}

/// The usual statuses as labels without formatting a number per request.
fn status_label(status: u16) -> Option<&'static str> {
    const KNOWN: &[(u16, &str)] = &[
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (301, "301"),
        (302, "302"),
        (303, "303"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (409, "409"),
        (413, "413"),
        (415, "415"),
        (429, "429"),
        (500, "500"),
        (502, "502"),
        (503, "503"),
    ];
    KNOWN
        .iter()
        .find(|(code, _)| *code == status)
        .map(|(_, label)| *label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_usual_statuses_have_ready_labels() {
        for code in [
            200, 201, 302, 303, 400, 401, 403, 404, 405, 409, 413, 429, 500, 503,
        ] {
            assert_eq!(status_label(code), Some(code.to_string().as_str()));
        }
        assert_eq!(status_label(418), None);
    }

    #[test]
    fn standard_methods_are_named_and_any_other_is_other() {
        use actix_web::http::Method;
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "other"
        );
    }

    #[actix_web::test]
    async fn each_request_counts_once_into_its_own_servers_series() {
        use actix_web::{App, HttpResponse, test, web};
        let (a, b) = (Metrics::new(Vec::new()), Metrics::new(Vec::new()));
        let app = test::init_service(
            App::new()
                .route("/token", web::get().to(HttpResponse::Ok))
                .route("/users/{id}", web::get().to(HttpResponse::Ok)),
        )
        .await;
        // Kept handles are used from the second request on, and dropped when another
        // server's metrics count on the same thread.
        for (metrics, path, status) in [
            (&a, "/token", 200),
            (&a, "/token", 200),
            (&a, "/token", 401),
            (&a, "/token", 200),
            (&b, "/token", 200),
            (&a, "/users/1", 200),
            (&a, "/users/2", 200),
            (&a, "/token", 200),
            (&a, "/token", 418),
        ] {
            let res = test::call_service(&app, TestRequest::get().uri(path).to_request()).await;
            metrics.request(res.request(), status, Duration::from_millis(1));
        }
        let count = |m: &Metrics, labels: [&str; 3]| {
            let requests = m.http_requests.with_label_values(&labels).get();
            let timed = m
                .http_duration
                .with_label_values(&labels)
                .get_sample_count();
            assert_eq!(requests, timed, "{labels:?}");
            requests
        };
        assert_eq!(count(&a, ["/token", "GET", "200"]), 4);
        assert_eq!(count(&a, ["/token", "GET", "401"]), 1);
        assert_eq!(count(&a, ["/token", "GET", "418"]), 1);
        assert_eq!(count(&b, ["/token", "GET", "200"]), 1);
        assert_eq!(count(&a, ["/users/{id}", "GET", "200"]), 2);
    }

    #[test]
    fn an_unrouted_request_is_unmatched() {
        let req = TestRequest::with_uri("/nowhere").to_http_request();
        assert_eq!(Templates::default().of(&req), UNMATCHED);
    }
}
