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

/// Where a deposit's source transaction stands on its chain now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inclusion {
    /// Unknown to the node, or failed: no deposit (yet, or any more).
    Missing,
    /// Succeeded at `height` (block or slot); `finalized` when it cannot be rolled back.
    At { height: u64, finalized: bool },
}

/// Finds a source transaction on its chain: what the relayer checks before it trusts a deposit
/// the indexer recorded (the indexer may lag a reorg).
pub trait SourceInclusion {
    /// `tx`: a transaction hash (EVM) or signature (Solana), as stored.
    fn inclusion(
        &self,
        tx: &str,
    ) -> impl std::future::Future<Output = Result<Inclusion, AdapterError>> + Send;

    /// [`SourceInclusion::inclusion`], with `finalized` judged against `finalized_height`, read
    /// once by a caller looking up many transactions: one request per transaction instead of
    /// two on EVM chains. A height read earlier is lower, so a transaction can only look less
    /// final than it is, never more.
    fn inclusion_against(
        &self,
        tx: &str,
        finalized_height: u64,
    ) -> impl std::future::Future<Output = Result<Inclusion, AdapterError>> + Send;
}

impl EvmChain {
    /// The block a successful transaction is in; `None` when unknown, pending or failed.
    async fn succeeded_at(&self, tx: &str) -> Result<Option<u64>, AdapterError> {
        let hash: alloy::primitives::B256 = tx.parse().map_err(|_| AdapterError::RpcRejected {
            chain: self.name.clone(),
            method: "eth_getTransactionReceipt",
            endpoint: String::new(),
            reason: format!("{tx:?} is not a transaction hash"),
        })?;
        let receipt = self
            .rpc
            .call("eth_getTransactionReceipt", move |p| async move {
                alloy::providers::Provider::get_transaction_receipt(&p, hash).await
            })
            .await?;
        Ok(receipt.filter(|r| r.status()).and_then(|r| r.block_number))
    }
}

impl SourceInclusion for EvmChain {
    async fn inclusion(&self, tx: &str) -> Result<Inclusion, AdapterError> {
        let Some(height) = self.succeeded_at(tx).await? else {
            return Ok(Inclusion::Missing);
        };
        let finalized = self.finalized().await?.number >= height;
        Ok(Inclusion::At { height, finalized })
    }

    async fn inclusion_against(
        &self,
        tx: &str,
        finalized_height: u64,
    ) -> Result<Inclusion, AdapterError> {
        Ok(match self.succeeded_at(tx).await? {
            Some(height) => Inclusion::At {
                height,
                finalized: height <= finalized_height,
            },
            None => Inclusion::Missing,
        })
    }
}

impl SourceInclusion for SolanaChain {
    async fn inclusion(&self, tx: &str) -> Result<Inclusion, AdapterError> {
        let sig: solana_sdk::signature::Signature =
            tx.parse().map_err(|_| AdapterError::RpcRejected {
                chain: self.name.clone(),
                method: "getSignatureStatuses",
                endpoint: String::new(),
                reason: format!("{tx:?} is not a signature"),
            })?;
        let statuses = self
            .call("getSignatureStatuses", |c| async move {
                c.rpc().get_signature_statuses_with_history(&[sig]).await
            })
            .await?;
        match statuses.value.into_iter().next().flatten() {
            Some(s) if s.err.is_none() => Ok(Inclusion::At {
                height: s.slot,
                finalized: s.satisfies_commitment(CommitmentConfig::finalized()),
            }),
            _ => Ok(Inclusion::Missing),
        }
    }

    /// The signature's own status says whether it is finalized: no extra request to save.
    async fn inclusion_against(
        &self,
        tx: &str,
        _finalized_height: u64,
    ) -> Result<Inclusion, AdapterError> {
        self.inclusion(tx).await
    }
}
