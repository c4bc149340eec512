//! Pool discovery from factory creation events (`PairCreated`, `PoolCreated`), keeping only
//! pools whose two tokens are both on the allowlist (the config's tokens): a factory lists
//! thousands of pools of tokens nobody prices.

use std::collections::HashSet;

use alloy::primitives::Address;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use atoll_core::Protocol;
use atoll_core::settings::FactorySettings;

use super::abi::{IUniswapV2Factory, IUniswapV3Factory};
use super::events::{self, EvmEvent};
use super::{EvmChain, LogWindow};
use crate::AdapterError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredPool {
    pub address: Address,
    pub protocol: Protocol,
    pub token0: Address,
    pub token1: Address,
    /// V3 fee tier in millionths; V2 fees come from the protocol's config.
    pub fee_ppm: Option<u32>,
    pub created_at_block: u64,
}

/// An `atoll_core::Address` as alloy's, when it is an EVM one.
pub fn evm_address(a: &atoll_core::Address) -> Option<Address> {
    match a {
        atoll_core::Address::Evm(bytes) => Some(Address::from(*bytes)),
        atoll_core::Address::Solana(_) => None,
    }
}

impl EvmChain {
    /// Pools the factories created in `from..=to` whose tokens are both in `allowed_tokens`.
    pub async fn discover_pools(
        &self,
        factories: &[FactorySettings],
        allowed_tokens: &HashSet<Address>,
        from: u64,
        to: u64,
        window: &mut LogWindow,
    ) -> Result<Vec<DiscoveredPool>, AdapterError> {
        let mut out = Vec::new();
        for factory in factories.iter().filter(|f| f.chain == self.name) {
            let Some(address) = evm_address(&factory.address) else {
                continue;
            };
            let topic = match factory.protocol {
                Protocol::UniswapV2 | Protocol::PancakeswapV2 => {
                    IUniswapV2Factory::PairCreated::SIGNATURE_HASH
                }
                Protocol::UniswapV3 => IUniswapV3Factory::PoolCreated::SIGNATURE_HASH,
                Protocol::OrcaWhirlpool
                | Protocol::RaydiumCpmm
                | Protocol::AaveV3
                | Protocol::CompoundV3 => continue,
            };
            let filter = Filter::new().address(address).event_signature(topic);
            let logs = self
                .logs(&filter, from.max(factory.start_block), to, window)
                .await?;
            for log in &logs {
                let Some(decoded) = events::decode(log) else {
                    continue;
                };
                let (pos, event) = decoded.map_err(|e| AdapterError::RpcRejected {
                    chain: self.name.clone(),
                    method: "eth_getLogs",
                    endpoint: String::new(),
                    reason: e.to_string(),
                })?;
                let (address, token0, token1, fee_ppm) = match event {
                    EvmEvent::PairCreated {
                        token0,
                        token1,
                        pair,
                    } => (pair, token0, token1, None),
                    EvmEvent::PoolCreated {
                        token0,
                        token1,
                        fee,
                        pool,
                        ..
                    } => (pool, token0, token1, Some(fee)),
                    _ => continue,
                };
                if allowed_tokens.contains(&token0) && allowed_tokens.contains(&token1) {
                    out.push(DiscoveredPool {
                        address,
                        protocol: factory.protocol,
                        token0,
                        token1,
                        fee_ppm,
                        created_at_block: pos.block_number,
                    });
                }
            }
        }
        Ok(out)
    }
}
