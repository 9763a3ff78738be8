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
        "How the browser brings the login back: `token` (the default), `ticket`, `oidc` \
         (an OpenID Connect relying party) or `cas` (a CAS 3.0 service, no secret).",
    )
}

/// Exact URLs (OpenID Connect redirect and post-logout redirect URIs): already canonical, so
/// only lower-case hosts, an explicit path and no default port.
pub fn exact_urls() -> Schema {
    let label = r"(?!xn--)[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?";
    let top = r"(?!xn--)[a-z](?:[a-z0-9-]{0,20}[a-z0-9])?";
    let segment = r"(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*)?";
    let uri =
        format!(r"https://(?:{label}\.){{0,4}}{top}(?:/{segment}){{1,6}}(?:\?[A-Za-z0-9._~=&-]*)?");
    from_json(json!({
        "description": "OpenID Connect partners: exact URLs, compared byte for byte (https, or \
            http on a loopback host; query allowed; no fragment, user-info or `*`; written as \
            the server's URL parser writes them). A JSON array (at most 20), or one string with \
            a URL per line. Other modes: absent or empty.",
        "anyOf": [
            { "type": "array", "maxItems": 20, "items": { "type": "string", "pattern": format!("^{uri}$") } },
            { "type": "string", "pattern": format!(r"^(?:{uri}(?:\n{uri}){{0,19}})?$") },
            { "type": "null" },
        ],
    }))
}

pub fn auth_method_opt() -> Schema {
    choice_opt(
        &crate::partners::AuthMethod::ALL.map(crate::partners::AuthMethod::as_str),
        "OpenID Connect partners: how they authenticate at the token endpoint (default \
         `client_secret_basic`; `none` is a public client without a secret, PKCE required).",
    )
}

pub fn alg_opt() -> Schema {
    choice_opt(
        &crate::tokens::ClientAlg::ALL.map(crate::tokens::ClientAlg::as_str),
        "OpenID Connect partners: the ID and logout tokens' algorithm (default `RS256`).",
    )
}

pub fn key_alg_opt() -> Schema {
    choice_opt(
        &crate::keys::Alg::ALL.map(crate::keys::Alg::as_str),
        "The new signing key's algorithm (default `EdDSA`).",
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
