//! An index for the transfer list (`transfers` in GraphQL, `atoll relayer list`): newest first,
//! ties by id (`created_at_ms DESC, id ASC`), the order the list pages in. Without it every page
//! sorted the whole table: a 500-transfer page cost tens of milliseconds at 10,000 transfers
//! and grew with the table, for any anonymous client. Neither column changes after a deposit
//! is recorded, so status moves never touch this index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Transfers {
    Table,
    CreatedAtMs,
    Id,
}

const NAME: &str = "ix_transfers_newest_first";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Transfers::Table)
                    .col((Transfers::CreatedAtMs, IndexOrder::Desc))
                    .col((Transfers::Id, IndexOrder::Asc))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(Transfers::Table).to_owned())
            .await
    }
}
