//! Callback rules of partner systems and the caller-supplied callback URLs checked against them.
//!
//! A rule is an exact URL (`https://app.example/sso/callback`) or an origin plus a path prefix
//! written with a trailing `/*` (`https://app.example/sso/*`). Both rules and candidates go
//! through the same strict parser: anything a browser might read differently from us (user-info,
//! backslashes, stray whitespace, missing `//`, fragments) is refused rather than normalised, so
//! the URL we match is the URL we redirect to.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use url::{SyntaxViolation, Url};

/// Longer URLs are refused outright; no legitimate callback needs more, and it bounds the work.
const MAX_LEN: usize = 2048;

/// Why a callback rule (or, internally, a callback URL) was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RuleError {
    #[error("must be at most {MAX_LEN} bytes")]
    TooLong,
    #[error("must not contain control characters or whitespace")]
    ControlOrWhitespace,
    #[error("must not contain a backslash")]
    Backslash,
    #[error("must be an absolute URL starting with `http://` or `https://`")]
    NotAbsoluteHttpUrl,
    #[error("must not contain a user name or password")]
    HasUserInfo,
    #[error("must not contain a query or fragment")]
    HasQueryOrFragment,
    #[error("`*` is only allowed as a final `/*`")]
    MisplacedWildcard,
    #[error("is not a valid URL")]
    Invalid,
}

/// How the path of a rule is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathMatch {
    Exact,
    /// The path up to and including the `/` before the `*`.
    Prefix(String),
}

/// A registered rule, parsed once when a partner is registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRule {
    /// Normalised form; for prefix rules its path still ends in `/*` so it can be shown and
    /// stored as written.
    url: Url,
    path: PathMatch,
}

impl CallbackRule {
    pub fn parse(rule: &str) -> Result<Self, RuleError> {
        // A `*` anywhere but the very end would look like a host or mid-path wildcard to the
        // operator while matching only a literal `*`; refusing it avoids that misreading.
        let body = rule.strip_suffix("/*").unwrap_or(rule);
        if body.contains('*') {
            return Err(RuleError::MisplacedWildcard);
        }
        let url = parse_strict(rule)?;
        if url.query().is_some() {
            return Err(RuleError::HasQueryOrFragment);
        }
        let path = match url.path().strip_suffix('*') {
            Some(prefix) if prefix.ends_with('/') => PathMatch::Prefix(prefix.to_owned()),
            // Unreachable given the raw check above, but a `*` the parser put somewhere else
            // must not silently become an exact rule with a literal star.
            Some(_) => return Err(RuleError::MisplacedWildcard),
            None if rule.ends_with("/*") => return Err(RuleError::MisplacedWildcard),
            None => PathMatch::Exact,
        };
        Ok(CallbackRule { url, path })
    }

    /// The rule as it should be stored and shown (normalised: lower-case scheme/host, default
    /// port dropped, `/*` kept for prefix rules).
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    pub fn is_prefix(&self) -> bool {
        matches!(self.path, PathMatch::Prefix(_))
    }

    pub fn matches(&self, candidate: &CallbackUrl) -> bool {
        let c = &candidate.0;
        let same_origin = c.scheme() == self.url.scheme()
            && c.host() == self.url.host()
            && c.port_or_known_default() == self.url.port_or_known_default();
        same_origin
            && match &self.path {
                PathMatch::Exact => c.path() == self.url.path(),
                // The parser has already resolved `.`/`..` (including `%2e` spellings) in the
                // candidate, so a plain prefix test cannot be escaped by dot segments.
                PathMatch::Prefix(prefix) => c.path().starts_with(prefix.as_str()),
            }
    }
}

impl fmt::Display for CallbackRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CallbackRule {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A caller-supplied callback, parsed strictly. Invalid ones cannot be constructed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackUrl(Url);

impl CallbackUrl {
    /// `None` means the URL never matches anything.
    pub fn parse(s: &str) -> Option<Self> {
        parse_strict(s).ok().map(CallbackUrl)
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Returns the URL with `name=value` appended to its query (existing query kept, proper
    /// percent-encoding), for redirects.
    pub fn with_param(&self, name: &str, value: &str) -> Url {
        let mut url = self.0.clone();
        url.query_pairs_mut().append_pair(name, value);
        url
    }
}

impl fmt::Display for CallbackUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The checks shared by rules and candidates.
fn parse_strict(s: &str) -> Result<Url, RuleError> {
    if s.len() > MAX_LEN {
        return Err(RuleError::TooLong);
    }
    // The url crate silently strips leading/trailing C0 and space and removes tabs and newlines
    // anywhere; refusing them keeps what we match identical to what was sent.
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RuleError::ControlOrWhitespace);
    }
    // For http(s) the url crate turns `\` into `/`, while other parsers treat it as data; a
    // URL that means different things to different parsers is never a valid callback.
    if s.contains('\\') {
        return Err(RuleError::Backslash);
    }
    // The url crate would accept `http:/x`, `https:evil.example` and `http:///evil.example`
    // by guessing the missing slashes; only the unambiguous spelling is allowed.
    if !(starts_with_ignore_case(s, "http://") || starts_with_ignore_case(s, "https://")) {
        return Err(RuleError::NotAbsoluteHttpUrl);
    }

