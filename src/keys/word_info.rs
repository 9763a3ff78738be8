//! `word-info`: the password RSA-OAEP-encrypted (SHA-256, MGF1-SHA-256, no label) under our
//! public key, then base64 — what WebCrypto, Java and iOS produce for "RSA-OAEP-256".
//!
//! The 2048-bit key is generated on first start and kept in the data dir (0600). Rotation
//! (`gatehouse keys rotate-word-info`) keeps the previous key decrypting for
//! `GATEHOUSE_WORD_INFO_OVERLAP_SECS`, so apps holding the old public key keep working.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

pub(super) const CURRENT: &str = "word-info-rsa.pk8";
const PREVIOUS: &str = "word-info-rsa.previous.pk8";

struct Key {
    kid: String,
    pem: String,
    oaep: OaepPrivateDecryptingKey,
}

pub struct WordInfoKeys {
    current: Key,
    previous: Option<Key>,
}

fn load(pkcs8: &[u8]) -> anyhow::Result<Key> {
    let private = PrivateDecryptingKey::from_pkcs8(pkcs8).map_err(|e| anyhow::anyhow!("{e}"))?;
    let spki = private
        .public_key()
        .as_der()
        .map_err(|_| anyhow::anyhow!("cannot encode the public key"))?;
    let kid = hex::encode(&Sha256::digest(spki.as_ref())[..8]);
    let body = STANDARD.encode(spki.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    let oaep =
        OaepPrivateDecryptingKey::new(private).map_err(|_| anyhow::anyhow!("not an RSA key"))?;
    Ok(Key { kid, pem, oaep })
}

impl WordInfoKeys {
    /// Loads the current key (creating it on first start) and a previous one still inside its
    /// overlap window.
    pub fn load_or_create(data_dir: &Path, overlap: Duration) -> anyhow::Result<Self> {
        crate::datadir::ensure_private_dir(data_dir)?;
        let path = data_dir.join(CURRENT);
        let der = super::read_or_create(&path, "word-info key", super::new_rsa_pkcs8)?;
        let current =
            load(&der).with_context(|| format!("bad word-info key in {}", path.display()))?;
        let previous_path = data_dir.join(PREVIOUS);
        let previous = match std::fs::metadata(&previous_path) {
            Ok(meta) => {
                // The file's modification time is when it was rotated out.
                let retired = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                let age = SystemTime::now()
                    .duration_since(retired)
                    .unwrap_or_default();
                if age < overlap {
                    Some(load(&std::fs::read(&previous_path)?)?)
                } else {
                    None
                }
            }
            Err(_) => None,
        };
        Ok(WordInfoKeys { current, previous })
    }

    /// Rotates: the current key becomes the previous one and a new key is made. Running
    /// instances pick it up at their next start.
    pub fn rotate(data_dir: &Path) -> anyhow::Result<String> {
        let current = data_dir.join(CURRENT);
        let previous: PathBuf = data_dir.join(PREVIOUS);
        if current.exists() {
            std::fs::rename(&current, &previous)?;
            // Mark the rotation time for the overlap window.
            let file = std::fs::OpenOptions::new().append(true).open(&previous)?;
            file.set_modified(SystemTime::now())?;
        }
        let der = super::read_or_create(&current, "word-info key", super::new_rsa_pkcs8)?;
        Ok(load(&der)?.kid)
    }

    pub fn kid(&self) -> &str {
        &self.current.kid
    }

    pub fn pem(&self) -> &str {
        &self.current.pem
    }

    /// Decodes and decrypts a `word-info` value; anything that does not yield a UTF-8 password
    /// under one of our keys is `word_info_invalid`.
    pub fn decrypt(&self, header: &str) -> ApiResult<String> {
        let raw = header.trim();
        if raw.is_empty() || raw.len() > 4096 {
            return Err(ApiError::WordInfoInvalid);
        }
        let ciphertext = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(raw).ok())
            .ok_or(ApiError::WordInfoInvalid)?;
        let keys = std::iter::once(&self.current).chain(self.previous.iter());
        for key in keys {
            let mut out = vec![0u8; key.oaep.min_output_size()];
            if let Ok(plain) =
                key.oaep
                    .decrypt(&OAEP_SHA256_MGF1SHA256, &ciphertext, &mut out, None)
            {
                return String::from_utf8(plain.to_vec()).map_err(|_| ApiError::WordInfoInvalid);
            }
        }
        Err(ApiError::WordInfoInvalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::OaepPublicEncryptingKey;

    fn encrypt(keys: &WordInfoKeys, dir: &Path, name: &str, text: &str) -> String {
        let der = std::fs::read(dir.join(name)).unwrap();
        let private = PrivateDecryptingKey::from_pkcs8(&der).unwrap();
        let public = OaepPublicEncryptingKey::new(private.public_key()).unwrap();
        let mut out = vec![0u8; public.ciphertext_size()];
        let c = public
            .encrypt(&OAEP_SHA256_MGF1SHA256, text.as_bytes(), &mut out, None)
            .unwrap();
        let _ = keys;
        STANDARD.encode(c)
    }

    #[test]
    fn round_trip_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let keys = WordInfoKeys::load_or_create(dir.path(), Duration::from_secs(60)).unwrap();
        assert!(keys.pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let wi = encrypt(&keys, dir.path(), CURRENT, "Correct-Horse-42");
        assert_eq!(keys.decrypt(&wi).unwrap(), "Correct-Horse-42");
        for bad in ["", "not base64!", "AAAA", &wi[..wi.len() / 2]] {
            assert!(
                matches!(keys.decrypt(bad), Err(ApiError::WordInfoInvalid)),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_previous_key_decrypts_during_the_overlap_only() {
        let dir = tempfile::tempdir().unwrap();
        let old = WordInfoKeys::load_or_create(dir.path(), Duration::from_secs(60)).unwrap();
        let wi = encrypt(&old, dir.path(), CURRENT, "Correct-Horse-42");
        let new_kid = WordInfoKeys::rotate(dir.path()).unwrap();
        assert_ne!(new_kid, old.kid());
        let within = WordInfoKeys::load_or_create(dir.path(), Duration::from_secs(60)).unwrap();
        assert_eq!(within.kid(), new_kid);
        assert_eq!(within.decrypt(&wi).unwrap(), "Correct-Horse-42");
        let after = WordInfoKeys::load_or_create(dir.path(), Duration::ZERO).unwrap();
        assert!(after.decrypt(&wi).is_err());
    }
}
