//! Schemas of the operators' parameters: partner systems and user management.

use super::*;

/// Callback rules: a JSON array, or one string with one rule per line (or comma-separated),
/// which is how a form sends them.
pub fn callbacks() -> Schema {
    let rule = url(false, true);
    let sep = r"[ \t\r\n,]";
    from_json(json!({
        "description": "Callback rules: exact URLs, or URLs ending in `/*` for a path prefix; \
            no query or fragment. A JSON array, or one string with a rule per line (or \
            comma-separated).",
        "anyOf": [
            {
                "type": "array",
                "minItems": 1,
                "items": { "type": "string", "pattern": format!("^{rule}$") },
            },
            {
                "type": "string",
                "pattern": format!("^{sep}*{rule}(?:[ \\t\\r]*[\\n,]{sep}*{rule})*{sep}*$"),
            },
        ],
    }))
}

/// A partner's name: 1 to 100 characters once surrounding white space is trimmed.
pub fn client_name() -> Schema {
    from_json(json!({
        "type": "string",
        "maxLength": 100,
        "pattern": format!(r"^[^\x00]*[^\x00{WHITE_SPACE}][^\x00]*$"),
        "description": "1 to 100 characters, not only white space.",
    }))
}

pub fn mode_opt() -> Schema {
    choice_opt(
        &crate::partners::ClientMode::NAMES,
        "How the browser brings the login back: `token` (the default) or `ticket`.",
    )
}

/// A flag that a form can send too: a boolean, or `"true"` / `"false"`.
pub fn flag_opt() -> Schema {
    from_json(json!({
        "type": ["boolean", "string", "null"],
        "enum": [true, false, "true", "false", "", null],
        "description": "Defaults to true; forms send `true` or `false`.",
    }))
}

pub fn status_opt() -> Schema {
    use crate::accounts::model::{STATUS_ACTIVE, STATUS_DISABLED};
    choice_opt(
        &[STATUS_ACTIVE, STATUS_DISABLED],
        "`disabled` ends every session of the account (single logout runs).",
    )
}

pub fn role_opt() -> Schema {
    use crate::accounts::model::{ROLE_ADMIN, ROLE_USER};
    choice_opt(&[ROLE_USER, ROLE_ADMIN], "")
}

/// A page number as the operator lists take it (from 1).
pub fn page() -> Schema {
    from_json(
        json!({ "type": "integer", "minimum": 1, "maximum": 1_000_000, "description": "From 1 (default 1)." }),
    )
}

pub fn limit() -> Schema {
    from_json(
        json!({ "type": "integer", "minimum": 1, "maximum": 100, "description": "1 to 100 (default 20)." }),
    )
}
