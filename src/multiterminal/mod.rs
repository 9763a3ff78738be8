//! The multi-terminal API of the second seed: encrypted `word-info` passwords, WeChat
//! mini-program login, refresh inside the grace window, and camelCase user shapes.

pub mod routes;
pub mod wechat;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::accounts::UserRow;

/// WeChat profile fields, kept as sent by the mini-program.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WechatProfile {
    #[serde(rename = "avatarUrl", skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    #[serde(rename = "nickName", skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl WechatProfile {
    /// Fields sent now replace stored ones; fields not sent are kept.
    pub fn merge(&mut self, new: WechatProfile) {
        macro_rules! take {
            ($($f:ident),*) => { $( if new.$f.is_some() { self.$f = new.$f; } )* };
        }
        take!(avatar_url, nick_name, country, province, city, language);
    }
}

/// The seed-001 user object.
pub fn info(user: &UserRow, full: bool) -> Value {
    let mut obj = Map::new();
    obj.insert("id".into(), Value::from(user.id.clone()));
    obj.insert("userName".into(), Value::from(user.username.clone()));
    obj.insert("headImg".into(), Value::from(user.head_img.clone()));
    if full {
        obj.insert("phone".into(), Value::from(user.phone.clone()));
        obj.insert("openid".into(), Value::from(user.openid.clone()));
        if user.openid.is_some() {
            let profile: WechatProfile = user
                .wechat_profile
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or_default();
            for key in [
                "avatarUrl",
                "nickName",
                "country",
                "province",
                "city",
                "language",
            ] {
                let value = serde_json::to_value(&profile)
                    .ok()
                    .and_then(|v| v.get(key).cloned())
                    .unwrap_or(Value::Null);
                obj.insert(key.into(), value);
            }
        }
    }
    Value::Object(obj)
}
