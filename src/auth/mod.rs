//! Who is calling: the one authentication path every route takes, as an extractor whose type
//! is the route's policy.
//!
//! - [`AnySession`]: any live token, including one issued for a partner (with `aud`). For the
//!   token checks, the caller's own reads and sign-out: what a partner may do with the token
//!   the browser brought it.
//! - [`FirstParty`]: a live token issued to Gatehouse's own clients (no `aud`). For every route
//!   that changes the account. A partner's token gets 403 `token_audience`: it travels in
//!   partner URLs and logs, so it must never be able to change an e-mail address, a password
//!   or delete the account.
//! - [`Operator`]: a first-party token of an account with the operator role.
//! - [`PresentedToken`]: the raw token, not yet judged (refresh judges expired tokens itself).
//!
//! A token comes from `Authorization: Bearer`, a `token` header or a `token` parameter (query,
//! then body), in that order. The body is read at most once per request: the handler's own
//! [`Input`] shares it.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;

use crate::accounts::{UserRow, load_self};
use crate::error::{ApiError, ApiResult};
use crate::http::auth::token_in_headers;
use crate::http::input::Input;
use crate::sessions;
use crate::state::AppState;
use crate::tokens::Claims;

fn state(req: &HttpRequest) -> ApiResult<web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))
}

/// Whether the request may carry a body worth reading for a `token` parameter.
fn has_body(req: &HttpRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(actix_web::http::header::TRANSFER_ENCODING)
        || headers
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The token the request presents, wherever the contract allows it to be. A request with a
/// body has it read (once, shared with the handler) even when the token came in a header, so
/// a malformed or oversized body is refused the same way on every write route; and so is a
/// body `token` beside a header's that is not text or holds a NUL character, as
/// `Input::parse` refuses those in any field a route reads.
fn presented<'r>(req: &'r HttpRequest, payload: &mut Payload) -> Presented<'r> {
    if !has_body(req) {
        let token = token_in_headers(req).map(Cow::Borrowed).or_else(|| {
            web::Query::<TokenQuery>::from_query(req.query_string())
                .ok()
                .and_then(|q| q.into_inner().token)
                .filter(|t| !t.is_empty())
                .map(Cow::Owned)
        });
        return Presented::AtHand(token);
    }
    Presented::InBody(
        Input::shared(req, payload),
        token_in_headers(req).map(str::to_owned),
    )
}

/// Where a request's token is.
enum Presented<'r> {
    /// No body comes: the token, if any, is at hand (a header's as it lies in the request).
    AtHand(Option<Cow<'r, str>>),
    /// A body comes, to be read before the token is known; and a header's token, if any.
    InBody(LocalBoxFuture<'static, ApiResult<Input>>, Option<String>),
}

impl Presented<'_> {
    /// The token, once known, as a string of its own.
    fn owned(self) -> impl Future<Output = ApiResult<Option<String>>> + 'static {
        let (at_hand, body) = match self {
            Presented::AtHand(token) => (token.map(Cow::into_owned), None),
            Presented::InBody(input, in_headers) => (None, Some((input, in_headers))),
        };
        // Not boxed: the extractors that await this box their own future once.
        async move {
            let Some((input, in_headers)) = body else {
                return Ok(at_hand);
            };
            let input = input.await?;
            match in_headers {
                // The header's token is judged; a body `token` is then one more field the
                // route reads, refused as `Input::parse` refuses a bad field.
                Some(token) => input.text("token").map(|_| Some(token)),
                // The body's token is the one judged: anything but text is no token at all.
                None => Ok(input.str("token").map(str::to_owned)),
            }
        }
    }
}

/// The raw token of the request, not yet verified; `token_missing` when there is none.
pub struct PresentedToken(pub String);

impl FromRequest for PresentedToken {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, ApiResult<Self>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let token = presented(req, payload).owned();
        Box::pin(async move {
            token
                .await?
                .map(PresentedToken)
                .ok_or(ApiError::TokenMissing)
        })
    }
}

/// The token of the request when there is one (routes that also take other proof).
pub struct MaybeToken(pub Option<String>);

impl FromRequest for MaybeToken {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, ApiResult<Self>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let token = presented(req, payload).owned();
        Box::pin(async move { Ok(MaybeToken(token.await?)) })
    }
}

/// Verifies the presented token and that its session is live.
fn live_claims(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = ApiResult<(web::Data<AppState>, Arc<Claims>)>> + 'static {
    let state = state(req);
    // A token at hand (no body comes: the usual check) has its signature checked here, a
    // header's as it lies in the request: the token is not copied, and the future that goes
    // on to the store holds neither it nor the reading of a body.
    let token = match presented(req, payload) {
        Presented::AtHand(token) => Token::Verified(match (&state, token) {
            (Ok(state), Some(token)) => state.tokens.verify(&token),
            // Without a state the future answers with that error before this one.
            _ => Err(ApiError::TokenMissing),
        }),
        in_body => Token::Presented(in_body.owned()),
    };
    async move {
        let state = state?;
        let claims = match token {
            Token::Verified(verified) => verified?,
            Token::Presented(token) => {
                let token = token.await?.ok_or(ApiError::TokenMissing)?;
                state.tokens.verify(&token)?
            }
        };
        sessions::is_verified_live(&state, &claims).await?;
        Ok((state, claims))
    }
}

