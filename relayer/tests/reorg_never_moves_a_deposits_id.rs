//! A reorg never gives a deposit another's id. Ids come from the deposit's own transaction
//! (hash, position in it), not from the vault's counter, which numbers deposits in execution
//! order. Two scenarios on Ethereum, each relayed to BSC and read back from the chain:
//! - **swap**: A (the user's) and B (the treasury's) are released; `evm_revert` takes both
//!   away and their very transactions are mined again in the other order. Still two
//!   transfers, each paid once.
//! - **a new deposit first**: A is released; after `evm_revert` a new deposit C is mined
//!   before A's transaction comes back. With counter ids C would take A's id (and be skipped,
//!   lost) and A would get a new one (paid twice). Here C is paid once, A not again.
//!
//! In both, indexing goes on: a deposit made after the reorg is released too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::{Address, B256, Bytes, FixedBytes, U256};
use alloy::providers::{DynProvider, Provider};
use atoll_devnet::Devnet;
use atoll_devnet::contracts::BridgeVault;
use atoll_devnet::evm::{self, Role};

/// A USDC deposit of `whole` from `who` on Ethereum to `to` on BSC: its tx hash and signed bytes.
async fn deposit(net: &Devnet, who: Role, whole: u64, to: Address) -> (B256, Bytes) {
    let eth = net.state.evm_chain("ethereum").unwrap();
    let usdc = eth.token("USDC").unwrap().address;
    let p = evm::provider_for(&eth.rpc_url, who).unwrap();
    let mut recipient = [0u8; 32];
    recipient[12..].copy_from_slice(to.as_slice());
    let vault = BridgeVault::new(eth.bridge_vault, &p);
    let call = vault.deposit(
        usdc,
        U256::from(whole * 1_000_000),
        56,
        FixedBytes::from(recipient),
    );
    let receipt = evm::send(&p, call.into_transaction_request(), "ethereum", "deposit")
        .await
        .unwrap();
    let raw = p
        .get_raw_transaction_by_hash(receipt.transaction_hash)
        .await
        .unwrap()
        .unwrap();
    (receipt.transaction_hash, raw)
}

fn ethereum(net: &Devnet) -> DynProvider {
    let eth = net.state.evm_chain("ethereum").unwrap();
    evm::provider_for(&eth.rpc_url, Role::Deployer).unwrap()
}

/// Whole USDC less the devnet route's fee (5 bps + 0.5), in BSC's raw units.
fn paid(whole: u64) -> u64 {
    let raw = whole * 1_000_000;
    raw - raw * 5 / 10_000 - 500_000
}

async fn scenario(new_deposit_first: bool) {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let settings = common::settings(&net, dir.path());
    let store = common::store(&settings, dir.path()).await;
    let bsc = net.state.evm_chain("bsc").unwrap();
    let usdc = bsc.token("USDC").unwrap().address;
    let to_a = bsc.account(Role::User).unwrap();
    let to_b = bsc.account(Role::Trader).unwrap();
    let to_c = Address::repeat_byte(0x0c);
    let balances = || async {
        let mut out = Vec::new();
        for who in [to_a, to_b, to_c] {
            out.push(
                common::evm_balance(&net, "bsc", usdc, who)
                    .await
                    .to::<u64>(),
            );
        }
        out
    };
    let before = balances().await;
    let (evm_chains, _) = common::chains(&settings);
    let relay = common::Relay {
        settings: &settings,
        store: &store,
        evm: evm_chains.iter().map(|(n, c)| (n.clone(), c)).collect(),
        solana: None,
        tolerate_errors: false,
    };
    let confirmed = |n: usize| {
        let store = &store;
        async move {
            let all = store.transfers(None, None, 100).await.unwrap();
            all.len() == n
                && all
                    .iter()
                    .all(|t| t.status == atoll_core::TransferStatus::Confirmed)
        }
    };

    let node = ethereum(&net);
    let snapshot: U256 = node.raw_request("evm_snapshot".into(), ()).await.unwrap();
    let (_, raw_a) = deposit(&net, Role::User, 10, to_a).await;
    let raw_b = if new_deposit_first {
        None
    } else {
        Some(deposit(&net, Role::Treasury, 20, to_b).await.1)
    };
    let first = if new_deposit_first { 1 } else { 2 };
    relay.until(&net, 200, || confirmed(first)).await;

    // The reorg: both deposits' blocks are gone; the chain is built again.
    let reverted: bool = node
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted);
    if new_deposit_first {
        deposit(&net, Role::Treasury, 7, to_c).await;
    } else if let Some(raw_b) = raw_b {
        node.send_raw_transaction(&raw_b)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }
    node.send_raw_transaction(&raw_a)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    // The new chain outgrows the old one, so the indexer finds the fork.
    common::mine(&net, 300).await;
    // Indexing goes on: a deposit after the reorg.
    deposit(&net, Role::User, 3, to_a).await;
    // A, B or C, and the last one.
    relay.until(&net, 200, || confirmed(3)).await;

    let after = balances().await;
    let grew: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    if new_deposit_first {
        assert_eq!(grew, [paid(10) + paid(3), 0, paid(7)], "A once, C once");
    } else {
        assert_eq!(grew, [paid(10) + paid(3), paid(20), 0], "A once, B once");
    }
    for t in store.transfers(None, None, 100).await.unwrap() {
        assert_eq!(
            store.attempt_count(t.id).await.unwrap(),
            1,
            "{} signed once",
            t.id
        );
    }
    common::assert_audit_clean(&settings, &store).await;
}

#[tokio::test]
async fn deposits_mined_again_in_another_order_keep_their_ids() {
    scenario(false).await;
}

#[tokio::test]
async fn a_new_deposit_never_takes_a_reorged_deposits_id() {
    scenario(true).await;
}
