//! Where a response may send the browser. Every redirect whose target comes from the request
//! (`back`, `callback_url`, the protocol redirects) is a [`Location`], and a `Location` is made
//! only here: a path of Gatehouse's own origin that no browser can read as another origin, a
//! fixed page of ours, or (through `partners`) a registered partner callback.
//!
//! Browsers repair URLs before they follow them (WHATWG URL standard): they drop tabs and
//! newlines anywhere, strip leading and trailing spaces and control characters, and read `\`
//! as `/`. So `/\t/evil.example` and `/\evil.example` are `//evil.example` to a browser: another
//! origin. Rather than repair and guess, a request path with any of those characters is
//! refused (the caller then uses its own page), and what is accepted is re-serialised by a
//! WHATWG parser, so the header we write is exactly what a browser reads.

use url::Url;

/// Longer return paths are refused; no page of ours needs more.
const MAX_LEN: usize = 2048;

/// A redirect target that stays on our origin or goes to a registered callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location(String);

impl Location {
    /// A fixed page of ours (not request input).
    pub fn page(path: &'static str) -> Location {
        debug_assert!(same_origin_path(path).as_deref() == Some(path), "{path}");
        Location(path.to_owned())
    }

    /// A return path from the request, when it certainly stays on our origin.
    pub fn local(raw: &str) -> Option<Location> {
        same_origin_path(raw).map(Location)
    }

    /// A return path from the request, or `fallback` when there is none or it would leave.
    pub fn local_or(raw: Option<&str>, fallback: &'static str) -> Location {
        raw.and_then(Location::local)
            .unwrap_or_else(|| Location::page(fallback))
    }

    /// A partner's callback. Only `partners` calls this, with a URL its registered rules
    /// accepted (`partners::Registered::location`).
    pub(crate) fn registered_callback(url: &Url) -> Location {
        Location(url.as_str().to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Fixed pages of ours: a `&'static str` is written in the code, never read from a request.
impl From<&'static str> for Location {
    fn from(path: &'static str) -> Self {
        Location::page(path)
    }
}

/// `raw` as a path (and query) of our own origin, re-serialised; `None` when a browser could
/// read it as anything else, or it is not a plain absolute path.
pub fn same_origin_path(raw: &str) -> Option<String> {
    if raw.len() > MAX_LEN
        || raw
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    // Absolute path only: not `//host`, not `scheme:`, not relative.
    let rest = raw.strip_prefix('/')?;
    if rest.starts_with('/') {
        return None;
    }
    let path_part = raw.split(['?', '#']).next().unwrap_or("");
    let lower = path_part.to_ascii_lowercase();
    // Encoded slashes and backslashes in the path may be decoded by some hop and become a
    // second leading slash; no page of ours has them.
    if lower.contains("%2f") || lower.contains("%5c") {
        return None;
    }
    let base = Url::parse("http://gatehouse.invalid/").ok()?;
    let url = base.join(raw).ok()?;
    if url.origin() != base.origin() {
        return None;
    }
    let mut out = url.path().to_owned();
    if let Some(query) = url.query() {
        out.push('?');
        out.push_str(query);
    }
    // Dot segments resolved to `//…` would be another origin once written on its own.
    if !out.starts_with('/') || out.starts_with("//") {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A browser following `Location: location` from a page of `https://sso.example`: where
    /// does it land? Tabs and newlines dropped, backslashes read as slashes, resolved by the
    /// WHATWG parser (the url crate implements the same standard browsers do).
    fn browser_lands_at(location: &str) -> Option<Url> {
        let repaired: String = location
            .trim_matches(|c: char| c <= ' ')
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .map(|c| if c == '\\' { '/' } else { c })
            .collect();
        Url::parse("https://sso.example/login")
            .ok()?
            .join(&repaired)
            .ok()
    }

    #[test]
    fn the_reported_hostile_return_paths_are_refused() {
        for raw in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n",
            "//evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "https://evil.example/",
            "HTTPS:evil.example",
            "javascript:alert(1)",
            " /login",
            "/%2F/evil.example",
            "/%5cevil.example",
            "evil.example",
            "",
            "/./\t/evil.example",
        ] {
            assert_eq!(same_origin_path(raw), None, "{raw:?}");
        }
        // Still encoded, a CR LF is only text in a path: kept, and header-safe.
        assert_eq!(same_origin_path("/%0D%0A").as_deref(), Some("/%0D%0A"));
    }

    #[test]
    fn ordinary_return_paths_are_kept() {
        assert_eq!(same_origin_path("/login").as_deref(), Some("/login"));
        assert_eq!(
            same_origin_path("/login?callback_url=https%3A%2F%2Fshop.example%2Fcb").as_deref(),
            Some("/login?callback_url=https%3A%2F%2Fshop.example%2Fcb")
        );
        assert_eq!(
            same_origin_path("/a/../account").as_deref(),
            Some("/account")
        );
    }

    /// Pieces attackers combine: separators browsers repair, encodings, schemes, hosts.
    fn hostile_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("/".to_owned()),
            Just("//".to_owned()),
            Just("\\".to_owned()),
            Just("\t".to_owned()),
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just(" ".to_owned()),
            Just("\u{0}".to_owned()),
            Just("\u{7f}".to_owned()),
            Just("\u{a0}".to_owned()),
            Just("\u{2028}".to_owned()),
            Just("\u{ff0f}".to_owned()),
            Just("\u{2215}".to_owned()),
            Just("%2f".to_owned()),
            Just("%2F".to_owned()),
            Just("%5c".to_owned()),
            Just("%09".to_owned()),
            Just("%0d%0a".to_owned()),
            Just("%252f".to_owned()),
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just("@".to_owned()),
            Just(":".to_owned()),
            Just("?".to_owned()),
            Just("#".to_owned()),
            Just("evil.example".to_owned()),
            Just("http:".to_owned()),
            Just("https:".to_owned()),
            Just("javascript:".to_owned()),
            Just("data:".to_owned()),
            Just("login".to_owned()),
            "[a-zA-Z0-9._~-]{1,8}",
            any::<char>().prop_map(String::from),
        ]
    }

