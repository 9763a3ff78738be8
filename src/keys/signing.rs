//! An Ed25519 token signing key (JWS `EdDSA`). Earlier versions kept it in the data dir under
//! `KEY_FILE`; that file is imported into the database once (see `ring`).

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use sha2::{Digest, Sha256};

pub(super) const KEY_FILE: &str = "signing-ed25519.pk8";

pub struct SigningKey {
    pub kid: String,
    /// Parsed once: jsonwebtoken's `EncodingKey` parses the PKCS#8 document again at every
    /// signature, which costs as much as the signature.
    pair: Ed25519KeyPair,
    pub decoding: DecodingKey,
    public_raw: Vec<u8>,
}

impl SigningKey {
    pub fn from_pkcs8(pkcs8: &[u8]) -> anyhow::Result<Self> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8))
            .map_err(|e| anyhow::anyhow!("not an Ed25519 PKCS#8 key: {e}"))?;
        let public_raw = pair.public_key().as_ref().to_vec();
        let kid = hex::encode(&Sha256::digest(&public_raw)[..8]);
        Ok(SigningKey {
            kid,
            pair,
            decoding: DecodingKey::from_ed_der(&public_raw),
            public_raw,
        })
    }

    /// An Ed25519 signature of `message` (JWS `EdDSA`, RFC 8037).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }

    /// The public key as a JWK (RFC 8037).
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(&self.public_raw),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }
}

pub(super) fn create() -> anyhow::Result<Vec<u8>> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let doc = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|e| anyhow::anyhow!("key generation failed: {e}"))?;
    Ok(doc.as_ref().to_vec())
}
