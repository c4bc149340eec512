//! Shared by the indexer's integration tests: settings for a test devnet, a pinned block clock,
//! and the indexed tables in comparable form.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use alloy::providers::Provider;
use atoll_core::settings::Settings;
use atoll_devnet::fault_proxy::{FaultPlan, FaultProxy};
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_devnet::{Devnet, evm};
use atoll_indexer::ChainProgress;
use atoll_store::Store;
use atoll_store::entities::{
    index_checkpoints, lending_history, lending_reserves, pool_events, pool_hourly, pool_snapshots,
    pools,
};
use sea_orm::{EntityTrait, QueryOrder};

/// The devnet's own config, with a fast poll for follow-mode tests.
pub fn settings_for(net: &Devnet) -> Settings {
    let text = std::fs::read_to_string(&net.state.config_path).unwrap();
    let dir = net.state.config_path.parent().unwrap();
    let mut s = Settings::parse(&text, Vec::<(String, String)>::new(), dir).unwrap();
    s.indexer.poll_interval = std::time::Duration::from_millis(20);
    s
}

/// Moves every chain's clock to the start of the next hour (plus one second), so all blocks a
/// test makes afterwards fall in one hour bucket, whatever the wall clock says.
pub async fn pin_clock(net: &Devnet) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let next_hour = (now / 3_600 + 1) * 3_600 + 1;
    for c in &net.state.evm {
        let p = evm::provider_for(&c.rpc_url, evm::Role::Deployer).unwrap();
        let _: serde_json::Value = p
            .raw_request("evm_setNextBlockTimestamp".into(), (next_hour,))
            .await
            .unwrap();
        let _: serde_json::Value = p.raw_request("evm_mine".into(), ()).await.unwrap();
    }
}

pub fn no_progress() -> atoll_indexer::ProgressSink {
    Arc::new(|_| {})
}

/// A progress sink whose reports arrive on the returned channel, every stream's in order.
pub fn progress_channel() -> (
    atoll_indexer::ProgressSink,
    tokio::sync::mpsc::UnboundedReceiver<ChainProgress>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<ChainProgress>();
    let sink: atoll_indexer::ProgressSink = Arc::new(move |p: &ChainProgress| {
        let _ = tx.send(p.clone());
    });
    (sink, rx)
}

/// A devnet with a few swaps (from `seed`) whose BSC is reached only through a fault proxy
/// that is down: the start of the scenarios where a chain's endpoint does not answer. The
/// settings point BSC at the proxy; the store is a fresh SQLite file in `store_dir`.
pub async fn devnet_with_bsc_down(
    dir: &std::path::Path,
    store_dir: &std::path::Path,
    seed: u64,
) -> (Devnet, Settings, FaultProxy, Store) {
    let net = Devnet::up_on_free_ports(dir, false).await.unwrap();
    traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 6,
            deposits: 0,
            seed,
        },
    )
    .await
    .unwrap();
    let mut settings = settings_for(&net);
    let bsc = net.state.evm_chain("bsc").unwrap();
    let proxy = FaultProxy::start(&bsc.rpc_url, FaultPlan::default())
        .await
        .unwrap();
    proxy.set_dead(true);
    settings
        .chains
        .iter_mut()
        .find(|c| c.name == "bsc")
        .unwrap()
        .rpc = vec![proxy.url.parse().unwrap()];
    let store = sqlite_store(store_dir, &settings).await;
    (net, settings, proxy, store)
}

/// Everything indexing wrote, minus wall-clock columns, in a fixed order.
#[derive(Debug, PartialEq)]
pub struct Indexed {
    pub events: Vec<pool_events::Model>,
    pub hourly: Vec<pool_hourly::Model>,
    pub snapshots: Vec<pool_snapshots::Model>,
    pub pools: Vec<pools::Model>,
    pub checkpoints: Vec<(i64, String, i64, String)>,
    pub lending_reserves: Vec<lending_reserves::Model>,
    pub lending_history: Vec<lending_history::Model>,
}

pub async fn indexed(store: &Store) -> Indexed {
    let db = store.connection();
    Indexed {
        events: pool_events::Entity::find()
            .order_by_asc(pool_events::Column::ChainId)
            .order_by_asc(pool_events::Column::BlockNumber)
            .order_by_asc(pool_events::Column::LogIndex)
            .all(db)
            .await
            .unwrap(),
        hourly: pool_hourly::Entity::find()
            .order_by_asc(pool_hourly::Column::PoolId)
            .order_by_asc(pool_hourly::Column::BucketStartMs)
            .all(db)
            .await
            .unwrap(),
        snapshots: pool_snapshots::Entity::find()
            .order_by_asc(pool_snapshots::Column::PoolId)
            .order_by_asc(pool_snapshots::Column::BucketStartMs)
            .all(db)
            .await
            .unwrap(),
        pools: pools::Entity::find()
            .order_by_asc(pools::Column::Id)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|mut p| {
                p.updated_at_ms = 0;
                p
            })
            .collect(),
        checkpoints: index_checkpoints::Entity::find()
            .order_by_asc(index_checkpoints::Column::ChainId)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.chain_id, c.stream, c.block_number, c.block_hash))
            .collect(),
        lending_reserves: lending_reserves::Entity::find()
            .order_by_asc(lending_reserves::Column::PoolId)
            .all(db)
            .await
            .unwrap(),
        lending_history: lending_history::Entity::find()
            .order_by_asc(lending_history::Column::PoolId)
            .order_by_asc(lending_history::Column::Block)
            .all(db)
            .await
            .unwrap(),
    }
}

/// A migrated store on a new SQLite file, with the settings' chains and tokens registered.
pub async fn sqlite_store(dir: &std::path::Path, settings: &Settings) -> Store {
    let store = atoll_store::test_support::sqlite_in(dir).await.unwrap();
    store.migrate_up().await.unwrap();
    store.register_settings(settings).await.unwrap();
    store
}

/// Indexes ethereum once, failing the test on an error; the lending updates read.
pub async fn index_ethereum_once(settings: &Settings, store: &Store) -> u64 {
    let mut updates = 0;
    for (chain, r) in atoll_indexer::run(
        settings,
        store,
        &["ethereum".into()],
        atoll_indexer::Mode::Once,
        no_progress(),
    )
    .await
    {
        updates += r.unwrap_or_else(|e| panic!("{chain}: {e}")).lending_updates;
    }
    updates
}
