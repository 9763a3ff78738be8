//! Settings: defaults, then an optional TOML file, then `GATEHOUSE_*` environment variables.
//!
//! A bad value stops start-up with a message naming the variable, so an operator never has to
//! guess which of twenty settings is wrong.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

pub const ENV_PREFIX: &str = "GATEHOUSE_";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub listen: String,
    pub public_url: String,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several deployments can share one Redis.
    pub redis_key_prefix: String,
    pub bcrypt_cost: u32,
    pub token_ttl_secs: u64,
    pub refresh_grace_secs: u64,
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
    pub sms_provider: SmsProvider,
    pub sms_webhook_url: Option<String>,
    /// When set, webhook posts carry `X-Gatehouse-Signature: sha256=<hex HMAC of the body>`.
    pub sms_webhook_secret: Option<String>,
    /// Vendor endpoint override (tests, private endpoints, the international sites).
    pub sms_endpoint: Option<String>,
    pub sms_sign_name: Option<String>,
    /// Template code (Aliyun `SMS_…`) or id (Tencent) with one code parameter.
    pub sms_template: Option<String>,
    pub aliyun_access_key_id: Option<String>,
    pub aliyun_access_key_secret: Option<String>,
    pub tencent_secret_id: Option<String>,
    pub tencent_secret_key: Option<String>,
    pub tencent_sms_app_id: Option<String>,
    pub tencent_region: String,
    pub wechat_appid: Option<String>,
    pub wechat_secret: Option<String>,
    pub wechat_api_base: String,
    pub register_without_code: bool,
    /// Terminals on which a new sign-in ends the user's older session on that terminal.
    #[serde(deserialize_with = "comma_list", serialize_with = "join_list")]
    pub single_session_terminals: Vec<String>,
    /// How long a rotated-out word-info key still decrypts.
    pub word_info_overlap_secs: u64,
    #[serde(deserialize_with = "comma_list", serialize_with = "join_list")]
    pub trusted_proxies: Vec<String>,
    pub code_limit_per_ip_hour: u32,
    pub code_captcha_after: u32,
    pub sms_max_per_minute: u32,
    /// Global ceiling on e-mail code sends per minute (a breaker like the SMS one).
    pub mail_max_per_minute: u32,
    pub signin_limit_per_ip: u32,
    /// Password checks that may wait for a bcrypt worker; past it a check is refused at once
    /// with 503 and `Retry-After` instead of queueing behind a storm.
    pub bcrypt_queue: u32,
    /// Absolute lifetime of a session from its sign-in; refreshing cannot extend it.
    pub session_max_secs: u64,
    /// Time a client has to send a request's headers, and then its body.
    pub request_timeout_secs: u64,
    pub captcha_test_answers: bool,
    /// First single-logout retry delay; each retry doubles it (capped at 10 minutes).
    pub logout_retry_base_ms: u64,
    /// How long a single-logout delivery is retried before it is marked failed.
    pub logout_give_up_secs: u64,
    /// How often the single-logout worker looks for due deliveries when not woken.
    pub logout_poll_ms: u64,
    /// Back-channel logouts one instance has in flight at most; one partner system may hold
    /// an eighth of them, so a partner that hangs cannot hold up the others.
    pub logout_concurrency: u32,
    /// Size of the database connection pool (and of the blocking jobs that may wait on it).
    pub db_pool_size: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            redis_key_prefix: "gh:".into(),
            bcrypt_cost: 12,
            token_ttl_secs: 86_400,
            refresh_grace_secs: 7_200,
            smtp_url: None,
            mail_from: None,
            sms_provider: SmsProvider::Log,
            sms_webhook_url: None,
            sms_webhook_secret: None,
            sms_endpoint: None,
            sms_sign_name: None,
            sms_template: None,
            aliyun_access_key_id: None,
            aliyun_access_key_secret: None,
            tencent_secret_id: None,
            tencent_secret_key: None,
            tencent_sms_app_id: None,
            tencent_region: "ap-guangzhou".into(),
            wechat_appid: None,
            wechat_secret: None,
            wechat_api_base: "https://api.weixin.qq.com".into(),
            register_without_code: false,
            single_session_terminals: Vec::new(),
            word_info_overlap_secs: 86_400,
            trusted_proxies: Vec::new(),
            code_limit_per_ip_hour: 20,
            code_captcha_after: 3,
            sms_max_per_minute: 60,
            mail_max_per_minute: 60,
            signin_limit_per_ip: 100,
            bcrypt_queue: 32,
            session_max_secs: 30 * 86_400,
            request_timeout_secs: 10,
            captcha_test_answers: false,
            db_pool_size: 8,
            logout_retry_base_ms: 2_000,
            logout_give_up_secs: 86_400,
            logout_poll_ms: 1_000,
            logout_concurrency: 512,
        }
    }
}

