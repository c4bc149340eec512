//! The EVM adapter, one implementation for every EVM chain (Ethereum, BSC, any other by config):
//! heads and finality, blocks for reorg detection, and logs over block ranges that adapt to what
//! the node accepts. Calls go through [`rpc::RpcPool`] (failover, rate limit, retries).

pub mod aave_abi;
pub mod abi;
pub mod comet;
pub mod comet_abi;
pub mod discovery;
pub mod events;
pub mod lending;
pub mod logs;
pub mod releases;
pub mod rpc;
pub mod state;
pub mod treasury;
pub mod vault_history;

use std::sync::atomic::{AtomicU8, Ordering};

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::Provider;
use atoll_core::settings::ChainSettings;

pub use logs::LogWindow;
pub use rpc::{RetryPolicy, RpcPool};

use crate::AdapterError;

/// A block as the indexer and relayer track it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    pub number: u64,
    pub hash: B256,
    pub parent_hash: B256,
    pub timestamp: u64,
}

const TAG_UNKNOWN: u8 = 0;
const TAG_SUPPORTED: u8 = 1;
const TAG_UNSUPPORTED: u8 = 2;

/// One EVM chain's adapter.
pub struct EvmChain {
    pub name: String,
    pub chain_id: u64,
    pub rpc: RpcPool,
    confirmations: u64,
    use_finalized_tag: bool,
    finalized_tag: AtomicU8,
    /// The chain's `BridgeVault`, from its settings.
    pub(crate) bridge_vault: Option<alloy::primitives::Address>,
    /// Whether transactions here are priced EIP-1559 style (the settings' `fee_model`).
    pub(crate) eip1559: bool,
}

impl EvmChain {
    pub fn new(settings: &ChainSettings, policy: RetryPolicy) -> Result<EvmChain, AdapterError> {
        Ok(EvmChain {
            name: settings.name.clone(),
            chain_id: settings.chain_id.0,
            rpc: RpcPool::new(
                &settings.name,
                &settings.rpc,
                settings.rate_limit_rps,
                policy,
            )?,
            confirmations: settings.confirmations,
            use_finalized_tag: settings.use_finalized_tag,
            finalized_tag: AtomicU8::new(TAG_UNKNOWN),
            bridge_vault: settings
                .bridge_vault
                .as_ref()
                .and_then(discovery::evm_address),
            eip1559: settings.fee_model != Some(atoll_core::settings::FeeModel::Legacy),
        })
    }

    /// Fails when the RPC serves another chain than the config names (a copy-paste of URLs
    /// between chains would otherwise index or release on the wrong chain).
    pub async fn verify_chain_id(&self) -> Result<(), AdapterError> {
        let actual = self
            .rpc
            .call("eth_chainId", |p| async move { p.get_chain_id().await })
            .await?;
        if actual != self.chain_id {
            return Err(AdapterError::WrongChainId {
                chain: self.name.clone(),
                expected: self.chain_id,
                actual,
            });
        }
        Ok(())
    }

    async fn block_by(&self, tag: BlockNumberOrTag) -> Result<Option<BlockRef>, AdapterError> {
        let block = self
            .rpc
            .call("eth_getBlockByNumber", move |p| async move {
                p.get_block_by_number(tag).await
            })
            .await?;
        Ok(block.map(|b| BlockRef {
            number: b.header.number,
            hash: b.header.hash,
            parent_hash: b.header.parent_hash,
            timestamp: b.header.timestamp,
        }))
    }

    pub async fn head(&self) -> Result<BlockRef, AdapterError> {
        self.block_by(BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| AdapterError::BlockNotFound {
                chain: self.name.clone(),
                number: 0,
            })
    }

    pub async fn block(&self, number: u64) -> Result<BlockRef, AdapterError> {
        self.block_by(BlockNumberOrTag::Number(number))
            .await?
            .ok_or_else(|| AdapterError::BlockNotFound {
                chain: self.name.clone(),
                number,
            })
    }

    /// The newest block that cannot be reorganised: the node's `finalized` block where it has
    /// one (learned on first use), else head minus the configured confirmations.
    pub async fn finalized(&self) -> Result<BlockRef, AdapterError> {
        if self.use_finalized_tag && self.finalized_tag.load(Ordering::Relaxed) != TAG_UNSUPPORTED {
            match self.block_by(BlockNumberOrTag::Finalized).await {
                Ok(Some(block)) => {
                    self.finalized_tag.store(TAG_SUPPORTED, Ordering::Relaxed);
                    return Ok(block);
                }
                // No such tag on this node (or nothing final yet): fall back below.
                Ok(None) | Err(AdapterError::RpcRejected { .. }) => {
                    if self.finalized_tag.swap(TAG_UNSUPPORTED, Ordering::Relaxed) == TAG_UNKNOWN {
                        tracing::info!(chain = %self.name, confirmations = self.confirmations, "no finalized tag; using confirmations");
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let head = self.head().await?;
        self.block(head.number.saturating_sub(self.confirmations))
            .await
    }
}
