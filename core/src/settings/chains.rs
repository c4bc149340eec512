//! The `[[chains]]` section: each chain's kind, id, endpoints, finality, fees, contracts and
//! keys. Also [`address`], which parses an address of a chain's kind for every section.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use url::Url;

use super::env::secret;
use super::{Problems, defaults};
use crate::{Address, ChainId, ChainKind, SecretRef};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChain {
    pub name: String,
    pub kind: String,
    pub chain_id: u64,
    pub rpc: Vec<String>,
    /// Blocks (EVM) or slots behind head that count as final when the node has no `finalized`.
    pub confirmations: Option<u64>,
    pub use_finalized_tag: Option<bool>,
    /// EVM only: `eip1559` or `legacy`.
    pub fee_model: Option<String>,
    pub rate_limit_rps: Option<u32>,
    pub start_block: Option<u64>,
    /// EVM: the BridgeVault contract. Solana: the vault owner (token accounts are per token).
    pub bridge_vault: Option<String>,
    pub relayer_key: Option<String>,
    pub treasury_key: Option<String>,
    pub multicall3: Option<String>,
    /// Solana only: compute-unit price in micro-lamports for our own sends.
    pub priority_fee_micro_lamports: Option<u64>,
    /// EVM only: the most the relayer ever offers per gas, in gwei (default 1000), whatever
    /// the node's estimate or a fee bump asks: above it, releases wait.
    pub max_gas_price_gwei: Option<u64>,
    /// The `[[tokens]]` symbol whose price is this chain's gas token's (the wrapped native:
    /// WETH on Ethereum, WBNB on BSC, wSOL on Solana): what a release's gas costs in USD.
    /// Routes into this chain with `release_policy = "when_profitable"` need it.
    pub native_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeModel {
    Eip1559,
    Legacy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChainSettings {
    pub name: String,
    pub kind: ChainKind,
    pub chain_id: ChainId,
    pub rpc: Vec<Url>,
    pub confirmations: u64,
    pub use_finalized_tag: bool,
    pub fee_model: Option<FeeModel>,
    pub rate_limit_rps: u32,
    pub start_block: u64,
    pub bridge_vault: Option<Address>,
    pub relayer_key: Option<SecretRef>,
    pub treasury_key: Option<SecretRef>,
    pub multicall3: Option<Address>,
    pub priority_fee_micro_lamports: u64,
    /// EVM: the ceiling on any fee per gas the relayer signs, in wei.
    pub max_gas_price_wei: u128,
    /// The token symbol that prices this chain's gas (checked to be deployed on it).
    pub native_token: Option<String>,
}

/// `raw` is the `[[chains]]` array at `path` (`chains`). A chain whose kind does not parse is
/// left out of the result (its other problems are still reported).
pub(super) fn validate_chains(
    raw: &[RawChain],
    path: &str,
    base_dir: &Path,
    p: &mut Problems,
) -> Vec<ChainSettings> {
    let mut seen = Seen::default();
    raw.iter()
        .enumerate()
        .filter_map(|(i, c)| c.validate(&format!("{path}[{i}]"), base_dir, &mut seen, p))
        .collect()
}

/// Names and ids of the chains before the one being checked: each must be unique.
#[derive(Default)]
struct Seen {
    names: HashSet<String>,
    ids: HashSet<u64>,
}

/// The keys a chain signs with.
struct Keys {
    relayer: Option<SecretRef>,
    treasury: Option<SecretRef>,
}

impl RawChain {
    fn validate(
        &self,
        path: &str,
        base_dir: &Path,
        seen: &mut Seen,
        p: &mut Problems,
    ) -> Option<ChainSettings> {
        let kind = self.identity(path, seen, p);
        let rpc = self.rpc_urls(path, p);
        if self.rate_limit_rps == Some(0) {
            p.push(format!("{path}.rate_limit_rps"), "must be > 0");
        }
        let fee_model = self.fee_model(path, kind, p);
        if self.priority_fee_micro_lamports.is_some() && kind == Some(ChainKind::Evm) {
            p.push(
                format!("{path}.priority_fee_micro_lamports"),
                "only Solana chains take a priority fee",
            );
        }
        let bridge_vault = self
            .bridge_vault
            .as_ref()
            .and_then(|v| address(p, &format!("{path}.bridge_vault"), kind, v));
        let multicall3 = self.multicall3(path, kind, p);
        let keys = self.keys(path, base_dir, p);
        let max_gas_price_wei = self.max_gas_price_wei(path, kind, p);
        let kind = kind?;
        Some(ChainSettings {
            name: self.name.clone(),
            kind,
            chain_id: ChainId(self.chain_id),
            rpc,
            confirmations: self.confirmations.unwrap_or(defaults::confirmations(kind)),
            use_finalized_tag: self
                .use_finalized_tag
                .unwrap_or(defaults::USE_FINALIZED_TAG),
            fee_model,
            rate_limit_rps: self.rate_limit_rps.unwrap_or(defaults::RATE_LIMIT_RPS),
            start_block: self.start_block.unwrap_or(defaults::START_BLOCK),
            bridge_vault,
            relayer_key: keys.relayer,
            treasury_key: keys.treasury,
            multicall3,
            priority_fee_micro_lamports: self
                .priority_fee_micro_lamports
                .unwrap_or(defaults::PRIORITY_FEE_MICRO_LAMPORTS),
            max_gas_price_wei,
            native_token: self.native_token.clone(),
        })
    }

    /// Name and id (each unique), and the kind, if it parses.
    fn identity(&self, path: &str, seen: &mut Seen, p: &mut Problems) -> Option<ChainKind> {
        if !valid_name(&self.name) {
            p.push(
                format!("{path}.name"),
                format!(
                    "{:?} must be 1-32 characters of a-z, 0-9, _ or -",
                    self.name
                ),
            );
        } else if !seen.names.insert(self.name.clone()) {
            p.push(
                format!("{path}.name"),
                format!("duplicate chain name {:?}", self.name),
            );
        }
        let kind = match self.kind.parse::<ChainKind>() {
            Ok(k) => Some(k),
            Err(e) => {
                p.push(format!("{path}.kind"), e.to_string());
                None
            }
        };
        if !seen.ids.insert(self.chain_id) {
            p.push(
                format!("{path}.chain_id"),
                format!("duplicate chain id {}", self.chain_id),
            );
        }
        kind
    }

    fn rpc_urls(&self, path: &str, p: &mut Problems) -> Vec<Url> {
        if self.rpc.is_empty() {
            p.push(format!("{path}.rpc"), "needs at least one RPC URL");
        }
        let mut rpc = Vec::new();
        for (j, u) in self.rpc.iter().enumerate() {
            match Url::parse(u) {
                Ok(url) if matches!(url.scheme(), "http" | "https" | "ws" | "wss") => rpc.push(url),
                Ok(url) => p.push(
                    format!("{path}.rpc[{j}]"),
                    format!(
                        "unsupported scheme {:?} (http, https, ws or wss)",
                        url.scheme()
                    ),
                ),
                Err(e) => p.push(
                    format!("{path}.rpc[{j}]"),
                    format!("not a URL: {u:?} ({e})"),
                ),
            }
        }
        rpc
    }

    fn fee_model(&self, path: &str, kind: Option<ChainKind>, p: &mut Problems) -> Option<FeeModel> {
        match (self.fee_model.as_deref(), kind) {
            (None, Some(ChainKind::Evm)) => Some(defaults::fee_model(self.chain_id)),
            (Some("eip1559"), Some(ChainKind::Evm)) => Some(FeeModel::Eip1559),
            (Some("legacy"), Some(ChainKind::Evm)) => Some(FeeModel::Legacy),
            (Some(other), Some(ChainKind::Evm)) => {
                p.push(
                    format!("{path}.fee_model"),
                    format!("unknown fee model {other:?} (eip1559 or legacy)"),
                );
                None
            }
            (Some(_), Some(ChainKind::Solana)) => {
                p.push(
                    format!("{path}.fee_model"),
                    "only EVM chains have a fee model (Solana: priority_fee_micro_lamports)",
                );
                None
            }
            _ => None,
        }
    }

    fn multicall3(&self, path: &str, kind: Option<ChainKind>, p: &mut Problems) -> Option<Address> {
        match (&self.multicall3, kind) {
            (Some(_), Some(ChainKind::Solana)) => {
                p.push(
                    format!("{path}.multicall3"),
                    "Multicall3 is an EVM contract",
                );
                None
            }
            (Some(m), _) => address(p, &format!("{path}.multicall3"), kind, m),
            (None, _) => None,
        }
    }

    /// The relayer's key (required with a bridge vault) and the treasury's (never the same).
    fn keys(&self, path: &str, base_dir: &Path, p: &mut Problems) -> Keys {
        let relayer = secret(
            p,
            &format!("{path}.relayer_key"),
            &self.relayer_key,
            base_dir,
        );
        if self.bridge_vault.is_some() && self.relayer_key.is_none() {
            p.push(
                format!("{path}.relayer_key"),
                "required when bridge_vault is set (the relayer signs releases with it)",
            );
        }
        let treasury = secret(
            p,
            &format!("{path}.treasury_key"),
            &self.treasury_key,
            base_dir,
        );
        if self.treasury_key.is_some() && self.treasury_key == self.relayer_key {
            p.push(
                format!("{path}.treasury_key"),
                "must not be the relayer's key: the treasury's deposits and the relayer's releases would share nonces and funds",
            );
        }
        Keys { relayer, treasury }
    }

    fn max_gas_price_wei(&self, path: &str, kind: Option<ChainKind>, p: &mut Problems) -> u128 {
        if self.max_gas_price_gwei.is_some() && kind == Some(ChainKind::Solana) {
            p.push(
                format!("{path}.max_gas_price_gwei"),
                "only EVM chains pay gas per unit (Solana: priority_fee_micro_lamports)",
            );
        }
        let gwei = self
            .max_gas_price_gwei
            .unwrap_or(defaults::MAX_GAS_PRICE_GWEI);
        if gwei == 0 {
            p.push(format!("{path}.max_gas_price_gwei"), "must be at least 1");
        }
        u128::from(gwei) * 1_000_000_000
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The address `raw` at `path` on a chain of `kind`; nothing, and no problem, when the kind is
/// unknown (the unknown kind or chain is reported where it is written).
pub(super) fn address(
    p: &mut Problems,
    path: &str,
    kind: Option<ChainKind>,
    raw: &str,
) -> Option<Address> {
    let kind = kind?;
    match Address::parse(kind, raw) {
        Ok(a) => Some(a),
        Err(e) => {
            p.push(path, e.to_string());
            None
        }
    }
}
