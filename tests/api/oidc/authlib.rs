//! authlib (PyPI, unchanged) as three relying parties: `tests/clients/authlib/rp.py`.

use std::process::Command;

use serde_json::{Value, json};

use super::*;

fn authlib_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import authlib, joserfc, requests"])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn authlib_signs_in_validates_refreshes_revokes_and_logs_out() {
    if !authlib_installed() {
        return skip_without("python3 with authlib (tests/clients/authlib/install.sh)");
    }
    let (app, admin) = provider().await;
    let port = free_port();
    let uri = |n: &str| format!("https://rp.example/authlib/{n}");
    let rs256 = register(
        &app,
        &admin,
        json!({
            "name": "authlib RS256",
            "redirect_uris": [uri("rs256")],
            "post_logout_redirect_uris": ["https://rp.example/authlib/bye"],
            "logout_url": format!("http://127.0.0.1:{port}/backchannel"),
        }),
    )
    .await;
    let eddsa = register(
        &app,
        &admin,
        json!({
            "name": "authlib EdDSA",
            "redirect_uris": [uri("eddsa")],
            "token_endpoint_auth_method": "client_secret_post",
            "id_token_signed_response_alg": "EdDSA",
        }),
    )
    .await;
    let public = register(
        &app,
        &admin,
        json!({
            "name": "authlib public",
            "redirect_uris": [uri("public")],
            "token_endpoint_auth_method": "none",
        }),
    )
    .await;
    let config = json!({
        "issuer": app.address,
        "user": USER,
        "password": PASSWORD,
        "backchannel_port": port,
        "post_logout_redirect_uri": "https://rp.example/authlib/bye",
        "clients": [
            { "name": "rs256", "client_id": rs256.client_id, "secret": rs256.secret, "redirect_uri": rs256.redirect },
            { "name": "eddsa", "client_id": eddsa.client_id, "secret": eddsa.secret, "redirect_uri": eddsa.redirect, "auth": "client_secret_post" },
            { "name": "public", "client_id": public.client_id, "secret": null, "redirect_uri": public.redirect },
        ],
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/authlib/rp.py");
    let output =
        tokio::task::spawn_blocking(move || python(&[script], config.to_string().as_bytes()))
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "authlib RP failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for step in [
        "discovery",
        "refresh_reuse_revokes",
        "eddsa",
        "public",
        "rp_logout",
        "backchannel",
    ] {
        assert_eq!(results[step], true, "{step}: {results}");
    }
    assert_eq!(results["rs256"]["phone_number"], "+8613800138000");
    // Gatehouse recorded the back-channel delivery as delivered.
    let (status, deliveries) = app.get_with_token("/admin/api/deliveries", &admin).await;
    assert_eq!(status, 200);
    let mine: Vec<&Value> = deliveries["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["client_id"] == rs256.client_id.as_str())
        .collect();
    assert!(!mine.is_empty());
    for _ in 0..50 {
        let (_, deliveries) = app.get_with_token("/admin/api/deliveries", &admin).await;
        if deliveries["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["client_id"] == rs256.client_id.as_str() && d["state"] == "delivered")
        {
            return;
        }
        sleep_ms(100).await;
    }
    panic!("the back-channel delivery to authlib's RP was not recorded as delivered");
}
