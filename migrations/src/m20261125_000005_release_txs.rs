//! `release_txs`: every EVM release transaction the relayer signed, one row per signature
//! (a fee-bump replacement is a new row at the same nonce). A `releaseBatch` carries many
//! transfers; each of them gets its own `transfer_attempts` row naming the transaction's hash
//! and nonce, while the raw bytes are stored once, here. Written in the same database
//! transaction as the transfers' move to `signed`, before anything is sent, so a restart finds
//! every transaction that may be on the network and sends the same bytes again.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReleaseTxs {
    Table,
    Id,
    ChainId,
    Nonce,
    TxHash,
    RawTx,
    GasLimit,
    MaxFeePerGas,
    PriorityFee,
    Releases,
    Status,
    BlockNumber,
    Error,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum TransferAttempts {
    Table,
    TxHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReleaseTxs::Table)
                    .col(pk_auto(ReleaseTxs::Id))
                    .col(big_integer(ReleaseTxs::ChainId))
                    .col(big_integer(ReleaseTxs::Nonce))
                    .col(string_uniq(ReleaseTxs::TxHash))
                    .col(text(ReleaseTxs::RawTx))
                    .col(big_integer(ReleaseTxs::GasLimit))
                    .col(string(ReleaseTxs::MaxFeePerGas))
                    .col(string_null(ReleaseTxs::PriorityFee))
                    .col(integer(ReleaseTxs::Releases))
                    .col(string(ReleaseTxs::Status))
                    .col(big_integer_null(ReleaseTxs::BlockNumber))
                    .col(text_null(ReleaseTxs::Error))
                    .col(big_integer(ReleaseTxs::CreatedAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_release_txs_chain_status")
                    .table(ReleaseTxs::Table)
                    .col(ReleaseTxs::ChainId)
                    .col(ReleaseTxs::Status)
                    .col(ReleaseTxs::Nonce)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_attempts_tx_hash")
                    .table(TransferAttempts::Table)
                    .col(TransferAttempts::TxHash)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_attempts_tx_hash")
                    .table(TransferAttempts::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ReleaseTxs::Table).to_owned())
            .await
    }
}
