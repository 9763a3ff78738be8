//! How the keyring is set up, from the settings.

use super::seal::Seal;
use crate::config::Settings;

pub struct KeyPolicy {
    pub publish_secs: i64,
    /// How long a replaced key keeps verifying (see `KeySet`).
    pub window_secs: i64,
    pub seal: Seal,
}

impl KeyPolicy {
    /// The settings' policy, warning about the ones that weaken it.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let seal = Seal::from_settings(
            settings.key_encryption_key.as_ref().map(|k| k.expose()),
            settings.key_encryption_key_file.as_deref(),
        )?;
        if !seal.is_on() {
            tracing::warn!(
                "no GATEHOUSE_KEY_ENCRYPTION_KEY: signing keys are stored unencrypted in the \
                 database, readable by anyone who can read it or its backups"
            );
        }
        if (1..300).contains(&settings.key_publish_secs) {
            tracing::warn!(
                "GATEHOUSE_KEY_PUBLISH_SECS is under the JWK Set's max-age (300 s): partners \
                 that cache it may meet tokens of a key they have not fetched yet"
            );
        }
        Ok(KeyPolicy {
            publish_secs: i64::try_from(settings.key_publish_secs)?,
            window_secs: settings.key_verify_window_secs(),
            seal,
        })
    }
}
