//! Per-terminal policy: on a terminal listed in `GATEHOUSE_SINGLE_SESSION_TERMINALS`, a new
//! session replaces the person's other sessions there (a second phone signs the first out).

use crate::config::Settings;

/// Whether a session started on `terminal` ends the user's other sessions on it.
pub(super) fn replaces_others(settings: &Settings, terminal: &str) -> bool {
    settings
        .single_session_terminals
        .iter()
        .any(|t| t.as_str().eq_ignore_ascii_case(terminal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Terminal;

    #[test]
    fn only_listed_terminals_replace_and_in_any_letter_case() {
        let mut settings = Settings::default();
        assert!(!replaces_others(&settings, "mobile"));
        settings.single_session_terminals = vec![Terminal::Mobile, Terminal::App];
        assert!(replaces_others(&settings, "mobile"));
        assert!(replaces_others(&settings, "MOBILE"));
        assert!(replaces_others(&settings, "App"));
        assert!(!replaces_others(&settings, "pc"));
    }
}
