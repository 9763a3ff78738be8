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