    let refused = Cell::new(None);
    let note = |v: SyntaxViolation| {
        if refused.get().is_none() && !is_tolerated(v) {
            refused.set(Some(v));
        }
    };
    let url = Url::options()
        .syntax_violation_callback(Some(&note))
        .parse(s)
        .map_err(|_| RuleError::Invalid)?;
    if let Some(v) = refused.get() {
        return Err(violation_error(v));
    }

    if !matches!(url.scheme(), "http" | "https") {
        return Err(RuleError::NotAbsoluteHttpUrl);
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(RuleError::NotAbsoluteHttpUrl);
    }
    // Redundant with the violation check today; kept so user-info can never slip through if
    // the crate stops reporting it.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RuleError::HasUserInfo);
    }
    if url.fragment().is_some() {
        return Err(RuleError::HasQueryOrFragment);
    }
    // Non-ASCII input is percent-encoded on serialisation, so the stored form can outgrow the
    // input.
    if url.as_str().len() > MAX_LEN {
        return Err(RuleError::TooLong);
    }
    Ok(url)
}

/// Which of the url crate's non-fatal complaints are acceptable.
///
/// Unencoded characters such as `[]{}|^` (common in partners' query strings) and a stray `%` are
/// tolerated: the crate keeps them verbatim and they cannot move the origin. Everything else,
/// including violations added in future versions, is refused.
fn is_tolerated(v: SyntaxViolation) -> bool {
    matches!(
        v,
        SyntaxViolation::NonUrlCodePoint | SyntaxViolation::PercentDecode
    )
}