fn comma_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Raw::Many(v) => v,
    })
}

fn join_list<S: serde::Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.join(","))
}

/// How SMS codes leave: parsed once here, so an unknown name stops start-up instead of
/// falling through to anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Development only: the code is written to the server log.
    Log,
    /// POST `{"phone","code","purpose"}` to `GATEHOUSE_SMS_WEBHOOK_URL`.
    Webhook,
    Aliyun,
    Tencent,
}

impl SmsProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsProvider::Log => "log",
            SmsProvider::Webhook => "webhook",
            SmsProvider::Aliyun => "aliyun",
            SmsProvider::Tencent => "tencent",
        }
    }
}

impl fmt::Display for SmsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configuration problem, always naming the variable at fault.
#[derive(Debug)]
pub struct ConfigError {
    pub variable: String,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.variable, self.problem)
    }
}

impl std::error::Error for ConfigError {}

fn bad(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: format!("{ENV_PREFIX}{}", key.to_ascii_uppercase()),
        problem: problem.into(),
    }
}

/// The database selected by the URL; anything else is refused rather than guessed.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl fmt::Debug for DatabaseUrl {
    // PostgreSQL URLs carry passwords; show only the scheme and host part.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => match Url::parse(u) {
                Ok(url) => write!(
                    f,
                    "postgres://{}{}",
                    url.host_str().unwrap_or(""),
                    url.path()
                ),
                Err(_) => write!(f, "postgres://…"),
            },
        }
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Some(rest) = raw.strip_prefix("sqlite://") {
            let path = rest.split('?').next().unwrap_or("");
            if path.is_empty() {
                return Err("sqlite:// needs a file path".into());
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
            return Ok(DatabaseUrl::Postgres(raw.to_owned()));
        }
        Err("must start with sqlite:// or postgres://".into())
    }
}

