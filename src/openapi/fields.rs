//! Schemas of request parameters: the constraints the handlers enforce, written once and named
//! by the route annotations (`#[schema(schema_with = ...)]` on body fields, `params(...)`), so
//! that a request the document calls valid is one the code accepts, and the other way round.
//!
//! Conventions every schema here follows:
//! - The contract reads an empty parameter as an absent one, and JSON `null` too, so every
//!   optional field also admits `""` and `null`; a required one is a non-empty string.
//! - No text the server takes may hold a NUL character (`http::input` refuses it: PostgreSQL
//!   cannot store one), so free text carries the pattern [`NO_NUL`].
//! - Every schema names its `type` (utoipa's model needs one to read it back).
//! - Patterns are ECMA-262 as JSON Schema means them, each a strict subset of what the code
//!   accepts where the code's rule has no exact regular expression (international phone
//!   numbers, URLs): what the document generates always passes; the description says what
//!   else does.

use serde_json::{Value, json};
use utoipa::openapi::schema::Schema;

/// Free text: anything but NUL.
pub const NO_NUL: &str = r"^[^\x00]*$";
/// A mainland mobile, bare or with `+86`.
const PHONE: &str = r"(?:\+86)?1[3-9][0-9]{9}";
/// An ASCII dot-atom e-mail address: local part at most 64 characters, at least two domain
/// labels of letters, digits and inner hyphens.
const EMAIL: &str = r"(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const CODE: &str = "[0-9]{6}";
/// 2 to 32 letters (any script), digits, `_`, `-` and `.`, not only digits.
const USERNAME: &str = r"(?![0-9]+$)[\p{L}\p{N}_.-]{2,32}";
const TERMINAL: &str = "[Mm][Aa][Nn][Aa][Gg][Ee][Mm][Ee][Nn][Tt]|[Pp][Cc]|[Mm][Oo][Bb][Ii][Ll][Ee]|[Aa][Pp][Pp]|[Ww][Ee][Cc][Hh][Aa][Tt]";
/// Rust's `char::is_whitespace` (Unicode White_Space), which `str::trim` removes.
const WHITE_SPACE: &str =
    r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// An http(s) URL the strict callback parser takes: a host name (no user-info, no IP
/// literal, no IDN), an optional port, a plain path; `query` adds an optional query string.
fn url(query: bool, wildcard: bool) -> String {
    let label = r"(?![Xx][Nn]--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,20}[A-Za-z0-9])?";
    let top = r"(?![Xx][Nn]--)[A-Za-z](?:[A-Za-z0-9-]{0,20}[A-Za-z0-9])?";
    let mut url = format!(
        r"[Hh][Tt][Tt][Pp][Ss]?://(?:{label}\.){{0,4}}{top}(?::[1-9][0-9]{{0,3}})?(?:/[A-Za-z0-9._~-]*){{0,6}}"
    );
    if wildcard {
        url.push_str(r"(?:/\*)?");
    }
    if query {
        url.push_str(r"(?:\?[A-Za-z0-9._~=&-]*)?");
    }
    url
}

/// A schema from its JSON form. Only ever called with the literals of this module; in debug
/// builds (tests, the fuzz pass) each is compared with its serialised form, so a keyword
/// utoipa's model cannot hold is never silently dropped.
pub fn from_json(value: Value) -> Schema {
    let schema: Schema = match serde_json::from_value(value.clone()) {
        Ok(schema) => schema,
        Err(e) => unreachable!("not a schema utoipa can hold: {e}: {value}"),
    };
    debug_assert_eq!(
        serde_json::to_value(&schema).ok(),
        Some(value),
        "a keyword was lost"
    );
    schema
}

fn required(pattern: &str, description: &str) -> Value {
    json!({ "type": "string", "minLength": 1, "pattern": pattern, "description": description })
}

/// `pattern` (unanchored alternatives) for a required field, anchored.
fn anchored(alternatives: &str, description: &str) -> Value {
    json!({ "type": "string", "pattern": format!("^(?:{alternatives})$"), "description": description })
}

/// `alternatives` or empty (absent), or null.
fn optional(alternatives: &str, description: &str) -> Value {
    json!({
        "type": ["string", "null"],
        "pattern": format!("^(?:|{alternatives})$"),
        "description": description,
    })
}

const NUMBER_TEXT: &str = "A phone number or an e-mail address. Phones: a mainland mobile (11 \
    digits, optionally with `+86`); other countries' numbers are also taken in E.164 (`+` and \
    country code) when libphonenumber's metadata calls them valid. E-mail addresses compare \
    lower-cased.";

