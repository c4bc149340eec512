//! The indexer's batch transaction, [`IngestTxn`], on its own: both modules that write through
//! it extend it, `ingest` (pools, events, volumes, snapshots, block hashes, the checkpoint) and
//! `transfers` (deposits). Neither needs the other for it, so the dependency between them goes
//! one way only (`ingest` → `transfers`, for the deposits a reorg's rollback orphans). Its
//! public path stays `atoll_store::ingest::IngestTxn`.

use sea_orm::DatabaseTransaction;

/// An open ingest transaction. Dropping it without [`IngestTxn::commit`] rolls back.
pub struct IngestTxn {
    pub(crate) txn: DatabaseTransaction,
    pub(crate) _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    pub(crate) chain_id: i64,
    pub(crate) stream: String,
}

impl IngestTxn {
    pub fn connection(&self) -> &DatabaseTransaction {
        &self.txn
    }
}
