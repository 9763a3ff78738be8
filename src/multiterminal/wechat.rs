//! WeChat mini-program login: `code` → `jscode2session` → `openid` (and `unionid`).
//! `session_key` is read only to be dropped: it is never stored, returned or logged.

use std::time::Duration;

use serde::Deserialize;

use crate::accounts::model::{self, UserRow};
use crate::error::{ApiError, ApiResult};
use crate::multiterminal::WechatProfile;
use crate::state::AppState;

const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize)]
struct Answer {
    openid: Option<String>,
    unionid: Option<String>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

pub struct Identity {
    pub openid: String,
    pub unionid: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn code_to_session(state: &AppState, code: &str) -> ApiResult<Identity> {
    let settings = &state.settings;
    let (Some(appid), Some(secret)) = (&settings.wechat_appid, &settings.wechat_secret) else {
        return Err(ApiError::Unavailable(
            "WeChat login is not configured".into(),
        ));
    };
    if code.len() > 256 {
        return Err(ApiError::WechatCodeInvalid);
    }
    let mut url = url::Url::parse(&format!(
        "{}/sns/jscode2session",
        settings.wechat_api_base.trim_end_matches('/')
    ))
    .map_err(|e| ApiError::Unavailable(format!("WeChat API base: {e}")))?;
    url.query_pairs_mut()
        .append_pair("appid", appid)
        .append_pair("secret", secret.expose())
        .append_pair("js_code", code)
        .append_pair("grant_type", "authorization_code");
    let res = AppState::upstream("WeChat", state.http()?.get(url).timeout(TIMEOUT)).await?;
    let answer: Answer = res
        .json()
        .await
        .map_err(|_| ApiError::Unavailable("WeChat answered something unreadable".into()))?;
    match answer.errcode.unwrap_or(0) {
        0 => {}
        -1 => return Err(ApiError::Unavailable("WeChat is busy (errcode -1)".into())),
        code => {
            tracing::info!(
                errcode = code,
                errmsg = answer.errmsg.as_deref().unwrap_or(""),
                "WeChat refused a login code"
            );
            return Err(ApiError::WechatCodeInvalid);
        }
    }
    let openid = answer
        .openid
        .filter(|o| !o.is_empty() && o.len() <= 128)
        .ok_or(ApiError::WechatCodeInvalid)?;
    Ok(Identity {
        openid,
        unionid: answer.unionid.filter(|u| !u.is_empty() && u.len() <= 128),
    })
}

fn bounded(profile: &mut WechatProfile) {
    for field in [
        &mut profile.avatar_url,
        &mut profile.nick_name,
        &mut profile.country,
        &mut profile.province,
        &mut profile.city,
        &mut profile.language,
    ]
    .into_iter()
    .flatten()
    {
        *field = field.chars().take(512).collect();
    }
}

/// The account of a WeChat identity: created at the first login, its profile updated later.
pub async fn user_for(
    state: &AppState,
    code: &str,
    mut profile: WechatProfile,
) -> ApiResult<UserRow> {
    let identity = code_to_session(state, code).await?;
    bounded(&mut profile);
    state
        .db
        .run(
            move |conn| match model::find_by_openid(conn, &identity.openid)? {
                Some(mut user) => {
                    if !user.is_active() {
                        return Err(ApiError::AccountDisabled);
                    }
                    let mut stored: WechatProfile = user
                        .wechat_profile
                        .as_deref()
                        .and_then(|p| serde_json::from_str(p).ok())
                        .unwrap_or_default();
                    stored.merge(profile);
                    user.wechat_profile = serde_json::to_string(&stored).ok();
                    if identity.unionid.is_some() {
                        user.unionid = identity.unionid;
                    }
                    user.updated_at = crate::db::now();
                    model::save(conn, &user)?;
                    Ok(user)
                }
                None => {
                    let user = UserRow {
                        head_img: profile.avatar_url.clone(),
                        openid: Some(identity.openid),
                        unionid: identity.unionid,
                        wechat_profile: serde_json::to_string(&profile).ok(),
                        ..model::blank_row()
                    };
                    model::insert(conn, &user)?;
                    Ok(user)
                }
            },
        )
        .await
}
