//! Usernames: 2 to 32 characters of letters (any script), digits, `_`, `-` and `.`; never
//! something that could be read as a phone number or e-mail address.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        let count = raw.chars().count();
        if !(2..=32).contains(&count) {
            return Err("2 to 32 characters");
        }
        if !raw
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err("letters, digits, _ - . only");
        }
        if raw.chars().all(|c| c.is_ascii_digit()) {
            return Err("may not be only digits");
        }
        Ok(Username(raw.to_owned()))
    }

    /// A fresh name for accounts created without one.
    pub fn generated() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Username(format!("user_{}", &id[..10]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn lower(&self) -> String {
        self.0.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_chinese_and_ascii_names() {
        assert!(Username::parse("张三").is_ok());
        assert!(Username::parse("alice_01").is_ok());
    }

    #[test]
    fn rejects_hostile_or_ambiguous_names() {
        for bad in [
            "a",
            "13800138000",
            "a@b.com",
            "x;DROP TABLE users",
            "<script>",
            "",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        assert!(Username::parse(&"a".repeat(33)).is_err());
    }
}
