//! Key material: the token signing keys (Ed25519, and RSA for OpenID Connect clients that
//! need RS256), kept in the database and shared by every instance (`ring`), and the word-info
//! RSA keys kept in the data dir. A data-dir file is made on first start, owner-only (0600),
//! and never rewritten in place; the signing keys' files of earlier versions are imported once.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

mod policy;
mod ring;
mod rsa;
mod seal;
mod set;
mod signing;
mod word_info;

pub use policy::KeyPolicy;
#[cfg(test)]
pub use ring::test_handle;
pub use ring::{KeyHandle, Keyring, RETIRE_SLACK_SECS, now_ms};
pub use rsa::RsaSigningKey;
pub use seal::Seal;
pub use set::{Alg, Key, KeySet, KeyState, KeyView};
pub use signing::SigningKey;
pub use word_info::WordInfoKeys;

/// The key file's bytes, made by `create` (and written owner-only) when there is none yet.
fn read_or_create(
    path: &Path,
    what: &str,
    create: impl FnOnce() -> anyhow::Result<Vec<u8>>,
) -> anyhow::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = create()?;
            write_private(path, &bytes)?;
            tracing::info!(path = %path.display(), "generated a new {what}");
            Ok(bytes)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// A new 2048-bit RSA key as PKCS#8 DER: the word-info key and the RSA signing key alike.
fn new_rsa_pkcs8() -> anyhow::Result<Vec<u8>> {
    use aws_lc_rs::encoding::AsDer;
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
    let der = key
        .as_der()
        .map_err(|_| anyhow::anyhow!("cannot encode the RSA key"))?;
    Ok(der.as_ref().to_vec())
}

/// Writes a secret file readable by the owner only, never leaving a world-readable window.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_info_key_is_made_once_and_kept_owner_only() {
        let dir = tempfile::tempdir().expect("a temporary dir");
        let overlap = std::time::Duration::from_secs(60);
        let first = WordInfoKeys::load_or_create(dir.path(), overlap).expect("made");
        let again = WordInfoKeys::load_or_create(dir.path(), overlap).expect("read back");
        assert_eq!(first.kid(), again.kid(), "the key was made again");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(dir.path().join(word_info::CURRENT)).expect("the file");
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
    }
}
