//! For the vendors' tests: a local HTTP server that speaks a vendor's wire protocol, the
//! client that calls it, and an endpoint where nothing listens.

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};

use super::{Vendor, VendorError};

/// The vendor's own error code of a refusal, or a panic naming what came back instead.
pub(super) fn refusal_code(result: Result<(), VendorError>, expected: &str) -> String {
    match result {
        Err(VendorError::Refused { code, .. }) => code,
        other => panic!("expected {expected}, got {other:?}"),
    }
}

/// What every vendor's local server is set up for: with the `secret` it was started with,
/// mainland and international numbers are taken and the limited number 13900139000 comes
/// back as `limited`; with another secret, a send comes back as `bad_signature`. `config`
/// makes the client for a secret.
pub(super) async fn common_scenario<C: Vendor>(
    config: impl Fn(&str) -> C,
    secret: &str,
    limited: &str,
    bad_signature: &str,
) {
    let http = client();
    let good = config(secret);
    for phone in ["13800138000", "+85291234567"] {
        good.send(&http, phone, "123456").await.expect(phone);
    }
    let answer = good.send(&http, "13900139000", "123456").await;
    assert_eq!(refusal_code(answer, "the limit refusal"), limited);
    let answer = config("not-the-secret")
        .send(&http, "13800138000", "123456")
        .await;
    assert_eq!(refusal_code(answer, "the signature refusal"), bad_signature);
}

/// A client whose endpoint has nothing listening gets a network error.
pub(super) async fn unreachable_is_a_network_error<C: Vendor>(dead: &C) {
    let err = dead
        .send(&client(), "13800138000", "123456")
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, VendorError::Network(_)), "{err:?}");
}

/// Serves what `configure` sets up on a free local port; returns its base URL.
pub(super) fn start<F>(configure: F) -> (String, ServerHandle)
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let server = HttpServer::new(move || App::new().configure(configure.clone()))
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (format!("http://{addr}"), handle)
}

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// A local URL nothing listens on (a listener bound, then dropped).
pub(super) fn dead_endpoint() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    format!("http://127.0.0.1:{port}")
}
