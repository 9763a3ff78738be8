//! Callback rules of partner systems and the caller-supplied callback URLs checked against them.
//!
//! A rule is an exact URL (`https://app.example/sso/callback`) or an origin plus a path prefix
//! written with a trailing `/*` (`https://app.example/sso/*`). Both rules and candidates go
//! through the same strict parser: anything a browser might read differently from us (user-info,
//! backslashes, stray whitespace, missing `//`, fragments) is refused rather than normalised, so
//! the URL we match is the URL we redirect to.

use std::cell::Cell;
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

display_as_str!(CallbackRule);

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

display_as_str!(CallbackUrl);

/// The checks shared by rules, candidates and OpenID Connect redirect URIs.
pub(super) fn parse_strict(s: &str) -> Result<Url, RuleError> {
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
mod tests;
