use super::*;

fn rule(s: &str) -> CallbackRule {
    CallbackRule::parse(s).unwrap_or_else(|e| panic!("rule {s:?} refused: {e}"))
}

fn cb(s: &str) -> CallbackUrl {
    CallbackUrl::parse(s).unwrap_or_else(|| panic!("callback {s:?} refused"))
}

/// Whether `candidate` is accepted by `rule`; an unparseable candidate never is.
fn accepts(rule_str: &str, candidate: &str) -> bool {
    CallbackUrl::parse(candidate).is_some_and(|c| rule(rule_str).matches(&c))
}

/// Asserts that `rule` accepts every one of `candidates`.
#[track_caller]
fn assert_accepts(rule: &str, candidates: &[&str]) {
    for candidate in candidates {
        assert!(accepts(rule, candidate), "{rule} must accept {candidate}");
    }
}

/// Asserts that `rule` accepts none of `candidates`.
#[track_caller]
fn assert_refuses(rule: &str, candidates: &[&str]) {
    for candidate in candidates {
        assert!(!accepts(rule, candidate), "{rule} must refuse {candidate}");
    }
}

/// Asserts that `a` and `b` are one callback: each, as a rule, accepts the other.
#[track_caller]
fn assert_same_callback(a: &str, b: &str) {
    assert_accepts(a, &[b]);
    assert_accepts(b, &[a]);
}

/// Asserts that `a` and `b` are different callbacks: neither, as a rule, accepts the other.
#[track_caller]
fn assert_different_callbacks(a: &str, b: &str) {
    assert_refuses(a, &[b]);
    assert_refuses(b, &[a]);
}

const EXACT: &str = "https://good.example/cb";
const PREFIX: &str = "https://good.example/sso/*";

// --- exact rules ---

#[test]
fn exact_rule_matches_identical_url() {
    assert_accepts(EXACT, &["https://good.example/cb"]);
}

#[test]
fn exact_rule_allows_and_keeps_query_on_candidate() {
    assert_accepts(EXACT, &["https://good.example/cb?x=1&y=2"]);
    assert_eq!(
        cb("https://good.example/cb?x=1&y=2").as_url().query(),
        Some("x=1&y=2")
    );
}

#[test]
fn exact_rule_rejects_trailing_slash_difference() {
    assert_different_callbacks(EXACT, "https://good.example/cb/");
}

#[test]
fn exact_rule_rejects_other_paths() {
    assert_refuses(
        EXACT,
        &[
            "https://good.example/cb2",
            "https://good.example/cb/x",
            "https://good.example/",
        ],
    );
}

#[test]
fn exact_rule_without_path_means_root() {
    let r = rule("https://good.example");
    assert_eq!(r.as_str(), "https://good.example/");
    assert!(r.matches(&cb("https://good.example/")));
    assert!(r.matches(&cb("https://good.example")));
    assert!(r.matches(&cb("https://good.example?x=1")));
    assert!(!r.matches(&cb("https://good.example/cb")));
}

#[test]
fn exact_rule_resolves_dot_segments_in_candidate() {
    assert_accepts(
        EXACT,
        &["https://good.example/x/../cb", "https://good.example/./cb"],
    );
}

// --- prefix rules ---

#[test]
fn prefix_rule_matches_paths_below_prefix() {
    assert_accepts(
        PREFIX,
        &[
            "https://good.example/sso/",
            "https://good.example/sso/callback",
            "https://good.example/sso/a/b/c?q=1",
        ],
    );
}

#[test]
fn prefix_rule_does_not_match_prefix_without_trailing_slash() {
    assert_refuses(
        PREFIX,
        &[
            "https://good.example/sso",
            "https://good.example/sso?x=/sso/",
        ],
    );
}

#[test]
fn prefix_rule_requires_slash_boundary() {
    assert_refuses(
        PREFIX,
        &[
            "https://good.example/ssoevil",
            "https://good.example/ssoevil/x",
            "https://good.example/other/sso/x",
        ],
    );
}

