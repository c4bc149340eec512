//! One refused recipient never freezes a chain. On BSC, USDC refuses every payout to one
//! recipient (its balance slot is set to 2^256 − 1, so any transfer to it overflows, as a
//! blacklisted address would revert). 70 deposits to it are made on Ethereum, more than a
//! step reads with the default batch settings (4 in flight × 16 per batch), then 5 ordinary
//! ones. The 5 are confirmed; the 70 are `failed` with the token's own revert reason and
//! nothing signed for them. Once the recipient can receive again, `retry` sends each through
//! validation and finality again, and they are paid: read from the chain, exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::Provider;
use alloy::sol_types::SolValue;
use atoll_devnet::Devnet;
use atoll_devnet::evm::{self, Role};

/// Sets USDC's `balanceOf[holder]` on BSC (TestToken's mapping is storage slot 3).
async fn set_balance_slot(net: &Devnet, holder: Address, value: U256) {
    let bsc = net.state.evm_chain("bsc").unwrap();
    let usdc = bsc.token("USDC").unwrap().address;
    let node = evm::provider_for(&bsc.rpc_url, Role::Deployer).unwrap();
    let slot = keccak256((holder, U256::from(3)).abi_encode());
    let _: serde_json::Value = node
        .raw_request("anvil_setStorageAt".into(), (usdc, slot, B256::from(value)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_refused_recipient_fails_alone_and_the_chain_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let settings = common::settings(&net, dir.path());
    assert_eq!(
        (
            settings.relayer.max_in_flight,
            settings.relayer.batch_max_releases
        ),
        (4, 16),
        "the default batch settings"
    );
    let store = common::store(&settings, dir.path()).await;
    let bsc_id = settings.chain("bsc").unwrap().chain_id.0;
    let usdc = net
        .state
        .evm_chain("bsc")
        .unwrap()
        .token("USDC")
        .unwrap()
        .address;

    let refused = Address::repeat_byte(0x42);
    set_balance_slot(&net, refused, U256::MAX).await;
    let mut to_refused = [0u8; 32];
    to_refused[12..].copy_from_slice(refused.as_slice());
    let raw = U256::from(2_000_000u64);
    for _ in 0..70 {
        common::deposit(&net, "ethereum", "USDC", raw, bsc_id, to_refused).await;
    }
    let user = common::evm_user(&net, "bsc");
    let user_address = Address::from_slice(&user[12..]);
    let before = common::evm_balance(&net, "bsc", usdc, user_address).await;
    for _ in 0..5 {
        common::deposit(&net, "ethereum", "USDC", raw, bsc_id, user).await;
    }

    let (evm, _) = common::chains(&settings);
    let relay = common::Relay {
        settings: &settings,
        store: &store,
        evm: evm.iter().map(|(n, c)| (n.clone(), c)).collect(),
        solana: None,
        tolerate_errors: false,
    };
    let count = |status: atoll_core::TransferStatus| {
        let store = &store;
        async move {
            store
                .transfers(None, None, 1_000)
                .await
                .unwrap()
                .iter()
                .filter(|t| t.status == status)
                .count()
        }
    };
    relay
        .until(&net, 200, || async {
            count(atoll_core::TransferStatus::Confirmed).await == 5
                && count(atoll_core::TransferStatus::Failed).await == 70
        })
        .await;
    // 2 USDC less 5 bps and 0.5 USDC, five times.
    let each = 2_000_000 - 1_000 - 500_000;
    let after = common::evm_balance(&net, "bsc", usdc, user_address).await;
    assert_eq!((after - before).to::<u64>(), 5 * each);
    let failed: Vec<_> = store
        .transfers(None, None, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.status == atoll_core::TransferStatus::Failed)
        .collect();
    for t in &failed {
        let why = t
            .failure_reason
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(why.contains("the token refused the payout"), "{why}");
        assert!(why.contains("overflow"), "the token's own reason: {why}");
        assert_eq!(
            store.attempt_count(t.id).await.unwrap(),
            0,
            "nothing signed"
        );
    }

    // The cause fixed: the recipient can receive again; each retry is paid, once.
    set_balance_slot(&net, refused, U256::ZERO).await;
    for t in &failed {
        store.retry(t.id, "recipient fixed").await.unwrap();
    }
    relay
        .until(&net, 200, || async {
            count(atoll_core::TransferStatus::Confirmed).await == 75
        })
        .await;
    let paid = common::evm_balance(&net, "bsc", usdc, refused).await;
    assert_eq!(
        paid.to::<u64>(),
        70 * each,
        "each refused deposit paid once"
    );
    common::assert_audit_clean(&settings, &store).await;
}
