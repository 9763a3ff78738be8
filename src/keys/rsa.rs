//! The RSA signing key beside the Ed25519 one: for the ID and logout tokens of OpenID Connect
//! clients registered with RS256, which is all many relying parties can check (PROTOCOLS §1,
//! "Keys"). A 2048-bit key is made on first start; an operator may put a 2048- to 4096-bit key
//! of their own in its place (PKCS#8 DER, 0600).

use std::path::Path;

use anyhow::Context;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};

pub const KEY_FILE: &str = "signing-rsa.pk8";

const BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

pub struct RsaSigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl RsaSigningKey {
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        crate::datadir::ensure_private_dir(data_dir)?;
        let path = data_dir.join(KEY_FILE);
        let pkcs8 = super::read_or_create(&path, "RSA signing key", super::new_rsa_pkcs8)?;
        Self::from_pkcs8(&pkcs8)
            .with_context(|| format!("bad RSA signing key in {}", path.display()))
    }

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
        let rsa_private_key =
            rsa_private_key(pkcs8).ok_or_else(|| anyhow::anyhow!("not a PKCS#8 PrivateKeyInfo"))?;
        Ok(RsaSigningKey {
            kid: hex::encode(&Sha256::digest(spki.as_ref())[..8]),
            encoding: EncodingKey::from_rsa_der(rsa_private_key),
            decoding: DecodingKey::from_rsa_raw_components(&modulus, &exponent),
            modulus,
            exponent,
        })
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

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (RFC 5208: a SEQUENCE of the
/// version, the algorithm and an OCTET STRING holding the key), which is the form jsonwebtoken
/// signs with. `None` for anything else.
fn rsa_private_key(pkcs8: &[u8]) -> Option<&[u8]> {
    let (tag, info, _) = der_item(pkcs8)?;
    if tag != 0x30 {
        return None;
    }
    let (version, _, rest) = der_item(info)?;
    let (algorithm, _, rest) = der_item(rest)?;
    let (octets, key, _) = der_item(rest)?;
    (version == 0x02 && algorithm == 0x30 && octets == 0x04).then_some(key)
}

/// One DER item: its tag, its contents and what follows it.
fn der_item(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let len = bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b));
        (len, rest)
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::KeySize;
    use jsonwebtoken::{Algorithm, Header, Validation};

    #[test]
    fn the_key_signs_what_its_jwk_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let a = RsaSigningKey::load_or_create(dir.path()).unwrap();
        let claims = serde_json::json!({ "sub": "u", "exp": 4_000_000_000u64 });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(a.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &a.encoding).unwrap();
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

    #[test]
    fn truncated_or_oversized_der_lengths_are_not_read_past_the_input() {
        assert_eq!(der_item(&[0x30]), None);
        assert_eq!(der_item(&[0x30, 0x05, 1, 2]), None);
        assert_eq!(der_item(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(
            der_item(&[0x04, 0x81, 0x01, 9, 7]),
            Some((0x04, &[9][..], &[7][..]))
        );
        assert_eq!(rsa_private_key(&[0x30, 0x00]), None);
    }
}
