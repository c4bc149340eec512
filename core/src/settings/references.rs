//! Every check that looks from one section into another, in one place: a token deployment,
//! pool or factory names a chain; a chain's `native_token` names a token deployed on it; a
//! relayer route names two chains and a token deployed on both (with a vault to pay from on
//! Solana), and prices its destination's gas; a finality policy names a chain.
//!
//! Sections call these while they check themselves, so that every problem is still reported
//! in the order of the config's keys.

use std::collections::HashSet;

use super::{ChainSettings, Problems, RawChain, TokenSettings};
use crate::{Address, ChainKind};

/// What one section may look up in the others.
pub(super) struct References<'a> {
    /// `[[chains]]` as written.
    raw_chains: &'a [RawChain],
    /// The chains whose kind parsed.
    chains: &'a [ChainSettings],
    /// Every chain name written, whether or not the chain checked out.
    chain_names: HashSet<String>,
    /// Chains whose gas has a price: they name a `native_token`.
    priced_gas: HashSet<String>,
    /// Empty until the tokens are checked ([`References::with_tokens`]).
    tokens: &'a [TokenSettings],
}

impl<'a> References<'a> {
    /// The chains, as written and as checked: enough for the sections that name a chain.
    pub(super) fn new(raw_chains: &'a [RawChain], chains: &'a [ChainSettings]) -> Self {
        References {
            raw_chains,
            chains,
            chain_names: raw_chains.iter().map(|c| c.name.clone()).collect(),
            priced_gas: chains
                .iter()
                .filter(|c| c.native_token.is_some())
                .map(|c| c.name.clone())
                .collect(),
            tokens: &[],
        }
    }

    /// Adds the checked tokens, for the checks that name a token.
    pub(super) fn with_tokens(self, tokens: &'a [TokenSettings]) -> Self {
        References { tokens, ..self }
    }

    /// The kind of the chain named at `path` (`tokens[0].on[1].chain`), which must be a
    /// `[[chains]]` entry that checked out.
    pub(super) fn chain_kind(
        &self,
        p: &mut Problems,
        path: &str,
        chain: &str,
    ) -> Option<ChainKind> {
        let kind = self.chains.iter().find(|c| c.name == chain).map(|c| c.kind);
        if kind.is_none() {
            p.push(path, format!("unknown chain {chain:?} (not in [[chains]])"));
        }
        kind
    }

    /// Whether `chain` is a `[[chains]]` name (the relayer's sections).
    pub(super) fn has_chain(&self, chain: &str) -> bool {
        self.chain_names.contains(chain)
    }

    /// The chain named at `path` (`relayer.routes[0].to`) must be a `[[chains]]` name.
    pub(super) fn require_chain(&self, p: &mut Problems, path: String, chain: &str) {
        if !self.has_chain(chain) {
            p.push(path, format!("no chain named {chain:?} in [[chains]]"));
        }
    }

    /// Each chain's `native_token` is a token deployed on it; `path` is `chains`.
    pub(super) fn check_native_tokens(&self, path: &str, p: &mut Problems) {
        for (i, c) in self.raw_chains.iter().enumerate() {
            let Some(symbol) = &c.native_token else {
                continue;
            };
            let deployed = self
                .tokens
                .iter()
                .any(|t| &t.symbol == symbol && t.deployments.iter().any(|d| d.chain == c.name));
            if !deployed {
                p.push(
                    format!("{path}[{i}].native_token"),
                    format!(
                        "{symbol:?} is not a [[tokens]] entry deployed on {}",
                        c.name
                    ),
                );
            }
        }
    }

    /// A route into `chain` that weighs gas needs its price; `path` is the route's
    /// `release_policy`.
    pub(super) fn check_gas_priced(&self, p: &mut Problems, path: String, chain: &str) {
        if self.has_chain(chain) && !self.priced_gas.contains(chain) {
            p.push(
                path,
                format!(
                    "when_profitable prices {chain}'s gas: set native_token on that chain ([[chains]])"
                ),
            );
        }
    }

    /// The decimals of `token` on the route's two chains, `from` then `to` (those it is deployed
    /// on); `path` is the route's (`relayer.routes[0]`). The token must be deployed on both, and
    /// on a Solana destination have a vault to pay releases from.
    pub(super) fn route_token_decimals(
        &self,
        p: &mut Problems,
        path: &str,
        token: &str,
        from: &str,
        to: &str,
    ) -> Vec<u8> {
        let at = |f: &str| format!("{path}.{f}");
        let Some(t) = self.tokens.iter().find(|t| t.symbol == token) else {
            p.push(at("token"), format!("no token {token:?} in [[tokens]]"));
            return Vec::new();
        };
        [from, to]
            .into_iter()
            .filter_map(|chain| {
                let d = t.deployments.iter().find(|d| d.chain == chain);
                if d.is_none() && self.has_chain(chain) {
                    p.push(
                        at("token"),
                        format!("{token} is not deployed on {chain} ([[tokens]].on)"),
                    );
                }
                // Releases on Solana are paid from the relayer's token account.
                if let Some(d) = d
                    && chain == to
                    && matches!(d.address, Address::Solana(_))
                    && d.vault.is_none()
                {
                    p.push(
                        at("to"),
                        format!(
                            "{token} on {chain} has no vault ([[tokens]].on vault): nothing could pay this route's releases"
                        ),
                    );
                }
                d.map(|d| d.decimals)
            })
            .collect()
    }

    /// Whether `token` is paid out on `chain` as a Solana mint.
    pub(super) fn pays_out_on_solana(&self, token: &str, chain: &str) -> bool {
        self.tokens
            .iter()
            .filter(|t| t.symbol == token)
            .flat_map(|t| &t.deployments)
            .any(|d| d.chain == chain && matches!(d.address, Address::Solana(_)))
    }
}
