//! The one error type of atoll-adapters. RPC errors name the chain, the method and the endpoint
//! by host only: URLs often carry API keys, which never reach a log or an error.

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("secret {reference}: environment variable {name} is not set or empty")]
    SecretEnvMissing { reference: String, name: String },
    #[error("secret {reference}: cannot read {path}: {reason}")]
    SecretFileUnreadable {
        reference: String,
        path: String,
        reason: String,
    },
    /// Never carries the secret's value, only what is wrong with its shape.
    #[error("secret {reference}: not a valid {expected}")]
    SecretMalformed {
        reference: String,
        expected: &'static str,
    },
    #[error("{chain}: no RPC endpoint configured")]
    NoEndpoints { chain: String },
    #[error("{chain}: {method} failed on every endpoint after {attempts} attempts; last: {last}")]
    RpcUnavailable {
        chain: String,
        method: &'static str,
        attempts: u32,
        last: String,
    },
    #[error("{chain}: {method} refused by {endpoint}: {reason}")]
    RpcRejected {
        chain: String,
        method: &'static str,
        endpoint: String,
        reason: String,
    },
    /// The node refuses the block range of an `eth_getLogs` (too many results or too wide).
    #[error("{chain}: log range {from}..={to} too large{}", suggested.map(|s| format!(" (node suggests {s} blocks)")).unwrap_or_default())]
    RangeTooLarge {
        chain: String,
        from: u64,
        to: u64,
        suggested: Option<u64>,
    },
    #[error("{chain}: the RPC reports chain id {actual}, the config says {expected}")]
    WrongChainId {
        chain: String,
        expected: u64,
        actual: u64,
    },
    #[error("{chain}: block {number} not found")]
    BlockNotFound { chain: String, number: u64 },
    /// An address of another chain's kind where this chain's is needed (an EVM address asked
    /// of Solana).
    #[error("{chain}: {address} is no address on this chain")]
    ForeignAddress { chain: String, address: String },
}

impl AdapterError {
    /// Whether the same call may succeed later (the retry loops above the adapter use this).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AdapterError::RpcUnavailable { .. } | AdapterError::BlockNotFound { .. }
        )
    }

    /// Short label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            AdapterError::SecretEnvMissing { .. } => "secret_env_missing",
            AdapterError::SecretFileUnreadable { .. } => "secret_file_unreadable",
            AdapterError::SecretMalformed { .. } => "secret_malformed",
            AdapterError::NoEndpoints { .. } => "no_endpoints",
            AdapterError::RpcUnavailable { .. } => "rpc_unavailable",
            AdapterError::RpcRejected { .. } => "rpc_rejected",
            AdapterError::RangeTooLarge { .. } => "range_too_large",
            AdapterError::WrongChainId { .. } => "wrong_chain_id",
            AdapterError::BlockNotFound { .. } => "block_not_found",
            AdapterError::ForeignAddress { .. } => "foreign_address",
        }
    }
}
