//! `atoll config check`: a good config passes; a bad one lists every problem with its key path
//! and exits with code 2, without echoing secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn atoll() -> Command {
    Command::new(env!("CARGO_BIN_EXE_atoll"))
}

const GOOD: &str = r#"
[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:8545"]
bridge_vault = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
relayer_key = "file:relayer.key"
"#;

/// A folder holding GOOD as atoll.toml and the relayer key it references.
fn good_config() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("relayer.key"),
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    )
    .unwrap();
    let file = dir.path().join("atoll.toml");
    std::fs::write(&file, GOOD).unwrap();
    (dir, file)
}

#[test]
fn good_config_passes() {
    let (_dir, file) = good_config();
    // Run from another folder: relative key paths resolve against the config's folder.
    let out = atoll()
        .args(["config", "check"])
        .arg(&file)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok (1 chains"), "{stdout}");
}

#[test]
fn every_problem_is_named_and_exit_code_is_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("atoll.toml");
    let bad = format!(
        "{GOOD}\n[[chains]]\nname = \"arbitrum\"\nkind = \"cosmos\"\nchain_id = 42161\nrpc = [\"not a url\"]\n\n\
         [[pools]]\nchain = \"ethereum\"\nprotocol = \"uniswap_v2\"\naddress = \"0x1234\"\n"
    );
    std::fs::write(&file, bad).unwrap();
    let out = atoll()
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in [
        "chains[1].kind: unknown chain kind \"cosmos\"",
        "chains[1].rpc[0]: not a URL",
        "pools[0].address: not a valid evm address",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
}

#[test]
fn missing_key_file_and_env_are_named_without_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("atoll.toml");
    std::fs::write(
        &file,
        GOOD.replace("file:relayer.key", "env:ATOLL_TEST_RELAYER_KEY"),
    )
    .unwrap();
    let out = atoll()
        .args(["config", "check"])
        .arg(&file)
        .env_remove("ATOLL_TEST_RELAYER_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("chains[0].relayer_key: secret env:ATOLL_TEST_RELAYER_KEY: environment variable ATOLL_TEST_RELAYER_KEY is not set"), "{stderr}");

    let out = atoll()
        .args(["config", "check"])
        .arg(&file)
        .env("ATOLL_TEST_RELAYER_KEY", "0xnot-a-key-but-a-secret-value")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("not a valid EVM private key") && !stderr.contains("secret-value"),
        "{stderr}"
    );

    std::fs::write(&file, GOOD.replace("file:relayer.key", "file:missing.key")).unwrap();
    let out = atoll()
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("chains[0].relayer_key: secret file:") && stderr.contains("missing.key"),
        "{stderr}"
    );
}

#[test]
fn env_overrides_apply_and_bad_ones_are_named() {
    let (_dir, file) = good_config();
    let out = atoll()
        .args(["config", "check"])
        .arg(&file)
        .env("ATOLL_CHAINS__ETHEREUM__RPC", "[\"ftp://x\"]")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("chains[0].rpc[0]: unsupported scheme \"ftp\"")
    );
    let out = atoll()
        .args(["config", "check"])
        .arg(&file)
        .env("ATOLL_CHAINS__POLYGON__RPC", "x")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("ATOLL_CHAINS__POLYGON__RPC: no entry named \"polygon\"")
    );
}
