//! CAS single logout (PROTOCOLS §1, §4): ending the session sends each CAS service one SAML
//! `logoutRequest` per ticket it validated, through the durable outbox.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};

use super::*;
use crate::oidc::{follow_authorization, prepare};
use crate::pages::{query_param, urlencode};

/// A CAS client's logout endpoint: keeps each raw body with its path and query, and answers
/// with a fixed status.
pub(super) struct Service {
    pub(super) base: String,
    pub(super) got: Arc<Mutex<Vec<(String, String)>>>,
}

impl Service {
    pub(super) fn start(status: u16) -> Service {
        let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let kept = got.clone();
        let server = actix_web::HttpServer::new(move || {
            let kept = kept.clone();
            actix_web::App::new().default_service(web::to(
                move |req: HttpRequest, body: web::Bytes| {
                    let kept = kept.clone();
                    async move {
                        let at = req.uri().to_string();
                        kept.lock()
                            .unwrap()
                            .push((at, String::from_utf8_lossy(&body).into_owned()));
                        let code = actix_web::http::StatusCode::from_u16(status).unwrap();
                        HttpResponse::build(code)
                            .insert_header(("location", "/login"))
                            .finish()
                    }
                },
            ))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Service {
            base: format!("http://127.0.0.1:{port}"),
            got,
        }
    }

    pub(super) async fn wait_for(&self, n: usize) -> Vec<(String, String)> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} logout requests, got {:?}",
            self.got.lock().unwrap()
        );
    }
}

async fn register(app: &TestApp, admin: &str, name: &str, rule: String, logout: Option<String>) {
    let (status, body) = app
        .send_with_token(
            reqwest::Method::POST,
            "/admin/api/clients",
            admin,
            json!({ "name": name, "mode": "cas", "callbacks": [rule], "logout_url": logout }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// A ticket for `service` (the browser signs in when it has to), validated by the service.
pub(super) async fn validated(app: &TestApp, browser: &mut Browser<'_>, service: &str) -> String {
    let path = format!("/cas/login?service={}", urlencode(service));
    let ticket = query_param(&follow_authorization(browser, &path).await, "ticket");
    let url = format!(
        "{}/cas/p3/serviceValidate?service={}&ticket={ticket}",
        app.address,
        urlencode(service)
    );
    let xml = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("<cas:authenticationSuccess>"), "{xml}");
    ticket
}

fn session_index(body: &str) -> String {
    let xml = body.strip_prefix("logoutRequest=").expect(body);
    let start = xml.find("<samlp:SessionIndex>").expect(xml) + "<samlp:SessionIndex>".len();
    xml[start..].split('<').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_sends_each_validated_ticket_a_logout_request() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = prepare(&app).await;
    let library = Service::start(200);
    let wiki = Service::start(302);
    let gone = Service::start(404);
    register(
        &app,
        &admin,
        "Library",
        format!("{}/app/*", library.base),
        Some(format!("{}/slo", library.base)),
    )
    .await;
    // No logout URL: the request goes to the service URL the ticket was validated for.
    register(&app, &admin, "Wiki", format!("{}/*", wiki.base), None).await;
    register(
        &app,
        &admin,
        "Gone",
        format!("{}/*", gone.base),
        Some(format!("{}/slo", gone.base)),
    )
    .await;

    let mut browser = Browser::new(&app);
    let first = validated(&app, &mut browser, &format!("{}/app/login", library.base)).await;
    let second = validated(
        &app,
        &mut browser,
        &format!("{}/app/login?next=x", library.base),
    )
    .await;
    let wiki_at = format!("{}/cas?next=%2Fpage", wiki.base);
    let wiki_ticket = validated(&app, &mut browser, &wiki_at).await;
    validated(&app, &mut browser, &format!("{}/x", gone.base)).await;
    // Issued but never validated: nobody is told about it.
    let unused = browser
        .get(&format!(
            "/cas/login?service={}",
            urlencode(&format!("{}/app/unused", library.base))
        ))
        .await;
    assert_eq!(unused.status, 302);

    let out = browser.get("/cas/logout").await;
    assert_eq!(out.status, 200);

    let got = library.wait_for(2).await;
    let mut indexes: Vec<String> = got.iter().map(|(_, body)| session_index(body)).collect();
    indexes.sort();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(indexes, expected);
    assert!(got.iter().all(|(at, _)| at == "/slo"), "{got:?}");
    let got = wiki.wait_for(1).await;
    assert_eq!(got[0].0, "/cas?next=%2Fpage");
    assert_eq!(session_index(&got[0].1), wiki_ticket);
    gone.wait_for(1).await;

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, body) = app
            .get_with_token("/admin/api/deliveries?limit=100", &admin)
            .await;
        let rows = body["data"].as_array().cloned().unwrap_or_default();
        let states: Vec<(String, String)> = rows
            .iter()
            .map(|d| {
                (
                    d["kind"].as_str().unwrap().to_owned(),
                    d["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let delivered = states.iter().filter(|s| s.1 == "delivered").count();
        let failed: Vec<&Value> = rows.iter().filter(|d| d["state"] == "failed").collect();
        if delivered == 3 && failed.len() == 1 {
            assert!(
                states.iter().all(|s| s.0 == "cas_logout_request"),
                "{states:?}"
            );
            assert_eq!(failed[0]["last_error"], "service answered 404");
            break;
        }
        assert!(Instant::now() < deadline, "{states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        library.got.lock().unwrap().len(),
        2,
        "no request for the unused ticket"
    );
}
