//! `block_hashes` gains `stream`, in its primary key: each checkpoint stream of a chain (EVM
//! pools, EVM deposits) keeps the hashes of the blocks it read. A stream looks for its reorg's
//! common ancestor among its own hashes only: a hash another stream recorded after the fork
//! matches the new chain, but says nothing of what this stream ingested below it. Rows written
//! before are the pool stream's (it was the only writer): they move with `stream = 'pools'`.
//!
//! A primary key cannot be altered in place on SQLite, so the table is rebuilt: a new table,
//! the rows copied, the old one dropped, the new one renamed. `down` keeps the pool stream's
//! rows.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BlockHashes {
    Table,
    ChainId,
    Stream,
    BlockNumber,
    BlockHash,
    ParentHash,
}

#[derive(DeriveIden)]
enum BlockHashesNext {
    Table,
}

/// The table as it is after `up` (`with_stream`) or before it, under `name`.
fn create(name: impl IntoIden, with_stream: bool) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(name).col(big_integer(BlockHashes::ChainId));
    let mut key = Index::create();
    key.col(BlockHashes::ChainId);
    if with_stream {
        t.col(string(BlockHashes::Stream));
        key.col(BlockHashes::Stream);
    }
    key.col(BlockHashes::BlockNumber);
    t.col(big_integer(BlockHashes::BlockNumber))
        .col(string(BlockHashes::BlockHash))
        .col(string(BlockHashes::ParentHash))
        .primary_key(&mut key);
    t.to_owned()
}

/// Copies the rows of `block_hashes` into `block_hashes_next`: with `stream = 'pools'` when
/// the new table has the column, only the pool stream's when the old one had it.
fn copy(with_stream: bool) -> Result<InsertStatement, DbErr> {
    let mut select = Query::select();
    select
        .column(BlockHashes::ChainId)
        .column(BlockHashes::BlockNumber)
        .column(BlockHashes::BlockHash)
        .column(BlockHashes::ParentHash)
        .from(BlockHashes::Table);
    let mut columns = vec![
        BlockHashes::ChainId,
        BlockHashes::BlockNumber,
        BlockHashes::BlockHash,
        BlockHashes::ParentHash,
    ];
    if with_stream {
        select.expr(Expr::val("pools"));
        columns.push(BlockHashes::Stream);
    } else {
        select.and_where(Expr::col(BlockHashes::Stream).eq("pools"));
    }
    let mut insert = Query::insert();
    insert
        .into_table(BlockHashesNext::Table)
        .columns(columns)
        .select_from(select)
        .map_err(|e| DbErr::Migration(format!("block_hashes copy: {e}")))?;
    Ok(insert)
}

async fn rebuild(manager: &SchemaManager<'_>, with_stream: bool) -> Result<(), DbErr> {
    manager
        .create_table(create(BlockHashesNext::Table, with_stream))
        .await?;
    manager.exec_stmt(copy(with_stream)?).await?;
    manager
        .drop_table(Table::drop().table(BlockHashes::Table).to_owned())
        .await?;
    manager
        .rename_table(
            Table::rename()
                .table(BlockHashesNext::Table, BlockHashes::Table)
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too (its DDL is transactional; sea-orm wraps only
    /// PostgreSQL's by default): a failure after the drop must not lose the table, nor leave
    /// `block_hashes_next` behind to fail the next attempt.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, false).await
    }
}
