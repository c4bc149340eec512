//! The rebalancing bot on the devnet, end to end through the binary: `atoll up` runs the
//! indexer, relayer and API; swaps only on BSC make its pools the only ones earning, and the
//! treasury's capital sits on Ethereum. `atoll rebalance --once` reads positions and a quote over
//! GraphQL, moves USDC Ethereum → BSC with `executeRebalance`, follows the transfer to
//! `confirmed`, and the treasury's USDC on BSC grows by what the relayer released. Run again
//! right after, it holds (cooldown), and a dry run moves nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::Provider;
use atoll_devnet::contracts::TestToken;
use atoll_devnet::evm::{self, Role};
use atoll_devnet::{Devnet, traffic};
use serde_json::{Value, json};

const TOKEN: &str = "bot-test-operator-token";

struct Up(std::process::Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn usdc_of_treasury(net: &Devnet, chain: &str) -> U256 {
    let c = net.state.evm_chain(chain).unwrap();
    let p = evm::provider_for(&c.rpc_url, Role::Deployer).unwrap();
    TestToken::new(c.token("USDC").unwrap().address, &p)
        .balanceOf(c.account(Role::Treasury).unwrap())
        .call()
        .await
        .unwrap()
}

fn rebalance(api: &str, plan: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args(["rebalance", "--api", api, "--plan"])
        .arg(plan)
        .args(["--settle-timeout", "3m"])
        .args(extra)
        .env("ATOLL_OPERATOR_TOKEN", TOKEN)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

// Two workers: the bot runs as a blocking child process while the miner task keeps mining.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_moves_capital_to_the_higher_yields_then_holds() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    traffic::swaps_on_chain(&net.state, "bsc", 120, 3)
        .await
        .unwrap();
    // The treasury's BSC tokens leave (to the deployer), so its capital is on Ethereum only.
    let bsc = net.state.evm_chain("bsc").unwrap();
    let treasury = evm::provider_for(&bsc.rpc_url, Role::Treasury).unwrap();
    let deployer = bsc.account(Role::Deployer).unwrap();
    for t in &bsc.tokens {
        let token = TestToken::new(t.address, &treasury);
        let all = token
            .balanceOf(bsc.account(Role::Treasury).unwrap())
            .call()
            .await
            .unwrap();
        let call = token.transfer(deployer, all);
        evm::send(
            &treasury,
            call.into_transaction_request(),
            "bsc",
            "drain treasury",
        )
        .await
        .unwrap();
    }
    let before = usdc_of_treasury(&net, "bsc").await;
    assert_eq!(before, U256::ZERO);

    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("atoll.db").display()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args(["up", "--config"])
        .arg(&net.state.config_path)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &db,
            "--poll-ms",
            "50",
        ])
        .env("ATOLL_OPERATOR_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _up = Up(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let api = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .trim_end_matches('/')
        .trim_end_matches(',')
        .to_string();
    let api = api.trim_end_matches('/').to_string() + "/";

    // Confirmations accrue: a block every 200 ms on both chains.
    let rpcs: Vec<String> = net.state.evm.iter().map(|c| c.rpc_url.clone()).collect();
    let miner = tokio::spawn(async move {
        loop {
            for url in &rpcs {
                let p = evm::provider_for(url, Role::Deployer).unwrap();
                let _: Result<Value, _> = p.raw_request("anvil_mine".into(), (1u64,)).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });

    // Wait for the index: BSC's pools earn, Ethereum's do not.
    let http = reqwest::Client::new();
    let mut top = Value::Null;
    for _ in 0..300 {
        if let Ok(r) = http
            .post(format!("{api}graphql"))
            .header("content-type", "application/json")
            .body(json!({ "query": "{ topYields(limit: 1) { chain apy } }" }).to_string())
            .send()
            .await
        {
            top = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null);
            if top["data"]["topYields"][0]["chain"] == "bsc" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(top["data"]["topYields"][0]["chain"], "bsc", "{top}");

    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        json!({
            "horizon_days": 365,
            "bridges": [
                { "from": "ethereum", "to": "bsc", "fee_bps": 5, "fixed_usd": 0.5, "eta_s": 60 },
                { "from": "bsc", "to": "ethereum", "fee_bps": 5, "fixed_usd": 0.5, "eta_s": 60 }
            ],
            "gas_usd": { "ethereum": 1.0, "bsc": 0.1 },
            "constraints": { "max_per_pool_usd": 19000, "min_gain_usd": 1 }
        })
        .to_string(),
    )
    .unwrap();

    // A dry run prints the plan and moves nothing.
    let (code, text) = rebalance(&api, &plan, &["--dry-run", "--min-gain-usd", "1"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("dry run: would move"), "{text}");
    assert!(text.contains("ethereum → bsc"), "{text}");
    assert_eq!(usdc_of_treasury(&net, "bsc").await, U256::ZERO);

    // The real run moves capital to BSC through the relayer and waits for it.
    let (code, text) = rebalance(&api, &plan, &["--once", "--min-gain-usd", "1"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("rebalanced:"), "{text}");
    assert!(text.contains("confirmed"), "{text}");
    let after = usdc_of_treasury(&net, "bsc").await;
    assert!(
        after > U256::ZERO,
        "the treasury holds USDC on BSC now: {text}"
    );

    // Right after, it holds: the cooldown, read from the treasury's moves.
    let (code, text) = rebalance(&api, &plan, &["--once", "--min-gain-usd", "1"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("hold:"), "{text}");
    assert_eq!(
        usdc_of_treasury(&net, "bsc").await,
        after,
        "nothing moved twice"
    );

    // Without the token the bot refuses to move anything (and says why).
    let out = Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args(["rebalance", "--api", &api, "--plan"])
        .arg(&plan)
        .env_remove("ATOLL_OPERATOR_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ATOLL_OPERATOR_TOKEN"));
    miner.abort();
}