impl Settings {
    /// Defaults, then the TOML file (explicit path or `GATEHOUSE_CONFIG`), then environment.
    pub fn figment(config_path: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        let env_path = std::env::var_os("GATEHOUSE_CONFIG").map(PathBuf::from);
        if let Some(path) = config_path.map(Path::to_path_buf).or(env_path) {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment.merge(Env::prefixed(ENV_PREFIX).ignore(&["config"]).map(|k| {
            // figment lower-cases keys already; keep them flat.
            k.as_str().to_ascii_lowercase().into()
        }))
    }

    pub fn load(config_path: Option<&Path>) -> Result<Self, ConfigError> {
        warn_unknown_variables();
        Self::from_figment(Self::figment(config_path))
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(|err| {
            let key = err.path.last().cloned().unwrap_or_else(|| "config".into());
            bad(&key, err.kind.to_string())
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        let public = self.public_url()?;
        self.database()?;
        if !(4..=31).contains(&self.bcrypt_cost) {
            return Err(bad("bcrypt_cost", "must be between 4 and 31"));
        }
        if self.token_ttl_secs == 0 {
            return Err(bad("token_ttl_secs", "must be positive"));
        }
        if let Some(redis) = &self.redis_url
            && !(redis.starts_with("redis://") || redis.starts_with("rediss://"))
        {
            return Err(bad("redis_url", "must start with redis:// or rediss://"));
        }
        if self.redis_key_prefix.is_empty() || self.redis_key_prefix.len() > 64 {
            return Err(bad("redis_key_prefix", "1 to 64 characters"));
        }
        if let Some(smtp) = &self.smtp_url {
            if !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://")) {
                return Err(bad("smtp_url", "must start with smtp:// or smtps://"));
            }
            let from = self
                .mail_from
                .as_deref()
                .ok_or_else(|| bad("mail_from", "required when GATEHOUSE_SMTP_URL is set"))?;
            crate::codes::mail::Mailer::check(smtp, from).map_err(|e| {
                let var = if e.to_string().starts_with("GATEHOUSE_MAIL_FROM") {
                    "mail_from"
                } else {
                    "smtp_url"
                };
                bad(var, e.to_string())
            })?;
        }
        self.proxies()?;
        if self.logout_retry_base_ms == 0 || self.logout_poll_ms == 0 {
            return Err(bad(
                "logout_retry_base_ms",
                "retry and poll intervals must be positive",
            ));
        }
        if self.db_pool_size == 0 {
            return Err(bad("db_pool_size", "must be positive"));
        }
        if !(1..=100_000).contains(&self.logout_concurrency) {
            return Err(bad("logout_concurrency", "1 to 100000"));
        }
        match self.sms_provider {
            SmsProvider::Log => {}
            SmsProvider::Webhook => {
                let url = self.sms_webhook_url.as_deref().ok_or_else(|| {
                    bad("sms_webhook_url", "required when SMS provider is webhook")
                })?;
                check_http_url("sms_webhook_url", url)?;
            }
            SmsProvider::Aliyun => {
                for (key, value) in [
                    ("aliyun_access_key_id", &self.aliyun_access_key_id),
                    ("aliyun_access_key_secret", &self.aliyun_access_key_secret),
                    ("sms_sign_name", &self.sms_sign_name),
                    ("sms_template", &self.sms_template),
                ] {
                    value
                        .as_ref()
                        .ok_or_else(|| bad(key, "required for the aliyun SMS provider"))?;
                }
            }
            SmsProvider::Tencent => {
                for (key, value) in [
                    ("tencent_secret_id", &self.tencent_secret_id),
                    ("tencent_secret_key", &self.tencent_secret_key),
                    ("tencent_sms_app_id", &self.tencent_sms_app_id),
                    ("sms_template", &self.sms_template),
                ] {
                    value
                        .as_ref()
                        .ok_or_else(|| bad(key, "required for the tencent SMS provider"))?;
                }
            }
        }
        if self.bcrypt_queue == 0 {
            return Err(bad("bcrypt_queue", "must be positive"));
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
        for t in &self.single_session_terminals {
            if !crate::accounts::routes::TERMINALS.contains(&t.as_str()) {
                return Err(bad(
                    "single_session_terminals",
                    format!("`{t}` is not one of management, pc, mobile, app, wechat"),
                ));
            }
        }
        // The parser lower-cases the scheme: `HTTPS://` is https too.
        let https = public.scheme() == "https";
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

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|_| bad("listen", format!("`{}` is not host:port", self.listen)))
    }

    pub fn public_url(&self) -> Result<Url, ConfigError> {
        let url = Url::parse(&self.public_url).map_err(|e| bad("public_url", e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("public_url", "must be http or https"));
        }
        Ok(url)
    }

    /// The issuer: the public URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_url.trim_end_matches('/').to_owned()
    }

    pub fn database(&self) -> Result<DatabaseUrl, ConfigError> {
        match &self.database_url {
            Some(raw) => DatabaseUrl::parse(raw).map_err(|p| bad("database_url", p)),
            None => Ok(DatabaseUrl::Sqlite(self.data_dir.join("gatehouse.db"))),
        }
    }

    pub fn proxies(&self) -> Result<Vec<IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| bad("trusted_proxies", format!("`{p}` is not an IP or CIDR")))
            })
            .collect()
    }

    /// Whether the public URL is https, in any letter case (cookies then get `Secure` and the
    /// `__Host-` prefix).
    pub fn is_https(&self) -> bool {
        self.public_url
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
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
    "CAPTCHA_TEST_ANSWERS",
    "DB_POOL_SIZE",
    "LOGOUT_RETRY_BASE_MS",
    "LOGOUT_GIVE_UP_SECS",
    "LOGOUT_POLL_MS",
    "LOG",
];

fn warn_unknown_variables() {
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

#[cfg(test)]
mod tests {
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
            s.database().unwrap(),
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
}
