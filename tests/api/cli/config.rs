//! `gatehouse migrate`, and the configuration sources (file, environment) with their refusals.

use super::*;

fn toml_string(s: &Path) -> String {
    // A JSON string literal is a valid TOML basic string for the paths used here.
    serde_json::to_string(&s.to_string_lossy()).unwrap()
}

/// Writes `name` in the sandbox's working directory: a configuration file that sets only
/// `data_dir`.
fn config_file_with_data_dir(sandbox: &Sandbox, name: &str, data_dir: &Path) -> PathBuf {
    let config = sandbox.cwd.path().join(name);
    std::fs::write(&config, format!("data_dir = {}\n", toml_string(data_dir))).unwrap();
    config
}

/// Runs `migrate` and asserts that it succeeds and creates `gatehouse.db` in `data_dir`;
/// `otherwise` says what went wrong when it is not there.
fn assert_migrates_into(migrate: Command, data_dir: &Path, otherwise: &str) {
    let out = run(migrate);
    assert!(out.status.success(), "{out}");
    assert!(
        data_dir.join("gatehouse.db").is_file(),
        "{otherwise}: {:?}\n{out}",
        entries(data_dir)
    );
}

#[test]
fn migrate_creates_the_sqlite_file() {
    let sandbox = Sandbox::new();
    let mut migrate = sandbox.gatehouse();
    migrate.arg("migrate");
    assert_migrates_into(
        migrate,
        sandbox.data_dir(),
        "no gatehouse.db in the data dir",
    );
    // Applying them again is harmless.
    let mut again = sandbox.gatehouse();
    again.arg("migrate");
    let out = run(again);
    assert!(out.status.success(), "{out}");

    // `--config FILE` (a global option, before the subcommand) is read.
    let from_file = tempfile::tempdir().unwrap();
    let config = config_file_with_data_dir(&sandbox, "gatehouse.toml", from_file.path());
    let mut migrate = sandbox.bare();
    migrate.arg("--config").arg(&config).arg("migrate");
    assert_migrates_into(migrate, from_file.path(), "--config data_dir ignored");
    assert!(
        !sandbox.cwd.path().join("data").exists(),
        "fell back to ./data despite the config file"
    );

    // ... and so is `GATEHOUSE_CONFIG`.
    let via_env = tempfile::tempdir().unwrap();
    let config2 = config_file_with_data_dir(&sandbox, "other.toml", via_env.path());
    let mut migrate = sandbox.bare();
    migrate.env("GATEHOUSE_CONFIG", &config2).arg("migrate");
    assert_migrates_into(migrate, via_env.path(), "GATEHOUSE_CONFIG ignored");

    // Environment variables override the file.
    let overriding = tempfile::tempdir().unwrap();
    let mut migrate = sandbox.bare();
    migrate
        .env("GATEHOUSE_DATA_DIR", overriding.path())
        .arg("--config")
        .arg(&config)
        .arg("migrate");
    let before = entries(from_file.path());
    assert_migrates_into(
        migrate,
        overriding.path(),
        "GATEHOUSE_DATA_DIR did not override the file",
    );
    assert_eq!(entries(from_file.path()), before);
}

#[test]
fn bad_configuration_names_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("GATEHOUSE_BCRYPT_COST", "abc")], "GATEHOUSE_BCRYPT_COST"),
        (&[("GATEHOUSE_BCRYPT_COST", "99")], "GATEHOUSE_BCRYPT_COST"),
        (&[("GATEHOUSE_LISTEN", "nope")], "GATEHOUSE_LISTEN"),
        (
            &[("GATEHOUSE_DATABASE_URL", "mysql://x/y")],
            "GATEHOUSE_DATABASE_URL",
        ),
        (
            &[("GATEHOUSE_PUBLIC_URL", "https://sso.example")],
            "GATEHOUSE_SMS_PROVIDER",
        ),
        // An unknown provider never falls back to writing codes to the log.
        (
            &[("GATEHOUSE_SMS_PROVIDER", "carrier-pigeon")],
            "GATEHOUSE_SMS_PROVIDER",
        ),
        (
            &[("GATEHOUSE_PUBLIC_URL", "HTTPS://SSO.Example")],
            "GATEHOUSE_SMS_PROVIDER",
        ),
        (
            &[
                ("GATEHOUSE_PUBLIC_URL", "https://sso.example"),
                ("GATEHOUSE_SMS_PROVIDER", "webhook"),
                ("GATEHOUSE_SMS_WEBHOOK_URL", "http://127.0.0.1:9/sms"),
                ("GATEHOUSE_CAPTCHA_TEST_ANSWERS", "true"),
            ],
            "GATEHOUSE_CAPTCHA_TEST_ANSWERS",
        ),
    ];
    for (vars, named) in cases {
        let sandbox = Sandbox::new();
        let mut serve = sandbox.gatehouse();
        // Should a bad value be accepted, the server must not take a shared port.
        serve.env(
            "GATEHOUSE_LISTEN",
            format!("127.0.0.1:{}", crate::helpers::free_port()),
        );
        for (k, v) in *vars {
            serve.env(k, v);
        }
        serve.arg("serve");
        let out = run_with(serve, None, CONFIG_ERROR_TIMEOUT);
        assert!(!out.status.success(), "{vars:?} was accepted:\n{out}");
        assert!(
            out.stderr.contains(named),
            "{vars:?}: stderr does not name {named}:\n{out}"
        );
        // A refused configuration touches nothing; in particular an unknown database scheme
        // never falls back to a SQLite file.
        let stray: Vec<String> = sandbox
            .data_entries()
            .into_iter()
            .filter(|n| n.contains(".db") || n.contains("sqlite"))
            .collect();
        assert!(stray.is_empty(), "{vars:?}: created {stray:?}");
        assert!(
            entries(sandbox.cwd.path()).is_empty(),
            "{vars:?}: wrote into the working directory: {:?}",
            entries(sandbox.cwd.path())
        );
    }
}
