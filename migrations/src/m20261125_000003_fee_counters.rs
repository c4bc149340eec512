//! Fee counters for pools whose fees are read from state rather than from swap events (Solana):
//! the cumulative counters last read, so the next read's difference is the fees earned between
//! the two. Whirlpool: `fee_growth_global_a/b` (Q64.64 per unit of liquidity); Raydium CPMM:
//! protocol plus fund fees per token. Decimal strings, as every stored amount.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Pools {
    Table,
    FeeCounter0,
    FeeCounter1,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        for col in [Pools::FeeCounter0, Pools::FeeCounter1] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Pools::Table)
                        .add_column(string_null(col))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Pools::FeeCounter0, Pools::FeeCounter1] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Pools::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
