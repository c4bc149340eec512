//! A release re-mined after a reorg is judged by what it did in its new block. Three releases
//! to BSC go out in one batch and are mined and settled as included. A reorg takes that block
//! away; before the same transaction is mined again, the vault is left short for the third
//! entry, so in its new block that entry fails (`ReleaseFailed`) while the other two pay.
//! Confirmation must not confirm the third from the transaction's block number: the two paid
//! are confirmed, the third waits for liquidity, and once the vault is topped up it is paid by
//! a new release. Read from the chain: each paid exactly once, and the audit is clean.
//!
//! Test double: `evm_snapshot` and `evm_revert` stand in for the reorg.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::{Bytes, U256};
use alloy::providers::Provider;
use atoll_core::TransferStatus;
use atoll_relayer::evm_executor::EvmExecutor;
use atoll_store::release_txs::ReleaseTxStatus;

#[tokio::test]
async fn an_entry_that_fails_in_the_new_block_is_not_confirmed() {
    let fixture = common::BscReleaseFixture::up(common::ask_every_step_never_replace).await;
    let (net, settings, store, bsc, releases) = fixture.parts();
    let bsc_id = fixture.bsc_id;
    let node = &releases.node;
    let before_release: U256 = node.raw_request("evm_snapshot".into(), ()).await.unwrap();

    let mut executor = EvmExecutor::new(settings, store, bsc, "bsc").unwrap();
    let mut included = Vec::new();
    for _ in 0..6 {
        included.extend(executor.step().await.unwrap().included);
        if included.len() == 3 {
            break;
        }
    }
    assert_eq!(included.len(), 3, "included: {included:?}");
    let ours = store
        .release_txs(bsc_id, ReleaseTxStatus::Mined)
        .await
        .unwrap()[0]
        .clone();
    let raw: Bytes = store.release_tx_bytes(ours.tx_hash).await.unwrap().unwrap();

    // The reorg, and a vault that can pay the two smaller entries but not the third.
    let reverted: bool = node
        .raw_request("evm_revert".into(), (before_release,))
        .await
        .unwrap();
    assert!(reverted);
    let _: serde_json::Value = node
        .raw_request("anvil_dropTransaction".into(), (ours.tx_hash,))
        .await
        .unwrap();
    let bsc_net = net.state.evm_chain("bsc").unwrap();
    let held = common::evm_balance(net, "bsc", releases.usdc, bsc_net.bridge_vault).await;
    let mut outs: Vec<U256> = Vec::new();
    for id in &included {
        let t = store.transfer(id.parse().unwrap()).await.unwrap().unwrap();
        outs.push(t.amount_out.unwrap());
    }
    outs.sort();
    let keep = outs[0] + outs[1];
    common::withdraw_from_bsc_vault(net, releases.usdc, held - keep).await;
    // The same transaction, mined again in a later block.
    node.send_raw_transaction(&raw)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    common::mine(net, 6).await;

    // Confirmation finds it in another block and settles it again from there.
    let mut confirmed = Vec::new();
    for _ in 0..10 {
        let r = executor.step().await.unwrap();
        confirmed.extend(r.confirmed);
        if confirmed.len() == 2 {
            break;
        }
        common::mine(net, 1).await;
    }
    assert_eq!(confirmed.len(), 2, "the two paid: {confirmed:?}");
    let waiting = store
        .transfers_to(bsc_id, &[TransferStatus::AwaitingLiquidity])
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1, "the third waits for liquidity");
    assert!(!confirmed.contains(&waiting[0].id.to_string()));
    let history = store.transfer_history(waiting[0].id).await.unwrap();
    assert!(
        history.iter().any(|h| h
            .reason
            .as_ref()
            .map(ToString::to_string)
            .as_deref()
            .is_some_and(|r| r.contains("settled again from there"))),
        "moved, not confirmed from its block number: {history:?}"
    );

    // Topped up: the third is paid by a new release, once.
    common::top_up_bsc_vault(net, releases.usdc, held - keep).await;
    common::step_until_confirmed(&mut executor, net, &mut confirmed, 3).await;
    releases.assert_each_paid_once(net).await;
    common::assert_audit_clean(settings, store).await;
}
