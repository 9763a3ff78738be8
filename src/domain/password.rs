//! Password policy: 8 to 72 bytes (bcrypt's limit — longer is refused, never truncated), not a
//! common password, not the account's own phone, e-mail or username.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::error::ApiError;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../accounts/common_passwords.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
});

/// A password that satisfies the policy. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// `identities` are the account's phone, e-mail and username, which it may not equal.
    pub fn parse(raw: &str, identities: &[&str]) -> Result<Self, ApiError> {
        if raw.len() < 8 {
            return Err(ApiError::PasswordWeak("too short: at least 8 bytes"));
        }
        if raw.len() > 72 {
            return Err(ApiError::PasswordWeak("too long: at most 72 bytes"));
        }
        let lower = raw.to_lowercase();
        if COMMON.contains(lower.as_str()) {
            return Err(ApiError::PasswordWeak("too common"));
        }
        let equals_identity = identities.iter().any(|id| {
            let id = id.to_lowercase();
            !id.is_empty() && (id == lower || id.trim_start_matches("+86") == lower)
        });
        if equals_identity {
            return Err(ApiError::PasswordWeak("equals the account name"));
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Whether a presented password could be one we would ever have stored; longer ones are
/// answered as wrong without hashing (bcrypt would truncate them).
pub fn plausible(raw: &str) -> bool {
    !raw.is_empty() && raw.len() <= 72
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds_are_bytes() {
        assert!(Password::parse("short", &[]).is_err());
        assert!(Password::parse(&"x".repeat(73), &[]).is_err());
        assert!(Password::parse(&"Zq9#".repeat(18), &[]).is_ok());
        // 24 three-byte characters = 72 bytes: allowed; 25 = 75 bytes: refused.
        assert!(Password::parse(&"密".repeat(24), &[]).is_ok());
        assert!(Password::parse(&"密".repeat(25), &[]).is_err());
    }

    #[test]
    fn common_passwords_are_refused_case_insensitively() {
        assert!(Password::parse("password", &[]).is_err());
        assert!(Password::parse("PassWord123", &[]).is_err());
    }

    #[test]
    fn own_identity_is_refused() {
        assert!(Password::parse("13800138000", &["13800138000"]).is_err());
        assert!(Password::parse("bob@example.com", &["Bob@Example.com"]).is_err());
        assert!(Password::parse("Tr0ub4dor&3x", &["13800138000"]).is_ok());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::parse("Tr0ub4dor&3x", &[]).unwrap();
        assert!(!format!("{p:?}").contains("Tr0ub"));
    }
}
