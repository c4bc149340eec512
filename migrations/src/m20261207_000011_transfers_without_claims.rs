//! Drops `transfers.claimed_by` and `transfers.claimed_at_ms`: written as NULL with every
//! deposit since the initial schema and never read (executors own their chain's transfers; no
//! claim of a row by a worker was ever built). No index, key or constraint names either column
//! (SQLite cannot drop an indexed column), so each is dropped alone: SQLite alters one column per
//! statement. `down` adds them back as they were, nullable and empty.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Transfers {
    Table,
    ClaimedBy,
    ClaimedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Transfers::ClaimedAtMs, Transfers::ClaimedBy] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Transfers::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Transfers::Table)
                    .add_column(string_null(Transfers::ClaimedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Transfers::Table)
                    .add_column(big_integer_null(Transfers::ClaimedAtMs))
                    .to_owned(),
            )
            .await
    }
}
