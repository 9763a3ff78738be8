//! What every handler shares.

use ipnet::IpNet;

use crate::blocking::Lanes;
use crate::config::Settings;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use crate::tokens::TokenService;

/// The state as a handler extracts it.
pub type Shared = actix_web::web::Data<AppState>;

pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    pub store: Store,
    pub lanes: Lanes,
    pub tokens: std::sync::Arc<TokenService>,
    /// The signing keys' rows: listed and rotated by operators, reloaded every few seconds.
    pub keyring: std::sync::Arc<crate::keys::Keyring>,
    pub proxies: Vec<IpNet>,
    /// Outbound HTTP (WeChat, SMS vendors, partners' logout URLs), made on first use: loading
    /// the TLS trust roots is work an instance that never calls out should not pay for.
    http: std::sync::OnceLock<reqwest::Client>,
    /// Notified when ended sessions queue back-channel logouts, so the delivery worker (handed
    /// a clone at start-up) need not poll for them.
    pub logout_wakeup: std::sync::Arc<tokio::sync::Notify>,
    pub word_info: crate::keys::WordInfoKeys,
    /// E-mail delivery, when `GATEHOUSE_SMTP_URL` is set.
    pub mailer: Option<crate::mail::Mailer>,
    /// What a password check compares when there is no real hash.
    pub dummy_hash: std::sync::Arc<std::sync::OnceLock<String>>,
    pub metrics: std::sync::Arc<crate::observe::Metrics>,
}

impl AppState {
    pub fn new(
        settings: Settings,
        db: Db,
        store: Store,
        keyring: std::sync::Arc<crate::keys::Keyring>,
        word_info: crate::keys::WordInfoKeys,
    ) -> anyhow::Result<Self> {
        let tokens = TokenService::new(
            keyring.handle(),
            settings.issuer(),
            settings.token_ttl_secs,
            settings.refresh_grace_secs,
        );
        let proxies = settings.proxies();
        let mailer = match (&settings.smtp_url, &settings.mail_from) {
            (Some(url), Some(from)) => Some(crate::mail::Mailer::new(url, from)?),
            _ => None,
        };
        let lanes = Lanes::for_this_machine(settings.bcrypt_queue as usize);
        let mut collectors: Vec<Box<dyn prometheus::core::Collector>> =
            vec![Box::new(db.calls.clone()), Box::new(db.errors.clone())];
        collectors.extend(store.collectors());
        let metrics = crate::observe::Metrics::new(collectors);
        Ok(AppState {
            settings,
            db,
            store,
            lanes,
            tokens: std::sync::Arc::new(tokens),
            keyring,
            proxies,
            http: std::sync::OnceLock::new(),
            logout_wakeup: Default::default(),
            mailer,
            word_info,
            dummy_hash: Default::default(),
            metrics: std::sync::Arc::new(metrics),
        })
    }

    /// Sends `request` to an upstream (WeChat, an SMS webhook) and takes its answer only as
    /// a success: anything else is `unavailable`, naming `upstream` and what went wrong but
    /// never the URL, which may carry a secret.
    pub async fn upstream(
        upstream: &str,
        request: reqwest::RequestBuilder,
    ) -> ApiResult<reqwest::Response> {
        let answer = request
            .send()
            .await
            .map_err(|e| ApiError::Unavailable(format!("{upstream}: {}", e.without_url())))?;
        match answer.status().is_success() {
            true => Ok(answer),
            false => Err(ApiError::Unavailable(format!(
                "{upstream} answered {}",
                answer.status()
            ))),
        }
    }

    /// Signs `claims` for a client registered with `alg`: an RSA signature (about a
    /// millisecond) in the RSA lane, off the async workers; EdDSA at once.
    pub async fn sign_for(
        &self,
        alg: crate::tokens::ClientAlg,
        claims: serde_json::Value,
        typ: &'static str,
    ) -> ApiResult<String> {
        if alg == crate::tokens::ClientAlg::EdDsa {
            return self.tokens.sign_for(alg, &claims, typ);
        }
        let tokens = self.tokens.clone();
        self.lanes
            .rsa
            .run(move || tokens.sign_for(alg, &claims, typ))
            .await?
    }

    /// The outbound HTTP client: 3 s to connect, 5 s in all, no redirects followed.
    pub fn http(&self) -> ApiResult<&reqwest::Client> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .timeout(std::time::Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::Unavailable(format!("outbound HTTP client: {e}")))?;
        Ok(self.http.get_or_init(|| client))
    }
}
