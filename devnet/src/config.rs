//! Writes `devnet.toml`: a complete Atoll config for a running devnet (RPC URLs, chain ids,
//! contracts, pools and factories, token mappings across chains, keys as file references).
//! It goes through the same typed settings `atoll` parses, and is validated before it is written.

use std::collections::BTreeMap;

use atoll_core::settings::{
    RawApi, RawBridgeRoute, RawChain, RawDatabase, RawFactory, RawFinality, RawFinalityTier,
    RawPool, RawRelayer, RawSettings, RawToken, RawTokenDeployment, Settings,
};

use crate::DevnetError;
use crate::evm::EvmDeployment;
use crate::solana::SolanaDeployment;
use crate::state::DevnetState;

/// The bridge on the devnet: every token deployed on two chains is bridged both ways between
/// them (stables: 5 bps + 0.5, 1 to 1,000,000; the wrapped natives: 5 bps + 0.0001); small
/// deposits from Ethereum and BSC wait a few blocks, larger ones for finality; Solana waits
/// for `finalized` (the default).
fn devnet_relayer(tokens: &BTreeMap<String, RawToken>) -> RawRelayer {
    let mut routes = Vec::new();
    for t in tokens.values() {
        for from in &t.on {
            for to in t.on.iter().filter(|d| d.chain != from.chain) {
                let (fee_fixed, min, max) = if t.stable {
                    ("0.5", "1", "1000000")
                } else {
                    ("0.0001", "0.001", "1000")
                };
                routes.push(RawBridgeRoute {
                    from: from.chain.clone(),
                    to: to.chain.clone(),
                    token: t.symbol.clone(),
                    fee_bps: 5,
                    fee_fixed: Some(fee_fixed.into()),
                    min_amount: Some(min.into()),
                    max_amount: Some(max.into()),
                    ..RawBridgeRoute::default()
                });
            }
        }
    }
    let tier = |up_to_usd: Option<f64>, confirmations: Option<u64>| RawFinalityTier {
        up_to_usd,
        confirmations,
        finalized: confirmations.is_none().then_some(true),
    };
    let chains: std::collections::BTreeSet<&str> = tokens
        .values()
        .flat_map(|t| t.on.iter().map(|d| d.chain.as_str()))
        .collect();
    let finality = [("ethereum", 2, 4), ("bsc", 3, 6)]
        .into_iter()
        .filter(|(c, ..)| chains.contains(c))
        .map(|(chain, small, medium)| RawFinality {
            chain: chain.into(),
            tiers: vec![
                tier(Some(1_000.0), Some(small)),
                tier(Some(100_000.0), Some(medium)),
                tier(None, None),
            ],
            max_unfinalized_usd: Some(250_000.0),
        })
        .collect();
    RawRelayer {
        routes,
        finality,
        ..RawRelayer::default()
    }
}

/// The chains, pools, factories and tokens of a devnet, as the config lists them.
#[derive(Default)]
struct Listed {
    chains: Vec<RawChain>,
    pools: Vec<RawPool>,
    factories: Vec<RawFactory>,
    lending_markets: Vec<atoll_core::settings::RawLendingMarket>,
    tokens: BTreeMap<String, RawToken>,
}

impl Listed {
    /// Records `symbol` deployed at `deployment` (a token on several chains is one entry).
    fn token(&mut self, symbol: &str, deployment: RawTokenDeployment) {
        let entry = self
            .tokens
            .entry(symbol.to_string())
            .or_insert_with(|| RawToken {
                symbol: symbol.to_string(),
                stable: symbol.starts_with("USD"),
                ..Default::default()
            });
        entry.on.push(deployment);
    }

    /// An EVM chain: its node, bridge vault and keys, its V2 pairs and V3 pools, both
    /// factories and its tokens.
    fn evm(&mut self, c: &EvmDeployment) {
        self.chains.push(RawChain {
            name: c.name.clone(),
            kind: "evm".into(),
            chain_id: c.chain_id,
            rpc: vec![c.rpc_url.clone()],
            confirmations: Some(2),
            use_finalized_tag: Some(true),
            fee_model: Some(
                if c.chain_id == 56 {
                    "legacy"
                } else {
                    "eip1559"
                }
                .into(),
            ),
            rate_limit_rps: Some(1000),
            start_block: Some(c.deployed_at_block),
            bridge_vault: Some(c.bridge_vault.to_string()),
            relayer_key: Some("file:keys/evm-relayer.key".into()),
            treasury_key: Some("file:keys/evm-treasury.key".into()),
            // Its wrapped native token prices its gas (for `when_profitable` routes).
            native_token: [crate::evm::ETHEREUM, crate::evm::BSC]
                .into_iter()
                .find(|plan| plan.chain_id == c.chain_id)
                .map(|plan| plan.native_symbol.to_string()),
            ..Default::default()
        });
        if let Some(market) = &c.aave {
            self.lending_markets
                .push(atoll_core::settings::RawLendingMarket {
                    chain: c.name.clone(),
                    protocol: "aave_v3".into(),
                    addresses_provider: Some(market.addresses_provider.to_string()),
                    start_block: None,
                    ..Default::default()
                });
        }
        if let Some(market) = &c.comet {
            self.lending_markets
                .push(atoll_core::settings::RawLendingMarket {
                    chain: c.name.clone(),
                    protocol: "compound_v3".into(),
                    comet: Some(market.comet.to_string()),
                    rewards: Some(market.rewards.to_string()),
                    ..Default::default()
                });
        }
        for p in c.v2_pairs.iter().chain(&c.v3_pools) {
            self.pools.push(RawPool {
                chain: c.name.clone(),
                protocol: p.protocol.clone(),
                address: p.address.to_string(),
            });
        }
        for (protocol, address) in [("uniswap_v2", c.v2_factory), ("uniswap_v3", c.v3_factory)] {
            self.factories.push(RawFactory {
                chain: c.name.clone(),
                protocol: protocol.into(),
                address: address.to_string(),
                start_block: Some(c.deployed_at_block),
            });
        }
        for t in &c.tokens {
            self.token(
                &t.symbol,
                RawTokenDeployment {
                    chain: c.name.clone(),
                    address: t.address.to_string(),
                    decimals: t.decimals,
                    vault: None,
                },
            );
        }
    }

