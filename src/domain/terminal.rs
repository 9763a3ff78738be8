//! The kinds of terminal a session can be started from (the `terminal` header of the seeds).

use std::str::FromStr;

/// A terminal, parsed once (in any letter case) wherever one comes in: a request's header or
/// parameter, or `GATEHOUSE_SINGLE_SESSION_TERMINALS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Terminal {
    Management,
    Pc,
    Mobile,
    App,
    Wechat,
}

/// Every terminal, lower-case, as clients send them.
pub const TERMINALS: &[&str] = &["management", "pc", "mobile", "app", "wechat"];

impl Terminal {
    pub const ALL: [Terminal; 5] = [
        Terminal::Management,
        Terminal::Pc,
        Terminal::Mobile,
        Terminal::App,
        Terminal::Wechat,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Terminal::Management => "management",
            Terminal::Pc => "pc",
            Terminal::Mobile => "mobile",
            Terminal::App => "app",
            Terminal::Wechat => "wechat",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not one of management, pc, mobile, app, wechat")]
pub struct UnknownTerminal(pub String);

impl FromStr for Terminal {
    type Err = UnknownTerminal;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Terminal::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownTerminal(s.to_owned()))
    }
}

display_as_str!(Terminal);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_terminal_parses_from_its_name_in_any_case() {
        assert_eq!(Terminal::ALL.len(), TERMINALS.len());
        for (t, name) in Terminal::ALL.into_iter().zip(TERMINALS) {
            assert_eq!(t.as_str(), *name);
            assert_eq!(name.parse::<Terminal>(), Ok(t));
            assert_eq!(name.to_ascii_uppercase().parse::<Terminal>(), Ok(t));
        }
        assert!("".parse::<Terminal>().is_err());
        assert!("tv".parse::<Terminal>().is_err());
    }
}
