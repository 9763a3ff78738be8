//! Access tokens: EdDSA-signed JWTs whose validity also depends on their session being live
//! (see `sessions`). This module only signs and checks signatures and times.

mod oidc;
pub mod routes;

pub use crate::keys::Alg as ClientAlg;
pub use oidc::IdTokenHint;

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::keys::{Alg, Key, KeyHandle, now_ms};

/// The claims of every access token (contract section 5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub id: String,
    pub sid: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(rename = "delayTime")]
    pub delay_time: i64,
    pub terminal: String,
    #[serde(rename = "userAgent")]
    pub user_agent: String,
    pub phone: Option<String>,
    pub openid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub aud: Option<String>,
    /// OpenID Connect access tokens only (PROTOCOLS §3.4): the granted scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    /// OpenID Connect access tokens only: the client it was issued to (also its `aud`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
}

impl Claims {
    /// Whether this is an OpenID Connect access token: good for `GET /token`, userinfo,
    /// introspection and revocation, and for nothing else.
    pub fn is_oauth(&self) -> bool {
        self.client_id.is_some() || self.scope.is_some()
    }
}

/// What a new token is issued for.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    pub user_id: &'a str,
    pub sid: &'a str,
    pub terminal: &'a str,
    pub user_agent: &'a str,
    pub phone: Option<&'a str>,
    pub openid: Option<&'a str>,
    pub aud: Option<&'a str>,
    /// The session's absolute end (unix seconds): neither `exp` nor `delayTime` goes past it.
    pub not_after: i64,
}

pub struct TokenService {
    /// The signing keys, shared with the keyring that reloads them (`keys::Keyring`).
    keys: KeyHandle,
    issuer: String,
    ttl_secs: i64,
    grace_secs: i64,
    validation: Validation,
    /// Tokens whose signature was already checked, by their keyed digest (`digest_key`): the
    /// hot path (`GET /token`) pays one hash instead of an EdDSA verification (~60 µs). Only valid
    /// signatures get in; expiry and the session are still checked on every call, so
    /// revocation stays immediate. Each entry keeps the `kid` it was signed with, checked
    /// against the key set on every hit: a key deleted from the database (on schedule, or by
    /// hand after a compromise) stops its tokens even where they were seen before.
    verified: VerifiedCache,
    /// The 128 random bits, drawn at start, that key the cache's digests (`digest`).
    digest_key: (u64, u64),
}

type VerifiedCache = quick_cache::sync::Cache<
    TokenDigest,
    Verified,
    quick_cache::UnitWeighter,
    BuildHasherDefault<Prehashed>,
>;

/// A token's SipHash-2-4 with a 128-bit output, under a key drawn at random when the service
/// starts: the verified-token cache's key. A hit skips the signature check, so no client may
/// find a token whose digest equals a cached one's. SipHash is a pseudorandom function: without
/// its key, which never leaves the process, a forged token matches a given entry with
/// probability 2^-128, and the answer's timing (hit or miss) tells nothing more. It costs about
/// 0.6 of the SHA-256 this replaced (a 629-byte token: 240 against 380 ns) and is half its
/// size. Two `u64`s rather than a `u128`, whose 16-byte alignment would pad every entry.
#[derive(Clone, Copy, PartialEq, Eq)]
struct TokenDigest([u64; 2]);

/// A digest is already uniform, so eight of its bytes are its hash and the cache hashes nothing
/// again. Only tokens whose signature checked out are stored, and their digests are keyed with
/// a secret, so no client can crowd one part of the table.
impl Hash for TokenDigest {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0]);
    }
}

/// Passes on the one `u64` a [`TokenDigest`] writes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is ever called; anything else still gets a hash that depends on it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
}

const VERIFIED_CACHE_ENTRIES: u64 = 100_000;

