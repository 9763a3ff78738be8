//! Documents served beside the API: the OpenAPI document, its viewer and the JWKS.

use super::*;

/// The value of `attr="..."` (or `'...'`) inside one tag's text.
fn attribute(tag: &str, attr: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(attr) {
        let start = from + at;
        from = start + attr.len();
        let preceded_by_space = lower[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace);
        let rest = lower[from..].trim_start();
        if !preceded_by_space || !rest.starts_with('=') {
            continue;
        }
        let offset = tag.len() - rest.len() + 1;
        let value = tag[offset..].trim_start();
        let (quote, body) = match value.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &value[1..]),
            _ => (None, value),
        };
        let end = match quote {
            Some(q) => body.find(q).unwrap_or(body.len()),
            None => body
                .find(|c: char| c.is_whitespace() || c == '>')
                .unwrap_or(body.len()),
        };
        return Some(body[..end].to_owned());
    }
    None
}

/// Each `<name ...>` opening tag of `html`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{name}");
    lower
        .match_indices(&open)
        .filter(|(at, _)| {
            lower[at + open.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_whitespace() || c == '>')
        })
        .map(|(at, _)| {
            let end = html[at..].find('>').map_or(html.len(), |e| at + e + 1);
            &html[at..end]
        })
        .collect()
}

fn is_remote(url: &str) -> bool {
    let url = url.trim().to_ascii_lowercase();
    url.starts_with("http:") || url.starts_with("https:") || url.starts_with("//")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_route() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let res = app.get_response("/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.expect("/openapi.json is JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "not an OpenAPI 3 document: {}",
        doc["openapi"]
    );
    for envelope_key in ["code", "message", "data", "total"] {
        assert!(
            doc.get(envelope_key).is_none(),
            "/openapi.json is wrapped in the envelope"
        );
    }
    assert!(doc["info"]["title"].is_string(), "{}", doc["info"]);
    let paths = doc["paths"].as_object().expect("paths object");
    let routes: &[(&str, &[&str])] = &[
        ("/verify_code", &["post"]),
        ("/users/signin", &["post"]),
        ("/users/verify_code_sign_in", &["post"]),
        ("/users/signup", &["post"]),
        ("/users/password", &["patch"]),
        ("/users/verify_code_password", &["patch"]),
        ("/users/{user_id}", &["get"]),
        ("/users", &["get", "put", "delete"]),
        ("/users/token", &["get"]),
        ("/users/signout", &["patch"]),
        ("/client_code", &["get"]),
        ("/token", &["get", "post"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/.well-known/jwks.json", &["get"]),
    ];
    let mut missing = Vec::new();
    for (path, methods) in routes {
        for method in *methods {
            if paths.get(*path).and_then(|p| p.get(*method)).is_none() {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "undocumented routes: {missing:?}; documented: {:?}",
        paths.keys().collect::<Vec<_>>()
    );

    // The interactive docs work offline: HTML whose scripts and styles come from Gatehouse.
    let res = app.get_response("/docs/").await;
    assert_eq!(res.status(), 200);
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = res.text().await.unwrap();
    assert!(html.to_ascii_lowercase().contains("<html"), "{html}");
    let mut assets = Vec::new();
    for tag in tags(&html, "script") {
        if let Some(src) = attribute(tag, "src") {
            assert!(!is_remote(&src), "a script from the network: {tag}");
            assets.push(src);
        }
    }
    for tag in tags(&html, "link") {
        if let Some(href) = attribute(tag, "href") {
            assert!(
                !is_remote(&href),
                "a stylesheet/icon from the network: {tag}"
            );
            assets.push(href);
        }
    }
    assert!(!assets.is_empty(), "no scripts at all? {html}");
    let base = url::Url::parse(&app.url("/docs/")).unwrap();
    let mut served = html.clone();
    for asset in &assets {
        let url = base.join(asset).unwrap();
        let res = app.client.get(url.as_str()).send().await.unwrap();
        assert_eq!(
            res.status(),
            200,
            "{url} referenced by /docs/ is not served"
        );
        if asset.ends_with(".js") && !asset.contains("bundle") && !asset.contains("preset") {
            served.push_str(&res.text().await.unwrap());
        }
    }
    assert!(
        served.contains("/openapi.json"),
        "/docs/ does not load /openapi.json"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_is_a_plain_jwk_set() {
    let sandbox = Sandbox::new();
    let server = Server::start(sandbox.gatehouse(), sandbox.cwd.path().join("serve.log")).await;
    let res = server
        .client
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let set: Value = res.json().await.expect("JWK Set is JSON");
    let top: Vec<&String> = set.as_object().expect("a JSON object").keys().collect();
    assert_eq!(top, vec!["keys"], "a plain JWK Set, no envelope: {set}");
    let keys = set["keys"].as_array().expect("keys array");
    assert_eq!(keys.len(), 2, "the Ed25519 key and the RSA one: {set}");
    let key = &keys[0];
    assert_eq!(key["kty"], "OKP", "{key}");
    assert_eq!(key["crv"], "Ed25519", "{key}");
    assert_eq!(key["alg"], "EdDSA", "{key}");
    let kid = key["kid"].as_str().expect("kid").to_owned();
    assert!(!kid.is_empty(), "{key}");
    let x = URL_SAFE_NO_PAD
        .decode(key["x"].as_str().expect("x"))
        .expect("x is base64url without padding");
    assert_eq!(x.len(), 32, "an Ed25519 public key is 32 bytes: {key}");
    let rsa = &keys[1];
    assert_eq!(
        (&rsa["kty"], &rsa["alg"], &rsa["use"]),
        (&json!("RSA"), &json!("RS256"), &json!("sig")),
        "{rsa}"
    );
    let n = URL_SAFE_NO_PAD
        .decode(rsa["n"].as_str().expect("n"))
        .expect("n is base64url without padding");
    assert_eq!(
        n.len() * 8,
        2048,
        "a 2048-bit key is made on first start: {rsa}"
    );
    assert_ne!(rsa["kid"], key["kid"], "{set}");
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        for published in [key, rsa] {
            assert!(
                published.get(private).is_none(),
                "a private part ({private}) is published: {published}"
            );
        }
    }

    // The signing keys live in the database; the word-info key alone is a file in the data
    // dir, readable by its owner only.
    let key_files: Vec<String> = sandbox
        .data_entries()
        .into_iter()
        .filter(|n| !n.starts_with("gatehouse.db"))
        .collect();
    assert_eq!(
        key_files,
        ["word-info-rsa.pk8"],
        "key files besides the database: {:?}",
        sandbox.data_entries()
    );
    #[cfg(unix)]
    for file in &key_files {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sandbox.data_dir().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} mode is {:o}", mode & 0o777);
    }

    // The key is kept: a restart publishes the same one.
    drop(server);
    let server = Server::start(sandbox.gatehouse(), sandbox.cwd.path().join("serve2.log")).await;
    let (status, again) = server.get_json("/.well-known/jwks.json").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["keys"][0]["kid"], kid.as_str(), "{again}");
    assert_eq!(again["keys"][1]["kid"], rsa["kid"], "{again}");
}
