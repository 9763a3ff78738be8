//! The RSA signing key beside the Ed25519 one: for the ID and logout tokens of OpenID Connect
//! clients registered with RS256, which is all many relying parties can check (PROTOCOLS §1,
//! "Keys"). Gatehouse makes 2048-bit keys; an operator's own 2048- to 4096-bit key (PKCS#8
//! DER) in the data dir under `KEY_FILE` is imported when the database has no RSA key yet.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use sha2::{Digest, Sha256};

pub const KEY_FILE: &str = "signing-rsa.pk8";

const BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

pub struct RsaSigningKey {
    pub kid: String,
    /// Parsed once: jsonwebtoken's `EncodingKey` parses (and checks) the private key again at
    /// every signature, about four times the cost of the signature itself.
    pair: KeyPair,
    pub decoding: DecodingKey,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl RsaSigningKey {
    pub fn from_pkcs8(pkcs8: &[u8]) -> anyhow::Result<Self> {
        let pair = KeyPair::from_pkcs8(pkcs8)
            .map_err(|e| anyhow::anyhow!("not an RSA PKCS#8 key: {e}"))?;
        let bits = pair.public_modulus_len() * 8;
        anyhow::ensure!(
            BITS.contains(&bits),
            "an RSA key of {bits} bits; 2048 to 4096 are accepted"
        );
        let public = pair.public_key();
        let modulus = public.modulus().big_endian_without_leading_zero().to_vec();
        let exponent = public.exponent().big_endian_without_leading_zero().to_vec();
        let spki = public
            .as_der()
            .map_err(|_| anyhow::anyhow!("cannot encode the public key"))?;
        Ok(RsaSigningKey {
            kid: hex::encode(&Sha256::digest(spki.as_ref())[..8]),
            pair,
            decoding: DecodingKey::from_rsa_raw_components(&modulus, &exponent),
            modulus,
            exponent,
        })
    }

    /// An RSASSA-PKCS1-v1_5 SHA-256 signature of `message` (JWS `RS256`).
    pub fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
        Ok(signature)
    }

    /// The public key as a JWK (RFC 7517, RFC 7518 §6.3).
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(&self.modulus),
            "e": URL_SAFE_NO_PAD.encode(&self.exponent),
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::KeySize;
    use jsonwebtoken::{Algorithm, Validation};

    #[test]
    fn the_key_signs_what_its_jwk_verifies() {
        let a = RsaSigningKey::from_pkcs8(&super::super::new_rsa_pkcs8().unwrap()).unwrap();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"sub":"u","exp":4000000000}"#)
        );
        let signature = a.sign(signing_input.as_bytes()).unwrap();
        let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
        // Verified with nothing but the published JWK, as a relying party does.
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(a.jwk()).unwrap();
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let data = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &key,
            &Validation::new(Algorithm::RS256),
        )
        .unwrap();
        assert_eq!(data.claims["sub"], "u");
    }

    #[test]
    fn an_operator_key_of_4096_bits_is_taken_and_a_key_of_another_kind_is_not() {
        let big = KeyPair::generate(KeySize::Rsa4096).unwrap();
        let der = big.as_der().unwrap();
        assert!(RsaSigningKey::from_pkcs8(der.as_ref()).is_ok());
        let ed = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .unwrap();
        assert!(RsaSigningKey::from_pkcs8(ed.as_ref()).is_err());
        assert!(RsaSigningKey::from_pkcs8(b"not a key").is_err());
    }
}
