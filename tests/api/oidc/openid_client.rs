//! openid-client 6 (npm, unchanged) as a confidential RS256 relying party with HTTP Basic:
//! `tests/clients/openid-client/rp.mjs` drives the library; this test is its browser (signing
//! in on Gatehouse's own pages) and checks what the script reports and what the operator sees.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use super::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/openid-client");

/// Node and the locked openid-client 6 installed by `install.sh`.
fn openid_client_installed() -> bool {
    let installed =
        std::fs::read_to_string(Path::new(DIR).join("node_modules/openid-client/package.json"))
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .is_some_and(|p| p["version"].as_str().is_some_and(|v| v.starts_with("6.")))
            && Path::new(DIR)
                .join("node_modules/jose/package.json")
                .exists();
    installed
        && std::process::Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Follows `url` in `browser` until it leaves the provider: signs in on the sign-in page when
/// shown. The Location that left, and whether a sign-in was needed.
async fn follow(browser: &mut Browser<'_>, app: &TestApp, url: &str) -> (String, bool) {
    assert!(url.starts_with(&app.address), "{url}");
    let first = browser.get(&local(url)).await;
    assert_eq!(first.status, 302, "{}", first.body);
    if !first.location.contains("/login?flow=") {
        return (first.location, false);
    }
    let signed_in = sign_in_for_flow(browser, &first.location).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let back = browser.get(&local(&signed_in.location)).await;
    assert_eq!(back.status, 302, "{}", back.body);
    (back.location, true)
}

#[tokio::test]
async fn openid_client_signs_in_refreshes_introspects_revokes_and_logs_out_over_the_back_channel() {
    if !openid_client_installed() {
        return skip_without("node with openid-client 6 (tests/clients/openid-client/install.sh)");
    }
    let (app, admin) = provider().await;
    let port = free_port();
    let bye = "https://rp.example/openid-client/bye";
    let rp = register(
        &app,
        &admin,
        json!({
            "name": "openid-client",
            "redirect_uris": ["https://rp.example/openid-client/callback"],
            "post_logout_redirect_uris": [bye],
            "logout_url": format!("http://127.0.0.1:{port}/backchannel"),
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": "RS256",
        }),
    )
    .await;
    assert!(rp.client_id.contains('_'), "{}", rp.client_id);

    let mut child = Command::new("node")
        .arg("rp.mjs")
        .current_dir(DIR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cannot run node");
    let mut to_script = child.stdin.take().unwrap();
    let mut from_script = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let config = json!({
        "issuer": app.address,
        "client_id": rp.client_id,
        "client_secret": rp.secret,
        "redirect_uri": rp.redirect,
        "post_logout_redirect_uri": bye,
        "backchannel_port": port,
    });
    to_script
        .write_all(format!("{config}\n").as_bytes())
        .await
        .unwrap();

    let mut browser = Browser::new(&app);
    let mut browsed = Vec::new();
    let results = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), from_script.next_line())
            .await
            .expect("openid-client RP silent for 30 s")
            .unwrap();
        let Some(line) = line else {
            let status = child.wait().await.unwrap();
            panic!(
                "openid-client RP ended ({status}) without results:\n{}",
                errors.await.unwrap()
            );
        };
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a message from the RP ({e}): {line}"));
        if let Some(results) = message.get("results") {
            break results.clone();
        }
        let url = message["browse"].as_str().expect("browse or results");
        let why = message["why"].as_str().unwrap().to_owned();
        let had_session = browser.cookies.contains_key("gh_session");
        let (landed, signed_in) = follow(&mut browser, &app, url).await;
        match why.as_str() {
            "sign-in" => assert!(signed_in, "the first authorization shows the sign-in page"),
            "single-sign-on" => assert!(!signed_in, "the live session answers at once"),
            "end-session" => {
                assert!(had_session && !signed_in);
                assert!(landed.starts_with(&format!("{bye}?")), "{landed}");
                assert!(
                    !browser.cookies.contains_key("gh_session"),
                    "the session cookie is cleared: {:?}",
                    browser.cookies.keys()
                );
            }
            other => panic!("unknown step {other}"),
        }
        if why != "end-session" {
            assert!(landed.starts_with(&format!("{}?", rp.redirect)), "{landed}");
            code_of(&app, &landed);
        }
        browsed.push(why);
        to_script
            .write_all(format!("{}\n", json!({ "landed": landed })).as_bytes())
            .await
            .unwrap();
    };
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the RP exits after its results")
        .unwrap();
    assert!(
        status.success(),
        "openid-client RP failed:\n{}",
        errors.await.unwrap()
    );
    assert_eq!(browsed, ["sign-in", "single-sign-on", "end-session"]);

    // What the library accepted, as it reported it.
    let issuer = app.address.as_str();
    assert_eq!(results["discovery"]["issuer"], issuer, "{results}");
    assert_eq!(results["discovery"]["refuses_http_without_opt_in"], true);
    let code = &results["code_grant"];
    assert_eq!(
        code["basic_user"],
        rp.client_id.replace('_', "%5F"),
        "openid-client form-encodes the Basic user: {results}"
    );
    assert_eq!(code["scope"], "openid profile email phone");
    assert_eq!(code["has_refresh_token"], true);
    assert!(code["expires_in"].as_i64().unwrap() > 3500, "{results}");
    let id = &code["id_token"];
    assert_eq!(id["alg"], "RS256");
    assert_eq!(id["iss"], issuer);
    assert_eq!(id["aud"], rp.client_id.as_str());
    assert_eq!(id["amr"], json!(["pwd"]));
    assert_eq!(id["auth_time_is_number"], true);
    assert_eq!(id["nonce_matches"], true);
    assert_eq!(id["at_hash_matches"], true);
    assert_eq!(id["phone_number"], "+8613800138000");
    let sub = id["sub"].as_str().expect("sub");
    let sid = id["sid"].as_str().expect("sid");
    assert_eq!(
        results["userinfo"],
        json!({ "sub": sub, "phone_number": "+8613800138000" })
    );
    assert_eq!(
        results["introspect_access"],
        json!({
            "active": true,
            "client_id": rp.client_id,
            "sub": sub,
            "sid": sid,
            "token_type": "Bearer",
            "scope": "openid profile email phone",
        })
    );
    assert_eq!(
        results["refresh"],
        json!({
            "rotated": true,
            "same_sub": true,
            "same_sid": true,
            "same_auth_time": true,
            "nonce_absent": true,
            "at_hash_matches": true,
        })
    );
    assert_eq!(
        results["revocation"],
        json!({
            "refresh_active_before": true,
            "access_inactive_after": false,
            "refresh_untouched_by_access_revocation": true,
            "refresh_inactive_after": false,
            "refresh_grant_after": "invalid_grant",
        })
    );
    assert_eq!(
        results["reuse"],
        json!({
            "sso_same_sid": true,
            "sso_scope": "openid phone",
            "reuse_error": "invalid_grant",
            "reuse_status": 400,
            "new_access_active": false,
            "new_refresh_active": false,
            "userinfo_status": 401,
            "userinfo_challenge": "bearer",
            "userinfo_error": "invalid_token",
        })
    );
    assert_eq!(
        results["end_session"],
        json!({ "back_at_post_logout_uri": true, "state_matches": true })
    );
    assert_eq!(
        results["backchannel"],
        json!({
            "alg": "RS256",
            "typ": "logout+jwt",
            "iss": issuer,
            "aud": rp.client_id,
            "sid_matches_id_token": true,
            "sub_matches": true,
            "backchannel_event": true,
            "nonce_absent": true,
        })
    );

    // The operator sees the back-channel delivery to this client delivered.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body) = app
            .get_with_token("/admin/api/deliveries?limit=100", &admin)
            .await;
        assert_eq!(status, 200, "{body}");
        let mine: Vec<&Value> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["client_id"] == rp.client_id.as_str())
            .collect();
        assert_eq!(mine.len(), 1, "one delivery for the ended session: {body}");
        assert_eq!(mine[0]["sid"], sid, "{body}");
        if mine[0]["state"] == "delivered" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the delivery was never recorded delivered: {body}"
        );
        sleep_ms(50).await;
    }
}
