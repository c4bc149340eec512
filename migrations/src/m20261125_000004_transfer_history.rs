//! `transfer_history`: every status a transfer took, with why (the operator's first question
//! is "why is this one stuck?"). A row is written in the same transaction as the status change
//! it records, so the history is exactly the sequence of committed transitions.

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
enum Transfers {
    Table,
    Id,
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
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TransferHistory::Table).to_owned())
            .await
    }
}
