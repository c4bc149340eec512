//! `atoll up` at `RUST_LOG=debug` with an EVM and a Solana chain whose RPC URLs carry a
//! provider's key (in the path and as `?api-key=`), both endpoints dead: every anonymous surface
//! that reports their failure (`_meta.headError`, `/readyz`, `relayer.balancesError`,
//! `positions.error`) and every log line at debug level names the endpoint without the key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

const PLANTED: &str = "PLANTEDKEY81d2";

fn config() -> String {
    let url = format!("http://127.0.0.1:9/v2/{PLANTED}?api-key={PLANTED}");
    format!(
        r#"
[database]
url = "sqlite://atoll.db?mode=rwc"

[[chains]]
name = "deadevm"
kind = "evm"
chain_id = 999001
rpc = ["{url}"]
bridge_vault = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
relayer_key = "file:relayer.key"

[[chains]]
name = "deadsol"
kind = "solana"
chain_id = 999002
rpc = ["{url}"]

[[tokens]]
symbol = "USDC"
stable = true
on = [
  {{ chain = "deadevm", address = "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals = 6 }},
  {{ chain = "deadsol", address = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", decimals = 6, vault = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc" }},
]
"#
    )
}

async fn graphql(http: &reqwest::Client, base: &str, query: &str) -> Value {
    let body = http
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn a_key_in_an_rpc_url_shows_in_no_answer_and_no_debug_log() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("atoll.toml");
    std::fs::write(&file, config()).unwrap();
    // Anvil's well-known first key: nothing on a dead chain to sign for.
    std::fs::write(
        dir.path().join("relayer.key"),
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    )
    .unwrap();
    let log_path = dir.path().join("stderr.log");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args(["up", "--listen", "127.0.0.1:0", "--config"])
        .arg(&file)
        .current_dir(dir.path())
        .env_remove("ATOLL_DATABASE_URL")
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("API on http://") {
                return format!("http://{}", rest.split('/').next().unwrap());
            }
        }
        panic!("atoll up exited before listening");
    })
    .await
    .expect("atoll up listens within 60 s");

    let http = reqwest::Client::new();
    // The heads poller reaches both dead endpoints; their errors are what is shown.
    let meta = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let v = graphql(&http, &base, "{ _meta { chains { name headError } } }").await;
            let chains = v["data"]["_meta"]["chains"].as_array().unwrap();
            if chains.iter().all(|c| c["headError"].is_string()) {
                return v;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("both dead chains show a head error");
    let relayer = graphql(
        &http,
        &base,
        "{ relayer { chains { name balancesError } } positions { chain error } }",
    )
    .await;
    let readyz = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (what, text) in [
        ("_meta", meta.to_string()),
        ("relayer and positions", relayer.to_string()),
        ("/readyz", readyz),
    ] {
        assert!(!text.contains(PLANTED), "{what}: {text}");
        assert!(
            text.contains("127.0.0.1:9"),
            "{what} names the endpoint: {text}"
        );
    }

    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    let debug_lines = log.lines().filter(|l| l.contains("DEBUG")).count();
    assert!(debug_lines > 0, "debug logging was on:\n{log}");
    assert!(
        log.contains("deadevm") && log.contains("deadsol"),
        "the failures were logged:\n{log}"
    );
    let leaked: Vec<&str> = log.lines().filter(|l| l.contains(PLANTED)).collect();
    assert!(
        leaked.is_empty(),
        "{} of {} log lines carry the key, e.g. {}",
        leaked.len(),
        log.lines().count(),
        leaked[0]
    );
}
