//! `gatehouse admin create`.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_create_reads_password_from_stdin() {
    let sandbox = Sandbox::new();
    let password = "Operator-Pass-2024";
    let admin = |number: &str| {
        let mut cmd = sandbox.gatehouse();
        cmd.env("GATEHOUSE_BCRYPT_COST", "4").args([
            "admin",
            "create",
            "--number",
            number,
            "--password-stdin",
        ]);
        cmd
    };

    let weak = run_with(admin("13900139000"), Some("password\n"), COMMAND_TIMEOUT);
    assert!(
        !weak.status.success(),
        "a common password was accepted:\n{weak}"
    );
    let own_number = run_with(admin("13700137000"), Some("13700137000\n"), COMMAND_TIMEOUT);
    assert!(
        !own_number.status.success(),
        "a password equal to the phone was accepted:\n{own_number}"
    );

    let created = run_with(
        admin("13800138000"),
        Some(&format!("{password}\n")),
        COMMAND_TIMEOUT,
    );
    assert!(created.status.success(), "{created}");
    assert!(
        !created.stdout.contains(password) && !created.stderr.contains(password),
        "the password is echoed:\n{created}"
    );

    let mut serve = sandbox.gatehouse();
    serve
        .env("GATEHOUSE_CAPTCHA_TEST_ANSWERS", "true")
        .env("GATEHOUSE_BCRYPT_COST", "4");
    let server = Server::start(serve, sandbox.cwd.path().join("serve.log")).await;
    let (captcha_id, answer) = server.captcha().await;
    let (status, body) = crate::helpers::into_parts(
        server
            .client
            .post(server.url("/users/signin"))
            .json(&json!({
                "number": "13800138000",
                "pwd": password,
                "client_code": answer,
                "captcha_id": captcha_id,
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"].as_str().expect("token string").to_owned();

    let (status, body) = crate::helpers::into_parts(
        server
            .client
            .get(server.url("/users"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "operators may list users: {body}");
    // The refused invocations stored nothing.
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(body["data"][0]["phone"], "13800138000", "{body}");
    assert_eq!(body["data"][0]["role"], "admin", "{body}");
}

crate::both_backends! {
    async fn admin_create_refuses_a_number_that_already_has_an_account(app) {
        let user = app.signup("13800138000").await;
        let token = app.token("13800138000").await;
        let mut cmd = Command::new(BIN);
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(|n| n.starts_with("GATEHOUSE_")) {
                cmd.env_remove(&name);
            }
        }
        cmd.env("GATEHOUSE_DATA_DIR", &app.settings.data_dir)
            .env("GATEHOUSE_BCRYPT_COST", "4")
            .args(["admin", "create", "--number", "+8613800138000", "--password-stdin"]);
        if let Some(url) = &app.settings.database_url {
            cmd.env("GATEHOUSE_DATABASE_URL", String::from(url.clone()));
        }
        let out = tokio::task::spawn_blocking(move || {
            run_with(cmd, Some("Taken-Over-Pass-1\n"), COMMAND_TIMEOUT)
        })
        .await
        .unwrap();
        assert!(!out.status.success(), "an existing account was made an operator:\n{out}");
        assert!(out.stdout.trim().is_empty(), "{out}");
        assert!(out.stderr.contains("already exists"), "{out}");
        // Untouched: not an operator, same password, its session still live.
        let (status, me) = app.get_with_token("/users/token", &token).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["data"]["role"], "user");
        assert_eq!(me["data"]["id"], user["id"]);
        assert_eq!(app.signin("13800138000", PASSWORD).await.0, 200);
        let (status, _) = app.signin("13800138000", "Taken-Over-Pass-1").await;
        assert_eq!(status, 401);
    }
}

#[test]
fn rotating_the_word_info_key_is_recorded_in_the_audit_trail() {
    let sandbox = Sandbox::new();
    let mut rotate = sandbox.gatehouse();
    rotate.args(["keys", "rotate-word-info"]);
    let out = run(rotate);
    assert!(out.status.success(), "{out}");
    let kid: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let kid = kid["kid"].as_str().unwrap().to_owned();
    use diesel::prelude::*;
    use gatehouse::db::schema::audit_events;
    let file = sandbox.data_dir().join("gatehouse.db");
    let mut conn = diesel::SqliteConnection::establish(&file.to_string_lossy()).unwrap();
    let rows: Vec<(String, Option<String>, String)> = audit_events::table
        .select((
            audit_events::event,
            audit_events::actor_id,
            audit_events::detail,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (event, actor, detail) = &rows[0];
    assert_eq!(event, "key.rotated");
    assert_eq!(actor, &None);
    let detail: serde_json::Value = serde_json::from_str(detail).unwrap();
    assert_eq!(detail["key"], "word_info");
    assert_eq!(detail["kid"], kid.as_str());
    assert_eq!(detail["via"], "cli");
}
