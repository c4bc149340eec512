//! The first schema: chains, tokens, pools and their hourly snapshots, raw pool events keyed
//! `(chain, tx, log_index)`, index checkpoints and recent block hashes (for reorg detection),
//! bridge transfers with one row per execution attempt, and treasury positions.
//!
//! Conventions: big integers (token amounts, U256/U160 state) are decimal strings, so no
//! database rounds them; times are Unix milliseconds (`*_ms`), block numbers `BIGINT`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Chains {
    Table,
    ChainId,
    Name,
    Kind,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum Tokens {
    Table,
    Id,
    ChainId,
    Address,
    Symbol,
    Decimals,
    Stable,
    PriceUsdPinned,
}

#[derive(DeriveIden)]
enum Pools {
    Table,
    Id,
    ChainId,
    Protocol,
    Address,
    Token0,
    Token1,
    Symbol,
    FeePpm,
    LpFeePpm,
    Reserve0,
    Reserve1,
    SqrtPrice,
    Tick,
    Liquidity,
    StateBlock,
    TvlUsd,
    VolumeUsd1d,
    VolumeUsd7d,
    FeesUsd1d,
    FeesUsd7d,
    ApyBase,
    ApyBase7d,
    ApyReward,
    Apy,
    Stablecoin,
    Outlier,
    DroppedReason,
    DiscoveredAtBlock,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum PoolSnapshots {
    Table,
    PoolId,
    BucketStartMs,
    Block,
    Reserve0,
    Reserve1,
    SqrtPrice,
    Tick,
    Liquidity,
    TvlUsd,
    VolumeUsd,
    FeesUsd,
    ApyBase,
    ApyBase7d,
    ApyReward,
    Apy,
    Outlier,
}

#[derive(DeriveIden)]
enum PoolEvents {
    Table,
    ChainId,
    TxHash,
    LogIndex,
    BlockNumber,
    BlockHash,
    BlockTimeMs,
    PoolId,
    Kind,
    Payload,
}

#[derive(DeriveIden)]
enum IndexCheckpoints {
    Table,
    ChainId,
    Stream,
    BlockNumber,
    BlockHash,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum BlockHashes {
    Table,
    ChainId,
    BlockNumber,
    BlockHash,
    ParentHash,
}

#[derive(DeriveIden)]
enum Transfers {
    Table,
    Id,
    SourceChainId,
    SourceTx,
    SourceIndex,
    SourceBlock,
    DestChainId,
    SourceToken,
    DestToken,
    Sender,
    Recipient,
    AmountIn,
    AmountOut,
    Fee,
    Status,
    FailureReason,
    ClaimedBy,
    ClaimedAtMs,
    CreatedAtMs,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum TransferAttempts {
    Table,
    Id,
    TransferId,
    ChainId,
    Nonce,
    Blockhash,
    LastValidBlockHeight,
    TxHash,
    RawTx,
    MaxFeePerGas,
    PriorityFee,
    Status,
    Error,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum Positions {
    Table,
    Id,
    ChainId,
    Owner,
    Token,
    PoolId,
    Amount,
    ValueUsd,
    Block,
    UpdatedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// The first schema, table by table. Long because a migration is a record of what it
    /// created, never edited after release: later changes are later migrations.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Chains::Table)
                    .col(big_integer(Chains::ChainId).primary_key())
                    .col(string_uniq(Chains::Name))
                    .col(string(Chains::Kind))
                    .col(big_integer(Chains::CreatedAtMs))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tokens::Table)
                    .col(pk_auto(Tokens::Id))
                    .col(big_integer(Tokens::ChainId))
                    .col(string(Tokens::Address))
                    .col(string(Tokens::Symbol))
                    .col(small_integer(Tokens::Decimals))
                    .col(boolean(Tokens::Stable))
                    .col(double_null(Tokens::PriceUsdPinned))
                    .foreign_key(&mut fk(
                        "fk_tokens_chain",
                        Tokens::Table,
                        Tokens::ChainId,
                        Chains::Table,
                        Chains::ChainId,
                    ))
                    .to_owned(),
            )
            .await?;
        unique_index(
            manager,
            "ux_tokens_chain_address",
            Tokens::Table,
            [Tokens::ChainId, Tokens::Address],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Pools::Table)
                    .col(string(Pools::Id).primary_key())
                    .col(big_integer(Pools::ChainId))
                    .col(string(Pools::Protocol))
                    .col(string(Pools::Address))
                    .col(string(Pools::Token0))
                    .col(string(Pools::Token1))
                    .col(string(Pools::Symbol))
                    .col(integer(Pools::FeePpm))
                    .col(integer(Pools::LpFeePpm))
                    .col(string_null(Pools::Reserve0))
                    .col(string_null(Pools::Reserve1))
                    .col(string_null(Pools::SqrtPrice))
                    .col(integer_null(Pools::Tick))
                    .col(string_null(Pools::Liquidity))
                    .col(big_integer_null(Pools::StateBlock))
                    .col(double_null(Pools::TvlUsd))
                    .col(double_null(Pools::VolumeUsd1d))
                    .col(double_null(Pools::VolumeUsd7d))
                    .col(double_null(Pools::FeesUsd1d))
                    .col(double_null(Pools::FeesUsd7d))
                    .col(double_null(Pools::ApyBase))
                    .col(double_null(Pools::ApyBase7d))
                    .col(double_null(Pools::ApyReward))
                    .col(double_null(Pools::Apy))
                    .col(boolean(Pools::Stablecoin))
                    .col(boolean(Pools::Outlier))
                    .col(string_null(Pools::DroppedReason))
                    .col(big_integer_null(Pools::DiscoveredAtBlock))
                    .col(big_integer(Pools::UpdatedAtMs))
                    .foreign_key(&mut fk(
                        "fk_pools_chain",
                        Pools::Table,
                        Pools::ChainId,
                        Chains::Table,
                        Chains::ChainId,
                    ))
                    .to_owned(),
            )
            .await?;
        unique_index(
            manager,
            "ux_pools_chain_address",
            Pools::Table,
            [Pools::ChainId, Pools::Address],
        )
        .await?;
        index(manager, "ix_pools_apy", Pools::Table, [Pools::Apy]).await?;
        index(manager, "ix_pools_tvl", Pools::Table, [Pools::TvlUsd]).await?;

