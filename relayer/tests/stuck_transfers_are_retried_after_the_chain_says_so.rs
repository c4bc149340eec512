//! A transfer past its attempt limit is `stuck`: visible in `relayer status` and resolved by an
//! operator's `retry`, which reads the destination first. Of three releases approved for BSC,
//! two are put in `stuck` through the store with one stand-in attempt each (a test double; the
//! executor's own move into `stuck` is driven in `evm_attempts_used_up_leave_transfers_stuck.rs`).
//! One of them
//! is then paid out of band with the relayer's key (a transaction this database never saw): its
//! retry is refused, because the chain shows the release, and the audit names it. The other's
//! retry finds no release and signs it again; with the third it is confirmed, and every
//! recipient is paid exactly once, read from the chain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::{Address, B256};
use atoll_adapters::evm::releases::EvmRelease;
use atoll_core::Reason;
use atoll_core::TransferStatus::*;
use atoll_relayer::RelayerError;
use atoll_relayer::evm_executor::EvmExecutor;
use atoll_relayer::retry::{Retried, retry};
use atoll_store::transfers::SignedAttempt;

#[tokio::test]
async fn a_stuck_transfer_is_signed_again_only_when_its_destination_shows_no_release() {
    let fixture = common::BscReleaseFixture::up(common::ask_every_step_never_replace).await;
    let (net, settings, store, bsc, releases) = fixture.parts();
    let bsc_id = fixture.bsc_id;
    let queued = store.transfers_to(bsc_id, &[SourceFinal]).await.unwrap();
    assert_eq!(queued.len(), 3);
    let (paid_elsewhere, to_retry) = (&queued[0], &queued[1]);
    for (n, t) in [paid_elsewhere, to_retry].into_iter().enumerate() {
        let attempt = SignedAttempt {
            chain_id: bsc_id,
            nonce: Some(1_000 + n as u64),
            blockhash: None,
            last_valid_block_height: None,
            tx_hash: format!("0x{:064x}", 0xdead + n),
            raw_tx: "0x00".into(),
            max_fee_per_gas: None,
            priority_fee: None,
        };
        store
            .record_signed(t.id, SourceFinal, &attempt)
            .await
            .unwrap();
        store
            .transition(t.id, Signed, Broadcast, None)
            .await
            .unwrap();
        store
            .transition(
                t.id,
                Broadcast,
                Stuck,
                Some(&Reason::text("3 release attempts used up")),
            )
            .await
            .unwrap();
    }
    let status =
        atoll_relayer::status::chain_statuses(settings, store, std::time::Duration::from_secs(2))
            .await
            .unwrap();
    let bsc_status = status.iter().find(|c| c.name == "bsc").unwrap();
    assert_eq!(bsc_status.stuck, 2, "visible in status");

    // Paid out of band with the relayer's key.
    let bsc_settings = settings.chain("bsc").unwrap();
    let signer =
        atoll_adapters::secrets::evm_signer(bsc_settings.relayer_key.as_ref().unwrap()).unwrap();
    let vault = net.state.evm_chain("bsc").unwrap().bridge_vault;
    let release = EvmRelease {
        id: B256::from(paid_elsewhere.id.0),
        token: paid_elsewhere
            .dest_token
            .as_deref()
            .unwrap()
            .parse::<Address>()
            .unwrap(),
        recipient: paid_elsewhere.recipient.parse::<Address>().unwrap(),
        amount: paid_elsewhere.amount_out.unwrap(),
    };
    let nonce = bsc.mined_nonce(signer.address()).await.unwrap();
    let fees = bsc.fee_estimate(false).await.unwrap();
    let tx = bsc
        .sign_release_batch(&signer, vault, &[release], nonce, 300_000, fees)
        .await
        .unwrap();
    bsc.send_raw(&tx.raw).await.unwrap();
    common::mine(net, 1).await;

    let refused = retry(settings, store, paid_elsewhere.id, "fixed").await;
    match refused {
        Err(RelayerError::Refused(why)) => {
            assert!(why.contains("shows a release of it already"), "{why}")
        }
        other => panic!("refused, not {other:?}"),
    }
    assert_eq!(
        store
            .transfer(paid_elsewhere.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        Stuck
    );
    assert_eq!(
        retry(settings, store, to_retry.id, "fixed").await.unwrap(),
        Retried::SignedAgain
    );

    let mut executor = EvmExecutor::new(settings, store, bsc, "bsc").unwrap();
    common::step_until_confirmed(&mut executor, net, &mut Vec::new(), 2).await;
    releases.assert_each_paid_once(net).await;

    // The audit sees what the database does not: the stuck one was paid.
    let audit = atoll_relayer::audit::run(settings, store).await.unwrap();
    let said: Vec<String> = audit
        .discrepancies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(said.len(), 1, "{said:#?}");
    assert!(
        said[0].contains(&paid_elsewhere.id.to_string()) && said[0].contains("recorded as stuck"),
        "{}",
        said[0]
    );
}
