//! For the vendors' tests: a local HTTP server that speaks a vendor's wire protocol, the
//! client that calls it, and an endpoint where nothing listens.

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};

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
