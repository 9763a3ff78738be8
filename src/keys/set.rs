//! The signing keys every instance holds, and what state each is in at a given time
//! (CONTRACT §9). A key's state is computed from its times alone, so instances that loaded the
//! same rows agree on which key signs without talking to each other.

use std::sync::Arc;

use jsonwebtoken::DecodingKey;
use serde::Serialize;
use utoipa::ToSchema;

use super::{RsaSigningKey, SigningKey};

/// A signature algorithm: of a key, and what an OpenID Connect client registered
/// (`id_token_signed_response_alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Alg {
    /// The default for OpenID Connect clients: every relying party checks RS256
    /// (mod_auth_openidc checks nothing else).
    #[default]
    Rs256,
    EdDsa,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::Rs256, Alg::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// The name exactly as JWA spells it.
    pub fn parse(name: &str) -> Option<Self> {
        Alg::ALL.into_iter().find(|alg| alg.as_str() == name)
    }
}

display_as_str!(Alg);

/// The private half, parsed once.
pub enum Pair {
    Ed(SigningKey),
    Rsa(RsaSigningKey),
}

pub struct Key {
    /// Shared with every verified-token cache entry the key signed, rather than copied into
    /// each.
    pub kid: Arc<str>,
    pub alg: Alg,
    pub pair: Pair,
    /// Unix milliseconds: keys made within one second still order by when they were made.
    pub created_at: i64,
    /// Unix milliseconds: when it starts signing (CONTRACT §9, `published` until then).
    pub activates_at: i64,
}

impl Key {
    pub fn from_pkcs8(
        alg: Alg,
        pkcs8: &[u8],
        created_at: i64,
        activates_at: i64,
    ) -> anyhow::Result<Self> {
        let (kid, pair) = match alg {
            Alg::EdDsa => {
                let key = SigningKey::from_pkcs8(pkcs8)?;
                (Arc::from(key.kid.as_str()), Pair::Ed(key))
            }
            Alg::Rs256 => {
                let key = RsaSigningKey::from_pkcs8(pkcs8)?;
                (Arc::from(key.kid.as_str()), Pair::Rsa(key))
            }
        };
        Ok(Key {
            kid,
            alg,
            pair,
            created_at,
            activates_at,
        })
    }

    pub fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        match &self.pair {
            Pair::Ed(key) => Ok(key.sign(message)),
            Pair::Rsa(key) => key.sign(message),
        }
    }

    pub fn decoding(&self) -> &DecodingKey {
        match &self.pair {
            Pair::Ed(key) => &key.decoding,
            Pair::Rsa(key) => &key.decoding,
        }
    }

    pub fn jwk(&self) -> serde_json::Value {
        match &self.pair {
            Pair::Ed(key) => key.jwk(),
            Pair::Rsa(key) => key.jwk(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// In the JWKS, not signing yet: partners that cache the JWKS see it first.
    Published,
    /// Signs; one per algorithm.
    Active,
    /// Replaced; still in the JWKS and verifying until `retires_at`.
    Retiring,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Published => "published",
            KeyState::Active => "active",
            KeyState::Retiring => "retiring",
        }
    }
}

/// A key as `gatehouse keys list` and `GET /admin/api/keys` show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    #[schema(value_type = String, example = "EdDSA")]
    pub alg: String,
    pub state: KeyState,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub activates_at: chrono::DateTime<chrono::Utc>,
    /// When the last token it signed is past its refresh window; null until it retires.
    pub retires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Every key an instance knows, ordered by when each starts signing. Times are unix
/// milliseconds.
pub struct KeySet {
    keys: Vec<Arc<Key>>,
    /// The longest a token may be refreshed after it was signed (the longest `delayTime -
    /// iat`, or an ID token's life), in milliseconds: how long a replaced key keeps verifying.
    window_ms: i64,
}

impl KeySet {
    pub fn new(mut keys: Vec<Arc<Key>>, window_ms: i64) -> Self {
        // A total order every instance shares: keys made at the same moment still agree.
        keys.sort_by(|a, b| {
            (a.activates_at, a.created_at, &a.kid).cmp(&(b.activates_at, b.created_at, &b.kid))
        });
        KeySet { keys, window_ms }
    }

    pub fn keys(&self) -> &[Arc<Key>] {
        &self.keys
    }

    /// The key that signs for `alg` at `now`: the last of that alg to have activated.
    pub fn active(&self, alg: Alg, now: i64) -> Option<&Arc<Key>> {
        self.of(alg).rfind(|k| k.activates_at <= now)
    }

    /// A key that verifies at `now`: published, active or retiring, never one past its end.
    pub fn verifying(&self, alg: Alg, kid: &str, now: i64) -> Option<&Arc<Key>> {
        self.of(alg)
            .find(|k| &*k.kid == kid)
            .filter(|k| self.retires_at(k, now).is_none_or(|end| now < end))
    }

    fn of(&self, alg: Alg) -> impl DoubleEndedIterator<Item = &Arc<Key>> {
        self.keys.iter().filter(move |k| k.alg == alg)
    }

