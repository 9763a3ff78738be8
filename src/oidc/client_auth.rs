//! A client proving who it is (PROTOCOLS §3.4): by its registered method only, and by one
//! method at a time.

use actix_web::HttpRequest;

use super::error::{OAuthError, OAuthResult};
use super::params::{Params, form_decode};
use crate::http::auth::{UnreadableBasic, basic_in_headers};
use crate::partners::{self, AuthMethod, ClientRow};
use crate::state::AppState;

/// Whether a public client (method `none`, no secret) may call the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Public {
    Allowed,
    Refused,
}

/// `client_id` and secret from HTTP Basic: base64, then each part form-url-decoded
/// (RFC 6749 §2.3.1), so `_` sent as `%5F` and `+` as a space read as they must. `Err` when
/// Basic was sent but is unreadable.
fn basic(req: &HttpRequest) -> Result<Option<(String, String)>, UnreadableBasic> {
    Ok(basic_in_headers(req)?
        .map(|(id, secret)| (form_decode(id.as_bytes()), form_decode(secret.as_bytes()))))
}

/// The enabled OpenID Connect client the request authenticates as, or 401 `invalid_client`.
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    p: &Params,
    public: Public,
) -> OAuthResult<ClientRow> {
    let basic = basic(req).map_err(|_| OAuthError::invalid_client(true))?;
    let sent_basic = basic.is_some();
    let refuse = || OAuthError::invalid_client(sent_basic);
    if p.is_repeated("client_id") || p.is_repeated("client_secret") {
        return Err(refuse());
    }
    if p.get("client_assertion").is_some() || p.get("client_assertion_type").is_some() {
        return Err(refuse());
    }
    let body_id = p.get("client_id");
    let body_secret = p.get("client_secret");
    let (client_id, method, secret) = match (basic, body_secret) {
        (Some(_), Some(_)) => return Err(refuse()),
        (Some((id, secret)), None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(refuse());
            }
            (id, AuthMethod::Basic, Some(secret))
        }
        (None, Some(secret)) => (
            body_id.ok_or_else(refuse)?.to_owned(),
            AuthMethod::Post,
            Some(secret.to_owned()),
        ),
        (None, None) => (
            body_id.ok_or_else(refuse)?.to_owned(),
            AuthMethod::None,
            None,
        ),
    };
    if secret.as_ref().is_some_and(|s| s.len() > 256) {
        return Err(refuse());
    }
    let client = partners::oidc_client(state, &client_id)
        .await
        .map_err(OAuthError::from)?
        .ok_or_else(refuse)?;
    if client.auth_method() != Some(method) {
        return Err(refuse());
    }
    match (method, secret) {
        (AuthMethod::None, _) if public == Public::Allowed => Ok(client),
        (AuthMethod::None, _) => Err(refuse()),
        (_, Some(secret)) if client.secret_matches(&secret) => Ok(client),
        _ => Err(refuse()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::AUTHORIZATION;
    use actix_web::test::TestRequest;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    fn with_basic(raw: &str) -> HttpRequest {
        TestRequest::default()
            .insert_header((AUTHORIZATION, format!("Basic {}", STANDARD.encode(raw))))
            .to_http_request()
    }

    #[test]
    fn basic_credentials_are_form_url_decoded_after_base64() {
        let req = with_basic("gh%5Fabc:s%2Bx+y%3A");
        assert_eq!(
            basic(&req),
            Ok(Some(("gh_abc".to_owned(), "s+x y:".to_owned())))
        );
        let plain = with_basic("gh_abc:secret");
        assert_eq!(
            basic(&plain),
            Ok(Some(("gh_abc".to_owned(), "secret".to_owned())))
        );
        let broken = TestRequest::default()
            .insert_header((AUTHORIZATION, "Basic !!!"))
            .to_http_request();
        assert_eq!(basic(&broken), Err(UnreadableBasic));
        let bearer = TestRequest::default()
            .insert_header((AUTHORIZATION, "Bearer x"))
            .to_http_request();
        assert_eq!(basic(&bearer), Ok(None));
    }
}
