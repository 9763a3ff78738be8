//! `gatehouse keys rotate` and `gatehouse keys list` (CONTRACT §9).

use super::*;

fn keys(sandbox: &Sandbox, args: &[&str], publish_secs: &str) -> Run {
    let mut cmd = sandbox.gatehouse();
    cmd.env("GATEHOUSE_KEY_PUBLISH_SECS", publish_secs)
        .arg("keys")
        .args(args);
    run(cmd)
}

/// An object's field names, sorted.
fn fields(value: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    names.sort();
    names
}

fn listed(sandbox: &Sandbox) -> Vec<Value> {
    let out = keys(sandbox, &["list"], "86400");
    assert!(out.status.success(), "{out}");
    serde_json::from_str::<Value>(out.stdout.trim())
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_publishes_a_key_that_signs_later_and_keys_list_shows_each_state() {
    let sandbox = Sandbox::new();
    // The command line makes no keys of its own (run with another data dir than the server's,
    // it would stop the server's key files from being imported).
    let out = keys(&sandbox, &["list"], "86400");
    assert!(!out.status.success(), "{out}");
    assert!(out.stderr.contains("start the server once"), "{out}");
    let out = keys(&sandbox, &["rotate"], "86400");
    assert!(!out.status.success(), "{out}");
    drop(Server::start(sandbox.gatehouse(), sandbox.cwd.path().join("first.log")).await);
    let first = listed(&sandbox);
    assert_eq!(first.len(), 2, "{first:?}");
    for key in &first {
        assert_eq!(
            fields(key),
            [
                "activates_at",
                "alg",
                "created_at",
                "kid",
                "retires_at",
                "state"
            ]
        );
        assert_eq!(key["state"], "active");
        assert!(key["retires_at"].is_null());
    }

    // The default: an EdDSA key, published for a day before it signs.
    let out = keys(&sandbox, &["rotate"], "86400");
    assert!(out.status.success(), "{out}");
    let published: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(fields(&published), ["alg", "kid", "state"], "{published}");
    assert_eq!(
        (published["alg"].as_str(), published["state"].as_str()),
        (Some("EdDSA"), Some("published"))
    );

    // With no publish period an RS256 key signs at once and the one before it retires.
    let out = keys(&sandbox, &["rotate", "--alg", "RS256"], "0");
    assert!(out.status.success(), "{out}");
    let rsa: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(rsa["state"], "active", "{rsa}");

    for bad in ["HS256", "none", "rs256"] {
        let out = keys(&sandbox, &["rotate", "--alg", bad], "0");
        assert!(!out.status.success(), "{bad} was taken:\n{out}");
        assert!(out.stderr.contains("EdDSA or RS256"), "{out}");
    }

    let all = listed(&sandbox);
    assert_eq!(all.len(), 4, "{all:?}");
    let state = |kid: &Value| {
        let key = all.iter().find(|k| k["kid"] == *kid).unwrap();
        (
            key["state"].as_str().unwrap().to_owned(),
            key["retires_at"].is_null(),
        )
    };
    assert_eq!(state(&published["kid"]), ("published".into(), true));
    assert_eq!(state(&rsa["kid"]), ("active".into(), true));
    let old_rsa = first.iter().find(|k| k["alg"] == "RS256").unwrap();
    assert_eq!(state(&old_rsa["kid"]), ("retiring".into(), false));
    let old_ed = first.iter().find(|k| k["alg"] == "EdDSA").unwrap();
    assert_eq!(state(&old_ed["kid"]), ("active".into(), true));
    let text = serde_json::to_string(&all).unwrap();
    assert!(
        !text.contains("sealed:") && !text.contains("\"d\""),
        "{text}"
    );

    // A server on that database publishes all four and signs with the active EdDSA key.
    let server = Server::start(sandbox.gatehouse(), sandbox.cwd.path().join("serve.log")).await;
    let (status, jwks) = server.get_json("/.well-known/jwks.json").await;
    assert_eq!(status, 200, "{jwks}");
    let published_kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(published_kids.len(), 4, "{jwks}");
    assert_eq!(
        published_kids[0],
        old_ed["kid"].as_str().unwrap(),
        "the signer first"
    );
    for key in &all {
        assert!(
            published_kids.contains(&key["kid"].as_str().unwrap()),
            "{jwks}"
        );
    }
}
