//! Outbound e-mail over SMTP (`smtp://` plain or STARTTLS with `?tls=required`, `smtps://`
//! implicit TLS, optional `user:pass@`): the transport alone. What a message says is its
//! sender's business (`codes::mail`). A send that fails or takes over 5 s is `unavailable`.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::error::{ApiError, ApiResult};

const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// Checks the settings without opening anything (no runtime needed).
    pub fn check(url: &str, from: &str) -> anyhow::Result<()> {
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("GATEHOUSE_SMTP_URL: {e}"))?;
        from.parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("GATEHOUSE_MAIL_FROM: {e}"))?;
        Ok(())
    }

    /// Builds the pooled transport; must run inside the Tokio runtime.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("GATEHOUSE_SMTP_URL: {e}"))?
            .timeout(Some(TIMEOUT))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("GATEHOUSE_MAIL_FROM: {e}"))?;
        Ok(Mailer { transport, from })
    }

    /// The sender every message goes out as (`GATEHOUSE_MAIL_FROM`).
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    pub async fn send(&self, message: Message) -> ApiResult<()> {
        match tokio::time::timeout(TIMEOUT, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(ApiError::Unavailable(format!("SMTP: {e}"))),
            Err(_) => Err(ApiError::Unavailable("SMTP: timed out".into())),
        }
    }
}
