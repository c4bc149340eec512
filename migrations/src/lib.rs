//! Atoll's schema migrations. Each one is written with sea-query builders only, so the same
//! migration runs on SQLite and PostgreSQL. Status values stored by later crates are never
//! renamed: a new state is a new value.

use sea_orm_migration::prelude::*;

mod m20261124_000001_initial;
mod m20261124_000002_yields;
mod m20261125_000003_fee_counters;
mod m20261125_000004_relayer_state;
mod m20261125_000005_release_txs;
mod m20261202_000006_transfer_queue_index;
mod m20261203_000007_treasury_moves;
mod m20261204_000008_history_by_release_tx;
mod m20261207_000009_transfers_by_source_block;
mod m20261207_000010_transfers_newest_first;
mod m20261207_000011_transfers_without_claims;
mod m20261207_000012_block_hashes_per_stream;
mod m20261207_000013_lending_reserves;
mod m20261208_000014_lending_supply_curves;

pub struct Migrator;

pub use sea_orm_migration::MigratorTrait;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial::Migration),
            Box::new(m20261124_000002_yields::Migration),
            Box::new(m20261125_000003_fee_counters::Migration),
            Box::new(m20261125_000004_relayer_state::Migration),
            Box::new(m20261125_000005_release_txs::Migration),
            Box::new(m20261202_000006_transfer_queue_index::Migration),
            Box::new(m20261203_000007_treasury_moves::Migration),
            Box::new(m20261204_000008_history_by_release_tx::Migration),
            Box::new(m20261207_000009_transfers_by_source_block::Migration),
            Box::new(m20261207_000010_transfers_newest_first::Migration),
            Box::new(m20261207_000011_transfers_without_claims::Migration),
            Box::new(m20261207_000012_block_hashes_per_stream::Migration),
            Box::new(m20261207_000013_lending_reserves::Migration),
            Box::new(m20261208_000014_lending_supply_curves::Migration),
        ]
    }
}
