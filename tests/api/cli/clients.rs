//! `gatehouse client add` and `list`, and clean exits on PostgreSQL.

use super::*;

/// Runs `gatehouse client add --name NAME` followed by `more` arguments.
fn client_add(sandbox: &Sandbox, name: &str, more: &[&str]) -> Run {
    let mut cmd = sandbox.gatehouse();
    cmd.args(["client", "add", "--name", name]).args(more);
    run(cmd)
}

#[test]
fn client_add_prints_id_and_secret_as_json() {
    let sandbox = Sandbox::new();
    let added = client_add(
        &sandbox,
        "Shop",
        &[
            "--callback",
            "https://shop.example/sso/*",
            "--callback",
            "https://shop.example/cb",
            "--logout-url",
            "https://shop.example/logout",
            "--mode",
            "ticket",
        ],
    );
    assert!(added.status.success(), "{added}");
    let created = single_json(&added.stdout);
    let object = created
        .as_object()
        .expect("client add prints a JSON object");
    let client_id = object["client_id"].as_str().expect("client_id string");
    let secret = object["client_secret"]
        .as_str()
        .expect("client_secret string");
    assert!(!client_id.is_empty(), "{created}");
    assert!(
        secret.len() >= 32,
        "a secret this short is guessable: {created}"
    );

    // Rules are stored normalised: scheme and host lower-cased, default port and dot segments
    // gone, `/*` kept.
    let second = client_add(
        &sandbox,
        "Blog",
        &["--callback", "HTTPS://Blog.EXAMPLE:443/a/../sso/*"],
    );
    assert!(second.status.success(), "{second}");
    let blog_id = single_json(&second.stdout)["client_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut list = sandbox.gatehouse();
    list.args(["client", "list"]);
    let listed = run(list);
    assert!(listed.status.success(), "{listed}");
    let clients = single_json(&listed.stdout);
    let clients = clients.as_array().expect("client list prints a JSON array");
    assert_eq!(clients.len(), 2, "{listed}");
    let shop = clients
        .iter()
        .find(|c| c["client_id"] == client_id)
        .unwrap_or_else(|| panic!("{client_id} not listed: {listed}"));
    assert_eq!(shop["name"], "Shop");
    assert_eq!(
        shop["callbacks"],
        json!(["https://shop.example/sso/*", "https://shop.example/cb"])
    );
    assert_eq!(shop["logout_url"], "https://shop.example/logout");
    assert_eq!(shop["mode"], "ticket");
    assert_eq!(shop["enabled"], true);
    assert!(shop["created_at"].is_string(), "{shop}");
    let blog = clients
        .iter()
        .find(|c| c["client_id"] == blog_id.as_str())
        .unwrap_or_else(|| panic!("{blog_id} not listed: {listed}"));
    assert_eq!(blog["callbacks"], json!(["https://blog.example/sso/*"]));
    assert_eq!(blog["mode"], "token", "token mode is the default");
    assert_eq!(blog["logout_url"], Value::Null);

    // The secret is shown once: never in the listing, nor its hash.
    assert!(!listed.stdout.contains(secret), "{listed}");
    let hash = gatehouse::partners::hash_secret(secret);
    assert!(!listed.stdout.contains(&hash), "{listed}");
    let lower = listed.stdout.to_ascii_lowercase();
    assert!(!lower.contains("secret"), "{listed}");
    assert!(!lower.contains("hash"), "{listed}");
}

/// A command must exit cleanly, not die at exit while the connection pool is still opening a
/// PostgreSQL connection in the background (libpq's OpenSSL state torn down under it: one run
/// in four segfaulted before the pool stopped keeping a spare connection).
#[test]
fn commands_on_postgres_exit_cleanly_every_time() {
    let Some(url) = crate::helpers::postgres_database() else {
        return;
    };
    let sandbox = Sandbox::new();
    for i in 0..24 {
        let mut cmd = sandbox.gatehouse();
        cmd.env("GATEHOUSE_DATABASE_URL", &url);
        if i % 2 == 0 {
            let callback = format!("https://p{i}.example/cb");
            cmd.args(["client", "add", "--name", "P", "--callback", &callback]);
        } else {
            cmd.args(["client", "list"]);
        }
        let out = run(cmd);
        assert!(out.status.success(), "run {i}: {out}");
    }
}

/// Set in the child process of `exiting_while_a_thread_is_inside_libpq_is_clean`.
const EXIT_RACE_URL: &str = "GATEHOUSE_TEST_EXIT_RACE_URL";

/// Any process that ends (the server on SIGTERM, a CLI command, this test binary) may still
/// have a thread inside libpq: a pool opening or closing a TLS connection to PostgreSQL. Its
/// exit must not tear OpenSSL down under that thread. The child keeps eight threads connecting
/// and disconnecting through `Db` and exits mid-flight; with OpenSSL's exit handler left in
/// place, about one such exit in ten died with SIGSEGV here, so forty of them catch it.
#[test]
fn exiting_while_a_thread_is_inside_libpq_is_clean() {
    let Some(url) = crate::helpers::postgres_database() else {
        return;
    };
    let exe = std::env::current_exe().unwrap();
    for i in 0..40 {
        let mut cmd = Command::new(&exe);
        cmd.args(["--exact", "cli::clients::exit_race_child", "--nocapture"])
            .env(EXIT_RACE_URL, &url);
        let out = run(cmd);
        assert!(out.status.success(), "exit {i}: {out}");
        assert!(out.stdout.contains("connected"), "exit {i}: {out}");
    }
}

/// Not a test on its own: the child of the one above, idle unless [`EXIT_RACE_URL`] is set.
#[test]
fn exit_race_child() {
    let Ok(url) = std::env::var(EXIT_RACE_URL) else {
        return;
    };
    let url = gatehouse::config::DatabaseUrl::Postgres(url);
    let (connected, first) = std::sync::mpsc::channel();
    for _ in 0..8 {
        let url = url.clone();
        let connected = connected.clone();
        thread::spawn(move || {
            loop {
                let db = gatehouse::db::Db::connect(&url, Some(1)).unwrap();
                db.migrate().unwrap();
                let _ = connected.send(());
            }
        });
    }
    first.recv().unwrap();
    println!("connected");
    thread::sleep(Duration::from_millis(40));
    std::process::exit(0);
}

#[test]
fn client_add_rejects_bad_callback_rules() {
    let sandbox = Sandbox::new();
    let bad_sets: &[&[&str]] = &[
        &["javascript:alert(1)"],
        &["https://a@b.example/cb"],
        &["https://x.example/cb#f"],
        &["https://x.example/cb?next=1"],
        &["https://x.example\\cb"],
        &["ftp://x.example/cb"],
        &["https://x.example/*/cb"],
        // One bad rule spoils the whole registration: nothing half-stored.
        &["https://ok.example/cb", "https://ok.example/a#b"],
    ];
    for rules in bad_sets {
        let callbacks: Vec<&str> = rules.iter().flat_map(|rule| ["--callback", rule]).collect();
        let out = client_add(&sandbox, "Evil", &callbacks);
        assert!(!out.status.success(), "{rules:?} was accepted:\n{out}");
        assert!(
            out.stdout.trim().is_empty(),
            "{rules:?}: a refused registration prints no credentials:\n{out}"
        );
        assert!(
            !out.stderr.trim().is_empty(),
            "{rules:?}: a refusal says why:\n{out}"
        );
    }
    // Also refused: a logout URL that is not http(s).
    let out = client_add(
        &sandbox,
        "Evil",
        &[
            "--callback",
            "https://ok.example/cb",
            "--logout-url",
            "javascript:alert(1)",
        ],
    );
    assert!(!out.status.success(), "bad logout URL accepted:\n{out}");

    let mut list = sandbox.gatehouse();
    list.args(["client", "list"]);
    let listed = run(list);
    assert!(listed.status.success(), "{listed}");
    assert_eq!(single_json(&listed.stdout), json!([]), "{listed}");
}

#[test]
fn client_add_registers_openid_connect_clients_and_refuses_other_modes_fields() {
    let sandbox = Sandbox::new();
    let added = client_add(
        &sandbox,
        "Grafana",
        &[
            "--mode",
            "oidc",
            "--redirect-uri",
            "https://grafana.example/login/generic_oauth",
            "--redirect-uri",
            "http://127.0.0.1:3000/cb",
            "--post-logout-redirect-uri",
            "https://grafana.example/login",
            "--id-token-signed-response-alg",
            "EdDSA",
        ],
    );
    assert!(added.status.success(), "{added}");
    let created = single_json(&added.stdout);
    let issuer = created["issuer"].as_str().expect("issuer");
    assert!(!issuer.ends_with('/'), "{created}");
    assert_eq!(
        created["discovery_url"],
        format!("{issuer}/.well-known/openid-configuration")
    );
    assert!(created["client_secret"].as_str().unwrap().len() >= 32);
    let public = client_add(
        &sandbox,
        "SPA",
        &[
            "--mode",
            "oidc",
            "--redirect-uri",
            "https://spa.example/cb",
            "--token-endpoint-auth-method",
            "none",
        ],
    );
    assert!(public.status.success(), "{public}");
    assert_eq!(single_json(&public.stdout)["client_secret"], Value::Null);

    let refused: &[(&[&str], &str)] = &[
        (&["--mode", "oidc"], "redirect_uris"),
        (
            &["--mode", "oidc", "--redirect-uri", "https://a.example/cb#x"],
            "redirect_uris",
        ),
        (
            &["--mode", "oidc", "--redirect-uri", "http://a.example/cb"],
            "redirect_uris",
        ),
        (
            &["--mode", "oidc", "--redirect-uri", "https://A.example/cb"],
            "redirect_uris",
        ),
        (
            &[
                "--mode",
                "oidc",
                "--redirect-uri",
                "https://a.example/cb",
                "--callback",
                "https://a.example/cb",
            ],
            "callbacks",
        ),
        (
            &[
                "--mode",
                "oidc",
                "--redirect-uri",
                "https://a.example/cb",
                "--token-endpoint-auth-method",
                "private_key_jwt",
            ],
            "token_endpoint_auth_method",
        ),
        (
            &[
                "--mode",
                "oidc",
                "--redirect-uri",
                "https://a.example/cb",
                "--id-token-signed-response-alg",
                "HS256",
            ],
            "id_token_signed_response_alg",
        ),
        (
            &[
                "--callback",
                "https://a.example/cb",
                "--redirect-uri",
                "https://a.example/cb",
            ],
            "redirect_uris",
        ),
    ];
    for (args, field) in refused {
        let out = client_add(&sandbox, "Evil", args);
        assert_eq!(out.status.code(), Some(1), "{args:?}:\n{out}");
        assert!(out.stdout.trim().is_empty(), "{args:?}:\n{out}");
        assert!(
            out.stderr.contains(field),
            "{args:?} should name {field}:\n{out}"
        );
    }
    let mut list = sandbox.gatehouse();
    list.args(["client", "list"]);
    let listed = run(list);
    let clients = single_json(&listed.stdout);
    assert_eq!(
        clients.as_array().unwrap().len(),
        2,
        "nothing refused was stored: {listed}"
    );
    let grafana = clients
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Grafana")
        .unwrap();
    assert_eq!(grafana["mode"], "oidc");
    assert_eq!(grafana["callbacks"], json!([]));
    assert_eq!(
        grafana["redirect_uris"],
        json!([
            "https://grafana.example/login/generic_oauth",
            "http://127.0.0.1:3000/cb"
        ])
    );
    assert_eq!(
        grafana["post_logout_redirect_uris"],
        json!(["https://grafana.example/login"])
    );
    assert_eq!(grafana["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(grafana["id_token_signed_response_alg"], "EdDSA");
}

#[test]
fn client_add_registers_a_cas_service_without_a_secret() {
    let sandbox = Sandbox::new();
    let added = client_add(
        &sandbox,
        "Library",
        &["--mode", "cas", "--callback", "https://app.example/cas/*"],
    );
    assert!(added.status.success(), "{added}");
    let created = single_json(&added.stdout);
    assert_eq!(created["client_secret"], Value::Null, "{created}");
    let server = created["cas_server_url"].as_str().expect("cas_server_url");
    assert!(server.ends_with("/cas/"), "{created}");
    assert!(!server.ends_with("//cas/"), "{created}");
    let refused = client_add(
        &sandbox,
        "X",
        &[
            "--mode",
            "cas",
            "--callback",
            "https://app.example/cas/*",
            "--redirect-uri",
            "https://app.example/cb",
        ],
    );
    assert!(!refused.status.success(), "{refused}");
    assert!(refused.stderr.contains("redirect_uris"), "{refused}");
}