/// A request's token: checked already, or still to be read from a body.
enum Token<F> {
    Verified(ApiResult<Arc<Claims>>),
    Presented(F),
}

/// Which live tokens a [`Session`] extractor lets through.
pub trait Admits {
    fn admits(claims: &Claims) -> ApiResult<()>;
}

/// Session tokens of any audience: first-party or issued for a partner. Not an OpenID
/// Connect access token, which is no session token (PROTOCOLS §3.4).
pub struct AnyAudience;

impl Admits for AnyAudience {
    fn admits(claims: &Claims) -> ApiResult<()> {
        not_oauth(claims)
    }
}

/// Every live token, OpenID Connect access tokens too: only for checking a token
/// (`GET /token`).
pub struct AnyToken;

impl Admits for AnyToken {
    fn admits(_: &Claims) -> ApiResult<()> {
        Ok(())
    }
}

/// Refuses an OpenID Connect access token where a session token is expected.
pub fn not_oauth(claims: &Claims) -> ApiResult<()> {
    match claims.is_oauth() {
        true => Err(ApiError::TokenAudience),
        false => Ok(()),
    }
}

/// Tokens issued to Gatehouse's own clients (no `aud`).
pub struct OwnClients;

impl Admits for OwnClients {
    fn admits(claims: &Claims) -> ApiResult<()> {
        first_party(claims)
    }
}

/// A live session token that `A` admits.
pub struct Session<A>(pub Arc<Claims>, PhantomData<A>);

/// A live session token of any audience: first-party or issued for a partner.
pub type AnySession = Session<AnyAudience>;

/// Any live token, OpenID Connect access tokens included (`GET /token`).
pub type CheckedToken = Session<AnyToken>;

/// A live token issued to Gatehouse's own clients (no `aud`): may change the account.
pub type FirstParty = Session<OwnClients>;

impl<A> Deref for Session<A> {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl<A: Admits + 'static> FromRequest for Session<A> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, ApiResult<Self>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Mapped, not awaited in an async block: that would keep the check's future twice
        // over, once as captured and once as awaited, in a box allocated on every request.
        Box::pin(live_claims(req, payload).map(|checked| {
            let (_, claims) = checked?;
            A::admits(&claims)?;
            Ok(Session(claims, PhantomData))
        }))
    }
}

/// Refuses a token issued for a partner where only Gatehouse's own clients may act.
pub fn first_party(claims: &Claims) -> ApiResult<()> {
    match claims.aud {
        Some(_) => Err(ApiError::TokenAudience),
        None => Ok(()),
    }
}

/// An operator: a first-party token whose account has the operator role.
pub struct Operator {
    pub claims: Arc<Claims>,
    pub user: UserRow,
}

impl Operator {
    /// This operator as the audit trail names who made a change through the JSON API.
    pub fn by(&self, req: &actix_web::HttpRequest, proxies: &[ipnet::IpNet]) -> crate::audit::By {
        crate::audit::By::operator(&self.user.id, "api", crate::audit::Origin::of(req, proxies))
    }
}

impl FromRequest for Operator {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, ApiResult<Self>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let claims = live_claims(req, payload);
        Box::pin(async move {
            let (state, claims) = claims.await?;
            first_party(&claims)?;
            let user = load_self(&state, &claims.sub).await?;
            if !user.is_admin() {
                return Err(ApiError::Forbidden);
            }
            Ok(Operator { claims, user })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(aud: Option<&str>) -> Claims {
        Claims {
            iss: "http://sso.test".into(),
            sub: "u".into(),
            id: "u".into(),
            sid: "s".into(),
            jti: "j".into(),
            iat: 0,
            exp: 1,
            delay_time: 2,
            terminal: "PC".into(),
            user_agent: String::new(),
            phone: None,
            openid: None,
            aud: aud.map(str::to_owned),
            scope: None,
            client_id: None,
        }
    }

    #[test]
    fn a_partner_token_is_not_first_party() {
        assert!(first_party(&claims(None)).is_ok());
        assert!(matches!(
            first_party(&claims(Some("gh_partner"))),
            Err(ApiError::TokenAudience)
        ));
    }

    #[test]
    fn own_clients_admit_only_first_party_tokens_and_any_audience_admits_both() {
        let partner = claims(Some("gh_partner"));
        assert!(OwnClients::admits(&claims(None)).is_ok());
        assert!(matches!(
            OwnClients::admits(&partner),
            Err(ApiError::TokenAudience)
        ));
        assert!(AnyAudience::admits(&claims(None)).is_ok());
        assert!(AnyAudience::admits(&partner).is_ok());
    }
}
