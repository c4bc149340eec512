//! Pool protocols Atoll reads and the kind of pricing curve each has.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{ChainKind, CoreError};

/// The AMM family: decides how state is read and fees are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// Constant product (Uniswap V2 pairs and their forks, Raydium CPMM).
    ConstantProduct,
    /// Concentrated liquidity (Uniswap V3, Orca Whirlpool).
    ConcentratedLiquidity,
    /// A lending market's reserve (Aave v3, Compound v3): suppliers earn what borrowers pay,
    /// along the reserve's rate curve ([`crate::lending`]).
    Lending,
}

impl PoolKind {
    /// The kind's name in the API's `kind` filter: `dex` for both AMM families, `lending`.
    pub fn api_kind(self) -> &'static str {
        match self {
            PoolKind::ConstantProduct | PoolKind::ConcentratedLiquidity => "dex",
            PoolKind::Lending => "lending",
        }
    }
}

/// A protocol deployment style Atoll knows how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    UniswapV2,
    PancakeswapV2,
    UniswapV3,
    OrcaWhirlpool,
    RaydiumCpmm,
    AaveV3,
    CompoundV3,
}

impl Protocol {
    pub const ALL: [Protocol; 7] = [
        Protocol::UniswapV2,
        Protocol::PancakeswapV2,
        Protocol::UniswapV3,
        Protocol::OrcaWhirlpool,
        Protocol::RaydiumCpmm,
        Protocol::AaveV3,
        Protocol::CompoundV3,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::UniswapV2 => "uniswap_v2",
            Protocol::PancakeswapV2 => "pancakeswap_v2",
            Protocol::UniswapV3 => "uniswap_v3",
            Protocol::OrcaWhirlpool => "orca_whirlpool",
            Protocol::RaydiumCpmm => "raydium_cpmm",
            Protocol::AaveV3 => "aave_v3",
            Protocol::CompoundV3 => "compound_v3",
        }
    }

    pub fn pool_kind(self) -> PoolKind {
        match self {
            Protocol::UniswapV2 | Protocol::PancakeswapV2 | Protocol::RaydiumCpmm => {
                PoolKind::ConstantProduct
            }
            Protocol::UniswapV3 | Protocol::OrcaWhirlpool => PoolKind::ConcentratedLiquidity,
            Protocol::AaveV3 | Protocol::CompoundV3 => PoolKind::Lending,
        }
    }

    pub fn chain_kind(self) -> ChainKind {
        match self {
            Protocol::UniswapV2
            | Protocol::PancakeswapV2
            | Protocol::UniswapV3
            | Protocol::AaveV3
            | Protocol::CompoundV3 => ChainKind::Evm,
            Protocol::OrcaWhirlpool | Protocol::RaydiumCpmm => ChainKind::Solana,
        }
    }

    /// (total swap fee, share of it paid to LPs), both in basis points, where the protocol fixes
    /// them. Concentrated-liquidity pools carry their own fee tier on chain, hence `None`.
    pub fn default_fee_bps(self) -> Option<(u32, u32)> {
        match self {
            Protocol::UniswapV2 => Some((30, 30)),
            Protocol::PancakeswapV2 => Some((25, 17)),
            Protocol::UniswapV3
            | Protocol::OrcaWhirlpool
            | Protocol::RaydiumCpmm
            | Protocol::AaveV3
            | Protocol::CompoundV3 => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| CoreError::UnknownProtocol(s.to_string()))
    }
}
