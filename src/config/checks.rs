//! Start-up checks: every setting validated once, naming the variable of a bad one, and
//! `GATEHOUSE_*` variables nobody reads reported.

use super::*;

impl Settings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(4..=31).contains(&self.bcrypt_cost) {
            return Err(bad("bcrypt_cost", "must be between 4 and 31"));
        }
        if self.token_ttl_secs == 0 {
            return Err(bad("token_ttl_secs", "must be positive"));
        }
        if let Some(redis) = &self.redis_url
            && !["redis://", "rediss://", "redis+sentinel://"]
                .iter()
                .any(|scheme| redis.starts_with(scheme))
        {
            return Err(bad(
                "redis_url",
                "must start with redis://, rediss:// or redis+sentinel://",
            ));
        }
        if self.redis_key_prefix.is_empty() || self.redis_key_prefix.len() > 64 {
            return Err(bad("redis_key_prefix", "1 to 64 characters"));
        }
        // Redis Cluster hashes the first `{…}` of a key: braces here would put every key in
        // one slot, or split a session from its tokens' marks.
        if self.redis_key_prefix.contains(['{', '}']) {
            return Err(bad("redis_key_prefix", "must not contain { or }"));
        }
        if let Some(smtp) = &self.smtp_url {
            if !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://")) {
                return Err(bad("smtp_url", "must start with smtp:// or smtps://"));
            }
            let from = self
                .mail_from
                .as_deref()
                .ok_or_else(|| bad("mail_from", "required when GATEHOUSE_SMTP_URL is set"))?;
            crate::mail::Mailer::check(smtp, from).map_err(|e| {
                let var = if e.to_string().starts_with("GATEHOUSE_MAIL_FROM") {
                    "mail_from"
                } else {
                    "smtp_url"
                };
                bad(var, e.to_string())
            })?;
        }
        if self.logout_retry_base_ms == 0 || self.logout_poll_ms == 0 {
            return Err(bad(
                "logout_retry_base_ms",
                "retry and poll intervals must be positive",
            ));
        }
        if self.db_pool_size == Some(0) {
            return Err(bad("db_pool_size", "must be positive"));
        }
        if !(1..=100_000).contains(&self.logout_concurrency) {
            return Err(bad("logout_concurrency", "1 to 100000"));
        }
        if !(1..=36_500).contains(&self.audit_retention_days) {
            return Err(bad("audit_retention_days", "1 to 36500"));
        }
        if self.key_publish_secs > 30 * 86_400 {
            return Err(bad("key_publish_secs", "0 to 2592000 (30 days)"));
        }
        if self.key_rotate_days > 3650 {
            return Err(bad("key_rotate_days", "0 (never) to 3650"));
        }
        if self.key_rotate_days > 0
            && u64::from(self.key_rotate_days) * 86_400 <= self.key_publish_secs
        {
            return Err(bad(
                "key_rotate_days",
                "must be longer than GATEHOUSE_KEY_PUBLISH_SECS, or keys would never sign",
            ));
        }
        if !(1..=10_000_000).contains(&self.logout_backlog_max) {
            return Err(bad("logout_backlog_max", "1 to 10000000"));
        }
        match self.sms_provider {
            SmsProvider::Log => {}
            SmsProvider::Webhook => {
                let url = self.sms_webhook_url.as_deref().ok_or_else(|| {
                    bad("sms_webhook_url", "required when SMS provider is webhook")
                })?;
                check_http_url("sms_webhook_url", url)?;
            }
            SmsProvider::Aliyun => vendor_needs(
                "aliyun",
                &[
                    ("aliyun_access_key_id", self.aliyun_access_key_id.is_some()),
                    (
                        "aliyun_access_key_secret",
                        self.aliyun_access_key_secret.is_some(),
                    ),
                    ("sms_sign_name", self.sms_sign_name.is_some()),
                    ("sms_template", self.sms_template.is_some()),
                ],
            )?,
            SmsProvider::Tencent => vendor_needs(
                "tencent",
                &[
                    ("tencent_secret_id", self.tencent_secret_id.is_some()),
                    ("tencent_secret_key", self.tencent_secret_key.is_some()),
                    ("tencent_sms_app_id", self.tencent_sms_app_id.is_some()),
                    ("sms_template", self.sms_template.is_some()),
                ],
            )?,
        }
        if self.bcrypt_queue == 0 {
            return Err(bad("bcrypt_queue", "must be positive"));
        }
        if self.oidc_access_token_ttl_secs == 0 {
            return Err(bad("oidc_access_token_ttl_secs", "must be positive"));
        }
        if self.oidc_refresh_token_ttl_secs == 0 {
            return Err(bad("oidc_refresh_token_ttl_secs", "must be positive"));
        }
        if self.session_max_secs == 0 {
            return Err(bad("session_max_secs", "must be positive"));
        }
        if !(1..=3600).contains(&self.request_timeout_secs) {
            return Err(bad("request_timeout_secs", "1 to 3600"));
        }
        check_http_url("wechat_api_base", &self.wechat_api_base)?;
        if let Some(endpoint) = &self.sms_endpoint {
            check_http_url("sms_endpoint", endpoint)?;
        }
        // The parser lower-cases the scheme: `HTTPS://` is https too.
        let https = self.is_https();
        if https && self.captcha_test_answers {
            return Err(bad(
                "captcha_test_answers",
                "refused with an https public URL: it gives captcha answers away",
            ));
        }
        if https && self.sms_provider == SmsProvider::Log {
            return Err(bad(
                "sms_provider",
                "`log` writes codes to the log and is refused with an https public URL",
            ));
        }
        Ok(())
    }
}

