//! `atoll route quote` through the real binary: a request from a file (table and `--json`),
//! bad input as a clear error with exit code 2, and `--from-db` on pools the indexer stored
//! from a devnet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use atoll_devnet::Devnet;
use atoll_devnet::traffic::{self, TrafficOptions};

fn atoll(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args(args)
        .env_remove("ATOLL_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

const REQUEST: &str = r#"{
  "capital": [{"chain": "ethereum", "usd": 600000}],
  "horizon_days": 30,
  "pools": [
    {"id": "ethereum:uniswap_v2:0xabc", "chain": "ethereum", "protocol": "uniswap_v2",
     "tokens": ["USDC", "WETH"], "tvl_usd": 5000000, "fees_usd_year": 400000, "max_share_of_tvl": 0.2},
    {"id": "solana:orca_whirlpool:x", "chain": "solana", "protocol": "orca_whirlpool",
     "tokens": ["USDC", "SOL"], "tvl_usd": 3000000, "fees_usd_year": 600000}
  ],
  "bridges": [{"from": "ethereum", "to": "bsc", "fee_bps": 5, "fixed_usd": 2.0, "eta_s": 600},
              {"from": "bsc", "to": "solana", "fee_bps": 4, "fixed_usd": 1.0, "eta_s": 300}],
  "gas_usd": {"ethereum": 5.0, "bsc": 0.1, "solana": 0.01},
  "constraints": {"max_per_pool_usd": 300000, "max_chain_share": 0.6, "min_tvl_usd": 100000,
                  "min_gain_usd": 50}
}"#;

#[test]
fn quotes_a_request_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.json");
    std::fs::write(&file, REQUEST).unwrap();
    let path = file.to_str().unwrap();

    let out = atoll(&["route", "quote", "--input", path, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "status",
        "allocations",
        "moves",
        "unallocated_usd",
        "gain_usd",
        "cost_usd",
        "objective_usd",
    ] {
        assert!(q.get(key).is_some(), "{key} in {q}");
    }
    // Ethereum reaches Solana only through BSC: the move's route says so.
    let moves = q["moves"].as_array().unwrap();
    assert!(
        moves
            .iter()
            .any(|m| m["route"] == serde_json::json!(["ethereum", "bsc", "solana"])),
        "{moves:?}"
    );
    let table = atoll(&["route", "quote", "--input", path]);
    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).contains("status: "));

    let bad = REQUEST.replace("\"tvl_usd\": 3000000", "\"tvl_usd\": -3");
    std::fs::write(&file, bad).unwrap();
    let out = atoll(&["route", "quote", "--input", path]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pools[1].tvl_usd: must be > 0"), "{err}");
}

#[tokio::test]
async fn quotes_from_the_indexed_pools() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 20,
            deposits: 0,
            seed: 2,
        },
    )
    .await
    .unwrap();
    let config = net.state.config_path.to_str().unwrap().to_string();
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("atoll.db").display()
    );
    // The config's database is relative to the working directory; point it at the test's file.
    let config_text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("sqlite://atoll.db?mode=rwc", &db);
    std::fs::write(&config, config_text).unwrap();
    let out = atoll(&["index", "--config", &config, "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let request = dir.path().join("capital.json");
    std::fs::write(
        &request,
        r#"{"capital": [{"chain": "ethereum", "usd": 100000}], "horizon_days": 30,
            "bridges": [{"from": "ethereum", "to": "bsc", "fee_bps": 5, "fixed_usd": 1}],
            "constraints": {"max_per_pool_usd": 50000}}"#,
    )
    .unwrap();
    let out = atoll(&[
        "route",
        "quote",
        "--input",
        request.to_str().unwrap(),
        "--from-db",
        "--config",
        &config,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let allocations = q["allocations"].as_array().unwrap();
    assert!(!allocations.is_empty(), "{q}");
    assert!(allocations.iter().all(|a| {
        let id = a["pool"].as_str().unwrap();
        id.starts_with("ethereum:") || id.starts_with("bsc:")
    }));
}