    /// Solana: its validator, the relayer's wallet as the bridge vault, keys, pools and mints
    /// (each with the relayer's vault token account).
    fn solana(&mut self, s: &SolanaDeployment) {
        self.chains.push(RawChain {
            name: "solana".into(),
            kind: "solana".into(),
            chain_id: atoll_core::ChainId::SOLANA.0,
            rpc: vec![s.rpc_url.clone()],
            confirmations: Some(32),
            use_finalized_tag: Some(true),
            rate_limit_rps: Some(1000),
            bridge_vault: Some(s.relayer.clone()),
            relayer_key: Some("file:keys/solana-relayer.json".into()),
            treasury_key: Some("file:keys/solana-treasury.json".into()),
            priority_fee_micro_lamports: Some(1_000),
            ..Default::default()
        });
        for p in &s.pools {
            self.pools.push(RawPool {
                chain: "solana".into(),
                protocol: p.protocol.clone(),
                address: p.address.clone(),
            });
        }
        for t in &s.tokens {
            self.token(
                &t.symbol,
                RawTokenDeployment {
                    chain: "solana".into(),
                    address: t.mint.clone(),
                    decimals: t.decimals,
                    vault: Some(t.vault.clone()),
                },
            );
        }
    }
}

/// The whole config of a running devnet: every chain, pool, factory and token of `state`,
/// the bridge between them ([`devnet_relayer`]), a SQLite database next to it, and the API
/// and indexer settings written out so users see the knobs.
pub fn devnet_settings(state: &DevnetState) -> RawSettings {
    let mut listed = Listed::default();
    for c in &state.evm {
        listed.evm(c);
    }
    if let Some(s) = &state.solana {
        listed.solana(s);
    }
    let relayer = devnet_relayer(&listed.tokens);
    RawSettings {
        relayer,
        database: RawDatabase {
            url: Some("sqlite://atoll.db?mode=rwc".into()),
        },
        api: RawApi {
            listen: Some(atoll_core::settings::DEFAULT_LISTEN.into()),
            operator_tokens: vec!["env:ATOLL_OPERATOR_TOKEN".into()],
            trusted_proxies: Vec::new(),
            ipv6_prefix: None,
        },
        chains: listed.chains,
        tokens: listed.tokens.into_values().collect(),
        pools: listed.pools,
        factories: listed.factories,
        lending_markets: listed.lending_markets,
        protocol_fees: BTreeMap::new(),
        indexer: atoll_core::settings::RawIndexer {
            // Devnet pools hold far more than this; it is written out so users see the knob.
            min_tvl_usd: Some(atoll_core::settings::DEFAULT_MIN_TVL_USD),
            log_window_blocks: Some(2_000),
            max_batch_blocks: Some(100_000),
            poll_interval_ms: Some(500),
            evm_pool_batch_interval_ms: None,
            solana_sample_interval_ms: Some(5_000),
        },
    }
}

pub fn write_devnet_toml(state: &DevnetState) -> Result<(), DevnetError> {
    let raw = devnet_settings(state);
    let dir = state
        .config_path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    raw.validate(&dir)
        .map_err(|e| DevnetError::Config(format!("generated devnet config is invalid:\n{e}")))?;
    let body = toml::to_string_pretty(&raw).map_err(|e| DevnetError::Config(e.to_string()))?;
    let text = format!(
        "# Atoll config for the local devnet, written by `atoll devnet up`.\n\
         # Keys are the devnet's public test keys, referenced as files next to this one.\n\
         # The EVM pools run Uniswap's V2/V3 bytecode on both chains (30 bps V2 fee), the\n\
         # lending markets Aave v3's.\n\n{body}"
    );
    // Round-trip through the real parser: what we write is what `atoll up` will read.
    Settings::parse(&text, Vec::new(), &dir).map_err(|e| {
        DevnetError::Config(format!("generated devnet config does not parse:\n{e}"))
    })?;
    std::fs::write(&state.config_path, text).map_err(DevnetError::io(&state.config_path))
}
