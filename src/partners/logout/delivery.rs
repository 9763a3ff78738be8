//! One back-channel logout: the token a partner receives, sending it, and what its answer
//! means for the row.

use super::*;

#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sub: &'a str,
    sid: &'a str,
    events: serde_json::Value,
}

/// A freshly signed logout token for one delivery attempt.
pub async fn logout_token(state: &AppState, d: &DeliveryRow) -> ApiResult<String> {
    let now = chrono::Utc::now().timestamp();
    let claims = LogoutClaims {
        iss: state.tokens.issuer(),
        aud: &d.client_id,
        iat: now,
        exp: now + 120,
        jti: uuid::Uuid::new_v4().to_string(),
        sub: &d.sub,
        sid: &d.sid,
        events: serde_json::json!({ LOGOUT_EVENT: {} }),
    };
    let claims = serde_json::to_value(&claims)
        .map_err(|e| crate::error::ApiError::Internal(e.to_string()))?;
    let alg = ClientAlg::parse(&d.alg).unwrap_or(ClientAlg::EdDsa);
    state.sign_for(alg, claims, "logout+jwt").await
}

pub(super) enum Outcome {
    Delivered,
    Final(String),
    Retry(String),
}

/// A CAS service's logout request body (PROTOCOLS §4): `logoutRequest=` and the XML itself,
/// not percent-encoded. It holds no `&`, `+`, `%` or `#` (ids are hex and UUIDs), so it reads
/// the same after any number of form decodings; a fresh `ID` each attempt.
pub fn cas_logout_body(name_id: &str, ticket: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut id = [0u8; 16];
    rand::rng().fill(&mut id);
    format!(
        "logoutRequest=<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"LR-{}\" Version=\"2.0\" \
         IssueInstant=\"{}\"><saml:NameID>{}</saml:NameID><samlp:SessionIndex>{}</samlp:SessionIndex>\
         </samlp:LogoutRequest>",
        hex::encode(id),
        now.format("%Y-%m-%dT%H:%M:%SZ"),
        crate::cas::response::escape(name_id),
        crate::cas::response::escape(ticket),
    )
}

pub(super) async fn attempt(state: &AppState, d: &DeliveryRow) -> Outcome {
    if d.kind == CAS_LOGOUT_REQUEST {
        return attempt_cas(state, d).await;
    }
    let token = match logout_token(state, d).await {
        Ok(t) => t,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let http = match state.http() {
        Ok(http) => http,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let sent = http
        .post(&d.logout_url)
        .timeout(TIMEOUT)
        .form(&[("logout_token", token)])
        .send()
        .await;
    match sent {
        Ok(res) if res.status().is_success() => Outcome::Delivered,
        Ok(res) if res.status().as_u16() == 400 => Outcome::Final("partner answered 400".into()),
        Ok(res) => Outcome::Retry(format!("partner answered {}", res.status().as_u16())),
        Err(e) if e.is_timeout() => Outcome::Retry("timed out after 5 s".into()),
        Err(e) => Outcome::Retry(format!("network error: {}", e.without_url())),
    }
}

/// A CAS logout request: delivered on 2xx and 3xx (a CAS client may answer its login page's
/// redirect), final on other 4xx, retried on 5xx, network errors and timeouts.
async fn attempt_cas(state: &AppState, d: &DeliveryRow) -> Outcome {
    let http = match state.http() {
        Ok(http) => http,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let body = cas_logout_body(
        &d.sub,
        d.session_index.as_deref().unwrap_or_default(),
        chrono::Utc::now(),
    );
    let sent = http
        .post(&d.logout_url)
        .timeout(TIMEOUT)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await;
    match sent {
        Ok(res) if res.status().is_success() || res.status().is_redirection() => Outcome::Delivered,
        Ok(res) if res.status().is_client_error() => {
            Outcome::Final(format!("service answered {}", res.status().as_u16()))
        }
        Ok(res) => Outcome::Retry(format!("service answered {}", res.status().as_u16())),
        Err(e) if e.is_timeout() => Outcome::Retry("timed out after 5 s".into()),
        Err(e) => Outcome::Retry(format!("network error: {}", e.without_url())),
    }
}

/// Exponential backoff from the configured base, capped at 10 minutes, with ±25 % jitter.
pub fn backoff(base_ms: u64, attempts: i32) -> Duration {
    let exp = base_ms.saturating_mul(1u64 << attempts.clamp(0, 20).saturating_sub(1) as u32);
    let capped = exp.min(600_000);
    let jitter = rand::rng().random_range(0.75..1.25);
    Duration::from_millis((capped as f64 * jitter) as u64)
}

/// Writes finished attempts, many in one transaction: under load hundreds of deliveries end
/// each second, and a write each would keep SQLite's single writer from sign-outs.
pub(super) async fn record(state: &AppState, done: Vec<(DeliveryRow, Outcome)>) -> ApiResult<()> {
    let base = state.settings.logout_retry_base_ms;
    let give_up = chrono::Duration::seconds(state.settings.logout_give_up_secs as i64);
    state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                let now = crate::db::now();
                for (d, outcome) in done {
                    let attempts = d.attempts + 1;
                    let (new_state, error, next) = match outcome {
                        Outcome::Delivered => (DELIVERED, None, now),
                        Outcome::Final(e) => (FAILED, Some(e), now),
                        Outcome::Retry(e) if now - d.created_at >= give_up => {
                            (FAILED, Some(e), now)
                        }
                        Outcome::Retry(e) => {
                            let wait = chrono::Duration::from_std(backoff(base, attempts))
                                .unwrap_or_default();
                            (PENDING, Some(e), now + wait)
                        }
                    };
                    diesel::update(logout_deliveries::table.find(&d.id))
                        .set((
                            logout_deliveries::state.eq(new_state),
                            logout_deliveries::attempts.eq(attempts),
                            logout_deliveries::last_error.eq(error),
                            logout_deliveries::updated_at.eq(now),
                            logout_deliveries::next_attempt_at.eq(next),
                            logout_deliveries::locked_until.eq(None::<NaiveDateTime>),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            })
        })
        .await
}
