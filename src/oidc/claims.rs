//! What an ID token and userinfo say about the person, by granted scope (PROTOCOLS §3.4).

use serde_json::{Map, Value, json};

use crate::accounts::UserRow;

/// The claims of `scopes` (space-separated) that the account has; empty ones are left out.
pub fn for_scopes(user: &UserRow, scopes: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let mut put = |name: &str, value: Value| {
        out.insert(name.to_owned(), value);
    };
    for scope in scopes.split(' ') {
        match scope {
            "profile" => {
                if let Some(name) = display_name(user) {
                    put("name", json!(name));
                }
                if let Some(username) = &user.username {
                    put("preferred_username", json!(username));
                }
                if let Some(picture) = user
                    .head_img
                    .as_deref()
                    .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                {
                    put("picture", json!(picture));
                }
                put("updated_at", json!(user.updated_at.and_utc().timestamp()));
            }
            "email" => {
                if let Some(email) = &user.email {
                    put("email", json!(email));
                    put("email_verified", json!(user.email_verified_at.is_some()));
                }
            }
            "phone" => {
                if let Some(phone) = &user.phone {
                    put("phone_number", json!(crate::domain::number::e164(phone)));
                    put(
                        "phone_number_verified",
                        json!(user.phone_verified_at.is_some()),
                    );
                }
            }
            _ => {}
        }
    }
    out
}

/// The WeChat nickname when the account has one, else the username.
fn display_name(user: &UserRow) -> Option<String> {
    user.wechat_profile
        .as_deref()
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .and_then(|p| p.get("nickName").and_then(Value::as_str).map(str::to_owned))
        .filter(|n| !n.is_empty())
        .or_else(|| user.username.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scope_gives_its_claims_and_empty_ones_are_left_out() {
        let mut user = crate::accounts::model::blank_row();
        user.email = Some("a@example.com".into());
        user.head_img = Some("javascript:alert(1)".into());
        let email = for_scopes(&user, "openid email");
        assert_eq!(email["email"], "a@example.com");
        assert_eq!(email["email_verified"], false);
        assert!(!email.contains_key("phone_number"));
        let phone = for_scopes(&user, "openid phone");
        assert!(phone.is_empty(), "{phone:?}");
        let profile = for_scopes(&user, "openid profile");
        assert_eq!(profile["preferred_username"], json!(user.username));
        assert_eq!(profile["name"], json!(user.username));
        assert!(!profile.contains_key("picture"), "only http(s) pictures");
        assert!(profile["updated_at"].is_i64());
        assert!(for_scopes(&user, "openid").is_empty());
    }
}
