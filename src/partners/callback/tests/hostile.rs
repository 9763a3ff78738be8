//! Hostile candidates: what an attacker sends as a callback URL.

use super::*;

/// Asserts that no callback URL is read from any of `candidates`.
#[track_caller]
fn assert_no_callback_url(candidates: &[&str]) {
    for s in candidates {
        assert!(CallbackUrl::parse(s).is_none(), "{s:?}");
    }
}

/// Asserts that each of `rules` is refused with `error`.
#[track_caller]
fn assert_rules_refused(error: RuleError, rules: &[&str]) {
    for s in rules {
        assert_eq!(CallbackRule::parse(s).as_ref(), Err(&error), "{s:?}");
    }
}

#[test]
fn user_info_is_rejected() {
    assert_no_callback_url(&[
        "https://good.example@evil.example/cb",
        "https://good.example:pw@evil.example/cb",
        "https://:pw@evil.example/cb",
        "https://@evil.example/cb",
        "https://:@evil.example/cb",
        "https://good.example%2f@evil.example/cb",
        "https://a@b@evil.example/cb",
    ]);
    assert_rules_refused(
        RuleError::HasUserInfo,
        &[
            "https://good.example@evil.example/cb",
            "https://@good.example/cb",
        ],
    );
}

#[test]
fn backslashes_are_rejected() {
    assert_no_callback_url(&[
        r"https://good.example\@evil.example/cb",
        r"https:\\evil.example",
        r"https://good.example\cb",
        r"https://good.example/cb\",
        r"https://good.example/cb?x=\",
    ]);
    assert_rules_refused(RuleError::Backslash, &[r"https://good.example\cb"]);
}

#[test]
fn non_absolute_or_non_http_urls_are_rejected() {
    assert_no_callback_url(&[
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
    ]);
    assert_rules_refused(
        RuleError::NotAbsoluteHttpUrl,
        &["ftp://good.example/cb", "http:///good.example/cb"],
    );
}

#[test]
fn fragments_are_rejected_even_empty() {
    assert_no_callback_url(&[
        "https://good.example/cb#frag",
        "https://good.example/cb#",
        "https://good.example/cb?x=1#",
    ]);
    assert_rules_refused(RuleError::HasQueryOrFragment, &["https://good.example/cb#"]);
}

#[test]
fn control_characters_and_whitespace_are_rejected() {
    assert_no_callback_url(&[
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
    ]);
    assert_rules_refused(
        RuleError::ControlOrWhitespace,
        &["https://good.example/c\tb"],
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
    assert_rules_refused(
        RuleError::HasQueryOrFragment,
        &["https://good.example/cb?x=1", "https://good.example/cb?"],
    );
    assert_rules_refused(
        RuleError::MisplacedWildcard,
        &["https://good.example/sso/*?x=1"],
    );
}

#[test]
fn rules_with_misplaced_wildcard_are_rejected() {
    assert_rules_refused(
        RuleError::MisplacedWildcard,
        &[
            "https://*.good.example/cb",
            "https://good.example/sso*",
            "https://good.example/*/cb",
            "https://good.example/sso/*/",
            "https://good.example/sso/**",
            "https://good.example/sso/*/..",
        ],
    );
}

#[test]
fn rules_are_normalised_for_storage() {
    for (given, stored) in [
        ("HTTPS://Good.Example:443/cb", "https://good.example/cb"),
        (
            "http://good.example:80/a/./b/../cb",
            "http://good.example/a/cb",
        ),
        (
            "https://good.example:8443/cb",
            "https://good.example:8443/cb",
        ),
        (
            "https://bücher.example/cb",
            "https://xn--bcher-kva.example/cb",
        ),
    ] {
        assert_eq!(rule(given).as_str(), stored);
    }
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
