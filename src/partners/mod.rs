//! Partner systems: the sites that send people here and receive them back at a registered
//! `callback_url`.

pub mod callback;
pub mod logout;
mod mode;
pub mod redirect_uri;
pub mod tickets;

use std::collections::HashMap;

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
pub use mode::{ClientMode, UnknownMode};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    /// JSON array of rule strings.
    pub callbacks: String,
    pub logout_url: Option<String>,
    /// A `ClientMode`'s name: read it through [`ClientRow::mode`].
    mode: String,
    pub secret_hash: String,
    pub enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ClientRow {
    pub fn mode(&self) -> ClientMode {
        ClientMode::from_stored(&self.mode)
    }

    pub fn set_mode(&mut self, mode: ClientMode) {
        self.mode = mode.as_str().to_owned();
    }

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
    pub mode: ClientMode,
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
            mode: c.mode(),
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
    pub mode: ClientMode,
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
        mode: new.mode.as_str().to_owned(),
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

/// Replaces a partner's registration with `new` (its id, secret and creation time kept) and
/// writes it back.
pub fn replace(
    conn: &mut DbConnection,
    row: &mut ClientRow,
    new: NewClient,
    enabled: bool,
) -> QueryResult<()> {
    row.name = new.name;
    row.callbacks = serde_json::to_string(&new.callbacks).unwrap_or_else(|_| "[]".into());
    row.logout_url = new.logout_url;
    row.set_mode(new.mode);
    row.enabled = enabled;
    row.updated_at = crate::db::now();
    diesel::update(clients::table.find(&row.client_id))
        .set(&*row)
        .execute(conn)
        .map(|_| ())
}

/// Gives a partner a new secret, returned once; only its hash is kept. Writes the secret
/// alone, so an edit saved at the same moment is not undone.
pub fn rotate_secret(conn: &mut DbConnection, row: &mut ClientRow) -> QueryResult<String> {
    let secret = new_secret();
    row.secret_hash = hash_secret(&secret);
    row.updated_at = crate::db::now();
    diesel::update(clients::table.find(&row.client_id))
        .set((
            clients::secret_hash.eq(&row.secret_hash),
            clients::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    Ok(secret)
}

/// Removes a partner system; false when there was none with this id.
pub fn delete(conn: &mut DbConnection, client_id: &str) -> QueryResult<bool> {
    diesel::delete(clients::table.find(client_id))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .order(clients::created_at.asc())
        .select(ClientRow::as_select())
        .load(conn)
}

/// Every partner's name by its `client_id`, for showing which systems a session reached.
pub async fn names(state: &AppState) -> ApiResult<HashMap<String, String>> {
    let rows = state
        .db
        .run(|conn| list(conn).map_err(ApiError::from))
        .await?;
    Ok(rows.into_iter().map(|c| (c.client_id, c.name)).collect())
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
#[tracing::instrument(skip_all, fields(client_id = client_id))]
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
#[tracing::instrument(skip_all)]
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