    /// When `key` stops verifying: the refresh window after the next key of its alg
    /// activated, or `None` while none has.
    pub fn retires_at(&self, key: &Key, now: i64) -> Option<i64> {
        let mut later = self.of(key.alg).skip_while(|k| k.kid != key.kid).skip(1);
        later
            .next()
            .filter(|next| next.activates_at <= now)
            .map(|next| next.activates_at.saturating_add(self.window_ms))
    }

    pub fn state(&self, key: &Key, now: i64) -> KeyState {
        if key.activates_at > now {
            KeyState::Published
        } else if self.retires_at(key, now).is_some() {
            KeyState::Retiring
        } else {
            KeyState::Active
        }
    }

    /// The keys whose end has passed at `now`: no token they signed is good any more.
    pub fn expired(&self, now: i64) -> Vec<String> {
        self.keys
            .iter()
            .filter(|k| self.retires_at(k, now).is_some_and(|end| end <= now))
            .map(|k| k.kid.to_string())
            .collect()
    }

    pub fn view(&self, key: &Key, now: i64) -> KeyView {
        // Whole seconds, as every other time the API shows.
        let time =
            |t: i64| chrono::DateTime::from_timestamp(t.div_euclid(1000), 0).unwrap_or_default();
        KeyView {
            kid: key.kid.to_string(),
            alg: key.alg.as_str().to_owned(),
            state: self.state(key, now),
            created_at: time(key.created_at),
            activates_at: time(key.activates_at),
            retires_at: self.retires_at(key, now).map(time),
        }
    }

    /// Every key still good at `now`, as listed: newest first.
    pub fn views(&self, now: i64) -> Vec<KeyView> {
        let gone = self.expired(now);
        self.keys
            .iter()
            .rev()
            .filter(|k| !gone.iter().any(|g| **g == *k.kid))
            .map(|k| self.view(k, now))
            .collect()
    }

    /// The JWK Set: every key that verifies at `now`, the active EdDSA key (which signs every
    /// access token) first.
    pub fn jwks(&self, now: i64) -> serde_json::Value {
        let gone = self.expired(now);
        let first = self.active(Alg::EdDsa, now).map(|k| &*k.kid);
        let mut keys: Vec<&Arc<Key>> = self
            .keys
            .iter()
            .filter(|k| !gone.iter().any(|g| **g == *k.kid))
            .collect();
        keys.sort_by_key(|k| Some(&*k.kid) != first);
        serde_json::json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ed(created: i64, activates: i64) -> Arc<Key> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Arc::new(Key::from_pkcs8(Alg::EdDsa, doc.as_ref(), created, activates).unwrap())
    }

    #[test]
    fn a_rotated_key_is_published_then_active_while_the_old_one_retires_then_goes() {
        let old = ed(0, 0);
        let new = ed(1000, 1100);
        let set = KeySet::new(vec![new.clone(), old.clone()], 500);
        // Before the new key activates, the old one alone signs; both are published.
        assert_eq!(set.active(Alg::EdDsa, 1050).unwrap().kid, old.kid);
        assert_eq!(set.state(&new, 1050), KeyState::Published);
        assert_eq!(set.state(&old, 1050), KeyState::Active);
        assert_eq!(set.retires_at(&old, 1050), None);
        assert!(set.verifying(Alg::EdDsa, &new.kid, 1050).is_some());
        // After: the new one signs, the old one verifies until the window has passed.
        assert_eq!(set.active(Alg::EdDsa, 1100).unwrap().kid, new.kid);
        assert_eq!(set.state(&old, 1100), KeyState::Retiring);
        assert_eq!(set.retires_at(&old, 1100), Some(1600));
        assert!(set.verifying(Alg::EdDsa, &old.kid, 1599).is_some());
        assert_eq!(set.jwks(1599)["keys"].as_array().unwrap().len(), 2);
        assert_eq!(set.jwks(1599)["keys"][0]["kid"], &*new.kid);
        // Then it is gone: not verifying, not listed, not published.
        assert!(set.verifying(Alg::EdDsa, &old.kid, 1600).is_none());
        assert_eq!(set.expired(1600), vec![old.kid.to_string()]);
        assert_eq!(set.views(1600).len(), 1);
        assert_eq!(set.jwks(1600)["keys"].as_array().unwrap().len(), 1);
        // And a key of the other algorithm is never the answer for this one.
        assert!(set.verifying(Alg::Rs256, &new.kid, 1600).is_none());
        assert!(set.active(Alg::Rs256, 1600).is_none());
    }

    #[test]
    fn keys_that_activate_at_the_same_moment_agree_on_one_signer_in_any_order() {
        let a = ed(10, 10);
        let b = ed(10, 10);
        let one = KeySet::new(vec![a.clone(), b.clone()], 60);
        let other = KeySet::new(vec![b.clone(), a.clone()], 60);
        let signer = one.active(Alg::EdDsa, 10).unwrap().kid.clone();
        assert_eq!(other.active(Alg::EdDsa, 10).unwrap().kid, signer);
        let loser = if signer == a.kid { &b } else { &a };
        assert_eq!(one.state(loser, 10), KeyState::Retiring);
    }
}
