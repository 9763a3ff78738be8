//! What a CAS service sees (PROTOCOLS §4): a ticket from `/cas/login` (through the sign-in
//! page or single sign-on), validated once in each protocol version, and every refusal the
//! contract lists.

use super::*;
use crate::both_backends;
use crate::oidc::{USER, follow_authorization, local, prepare, sign_in_for_flow};
use crate::pages::{query_param, urlencode};

/// The service URL a CAS client sends: under the registered rule, with a query of its own.
const AT: &str = "https://app.example/cas/login?next=%2Fhome";

/// A server with a person (`USER`) and a CAS service registered by the operator.
async fn cas_provider() -> TestApp {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    register_service(&app).await;
    app
}

async fn register_service(app: &TestApp) {
    let admin = prepare(app).await;
    let (status, body) = app
        .send_with_token(
            reqwest::Method::POST,
            "/admin/api/clients",
            &admin,
            json!({ "name": "Library", "mode": "cas", "callbacks": [SERVICE] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

fn login_path(service: &str, extra: &str) -> String {
    format!("/cas/login?service={}{extra}", urlencode(service))
}

/// The ticket in a redirect to the service, after checking the service's own URL is kept.
fn ticket_in(location: &str) -> String {
    assert!(
        location.starts_with(&format!("{AT}&ticket=ST-")),
        "{location}"
    );
    query_param(location, "ticket")
}

async fn validate(app: &TestApp, path: &str, service: &str, ticket: &str, extra: &str) -> String {
    let query = format!(
        "?service={}&ticket={}{extra}",
        urlencode(service),
        urlencode(ticket)
    );
    get_text(app, &format!("{path}{query}")).await
}

/// A back end's GET: CAS answers 200 whatever the outcome.
async fn get_text(app: &TestApp, path_and_query: &str) -> String {
    let res = app
        .client
        .get(format!("{}{path_and_query}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path_and_query}");
    res.text().await.unwrap()
}

fn failure_code(xml: &str) -> String {
    attr_value(xml, "<cas:authenticationFailure code=\"")
}

fn attr_value(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} in {text}"))
        + prefix.len();
    text[start..].split('"').next().unwrap().to_owned()
}

fn element(xml: &str, name: &str) -> String {
    let open = format!("<cas:{name}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("{open} in {xml}")) + open.len();
    xml[start..].split('<').next().unwrap().to_owned()
}

both_backends! {
async fn a_ticket_validates_once_for_its_service_in_every_protocol_version(app) {
    register_service(&app).await;
    let mut browser = Browser::new(&app);
    let first = follow_authorization(&mut browser, &login_path(AT, "")).await;
    let ticket = ticket_in(&first);
    assert_eq!(ticket.len(), 67, "ST- and 64 hex digits: {ticket}");

    let xml = validate(&app, "/cas/p3/serviceValidate", AT, &ticket, "").await;
    assert!(
        xml.starts_with("<cas:serviceResponse xmlns:cas=\"http://www.yale.edu/tp/cas\">"),
        "{xml}"
    );
    let user = element(&xml, "user");
    assert!(!user.is_empty(), "{xml}");
    assert_eq!(element(&xml, "isFromNewLogin"), "true");
    assert_eq!(
        element(&xml, "longTermAuthenticationRequestTokenUsed"),
        "false"
    );
    assert!(element(&xml, "phone").contains(&USER[1..]), "{xml}");
    let date = element(&xml, "authenticationDate");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&date).is_ok() && date.ends_with('Z'),
        "{date}"
    );
    // Used up: a second validation, by any version, fails.
    let again = validate(&app, "/cas/p3/serviceValidate", AT, &ticket, "").await;
    assert_eq!(failure_code(&again), "INVALID_TICKET");

    // Single sign-on: the next ticket comes without the sign-in page.
    let sso = browser.get(&login_path(AT, "")).await;
    assert_eq!(sso.status, 302, "{}", sso.body);
    let json_answer = validate(
        &app,
        "/cas/serviceValidate",
        AT,
        &ticket_in(&sso.location),
        "&format=JSON",
    )
    .await;
    let answer: Value = serde_json::from_str(&json_answer).unwrap();
    let success = &answer["serviceResponse"]["authenticationSuccess"];
    assert_eq!(success["user"], user.as_str(), "{answer}");
    assert_eq!(success["attributes"]["isFromNewLogin"], json!(["false"]));

    let v1 = browser.get(&login_path(AT, "")).await;
    let ticket = ticket_in(&v1.location);
    assert_eq!(
        validate(&app, "/cas/validate", AT, &ticket, "").await,
        format!("yes\n{user}\n")
    );
    assert_eq!(
        validate(&app, "/cas/validate", AT, &ticket, "").await,
        "no\n\n"
    );
}
}

/// A browser signed in through `/cas/login`, and the ticket it brought back.
async fn signed_in(app: &TestApp) -> (Browser<'_>, String) {
    let mut browser = Browser::new(app);
    let first = follow_authorization(&mut browser, &login_path(AT, "")).await;
    (browser, ticket_in(&first))
}

#[tokio::test]
async fn every_refusal_is_a_cas_failure_and_uses_the_ticket_up() {
    let app = cas_provider().await;
    let (mut browser, ticket) = signed_in(&app).await;
    // Another service (same origin, other query): refused, and the ticket is gone.
    let other = "https://app.example/cas/login?next=%2Fadmin";
    let xml = validate(&app, "/cas/p3/serviceValidate", other, &ticket, "").await;
    assert_eq!(failure_code(&xml), "INVALID_SERVICE");
    let xml = validate(&app, "/cas/p3/serviceValidate", AT, &ticket, "").await;
    assert_eq!(failure_code(&xml), "INVALID_TICKET");

    // A ticket without a service is a bad request, and is used up too.
    let ticket = ticket_in(&browser.get(&login_path(AT, "")).await.location);
    let xml = get_text(&app, &format!("/cas/serviceValidate?ticket={ticket}")).await;
    assert_eq!(failure_code(&xml), "INVALID_REQUEST");
    let xml = validate(&app, "/cas/serviceValidate", AT, &ticket, "").await;
    assert_eq!(failure_code(&xml), "INVALID_TICKET");

    // `renew` asks for a ticket from a new sign-in; single sign-on's is refused.
    let ticket = ticket_in(&browser.get(&login_path(AT, "")).await.location);
    let xml = validate(&app, "/cas/serviceValidate", AT, &ticket, "&renew=true").await;
    assert_eq!(failure_code(&xml), "INVALID_TICKET_SPEC");

    // Proxy tickets do not exist, and nothing else passes for a service ticket.
    let forged = format!("PT-{}", "0".repeat(64));
    let xml = validate(&app, "/cas/proxyValidate", AT, &forged, "").await;
    assert_eq!(failure_code(&xml), "INVALID_TICKET");
    let proxy = get_text(&app, "/cas/proxy?pgt=PGT-1&targetService=x").await;
    assert_eq!(
        attr_value(&proxy, "<cas:proxyFailure code=\""),
        "UNAUTHORIZED_SERVICE"
    );

    // A service nobody registered gets the error page, with no redirect.
    let page = browser
        .get(&login_path("https://evil.example/cas/login", ""))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.location.is_empty(), "{}", page.location);
    let page = browser.post(&login_path(AT, ""), &[("service", AT)]).await;
    assert_eq!(page.status, 400, "only GET signs in");
}

#[tokio::test]
async fn renew_shows_the_sign_in_page_and_gateway_never_does() {
    let app = cas_provider().await;
    let mut anonymous = Browser::new(&app);
    let gateway = anonymous.get(&login_path(AT, "&gateway=true")).await;
    assert_eq!(gateway.status, 302);
    assert_eq!(gateway.location, AT, "back to the service unchanged");

    let mut browser = Browser::new(&app);
    follow_authorization(&mut browser, &login_path(AT, "")).await;
    let renew = browser.get(&login_path(AT, "&renew=true")).await;
    assert_eq!(renew.status, 302);
    assert!(
        renew.location.contains("/login?flow="),
        "{}",
        renew.location
    );
    let signed_in = sign_in_for_flow(&mut browser, &renew.location).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let back = browser.get(&local(&signed_in.location)).await;
    let ticket = ticket_in(&back.location);
    let xml = validate(&app, "/cas/p3/serviceValidate", AT, &ticket, "&renew=true").await;
    assert_eq!(element(&xml, "isFromNewLogin"), "true", "{xml}");
}

#[tokio::test]
async fn a_ticket_from_an_ended_session_is_invalid_and_logout_goes_back_to_the_service() {
    let app = cas_provider().await;
    let (mut browser, ticket) = signed_in(&app).await;
    let out = browser
        .get(&format!("/cas/logout?service={}", urlencode(AT)))
        .await;
    assert_eq!(out.status, 302);
    assert_eq!(out.location, AT);
    let xml = validate(&app, "/cas/p3/serviceValidate", AT, &ticket, "").await;
    assert_eq!(failure_code(&xml), "INVALID_TICKET");
    // Signed out: the next /cas/login asks for a sign-in.
    let next = browser.get(&login_path(AT, "")).await;
    assert!(next.location.contains("/login?flow="), "{}", next.location);
    // An unregistered return URL gets the signed-out page instead.
    let page = browser
        .get("/cas/logout?url=https%3A%2F%2Fevil.example%2F")
        .await;
    assert_eq!(page.status, 200);
    assert!(page.location.is_empty());
}
