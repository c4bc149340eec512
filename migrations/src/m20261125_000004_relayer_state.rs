//! Relayer state beyond the initial schema.
//!
//! `transfer_history`: every status a transfer took, with why (the operator's first question
//! is "why is this one stuck?"). A row is written in the same transaction as the status change
//! it records, so the history is exactly the sequence of committed transitions.
//!
//! Also: `(source chain, tx, index)` stops being unique. After a reorg one source transaction
//! can sit at the same log index under two ids (the orphaned deposit, kept failed with its
//! reason, and the one the new chain numbered differently); the id stays the key.
//!
//! `chains.paused` / `paused_reason`: an operator's pause of a destination chain, kept across
//! restarts (a paused chain's executor signs nothing).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TransferHistory {
    Table,
    Id,
    TransferId,
    FromStatus,
    ToStatus,
    Reason,
    AtMs,
}

#[derive(DeriveIden)]
enum Chains {
    Table,
    Paused,
    PausedReason,
}

#[derive(DeriveIden)]
enum Transfers {
    Table,
    Id,
    SourceChainId,
    SourceTx,
    SourceIndex,
}

fn source_index(name: &str, unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index
        .name(name)
        .table(Transfers::Table)
        .col(Transfers::SourceChainId)
        .col(Transfers::SourceTx)
        .col(Transfers::SourceIndex);
    if unique {
        index.unique();
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TransferHistory::Table)
                    .col(pk_auto(TransferHistory::Id))
                    .col(string(TransferHistory::TransferId))
                    .col(string_null(TransferHistory::FromStatus))
                    .col(string(TransferHistory::ToStatus))
                    .col(text_null(TransferHistory::Reason))
                    .col(big_integer(TransferHistory::AtMs))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_history_transfer")
                            .from(TransferHistory::Table, TransferHistory::TransferId)
                            .to(Transfers::Table, Transfers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_history_transfer")
                    .table(TransferHistory::Table)
                    .col(TransferHistory::TransferId)
                    .col(TransferHistory::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_transfers_source")
                    .table(Transfers::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(source_index("ix_transfers_source", false))
            .await?;
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Chains::Table)
                    .add_column(boolean(Chains::Paused).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Chains::Table)
                    .add_column(text_null(Chains::PausedReason))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Chains::PausedReason, Chains::Paused] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Chains::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("ix_transfers_source")
                    .table(Transfers::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(source_index("ux_transfers_source", true))
            .await?;
        manager
            .drop_table(Table::drop().table(TransferHistory::Table).to_owned())
            .await
    }
}
