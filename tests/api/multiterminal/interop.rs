//! Word-info made by independent RSA-OAEP implementations: the openssl CLI, Python
//! cryptography, and the README's Java and JavaScript snippets.

use super::*;

/// Whether a tool runs (`probe` exits 0). Missing tools fail the run under
/// `GATEHOUSE_TEST_REQUIRE_ALL=1` and are skipped otherwise.
fn available(what: &str, program: &str, probe: &[&str]) -> bool {
    let ok = std::process::Command::new(program)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip_without(what);
    }
    ok
}

/// Runs a program with `stdin`, returning its trimmed stdout; fails on a non-zero exit.
async fn run(program: &str, args: &[&str], stdin: &[u8]) -> String {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{program} took over 120 s"))
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Registers `phone` with `register_wi` and logs in with `login_wi`, both sealing
/// [`UTF8_PASSWORD`]; then checks the password really is that one.
async fn register_and_login(app: &TestApp, phone: &str, register_wi: &str, login_wi: &str) {
    let code = app.code_for(phone, Some("signup")).await;
    let (status, body) = register(app, phone, register_wi, Some(&code)).await;
    assert_eq!(status, 200, "register: {body}");
    let (status, body) = login(app, phone, login_wi).await;
    let token = token_of(status, &body);
    let (status, body) = check(app, &token).await;
    assert_live(status, &body);
    // Same password, sealed here: the server decrypted the other tool's UTF-8 bytes exactly.
    let wi = word_info(app, UTF8_PASSWORD).await;
    let (status, body) = login(app, phone, &wi).await;
    token_of(status, &body);
}

async fn pem_file(app: &TestApp) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.pem");
    std::fs::write(&path, pem(app).await).unwrap();
    (dir, path.to_string_lossy().into_owned())
}

/// A tool a test needs on this machine: what it is, the program, and arguments that succeed
/// only where it works.
type Tool = (&'static str, &'static str, &'static [&'static str]);

const OPENSSL_AND_BASE64: &[Tool] = &[
    ("the openssl CLI", "openssl", &["version"]),
    ("base64 (coreutils)", "base64", &["--version"]),
];

const PYTHON_CRYPTOGRAPHY: &[Tool] = &[(
    "python3 with the cryptography package",
    "python3",
    &[
        "-c",
        "import cryptography.hazmat.primitives.asymmetric.padding",
    ],
)];

const JDK: &[Tool] = &[
    ("javac (a JDK)", "javac", &["-version"]),
    ("java", "java", &["-version"]),
];

