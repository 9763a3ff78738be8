//! WeChat mini-program login: `code` → `jscode2session` → `openid` (and `unionid`).
//! `session_key` is read only to be dropped: it is never stored, returned or logged.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
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
        .append_pair("secret", secret)
        .append_pair("js_code", code)
        .append_pair("grant_type", "authorization_code");
    let res = state
        .http()?
        .get(url)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("WeChat: {}", e.without_url())))?;
    if !res.status().is_success() {
        return Err(ApiError::Unavailable(format!(
            "WeChat answered {}",
            res.status()
        )));
    }
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
