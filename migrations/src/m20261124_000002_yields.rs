//! Yield bookkeeping the indexer needs beyond the initial schema:
//! - `pool_hourly`: per pool and hour bucket, the exact integer swap volume and LP fees per
//!   token (decimal strings), so volumes are sums of what happened, never re-derived from
//!   rounded USD figures;
//! - `pool_events.volume0/volume1`: each swap's input amounts, so a reorg rollback can rebuild
//!   the hourly rows from the events that remain without re-decoding payloads;
//! - APR next to APY on pools and snapshots (both fractions: 0.05 is 5 %), the USD prices the
//!   record was valued at, and the time of the block its state was read at.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum PoolHourly {
    Table,
    PoolId,
    BucketStartMs,
    ChainId,
    Swaps,
    Volume0,
    Volume1,
    LpFees0,
    LpFees1,
    FirstBlock,
    LastBlock,
}

#[derive(DeriveIden, Clone, Copy)]
enum PoolEvents {
    Table,
    Volume0,
    Volume1,
}

#[derive(DeriveIden, Clone, Copy)]
enum Pools {
    Table,
    AprBase,
    AprBase7d,
    Price0Usd,
    Price1Usd,
    StateTimeMs,
}

#[derive(DeriveIden, Clone, Copy)]
enum PoolSnapshots {
    Table,
    AprBase,
    AprBase7d,
}

/// SQLite alters one column per statement, so every added column is its own `ALTER TABLE`.
fn added(table: impl IntoIden + Clone + 'static) -> impl Fn(ColumnDef) -> TableAlterStatement {
    move |col| {
        Table::alter()
            .table(table.clone())
            .add_column(col)
            .to_owned()
    }
}

fn dropped(table: impl IntoIden + Clone + 'static) -> impl Fn(DynIden) -> TableAlterStatement {
    move |col| {
        Table::alter()
            .table(table.clone())
            .drop_column(col)
            .to_owned()
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PoolHourly::Table)
                    .col(string(PoolHourly::PoolId))
                    .col(big_integer(PoolHourly::BucketStartMs))
                    .col(big_integer(PoolHourly::ChainId))
                    .col(big_integer(PoolHourly::Swaps))
                    .col(string(PoolHourly::Volume0))
                    .col(string(PoolHourly::Volume1))
                    .col(string(PoolHourly::LpFees0))
                    .col(string(PoolHourly::LpFees1))
                    .col(big_integer(PoolHourly::FirstBlock))
                    .col(big_integer(PoolHourly::LastBlock))
                    .primary_key(
                        Index::create()
                            .col(PoolHourly::PoolId)
                            .col(PoolHourly::BucketStartMs),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_pool_hourly_chain_block")
                    .table(PoolHourly::Table)
                    .col(PoolHourly::ChainId)
                    .col(PoolHourly::LastBlock)
                    .to_owned(),
            )
            .await?;
        let events = added(PoolEvents::Table);
        manager
            .alter_table(events(string_null(PoolEvents::Volume0)))
            .await?;
        manager
            .alter_table(events(string_null(PoolEvents::Volume1)))
            .await?;
        let pools = added(Pools::Table);
        for col in [
            double_null(Pools::AprBase),
            double_null(Pools::AprBase7d),
            double_null(Pools::Price0Usd),
            double_null(Pools::Price1Usd),
            big_integer_null(Pools::StateTimeMs),
        ] {
            manager.alter_table(pools(col)).await?;
        }
        let snapshots = added(PoolSnapshots::Table);
        for col in [
            double_null(PoolSnapshots::AprBase),
            double_null(PoolSnapshots::AprBase7d),
        ] {
            manager.alter_table(snapshots(col)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let snapshots = dropped(PoolSnapshots::Table);
        for col in [PoolSnapshots::AprBase, PoolSnapshots::AprBase7d] {
            manager.alter_table(snapshots(col.into_iden())).await?;
        }
        let pools = dropped(Pools::Table);
        for col in [
            Pools::AprBase,
            Pools::AprBase7d,
            Pools::Price0Usd,
            Pools::Price1Usd,
            Pools::StateTimeMs,
        ] {
            manager.alter_table(pools(col.into_iden())).await?;
        }
        let events = dropped(PoolEvents::Table);
        for col in [PoolEvents::Volume0, PoolEvents::Volume1] {
            manager.alter_table(events(col.into_iden())).await?;
        }
        manager
            .drop_table(Table::drop().table(PoolHourly::Table).to_owned())
            .await
    }
}
