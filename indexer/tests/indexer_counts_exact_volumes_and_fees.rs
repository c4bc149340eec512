//! A deterministic traffic seed on the devnet's real Uniswap V2/V3 pools, indexed from an
//! empty database: per pool, the stored swap count, volumes and LP fees equal the integers the
//! test computes from the swaps it made; every pool log on chain is stored once; the yield
//! record is consistent. Ethereum is read through a proxy that refuses log ranges wider than 5
//! blocks (as hosted providers do), and still no log is missing. BSC's V2 pairs are configured
//! as PancakeSwap V2, whose LPs get 17 of the 25 bps. Runs on SQLite, and on
//! PostgreSQL when `ATOLL_TEST_POSTGRES_URL` is set. A second run changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use atoll_adapters::evm::events::EvmEvent;
use atoll_core::{PoolId, Protocol};
use atoll_devnet::fault_proxy::{FaultPlan, FaultProxy};
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_devnet::{Devnet, evm};
use atoll_indexer::Mode;
use atoll_store::Store;
use atoll_store::test_support::PostgresTestDb;

#[derive(Debug, Default, PartialEq)]
struct Expected {
    swaps: i64,
    volume0: U256,
    volume1: U256,
}

#[tokio::test]
async fn exact_volumes_and_fees_from_a_seed_on_sqlite_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    common::pin_clock(&net).await;
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 40,
            deposits: 0,
            seed: 7,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.swaps.len(), 40);

    let eth = net.state.evm_chain("ethereum").unwrap();
    let proxy = FaultProxy::start(
        &eth.rpc_url,
        FaultPlan {
            max_log_blocks: Some(5),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut settings = common::settings_for(&net);
    settings
        .chains
        .iter_mut()
        .find(|c| c.name == "ethereum")
        .unwrap()
        .rpc = vec![proxy.url.parse().unwrap()];
    // BSC's V2 pairs are read as PancakeSwap V2 (same pair ABI): their LP fee follows the
    // protocol's config, 17 of 25 bps, whatever the on-chain fee is.
    for p in settings.pools.iter_mut() {
        if p.chain == "bsc" && p.protocol == Protocol::UniswapV2 {
            p.protocol = Protocol::PancakeswapV2;
            p.id = PoolId::new("bsc", Protocol::PancakeswapV2, &p.address);
        }
    }
    let protocol_of = |chain: &str, protocol: &str| {
        if chain == "bsc" && protocol == "uniswap_v2" {
            "pancakeswap_v2".to_string()
        } else {
            protocol.to_string()
        }
    };

    // Expected per pool id, from the swaps as sent.
    let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
    for s in &report.swaps {
        let id = format!(
            "{}:{}:{:#x}",
            s.chain,
            protocol_of(&s.chain, &s.protocol),
            s.pool
        );
        let e = expected.entry(id).or_default();
        e.swaps += 1;
        if s.zero_for_one {
            e.volume0 += s.amount_in;
        } else {
            e.volume1 += s.amount_in;
        }
    }
    let mut lp_ppm: BTreeMap<String, u32> = BTreeMap::new();
    for c in &net.state.evm {
        for p in c.v2_pairs.iter().chain(&c.v3_pools) {
            // Uniswap V2: 30 bps, all to LPs; PancakeSwap V2: 17 bps to LPs; V3: the tier.
            let protocol = protocol_of(&c.name, &p.protocol);
            let ppm = if protocol == "pancakeswap_v2" {
                1_700
            } else {
                p.fee_ppm
            };
            lp_ppm.insert(format!("{}:{protocol}:{:#x}", c.name, p.address), ppm);
        }
    }

    let sqlite = common::sqlite_store(dir.path(), &settings).await;
    check_backend(&net, &settings, &sqlite, &expected, &lp_ppm).await;
    assert!(
        proxy.stats.refused_ranges.load(Ordering::SeqCst) > 0,
        "the proxy refused wide ranges"
    );

    if let Some(pg) = PostgresTestDb::create("volumes").await.unwrap() {
        let store = Store::connect(&pg.url).await.unwrap();
        store.migrate_up().await.unwrap();
        store.register_settings(&settings).await.unwrap();
        check_backend(&net, &settings, &store, &expected, &lp_ppm).await;
        // Both backends hold the same rows.
        let (a, b) = (
            common::indexed(&sqlite).await,
            common::indexed(&store).await,
        );
        assert_eq!(a.events, b.events);
        assert_eq!(a.hourly, b.hourly);
        store.close().await.unwrap();
        pg.drop_db().await;
    }
}

async fn check_backend(
    net: &Devnet,
    settings: &atoll_core::settings::Settings,
    store: &Store,
    expected: &BTreeMap<String, Expected>,
    lp_ppm: &BTreeMap<String, u32>,
) {
    let results = atoll_indexer::run(settings, store, &[], Mode::Once, common::no_progress()).await;
    for (chain, r) in &results {
        let s = r.as_ref().unwrap_or_else(|e| panic!("{chain}: {e}"));
        assert!(s.pool_problems.is_empty(), "{:?}", s.pool_problems);
        assert_eq!(
            s.pools, 9,
            "{chain}: 3 V2 pairs, 2 V3 pools, 3 Aave reserves and a Comet"
        );
    }
    let first = common::indexed(store).await;

    // Volumes, swap counts and fees, pool by pool.
    for (id, e) in expected {
        let rows: Vec<_> = first.hourly.iter().filter(|h| &h.pool_id == id).collect();
        assert_eq!(rows.len(), 1, "{id}: one hour bucket (clock pinned)");
        let h = rows[0];
        assert_eq!(h.swaps, e.swaps, "{id}: swaps");
        assert_eq!(h.volume0, e.volume0.to_string(), "{id}: volume0");
        assert_eq!(h.volume1, e.volume1.to_string(), "{id}: volume1");
        let ppm = U256::from(lp_ppm[id]);
        let million = U256::from(1_000_000u32);
        assert_eq!(
            h.lp_fees0,
            (e.volume0 * ppm / million).to_string(),
            "{id}: fees0"
        );
        assert_eq!(
            h.lp_fees1,
            (e.volume1 * ppm / million).to_string(),
            "{id}: fees1"
        );
    }
    assert_eq!(
        first.hourly.iter().map(|h| h.swaps).sum::<i64>(),
        expected.values().map(|e| e.swaps).sum::<i64>(),
        "no swap counted that the test did not make"
    );

    // Every pool log on chain is stored exactly once.
    for c in &net.state.evm {
        let p = evm::provider_for(&c.rpc_url, evm::Role::Trader).unwrap();
        let cp = first
            .checkpoints
            .iter()
            .find(|k| k.0 == c.chain_id as i64)
            .unwrap();
        let addresses: Vec<_> = c
            .v2_pairs
            .iter()
            .chain(&c.v3_pools)
            .map(|p| p.address)
            .collect();
        let logs = p
            .get_logs(
                &Filter::new()
                    .address(addresses)
                    // What the indexer stores: the pools' trading and liquidity events (not
                    // the V2 LP token's Transfer, nor V3's one-off Initialize).
                    .event_signature(EvmEvent::pool_topics())
                    .from_block(c.deployed_at_block)
                    .to_block(cp.2 as u64),
            )
            .await
            .unwrap();
        let stored: Vec<(String, i64)> = first
            .events
            .iter()
            .filter(|e| e.chain_id == c.chain_id as i64)
            .map(|e| (e.tx_hash.clone(), e.log_index))
            .collect();
        let on_chain: Vec<(String, i64)> = logs
            .iter()
            .map(|l| {
                (
                    format!("{:#x}", l.transaction_hash.unwrap()),
                    l.log_index.unwrap() as i64,
                )
            })
            .collect();
        assert_eq!(
            stored, on_chain,
            "{}: stored events = pool logs on chain",
            c.name
        );
    }

    // The yield record is consistent with its own figures.
    // Lending reserves have figures of their own (tests/lending_reserves_match_the_chain.rs).
    let dex = |p: &&atoll_store::entities::pools::Model| {
        !matches!(p.protocol.as_str(), "aave_v3" | "compound_v3")
    };
    for p in first.pools.iter().filter(dex) {
        let tvl = p.tvl_usd.unwrap();
        assert!(
            tvl > 100_000.0,
            "{}: devnet pools hold real depth ({tvl})",
            p.id
        );
        assert_eq!(p.dropped_reason, None, "{}", p.id);
        let apr = p.apr_base.unwrap();
        let fees = p.fees_usd1d.unwrap();
        assert!(
            (apr - fees * 365.0 / tvl).abs() <= 1e-12 * apr.abs().max(1.0),
            "{}",
            p.id
        );
        let apy = p.apy_base.unwrap();
        assert!(
            (apy - ((1.0 + apr / 365.0).powi(365) - 1.0)).abs() < 1e-12,
            "{}",
            p.id
        );
        assert_eq!(p.apy, p.apy_base);
        assert_eq!(p.stablecoin, p.symbol == "USDC-USDT", "{}", p.id);
        if p.protocol == "pancakeswap_v2" {
            assert_eq!((p.fee_ppm, p.lp_fee_ppm), (2_500, 1_700), "{}", p.id);
        }
        if expected.contains_key(&p.id) {
            assert!(p.volume_usd1d.unwrap() > 0.0 && fees > 0.0, "{}", p.id);
        }
    }

    // The user-facing record (DefiLlama-shaped) carries the same figures.
    let records = store.pool_records(true).await.unwrap();
    assert_eq!(records.len(), first.pools.len());
    for r in &records {
        let p = first.pools.iter().find(|p| p.id == r.pool).unwrap();
        assert!(r.chain == "ethereum" || r.chain == "bsc");
        assert_eq!(r.chain_id, p.chain_id);
        assert_eq!(r.project, p.protocol);
        if r.kind == "lending" {
            // A reserve is one token, with its lending figures beside the pool's.
            assert_eq!(r.underlying_tokens, vec![p.token0.clone()]);
            assert!(r.lending.is_some() && r.block.is_some());
            continue;
        }
        assert_eq!(
            r.underlying_tokens,
            vec![p.token0.clone(), p.token1.clone()]
        );
        assert_eq!(
            (r.tvl_usd, r.apy_base, r.apy),
            (p.tvl_usd, p.apy_base, p.apy)
        );
        assert!(r.reserve0.is_some() && r.block.is_some());
    }
    assert!(store.pool_records(false).await.unwrap().len() == records.len());

    // Running again over the same chain changes nothing.
    let again = atoll_indexer::run(settings, store, &[], Mode::Once, common::no_progress()).await;
    assert!(again.iter().all(|(_, r)| r.is_ok()));
    let second = common::indexed(store).await;
    assert_eq!(first.events, second.events);
    assert_eq!(first.hourly, second.hourly);
    assert_eq!(first.checkpoints, second.checkpoints);
}
