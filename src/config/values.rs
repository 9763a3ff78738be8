//! The typed values settings are made of, and the error that names a bad one.

use super::*;

/// A list given as one comma-separated string (as environment variables must) or as an array
/// (TOML), each entry parsed into its type; a bad entry is an error naming the setting.
pub(super) fn comma_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    let raw: Vec<String> = match Raw::deserialize(d)? {
        Raw::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Raw::Many(v) => v,
    };
    raw.iter()
        .map(|item| item.parse().map_err(serde::de::Error::custom))
        .collect()
}

pub(super) fn join_list<S: serde::Serializer, T: fmt::Display>(
    v: &[T],
    s: S,
) -> Result<S::Ok, S::Error> {
    let joined: Vec<String> = v.iter().map(T::to_string).collect();
    s.serialize_str(&joined.join(","))
}

/// A credential from the settings (a vendor key, the WeChat app secret, a signing key). Its
/// `Debug` never shows it, so a settings struct can be logged or printed in a panic whole.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
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

display_as_str!(SmsProvider);

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

pub(super) fn bad(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: format!("{ENV_PREFIX}{}", key.to_ascii_uppercase()),
        problem: problem.into(),
    }
}

/// The URL people and partners reach Gatehouse at, http or https in any letter case. The text
/// is kept as configured, because it is the token issuer partners compare byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicUrl {
    raw: String,
    url: Url,
}

impl std::str::FromStr for PublicUrl {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|e| e.to_string())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be http or https".into());
        }
        Ok(PublicUrl {
            raw: raw.to_owned(),
            url,
        })
    }
}

impl TryFrom<String> for PublicUrl {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        raw.parse()
    }
}

impl From<PublicUrl> for String {
    fn from(p: PublicUrl) -> String {
        p.raw
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl PublicUrl {
    pub fn issuer(&self) -> String {
        self.raw.trim_end_matches('/').to_owned()
    }

    /// The scheme is lower-cased by parsing, so `HTTPS://` counts.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// `scheme://host[:port]`, as browsers send it in `Origin`.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

/// One `GATEHOUSE_TRUSTED_PROXIES` entry: a CIDR range or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy(pub IpNet);

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(p: &str) -> Result<Self, String> {
        p.parse::<IpNet>()
            .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
            .map(TrustedProxy)
            .map_err(|_| format!("`{p}` is not an IP or CIDR"))
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The database selected by the URL; anything else is refused rather than guessed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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

impl TryFrom<String> for DatabaseUrl {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        DatabaseUrl::parse(&raw)
    }
}

/// Back to the configured text (with any password), for figment's layering only; logs and
/// errors use `Debug`, which leaves credentials out.
impl From<DatabaseUrl> for String {
    fn from(url: DatabaseUrl) -> String {
        match url {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => u,
        }
    }
}
