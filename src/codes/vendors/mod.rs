//! SMS vendor clients: thin, self-contained HTTP clients for the two mainland
//! China SMS vendors Gatehouse can send verification codes through.
//!
//! Each client's settings implement [`Vendor`], whose one `send(http, phone, code)` signs
//! the request with the vendor's published algorithm, posts it, and reads the
//! vendor's answer into `Ok(())` or a [`VendorError`]. The signing steps are
//! pure functions (fixed timestamps and nonces in, strings out) so the unit
//! tests can reproduce the worked examples from the vendors' documentation.
//!
//! Phone numbers come in already normalised: a bare 11-digit number is a
//! mainland China mobile number, anything else starts with `+` and a country
//! code. Each client maps that onto the vendor's own number format.
//!
//! Neither client logs anything: secrets, signatures and the code never leave
//! the request itself, and the errors carry only what the vendor said.

use crate::config::{Secret, Settings};

pub mod aliyun;
pub mod tencent;
#[cfg(test)]
mod test_server;

fn setting(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn secret(value: &Option<Secret>) -> Secret {
    value.clone().unwrap_or_else(|| "".into())
}

fn endpoint(s: &Settings, default: &str) -> String {
    s.sms_endpoint.as_deref().unwrap_or(default).to_owned()
}

/// An SMS vendor's client: its settings, the signed request for one code, and how to read
/// the vendor's answer. Sending is the same for every vendor.
pub(crate) trait Vendor {
    /// The signed `SendSms` request for `code` to `phone`.
    fn request(
        &self,
        http: &reqwest::Client,
        phone: &str,
        code: &str,
    ) -> Result<reqwest::RequestBuilder, VendorError>;

    /// The vendor's answer: its body is read whatever the status, as vendors put their error
    /// codes in it.
    fn interpret(status: u16, body: &str) -> Result<(), VendorError>;

    async fn send(
        &self,
        http: &reqwest::Client,
        phone: &str,
        code: &str,
    ) -> Result<(), VendorError> {
        let response = self
            .request(http, phone, code)?
            .send()
            .await
            .map_err(VendorError::network)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(VendorError::network)?;
        Self::interpret(status, &body)
    }
}

/// Why an SMS vendor did not take a message.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// The request never got an HTTP answer (DNS, connect, TLS, timeout...).
    #[error("network: {0}")]
    Network(String),
    /// The vendor answered and said no: its own error code and message.
    #[error("vendor refused: {code}: {message}")]
    Refused { code: String, message: String },
    /// The vendor answered with something we could not make sense of.
    #[error("unreadable answer: {0}")]
    Unreadable(String),
}

impl VendorError {
    /// A network error, with the vendor's URL kept (it holds no secret: both
    /// clients send their credentials in the body or in headers, never in the
    /// URL).
    pub(crate) fn network(err: reqwest::Error) -> Self {
        VendorError::Network(err.to_string())
    }

    /// An unreadable answer, quoting at most the first 200 characters of the
    /// body so a misconfigured endpoint (an HTML error page...) is recognisable
    /// without flooding logs.
    pub(crate) fn unreadable(what: &str, status: u16, body: &str) -> Self {
        let snippet: String = body.chars().take(200).collect();
        VendorError::Unreadable(format!("{what} (HTTP {status}): {snippet}"))
    }
}

#[cfg(test)]
mod tests {
    use super::aliyun::AliyunConfig;
    use super::tencent::TencentConfig;
    use super::*;

    #[test]
    fn vendor_configs_take_their_settings_and_never_show_the_secret() {
        let settings = Settings {
            aliyun_access_key_secret: Some("aliyun-secret".into()),
            tencent_secret_key: Some("tencent-secret".into()),
            sms_endpoint: Some("http://127.0.0.1:9".into()),
            ..Settings::default()
        };
        let aliyun = AliyunConfig::from_settings(&settings);
        let tencent = TencentConfig::from_settings(&settings);
        assert_eq!(aliyun.access_key_secret.expose(), "aliyun-secret");
        assert_eq!(tencent.secret_key.expose(), "tencent-secret");
        assert_eq!(
            (aliyun.endpoint.as_str(), tencent.endpoint.as_str()),
            ("http://127.0.0.1:9", "http://127.0.0.1:9")
        );
        let shown = format!("{aliyun:?} {tencent:?}");
        assert!(!shown.contains("aliyun-secret"), "{shown}");
        assert!(!shown.contains("tencent-secret"), "{shown}");
    }
}
