//! Signing keys at rest: sealed with AES-256-GCM under the operator's key-encryption key
//! (GATEHOUSE_KEY_ENCRYPTION_KEY or GATEHOUSE_KEY_ENCRYPTION_KEY_FILE), or stored as plain
//! base64 when none is given. The key's `kid` is the associated data, so a sealed key copied
//! onto another row does not open.

use std::path::Path;

use anyhow::Context;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

const SEALED: &str = "sealed:";

pub struct Seal(Option<LessSafeKey>);

impl Seal {
    /// No key-encryption key: keys are stored as they are.
    pub fn none() -> Self {
        Seal(None)
    }

    /// The key from the setting (base64 of 32 bytes) or the file (32 raw bytes, or that base64
    /// text); not both.
    pub fn from_settings(value: Option<&str>, file: Option<&Path>) -> anyhow::Result<Self> {
        let bytes = match (value, file) {
            (None, None) => return Ok(Seal::none()),
            (Some(_), Some(_)) => anyhow::bail!(
                "set GATEHOUSE_KEY_ENCRYPTION_KEY or GATEHOUSE_KEY_ENCRYPTION_KEY_FILE, not both"
            ),
            (Some(text), None) => decode(text).context("GATEHOUSE_KEY_ENCRYPTION_KEY")?,
            (None, Some(path)) => {
                let raw = std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                if raw.len() == 32 {
                    raw
                } else {
                    let text = String::from_utf8(raw).unwrap_or_default();
                    decode(&text).with_context(|| format!("{}", path.display()))?
                }
            }
        };
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| anyhow::anyhow!("the key-encryption key must be 32 bytes"))?;
        Ok(Seal(Some(LessSafeKey::new(key))))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// How `pkcs8` is stored for `kid`.
    pub fn seal(&self, kid: &str, pkcs8: &[u8]) -> anyhow::Result<String> {
        let Some(key) = &self.0 else {
            return Ok(B64.encode(pkcs8));
        };
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| anyhow::anyhow!("no randomness"))?;
        let mut sealed = pkcs8.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(kid.as_bytes()),
            &mut sealed,
        )
        .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED}{}", B64.encode(out)))
    }

    /// The PKCS#8 document stored for `kid`. With a key-encryption key only a sealed row is
    /// taken: a plain one could have been written by anyone who can write the database.
    pub fn open(&self, kid: &str, stored: &str) -> anyhow::Result<Vec<u8>> {
        anyhow::ensure!(
            self.0.is_none() || Self::is_sealed(stored),
            "signing key {kid} is stored unsealed while a key-encryption key is set"
        );
        self.open_any(kid, stored)
    }

    /// [`Seal::open`], taking a plain row too: only to seal it (an earlier start's rows).
    pub fn open_any(&self, kid: &str, stored: &str) -> anyhow::Result<Vec<u8>> {
        let Some(sealed) = stored.strip_prefix(SEALED) else {
            return B64
                .decode(stored)
                .map_err(|_| anyhow::anyhow!("signing key {kid} is not base64"));
        };
        let key = self.0.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "signing key {kid} is sealed: set GATEHOUSE_KEY_ENCRYPTION_KEY (or _FILE) to \
                 the key-encryption key it was sealed with"
            )
        })?;
        let mut raw = B64
            .decode(sealed)
            .map_err(|_| anyhow::anyhow!("signing key {kid} is damaged"))?;
        anyhow::ensure!(raw.len() > NONCE_LEN, "signing key {kid} is damaged");
        let mut body = raw.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&raw)
            .map_err(|_| anyhow::anyhow!("signing key {kid} is damaged"))?;
        let plain = key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut body)
            .map_err(|_| {
                anyhow::anyhow!(
                    "signing key {kid} does not open with this key-encryption key (a wrong key, \
                     or a damaged row)"
                )
            })?;
        Ok(plain.to_vec())
    }

    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED)
    }
}

fn decode(text: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = B64
        .decode(text.trim())
        .map_err(|_| anyhow::anyhow!("not base64"))?;
    anyhow::ensure!(bytes.len() == 32, "must be base64 of 32 bytes");
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn a_sealed_key_opens_only_with_its_kek_and_its_kid() {
        let seal = Seal::from_settings(Some(KEK), None).unwrap();
        let stored = seal.seal("kid1", b"private bytes").unwrap();
        assert!(Seal::is_sealed(&stored));
        assert!(!stored.contains(&B64.encode(b"private bytes")));
        assert_eq!(seal.open("kid1", &stored).unwrap(), b"private bytes");
        assert!(seal.open("kid2", &stored).is_err(), "moved to another row");
        let other = Seal::from_settings(Some(&B64.encode([9u8; 32])), None).unwrap();
        assert!(other.open("kid1", &stored).is_err(), "another KEK");
        let err = Seal::none().open("kid1", &stored).unwrap_err().to_string();
        assert!(err.contains("GATEHOUSE_KEY_ENCRYPTION_KEY"), "{err}");
    }

    #[test]
    fn without_a_kek_keys_are_plain_and_a_bad_kek_is_refused() {
        let plain = Seal::none().seal("k", b"abc").unwrap();
        assert_eq!(Seal::none().open("k", &plain).unwrap(), b"abc");
        let kek = Seal::from_settings(Some(KEK), None).unwrap();
        assert!(
            kek.open("k", &plain).is_err(),
            "a plain row taken under a KEK"
        );
        assert_eq!(kek.open_any("k", &plain).unwrap(), b"abc");
        assert!(Seal::from_settings(Some("c2hvcnQ="), None).is_err());
        assert!(Seal::from_settings(Some(KEK), Some(Path::new("/x"))).is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kek");
        std::fs::write(&file, [7u8; 32]).unwrap();
        assert!(Seal::from_settings(None, Some(&file)).unwrap().is_on());
        std::fs::write(&file, format!("{KEK}\n")).unwrap();
        assert!(Seal::from_settings(None, Some(&file)).unwrap().is_on());
    }
}
