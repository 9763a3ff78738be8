//! The seeds' `number`: a phone number or an e-mail address.

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Number {
    /// Canonical form: bare 11 digits for mainland China (`+86` dropped), else `+` and digits.
    Phone(String),
    /// Lower-cased.
    Email(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("not a phone number or e-mail address")]
    Invalid,
}

fn is_mainland_mobile(digits: &str) -> bool {
    digits.len() == 11
        && digits.starts_with('1')
        && digits.as_bytes()[1].is_ascii_digit()
        && (b'3'..=b'9').contains(&digits.as_bytes()[1])
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Mainland mobiles stay bare 11 digits (what Chinese integrators expect); any other number
/// must carry `+` and its country code and be valid per libphonenumber's metadata, and is kept
/// in E.164.
fn parse_phone(raw: &str) -> Option<String> {
    if let Some(rest) = raw.strip_prefix('+') {
        if !(8..=15).contains(&rest.len()) || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if let Some(cn) = rest.strip_prefix("86") {
            return is_mainland_mobile(cn).then(|| cn.to_owned());
        }
        let parsed = phonenumber::parse(None, raw).ok()?;
        if !phonenumber::is_valid(&parsed) {
            return None;
        }
        return Some(parsed.format().mode(phonenumber::Mode::E164).to_string());
    }
    is_mainland_mobile(raw).then(|| raw.to_owned())
}

/// A stored phone in E.164 (OpenID Connect's `phone_number`): bare mainland mobiles get
/// their `+86`.
pub fn e164(stored: &str) -> String {
    match stored.starts_with('+') {
        true => stored.to_owned(),
        false => format!("+86{stored}"),
    }
}

fn parse_email(raw: &str) -> Option<String> {
    if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = raw.rsplit_once('@')?;
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return None;
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    (local_ok && domain_ok).then(|| raw.to_lowercase())
}

/// What a request field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    PhoneOrEmail,
    Phone,
    Email,
}

impl Expect {
    fn problem(self) -> &'static str {
        match self {
            Expect::PhoneOrEmail => "not a phone number or e-mail address",
            Expect::Phone => "not a phone number",
            Expect::Email => "not an e-mail address",
        }
    }
}

impl Number {
    /// A request field's value, or `invalid_params` naming the field.
    pub fn from_field(field: &str, raw: &str, expect: Expect) -> ApiResult<Self> {
        match (Number::parse(raw), expect) {
            (Ok(n), Expect::PhoneOrEmail)
            | (Ok(n @ Number::Phone(_)), Expect::Phone)
            | (Ok(n @ Number::Email(_)), Expect::Email) => Ok(n),
            _ => Err(ApiError::field(field, expect.problem())),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, NumberError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 254 {
            return Err(NumberError::Invalid);
        }
        if raw.contains('@') {
            return parse_email(raw)
                .map(Number::Email)
                .ok_or(NumberError::Invalid);
        }
        parse_phone(raw)
            .map(Number::Phone)
            .ok_or(NumberError::Invalid)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Number::Phone(p) | Number::Email(p) => p,
        }
    }

    pub fn is_email(&self) -> bool {
        matches!(self, Number::Email(_))
    }

    /// A log-safe rendering: enough to correlate, not enough to identify.
    pub fn masked(&self) -> String {
        match self {
            Number::Phone(p) => {
                let keep = p.len().saturating_sub(4);
                format!("{}****", &p[..keep.min(p.len()).min(3)])
            }
            Number::Email(e) => match e.split_once('@') {
                Some((l, d)) => format!("{}***@{d}", l.chars().next().unwrap_or('*')),
                None => "***".into(),
            },
        }
    }
}

display_as_str!(Number);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainland_numbers_with_and_without_country_code_are_equal() {
        assert_eq!(
            Number::parse("13800138000").unwrap(),
            Number::parse("+8613800138000").unwrap()
        );
    }

    #[test]
    fn emails_compare_lower_cased() {
        assert_eq!(
            Number::parse("Alice@Example.COM").unwrap(),
            Number::Email("alice@example.com".into())
        );
    }

    #[test]
    fn international_phones_keep_their_plus() {
        assert_eq!(
            Number::parse("+447911123456").unwrap(),
            Number::Phone("+447911123456".into())
        );
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "abc",
            "123",
            "12345678901",
            "+86123",
            "a@b",
            "@x.com",
            "a@@x.com",
            "a b@x.com",
            "+",
            "1380013800x",
            "a@-x.com",
            "a..b@x.com",
        ] {
            assert!(Number::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Number::parse(&"1".repeat(300)).is_err());
    }

    #[test]
    fn masking_hides_most_digits() {
        let m = Number::parse("13800138000").unwrap().masked();
        assert!(!m.contains("0138000"));
    }
}
