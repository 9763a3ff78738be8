use super::*;

/// Each `(setting, value)` alone stops start-up with an error naming `variable`.
fn assert_each_refused(cases: &[(&str, &str, &str)]) {
    for (setting, value, variable) in cases {
        assert_eq!(
            refused_by(&[(setting, value)]),
            *variable,
            "{setting}={value}"
        );
    }
}

/// The variable a start with these settings is refused for.
fn refused_by(pairs: &[(&str, &str)]) -> String {
    with(pairs).unwrap_err().variable
}

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
    assert_each_refused(&[
        ("database_url", "mysql://x", "GATEHOUSE_DATABASE_URL"),
        ("listen", "nope", "GATEHOUSE_LISTEN"),
        (
            "trusted_proxies",
            "10.0.0.0/8, bogus",
            "GATEHOUSE_TRUSTED_PROXIES",
        ),
    ]);
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
    assert_each_refused(&[
        (
            "redis_url",
            "memcached://127.0.0.1:6379",
            "GATEHOUSE_REDIS_URL",
        ),
        ("smtp_url", "smtp://127.0.0.1:25", "GATEHOUSE_MAIL_FROM"),
        ("smtp_url", "http://127.0.0.1:25", "GATEHOUSE_SMTP_URL"),
    ]);
}

#[test]
fn an_unknown_sms_provider_is_refused_by_name() {
    assert_each_refused(&[
        ("sms_provider", "carrier-pigeon", "GATEHOUSE_SMS_PROVIDER"),
        ("sms_provider", "LOG ", "GATEHOUSE_SMS_PROVIDER"),
    ]);
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

#[test]
fn credentials_are_read_whole_but_never_shown_in_debug_output() {
    let s = with(&[
        ("sms_provider", "tencent"),
        ("tencent_secret_id", "AKIDvisible"),
        ("tencent_secret_key", "key-that-must-not-leak"),
        ("tencent_sms_app_id", "1400006666"),
        ("sms_template", "449739"),
        ("wechat_secret", "wechat-secret-value"),
        ("sms_webhook_secret", "hook-secret-value"),
    ])
    .unwrap();
    assert_eq!(
        s.tencent_secret_key.as_ref().map(Secret::expose),
        Some("key-that-must-not-leak")
    );
    let shown = format!("{s:?}");
    assert!(shown.contains("AKIDvisible"), "{shown}");
    for secret in [
        "key-that-must-not-leak",
        "wechat-secret-value",
        "hook-secret-value",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn a_vendor_left_half_configured_names_the_first_missing_setting() {
    let err = with(&[
        ("sms_provider", "aliyun"),
        ("aliyun_access_key_id", "id"),
        ("sms_sign_name", "sign"),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_ALIYUN_ACCESS_KEY_SECRET");
    assert!(err.problem.contains("aliyun"), "{}", err.problem);
}