#[test]
fn prefix_rule_is_not_escaped_by_dot_segments() {
    assert_refuses(
        PREFIX,
        &[
            "https://good.example/sso/../admin",
            "https://good.example/sso/..",
            "https://good.example/sso/a/../../admin",
        ],
    );
}

#[test]
fn prefix_rule_matches_dot_segments_that_stay_inside() {
    assert_accepts(
        PREFIX,
        &[
            "https://good.example/sso/a/../b",
            "https://good.example/sso/./b",
            "https://good.example/x/../sso/b",
        ],
    );
}

/// Decision: the url crate follows the WHATWG URL standard, which treats `%2e` spellings of
/// `.` and `..` (`%2e%2e`, `.%2e`, `%2E.`, ...) as dot segments and resolves them before we
/// see the path. So `/sso/%2e%2e/admin` becomes `/admin` and cannot escape `/sso/`.
#[test]
fn prefix_rule_is_not_escaped_by_percent_encoded_dot_segments() {
    assert_eq!(
        cb("https://good.example/sso/%2e%2e/admin").as_url().path(),
        "/admin"
    );
    assert_refuses(
        PREFIX,
        &[
            "https://good.example/sso/%2e%2e/admin",
            "https://good.example/sso/%2E%2E/admin",
            "https://good.example/sso/.%2e/admin",
            "https://good.example/sso/%2e./admin",
        ],
    );
}

/// Decision: an encoded slash is not decoded, so `%2f..` is one literal segment inside
/// `/sso/` and matching it is acceptable; the partner receives exactly that path.
#[test]
fn prefix_rule_treats_encoded_slash_as_literal_segment() {
    let c = cb("https://good.example/sso/..%2fadmin");
    assert_eq!(c.as_url().path(), "/sso/..%2fadmin");
    assert!(rule(PREFIX).matches(&c));
    assert_refuses(PREFIX, &["https://good.example/sso%2fx"]);
}

#[test]
fn root_prefix_rule_matches_every_path_of_origin() {
    let r = "https://good.example/*";
    assert_accepts(
        r,
        &[
            "https://good.example/",
            "https://good.example",
            "https://good.example/anything/at/all?x=1",
        ],
    );
    assert_refuses(r, &["https://evil.example/", "http://good.example/"]);
}

#[test]
fn prefix_rule_keeps_star_in_stored_form() {
    let r = rule("HTTPS://Good.Example:443/sso/*");
    assert!(r.is_prefix());
    assert_eq!(r.as_str(), "https://good.example/sso/*");
    assert_eq!(r.to_string(), r.as_str());
}

// --- origin comparison ---

#[test]
fn scheme_and_host_compare_case_insensitively() {
    assert_same_callback(EXACT, "HTTPS://GOOD.EXAMPLE/cb");
}

#[test]
fn path_compares_case_sensitively() {
    assert_refuses(EXACT, &["https://good.example/CB"]);
    assert_refuses(PREFIX, &["https://good.example/SSO/x"]);
}

#[test]
fn default_port_equals_no_port() {
    assert_same_callback(EXACT, "https://good.example:443/cb");
    assert_accepts("http://good.example/cb", &["http://good.example:80/cb"]);
}

#[test]
fn other_port_does_not_match() {
    assert_different_callbacks(EXACT, "https://good.example:8443/cb");
    assert_accepts(
        "https://good.example:8443/cb",
        &["https://good.example:8443/cb"],
    );
    // 443 is not the default for http.
    assert_refuses("http://good.example/cb", &["http://good.example:443/cb"]);
}

#[test]
fn http_and_https_differ() {
    assert_different_callbacks(EXACT, "http://good.example/cb");
}

#[test]
fn different_host_does_not_match() {
    assert_refuses(
        EXACT,
        &[
            "https://good.example.evil.example/cb",
            "https://evil.example/cb",
            "https://sub.good.example/cb",
            "https://good.example./cb",
        ],
    );
}

// Hostile candidates.
mod hostile;
