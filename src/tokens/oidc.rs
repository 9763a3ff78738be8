//! Tokens signed in an OpenID Connect client's registered algorithm (PROTOCOLS §1 "Keys",
//! §3.4): ID tokens and that client's logout tokens. Access tokens stay EdDSA.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};

use super::{ClientAlg, TokenService};
use crate::error::{ApiError, ApiResult};
use crate::keys::Key;

impl ClientAlg {
    /// `at_hash` (OpenID Connect Core §3.1.3.6): the left half of the hash of the access
    /// token's ASCII, base64url. The hash is the one the signature uses: SHA-256 for RS256,
    /// SHA-512 for EdDSA (Ed25519), as authlib and the OpenID Foundation's guide compute it.
    pub fn at_hash(self, access_token: &str) -> String {
        let digest = match self {
            ClientAlg::Rs256 => Sha256::digest(access_token.as_bytes()).to_vec(),
            ClientAlg::EdDsa => Sha512::digest(access_token.as_bytes()).to_vec(),
        };
        URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
    }
}

impl TokenService {
    /// Signs `claims` for a client registered with `alg`, under that key's `kid`.
    pub fn sign_for<T: Serialize>(
        &self,
        alg: ClientAlg,
        claims: &T,
        typ: &str,
    ) -> ApiResult<String> {
        let key = self.active(alg)?;
        sign_with(&key, claims, typ)
    }
}

/// A JWS of `claims` signed with `key`, under its `alg` and `kid`.
pub(super) fn sign_with<T: Serialize>(key: &Key, claims: &T, typ: &str) -> ApiResult<String> {
    jws(key.alg.as_str(), &key.kid, typ, claims, |input| {
        key.sign(input)
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
}

/// A compact JWS (RFC 7515 §7.1) built by hand: the keys stay parsed, where jsonwebtoken
/// would parse the private key again for every token.
pub(super) fn jws<T: Serialize>(
    alg: &str,
    kid: &str,
    typ: &str,
    claims: &T,
    sign: impl FnOnce(&[u8]) -> ApiResult<Vec<u8>>,
) -> ApiResult<String> {
    let header = serde_json::json!({ "alg": alg, "kid": kid, "typ": typ });
    let json = |value: Result<Vec<u8>, serde_json::Error>| {
        value
            .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
            .map_err(|e| ApiError::Internal(format!("signing failed: {e}")))
    };
    let signing_input = format!(
        "{}.{}",
        json(serde_json::to_vec(&header))?,
        json(serde_json::to_vec(claims))?
    );
    let signature = sign(signing_input.as_bytes())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// What an `id_token_hint` tells (OpenID Connect Core §3.1.2.1, RP-Initiated Logout §2).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct IdTokenHint {
    pub sub: String,
    pub aud: String,
    pub sid: Option<String>,
}

impl TokenService {
    /// An ID token we signed (either key, as its header says), with our `iss`; its `exp` is not
    /// judged (a logout hint is often expired). Only an ID token: it carries `auth_time`,
    /// which no access or logout token has.
    pub fn decode_id_token(&self, token: &str) -> ApiResult<IdTokenHint> {
        if token.len() > 8192 {
            return Err(ApiError::TokenInvalid);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| ApiError::TokenInvalid)?;
        let alg = match header.alg {
            Algorithm::RS256 => ClientAlg::Rs256,
            Algorithm::EdDSA => ClientAlg::EdDsa,
            _ => return Err(ApiError::TokenInvalid),
        };
        let kid = header.kid.as_deref().ok_or(ApiError::TokenInvalid)?;
        let key = self.verifying(alg, Some(kid))?;
        if header.jwk.is_some()
            || header.jku.is_some()
            || header.x5u.is_some()
            || header
                .typ
                .as_deref()
                .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
        {
            return Err(ApiError::TokenInvalid);
        }
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_issuer(&[self.issuer()]);
        validation.required_spec_claims = ["iss", "sub", "aud"].map(str::to_owned).into();
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, key.decoding(), &validation)
            .map_err(|_| ApiError::TokenInvalid)?
            .claims;
        if claims.get("auth_time").is_none() {
            return Err(ApiError::TokenInvalid);
        }
        serde_json::from_value(claims).map_err(|_| ApiError::TokenInvalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn at_hash_matches_published_values() {
        // Ping Identity's worked RS256 example.
        assert_eq!(
            ClientAlg::Rs256.at_hash("dNZX1hEZ9wBCzNL40Upu646bdzQA"),
            "wfgvmE9VxjAudsl9lc6TqA"
        );
        // oidc-token-hash's README (the library openid-client checks with): SHA-256, SHA-512.
        let token = "YmJiZTAwYmYtMzgyOC00NzhkLTkyOTItNjJjNDM3MGYzOWIy9sFhvH8K_x8UIHj1osisS57f5DduL-ar_qw5jl3lthwpMjm283aVMQXDmoqqqydDSqJfbhptzw8rUVwkuQbolw";
        assert_eq!(ClientAlg::Rs256.at_hash(token), "x7vk7f6BvQj0jQHYFIk4ag");
        assert_eq!(
            ClientAlg::EdDsa.at_hash(token),
            "EGEAhGYyfuwDaVTifvrWSoD5MSy_5hZPy6I7Vm-7pTQ"
        );
    }

    #[test]
    fn algorithm_names_are_taken_only_as_jwa_spells_them() {
        for alg in ClientAlg::ALL {
            assert_eq!(ClientAlg::parse(alg.as_str()), Some(alg));
        }
        for other in ["rs256", "RS512", "HS256", "none", "ES256", ""] {
            assert_eq!(ClientAlg::parse(other), None, "{other}");
        }
    }

    #[test]
    fn a_token_for_a_client_verifies_with_the_published_key_of_its_algorithm_only() {
        let tokens =
            TokenService::new(crate::keys::test_handle(), "http://sso.test".into(), 60, 30);
        let jwks: JwkSet = serde_json::from_value(tokens.jwks()).unwrap();
        let claims =
            serde_json::json!({ "iss": "http://sso.test", "sub": "u", "exp": 4_000_000_000u64 });
        for (alg, jwa) in [
            (ClientAlg::Rs256, Algorithm::RS256),
            (ClientAlg::EdDsa, Algorithm::EdDSA),
        ] {
            let token = tokens.sign_for(alg, &claims, "JWT").unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!((header.alg, header.typ.as_deref()), (jwa, Some("JWT")));
            let kid = header.kid.expect("a kid");
            let key =
                DecodingKey::from_jwk(jwks.find(&kid).expect("the kid is published")).unwrap();
            jsonwebtoken::decode::<serde_json::Value>(&token, &key, &Validation::new(jwa)).unwrap();
            // The other key of the set does not verify it.
            let other = jwks
                .keys
                .iter()
                .find(|k| k.common.key_id.as_deref() != Some(&kid))
                .unwrap();
            let other = DecodingKey::from_jwk(other).unwrap();
            assert!(
                jsonwebtoken::decode::<serde_json::Value>(&token, &other, &Validation::new(jwa))
                    .is_err()
            );
        }
    }
}
