//! `treasury_moves`: capital the treasury sends through the bridge (`requestTransfer`,
//! `executeRebalance`). One row per request, keyed by the caller's idempotency key, written
//! with the signed deposit transaction before it is sent: a retried request returns the same
//! row, and a restart sends the same bytes again instead of signing a second deposit.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TreasuryMoves {
    Table,
    Id,
    SourceChainId,
    DestChainId,
    Token,
    Symbol,
    Amount,
    Recipient,
    Nonce,
    TxHash,
    RawTx,
    Status,
    Error,
    CreatedAtMs,
    UpdatedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TreasuryMoves::Table)
                    .col(string(TreasuryMoves::Id).primary_key())
                    .col(big_integer(TreasuryMoves::SourceChainId))
                    .col(big_integer(TreasuryMoves::DestChainId))
                    .col(string(TreasuryMoves::Token))
                    .col(string(TreasuryMoves::Symbol))
                    .col(string(TreasuryMoves::Amount))
                    .col(string(TreasuryMoves::Recipient))
                    .col(big_integer_null(TreasuryMoves::Nonce))
                    .col(string_uniq(TreasuryMoves::TxHash))
                    .col(text(TreasuryMoves::RawTx))
                    .col(string(TreasuryMoves::Status))
                    .col(text_null(TreasuryMoves::Error))
                    .col(big_integer(TreasuryMoves::CreatedAtMs))
                    .col(big_integer(TreasuryMoves::UpdatedAtMs))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TreasuryMoves::Table).to_owned())
            .await
    }
}
