use super::*;

fn with(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut f = Figment::from(Serialized::defaults(Settings::default()));
    for (k, v) in pairs {
        f = f.merge((*k, *v));
    }
    Settings::from_figment(f)
}

#[test]
fn defaults_are_valid() {
    let s = with(&[]).unwrap();
    assert_eq!(
        s.database(),
        DatabaseUrl::Sqlite(PathBuf::from("./data/gatehouse.db"))
    );
}

#[test]
fn bad_values_name_their_variable() {
    let err = with(&[("database_url", "mysql://x")]).unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_DATABASE_URL");
    let err = with(&[("listen", "nope")]).unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_LISTEN");
    let err = with(&[("trusted_proxies", "10.0.0.0/8, bogus")]).unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_TRUSTED_PROXIES");
}

#[test]
fn test_answers_are_refused_over_https() {
    let err = with(&[
        ("public_url", "https://sso.example"),
        ("captcha_test_answers", "true"),
        ("sms_provider", "webhook"),
        ("sms_webhook_url", "http://127.0.0.1:1/"),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_CAPTCHA_TEST_ANSWERS");
}

#[test]
fn unusable_service_settings_are_refused_not_ignored() {
    let err = with(&[("redis_url", "memcached://127.0.0.1:6379")]).unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_REDIS_URL");
    let err = with(&[("smtp_url", "smtp://127.0.0.1:25")]).unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_MAIL_FROM");
    let err = with(&[("smtp_url", "http://127.0.0.1:25")]).unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_SMTP_URL");
}

#[test]
fn an_unknown_sms_provider_is_refused_by_name() {
    let err = with(&[("sms_provider", "carrier-pigeon")]).unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_SMS_PROVIDER");
    let err = with(&[("sms_provider", "LOG ")]).unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_SMS_PROVIDER");
}

#[test]
fn https_is_recognised_in_any_letter_case() {
    let s = with(&[
        ("public_url", "HTTPS://SSO.Example"),
        ("sms_provider", "webhook"),
        ("sms_webhook_url", "http://127.0.0.1:1/"),
    ])
    .unwrap();
    assert!(s.is_https());
    let err = with(&[("public_url", "HtTpS://sso.example")]).unwrap_err();
    assert_eq!(
        err.variable, "GATEHOUSE_SMS_PROVIDER",
        "log delivery refused over https"
    );
    assert!(
        !with(&[("public_url", "http://sso.example")])
            .unwrap()
            .is_https()
    );
}

#[test]
fn postgres_url_debug_hides_password() {
    let db = DatabaseUrl::parse("postgres://u:secret@db/gh").unwrap();
    assert!(!format!("{db:?}").contains("secret"));
}

#[test]
fn terminals_are_parsed_at_start_and_an_unknown_one_is_refused_by_name() {
    let s = with(&[("single_session_terminals", "Mobile, app")]).unwrap();
    assert_eq!(
        s.single_session_terminals,
        vec![
            crate::domain::Terminal::Mobile,
            crate::domain::Terminal::App
        ]
    );
    let err = with(&[("single_session_terminals", "mobile,tv")]).unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_SINGLE_SESSION_TERMINALS");
    assert!(err.to_string().contains("`tv`"), "{err}");
}
