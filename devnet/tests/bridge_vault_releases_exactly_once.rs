//! BridgeVault on a real anvil devnet: deposits emit their id and fields, a release pays once and
//! a second release of the same id reverts, a batch skips processed ids (also within the batch)
//! and leaves failed payouts unprocessed, and only relayers may release.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{Address, FixedBytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolEvent, SolValue};
use atoll_devnet::Devnet;
use atoll_devnet::contracts::{BridgeVault, TestToken};
use atoll_devnet::evm::{self, EvmDeployment, Role};

fn chain(devnet: &Devnet) -> EvmDeployment {
    devnet.state.evm_chain("ethereum").unwrap().clone()
}

async fn balance(p: &DynProvider, token: Address, who: Address) -> U256 {
    TestToken::new(token, p)
        .balanceOf(who)
        .call()
        .await
        .unwrap()
}

fn vault_error(e: alloy::contract::Error) -> BridgeVault::BridgeVaultErrors {
    e.as_decoded_interface_error::<BridgeVault::BridgeVaultErrors>()
        .unwrap_or_else(|| panic!("not a BridgeVault error: {e}"))
}

#[tokio::test]
async fn deposit_then_release_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let c = chain(&devnet);
    let usdc = c.token("USDC").unwrap().address;
    let user = evm::provider_for(&c.rpc_url, Role::User).unwrap();
    let relayer = evm::provider_for(&c.rpc_url, Role::Relayer).unwrap();
    let user_addr = c.account(Role::User).unwrap();

    // Deposit: the event carries the id derived from (chain id, vault, nonce) and every field.
    let recipient = FixedBytes::<32>::left_padding_from(user_addr.as_slice());
    let vault = BridgeVault::new(c.bridge_vault, &user);
    let before_vault = balance(&user, usdc, c.bridge_vault).await;
    let receipt = evm::send(
        &user,
        vault
            .deposit(usdc, U256::from(1_500_000u64), 56, recipient)
            .into_transaction_request(),
        "ethereum",
        "deposit",
    )
    .await
    .unwrap();
    let log = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| BridgeVault::TransferInitiated::decode_log(&l.inner).ok())
        .unwrap();
    let expected_id = keccak256((U256::from(1u64), c.bridge_vault, 1u64).abi_encode());
    assert_eq!(log.id, expected_id);
    assert_eq!(
        (
            log.token,
            log.sender,
            log.amount,
            log.dstChainId,
            log.recipient,
            log.nonce
        ),
        (usdc, user_addr, U256::from(1_500_000u64), 56, recipient, 1)
    );
    assert_eq!(
        balance(&user, usdc, c.bridge_vault).await,
        before_vault + U256::from(1_500_000u64)
    );

    // First release pays; the second with the same id reverts with AlreadyProcessed.
    let rv = BridgeVault::new(c.bridge_vault, &relayer);
    let before = balance(&user, usdc, user_addr).await;
    evm::send(
        &relayer,
        rv.release(log.id, usdc, user_addr, U256::from(1_400_000u64))
            .into_transaction_request(),
        "ethereum",
        "release",
    )
    .await
    .unwrap();
    assert!(rv.processed(log.id).call().await.unwrap());
    assert_eq!(
        balance(&user, usdc, user_addr).await,
        before + U256::from(1_400_000u64)
    );
    let again = rv
        .release(log.id, usdc, user_addr, U256::from(1_400_000u64))
        .call()
        .await
        .unwrap_err();
    assert!(
        matches!(vault_error(again), BridgeVault::BridgeVaultErrors::AlreadyProcessed(e) if e.id == log.id)
    );
    let sent = evm::send(
        &relayer,
        rv.release(log.id, usdc, user_addr, U256::from(1_400_000u64))
            .into_transaction_request(),
        "ethereum",
        "release again",
    )
    .await;
    assert!(sent.is_err(), "a second release must not go through");
    assert_eq!(
        balance(&user, usdc, user_addr).await,
        before + U256::from(1_400_000u64),
        "paid once"
    );

    // Only relayers release.
    let not_relayer = vault
        .release(
            FixedBytes::from([9u8; 32]),
            usdc,
            user_addr,
            U256::from(1u8),
        )
        .call()
        .await
        .unwrap_err();
    assert!(matches!(
        vault_error(not_relayer),
        BridgeVault::BridgeVaultErrors::NotRelayer(_)
    ));
    devnet.down();
}

