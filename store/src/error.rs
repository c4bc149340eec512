//! The one error type of atoll-store.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid database URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("stored value out of range: {0}")]
    OutOfRange(String),
    #[error(
        "checkpoint of chain {chain_id} stream {stream} moved: expected {expected:?}, found {found:?} (another indexer of this chain is running?)"
    )]
    CheckpointMoved {
        chain_id: u64,
        stream: String,
        expected: Option<u64>,
        found: Option<u64>,
    },
    #[error("{table}.{column} of row {row}: {value:?} is not {expected}")]
    Unreadable {
        table: &'static str,
        column: &'static str,
        /// The row's key as stored.
        row: String,
        value: String,
        expected: &'static str,
    },
    #[error("transfer {id}: {from} → {to} is not a transition the state machine allows")]
    IllegalTransition {
        id: atoll_core::TransferId,
        from: atoll_core::TransferStatus,
        to: atoll_core::TransferStatus,
    },
    #[error("transfer {id}: retry refused: {reason}")]
    RetryRefused {
        id: atoll_core::TransferId,
        reason: String,
    },
    #[error("transfer {id}: expected status {expected}, found {found} (moved by someone else?)")]
    TransferMoved {
        id: atoll_core::TransferId,
        expected: atoll_core::TransferStatus,
        found: String,
    },
}

impl StoreError {
    /// Whether retrying the same operation may succeed (lost connection, lock timeout).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Connect { .. }
                | StoreError::Db(sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_))
        )
    }

    /// Short label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            StoreError::InvalidUrl { .. } => "invalid_url",
            StoreError::Connect { .. } => "connect",
            StoreError::Db(_) => "db",
            StoreError::OutOfRange(_) => "out_of_range",
            StoreError::Unreadable { .. } => "unreadable_row",
            StoreError::CheckpointMoved { .. } => "checkpoint_moved",
            StoreError::IllegalTransition { .. } => "illegal_transition",
            StoreError::TransferMoved { .. } => "transfer_moved",
            StoreError::RetryRefused { .. } => "retry_refused",
        }
    }
}
