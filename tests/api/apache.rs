//! Debian's Apache (`/usr/sbin/apache2`, unchanged) as a child process for the tests that put a
//! real partner module or a TLS-terminating reverse proxy in front of or beside Gatehouse.
//!
//! Each instance runs on its own config in a temp dir (its own ServerRoot, PidFile, ErrorLog,
//! only the modules it loads), in its own process group, and is stopped on drop with its error
//! log copied to where the test keeps its screenshots.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::browser::WAIT;

pub(crate) const APACHE: &str = "/usr/sbin/apache2";
pub(crate) const MODULES: &str = "/usr/lib/apache2/modules";

/// Whether Apache and every one of these modules (`mod_<name>.so`) are installed.
pub(crate) fn installed(modules: &[&str]) -> bool {
    Path::new(APACHE).exists()
        && modules
            .iter()
            .all(|m| Path::new(MODULES).join(format!("mod_{m}.so")).exists())
}

pub(crate) struct Apache {
    pub(crate) port: u16,
    child: Child,
    dir: tempfile::TempDir,
    keep_log_at: PathBuf,
}

impl Apache {
    /// Starts Apache listening on `127.0.0.1:port` with the event MPM, these modules
    /// (`mod_<name>.so`), and the site `site` writes (its files under the given server root,
    /// its directives returned); waits until it listens.
    pub(crate) fn start(
        port: u16,
        modules: &[&str],
        site: impl FnOnce(&Path) -> String,
        keep_log_at: PathBuf,
    ) -> Apache {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // As root Apache serves as www-data, which must reach what the site keeps here.
        set_mode(root, 0o755);
        let load: String = ["mpm_event"]
            .iter()
            .chain(modules)
            .map(|m| format!("LoadModule {m}_module {MODULES}/mod_{m}.so\n"))
            .collect();
        let conf = format!(
            r#"ServerRoot "{root}"
PidFile "{root}/httpd.pid"
DefaultRuntimeDir "{root}"
ErrorLog "{root}/error.log"
LogLevel warn
Listen 127.0.0.1:{port}
ServerName 127.0.0.1:{port}
# Used only when started as root.
User www-data
Group www-data
{load}
{site}"#,
            root = root.display(),
            site = site(root),
        );
        let conf_path = root.join("httpd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let out = std::fs::File::create(root.join("stdout.log")).unwrap();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(APACHE)
                .arg("-f")
                .arg(&conf_path)
                .arg("-DFOREGROUND")
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                // Its own process group, so nothing it starts outlives the test.
                .process_group(0)
                .spawn()
                .expect("cannot start apache2")
        };
        let mut apache = Apache {
            port,
            child,
            dir,
            keep_log_at,
        };
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = apache.child.try_wait() {
                panic!("apache2 exited ({status}):\n{}", apache.logs());
            }
            assert!(
                Instant::now() < deadline,
                "apache2 is not listening:\n{}",
                apache.logs()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        apache
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Apache's output and the end of its error log, for failure messages.
    pub(crate) fn logs(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name));
        let log = read("error.log").unwrap_or_default();
        // The end of a debug log says what went wrong.
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        format!(
            "--- apache2 output\n{}\n--- error.log (last lines; all in {})\n{tail}",
            read("stdout.log").unwrap_or_default(),
            self.keep_log_at.display()
        )
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        // SIGTERM lets the parent stop its children and remove its shared memory.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::copy(self.dir.path().join("error.log"), &self.keep_log_at);
    }
}

/// Writes a file under the server root, with every folder on the way readable by www-data.
pub(crate) fn put(root: &Path, relative: &str, content: &str) {
    let path = root.join(relative);
    let mut dir = path.parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    while dir.starts_with(root) && dir != root {
        set_mode(&dir, 0o755);
        dir.pop();
    }
    std::fs::write(&path, content).unwrap();
    set_mode(&path, 0o644);
}

pub(crate) fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
