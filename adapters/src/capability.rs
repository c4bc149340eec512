//! Capabilities every chain adapter offers, one trait each, so code above the adapters (the
//! relayer's finality gate, the indexers' progress) is written once for EVM and Solana.

use solana_commitment_config::CommitmentConfig;

use crate::AdapterError;
use crate::evm::EvmChain;
use crate::solana::SolanaChain;

/// Where a chain's tip is and what on it is final: block numbers on EVM, slots on Solana.
pub trait Heights {
    /// The newest height the node has (EVM `latest`; Solana `confirmed`).
    fn tip(&self) -> impl std::future::Future<Output = Result<u64, AdapterError>> + Send;
    /// The newest height that cannot be rolled back (EVM: the `finalized` tag or head minus
    /// the configured confirmations; Solana: the `finalized` commitment).
    fn finalized_height(
        &self,
    ) -> impl std::future::Future<Output = Result<u64, AdapterError>> + Send;
}

impl Heights for EvmChain {
    async fn tip(&self) -> Result<u64, AdapterError> {
        Ok(self.head().await?.number)
    }

    async fn finalized_height(&self) -> Result<u64, AdapterError> {
        Ok(self.finalized().await?.number)
    }
}

impl Heights for SolanaChain {
    async fn tip(&self) -> Result<u64, AdapterError> {
        self.slot(CommitmentConfig::confirmed()).await
    }

    async fn finalized_height(&self) -> Result<u64, AdapterError> {
        self.slot(CommitmentConfig::finalized()).await
    }
}
