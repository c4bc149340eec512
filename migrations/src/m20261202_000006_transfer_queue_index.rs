//! An index for each executor's queue: the oldest transfers bound for a chain in one status
//! (`dest_chain_id, status, created_at_ms, id`). Without it every read of the queue sorts all
//! the chain's queued transfers: at 50,000 queued that is most of a step's time. It replaces
//! `ix_transfers_status_dest` (`status, dest_chain_id`), whose queries it serves too: every
//! status change updates each index on `status`, and one is enough.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Transfers {
    Table,
    Id,
    DestChainId,
    Status,
    CreatedAtMs,
}

const NAME: &str = "ix_transfers_dest_status_age";
const REPLACED: &str = "ix_transfers_status_dest";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Transfers::Table)
                    .col(Transfers::DestChainId)
                    .col(Transfers::Status)
                    .col(Transfers::CreatedAtMs)
                    .col(Transfers::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(REPLACED)
                    .table(Transfers::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(REPLACED)
                    .table(Transfers::Table)
                    .col(Transfers::Status)
                    .col(Transfers::DestChainId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name(NAME).table(Transfers::Table).to_owned())
            .await
    }
}