#[tokio::test]
async fn release_batch_skips_processed_and_failed_entries() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let c = chain(&devnet);
    let usdc = c.token("USDC").unwrap().address;
    let relayer = evm::provider_for(&c.rpc_url, Role::Relayer).unwrap();
    let rv = BridgeVault::new(c.bridge_vault, &relayer);
    let to = Address::from([0x42; 20]);
    let (a, b, d) = (
        FixedBytes::from([1u8; 32]),
        FixedBytes::from([2u8; 32]),
        FixedBytes::from([4u8; 32]),
    );
    evm::send(
        &relayer,
        rv.release(a, usdc, to, U256::from(10u8))
            .into_transaction_request(),
        "ethereum",
        "release a",
    )
    .await
    .unwrap();

    let vault_balance = balance(&relayer, usdc, c.bridge_vault).await;
    let entry = |id, amount: U256| BridgeVault::Release {
        id,
        token: usdc,
        recipient: to,
        amount,
    };
    let batch = vec![
        entry(a, U256::from(10u8)), // processed before: skipped
        entry(b, U256::from(20u8)), // paid
        entry(b, U256::from(20u8)), // duplicate within the batch: skipped
        entry(d, vault_balance),    // more than is left after b: fails, stays unprocessed
    ];
    let receipt = evm::send(
        &relayer,
        rv.releaseBatch(batch).into_transaction_request(),
        "ethereum",
        "releaseBatch",
    )
    .await
    .unwrap();
    let logs = receipt.inner.logs();
    let skipped: Vec<_> = logs
        .iter()
        .filter_map(|l| BridgeVault::ReleaseSkipped::decode_log(&l.inner).ok())
        .map(|e| e.id)
        .collect();
    let released: Vec<_> = logs
        .iter()
        .filter_map(|l| BridgeVault::TransferReleased::decode_log(&l.inner).ok())
        .map(|e| e.id)
        .collect();
    let failed: Vec<_> = logs
        .iter()
        .filter_map(|l| BridgeVault::ReleaseFailed::decode_log(&l.inner).ok())
        .map(|e| e.id)
        .collect();
    assert_eq!(skipped, vec![a, b]);
    assert_eq!(released, vec![b]);
    assert_eq!(failed, vec![d]);
    assert_eq!(
        balance(&relayer, usdc, to).await,
        U256::from(30u8),
        "10 from the single release, 20 from the batch"
    );
    assert!(rv.processed(b).call().await.unwrap());
    assert!(
        !rv.processed(d).call().await.unwrap(),
        "a failed payout can be retried"
    );

    // Pausing stops releases and deposits; the owner unpauses.
    let owner = evm::provider_for(&c.rpc_url, Role::Deployer).unwrap();
    let ov = BridgeVault::new(c.bridge_vault, &owner);
    evm::send(
        &owner,
        ov.pause().into_transaction_request(),
        "ethereum",
        "pause",
    )
    .await
    .unwrap();
    let paused = rv
        .release(d, usdc, to, U256::from(1u8))
        .call()
        .await
        .unwrap_err();
    assert!(matches!(
        vault_error(paused),
        BridgeVault::BridgeVaultErrors::VaultPaused(_)
    ));
    evm::send(
        &owner,
        ov.unpause().into_transaction_request(),
        "ethereum",
        "unpause",
    )
    .await
    .unwrap();
    evm::send(
        &relayer,
        rv.release(d, usdc, to, U256::from(1u8))
            .into_transaction_request(),
        "ethereum",
        "release d",
    )
    .await
    .unwrap();
    devnet.down();
}

#[tokio::test]
async fn bad_deposits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let c = chain(&devnet);
    let usdc = c.token("USDC").unwrap().address;
    let user = evm::provider_for(&c.rpc_url, Role::User).unwrap();
    let vault = BridgeVault::new(c.bridge_vault, &user);
    let to = FixedBytes::from([7u8; 32]);
    let same_chain = vault
        .deposit(usdc, U256::from(1u8), 1, to)
        .call()
        .await
        .unwrap_err();
    assert!(matches!(
        vault_error(same_chain),
        BridgeVault::BridgeVaultErrors::SameChain(_)
    ));
    let zero = vault
        .deposit(usdc, U256::ZERO, 56, to)
        .call()
        .await
        .unwrap_err();
    assert!(matches!(
        vault_error(zero),
        BridgeVault::BridgeVaultErrors::ZeroAmount(_)
    ));
    let no_recipient = vault
        .deposit(usdc, U256::from(1u8), 56, FixedBytes::ZERO)
        .call()
        .await
        .unwrap_err();
    assert!(matches!(
        vault_error(no_recipient),
        BridgeVault::BridgeVaultErrors::ZeroRecipient(_)
    ));
    // No event was emitted by any of them.
    let logs = user
        .get_logs(
            &Filter::new()
                .address(c.bridge_vault)
                .event_signature(BridgeVault::TransferInitiated::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    assert!(logs.is_empty());
    devnet.down();
}
