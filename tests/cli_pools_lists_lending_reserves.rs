//! `atoll index --once` on a devnet with lending traffic, then `atoll pools`: `--kind lending`
//! lists the Aave v3 reserves and the Compound v3 markets (kind, utilisation where DEX pools show volume), `--json` carries
//! their DefiLlama lending fields, `--kind dex` leaves them out, and a bad `--kind` is a clear
//! error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_devnet::Devnet;
use serde_json::Value;
use tokio::process::Command;

fn atoll(args: &[&str], config: &std::path::Path, db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_atoll"));
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .args(["--database-url", db])
        .env_remove("ATOLL_DATABASE_URL");
    cmd
}

#[tokio::test]
async fn pools_lists_lending_reserves_by_kind() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    atoll_devnet::aave::traffic(&net.state, 10, 3)
        .await
        .unwrap();
    let config = net.state.config_path.clone();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let out = atoll(&["index", "--once"], &config, &db)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let table = atoll(&["pools", "--kind", "lending"], &config, &db)
        .output()
        .await
        .unwrap();
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 8, "{text}");
    assert!(rows.iter().all(|r| r.contains("lending")), "{text}");
    let by = |protocol: &str| rows.iter().filter(|r| r.contains(protocol)).count();
    assert_eq!((by("aave_v3"), by("compound_v3")), (6, 2), "{text}");

    let json = atoll(&["pools", "--kind", "lending", "--json"], &config, &db)
        .output()
        .await
        .unwrap();
    let records: Value = serde_json::from_slice(&json.stdout).unwrap();
    for r in records.as_array().unwrap() {
        assert_eq!(r["kind"], "lending");
        let (s, b) = (
            r["total_supply_usd"].as_f64().unwrap(),
            r["total_borrow_usd"].as_f64().unwrap(),
        );
        assert!((r["tvl_usd"].as_f64().unwrap() - (s - b)).abs() <= 1e-9 * s);
        assert!(r["apy_base_borrow"].as_f64().unwrap() > r["apy_base"].as_f64().unwrap());
    }
    let dex = atoll(&["pools", "--kind", "dex", "--json"], &config, &db)
        .output()
        .await
        .unwrap();
    let dex: Value = serde_json::from_slice(&dex.stdout).unwrap();
    assert!(!dex.as_array().unwrap().is_empty());
    assert!(dex.as_array().unwrap().iter().all(|r| r["kind"] == "dex"));

    let bad = atoll(&["pools", "--kind", "bond"], &config, &db)
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--kind"));
    net.down();
}
