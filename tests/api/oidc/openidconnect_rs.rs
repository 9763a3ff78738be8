//! The Rust relying party `openidconnect` 4 (crates.io, unchanged) against the provider
//! (PROTOCOLS §5-6). The crate discovers the provider, builds the authorization URL (PKCE S256,
//! state, nonce), which the browser follows through the real sign-in pages, exchanges the code,
//! validates the ID token (signature from the JWKS, `iss`, `aud`, `exp`, nonce) and its
//! `at_hash`, fetches userinfo and refreshes, for an RS256 and an EdDSA client. The crate has no
//! back-channel logout support, so the logout token each client then receives is checked with
//! `jsonwebtoken`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::web;
use jsonwebtoken::Algorithm;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreIdToken, CoreIdTokenClaims,
    CoreIdTokenVerifier, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreTokenResponse,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AsyncHttpClient, AuthType, AuthorizationCode, ClaimsVerificationError,
    ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest,
    IssuerUrl, Nonce, NonceVerifier, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};
use serde_json::json;
use tokio::sync::mpsc;

use super::flows::verify_with_jwks;
use super::*;

/// The client `CoreClient::from_provider_metadata` makes: authorization endpoint set; token
/// and userinfo endpoints as the metadata has them.
type Rp4 = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

const PHONE: &str = "+8613800138000";

/// The crate's HTTP client: the harness's reqwest, which follows no redirects (as the crate
/// asks of its clients).
struct Http(reqwest::Client);

type Answer<'c> =
    Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, reqwest::Error>> + 'c>>;

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = reqwest::Error;
    type Future = Answer<'c>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.0.execute(request.try_into()?).await?;
            let mut answer = openidconnect::http::Response::builder().status(response.status());
            *answer.headers_mut().expect("a fresh builder") = response.headers().clone();
            Ok(answer
                .body(response.bytes().await?.to_vec())
                .expect("a response from a response's parts"))
        })
    }
}

/// A back-channel logout endpoint: its URL and the `logout_token` of each POST it receives.
fn logout_receiver() -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/bc",
        listener.local_addr().unwrap().port()
    );
    let (tx, rx) = mpsc::unbounded_channel();
    serve_every_path(listener, move || {
        let tx = tx.clone();
        web::post().to(move |form: web::Form<HashMap<String, String>>| {
            let tx = tx.clone();
            async move {
                match form.into_inner().remove("logout_token") {
                    Some(token) => {
                        tx.send(token).unwrap();
                        actix_web::HttpResponse::Ok().finish()
                    }
                    None => actix_web::HttpResponse::BadRequest().finish(),
                }
            }
        })
    });
    (url, rx)
}

/// Discovery by the crate, and a client for `rp` from the metadata it found.
async fn discovered_client(app: &TestApp, http: &Http, rp: &Rp) -> Rp4 {
    let issuer = IssuerUrl::new(app.address.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, http)
        .await
        .unwrap_or_else(|e| panic!("discovery: {e:?}"));
    assert_eq!(metadata.issuer().as_str(), app.address);
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.client_id.clone()),
        rp.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(rp.redirect.clone()).unwrap())
}

/// The claims of an ID token as the crate verifies them (`nonce` as `check_nonce` wants), after
/// checking it is signed with `alg` and its `at_hash` matches the access token beside it.
fn verified<'t>(
    verifier: &CoreIdTokenVerifier<'_>,
    tokens: &'t CoreTokenResponse,
    alg: &CoreJwsSigningAlgorithm,
    check_nonce: impl NonceVerifier,
) -> (&'t CoreIdToken, &'t CoreIdTokenClaims) {
    let id_token = tokens.id_token().expect("an ID token");
    assert_eq!(id_token.signing_alg().unwrap(), alg);
    let claims = id_token
        .claims(verifier, check_nonce)
        .unwrap_or_else(|e| panic!("ID token refused: {e:?}"));
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    (id_token, claims)
}

/// The session as a relying party knows it after signing in and refreshing: the ID token's
/// `sub` and `sid`, the refresh token in hand and the latest ID token.
struct SignedIn {
    sub: String,
    sid: String,
    refresh: RefreshToken,
    id_token: CoreIdToken,
}

