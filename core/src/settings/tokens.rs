//! The `[[tokens]]` section: each token's symbol, pricing hints and deployments (address,
//! decimals and, on Solana, the relayer's vault account) per chain.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::Problems;
use super::chains::address;
use super::references::References;
use crate::{Address, ChainKind};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    pub symbol: String,
    #[serde(default)]
    pub stable: bool,
    /// A pinned USD price, used when no pool prices the token.
    pub price_usd: Option<f64>,
    #[serde(default)]
    pub on: Vec<RawTokenDeployment>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTokenDeployment {
    pub chain: String,
    pub address: String,
    pub decimals: u8,
    /// Solana only: the relayer's vault token account for this mint.
    pub vault: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenSettings {
    pub symbol: String,
    pub stable: bool,
    pub price_usd: Option<f64>,
    pub deployments: Vec<TokenDeployment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenDeployment {
    pub chain: String,
    pub address: Address,
    pub decimals: u8,
    pub vault: Option<Address>,
}

/// `raw` is the `[[tokens]]` array at `path` (`tokens`); `refs` knows the chains.
pub(super) fn validate_tokens(
    raw: &[RawToken],
    path: &str,
    refs: &References<'_>,
    p: &mut Problems,
) -> Vec<TokenSettings> {
    let mut symbols = HashSet::new();
    raw.iter()
        .enumerate()
        .map(|(i, t)| t.validate(&format!("{path}[{i}]"), &mut symbols, refs, p))
        .collect()
}

impl RawToken {
    /// `symbols` holds the symbols of the tokens before this one. A deployment whose address
    /// does not parse is left out.
    fn validate(
        &self,
        path: &str,
        symbols: &mut HashSet<String>,
        refs: &References<'_>,
        p: &mut Problems,
    ) -> TokenSettings {
        if self.symbol.is_empty() {
            p.push(format!("{path}.symbol"), "must not be empty");
        } else if !symbols.insert(self.symbol.clone()) {
            p.push(
                format!("{path}.symbol"),
                format!("duplicate token {:?}", self.symbol),
            );
        }
        if let Some(price) = self.price_usd
            && !(price.is_finite() && price > 0.0)
        {
            p.push(format!("{path}.price_usd"), "must be a finite number > 0");
        }
        let mut seen_chains = HashSet::new();
        let deployments = self
            .on
            .iter()
            .enumerate()
            .filter_map(|(j, d)| {
                let path = format!("{path}.on[{j}]");
                d.validate(&path, &self.symbol, &mut seen_chains, refs, p)
            })
            .collect();
        TokenSettings {
            symbol: self.symbol.clone(),
            stable: self.stable,
            price_usd: self.price_usd,
            deployments,
        }
    }
}

impl RawTokenDeployment {
    /// `seen_chains` holds the chains of the token's deployments before this one.
    fn validate(
        &self,
        path: &str,
        symbol: &str,
        seen_chains: &mut HashSet<String>,
        refs: &References<'_>,
        p: &mut Problems,
    ) -> Option<TokenDeployment> {
        let kind = refs.chain_kind(p, &format!("{path}.chain"), &self.chain);
        if !seen_chains.insert(self.chain.clone()) {
            p.push(
                format!("{path}.chain"),
                format!("token {symbol} listed twice on {}", self.chain),
            );
        }
        if self.decimals > crate::amount::MAX_DECIMALS {
            p.push(
                format!("{path}.decimals"),
                format!("must be at most {}", crate::amount::MAX_DECIMALS),
            );
        }
        let addr = address(p, &format!("{path}.address"), kind, &self.address);
        let vault = match (&self.vault, kind) {
            (Some(v), Some(ChainKind::Solana)) => address(p, &format!("{path}.vault"), kind, v),
            (Some(_), Some(ChainKind::Evm)) => {
                p.push(
                    format!("{path}.vault"),
                    "only Solana tokens have a vault account (EVM uses the chain's bridge_vault)",
                );
                None
            }
            _ => None,
        };
        Some(TokenDeployment {
            chain: self.chain.clone(),
            address: addr?,
            decimals: self.decimals,
            vault,
        })
    }
}