/// A server and its public key in a PEM file, when every one of `tools` runs here; None (the
/// test is skipped) otherwise.
async fn app_and_pem_file_where(tools: &[Tool]) -> Option<(TestApp, tempfile::TempDir, String)> {
    if !tools
        .iter()
        .all(|(what, program, probe)| available(what, program, probe))
    {
        return None;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (dir, key) = pem_file(&app).await;
    Some((app, dir, key))
}

const OPENSSL_SEAL: &str = r#"openssl pkeyutl -encrypt -pubin -inkey "$1" \
  -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:"$2" | base64 -w0"#;

async fn openssl_word_info(key: &str, mgf1: &str, password: &str) -> String {
    run(
        "sh",
        &["-c", OPENSSL_SEAL, "sh", key, mgf1],
        password.as_bytes(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn word_info_from_the_openssl_cli_registers_and_logs_in() {
    let Some((app, _dir, key)) = app_and_pem_file_where(OPENSSL_AND_BASE64).await else {
        return;
    };
    let first = openssl_word_info(&key, "sha256", UTF8_PASSWORD).await;
    let second = openssl_word_info(&key, "sha256", UTF8_PASSWORD).await;
    assert_ne!(first, second, "OAEP is randomised");
    register_and_login(&app, "13800138000", &first, &second).await;

    // Java's default for OAEPWithSHA-256AndMGF1Padding (MGF1 with SHA-1) is refused.
    let java_default = openssl_word_info(&key, "sha1", UTF8_PASSWORD).await;
    let (status, body) = login(&app, "13800138000", &java_default).await;
    assert_error(status, &body, 400, "word_info_invalid");
}

const PYTHON_SEAL: &str = r#"
import base64, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

with open(sys.argv[1], "rb") as f:
    key = serialization.load_pem_public_key(f.read())
sealed = key.encrypt(
    sys.stdin.buffer.read(),
    padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
)
print(base64.b64encode(sealed).decode("ascii"))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn word_info_from_python_cryptography_registers_and_logs_in() {
    let Some((app, _dir, key)) = app_and_pem_file_where(PYTHON_CRYPTOGRAPHY).await else {
        return;
    };
    let first = run(
        "python3",
        &["-c", PYTHON_SEAL, key.as_str()],
        UTF8_PASSWORD.as_bytes(),
    )
    .await;
    let second = run(
        "python3",
        &["-c", PYTHON_SEAL, key.as_str()],
        UTF8_PASSWORD.as_bytes(),
    )
    .await;
    register_and_login(&app, "13800138000", &first, &second).await;
}

/// The fenced `lang` block of the README's word-info section.
fn readme_snippet(lang: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let title = "## For app developers: word-info";
    let start = readme
        .find(title)
        .expect("the README has no word-info section");
    let section = &readme[start + title.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let fence = format!("```{lang}\n");
    let body = &section[section
        .find(&fence)
        .unwrap_or_else(|| panic!("no {lang} block in the word-info section"))
        + fence.len()..];
    body[..body.find("\n```").unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_java_snippet_registers_and_logs_in() {
    let Some((app, dir, key)) = app_and_pem_file_where(JDK).await else {
        return;
    };
    let src = dir.path().join("WordInfo.java");
    std::fs::write(&src, readme_snippet("java")).unwrap();
    let classes = dir.path().to_string_lossy().into_owned();
    run(
        "javac",
        &["-encoding", "UTF-8", "-d", &classes, &src.to_string_lossy()],
        b"",
    )
    .await;
    let mut sealed = Vec::new();
    for _ in 0..2 {
        let args = ["-cp", classes.as_str(), "WordInfo", key.as_str()];
        sealed.push(run("java", &args, UTF8_PASSWORD.as_bytes()).await);
    }
    register_and_login(&app, "13800138000", &sealed[0], &sealed[1]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_javascript_snippet_registers_and_logs_in_with_webcrypto() {
    // Node 19+ has the browser's globals the snippet uses: fetch, crypto.subtle, atob, btoa.
    let probe = "if (!globalThis.crypto?.subtle || !globalThis.fetch) process.exit(1)";
    if !available("node (19 or later)", "node", &["-e", probe]) {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("word-info.mjs");
    std::fs::write(
        &script,
        format!(
            "{}\n\nconst [mode, gh, phone] = process.argv.slice(2);\n\
             const chunks = [];\nfor await (const c of process.stdin) chunks.push(c);\n\
             const password = Buffer.concat(chunks).toString('utf8');\n\
             console.log(mode === 'login' ? await login(gh, phone, password) : await wordInfo(gh, password));\n",
            readme_snippet("js")
        ),
    )
    .unwrap();
    let script = script.to_string_lossy().into_owned();
    let node_args = |mode| [script.as_str(), mode, app.address.as_str(), "13800138000"];
    let wi = run("node", &node_args("word-info"), UTF8_PASSWORD.as_bytes()).await;
    let code = app.code_for("13800138000", Some("signup")).await;
    let (status, body) = register(&app, "13800138000", &wi, Some(&code)).await;
    assert_eq!(status, 200, "register: {body}");
    // The snippet's own login: it fetches the key, seals and posts.
    let token = run("node", &node_args("login"), UTF8_PASSWORD.as_bytes()).await;
    let (status, body) = check(&app, &token).await;
    assert_live(status, &body);
    let wi = word_info(&app, UTF8_PASSWORD).await;
    let (status, body) = login(&app, "13800138000", &wi).await;
    token_of(status, &body);
}
