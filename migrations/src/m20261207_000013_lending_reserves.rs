//! Lending markets' reserves (Aave v3): `lending_reserves`, one row per reserve with its
//! tokens, risk parameters, rate curve and current figures (the reserve's row in `pools`
//! carries what every pool has: TVL, APY, symbol; its incentives: reward APY, the reward tokens
//! and the first end of their emissions), and `lending_history`, one row per block in
//! which a reserve's `ReserveDataUpdated` was emitted, with the event's rates and indexes and
//! the reserve's totals and oracle price at that block. The history is what the realised yield is measured on
//! and what a reorg rolls back (`block` above the common ancestor).
//!
//! Conventions as in the first schema: rays and token amounts are decimal strings, times Unix
//! milliseconds.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LendingReserves {
    Table,
    PoolId,
    ChainId,
    Market,
    Asset,
    AToken,
    VariableDebtToken,
    StableDebtToken,
    Strategy,
    Decimals,
    LtvBps,
    LiquidationThresholdBps,
    ReserveFactorBps,
    SupplyCap,
    BorrowCap,
    OptimalUsageRay,
    BaseRateRay,
    Slope1Ray,
    Slope2Ray,
    LiquidityRateRay,
    VariableBorrowRateRay,
    LiquidityIndexRay,
    NormalizedIncomeRay,
    Supplied,
    Available,
    VariableDebt,
    StableDebt,
    PriceUsd,
    SupplyApy,
    BorrowApy,
    Utilization,
    SuppliedUsd,
    BorrowedUsd,
    RealisedApy1d,
    RealisedApy7d,
    RealisedApy30d,
    ApyReward,
    RewardTokens,
    RewardEndsMs,
    AcceptsSupply,
    BorrowingEnabled,
    AccruedToTreasury,
    StateBlock,
    StateTimeMs,
}

#[derive(DeriveIden)]
enum LendingHistory {
    Table,
    PoolId,
    Block,
    ChainId,
    LogIndex,
    TimeMs,
    LiquidityRateRay,
    VariableBorrowRateRay,
    StableBorrowRateRay,
    LiquidityIndexRay,
    VariableBorrowIndexRay,
    Supplied,
    Available,
    VariableDebt,
    StableDebt,
    PriceUsd,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use LendingReserves as R;
        let mut reserves = Table::create();
        reserves
            .table(R::Table)
            .col(string(R::PoolId).primary_key())
            .col(big_integer(R::ChainId));
        for c in [
            R::Market,
            R::Asset,
            R::AToken,
            R::VariableDebtToken,
            R::StableDebtToken,
            R::Strategy,
        ] {
            reserves.col(string(c));
        }
        for c in [
            R::Decimals,
            R::LtvBps,
            R::LiquidationThresholdBps,
            R::ReserveFactorBps,
        ] {
            reserves.col(integer(c));
        }
        for c in [
            R::SupplyCap,
            R::BorrowCap,
            R::OptimalUsageRay,
            R::BaseRateRay,
            R::Slope1Ray,
            R::Slope2Ray,
            R::LiquidityRateRay,
            R::VariableBorrowRateRay,
            R::LiquidityIndexRay,
            R::NormalizedIncomeRay,
            R::Supplied,
            R::Available,
            R::VariableDebt,
            R::StableDebt,
        ] {
            reserves.col(string(c));
        }
        for c in [
            R::PriceUsd,
            R::SupplyApy,
            R::BorrowApy,
            R::Utilization,
            R::SuppliedUsd,
            R::BorrowedUsd,
            R::RealisedApy1d,
            R::RealisedApy7d,
            R::RealisedApy30d,
            R::ApyReward,
        ] {
            reserves.col(double_null(c));
        }
        reserves
            .col(string_null(R::RewardTokens))
            .col(big_integer_null(R::RewardEndsMs))
            .col(boolean(R::AcceptsSupply))
            .col(boolean(R::BorrowingEnabled))
            .col(string(R::AccruedToTreasury));
        reserves
            .col(big_integer(R::StateBlock))
            .col(big_integer(R::StateTimeMs));
        manager.create_table(reserves.to_owned()).await?;

        manager.create_table(history_table()).await?;
        // A reorg deletes a chain's rows above a block.
        manager
            .create_index(
                Index::create()
                    .name("lending_history_by_chain_block")
                    .table(LendingHistory::Table)
                    .col(LendingHistory::ChainId)
                    .col(LendingHistory::Block)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LendingHistory::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LendingReserves::Table).to_owned())
            .await
    }
}

/// `lending_history`, keyed by reserve and block.
fn history_table() -> TableCreateStatement {
    use LendingHistory as H;
    let mut history = Table::create();
    history
        .table(H::Table)
        .col(string(H::PoolId))
        .col(big_integer(H::Block))
        .col(big_integer(H::ChainId))
        .col(big_integer(H::LogIndex))
        .col(big_integer(H::TimeMs));
    for c in [
        H::LiquidityRateRay,
        H::VariableBorrowRateRay,
        H::StableBorrowRateRay,
        H::LiquidityIndexRay,
        H::VariableBorrowIndexRay,
        H::Supplied,
        H::Available,
        H::VariableDebt,
        H::StableDebt,
    ] {
        history.col(string(c));
    }
    history.col(double_null(H::PriceUsd));
    history.primary_key(Index::create().col(H::PoolId).col(H::Block));
    history.to_owned()
}