/// The first of a vendor's settings left unset, named in the error.
fn vendor_needs(provider: &str, settings: &[(&str, bool)]) -> Result<(), ConfigError> {
    match settings.iter().find(|(_, set)| !set) {
        Some((key, _)) => Err(bad(
            key,
            format!("required for the {provider} SMS provider"),
        )),
        None => Ok(()),
    }
}

fn check_http_url(key: &str, raw: &str) -> Result<(), ConfigError> {
    let url = Url::parse(raw).map_err(|e| bad(key, e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(key, "must be an http(s) URL"));
    }
    Ok(())
}

const KNOWN: &[&str] = &[
    "CONFIG",
    "LISTEN",
    "PUBLIC_URL",
    "DATA_DIR",
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "BCRYPT_COST",
    "TOKEN_TTL_SECS",
    "REFRESH_GRACE_SECS",
    "SMTP_URL",
    "MAIL_FROM",
    "SMS_PROVIDER",
    "SMS_WEBHOOK_URL",
    "SMS_WEBHOOK_SECRET",
    "SMS_ENDPOINT",
    "SMS_SIGN_NAME",
    "SMS_TEMPLATE",
    "ALIYUN_ACCESS_KEY_ID",
    "ALIYUN_ACCESS_KEY_SECRET",
    "TENCENT_SECRET_ID",
    "TENCENT_SECRET_KEY",
    "TENCENT_SMS_APP_ID",
    "TENCENT_REGION",
    "WECHAT_APPID",
    "WECHAT_SECRET",
    "WECHAT_API_BASE",
    "REGISTER_WITHOUT_CODE",
    "SINGLE_SESSION_TERMINALS",
    "WORD_INFO_OVERLAP_SECS",
    "TRUSTED_PROXIES",
    "CODE_LIMIT_PER_IP_HOUR",
    "CODE_CAPTCHA_AFTER",
    "SMS_MAX_PER_MINUTE",
    "MAIL_MAX_PER_MINUTE",
    "SIGNIN_LIMIT_PER_IP",
    "BCRYPT_QUEUE",
    "SESSION_MAX_SECS",
    "REQUEST_TIMEOUT_SECS",
    "LOGOUT_CONCURRENCY",
    "LOGOUT_BACKLOG_MAX",
    "AUDIT_RETENTION_DAYS",
    "METRICS_LISTEN",
    "LOG_FORMAT",
    "CAPTCHA_TEST_ANSWERS",
    "DB_POOL_SIZE",
    "LOGOUT_RETRY_BASE_MS",
    "LOGOUT_GIVE_UP_SECS",
    "LOGOUT_POLL_MS",
    "LOG",
];

pub(super) fn warn_unknown_variables() {
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        // Test-suite switches share the prefix but are not server settings.
        if !KNOWN.contains(&rest) && !rest.starts_with("TEST_") {
            eprintln!("warning: unknown configuration variable {name} is ignored");
        }
    }
}
