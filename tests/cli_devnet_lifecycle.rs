//! `atoll devnet up|status|traffic|down` through the real binary, on ports picked free for this
//! test: `up` leaves the nodes running after the CLI exits, `traffic` emits swaps and deposits,
//! a second `up` and a taken port are clear errors, and `down` leaves no process behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn atoll(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn pids(dir: &std::path::Path) -> Vec<u32> {
    std::fs::read_dir(dir.join("pids"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    std::fs::read_to_string(e.path())
                        .ok()?
                        .lines()
                        .next()?
                        .parse()
                        .ok()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty()
        && stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            != Some("Z")
}

#[test]
fn up_traffic_down_via_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let base = atoll_devnet::ports::free_range(2).unwrap().to_string();
    let up_args = [
        "devnet",
        "up",
        "--dir",
        d,
        "--base-port",
        &base,
        "--no-solana",
    ];

    let up = atoll(&up_args);
    assert!(up.status.success(), "{}", text(&up));
    let started = pids(dir.path());
    assert_eq!(started.len(), 2);
    assert!(
        started.iter().all(|p| alive(*p)),
        "nodes outlive the CLI that started them"
    );

    let status = atoll(&["devnet", "status", "--dir", d]);
    assert_eq!(
        text(&status).matches("running").count(),
        2,
        "{}",
        text(&status)
    );

    let again = atoll(&up_args);
    assert!(
        !again.status.success() && text(&again).contains("already running"),
        "{}",
        text(&again)
    );

    let traffic = atoll(&[
        "devnet",
        "traffic",
        "--dir",
        d,
        "--swaps",
        "30",
        "--deposits",
        "4",
        "--seed",
        "7",
        "--json",
    ]);
    assert!(traffic.status.success(), "{}", text(&traffic));
    let report: serde_json::Value = serde_json::from_slice(&traffic.stdout).unwrap();
    assert_eq!(report["swaps"].as_array().unwrap().len(), 30);
    assert_eq!(report["deposits"].as_array().unwrap().len(), 4);

    let check = atoll(&[
        "config",
        "check",
        dir.path().join("devnet.toml").to_str().unwrap(),
    ]);
    assert!(
        check.status.success(),
        "the generated devnet.toml passes config check: {}",
        text(&check)
    );

    let down = atoll(&["devnet", "down", "--dir", d]);
    assert!(
        down.status.success() && text(&down).matches("stopped").count() == 2,
        "{}",
        text(&down)
    );
    assert!(
        started.iter().all(|p| !alive(*p)),
        "down leaves no process behind"
    );
    assert!(pids(dir.path()).is_empty());
}

#[test]
fn a_taken_port_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let up = atoll(&[
        "devnet",
        "up",
        "--dir",
        dir.path().to_str().unwrap(),
        "--base-port",
        &port,
        "--no-solana",
    ]);
    assert!(!up.status.success());
    assert!(
        text(&up).contains(&format!(
            "port {port} (ethereum anvil RPC) is already in use"
        )),
        "{}",
        text(&up)
    );
    assert!(pids(dir.path()).is_empty(), "nothing was started");
}

#[test]
fn traffic_without_a_devnet_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = atoll(&["devnet", "traffic", "--dir", dir.path().to_str().unwrap()]);
    assert!(
        !out.status.success() && text(&out).contains("run `atoll devnet up` first"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_missing_tool_is_named_with_how_to_get_it() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args([
            "devnet",
            "up",
            "--no-solana",
            "--dir",
            dir.path().to_str().unwrap(),
        ])
        .env("ATOLL_HOME", home.path())
        .output()
        .unwrap();
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("anvil") && t.contains("not found") && t.contains("atoll tools install"),
        "{t}"
    );
}
