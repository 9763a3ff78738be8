//! Partner systems: the sites that send people here and receive them back at a registered
//! `callback_url`.

pub mod callback;
pub mod tickets;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::clients;
use crate::error::{ApiError, ApiResult};
use crate::http::redirect::Location;
use crate::state::AppState;
pub use callback::{CallbackRule, CallbackUrl};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    /// JSON array of rule strings.
    pub callbacks: String,
    pub logout_url: Option<String>,
    pub mode: String,
    pub secret_hash: String,
    pub enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ClientRow {
    pub fn rules(&self) -> Vec<CallbackRule> {
        serde_json::from_str::<Vec<String>>(&self.callbacks)
            .unwrap_or_default()
            .iter()
            .filter_map(|r| CallbackRule::parse(r).ok())
            .collect()
    }

    pub fn accepts(&self, url: &CallbackUrl) -> bool {
        self.enabled && self.rules().iter().any(|r| r.matches(url))
    }

    pub fn secret_matches(&self, secret: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(
            self.secret_hash.as_bytes(),
            hash_secret(secret).as_bytes(),
        )
        .is_ok()
    }
}

/// The client object of the contract; the secret hash never leaves the server.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub callbacks: Vec<String>,
    pub logout_url: Option<String>,
    pub mode: String,
    pub enabled: bool,
    pub created_at: String,
}

impl From<&ClientRow> for ClientView {
    fn from(c: &ClientRow) -> Self {
        ClientView {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            callbacks: serde_json::from_str(&c.callbacks).unwrap_or_default(),
            logout_url: c.logout_url.clone(),
            mode: c.mode.clone(),
            enabled: c.enabled,
            created_at: crate::accounts::model::rfc3339(c.created_at),
        }
    }
}

/// Client secrets carry 256 bits of entropy, so a plain SHA-256 is a sufficient hash.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// What an operator gives to register a partner.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub callbacks: Vec<String>,
    pub logout_url: Option<String>,
    pub mode: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("name: must be 1 to 100 characters")]
    Name,
    #[error("callback `{0}`: {1}")]
    Callback(String, String),
    #[error("at least one callback rule is required")]
    NoCallback,
    #[error("logout_url: must be an absolute http(s) URL without credentials or fragment")]
    LogoutUrl,
    #[error("mode: must be `token` or `ticket`")]
    Mode,
}

impl NewClient {
    /// Validates and normalises the registration.
    pub fn validate(mut self) -> Result<Self, ClientError> {
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() || self.name.chars().count() > 100 {
            return Err(ClientError::Name);
        }
        if self.callbacks.is_empty() {
            return Err(ClientError::NoCallback);
        }
        self.callbacks = self
            .callbacks
            .iter()
            .map(|c| {
                CallbackRule::parse(c)
                    .map(|r| r.as_str().to_owned())
                    .map_err(|e| ClientError::Callback(c.clone(), e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        if let Some(url) = &self.logout_url
            && CallbackUrl::parse(url).is_none()
        {
            return Err(ClientError::LogoutUrl);
        }
        if !matches!(self.mode.as_str(), "token" | "ticket") {
            return Err(ClientError::Mode);
        }
        Ok(self)
    }
}

/// A new client secret: 256 random bits.
pub fn new_secret() -> String {
    random_token(32)
}

/// Inserts a validated client; returns the row and the one-time secret.
pub fn insert(conn: &mut DbConnection, new: NewClient) -> QueryResult<(ClientRow, String)> {
    let secret = new_secret();
    let now = crate::db::now();
    let row = ClientRow {
        client_id: format!("gh_{}", &uuid::Uuid::new_v4().simple().to_string()[..20]),
        name: new.name,
        callbacks: serde_json::to_string(&new.callbacks).unwrap_or_else(|_| "[]".into()),
        logout_url: new.logout_url,
        mode: new.mode,
        secret_hash: hash_secret(&secret),
        enabled: true,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(clients::table)
        .values(&row)
        .execute(conn)?;
    Ok((row, secret))
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .order(clients::created_at.asc())
        .select(ClientRow::as_select())
        .load(conn)
}

/// The partner system with this `client_id`, enabled or not.
pub async fn by_id(state: &AppState, client_id: &str) -> ApiResult<Option<ClientRow>> {
    let id = client_id.to_owned();
    state
        .db
        .run(move |conn| {
            clients::table
                .find(id)
                .select(ClientRow::as_select())
                .first(conn)
                .optional()
                .map_err(ApiError::from)
        })
        .await
}

/// The enabled partner system these client credentials belong to, or `client_auth_failed`.
pub async fn authenticate(state: &AppState, client_id: &str, secret: &str) -> ApiResult<ClientRow> {
    if client_id.len() > 64 || secret.len() > 256 {
        return Err(ApiError::ClientAuthFailed);
    }
    match by_id(state, client_id).await? {
        Some(client) if client.enabled && client.secret_matches(secret) => Ok(client),
        _ => Err(ApiError::ClientAuthFailed),
    }
}

/// A callback URL that an enabled partner's registered rules accepted: the only kind of
/// partner URL a redirect may be built from.
#[derive(Debug, Clone)]
pub struct Registered(CallbackUrl);

impl Registered {
    pub fn as_url(&self) -> &url::Url {
        self.0.as_url()
    }

    /// The callback itself.
    pub fn location(&self) -> Location {
        Location::registered_callback(self.0.as_url())
    }

    /// The callback with `name=value` added to its query (its own query kept).
    pub fn location_with(&self, name: &str, value: &str) -> Location {
        Location::registered_callback(&self.0.with_param(name, value))
    }
}

/// The enabled partner whose rules accept `raw`, or `callback_not_registered`.
pub async fn for_callback(state: &AppState, raw: &str) -> ApiResult<(ClientRow, Registered)> {
    let url = CallbackUrl::parse(raw).ok_or(ApiError::CallbackNotRegistered)?;
    let rows = state
        .db
        .run(|conn| {
            clients::table
                .filter(clients::enabled.eq(true))
                .select(ClientRow::as_select())
                .load(conn)
                .map_err(ApiError::from)
        })
        .await?;
    rows.into_iter()
        .find(|c| c.accepts(&url))
        .map(|c| (c, Registered(url)))
        .ok_or(ApiError::CallbackNotRegistered)
}