    /// Half of them start like a local path, so many get past the first check.
    fn hostile_input() -> impl Strategy<Value = String> {
        (any::<bool>(), prop::collection::vec(hostile_piece(), 0..12)).prop_map(|(local, parts)| {
            let tail = parts.concat();
            if local { format!("/{tail}") } else { tail }
        })
    }

    #[test]
    fn the_generator_reaches_accepted_paths_often() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = hostile_input();
        let total = 5_000;
        let accepted = (0..total)
            .filter(|_| {
                let raw = strategy.new_tree(&mut runner).unwrap().current();
                same_origin_path(&raw).is_some()
            })
            .count();
        // A property over inputs that are all refused would prove nothing.
        assert!(accepted * 10 > total, "only {accepted} of {total} accepted");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn an_accepted_path_never_leaves_our_origin(raw in hostile_input()) {
            if let Some(out) = same_origin_path(&raw) {
                // Header-safe: nothing a browser would repair, nothing that splits headers.
                prop_assert!(out.bytes().all(|b| b.is_ascii_graphic()), "{:?} -> {:?}", raw, out);
                prop_assert!(!out.contains('\\'));
                prop_assert!(actix_web::http::header::HeaderValue::from_str(&out).is_ok());
                // A browser, repairing as browsers do, lands on our own origin.
                let landed = browser_lands_at(&out);
                prop_assert!(landed.is_some(), "{:?} -> {:?}", raw, out);
                let landed = landed.unwrap();
                prop_assert_eq!(landed.scheme(), "https");
                prop_assert_eq!(landed.host_str(), Some("sso.example"), "{:?} -> {:?}", raw, out);
                prop_assert_eq!(landed.port(), None);
                // Stable: what we write is what we would accept again.
                prop_assert_eq!(same_origin_path(&out), Some(out.clone()));
            }
        }

        #[test]
        fn a_protocol_relative_or_absolute_target_is_never_accepted(
            sep in prop::sample::select(vec!["//", "/\\", "\\\\", "/\t/", "/\n/", "\\/", "/\r/", " //"]),
            host in "[a-z]{1,10}\\.example",
            tail in "[a-z/]{0,10}",
        ) {
            prop_assert_eq!(same_origin_path(&format!("{sep}{host}/{tail}")), None);
            prop_assert_eq!(same_origin_path(&format!("https:{sep}{host}/{tail}")), None);
        }
    }
}
