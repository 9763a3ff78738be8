//! PKCE (RFC 7636) as PROTOCOLS §3.3 and §3.4 have it: a challenge is taken only with method
//! `S256` (an absent method means `plain`, which is refused), and a code is exchanged only with
//! the verifier whose SHA-256 it is.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Why an authorization request's PKCE parameters were refused (`invalid_request`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge_method must be S256")]
    NotS256,
    #[error("code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")]
    BadChallenge,
}

/// An `S256` code challenge from an authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, PkceError> {
        if method != Some("S256") {
            return Err(PkceError::NotS256);
        }
        if !unreserved_43_to_128(challenge) {
            return Err(PkceError::BadChallenge);
        }
        Ok(CodeChallenge(challenge.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` (RFC 7636 §4.1: 43 to 128 unreserved characters) is the one this
    /// challenge was made from, compared in constant time.
    pub fn is_met_by(&self, verifier: &str) -> bool {
        if !unreserved_43_to_128(verifier) {
            return false;
        }
        let made = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        aws_lc_rs::constant_time::verify_slices_are_equal(made.as_bytes(), self.0.as_bytes())
            .is_ok()
    }
}

fn unreserved_43_to_128(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifier_meets_its_challenge_and_nothing_else_does() {
        let challenge = CodeChallenge::parse(CHALLENGE, Some("S256")).unwrap();
        assert!(challenge.is_met_by(VERIFIER));
        let flipped = VERIFIER.replace('d', "e");
        for wrong in [flipped.as_str(), CHALLENGE, "", &VERIFIER[..42]] {
            assert!(!challenge.is_met_by(wrong), "{wrong}");
        }
        // Sent as `plain` would be: the challenge itself as verifier never passes.
        let plain_looking = CodeChallenge::parse(VERIFIER, Some("S256")).unwrap();
        assert!(!plain_looking.is_met_by(VERIFIER));
    }

    #[test]
    fn only_s256_and_well_formed_challenges_are_taken() {
        assert_eq!(
            CodeChallenge::parse(CHALLENGE, None),
            Err(PkceError::NotS256)
        );
        for method in ["plain", "s256", "S512", ""] {
            assert_eq!(
                CodeChallenge::parse(CHALLENGE, Some(method)),
                Err(PkceError::NotS256)
            );
        }
        let long = "a".repeat(129);
        for bad in [
            "short",
            long.as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=",
        ] {
            assert_eq!(
                CodeChallenge::parse(bad, Some("S256")),
                Err(PkceError::BadChallenge),
                "{bad}"
            );
        }
        assert!(CodeChallenge::parse(&"a".repeat(128), Some("S256")).is_ok());
    }
}
