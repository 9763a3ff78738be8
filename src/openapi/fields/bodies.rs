//! The user-list parameters (JSON in the query) and the request bodies whose fields depend
//! on each other.

use super::*;

const USER_FIELDS: [&str; 8] = [
    "id",
    "username",
    "phone",
    "email",
    "role",
    "status",
    "created_at",
    "updated_at",
];

/// `GET /users` `paginate`, as JSON.
pub fn paginate() -> Schema {
    from_json(json!({
        "type": "object",
        "properties": {
            "page": { "type": ["integer", "null"], "minimum": 1, "maximum": 1_000_000 },
            "limit": { "type": ["integer", "null"], "minimum": 1, "maximum": 100 },
        },
        "additionalProperties": false,
    }))
}

/// `GET /users` `filter`, as JSON: up to 16 conditions, all of which must hold.
pub fn filter() -> Schema {
    let text_fields = &USER_FIELDS[..6];
    let time_fields = &USER_FIELDS[6..];
    let text = json!({ "type": "string", "maxLength": 256, "pattern": NO_NUL });
    let time = json!({ "anyOf": [
        { "type": "string", "format": "date-time" },
        { "type": "string", "format": "date" },
    ] });
    from_json(json!({
        "type": "array",
        "maxItems": 16,
        "items": { "anyOf": [
            {
                "type": "object",
                "description": "A comparison on a text field.",
                "required": ["fieldname", "option", "value"],
                "properties": {
                    "fieldname": { "type": "string", "enum": text_fields },
                    "option": { "type": "string", "enum": ["eq", "ne", "like", "prefix", "gt", "gte", "lt", "lte"] },
                    "value": { "anyOf": [text, { "type": "number" }] },
                },
            },
            {
                "type": "object",
                "description": "The seed's two-key form: `option` is the text searched for (`like`).",
                "required": ["fieldname", "option"],
                "properties": {
                    "fieldname": { "type": "string", "enum": text_fields },
                    "option": text,
                    "value": { "type": "null" },
                },
            },
            {
                "type": "object",
                "description": "A comparison on a time field (RFC 3339 or YYYY-MM-DD).",
                "required": ["fieldname", "option", "value"],
                "properties": {
                    "fieldname": { "type": "string", "enum": time_fields },
                    "option": { "type": "string", "enum": ["eq", "ne", "gt", "gte", "lt", "lte"] },
                    "value": time,
                },
            },
        ] },
    }))
}

/// `GET /users` `sort`, as JSON: up to 8 keys.
pub fn sort() -> Schema {
    from_json(json!({
        "type": "array",
        "maxItems": 8,
        "items": {
            "type": "object",
            "required": ["field"],
            "properties": {
                "field": { "type": "string", "enum": USER_FIELDS },
                "direction": {
                    "type": ["string", "null"],
                    "pattern": "^(?:[Aa][Ss][Cc]|[Dd][Ee][Ss][Cc])$",
                    "description": "`asc` (the default) or `desc`, in any letter case.",
                },
            },
        },
    }))
}

fn value(schema: Schema) -> Value {
    serde_json::to_value(schema).unwrap_or(Value::Null)
}

/// Absent as the contract reads it: not sent, empty or null.
fn absent() -> Value {
    json!({ "type": ["string", "null"], "enum": ["", null] })
}

/// An object whose `name` is present and not empty.
fn present(name: &str) -> Value {
    json!({
        "type": "object",
        "required": [name],
        "properties": { name: { "type": "string", "minLength": 1 } },
    })
}

/// `PUT /users`: any of the profile fields; a new phone or e-mail (one at a time) needs the
/// code sent to it (purpose `change_contact`).
pub fn update_request() -> Schema {
    from_json(json!({
        "allOf": [
            {
                "type": "object",
                "properties": {
                    "token": value(token_opt()),
                    "username": value(username_opt()),
                    "phone": value(phone_opt()),
                    "email": value(email_opt()),
                    "head_img": value(head_img_opt()),
                    "verify_code": text_opt_described(
                        "The code sent to the new phone or e-mail address (purpose \
                         `change_contact`); read only when one of them changes, then a wrong \
                         one is 400 `verify_code_invalid`.",
                    ),
                },
            },
            {
                "description": "The phone and the e-mail address change one at a time.",
                "anyOf": [
                    { "type": "object", "properties": { "phone": absent() } },
                    { "type": "object", "properties": { "email": absent() } },
                ],
            },
            {
                "description": "A new phone or e-mail address comes with `verify_code`.",
                "anyOf": [
                    { "type": "object", "properties": { "phone": absent(), "email": absent() } },
                    present("verify_code"),
                ],
            },
        ],
    }))
}

/// `DELETE /users`: the password, or for an account without one a code sent to its phone or
/// e-mail (purpose `signin`).
pub fn delete_request() -> Schema {
    from_json(json!({
        "allOf": [
            {
                "type": "object",
                "properties": {
                    "token": value(token_opt()),
                    "pwd": value(text_opt()),
                    "verify_code": value(code_opt()),
                },
            },
            {
                "description": "`pwd` for an account with a password (a wrong one is 401 \
                    `credentials_invalid`), else `verify_code`; the other is 400 \
                    `invalid_params`.",
                "anyOf": [present("pwd"), present("verify_code")],
            },
        ],
    }))
}

/// `POST /users/login`: a phone (the password in the `word-info` header), or a WeChat
/// mini-program `code` with optional profile fields. With a `code`, `phone` is not read.
pub fn login_request() -> Schema {
    let profile = value(text_opt());
    let mut phone_login = present("phone");
    phone_login["properties"]["phone"] = value(phone());
    phone_login["properties"]["code"] = absent();
    from_json(json!({
        "allOf": [
            {
                "type": "object",
                "properties": {
                    "phone": text_opt_described(
                        "A phone login's phone: a mainland mobile (11 digits, optionally with \
                         `+86`), or another country's number in E.164 when libphonenumber's \
                         metadata calls it valid. Not read with a `code`.",
                    ),
                    "code": {
                        "type": ["string", "null"],
                        "pattern": NO_NUL,
                        "description": "The mini-program's `wx.login` code (over 256 bytes: 401 \
                            `wechat_code_invalid`); takes precedence over `phone`.",
                    },
                    "avatarUrl": profile,
                    "nickName": profile,
                    "country": profile,
                    "province": profile,
                    "city": profile,
                    "language": profile,
                    "terminal": value(terminal_opt()),
                },
            },
            {
                "description": "A WeChat login (`code`), or a phone login (`phone` without \
                    `code`; needs the `word-info` header).",
                "anyOf": [present("code"), phone_login],
            },
        ],
    }))
}
