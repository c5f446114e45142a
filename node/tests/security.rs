//! The security review's findings (issue #12), end to end: who may use the
//! control socket, and what the node deletes.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// One node with no peers; its directory and process.
fn lone_node(name: &str) -> (TempDir, NodeProc) {
    let dir = TempDir::new(name);
    let k = keygen(&dir.path().join("n.key"));
    let cfg = dir.path().join("n.json");
    std::fs::write(
        &cfg,
        format!(
            r#"{{"key_file": "{}", "listen": "127.0.0.1:0", "control": "n.sock", "log_level": "debug"}}"#,
            k.file.display()
        ),
    )
    .unwrap();
    let n = NodeProc::start("n", &cfg, &dir.path().join("n.sock"), dir.path());
    (dir, n)
}

fn driver_stat(n: &NodeProc, name: &str) -> u64 {
    n.status()["stats"]["driver"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no driver stat {name}"))
}

#[test]
fn the_control_socket_is_mode_0600_and_other_users_are_refused() {
    let _turn = serial();
    let (dir, n) = lone_node("sock-access");
    let m = std::fs::symlink_metadata(&n.control).unwrap();
    assert!(m.file_type().is_socket());
    assert_eq!(m.permissions().mode() & 0o777, 0o600, "socket mode");
    assert_eq!(m.uid(), rustix::process::geteuid().as_raw());

    if !rustix::process::geteuid().is_root() {
        eprintln!(
            "skipped the second-user part: only root can run a client as another uid \
             (endpoint::peer_allowed is tested with fake uids)"
        );
        return;
    }
    // Open the socket's mode on purpose: the credential check still refuses.
    std::fs::set_permissions(&n.control, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("meshnode-copy");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = {
        use std::os::unix::process::CommandExt;
        Command::new(&bin)
            .args(["status", "--control"])
            .arg(&n.control)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap()
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "uid 65534 got the status");
    assert!(
        err.contains("uid 65534") && err.contains("may not use this node's control socket"),
        "{err}"
    );
    assert_eq!(driver_stat(&n, "control_refused"), 1);
    assert!(
        n.log_text()
            .contains("control connection refused: uid 65534")
    );
}

/// `meshnode run` with `config`: whether it succeeded, its stderr.
fn run(config: &Path) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("meshnode run did not refuse {}", config.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_never_deletes_what_is_not_a_socket() {
    let dir = TempDir::new("not-a-socket");
    let k = keygen(&dir.path().join("n.key"));
    // The default control path is the config's with `.sock`: here the
    // config file itself.
    let cfg = dir.path().join("x.sock");
    let text = format!(
        r#"{{"key_file": "{}", "listen": "127.0.0.1:0"}}"#,
        k.file.display()
    );
    std::fs::write(&cfg, &text).unwrap();
    let (ok, err) = run(&cfg);
    assert!(!ok, "started on its own config file");
    assert!(
        err.contains("is a regular file, not a socket: refusing to delete it"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), text, "config kept");

    // A link where the socket goes (to a file the node must not touch).
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep").unwrap();
    let link: PathBuf = dir.path().join("n.sock");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let cfg = dir.path().join("n.json");
    std::fs::write(
        &cfg,
        format!(
            r#"{{"key_file": "{}", "listen": "127.0.0.1:0", "control": "n.sock"}}"#,
            k.file.display()
        ),
    )
    .unwrap();
    let (ok, err) = run(&cfg);
    assert!(
        !ok && err.contains("is a symbolic link, not a socket"),
        "{err}"
    );
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
}
