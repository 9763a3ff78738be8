//! Key material kept in the data dir: the token signing keys (Ed25519, and RSA for OpenID
//! Connect clients that need RS256) and the word-info RSA keys.
//! Each file is made on first start, owner-only (0600), and never rewritten in place.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

mod rsa;
mod signing;
mod word_info;

pub use rsa::RsaSigningKey;
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

    /// `load` twice in one data dir gives the same key (`kid`), and its file `name` is
    /// owner-only.
    fn assert_made_once_owner_only<K>(
        name: &str,
        load: impl Fn(&Path) -> anyhow::Result<K>,
        kid: impl Fn(&K) -> String,
    ) {
        let dir = tempfile::tempdir().expect("a temporary dir");
        let first = load(dir.path()).expect("made");
        let again = load(dir.path()).expect("read back");
        assert_eq!(kid(&first), kid(&again), "{name} was made again");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(dir.path().join(name)).expect("the key file");
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
        }
    }

    #[test]
    fn each_signing_key_is_made_once_and_kept_owner_only() {
        assert_made_once_owner_only(signing::KEY_FILE, SigningKey::load_or_create, |k| {
            k.kid.clone()
        });
        assert_made_once_owner_only(rsa::KEY_FILE, RsaSigningKey::load_or_create, |k| {
            k.kid.clone()
        });
    }
}