/// A token whose signature checked out, and the key that signed it (`None`: no `kid`, the
/// active key's).
#[derive(Clone)]
struct Verified {
    claims: Arc<Claims>,
    kid: Option<Arc<str>>,
}

impl TokenService {
    pub fn new(keys: KeyHandle, issuer: String, ttl_secs: u64, grace_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Expiry is judged by us so an expired token can still be told apart (and refreshed).
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_issuer(&[issuer.as_str()]);
        validation.required_spec_claims =
            HashSet::from(["exp".to_owned(), "iss".to_owned(), "sub".to_owned()]);
        TokenService {
            keys,
            issuer,
            ttl_secs: ttl_secs as i64,
            grace_secs: grace_secs as i64,
            validation,
            // Bounded by size only: a signature stays valid, and expiry is checked per call.
            // It grows to its bound as tokens are seen rather than holding it from the start.
            verified: VerifiedCache::with_options(
                quick_cache::OptionsBuilder::new()
                    .estimated_items_capacity(1_000)
                    .weight_capacity(VERIFIED_CACHE_ENTRIES)
                    .build()
                    .expect("constant cache options"),
                quick_cache::UnitWeighter,
                BuildHasherDefault::default(),
                quick_cache::sync::DefaultLifecycle::default(),
            ),
            digest_key: (rand::random(), rand::random()),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The verified-token cache's key for `token`.
    fn digest(&self, token: &str) -> TokenDigest {
        use siphasher::sip128::{Hasher128, SipHasher24};
        let mut hasher = SipHasher24::new_with_keys(self.digest_key.0, self.digest_key.1);
        hasher.write(token.as_bytes());
        let digest = hasher.finish128();
        TokenDigest([digest.h1, digest.h2])
    }

    /// The key that signs for `alg` now.
    pub fn active(&self, alg: Alg) -> ApiResult<Arc<Key>> {
        self.keys
            .load()
            .active(alg, now_ms())
            .cloned()
            .ok_or_else(|| ApiError::Internal(format!("no active {alg} signing key")))
    }

    /// The key named `kid` if it verifies `alg` now; `None` means the active key (a token
    /// without a `kid`).
    fn verifying(&self, alg: Alg, kid: Option<&str>) -> ApiResult<Arc<Key>> {
        let set = self.keys.load();
        let key = match kid {
            Some(kid) => set.verifying(alg, kid, now_ms()),
            None => set.active(alg, now_ms()),
        };
        key.cloned().ok_or(ApiError::TokenInvalid)
    }

    /// Every key that verifies a live token: published, active and retiring, of both
    /// algorithms, the active EdDSA key (which signs every access token) first.
    pub fn jwks(&self) -> serde_json::Value {
        self.keys.load().jwks(now_ms())
    }

    pub fn issue(&self, req: &TokenRequest<'_>) -> ApiResult<(String, Claims)> {
        self.issue_with(req, self.ttl_secs, None)
    }

    /// An OpenID Connect access token (PROTOCOLS §3.4): the same claims for `client_id`, with
    /// `scope` and `client_id`, lasting `ttl_secs` with no refresh window (`delayTime` =
    /// `exp`: OAuth refreshes with its own refresh token).
    pub fn issue_oauth(
        &self,
        req: &TokenRequest<'_>,
        client_id: &str,
        scope: &str,
        ttl_secs: i64,
    ) -> ApiResult<(String, Claims)> {
        let req = TokenRequest {
            aud: Some(client_id),
            phone: None,
            openid: None,
            ..req.clone()
        };
        self.issue_with(&req, ttl_secs, Some((client_id, scope)))
    }

    fn issue_with(
        &self,
        req: &TokenRequest<'_>,
        ttl_secs: i64,
        oauth: Option<(&str, &str)>,
    ) -> ApiResult<(String, Claims)> {
        let now = chrono::Utc::now().timestamp();
        let exp = (now + ttl_secs).min(req.not_after);
        let grace = if oauth.is_some() { 0 } else { self.grace_secs };
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: req.user_id.to_owned(),
            id: req.user_id.to_owned(),
            sid: req.sid.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            exp,
            delay_time: (exp + grace).min(req.not_after),
            terminal: req.terminal.to_ascii_uppercase(),
            user_agent: req.user_agent.to_owned(),
            phone: req.phone.map(str::to_owned),
            openid: req.openid.map(str::to_owned),
            aud: req.aud.map(str::to_owned),
            scope: oauth.map(|(_, scope)| scope.to_owned()),
            client_id: oauth.map(|(client, _)| client.to_owned()),
        };
        let key = self.active(Alg::EdDsa)?;
        let token = oidc::sign_with(&key, &claims, "JWT")?;
        // Signed here, so known good: the partner's first check of it (userinfo, `GET
        // /token`) need not verify the signature again.
        let claims = Arc::new(claims);
        let verified = Verified {
            claims: claims.clone(),
            kid: Some(key.kid.clone()),
        };
        self.verified.insert(self.digest(&token), verified);
        Ok((token, Arc::unwrap_or_clone(claims)))
    }

    /// Signs any claims set with the active EdDSA key (also used for logout tokens).
    pub fn sign<T: Serialize>(&self, claims: &T, typ: &str) -> ApiResult<String> {
        self.sign_for(Alg::EdDsa, claims, typ)
    }

    /// Checks signature, algorithm, issuer and type; not expiry and not the session. The
    /// claims are shared with the cache: a check copies no strings.
    pub fn decode(&self, token: &str) -> ApiResult<Arc<Claims>> {
        self.decode_at(token, now_ms())
    }

    /// [`Self::decode`] at `now` (ms): one clock read serves the key's and the expiry's checks.
    fn decode_at(&self, token: &str, now: i64) -> ApiResult<Arc<Claims>> {
        if token.len() > 4096 {
            return Err(ApiError::TokenInvalid);
        }
        let digest = self.digest(token);
        if let Some(hit) = self.verified.get(&digest) {
            // Its key may have been deleted since: a scan of the few keys, no clone.
            let kept = hit
                .kid
                .as_deref()
                .is_none_or(|kid| self.keys.load().verifying(Alg::EdDsa, kid, now).is_some());
            return if kept {
                Ok(hit.claims)
            } else {
                Err(ApiError::TokenInvalid)
            };
        }
        let (claims, kid) = self.decode_uncached(token)?;
        let claims = Arc::new(claims);
        let verified = Verified {
            claims: claims.clone(),
            kid,
        };
        self.verified.insert(digest, verified);
        Ok(claims)
    }

    /// The claims, and the `kid` the header named (the key's own, shared copy of it).
    fn decode_uncached(&self, token: &str) -> ApiResult<(Claims, Option<Arc<str>>)> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| ApiError::TokenInvalid)?;
        // Keys named in the token itself are never trusted, and other token types signed
        // with the same key (logout tokens) are not access tokens.
        if header.alg != Algorithm::EdDSA
            || header.jwk.is_some()
            || header.jku.is_some()
            || header.x5u.is_some()
            || header
                .typ
                .as_deref()
                .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
        {
            return Err(ApiError::TokenInvalid);
        }
        let key = self.verifying(Alg::EdDsa, header.kid.as_deref())?;
        let kid = header.kid.is_some().then(|| key.kid.clone());
        jsonwebtoken::decode::<Claims>(token, key.decoding(), &self.validation)
            .map(|data| (data.claims, kid))
            .map_err(|_| ApiError::TokenInvalid)
    }

    /// Decodes and also rejects expired tokens.
    pub fn verify(&self, token: &str) -> ApiResult<Arc<Claims>> {
        let now = now_ms();
        let claims = self.decode_at(token, now)?;
        if now.div_euclid(1000) >= claims.exp {
            return Err(ApiError::TokenExpired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests;
