//! python-cas (PyPI, unchanged) as a CAS service's back end: `tests/clients/python-cas/`.
//! Protocol versions 3, 2 and 1, `renew`, attributes, and its own check of Gatehouse's
//! single-logout body.

use std::process::Command;

use super::slo::Service;
use super::*;
use crate::oidc::{USER, follow_authorization, local, prepare, sign_in_for_flow};
use crate::pages::query_param;

const SCRIPT: &str = "tests/clients/python-cas/client.py";

fn installed() -> bool {
    Command::new("python3")
        .args(["-c", "import cas, lxml"])
        .status()
        .is_ok_and(|s| s.success())
}

fn run(command: Value) -> Value {
    let out = python(&[SCRIPT], command.to_string().as_bytes());
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_cas_validates_in_every_version_and_accepts_the_logout_request() {
    if !installed() {
        return skip_without("python3 with python-cas (tests/clients/python-cas/install.sh)");
    }
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = prepare(&app).await;
    let slo = Service::start(200);
    let (status, body) = app
        .send_with_token(
            reqwest::Method::POST,
            "/admin/api/clients",
            &admin,
            json!({ "name": "python-cas", "mode": "cas", "callbacks": [SERVICE],
                    "logout_url": format!("{}/slo", slo.base) }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let service = "https://app.example/cas/login?next=%2Fhome";
    let server = format!("{}/cas/", app.address);
    let command = |doing: &str, version: u8, renew: bool| {
        json!({ "do": doing, "server_url": server, "service_url": service,
                "version": version, "renew": renew })
    };

    let mut browser = Browser::new(&app);
    let mut tickets = Vec::new();
    let mut users = Vec::new();
    for version in [3, 2, 1] {
        let url = run(command("login_url", version, false))["url"]
            .as_str()
            .unwrap()
            .to_owned();
        let ticket = query_param(
            &follow_authorization(&mut browser, &local(&url)).await,
            "ticket",
        );
        let mut verify = command("verify", version, false);
        verify["ticket"] = json!(ticket);
        let answer = run(verify);
        let user = answer["user"].as_str().unwrap_or_default().to_owned();
        assert!(!user.is_empty(), "version {version}: {answer}");
        if version > 1 {
            let attributes = &answer["attributes"];
            let new_login = if version == 3 { "true" } else { "false" };
            assert_eq!(attributes["isFromNewLogin"], new_login, "{answer}");
            assert_eq!(attributes["phone"], USER, "{answer}");
            assert!(attributes["authenticationDate"].is_string(), "{answer}");
            assert_eq!(answer["pgtiou"], Value::Null);
        }
        users.push(user);
        tickets.push(ticket);
    }
    assert!(users.iter().all(|u| u == &users[0]), "{users:?}");

    // renew: the library's login URL makes the person sign in again.
    let url = run(command("login_url", 3, true))["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.contains("renew=true"), "{url}");
    let page = browser.get(&local(&url)).await;
    assert!(page.location.contains("/login?flow="), "{}", page.location);
    let signed_in = sign_in_for_flow(&mut browser, &page.location).await;
    let back = browser.get(&local(&signed_in.location)).await;
    let ticket = query_param(&back.location, "ticket");
    let mut verify = command("verify", 3, true);
    verify["ticket"] = json!(ticket);
    let answer = run(verify);
    assert_eq!(answer["user"], users[0].as_str());
    assert_eq!(answer["attributes"]["isFromNewLogin"], "true", "{answer}");
    tickets.push(ticket);

    // Signing out: one logout request per validated ticket, each accepted by the library for
    // its own ticket only.
    let out = browser.get("/cas/logout").await;
    assert_eq!(out.status, 200);
    let got = slo.wait_for(tickets.len()).await;
    for (_, body) in &got {
        let valid: Vec<bool> = tickets
            .iter()
            .map(|t| run(json!({ "do": "logout", "body": body, "ticket": t }))["valid"] == true)
            .collect();
        assert_eq!(valid.iter().filter(|v| **v).count(), 1, "{body}: {valid:?}");
    }
}
