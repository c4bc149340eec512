//! A lending reserve's own supply-rate curve, where the protocol has one: Compound v3 prices
//! supply on a kinked line of utilisation of its own (`supplyKink`, the supply base rate and
//! slopes), not as a share of what borrowers pay. Four nullable columns on `lending_reserves`,
//! per-year rays like the borrow curve's; empty for Aave v3, whose supply rate follows from its
//! borrow curve and reserve factor.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LendingReserves {
    Table,
    SupplyKinkRay,
    SupplyBaseRateRay,
    SupplySlope1Ray,
    SupplySlope2Ray,
}

const COLUMNS: [LendingReserves; 4] = [
    LendingReserves::SupplyKinkRay,
    LendingReserves::SupplyBaseRateRay,
    LendingReserves::SupplySlope1Ray,
    LendingReserves::SupplySlope2Ray,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(LendingReserves::Table)
                        .add_column(ColumnDef::new(column).string().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(LendingReserves::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