pub fn number() -> Schema {
    let mut value = anchored(&format!("{PHONE}|{EMAIL}"), NUMBER_TEXT);
    value["maxLength"] = json!(254);
    from_json(value)
}

pub fn phone() -> Schema {
    from_json(anchored(
        PHONE,
        "A mainland mobile (11 digits, optionally with `+86`); other countries' numbers are \
         also taken in E.164 when libphonenumber's metadata calls them valid.",
    ))
}

pub fn phone_opt() -> Schema {
    from_json(optional(
        PHONE,
        "A mainland mobile (11 digits, optionally with `+86`), or another country's number \
         in E.164 when libphonenumber's metadata calls it valid.",
    ))
}

pub fn email_opt() -> Schema {
    let mut value = optional(EMAIL, "An e-mail address.");
    value["maxLength"] = json!(254);
    from_json(value)
}

pub fn code() -> Schema {
    from_json(anchored(CODE, "The 6-digit verification code."))
}

pub fn code_opt() -> Schema {
    from_json(optional(CODE, "A 6-digit verification code."))
}

/// A password presented for checking: any non-empty text (a wrong one is `credentials_invalid`).
pub fn password() -> Schema {
    from_json(required(NO_NUL, "The password."))
}

/// A password being set: the policy's length; the rest of the policy is `password_weak`.
pub fn new_password() -> Schema {
    from_json(json!({
        "type": "string",
        "minLength": 8,
        "maxLength": 72,
        "pattern": NO_NUL,
        "description": "8 to 72 bytes of UTF-8 (so fewer characters outside ASCII), not a \
            common password, not the account's phone, e-mail or username; else 400 \
            `password_weak`.",
    }))
}

/// Optional free text.
pub fn text_opt() -> Schema {
    from_json(json!({ "type": ["string", "null"], "pattern": NO_NUL }))
}

fn text_opt_described(description: &str) -> Value {
    json!({ "type": ["string", "null"], "pattern": NO_NUL, "description": description })
}

const CAPTCHA_ANSWER: &str = "The captcha answer (case-insensitive); a wrong, expired or used \
    captcha is 400 `captcha_invalid`.";
const CAPTCHA_ID: &str = "The `captcha_id` from `GET /client_code`; browsers may send the \
    `captcha_id` cookie instead.";

pub fn captcha_answer() -> Schema {
    from_json(required(NO_NUL, CAPTCHA_ANSWER))
}

pub fn captcha_id() -> Schema {
    from_json(required(NO_NUL, CAPTCHA_ID))
}

pub fn captcha_answer_opt() -> Schema {
    from_json(text_opt_described(&format!(
        "Needed once the client IP is past GATEHOUSE_CODE_CAPTCHA_AFTER sends in an hour. {CAPTCHA_ANSWER}"
    )))
}

pub fn captcha_id_opt() -> Schema {
    from_json(text_opt_described(CAPTCHA_ID))
}

/// A token sent in the body.
pub fn token_opt() -> Schema {
    from_json(text_opt_described(
        "The token, when it is not sent as `Authorization: Bearer`, a `token` header or a \
         `token` query parameter.",
    ))
}

pub fn ticket_opt() -> Schema {
    from_json(text_opt_described(
        "A one-time ticket from the browser flow (`ticket` mode partners) instead of a \
         token; needs the partner's client credentials (HTTP Basic). Valid 60 s, single use.",
    ))
}

pub fn username_opt() -> Schema {
    from_json(optional(
        USERNAME,
        "2 to 32 letters (any script), digits, `_`, `-` and `.`, not only digits; unique \
         (case-insensitively) or 409 `conflict`.",
    ))
}

pub fn terminal_opt() -> Schema {
    from_json(optional(
        TERMINAL,
        "`management`, `pc` (the default), `mobile`, `app` or `wechat`, in any letter case.",
    ))
}

/// The `terminal` header: one of the terminals, or empty (absent).
pub fn terminal_header() -> Schema {
    from_json(json!({
        "type": "string",
        "pattern": format!("^(?:|{TERMINAL})$"),
        "description": "`management`, `pc`, `mobile`, `app` or `wechat`, in any letter case; \
            takes precedence over a `terminal` parameter.",
    }))
}

