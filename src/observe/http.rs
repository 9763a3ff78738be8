//! Requests by route template: `/users/{user_id}`, not the path with its id (CONTRACT §9).
//!
//! actix finds a request's template by matching its path against every route again, which
//! costs microseconds on the hot path; a fixed path's template is therefore remembered. Paths
//! with parameters, and paths no route matches, are never remembered, so the table holds at
//! most one entry per fixed route whatever clients send.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use actix_web::HttpRequest;

use super::Metrics;

/// What an unmatched request is counted as.
pub const UNMATCHED: &str = "unmatched";

#[derive(Default)]
pub struct Templates {
    fixed: RwLock<HashMap<String, &'static str>>,
    /// Every template seen, each leaked once: there are as many as routes.
    interned: RwLock<Vec<&'static str>>,
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
        if !template.contains('{')
            && template == path
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

impl Metrics {
    /// Counts one answered request and its latency.
    pub fn request(&self, req: &HttpRequest, status: u16, elapsed: Duration) {
        let route = self.templates.of(req);
        let unusual;
        let status = match status_label(status) {
            Some(label) => label,
            None => {
                unusual = status.to_string();
                &unusual
            }
        };
        let labels = [route, method_label(req.method()), status];
        self.http_requests.with_label_values(&labels).inc();
        self.http_duration
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
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

    #[test]
    fn an_unrouted_request_is_unmatched() {
        let req = TestRequest::with_uri("/nowhere").to_http_request();
        assert_eq!(Templates::default().of(&req), UNMATCHED);
    }
}
