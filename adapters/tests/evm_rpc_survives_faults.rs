//! The EVM adapter against real anvil nodes, through `FaultProxy` (the test double for faults a
//! node will not make on demand): refused log ranges are split and every log still arrives,
//! 429/502 answers are retried, a dead endpoint fails over to the next, permanent errors are not
//! retried, and a wrong chain id or an unreachable RPC is a clear error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::Ordering;
use std::time::Duration;

use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use atoll_adapters::AdapterError;
use atoll_adapters::evm::{EvmChain, LogWindow, RetryPolicy};
use atoll_core::ChainId;
use atoll_core::settings::ChainSettings;
use atoll_devnet::contracts::{IUniswapV2Pair, IUniswapV3Pool};
use atoll_devnet::fault_proxy::{FaultPlan, FaultProxy};
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_devnet::{Devnet, evm};

const FAST: RetryPolicy = RetryPolicy {
    rounds: 4,
    base_delay: Duration::from_millis(2),
    max_delay: Duration::from_millis(20),
};

fn settings(name: &str, chain_id: u64, rpc: &[&str]) -> ChainSettings {
    ChainSettings {
        name: name.into(),
        kind: atoll_core::ChainKind::Evm,
        chain_id: ChainId(chain_id),
        rpc: rpc.iter().map(|u| u.parse().unwrap()).collect(),
        confirmations: 3,
        use_finalized_tag: true,
        fee_model: None,
        rate_limit_rps: 10_000,
        start_block: 0,
        bridge_vault: None,
        relayer_key: None,
        treasury_key: None,
        multicall3: None,
        priority_fee_micro_lamports: 0,
        max_gas_price_wei: 1_000_000_000_000,
        native_token: None,
    }
}

fn swap_filter() -> Filter {
    Filter::new().event_signature(vec![
        IUniswapV2Pair::Swap::SIGNATURE_HASH,
        IUniswapV3Pool::Swap::SIGNATURE_HASH,
    ])
}

#[tokio::test]
async fn refused_log_ranges_are_split_and_no_log_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 60,
            deposits: 0,
            seed: 5,
        },
    )
    .await
    .unwrap();
    let eth = net.state.evm_chain("ethereum").unwrap();
    let direct = evm::provider_for(&eth.rpc_url, evm::Role::Trader).unwrap();
    let head = direct.get_block_number().await.unwrap();
    let expected = direct
        .get_logs(&swap_filter().from_block(0).to_block(head))
        .await
        .unwrap();
    assert!(!expected.is_empty());

    let proxy = FaultProxy::start(
        &eth.rpc_url,
        FaultPlan {
            max_log_blocks: Some(7),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let chain = EvmChain::new(&settings("ethereum", 1, &[&proxy.url]), FAST).unwrap();
    let mut window = LogWindow::new(64, 1024, 1_000);
    let got = chain
        .logs(&swap_filter(), 0, head, &mut window)
        .await
        .unwrap();
    let key = |l: &alloy::rpc::types::Log| (l.block_number, l.log_index);
    assert_eq!(
        got.iter().map(key).collect::<Vec<_>>(),
        expected.iter().map(key).collect::<Vec<_>>()
    );
    let refused = proxy.stats.refused_ranges.load(Ordering::SeqCst);
    assert!(refused > 0, "the proxy did refuse ranges");
    assert!(
        window.blocks <= 7,
        "the window learned the limit: {}",
        window.blocks
    );
    // 64 → 32 → 16 → 8 are refused once each; after that the ceiling holds.
    assert!(
        refused <= 4,
        "the limit was probed again and again: {refused} refusals"
    );
    net.down();
}

#[tokio::test]
async fn http_429_and_502_are_retried_and_a_dead_endpoint_fails_over() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let eth = net.state.evm_chain("ethereum").unwrap();
    let flaky = FaultProxy::start(
        &eth.rpc_url,
        FaultPlan {
            http_error_every: Some(3),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let dead = FaultProxy::start(&eth.rpc_url, FaultPlan::default())
        .await
        .unwrap();
    dead.set_dead(true);

    let chain = EvmChain::new(&settings("ethereum", 1, &[&dead.url, &flaky.url]), FAST).unwrap();
    chain.verify_chain_id().await.unwrap();
    for _ in 0..30 {
        let head = chain.head().await.unwrap();
        assert_eq!(chain.block(head.number).await.unwrap().hash, head.hash);
    }
    assert!(
        dead.stats.dead_answers.load(Ordering::SeqCst) >= 1,
        "the dead endpoint was tried"
    );
    assert!(
        flaky.stats.http_errors.load(Ordering::SeqCst) >= 10,
        "faults were injected and survived"
    );
    net.down();
}

#[tokio::test]
async fn finality_permanent_errors_and_bad_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let eth = net.state.evm_chain("ethereum").unwrap();
    let bsc = net.state.evm_chain("bsc").unwrap();
    let proxy = FaultProxy::start(&eth.rpc_url, FaultPlan::default())
        .await
        .unwrap();
    let chain = EvmChain::new(&settings("ethereum", 1, &[&proxy.url]), FAST).unwrap();

    // anvil has a `finalized` tag: two blocks behind head with one slot per epoch.
    let head = chain.head().await.unwrap();
    let fin = chain.finalized().await.unwrap();
    assert!(
        fin.number < head.number && fin.number + 64 >= head.number,
        "{} vs {}",
        fin.number,
        head.number
    );
    assert_eq!(chain.block(fin.number).await.unwrap(), fin);

    // A reverted call is permanent: one request, no retry.
    let before = proxy.stats.requests.load(Ordering::SeqCst);
    let vault = eth.bridge_vault;
    let err = chain
        .rpc
        .call("eth_call", move |p| async move {
            let tx = alloy::rpc::types::TransactionRequest::default()
                .to(vault)
                .input(alloy::primitives::Bytes::from(vec![0xde, 0xad, 0xbe, 0xef]).into());
            p.call(tx).await
        })
        .await
        .unwrap_err();
    assert!(matches!(err, AdapterError::RpcRejected { .. }), "{err}");
    assert_eq!(
        proxy.stats.requests.load(Ordering::SeqCst) - before,
        1,
        "no retry of a permanent error"
    );

    // The BSC node under the Ethereum name: caught before anything is indexed or sent.
    let wrong = EvmChain::new(&settings("ethereum", 1, &[&bsc.rpc_url]), FAST).unwrap();
    let e = wrong.verify_chain_id().await.unwrap_err().to_string();
    assert_eq!(
        e,
        "ethereum: the RPC reports chain id 56, the config says 1"
    );

    // Nothing listening: a clear error after the policy's attempts, naming host and method only.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = EvmChain::new(
        &settings(
            "ethereum",
            1,
            &[&format!("http://127.0.0.1:{port}/v3/SECRETKEY")],
        ),
        FAST,
    )
    .unwrap();
    let e = gone.head().await.unwrap_err();
    assert!(e.is_retryable());
    let text = e.to_string();
    assert!(
        text.starts_with(
            "ethereum: eth_getBlockByNumber failed on every endpoint after 4 attempts"
        ),
        "{text}"
    );
    assert!(!text.contains("SECRETKEY"), "{text}");
    net.down();
}