/// The `word-info` header: base64 of the RSA-OAEP-256 ciphertext of the password. Any text
/// is well-formed; what does not decrypt is `word_info_invalid`, and HTTP drops the spaces
/// around a header value, so it must hold something else.
pub fn word_info() -> Schema {
    from_json(json!({
        "type": "string",
        "pattern": "[^ \t]",
        "description": "base64(RSA-OAEP-256(password)) under the key from \
            `GET /users/public_key`; anything that does not decrypt is 400 `word_info_invalid`.",
    }))
}

/// An optional choice among `names` (a form may send it empty).
fn choice_opt(names: &[&str], description: &str) -> Schema {
    let mut values: Vec<Value> = names.iter().map(|name| json!(name)).collect();
    values.extend([json!(""), Value::Null]);
    let mut schema = json!({ "type": ["string", "null"], "enum": values });
    if !description.is_empty() {
        schema["description"] = json!(description);
    }
    from_json(schema)
}

/// An audit event name to filter by (CONTRACT §9); empty is no filter.
pub fn audit_event_opt() -> Schema {
    let names = crate::audit::Event::ALL.map(crate::audit::Event::as_str);
    choice_opt(&names, "Only events of this name.")
}

/// An RFC 3339 time (a real date: days past the 28th are left out of the pattern so every
/// string it allows is one), or empty for no bound.
pub fn time_opt() -> Schema {
    from_json(json!({
        "type": ["string", "null"],
        "pattern": concat!(
            "^$|^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])",
            "T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?",
            "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
        ),
        "description": "RFC 3339, e.g. `2026-12-01T00:00:00Z`.",
    }))
}

pub fn purpose_opt() -> Schema {
    let names = crate::codes::Purpose::ALL.map(crate::codes::Purpose::as_str);
    choice_opt(&names, "Binds the code to that use.")
}

/// A callback URL a caller presents: matched against the registered rules, else 400
/// `callback_not_registered`.
pub fn callback_url() -> Schema {
    from_json(anchored(
        &url(true, false),
        "An absolute http(s) URL matching a registered partner's rule (else 400 \
         `callback_not_registered`); a query string is kept.",
    ))
}

pub fn callback_url_opt() -> Schema {
    from_json(optional(
        &url(true, false),
        "An absolute http(s) URL matching a registered partner's rule (else 400 \
         `callback_not_registered`); a query string is kept.",
    ))
}

pub fn logout_url_opt() -> Schema {
    from_json(optional(
        &url(true, false),
        "Where single-logout tokens are POSTed: an absolute http(s) URL without user-info or \
         fragment.",
    ))
}

pub fn head_img_opt() -> Schema {
    from_json(optional(
        &url(true, false),
        "An http(s) URL of the avatar image, at most 2048 bytes, without user-info.",
    ))
}

mod bodies;
mod operators;
pub use bodies::*;
pub use operators::*;

/// Every schema above, by name (for the round-trip test).
#[cfg(test)]
pub(crate) fn all() -> Vec<(&'static str, Schema)> {
    vec![
        ("number", number()),
        ("phone", phone()),
        ("phone_opt", phone_opt()),
        ("email_opt", email_opt()),
        ("code", code()),
        ("code_opt", code_opt()),
        ("password", password()),
        ("new_password", new_password()),
        ("text_opt", text_opt()),
        ("captcha_answer", captcha_answer()),
        ("captcha_id", captcha_id()),
        ("captcha_answer_opt", captcha_answer_opt()),
        ("captcha_id_opt", captcha_id_opt()),
        ("token_opt", token_opt()),
        ("ticket_opt", ticket_opt()),
        ("username_opt", username_opt()),
        ("terminal_opt", terminal_opt()),
        ("terminal_header", terminal_header()),
        ("word_info", word_info()),
        ("purpose_opt", purpose_opt()),
        ("audit_event_opt", audit_event_opt()),
        ("time_opt", time_opt()),
        ("callback_url", callback_url()),
        ("callback_url_opt", callback_url_opt()),
        ("logout_url_opt", logout_url_opt()),
        ("head_img_opt", head_img_opt()),
        ("callbacks", callbacks()),
        ("client_name", client_name()),
        ("mode_opt", mode_opt()),
        ("flag_opt", flag_opt()),
        ("status_opt", status_opt()),
        ("role_opt", role_opt()),
        ("page", page()),
        ("limit", limit()),
        ("paginate", paginate()),
        ("filter", filter()),
        ("sort", sort()),
        ("update_request", update_request()),
        ("delete_request", delete_request()),
        ("login_request", login_request()),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_survives_utoipa_unchanged() {
        // `from_json` compares each with its serialised form in debug builds.
        assert_eq!(super::all().len(), 40);
    }
}
