//! Partner systems: the sites that send people here and receive them back at a registered
//! `callback_url`.

pub mod callback;
pub mod logout;
mod mode;
mod oidc;
pub mod redirect_uri;
mod registration;
pub mod tickets;

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::clients;
use crate::error::{ApiError, ApiResult};
use crate::http::redirect::Location;
use crate::state::AppState;
pub use callback::{CallbackRule, CallbackUrl};
pub use mode::{ClientMode, UnknownMode};
pub use oidc::{forget, oidc_client, public_origins};
pub use redirect_uri::RegisteredUri;
pub use registration::{AuthMethod, ClientError, NewClient, Registration};

use crate::tokens::ClientAlg;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize, Deserialize)]
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
    /// JSON arrays of exact URLs (OpenID Connect partners).
    redirect_uris: String,
    post_logout_redirect_uris: String,
    token_endpoint_auth_method: Option<String>,
    id_token_signed_response_alg: Option<String>,
}

fn strings(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

impl ClientRow {
    pub fn redirect_uris(&self) -> Vec<String> {
        strings(&self.redirect_uris)
    }

    pub fn post_logout_redirect_uris(&self) -> Vec<String> {
        strings(&self.post_logout_redirect_uris)
    }

    /// How an OpenID Connect partner authenticates (`None` for the other modes).
    pub fn auth_method(&self) -> Option<AuthMethod> {
        self.token_endpoint_auth_method
            .as_deref()
            .map(|m| AuthMethod::parse(m).unwrap_or_default())
    }

    /// The algorithm of an OpenID Connect partner's ID and logout tokens; EdDSA, the token
    /// key's, for every other partner.
    pub fn alg(&self) -> ClientAlg {
        match self.mode() {
            ClientMode::Oidc => self
                .id_token_signed_response_alg
                .as_deref()
                .and_then(ClientAlg::parse)
                .unwrap_or_default(),
            ClientMode::Token | ClientMode::Ticket | ClientMode::Cas => ClientAlg::EdDsa,
        }
    }

    /// `presented`, when it is one of the partner's redirect URIs byte for byte.
    pub fn redirect_uri(&self, presented: &str) -> Option<RegisteredUri> {
        RegisteredUri::find(&self.redirect_uris(), presented)
    }

    /// `presented`, when it is one of the partner's post-logout redirect URIs byte for byte.
    pub fn post_logout_redirect_uri(&self, presented: &str) -> Option<RegisteredUri> {
        RegisteredUri::find(&self.post_logout_redirect_uris(), presented)
    }

    /// Whether the partner holds a secret: all but public OpenID Connect clients and CAS
    /// services.
    pub fn has_secret(&self) -> bool {
        registration::holds_secret(self.mode(), self.auth_method())
    }

    /// Whether a PUT may turn this registration into `new`: the mode only between `token`
    /// and `ticket`, the auth method only between the two that use the same secret.
    pub fn may_become(&self, new: &Registration) -> bool {
        let mode = self.mode() == new.mode || (self.mode().by_callback() && new.mode.by_callback());
        mode && self.has_secret() == new.has_secret()
    }
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
        self.mode().by_callback() && self.matches(url)
    }

    /// Whether the partner is enabled and one of its rules accepts `url`, whatever its mode.
    pub fn matches(&self, url: &CallbackUrl) -> bool {
        self.enabled && self.rules().iter().any(|r| r.matches(url))
    }

    pub fn secret_matches(&self, secret: &str) -> bool {
        // A public client's empty hash matches nothing: every hash is 64 hex digits.
        !self.secret_hash.is_empty()
            && aws_lc_rs::constant_time::verify_slices_are_equal(
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
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// OpenID Connect partners only; null for the other modes.
    #[schema(value_type = Option<String>, example = "client_secret_basic")]
    pub token_endpoint_auth_method: Option<&'static str>,
    #[schema(value_type = Option<String>, example = "RS256")]
    pub id_token_signed_response_alg: Option<&'static str>,
}

impl From<&ClientRow> for ClientView {
    fn from(c: &ClientRow) -> Self {
        ClientView {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            callbacks: strings(&c.callbacks),
            logout_url: c.logout_url.clone(),
            mode: c.mode(),
            enabled: c.enabled,
            created_at: crate::accounts::model::rfc3339(c.created_at),
            redirect_uris: c.redirect_uris(),
            post_logout_redirect_uris: c.post_logout_redirect_uris(),
            token_endpoint_auth_method: c.auth_method().map(AuthMethod::as_str),
            id_token_signed_response_alg: (c.mode() == ClientMode::Oidc).then(|| c.alg().as_str()),
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

/// A new client secret: 256 random bits.
pub fn new_secret() -> String {
    random_token(32)
}

/// Inserts a validated client; returns the row and the one-time secret (none for a public
/// OpenID Connect client).
pub fn insert(
    conn: &mut DbConnection,
    new: Registration,
) -> QueryResult<(ClientRow, Option<String>)> {
    let secret = new.has_secret().then(new_secret);
    let now = crate::db::now();
    let mut row = ClientRow {
        client_id: format!("gh_{}", &uuid::Uuid::new_v4().simple().to_string()[..20]),
        name: String::new(),
        callbacks: String::new(),
        logout_url: None,
        mode: String::new(),
        secret_hash: secret.as_deref().map(hash_secret).unwrap_or_default(),
        enabled: true,
        created_at: now,
        updated_at: now,
        redirect_uris: String::new(),
        post_logout_redirect_uris: String::new(),
        token_endpoint_auth_method: None,
        id_token_signed_response_alg: None,
    };
    row.assign(new);
    diesel::insert_into(clients::table)
        .values(&row)
        .execute(conn)?;
    Ok((row, secret))
}

impl ClientRow {
    /// Takes every registered field from `new` (not the id, secret or times).
    fn assign(&mut self, new: Registration) {
        self.name = new.name;
        self.callbacks = json(&new.callbacks);
        self.logout_url = new.logout_url;
        self.set_mode(new.mode);
        self.redirect_uris = json(&new.redirect_uris);
        self.post_logout_redirect_uris = json(&new.post_logout_redirect_uris);
        self.token_endpoint_auth_method = new.auth_method.map(|m| m.as_str().to_owned());
        self.id_token_signed_response_alg = new.alg.map(|a| a.as_str().to_owned());
    }
}

/// Replaces a partner's registration with `new` (its id, secret and creation time kept) and
/// writes it back.
pub fn replace(
    conn: &mut DbConnection,
    row: &mut ClientRow,
    new: Registration,
    enabled: bool,
) -> QueryResult<()> {
    row.assign(new);
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
        .read(|conn| list(conn).map_err(ApiError::from))
        .await?;
    Ok(rows.into_iter().map(|c| (c.client_id, c.name)).collect())
}

/// The partner system with this `client_id`, enabled or not.
pub async fn by_id(state: &AppState, client_id: &str) -> ApiResult<Option<ClientRow>> {
    let id = client_id.to_owned();
    state
        .db
        .read(move |conn| {
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
        Some(client)
            if client.enabled && client.mode().by_callback() && client.secret_matches(secret) =>
        {
            Ok(client)
        }
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
    by_rules(state, raw, |c| c.mode().by_callback()).await
}

/// The enabled CAS service whose rules accept `service` (PROTOCOLS §4), or
/// `callback_not_registered`.
pub async fn for_service(state: &AppState, service: &str) -> ApiResult<(ClientRow, Registered)> {
    by_rules(state, service, |c| c.mode() == ClientMode::Cas).await
}

async fn by_rules(
    state: &AppState,
    raw: &str,
    kind: impl Fn(&ClientRow) -> bool,
) -> ApiResult<(ClientRow, Registered)> {
    let url = CallbackUrl::parse(raw).ok_or(ApiError::CallbackNotRegistered)?;
    let rows = state
        .db
        .read(|conn| {
            clients::table
                .filter(clients::enabled.eq(true))
                .select(ClientRow::as_select())
                .load(conn)
                .map_err(ApiError::from)
        })
        .await?;
    rows.into_iter()
        .find(|c| kind(c) && c.matches(&url))
        .map(|c| (c, Registered(url)))
        .ok_or(ApiError::CallbackNotRegistered)
}
