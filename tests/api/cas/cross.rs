//! One browser session across protocols (PROTOCOLS §1): signed in for a token-mode partner,
//! an OpenID Connect client and a CAS service, it is ended by a sign-out at any one of them,
//! and all three are told.

use super::slo::{Service, validated};
use super::*;
use crate::oidc::{USER, authorize, code_of, exchange, prepare, register};
use crate::pages::query_param;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_at_any_protocol_reaches_every_kind_of_partner() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = prepare(&app).await;
    let partners = Service::start(200);
    let shop = "https://shop.example/cb";
    app.register_partner(
        &admin,
        json!({ "name": "Shop", "callbacks": [shop], "logout_url": format!("{}/shop", partners.base) }),
    )
    .await;
    let rp = register(
        &app,
        &admin,
        json!({ "logout_url": format!("{}/rp", partners.base) }),
    )
    .await;
    let service = "https://app.example/cas/login";
    let (status, body) = app
        .send_with_token(
            reqwest::Method::POST,
            "/admin/api/clients",
            &admin,
            json!({ "name": "Library", "mode": "cas", "callbacks": [SERVICE],
                    "logout_url": format!("{}/cas", partners.base) }),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    for (round, sign_out) in ["seed", "oidc", "cas"].into_iter().enumerate() {
        let mut browser = Browser::new(&app);
        let page = browser.sign_in(USER, shop).await;
        assert_eq!(page.status, 303, "{sign_out}");
        let shop_token = query_param(&page.location, "token");
        // Neither the OpenID Connect client nor the CAS service asks for a sign-in again.
        let to = authorize(&mut browser, &rp, &[]).await;
        let (_, tokens) = exchange(&app, &rp, &code_of(&app, &to), None).await;
        let id_token = tokens["id_token"].as_str().unwrap().to_owned();
        let ticket = validated(&app, &mut browser, service).await;
        assert_eq!(
            claims(&id_token)["sid"],
            claims(&shop_token)["sid"],
            "one session"
        );

        let out = match sign_out {
            "seed" => browser.get("/logout").await,
            "oidc" => {
                browser
                    .get(&format!("/oauth2/logout?id_token_hint={id_token}"))
                    .await
            }
            _ => browser.get("/cas/logout").await,
        };
        assert!(out.status < 400, "{sign_out}: {}", out.body);
        let got = partners.wait_for(3 * (round + 1)).await;
        let mut told: Vec<&str> = got[3 * round..].iter().map(|(at, _)| at.as_str()).collect();
        told.sort();
        assert_eq!(told, ["/cas", "/rp", "/shop"], "{sign_out}: {got:?}");
        let cas_body = &got[3 * round..]
            .iter()
            .find(|(at, _)| at == "/cas")
            .unwrap()
            .1;
        assert!(
            cas_body.contains(&format!("<samlp:SessionIndex>{ticket}<")),
            "{cas_body}"
        );
        assert_eq!(
            app.get_with_token("/token", &shop_token).await.0,
            401,
            "{sign_out}"
        );
    }
}