        manager
            .create_table(
                Table::create()
                    .table(PoolSnapshots::Table)
                    .col(string(PoolSnapshots::PoolId))
                    .col(big_integer(PoolSnapshots::BucketStartMs))
                    .col(big_integer(PoolSnapshots::Block))
                    .col(string_null(PoolSnapshots::Reserve0))
                    .col(string_null(PoolSnapshots::Reserve1))
                    .col(string_null(PoolSnapshots::SqrtPrice))
                    .col(integer_null(PoolSnapshots::Tick))
                    .col(string_null(PoolSnapshots::Liquidity))
                    .col(double_null(PoolSnapshots::TvlUsd))
                    .col(double(PoolSnapshots::VolumeUsd))
                    .col(double(PoolSnapshots::FeesUsd))
                    .col(double_null(PoolSnapshots::ApyBase))
                    .col(double_null(PoolSnapshots::ApyBase7d))
                    .col(double_null(PoolSnapshots::ApyReward))
                    .col(double_null(PoolSnapshots::Apy))
                    .col(boolean(PoolSnapshots::Outlier))
                    .primary_key(
                        Index::create()
                            .col(PoolSnapshots::PoolId)
                            .col(PoolSnapshots::BucketStartMs),
                    )
                    .foreign_key(&mut fk(
                        "fk_snapshots_pool",
                        PoolSnapshots::Table,
                        PoolSnapshots::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_snapshots_block",
            PoolSnapshots::Table,
            [PoolSnapshots::Block],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PoolEvents::Table)
                    .col(big_integer(PoolEvents::ChainId))
                    .col(string(PoolEvents::TxHash))
                    .col(big_integer(PoolEvents::LogIndex))
                    .col(big_integer(PoolEvents::BlockNumber))
                    .col(string(PoolEvents::BlockHash))
                    .col(big_integer(PoolEvents::BlockTimeMs))
                    .col(string(PoolEvents::PoolId))
                    .col(string(PoolEvents::Kind))
                    .col(text(PoolEvents::Payload))
                    .primary_key(
                        Index::create()
                            .col(PoolEvents::ChainId)
                            .col(PoolEvents::TxHash)
                            .col(PoolEvents::LogIndex),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_pool_events_chain_block",
            PoolEvents::Table,
            [PoolEvents::ChainId, PoolEvents::BlockNumber],
        )
        .await?;
        index(
            manager,
            "ix_pool_events_pool_time",
            PoolEvents::Table,
            [PoolEvents::PoolId, PoolEvents::BlockTimeMs],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(IndexCheckpoints::Table)
                    .col(big_integer(IndexCheckpoints::ChainId))
                    .col(string(IndexCheckpoints::Stream))
                    .col(big_integer(IndexCheckpoints::BlockNumber))
                    .col(string(IndexCheckpoints::BlockHash))
                    .col(big_integer(IndexCheckpoints::UpdatedAtMs))
                    .primary_key(
                        Index::create()
                            .col(IndexCheckpoints::ChainId)
                            .col(IndexCheckpoints::Stream),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BlockHashes::Table)
                    .col(big_integer(BlockHashes::ChainId))
                    .col(big_integer(BlockHashes::BlockNumber))
                    .col(string(BlockHashes::BlockHash))
                    .col(string(BlockHashes::ParentHash))
                    .primary_key(
                        Index::create()
                            .col(BlockHashes::ChainId)
                            .col(BlockHashes::BlockNumber),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Transfers::Table)
                    .col(string(Transfers::Id).primary_key())
                    .col(big_integer(Transfers::SourceChainId))
                    .col(string(Transfers::SourceTx))
                    .col(big_integer(Transfers::SourceIndex))
                    .col(big_integer(Transfers::SourceBlock))
                    .col(big_integer(Transfers::DestChainId))
                    .col(string(Transfers::SourceToken))
                    .col(string_null(Transfers::DestToken))
                    .col(string(Transfers::Sender))
                    .col(string(Transfers::Recipient))
                    .col(string(Transfers::AmountIn))
                    .col(string_null(Transfers::AmountOut))
                    .col(string_null(Transfers::Fee))
                    .col(string(Transfers::Status))
                    .col(text_null(Transfers::FailureReason))
                    .col(string_null(Transfers::ClaimedBy))
                    .col(big_integer_null(Transfers::ClaimedAtMs))
                    .col(big_integer(Transfers::CreatedAtMs))
                    .col(big_integer(Transfers::UpdatedAtMs))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_transfers_status_dest",
            Transfers::Table,
            [Transfers::Status, Transfers::DestChainId],
        )
        .await?;
        unique_index(
            manager,
            "ux_transfers_source",
            Transfers::Table,
            [
                Transfers::SourceChainId,
                Transfers::SourceTx,
                Transfers::SourceIndex,
            ],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(TransferAttempts::Table)
                    .col(pk_auto(TransferAttempts::Id))
                    .col(string(TransferAttempts::TransferId))
                    .col(big_integer(TransferAttempts::ChainId))
                    .col(big_integer_null(TransferAttempts::Nonce))
                    .col(string_null(TransferAttempts::Blockhash))
                    .col(big_integer_null(TransferAttempts::LastValidBlockHeight))
                    .col(string(TransferAttempts::TxHash))
                    .col(text(TransferAttempts::RawTx))
                    .col(string_null(TransferAttempts::MaxFeePerGas))
                    .col(string_null(TransferAttempts::PriorityFee))
                    .col(string(TransferAttempts::Status))
                    .col(text_null(TransferAttempts::Error))
                    .col(big_integer(TransferAttempts::CreatedAtMs))
                    .foreign_key(&mut fk(
                        "fk_attempts_transfer",
                        TransferAttempts::Table,
                        TransferAttempts::TransferId,
                        Transfers::Table,
                        Transfers::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_attempts_transfer",
            TransferAttempts::Table,
            [TransferAttempts::TransferId],
        )
        .await?;
        index(
            manager,
            "ix_attempts_chain_nonce",
            TransferAttempts::Table,
            [TransferAttempts::ChainId, TransferAttempts::Nonce],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Positions::Table)
                    .col(pk_auto(Positions::Id))
                    .col(big_integer(Positions::ChainId))
                    .col(string(Positions::Owner))
                    .col(string(Positions::Token))
                    .col(string(Positions::PoolId))
                    .col(string(Positions::Amount))
                    .col(double_null(Positions::ValueUsd))
                    .col(big_integer(Positions::Block))
                    .col(big_integer(Positions::UpdatedAtMs))
                    .to_owned(),
            )
            .await?;
        // pool_id is "" for capital held as a plain token balance, so the key has no NULLs.
        unique_index(
            manager,
            "ux_positions_key",
            Positions::Table,
            [
                Positions::ChainId,
                Positions::Owner,
                Positions::Token,
                Positions::PoolId,
            ],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents, so foreign keys never block a drop.
        drop(manager, Positions::Table).await?;
        drop(manager, TransferAttempts::Table).await?;
        drop(manager, Transfers::Table).await?;
        drop(manager, BlockHashes::Table).await?;
        drop(manager, IndexCheckpoints::Table).await?;
        drop(manager, PoolEvents::Table).await?;
        drop(manager, PoolSnapshots::Table).await?;
        drop(manager, Pools::Table).await?;
        drop(manager, Tokens::Table).await?;
        drop(manager, Chains::Table).await
    }
}

fn fk<
    T: IntoIden + 'static,
    C: IntoIden + 'static,
    R: IntoIden + 'static,
    RC: IntoIden + 'static,
>(
    name: &str,
    table: T,
    col: C,
    ref_table: R,
    ref_col: RC,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(ref_table, ref_col)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn index<T: IntoIden + 'static, C: IntoIden + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(c);
    }
    manager.create_index(stmt.to_owned()).await
}

async fn unique_index<T: IntoIden + 'static, C: IntoIden + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table).unique();
    for c in cols {
        stmt.col(c);
    }
    manager.create_index(stmt.to_owned()).await
}

async fn drop<T: IntoIden + 'static>(manager: &SchemaManager<'_>, table: T) -> Result<(), DbErr> {
    manager
        .drop_table(Table::drop().table(table).to_owned())
        .await
}
