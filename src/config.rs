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
    pub listen: SocketAddr,
    /// Where `GET /metrics` is served instead of the main listener, when set.
    pub metrics_listen: Option<SocketAddr>,
    pub public_url: PublicUrl,
    pub data_dir: PathBuf,
    pub database_url: Option<DatabaseUrl>,
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
    pub sms_webhook_secret: Option<Secret>,
    /// Vendor endpoint override (tests, private endpoints, the international sites).
    pub sms_endpoint: Option<String>,
    pub sms_sign_name: Option<String>,
    /// Template code (Aliyun `SMS_…`) or id (Tencent) with one code parameter.
    pub sms_template: Option<String>,
    pub aliyun_access_key_id: Option<String>,
    pub aliyun_access_key_secret: Option<Secret>,
    pub tencent_secret_id: Option<String>,
    pub tencent_secret_key: Option<Secret>,
    pub tencent_sms_app_id: Option<String>,
    pub tencent_region: String,
    pub wechat_appid: Option<String>,
    pub wechat_secret: Option<Secret>,
    pub wechat_api_base: String,
    pub register_without_code: bool,
    /// Terminals on which a new sign-in ends the user's older session on that terminal.
    #[serde(deserialize_with = "comma_list", serialize_with = "join_list")]
    pub single_session_terminals: Vec<crate::domain::Terminal>,
    /// How long a rotated-out word-info key still decrypts.
    pub word_info_overlap_secs: u64,
    #[serde(deserialize_with = "comma_list", serialize_with = "join_list")]
    pub trusted_proxies: Vec<TrustedProxy>,
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
    /// Pending deliveries one partner may have; past it the oldest turn `failed`.
    pub logout_backlog_max: u32,
    /// Days audit events are kept.
    pub audit_retention_days: u32,
    /// How long a new signing key is in the JWKS before it signs (CONTRACT §9).
    pub key_publish_secs: u64,
    /// Days between automatic signing-key rotations; 0: never.
    pub key_rotate_days: u32,
    /// Base64 of 32 bytes sealing the signing keys in the database (AES-256-GCM).
    pub key_encryption_key: Option<Secret>,
    /// A file holding that key (32 raw bytes, or the base64 text), instead of the setting.
    pub key_encryption_key_file: Option<PathBuf>,
    /// Size of the database connection pool (and of the blocking jobs that may wait on it):
    /// PostgreSQL connections, or SQLite's read-only connections. Unset: the backend's default
    /// (`db::DEFAULT_POSTGRES_POOL`, `db::DEFAULT_SQLITE_READERS`).
    pub db_pool_size: Option<u32>,
    /// OpenID Connect access and ID tokens' lifetime.
    pub oidc_access_token_ttl_secs: u64,
    /// OpenID Connect refresh tokens' idle lifetime: each rotation restarts it; never past
    /// the session's end.
    pub oidc_refresh_token_ttl_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
            public_url: "http://127.0.0.1:8080"
                .parse()
                .expect("the default public URL"),
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
            oidc_access_token_ttl_secs: 3600,
            oidc_refresh_token_ttl_secs: 86_400,
            request_timeout_secs: 10,
            captcha_test_answers: false,
            db_pool_size: None,
            logout_retry_base_ms: 2_000,
            logout_give_up_secs: 86_400,
            logout_poll_ms: 1_000,
            logout_concurrency: 512,
            logout_backlog_max: 10_000,
            audit_retention_days: 180,
            key_publish_secs: 86_400,
            key_rotate_days: 0,
            key_encryption_key: None,
            key_encryption_key_file: None,
        }
    }
}

mod checks;
mod values;

use values::bad;
pub use values::{ConfigError, DatabaseUrl, PublicUrl, Secret, SmsProvider, TrustedProxy};
use values::{comma_list, join_list};

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
        checks::warn_unknown_variables();
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

    /// The issuer: the public URL as configured, without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_url.issuer()
    }

    /// How long a replaced signing key keeps verifying: the longest a token it signed stays
    /// good (an access token's refresh window, an OpenID Connect token's life, a logout
    /// token's two minutes).
    pub fn key_verify_window_secs(&self) -> i64 {
        let longest = self
            .token_ttl_secs
            .saturating_add(self.refresh_grace_secs)
            .max(self.oidc_access_token_ttl_secs)
            .max(120);
        i64::try_from(longest).unwrap_or(i64::MAX)
    }

    pub fn database(&self) -> DatabaseUrl {
        self.database_url
            .clone()
            .unwrap_or_else(|| DatabaseUrl::Sqlite(self.data_dir.join("gatehouse.db")))
    }

    pub fn proxies(&self) -> Vec<IpNet> {
        self.trusted_proxies.iter().map(|p| p.0).collect()
    }

    /// Whether the public URL is https (cookies then get `Secure` and the `__Host-` prefix).
    pub fn is_https(&self) -> bool {
        self.public_url.is_https()
    }
}
#[cfg(test)]
mod tests;
