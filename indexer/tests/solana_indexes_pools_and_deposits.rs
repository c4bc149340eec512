//! Solana indexing against solana-test-validator (through atoll-devnet): the devnet's Whirlpool
//! and CPMM pools are registered, valued and sampled at a finalized slot; deposits into the
//! relayer's vaults become transfers (two valid, two rejected with their reason); a re-scan from
//! scratch inserts nothing twice; fees come from the growth of the pools' fee counters between
//! two reads (the earlier read is seeded with known smaller counters, since the pools' programs
//! are not loaded and their counters cannot move on the devnet); a configured account that is
//! not a pool is reported and skipped. Run on SQLite, then on PostgreSQL when the test server is
//! configured, against the same cluster.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use atoll_adapters::solana::accounts::whirlpool_fees_between;
use atoll_core::settings::PoolSettings;
use atoll_core::{Address, ChainId, ChainKind, PoolId, Protocol};
use atoll_devnet::Devnet;
use atoll_devnet::solana::devnet_keypair;
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_indexer::{Mode, POOLS_STREAM};
use atoll_store::entities::{index_checkpoints, pool_hourly};
use atoll_store::test_support::PostgresTestDb;
use atoll_store::{Checkpoint, Store};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use solana_client::nonblocking::rpc_client::RpcClient;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signer::Signer;

const SOLANA: u64 = ChainId::SOLANA.0;

async fn index_once(
    settings: &atoll_core::settings::Settings,
    store: &Store,
) -> atoll_indexer::ChainSummary {
    let mut results = atoll_indexer::run(
        settings,
        store,
        &["solana".to_string()],
        Mode::Once,
        common::no_progress(),
    )
    .await;
    assert_eq!(results.len(), 1);
    results.remove(0).1.unwrap()
}

/// Waits until the cluster finalizes a slot above `slot` (the indexer samples pools only when
/// the finalized slot moved).
async fn finalized_after(client: &RpcClient, slot: u64) {
    loop {
        let now = client
            .get_slot_with_commitment(CommitmentConfig::finalized())
            .await
            .unwrap();
        if now > slot {
            return;
        }
        // Slots are 400 ms on the test validator; poll the node rather than guess.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn solana_pools_and_deposits_are_indexed_once() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), true).await.unwrap();
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 0,
            deposits: 6,
            seed: 9,
        },
    )
    .await
    .unwrap();
    let from_solana: Vec<_> = report
        .deposits
        .iter()
        .filter(|d| d.from == "solana")
        .collect();
    assert_eq!(from_solana.len(), 2);

    // Two transfers into the USDC vault that must not be released: no memo, bad memo.
    let mut stray = Vec::new();
    for memo in [None, Some("atoll:v1:dst=banana:to=nobody")] {
        stray.push(
            traffic::send_vault_transfer(&net.state, "USDC", 7_000_000, memo)
                .await
                .unwrap(),
        );
    }

    let usdc = net.state.solana.as_ref().unwrap().token("USDC").unwrap();
    let mint = usdc.mint.parse::<Pubkey>().unwrap();
    let mut settings = common::settings_for(&net);
    // A configured "pool" that is a mint: reported with its reason and skipped.
    settings.pools.push(PoolSettings {
        id: PoolId::new(
            "solana",
            Protocol::OrcaWhirlpool,
            &Address::Solana(mint.to_bytes()),
        ),
        chain: "solana".into(),
        protocol: Protocol::OrcaWhirlpool,
        address: Address::parse(ChainKind::Solana, &usdc.mint).unwrap(),
    });
    let store = atoll_store::test_support::sqlite_in(dir.path())
        .await
        .unwrap();
    check(&net, &settings, &store, &stray, &from_solana).await;
    // The same on PostgreSQL, from an empty database, against the same cluster.
    if let Some(pg) = PostgresTestDb::create("solana").await.unwrap() {
        let store = Store::connect(&pg.url).await.unwrap();
        check(&net, &settings, &store, &stray, &from_solana).await;
        store.close().await.unwrap();
        pg.drop_db().await;
    } else {
        eprintln!(
            "ATOLL_TEST_POSTGRES_URL unset: PostgreSQL part skipped (scripts/test.sh sets it)"
        );
    }
}