fn violation_error(v: SyntaxViolation) -> RuleError {
    match v {
        SyntaxViolation::Backslash => RuleError::Backslash,
        SyntaxViolation::C0SpaceIgnored | SyntaxViolation::TabOrNewlineIgnored => {
            RuleError::ControlOrWhitespace
        }
        // `Url` drops an empty `https://@host` user-info without trace; this is the only signal.
        SyntaxViolation::EmbeddedCredentials | SyntaxViolation::UnencodedAtSign => {
            RuleError::HasUserInfo
        }
        SyntaxViolation::ExpectedDoubleSlash => RuleError::NotAbsoluteHttpUrl,
        _ => RuleError::Invalid,
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
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

    const EXACT: &str = "https://good.example/cb";
    const PREFIX: &str = "https://good.example/sso/*";

    // --- exact rules ---

    #[test]
    fn exact_rule_matches_identical_url() {
        assert!(accepts(EXACT, "https://good.example/cb"));
    }

    #[test]
    fn exact_rule_allows_and_keeps_query_on_candidate() {
        assert!(accepts(EXACT, "https://good.example/cb?x=1&y=2"));
        assert_eq!(
            cb("https://good.example/cb?x=1&y=2").as_url().query(),
            Some("x=1&y=2")
        );
    }

    #[test]
    fn exact_rule_rejects_trailing_slash_difference() {
        assert!(!accepts(EXACT, "https://good.example/cb/"));
        assert!(!accepts(
            "https://good.example/cb/",
            "https://good.example/cb"
        ));
    }

    #[test]
    fn exact_rule_rejects_other_paths() {
        assert!(!accepts(EXACT, "https://good.example/cb2"));
        assert!(!accepts(EXACT, "https://good.example/cb/x"));
        assert!(!accepts(EXACT, "https://good.example/"));
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
        assert!(accepts(EXACT, "https://good.example/x/../cb"));
        assert!(accepts(EXACT, "https://good.example/./cb"));
    }

    // --- prefix rules ---

    #[test]
    fn prefix_rule_matches_paths_below_prefix() {
        assert!(accepts(PREFIX, "https://good.example/sso/"));
        assert!(accepts(PREFIX, "https://good.example/sso/callback"));
        assert!(accepts(PREFIX, "https://good.example/sso/a/b/c?q=1"));
    }

    #[test]
    fn prefix_rule_does_not_match_prefix_without_trailing_slash() {
        assert!(!accepts(PREFIX, "https://good.example/sso"));
        assert!(!accepts(PREFIX, "https://good.example/sso?x=/sso/"));
    }

    #[test]
    fn prefix_rule_requires_slash_boundary() {
        assert!(!accepts(PREFIX, "https://good.example/ssoevil"));
        assert!(!accepts(PREFIX, "https://good.example/ssoevil/x"));
        assert!(!accepts(PREFIX, "https://good.example/other/sso/x"));
    }

    #[test]
    fn prefix_rule_is_not_escaped_by_dot_segments() {
        assert!(!accepts(PREFIX, "https://good.example/sso/../admin"));
        assert!(!accepts(PREFIX, "https://good.example/sso/.."));
        assert!(!accepts(PREFIX, "https://good.example/sso/a/../../admin"));
    }

    #[test]
    fn prefix_rule_matches_dot_segments_that_stay_inside() {
        assert!(accepts(PREFIX, "https://good.example/sso/a/../b"));
        assert!(accepts(PREFIX, "https://good.example/sso/./b"));
        assert!(accepts(PREFIX, "https://good.example/x/../sso/b"));
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
        assert!(!accepts(PREFIX, "https://good.example/sso/%2e%2e/admin"));
        assert!(!accepts(PREFIX, "https://good.example/sso/%2E%2E/admin"));
        assert!(!accepts(PREFIX, "https://good.example/sso/.%2e/admin"));
        assert!(!accepts(PREFIX, "https://good.example/sso/%2e./admin"));
    }

    /// Decision: an encoded slash is not decoded, so `%2f..` is one literal segment inside
    /// `/sso/` and matching it is acceptable; the partner receives exactly that path.
    #[test]
    fn prefix_rule_treats_encoded_slash_as_literal_segment() {
        let c = cb("https://good.example/sso/..%2fadmin");
        assert_eq!(c.as_url().path(), "/sso/..%2fadmin");
        assert!(rule(PREFIX).matches(&c));
        assert!(!accepts(PREFIX, "https://good.example/sso%2fx"));
    }

    #[test]
    fn root_prefix_rule_matches_every_path_of_origin() {
        let r = "https://good.example/*";
        assert!(accepts(r, "https://good.example/"));
        assert!(accepts(r, "https://good.example"));
        assert!(accepts(r, "https://good.example/anything/at/all?x=1"));
        assert!(!accepts(r, "https://evil.example/"));
        assert!(!accepts(r, "http://good.example/"));
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
        assert!(accepts(EXACT, "HTTPS://GOOD.EXAMPLE/cb"));
        assert!(accepts(
            "HTTPS://GOOD.EXAMPLE/cb",
            "https://good.example/cb"
        ));
    }

    #[test]
    fn path_compares_case_sensitively() {
        assert!(!accepts(EXACT, "https://good.example/CB"));
        assert!(!accepts(PREFIX, "https://good.example/SSO/x"));
    }

    #[test]
    fn default_port_equals_no_port() {
        assert!(accepts(EXACT, "https://good.example:443/cb"));
        assert!(accepts(
            "https://good.example:443/cb",
            "https://good.example/cb"
        ));
        assert!(accepts(
            "http://good.example/cb",
            "http://good.example:80/cb"
        ));
    }

    #[test]
    fn other_port_does_not_match() {
        assert!(!accepts(EXACT, "https://good.example:8443/cb"));
        assert!(!accepts(
            "https://good.example:8443/cb",
            "https://good.example/cb"
        ));
        assert!(accepts(
            "https://good.example:8443/cb",
            "https://good.example:8443/cb"
        ));
        // 443 is not the default for http.
        assert!(!accepts(
            "http://good.example/cb",
            "http://good.example:443/cb"
        ));
    }

    #[test]
    fn http_and_https_differ() {
        assert!(!accepts(EXACT, "http://good.example/cb"));
        assert!(!accepts(
            "http://good.example/cb",
            "https://good.example/cb"
        ));
    }

    #[test]
    fn different_host_does_not_match() {
        assert!(!accepts(EXACT, "https://good.example.evil.example/cb"));
        assert!(!accepts(EXACT, "https://evil.example/cb"));
        assert!(!accepts(EXACT, "https://sub.good.example/cb"));
        assert!(!accepts(EXACT, "https://good.example./cb"));
    }

    // --- hostile candidates ---

    #[test]
    fn user_info_is_rejected() {
        for s in [
            "https://good.example@evil.example/cb",
            "https://good.example:pw@evil.example/cb",
            "https://:pw@evil.example/cb",
            "https://@evil.example/cb",
            "https://:@evil.example/cb",
            "https://good.example%2f@evil.example/cb",
            "https://a@b@evil.example/cb",
        ] {
            assert!(CallbackUrl::parse(s).is_none(), "{s}");
        }
        assert_eq!(
            CallbackRule::parse("https://good.example@evil.example/cb"),
            Err(RuleError::HasUserInfo)
        );
        assert_eq!(
            CallbackRule::parse("https://@good.example/cb"),
            Err(RuleError::HasUserInfo)
        );
    }

    #[test]
    fn backslashes_are_rejected() {
        for s in [
            r"https://good.example\@evil.example/cb",
            r"https:\\evil.example",
            r"https://good.example\cb",
            r"https://good.example/cb\",
            r"https://good.example/cb?x=\",
        ] {
            assert!(CallbackUrl::parse(s).is_none(), "{s}");
        }
        assert_eq!(
            CallbackRule::parse(r"https://good.example\cb"),
            Err(RuleError::Backslash)
        );
    }

    #[test]
    fn non_absolute_or_non_http_urls_are_rejected() {
        for s in [
            "//evil.example",
            "//evil.example/cb",
            "/relative",
            "cb",
            "",
            "javascript:alert(1)",
            "ftp://good.example/cb",
            "file:///etc/passwd",
            "data:text/html,x",
            "http:/good.example/cb",
            "https:evil.example",
            "https:/evil.example",
            "http:///evil.example/cb",
            "https:////evil.example/cb",
            "https://",
            "https:///cb",
            "httpx://good.example/cb",
        ] {
            assert!(CallbackUrl::parse(s).is_none(), "{s:?}");
        }
        assert_eq!(
            CallbackRule::parse("ftp://good.example/cb"),
            Err(RuleError::NotAbsoluteHttpUrl)
        );
        assert_eq!(
            CallbackRule::parse("http:///good.example/cb"),
            Err(RuleError::NotAbsoluteHttpUrl)
        );
    }

    #[test]
    fn fragments_are_rejected_even_empty() {
        assert!(CallbackUrl::parse("https://good.example/cb#frag").is_none());
        assert!(CallbackUrl::parse("https://good.example/cb#").is_none());
        assert!(CallbackUrl::parse("https://good.example/cb?x=1#").is_none());
        assert_eq!(
            CallbackRule::parse("https://good.example/cb#"),
            Err(RuleError::HasQueryOrFragment)
        );
    }

    #[test]
    fn control_characters_and_whitespace_are_rejected() {
        for s in [
            "https://good.example/c\tb",
            "https://good.example/c\nb",
            "https://good.example/c\rb",
            "https://good\t.example/cb",
            "https://good.example/cb\n",
            " https://good.example/cb",
            "https://good.example/cb ",
            "https://good.example/c b",
            "https://good.example/cb?x=a b",
            "https://good.example/c\0b",
            "https://good.example/c\x7fb",
            "https://good.example/c\u{85}b",
            "https://good.example/c\u{a0}b",
        ] {
            assert!(CallbackUrl::parse(s).is_none(), "{s:?}");
        }
        assert_eq!(
            CallbackRule::parse("https://good.example/c\tb"),
            Err(RuleError::ControlOrWhitespace)
        );
    }

    #[test]
    fn overlong_urls_are_rejected() {
        let long = format!("https://good.example/{}", "a".repeat(3000));
        assert!(long.len() > 3000);
        assert!(CallbackUrl::parse(&long).is_none());
        assert_eq!(CallbackRule::parse(&long), Err(RuleError::TooLong));
    }

    #[test]
    fn length_limit_is_inclusive_at_2048_bytes() {
        let base = "https://good.example/";
        let at_limit = format!("{base}{}", "a".repeat(MAX_LEN - base.len()));
        assert_eq!(at_limit.len(), MAX_LEN);
        assert!(CallbackUrl::parse(&at_limit).is_some());
        let over = format!("{at_limit}a");
        assert!(CallbackUrl::parse(&over).is_none());
    }

    #[test]
    fn length_limit_applies_after_percent_encoding() {
        // 700 two-byte characters fit the raw limit but serialise to 4200 bytes.
        let s = format!("https://good.example/{}", "é".repeat(700));
        assert!(s.len() <= MAX_LEN);
        assert!(CallbackUrl::parse(&s).is_none());
    }

    #[test]
    fn unencoded_query_characters_are_tolerated_and_kept() {
        let c = cb("https://good.example/cb?ids[]=1&f={a}|b");
        assert_eq!(c.as_url().query(), Some("ids[]=1&f={a}|b"));
        assert!(rule(EXACT).matches(&c));
    }

    // --- rule parsing ---

    #[test]
    fn rules_with_query_are_rejected() {
        assert_eq!(
            CallbackRule::parse("https://good.example/cb?x=1"),
            Err(RuleError::HasQueryOrFragment)
        );
        assert_eq!(
            CallbackRule::parse("https://good.example/cb?"),
            Err(RuleError::HasQueryOrFragment)
        );
        assert_eq!(
            CallbackRule::parse("https://good.example/sso/*?x=1"),
            Err(RuleError::MisplacedWildcard)
        );
    }

    #[test]
    fn rules_with_misplaced_wildcard_are_rejected() {
        for s in [
            "https://*.good.example/cb",
            "https://good.example/sso*",
            "https://good.example/*/cb",
            "https://good.example/sso/*/",
            "https://good.example/sso/**",
            "https://good.example/sso/*/..",
        ] {
            assert_eq!(
                CallbackRule::parse(s),
                Err(RuleError::MisplacedWildcard),
                "{s}"
            );
        }
    }

    #[test]
    fn rules_are_normalised_for_storage() {
        assert_eq!(
            rule("HTTPS://Good.Example:443/cb").as_str(),
            "https://good.example/cb"
        );
        assert_eq!(
            rule("http://good.example:80/a/./b/../cb").as_str(),
            "http://good.example/a/cb"
        );
        assert_eq!(
            rule("https://good.example:8443/cb").as_str(),
            "https://good.example:8443/cb"
        );
        assert_eq!(
            rule("https://bücher.example/cb").as_str(),
            "https://xn--bcher-kva.example/cb"
        );
    }

    #[test]
    fn stored_rule_reparses_to_the_same_rule() {
        for s in [
            "HTTPS://Good.Example:443/cb",
            "https://good.example",
            "https://good.example/sso/*",
            "https://good.example/*",
            "http://good.example:8080/a/../b/*",
        ] {
            let r = rule(s);
            assert_eq!(rule(r.as_str()), r, "{s}");
        }
    }

    #[test]
    fn rule_from_str_and_display_agree_with_parse() {
        let r: CallbackRule = "https://good.example/sso/*".parse().expect("valid rule");
        assert_eq!(r, rule(PREFIX));
        assert_eq!(format!("{r}"), "https://good.example/sso/*");
        assert_eq!(
            "javascript:alert(1)".parse::<CallbackRule>(),
            Err(RuleError::NotAbsoluteHttpUrl)
        );
    }

    #[test]
    fn idn_host_matches_its_punycode_form() {
        assert!(accepts(
            "https://bücher.example/cb",
            "https://xn--bcher-kva.example/cb"
        ));
    }

    // --- with_param ---

    #[test]
    fn with_param_adds_query_when_none() {
        let u = cb(EXACT).with_param("token", "abc");
        assert_eq!(u.as_str(), "https://good.example/cb?token=abc");
    }

    #[test]
    fn with_param_keeps_existing_query() {
        let u = cb("https://a.example/cb?x=1").with_param("token", "abc");
        assert_eq!(u.as_str(), "https://a.example/cb?x=1&token=abc");
        let u = cb("https://a.example/cb?").with_param("token", "abc");
        assert_eq!(u.as_str(), "https://a.example/cb?token=abc");
    }

    #[test]
    fn with_param_encodes_special_characters() {
        let u = cb("https://a.example/cb?x=1").with_param("to ken", "a b&c=d/é#?+%");
        assert_eq!(
            u.as_str(),
            "https://a.example/cb?x=1&to+ken=a+b%26c%3Dd%2F%C3%A9%23%3F%2B%25"
        );
        assert_eq!(u.fragment(), None);
        let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("x".to_owned(), "1".to_owned()),
                ("to ken".to_owned(), "a b&c=d/é#?+%".to_owned()),
            ]
        );
    }

    #[test]
    fn with_param_result_still_matches_rule() {
        let u = cb("https://good.example/sso/cb?x=1").with_param("token", "t");
        let again = cb(u.as_str());
        assert!(rule(PREFIX).matches(&again));
    }
}
