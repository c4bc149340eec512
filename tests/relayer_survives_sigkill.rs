//! `atoll relayer run` killed with SIGKILL at random moments, a dozen times, while deposits in
//! all six directions flow, then started again each time. At the end, read from the chains
//! (vault logs on the EVM chains, release memos on Solana), not from the database: the ids
//! released on every chain are exactly the deposits bound for it, each released once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alloy::primitives::B256;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use atoll_adapters::evm::abi::BridgeVault;
use atoll_adapters::evm::events::{DepositPositions, deposit_id};
use atoll_devnet::Devnet;
use atoll_devnet::evm::{self, Role};
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_store::Store;
use rand::{Rng, SeedableRng};
use solana_client::nonblocking::rpc_client::RpcClient;
use solana_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_client::rpc_config::RpcTransactionConfig;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;
use solana_transaction_status_client_types::UiTransactionEncoding;
use tokio::process::{Child, Command};

const KILLS: usize = 12;

fn relayer(config: &std::path::Path, db: &str, log: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args(["relayer", "run", "--poll-ms", "50", "--config"])
        .arg(config)
        .args(["--database-url", db])
        .env_remove("ATOLL_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Ids released per EVM destination, from the vault's `TransferReleased` logs.
async fn evm_released(net: &Devnet) -> BTreeMap<u64, Vec<B256>> {
    let mut out = BTreeMap::new();
    for c in &net.state.evm {
        let p = evm::provider_for(&c.rpc_url, Role::Deployer).unwrap();
        let logs = p
            .get_logs(
                &Filter::new()
                    .address(c.bridge_vault)
                    .event_signature(BridgeVault::TransferReleased::SIGNATURE_HASH)
                    .from_block(0),
            )
            .await
            .unwrap();
        let ids = logs
            .iter()
            .map(|l| {
                BridgeVault::TransferReleased::decode_log(&l.inner)
                    .unwrap()
                    .data
                    .id
            })
            .collect();
        out.insert(c.chain_id, ids);
    }
    out
}

/// EVM deposits by destination chain id, from the vaults' `TransferInitiated` logs.
async fn evm_deposits(net: &Devnet) -> BTreeMap<u64, Vec<B256>> {
    let mut out: BTreeMap<u64, Vec<B256>> = BTreeMap::new();
    for c in &net.state.evm {
        let p = evm::provider_for(&c.rpc_url, Role::Deployer).unwrap();
        let logs = p
            .get_logs(
                &Filter::new()
                    .address(c.bridge_vault)
                    .event_signature(BridgeVault::TransferInitiated::SIGNATURE_HASH)
                    .from_block(0),
            )
            .await
            .unwrap();
        let mut positions = DepositPositions::default();
        for l in logs {
            let e = BridgeVault::TransferInitiated::decode_log(&l.inner)
                .unwrap()
                .data;
            let tx = l.transaction_hash.unwrap();
            let id = deposit_id(c.chain_id, tx, positions.next(tx));
            out.entry(e.dstChainId).or_default().push(B256::from(id.0));
        }
    }
    out
}

/// Ids released on Solana: the `atoll:v1:release=<id>` memos of successful transactions that
/// touched a vault.
async fn solana_released(net: &Devnet) -> Vec<String> {
    let sol = net.state.solana.as_ref().unwrap();
    let client = RpcClient::new_with_commitment(sol.rpc_url.clone(), CommitmentConfig::confirmed());
    let mut seen = BTreeSet::new();
    let mut ids = Vec::new();
    for t in &sol.tokens {
        let vault: Pubkey = t.vault.parse().unwrap();
        let sigs = client
            .get_signatures_for_address_with_config(
                &vault,
                GetConfirmedSignaturesForAddress2Config {
                    limit: Some(1000),
                    commitment: Some(CommitmentConfig::confirmed()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        for s in sigs {
            if s.err.is_some() || !seen.insert(s.signature.clone()) {
                continue;
            }
            let tx = client
                .get_transaction_with_config(
                    &s.signature.parse().unwrap(),
                    RpcTransactionConfig {
                        encoding: Some(UiTransactionEncoding::Base64),
                        commitment: Some(CommitmentConfig::confirmed()),
                        max_supported_transaction_version: Some(0),
                    },
                )
                .await
                .unwrap();
            let decoded = tx.transaction.transaction.decode().unwrap();
            for ix in decoded.message.instructions() {
                let text = String::from_utf8_lossy(&ix.data);
                if let Some(id) = text.strip_prefix("atoll:v1:release=") {
                    ids.push(id.to_string());
                }
            }
        }
    }
    ids
}

#[tokio::test]
async fn releases_stay_exactly_once_across_repeated_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), true).await.unwrap();
    let config = net.state.config_path.clone();
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("relay.db").display()
    );
    let log = dir.path().join("relayer.log");
    let migrated = std::process::Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args(["migrate", "--database-url", &db])
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");

    // Blocks keep coming on the EVM chains (anvil mines only on transactions), so deposits and
    // releases reach finality while the relayer lives and dies.
    let miners: Vec<_> = net
        .state
        .evm
        .iter()
        .map(|c| {
            let p = evm::provider_for(&c.rpc_url, Role::Deployer).unwrap();
            tokio::spawn(async move {
                loop {
                    let _ = p
                        .raw_request::<_, serde_json::Value>("anvil_mine".into(), (1,))
                        .await;
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            })
        })
        .collect();

    let mut deposits = 0usize;
    let first = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 0,
            deposits: 36,
            seed: 41,
        },
    )
    .await
    .unwrap();
    deposits += first.deposits.len();
    let mut solana_sources: Vec<String> = first
        .deposits
        .iter()
        .filter(|d| d.from == "solana")
        .map(|d| d.tx.clone())
        .collect();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for round in 0..KILLS {
        let mut child = relayer(&config, &db, &log);
        // More deposits arrive while the relayer runs (every third life).
        if round % 3 == 1 {
            let more = traffic::run(
                &net.state,
                TrafficOptions {
                    swaps: 0,
                    deposits: 12,
                    seed: 100 + round as u64,
                },
            )
            .await
            .unwrap();
            deposits += more.deposits.len();
            solana_sources.extend(
                more.deposits
                    .iter()
                    .filter(|d| d.from == "solana")
                    .map(|d| d.tx.clone()),
            );
        }
        let life = Duration::from_millis(rng.random_range(300..2_500));
        tokio::time::sleep(life).await;
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
    }

    // A last life, to the end: every deposit confirmed.
    let mut child = relayer(&config, &db, &log);
    let store = Store::connect(&db).await.unwrap();
    let mut done = false;
    for _ in 0..600 {
        let all = store.transfers(None, None, 10_000).await.unwrap();
        if all.len() == deposits
            && all
                .iter()
                .all(|t| t.status == atoll_core::TransferStatus::Confirmed)
        {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    for m in miners {
        m.abort();
    }
    let all = store.transfers(None, None, 10_000).await.unwrap();
    let stuck: Vec<_> = all
        .iter()
        .filter(|t| t.status != atoll_core::TransferStatus::Confirmed)
        .map(|t| (&t.id, &t.status))
        .collect();
    assert!(
        done,
        "{} of {deposits} recorded; not confirmed: {stuck:?}\nlog tail: {}",
        all.len(),
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );

    // From the chains: each destination released exactly its deposits, once each.
    let sol_id = atoll_core::ChainId::SOLANA.0;
    let mut expected = evm_deposits(&net).await;
    let solana_deposits: Vec<_> = all.iter().filter(|t| t.source_chain_id == sol_id).collect();
    let recorded: BTreeSet<&String> = solana_deposits.iter().map(|t| &t.source_tx).collect();
    assert_eq!(
        recorded,
        solana_sources.iter().collect(),
        "every Solana deposit recorded once"
    );
    for t in &solana_deposits {
        expected
            .entry(t.dest_chain_id)
            .or_default()
            .push(B256::from(t.id.0));
    }
    let released = evm_released(&net).await;
    for (chain, ids) in &released {
        let mut sorted = ids.clone();
        sorted.sort();
        let unique: BTreeSet<B256> = ids.iter().copied().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "chain {chain}: an id released twice"
        );
        let mut want = expected.get(chain).cloned().unwrap_or_default();
        want.sort();
        assert_eq!(
            sorted, want,
            "chain {chain}: released ids equal its deposits"
        );
    }
    let mut on_solana = solana_released(&net).await;
    on_solana.sort();
    let unique: BTreeSet<&String> = on_solana.iter().collect();
    assert_eq!(
        unique.len(),
        on_solana.len(),
        "solana: an id released twice"
    );
    let mut want: Vec<String> = expected
        .get(&sol_id)
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|id| id.to_string())
        .collect();
    want.sort();
    assert_eq!(on_solana, want, "solana: released ids equal its deposits");
    assert_eq!(
        released.values().map(Vec::len).sum::<usize>() + on_solana.len(),
        deposits
    );

    // And the operator's proof, through the command: `atoll audit` clean, read from the chains.
    let audit = std::process::Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args(["audit", "--json", "--config"])
        .arg(&config)
        .args(["--database-url", &db])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap_or_default();
    assert!(
        audit.status.success() && report["clean"] == true,
        "{}\n{}",
        String::from_utf8_lossy(&audit.stdout),
        String::from_utf8_lossy(&audit.stderr)
    );
    assert_eq!(
        report["releases_read"].as_u64(),
        Some(u64::try_from(deposits).unwrap())
    );
}