/// A step's release transactions go in one JSON-RPC batch: anvil (mining on arrival) puts
/// them in one block, each answer is sorted on its own and in the order sent, and sending the
/// same bytes again is harmless. The vault's logs over the block read what each did.
#[tokio::test]
async fn a_batch_of_sends_lands_in_one_block_and_each_answer_is_sorted() {
    use alloy::primitives::{Bytes, U256, keccak256};
    use atoll_adapters::evm::releases::{EvmRelease, SendOutcome};

    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let bsc = net.state.evm_chain("bsc").unwrap();
    let chain = EvmChain::new(&settings("bsc", bsc.chain_id, &[&bsc.rpc_url]), FAST).unwrap();
    let signer = evm::Role::Relayer.signer().unwrap();
    let usdc = bsc.token("USDC").unwrap().address;
    let node = evm::provider_for(&bsc.rpc_url, evm::Role::Trader).unwrap();
    let first_nonce = node.get_transaction_count(signer.address()).await.unwrap();
    let fees = chain.fee_estimate(false).await.unwrap();
    let mut raws = Vec::new();
    let mut hashes = Vec::new();
    for k in 0..4u64 {
        let release = EvmRelease {
            id: keccak256(format!("batched-send-{k}")),
            token: usdc,
            recipient: alloy::primitives::Address::repeat_byte(0x40 + k as u8),
            amount: U256::from(1_000u64),
        };
        let tx = chain
            .sign_release_batch(
                &signer,
                bsc.bridge_vault,
                &[release],
                first_nonce + k,
                300_000,
                fees,
            )
            .await
            .unwrap();
        raws.push(tx.raw);
        hashes.push(tx.hash);
    }

    let answers = chain.send_raw_batch(&raws).await.unwrap();
    assert_eq!(answers.len(), 4);
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, Ok(SendOutcome::Accepted))),
        "{answers:?}"
    );
    let mut blocks = std::collections::BTreeSet::new();
    for hash in &hashes {
        let mut polls = 0u32;
        let receipt = loop {
            if let Some(r) = node.get_transaction_receipt(*hash).await.unwrap() {
                break r;
            }
            polls += 1;
            assert!(polls < 100_000, "release {hash} never mined");
            tokio::task::yield_now().await;
        };
        assert!(receipt.status(), "release {hash} reverted");
        blocks.insert(receipt.block_number.unwrap());
    }
    assert_eq!(blocks.len(), 1, "mined in blocks {blocks:?}");

    // The vault's logs over that block tell what each transaction did, as its receipt does.
    let block = *blocks.first().unwrap();
    let logged = chain
        .release_logs(bsc.bridge_vault, block, block)
        .await
        .unwrap();
    assert_eq!(logged.len(), 4, "{logged:?}");
    for hash in &hashes {
        let receipt = chain
            .release_receipt(*hash, bsc.bridge_vault)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(logged.get(hash), Some(&receipt), "release {hash}");
        assert_eq!(receipt.released.len(), 1);
    }

    // Again, with bytes no node takes in the middle: the mined ones say their nonce is used,
    // the garbage is refused, each answer in its place.
    let mut again = raws.clone();
    again.insert(2, Bytes::from_static(&[0xde, 0xad]));
    let answers = chain.send_raw_batch(&again).await.unwrap();
    assert_eq!(answers.len(), 5);
    for (i, answer) in answers.iter().enumerate() {
        if i == 2 {
            assert!(
                matches!(answer, Err(AdapterError::RpcRejected { .. })),
                "{answer:?}"
            );
        } else {
            assert!(
                matches!(
                    answer,
                    Ok(SendOutcome::NonceTooLow | SendOutcome::AlreadyKnown)
                ),
                "answer {i}: {answer:?}"
            );
        }
    }
}