/// Everything the crate does for one client, with the browser through Gatehouse's pages.
async fn sign_in_and_refresh(
    app: &TestApp,
    http: &Http,
    client: &Rp4,
    verifier: &CoreIdTokenVerifier<'_>,
    alg: CoreJwsSigningAlgorithm,
) -> SignedIn {
    let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(["profile", "email", "phone"].map(|s| Scope::new(s.into())))
        .set_pkce_challenge(challenge)
        .url();
    let built = url.as_str();
    assert!(
        built.starts_with(&format!("{}/oauth2/authorize?", app.address)),
        "{built}"
    );
    assert_eq!(query_param(built, "code_challenge_method"), "S256");
    let mut browser = Browser::new(app);
    let to = follow_authorization(&mut browser, &local(built)).await;
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(&query_param(&to, "state"), state.secret());
    let code = code_of(app, &to);

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(pkce_verifier)
        .request_async(http)
        .await
        .unwrap_or_else(|e| panic!("code exchange: {e:?}"));
    let scopes: Vec<&str> = tokens.scopes().unwrap().iter().map(|s| &***s).collect();
    assert_eq!(scopes, ["openid", "profile", "email", "phone"]);
    let (id_token, claims) = verified(verifier, &tokens, &alg, &nonce);
    assert_eq!(claims.phone_number().map(|p| p.as_str()), Some(PHONE));
    assert_eq!(claims.phone_number_verified(), Some(true));
    let sub = claims.subject().clone();
    let sid = crate::helpers::claims(&id_token.to_string())["sid"]
        .as_str()
        .expect("a sid")
        .to_owned();

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(sub.clone()))
        .unwrap()
        .request_async(http)
        .await
        .unwrap_or_else(|e| panic!("userinfo: {e:?}"));
    assert_eq!(info.phone_number().map(|p| p.as_str()), Some(PHONE));

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .unwrap()
        .request_async(http)
        .await
        .unwrap_or_else(|e| panic!("refresh: {e:?}"));
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    let (new_id, again) = verified(verifier, &refreshed, &alg, |n: Option<&Nonce>| match n {
        None => Ok(()),
        Some(n) => Err(format!("a refreshed ID token with nonce {}", n.secret())),
    });
    assert_eq!(again.subject(), &sub);
    assert_eq!(again.auth_time(), claims.auth_time());
    assert_eq!(again.auth_method_refs(), claims.auth_method_refs());
    assert_eq!(
        crate::helpers::claims(&new_id.to_string())["sid"],
        sid.as_str()
    );
    SignedIn {
        sub: sub.to_string(),
        sid,
        refresh: refreshed.refresh_token().expect("rotated").clone(),
        id_token: new_id.clone(),
    }
}

/// The operator ends the person's session; the client's back channel receives a logout token
/// in the client's alg, checked as OpenID Back-Channel Logout 1.0 §2.6 asks a relying party to;
/// the crate's refresh is refused afterwards.
async fn signed_out_by_operator(
    app: &TestApp,
    admin: &str,
    http: &Http,
    client: &Rp4,
    session: SignedIn,
    logouts: &mut mpsc::UnboundedReceiver<String>,
    alg: Algorithm,
) {
    let path = format!("/admin/api/users/{}/signout", session.sub);
    let before = chrono::Utc::now().timestamp();
    let (status, body) = app
        .send_with_token(reqwest::Method::POST, &path, admin, json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let token = tokio::time::timeout(Duration::from_secs(10), logouts.recv())
        .await
        .expect("a logout token within 10 s")
        .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, alg);
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let claims = verify_with_jwks(app, &token, client.client_id().as_str()).await;
    assert!(
        claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object(),
        "{claims}"
    );
    assert_eq!(claims["sid"], session.sid.as_str());
    assert_eq!(claims["sub"], session.sub.as_str());
    assert!(claims.get("nonce").is_none(), "{claims}");
    assert!(claims["jti"].is_string(), "{claims}");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    let now = chrono::Utc::now().timestamp();
    assert!(
        (before - 5..=now + 5).contains(&iat),
        "iat {iat}, now {now}"
    );
    assert!(exp > now && exp - iat <= 600, "iat {iat}, exp {exp}");

    let refused = client
        .exchange_refresh_token(&session.refresh)
        .unwrap()
        .request_async(http)
        .await
        .expect_err("a refresh after the session ended");
    match refused {
        RequestTokenError::ServerResponse(e) => {
            assert_eq!(*e.error(), CoreErrorResponseType::InvalidGrant)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_confidential_rs256_client_on_openidconnect_signs_in_refreshes_and_hears_the_logout() {
    let (app, admin) = provider().await;
    let (logout_url, mut logouts) = logout_receiver();
    let rp = register(&app, &admin, json!({ "logout_url": logout_url })).await;
    let http = Http(app.client.clone());
    let client = discovered_client(&app, &http, &rp).await;
    assert!(matches!(client.auth_type(), AuthType::BasicAuth));
    // The crate's own verifier: the metadata's algs, the client secret, this issuer.
    let verifier = client.id_token_verifier();
    let alg = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
    let session = sign_in_and_refresh(&app, &http, &client, &verifier, alg).await;
    signed_out_by_operator(
        &app,
        &admin,
        &http,
        &client,
        session,
        &mut logouts,
        Algorithm::RS256,
    )
    .await;
}

#[tokio::test]
async fn an_eddsa_client_on_openidconnect_signs_in_refreshes_and_hears_the_logout() {
    let (app, admin) = provider().await;
    let (logout_url, mut logouts) = logout_receiver();
    let registration = json!({
        "id_token_signed_response_alg": "EdDSA",
        "token_endpoint_auth_method": "client_secret_post",
        "logout_url": logout_url,
    });
    let rp = register(&app, &admin, registration).await;
    let http = Http(app.client.clone());
    let client = discovered_client(&app, &http, &rp)
        .await
        .set_auth_type(AuthType::RequestBody);
    // Pinned to the registered alg: the OKP key from the JWKS, SHA-512 for `at_hash`.
    let alg = CoreJwsSigningAlgorithm::EdDsa;
    let verifier = client.id_token_verifier().set_allowed_algs([alg.clone()]);
    let session = sign_in_and_refresh(&app, &http, &client, &verifier, alg).await;

    // The same client pinned to RS256 refuses these ID tokens: the alg is really checked.
    let rs256_only = client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    let no_nonce = |_: Option<&Nonce>| Ok(());
    match session.id_token.claims(&rs256_only, no_nonce) {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::DisallowedAlg(_),
        )) => {}
        other => panic!("{other:?}"),
    }

    signed_out_by_operator(
        &app,
        &admin,
        &http,
        &client,
        session,
        &mut logouts,
        Algorithm::EdDSA,
    )
    .await;
}