/// Indexes the cluster into `store` (empty) and checks everything it wrote.
async fn check(
    net: &Devnet,
    settings: &atoll_core::settings::Settings,
    store: &Store,
    stray: &[solana_sdk::signature::Signature],
    from_solana: &[&atoll_devnet::traffic::DepositRecord],
) {
    store.migrate_up().await.unwrap();
    store.register_settings(settings).await.unwrap();
    let sol = net.state.solana.as_ref().unwrap();
    let usdc = sol.token("USDC").unwrap();
    let key = |s: &str| s.parse::<Pubkey>().unwrap();
    let user = devnet_keypair("user");
    let client = RpcClient::new_with_commitment(sol.rpc_url.clone(), CommitmentConfig::confirmed());

    // First run: pools sampled at a finalized slot, deposits recorded.
    let first = index_once(settings, store).await;
    assert_eq!(first.pools, 2, "{first:?}");
    assert_eq!(first.pool_problems.len(), 1);
    assert!(
        first.pool_problems[0].contains(&usdc.mint)
            && first.pool_problems[0]
                .contains("owned by TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
        "{:?}",
        first.pool_problems
    );
    assert_eq!(first.deposits, 4);

    let pools = store.pools_of_chain(SOLANA).await.unwrap();
    assert_eq!(pools.len(), 2);
    let cp = store
        .checkpoint(SOLANA, POOLS_STREAM)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cp.block_hash, format!("slot:{}", cp.block_number));
    for p in &sol.pools {
        let id = PoolId::new(
            "solana",
            p.protocol.parse().unwrap(),
            &Address::parse(ChainKind::Solana, &p.address).unwrap(),
        )
        .0;
        let record = store.pool_record(&id).await.unwrap().unwrap();
        assert_eq!(record.token0, p.mint_a);
        assert_eq!(record.token1, p.mint_b);
        assert_eq!(record.state_block, Some(cp.block_number as i64));
        let balance = |v: &str| {
            let client = &client;
            let v = key(v);
            async move {
                client
                    .get_token_account_balance(&v)
                    .await
                    .unwrap()
                    .amount
                    .parse::<u64>()
                    .unwrap()
            }
        };
        let (b0, b1) = (balance(&p.vault_a).await, balance(&p.vault_b).await);
        let tvl = record.tvl_usd.unwrap();
        if p.protocol == "raydium_cpmm" {
            // USDC/USDT: reserves are the vaults minus the accrued protocol and fund fees,
            // 1,000,000 of each; both stable, so the TVL is exactly $2M.
            assert_eq!((record.fee_ppm, record.lp_fee_ppm), (2_500, 2_100));
            assert_eq!(record.reserve0.as_deref(), Some("1000000000000"));
            assert_eq!(record.reserve1.as_deref(), Some("1000000000000"));
            assert!(b0 > 1_000_000_000_000 && b1 > 1_000_000_000_000);
            assert!((tvl - 2_000_000.0).abs() < 1e-6, "{tvl}");
            assert!(record.stablecoin);
        } else {
            // WETH/USDC Whirlpool: reserves are the vault balances; $2M a side at $3000.
            assert_eq!((record.fee_ppm, record.lp_fee_ppm), (3_000, 2_610));
            assert_eq!(record.reserve0, Some(b0.to_string()));
            assert_eq!(record.reserve1, Some(b1.to_string()));
            let decimals =
                |m: &str| i32::from(sol.tokens.iter().find(|t| t.mint == m).unwrap().decimals);
            let (p0, p1) = (record.price0_usd.unwrap(), record.price1_usd.unwrap());
            let (weth_price, usdc_price) = if usdc.mint == p.mint_a {
                (p1, p0)
            } else {
                (p0, p1)
            };
            assert_eq!(usdc_price, 1.0);
            assert!((weth_price - 3_000.0).abs() < 1e-6, "{weth_price}");
            let expected = b0 as f64 / 10f64.powi(decimals(&p.mint_a)) * p0
                + b1 as f64 / 10f64.powi(decimals(&p.mint_b)) * p1;
            assert!(
                (tvl - expected).abs() / expected < 1e-12,
                "{tvl} vs {expected}"
            );
            assert!(record.liquidity.is_some() && record.tick.is_some());
        }
        assert_eq!(record.dropped_reason, None);
        // No earlier read: the counters are the baseline and no fees are counted yet.
        assert_eq!(record.fees_usd1d, Some(0.0));
        assert!(record.fee_counter0.is_some());
    }

    // Deposits: two attributed, two rejected with their reason, amounts exact.
    let transfers = store.transfers_from(SOLANA).await.unwrap();
    assert_eq!(transfers.len(), 4, "{transfers:#?}");
    for d in from_solana {
        let t = transfers.iter().find(|t| t.source_tx == d.tx).unwrap();
        assert_eq!(t.status, atoll_core::TransferStatus::Observed);
        let dest = net.state.evm_chain(&d.to).unwrap().chain_id;
        assert_eq!(t.dest_chain_id, dest);
        assert_eq!(t.recipient.to_lowercase(), d.recipient.to_lowercase());
        assert_eq!(t.amount_in.to_string(), d.amount.to_string());
        assert_eq!(t.sender, user.pubkey().to_string());
        assert_eq!(t.failure_reason, None);
    }
    let reason = |sig: &solana_sdk::signature::Signature| {
        let t = transfers
            .iter()
            .find(|t| t.source_tx == sig.to_string())
            .unwrap();
        assert_eq!(t.status, atoll_core::TransferStatus::Failed);
        assert_eq!(t.amount_in, atoll_core::U256::from(7_000_000u64));
        t.failure_reason.clone().unwrap().to_string()
    };
    assert_eq!(reason(&stray[0]), "rejected deposit: missing memo");
    assert!(
        reason(&stray[1]).contains("banana"),
        "{}",
        reason(&stray[1])
    );

    // Re-scan from scratch (deposit checkpoints forgotten): nothing is recorded twice.
    index_checkpoints::Entity::delete_many()
        .filter(index_checkpoints::Column::Stream.starts_with("deposits:"))
        .exec(store.connection())
        .await
        .unwrap();
    let before = store.transfers_from(SOLANA).await.unwrap();
    let again = index_once(settings, store).await;
    assert_eq!(again.deposits, 0);
    assert_eq!(store.transfers_from(SOLANA).await.unwrap(), before);

    // Fees from two reads of the fee counters: seed the stored counters with known smaller
    // values (an earlier read), wait for a newer finalized slot, index again.
    let whirlpool = sol
        .pools
        .iter()
        .find(|p| p.protocol == "orca_whirlpool")
        .unwrap();
    let cpmm = sol
        .pools
        .iter()
        .find(|p| p.protocol == "raydium_cpmm")
        .unwrap();
    let id_of = |p: &atoll_devnet::solana::SolanaPool| {
        PoolId::new(
            "solana",
            p.protocol.parse().unwrap(),
            &Address::parse(ChainKind::Solana, &p.address).unwrap(),
        )
        .0
    };
    let (w_id, c_id) = (id_of(whirlpool), id_of(cpmm));
    let counters = store.fee_counters(SOLANA).await.unwrap();
    let parse = |s: &str| s.parse::<u128>().unwrap();
    let (wa, wb) = (parse(&counters[&w_id].0), parse(&counters[&w_id].1));
    let (ca, cb) = (parse(&counters[&c_id].0), parse(&counters[&c_id].1));
    let (dwa, dwb) = (1u128 << 50, 1u128 << 48);
    let seed = store.begin_ingest(SOLANA, "test-seed", None).await.unwrap();
    seed.set_fee_counters(&w_id, &(wa - dwa).to_string(), &(wb - dwb).to_string())
        .await
        .unwrap();
    // 400 units of protocol + fund fees on token 0 = a 1,000,000-unit swap paying 2,500.
    seed.set_fee_counters(&c_id, &(ca - 400).to_string(), &cb.to_string())
        .await
        .unwrap();
    seed.commit(&Checkpoint {
        block_number: 0,
        block_hash: "seed".into(),
    })
    .await
    .unwrap();
    // The re-scan above sampled the pools too: wait past the checkpoint as it is now.
    let latest = store
        .checkpoint(SOLANA, POOLS_STREAM)
        .await
        .unwrap()
        .unwrap();
    finalized_after(&client, latest.block_number).await;
    let third = index_once(settings, store).await;
    assert!(third.to_block > latest.block_number);

    let liquidity: u128 = store
        .pool_record(&w_id)
        .await
        .unwrap()
        .unwrap()
        .liquidity
        .unwrap()
        .parse()
        .unwrap();
    let hourly = pool_hourly::Entity::find()
        .filter(pool_hourly::Column::ChainId.eq(SOLANA as i64))
        .all(store.connection())
        .await
        .unwrap();
    let of = |id: &str| hourly.iter().find(|h| h.pool_id == id).unwrap();
    let w = of(&w_id);
    assert_eq!(
        w.lp_fees0,
        whirlpool_fees_between(wa - dwa, wa, liquidity).to_string()
    );
    assert_eq!(
        w.lp_fees1,
        whirlpool_fees_between(wb - dwb, wb, liquidity).to_string()
    );
    assert_eq!(w.swaps, 0, "no swap events are read on Solana");
    let c = of(&c_id);
    assert_eq!((c.lp_fees0.as_str(), c.lp_fees1.as_str()), ("2100", "0"));
    assert_eq!((c.volume0.as_str(), c.volume1.as_str()), ("1000000", "0"));
    let cpmm_record = store.pool_record(&c_id).await.unwrap().unwrap();
    // $0.0021 of LP fees in the day on $2M of stables.
    assert!((cpmm_record.fees_usd1d.unwrap() - 0.0021).abs() < 1e-12);
    let apr = cpmm_record.apr_base.unwrap();
    assert!((apr - 0.0021 * 365.0 / 2_000_000.0).abs() < 1e-15, "{apr}");
    let w_record = store.pool_record(&w_id).await.unwrap().unwrap();
    assert!(w_record.fees_usd1d.unwrap() > 0.0);
    // The counters now stored are the chain's: the next read counts from there.
    let now = store.fee_counters(SOLANA).await.unwrap();
    assert_eq!(now[&w_id], (wa.to_string(), wb.to_string()));
}
