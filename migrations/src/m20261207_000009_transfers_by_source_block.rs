//! An index on a source chain's deposits by block (`source_chain_id, source_block`). Two reads
//! need the deposits above a height and nothing else: the finality gate's exposure (everything
//! released against deposits above the finalized block, confirmed releases included, which grow
//! for ever) and a reorg's rollback (every deposit above the common ancestor). Neither column
//! changes after a deposit is recorded, so status moves never touch this index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Transfers {
    Table,
    SourceChainId,
    SourceBlock,
}

const NAME: &str = "ix_transfers_source_block";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Transfers::Table)
                    .col(Transfers::SourceChainId)
                    .col(Transfers::SourceBlock)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(Transfers::Table).to_owned())
            .await
    }
}
