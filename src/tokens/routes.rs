use actix_web::{HttpRequest, HttpResponse, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{CheckedToken, MaybeToken};
use crate::error::{Answer, ApiError};
use crate::http::envelope;
use crate::http::input::Input;
use crate::openapi::EnvelopeOf;
use crate::openapi::responses::refusals;
use crate::partners;
use crate::sessions::{self, Presented};
use crate::state::Shared;
use crate::tokens::Claims;

// Borrowed from the token's claims: the hot path copies no strings.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCheck<'a> {
    pub valid: bool,
    pub user_id: &'a str,
    pub sid: &'a str,
    pub exp: i64,
    /// The `client_id` of the partner the token was issued for; null for first-party tokens.
    pub aud: Option<&'a str>,
}

impl<'a> From<&'a Claims> for TokenCheck<'a> {
    fn from(c: &'a Claims) -> Self {
        TokenCheck {
            valid: true,
            user_id: &c.sub,
            sid: &c.sid,
            exp: c.exp,
            aud: c.aud.as_deref(),
        }
    }
}

impl TokenCheck<'_> {
    /// The JSON its `Serialize` writes, written directly (`GET /token` is the hot path).
    fn write_json(&self, out: &mut Vec<u8>) {
        let valid: &[u8] = match self.valid {
            true => b"{\"valid\":true,\"user_id\":",
            false => b"{\"valid\":false,\"user_id\":",
        };
        out.extend_from_slice(valid);
        crate::json::string(out, self.user_id);
        out.extend_from_slice(b",\"sid\":");
        crate::json::string(out, self.sid);
        out.extend_from_slice(b",\"exp\":");
        let _ = serde_json::to_writer(&mut *out, &self.exp);
        out.extend_from_slice(b",\"aud\":");
        match self.aud {
            Some(aud) => crate::json::string(out, aud),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
    }
}

/// A redeemed ticket: the check plus the token it stood for.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketCheck<'a> {
    #[serde(flatten)]
    pub check: TokenCheck<'a>,
    pub token: String,
}

refusals!(CheckTokenRefusals: [SIGNED_IN, UNREADABLE, DOWN]
    "client_auth_failed",
    "token_audience" = "issued for another partner than the one whose credentials came with the check");

/// Checks a token: signature, expiry and a live session. A partner that sends its client
/// credentials (HTTP Basic; the token then comes as a `token` header or parameter) is also
/// told 403 `token_audience` for a token issued to another partner.
#[utoipa::path(
    tag = "tokens",
    security(
        ("bearer" = []), ("token_header" = []), ("token_query" = []),
        ("client_basic" = [], "token_header" = []), ("client_basic" = [], "token_query" = []),
    ),
    responses(
        (status = 200, description = "Valid", body = inline(EnvelopeOf<TokenCheck>)),
        CheckTokenRefusals,
    )
)]
#[get("/token")]
pub async fn check_token(state: Shared, req: HttpRequest, session: CheckedToken) -> Answer {
    if let Some((id, secret)) = basic_credentials(&req) {
        // Boxed: a partner's credentials (a bcrypt on a blocking lane) would otherwise size
        // the future of every check, and that future is allocated on each request.
        let client = Box::pin(partners::authenticate(&state, &id, &secret)).await?;
        sessions::audience_is(&session, &client)?;
    }
    let check = TokenCheck::from(&*session);
    Ok(envelope::ok_written(|out| check.write_json(out)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RecordRequest {
    #[schema(schema_with = crate::openapi::fields::token_opt)]
    pub token: Option<String>,
    #[schema(schema_with = crate::openapi::fields::ticket_opt)]
    pub ticket: Option<String>,
    /// The partner's registered callback URL.
    #[schema(schema_with = crate::openapi::fields::callback_url)]
    pub callback_url: String,
}

/// `client_id:client_secret` from HTTP Basic, when sent and readable.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    crate::http::auth::basic_in_headers(req).ok().flatten()
}

refusals!(RecordTokenRefusals: [SIGNED_IN, TOO_LARGE, DOWN]
    "invalid_params" = "no token or ticket anywhere", "callback_not_registered",
    "client_auth_failed",
    "token_audience" = "credentials came with the check and the token was issued for another partner");

/// Checks a token and records the partner owning `callback_url` as logged into its session.
#[utoipa::path(
    tag = "tokens", request_body = RecordRequest,
    security(
        ("bearer" = []), ("token_header" = []), ("token_query" = []),
        ("client_basic" = [], "token_header" = []), ("client_basic" = [], "token_query" = []),
        ("client_basic" = []), (),
    ),
    responses(
        (status = 200, description = "Valid and recorded (with a ticket, `data` also holds the `token`)", body = inline(EnvelopeOf<TokenCheck>)),
        RecordTokenRefusals,
    )
)]
#[post("/token")]
pub async fn record_token(
    state: Shared,
    req: HttpRequest,
    MaybeToken(token): MaybeToken,
    input: Input,
) -> Answer {
    let token_needed: &[&str] = match (&token, input.str("ticket")) {
        (None, None) => &["token"],
        _ => &[],
    };
    let p: RecordRequest = input.parse_requiring(token_needed)?;
    let presented = match (token, p.ticket) {
        (Some(token), _) => Presented::Token(token),
        (None, Some(ticket)) => Presented::Ticket(ticket),
        (None, None) => return Err(ApiError::TokenMissing),
    };
    let (client, _) = partners::for_callback(&state, &p.callback_url).await?;
    let authenticated = match basic_credentials(&req) {
        Some((id, secret)) if id == client.client_id && client.secret_matches(&secret) => true,
        Some(_) => return Err(ApiError::ClientAuthFailed),
        None => false,
    };
    let (claims, redeemed) =
        sessions::check_for_partner(&state, &client, authenticated, presented).await?;
    let check = TokenCheck::from(&*claims);
    Ok(match redeemed {
        Some(token) => envelope::ok(TicketCheck { check, token }),
        None => envelope::ok(check),
    })
}

/// The public keys tokens are signed with (a plain JWK Set).
#[utoipa::path(
    tag = "tokens",
    responses((status = 200, description = "JWK Set", body = Object))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: Shared) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        // Public keys: any origin may read them (PROTOCOLS §3.6).
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(state.tokens.jwks())
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;
    use proptest::prelude::*;

    use super::*;

    fn body(res: HttpResponse) -> (Option<String>, Vec<u8>) {
        let kind = res
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = res.into_body().try_into_bytes().expect("a whole body");
        (kind, bytes.to_vec())
    }

    proptest! {
        #[test]
        fn the_written_token_check_is_what_serde_writes(
            valid: bool,
            user_id in "\\PC{0,40}|[\"\\\\\u{0}-\u{1f}a-z]{0,8}",
            sid: String,
            exp: i64,
            aud: Option<String>,
        ) {
            let check = TokenCheck { valid, user_id: &user_id, sid: &sid, exp, aud: aud.as_deref() };
            let written = body(envelope::ok_written(|out| check.write_json(out)));
            let serde = body(envelope::ok(&check));
            prop_assert_eq!(written, serde);
        }
    }
}
