//! Chain identity: numeric ids as used in contracts and transfers, and the chain's virtual machine.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Numeric chain id: the EVM chain id, or for Solana the id LI.FI uses. A `uint64` everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChainId(pub u64);

impl ChainId {
    pub const ETHEREUM: ChainId = ChainId(1);
    pub const BSC: ChainId = ChainId(56);
    /// Solana mainnet's id in LI.FI's numbering.
    pub const SOLANA: ChainId = ChainId(1_151_111_081_099_710);
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which family of virtual machine a chain runs; decides address format and adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainKind {
    Evm,
    Solana,
}

impl ChainKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChainKind::Evm => "evm",
            ChainKind::Solana => "solana",
        }
    }

    /// Whether the bridge keeps each token in its own vault account on chains of this kind
    /// (Solana: one SPL token account per mint, the deployment's `vault`), rather than every
    /// token in the chain's one vault contract (EVM: `bridge_vault`). A release of a token with
    /// no vault account there cannot be paid.
    pub fn vault_per_token(self) -> bool {
        match self {
            ChainKind::Evm => false,
            ChainKind::Solana => true,
        }
    }

    /// The most one token account holds on chains of this kind, in raw units, when a release
    /// can exceed it: an SPL token account's `u64` on Solana. `None` on EVM, whose balances
    /// are `uint256` like every amount here.
    pub fn token_account_max(self) -> Option<u64> {
        match self {
            ChainKind::Evm => None,
            ChainKind::Solana => Some(u64::MAX),
        }
    }
}

impl fmt::Display for ChainKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChainKind {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "evm" => Ok(ChainKind::Evm),
            "solana" => Ok(ChainKind::Solana),
            other => Err(CoreError::UnknownChainKind(other.to_string())),
        }
    }
}
