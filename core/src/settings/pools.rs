//! The `[[pools]]`, `[[factories]]`, `[[lending_markets]]` and `[protocol_fees]` sections: the
//! pools indexed by address, the factories whose pools are discovered, the lending markets
//! whose reserves are read, and fixed protocol fees.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::chains::address;
use super::references::References;
use super::{Problems, defaults};
use crate::{Address, ChainKind, PoolId, PoolKind, Protocol};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    pub chain: String,
    pub protocol: String,
    pub address: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFactory {
    pub chain: String,
    pub protocol: String,
    pub address: String,
    pub start_block: Option<u64>,
}

/// A lending market, named by its `PoolAddressesProvider` (Aave v3): every reserve of the
/// market is indexed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLendingMarket {
    pub chain: String,
    pub protocol: String,
    pub addresses_provider: String,
    pub start_block: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LendingMarketSettings {
    pub chain: String,
    pub protocol: Protocol,
    pub addresses_provider: Address,
    /// The first block whose reserve updates are read (the chain's `start_block` when unset).
    pub start_block: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProtocolFee {
    pub fee_bps: u32,
    pub lp_fee_bps: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolSettings {
    pub id: PoolId,
    pub chain: String,
    pub protocol: Protocol,
    pub address: Address,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FactorySettings {
    pub chain: String,
    pub protocol: Protocol,
    pub address: Address,
    pub start_block: u64,
}

/// `raw` is the `[[pools]]` array at `path` (`pools`). A pool whose protocol or address does
/// not check out is left out; each pool's id (chain, protocol, address) must be unique.
pub(super) fn validate_pools(
    raw: &[RawPool],
    path: &str,
    refs: &References<'_>,
    p: &mut Problems,
) -> Vec<PoolSettings> {
    let mut pools = Vec::new();
    let mut pool_ids = HashSet::new();
    for (i, pool) in raw.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let Some((protocol, address)) =
            located(p, &path, refs, &pool.chain, &pool.protocol, &pool.address)
        else {
            continue;
        };
        if protocol.pool_kind() == PoolKind::Lending {
            p.push(
                format!("{path}.protocol"),
                format!("{protocol} is a lending market: list it under [[lending_markets]]"),
            );
            continue;
        }
        let id = PoolId::new(&pool.chain, protocol, &address);
        if !pool_ids.insert(id.clone()) {
            p.push(format!("{path}.address"), format!("duplicate pool {id}"));
        }
        pools.push(PoolSettings {
            id,
            chain: pool.chain.clone(),
            protocol,
            address,
        });
    }
    pools
}

/// `raw` is the `[[factories]]` array at `path` (`factories`). A factory whose protocol or
/// address does not check out is left out.
pub(super) fn validate_factories(
    raw: &[RawFactory],
    path: &str,
    refs: &References<'_>,
    p: &mut Problems,
) -> Vec<FactorySettings> {
    raw.iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let path = format!("{path}[{i}]");
            let (protocol, address) = located(p, &path, refs, &f.chain, &f.protocol, &f.address)?;
            if protocol.pool_kind() == PoolKind::Lending {
                p.push(
                    format!("{path}.protocol"),
                    format!("{protocol} is a lending market: list it under [[lending_markets]]"),
                );
                return None;
            }
            Some(FactorySettings {
                chain: f.chain.clone(),
                protocol,
                address,
                start_block: f.start_block.unwrap_or(defaults::FACTORY_START_BLOCK),
            })
        })
        .collect()
}

/// `raw` is the `[[lending_markets]]` array at `path`. The protocol must be a lending one,
/// each market listed once.
pub(super) fn validate_lending_markets(
    raw: &[RawLendingMarket],
    path: &str,
    refs: &References<'_>,
    p: &mut Problems,
) -> Vec<LendingMarketSettings> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, m) in raw.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let kind = refs.chain_kind(p, &format!("{path}.chain"), &m.chain);
        let protocol = protocol_for(p, &format!("{path}.protocol"), &m.protocol, kind);
        let addr = address(
            p,
            &format!("{path}.addresses_provider"),
            kind,
            &m.addresses_provider,
        );
        let (Some(protocol), Some(addresses_provider)) = (protocol, addr) else {
            continue;
        };
        if protocol.pool_kind() != PoolKind::Lending {
            p.push(
                format!("{path}.protocol"),
                format!("{protocol} is not a lending market (known: aave_v3)"),
            );
            continue;
        }
        if !seen.insert((m.chain.clone(), addresses_provider)) {
            p.push(
                format!("{path}.addresses_provider"),
                format!(
                    "market {} listed twice on {}",
                    m.addresses_provider, m.chain
                ),
            );
            continue;
        }
        out.push(LendingMarketSettings {
            chain: m.chain.clone(),
            protocol,
            addresses_provider,
            start_block: m.start_block,
        });
    }
    out
}

/// (fee, LP share) in bps per protocol with a fixed fee: its default, or the override in
/// `raw` (the `[protocol_fees]` table at `path`).
pub(super) fn validate_protocol_fees(
    raw: &BTreeMap<String, RawProtocolFee>,
    path: &str,
    p: &mut Problems,
) -> BTreeMap<Protocol, (u32, u32)> {
    let mut protocol_fees: BTreeMap<Protocol, (u32, u32)> = Protocol::ALL
        .into_iter()
        .filter_map(|pr| pr.default_fee_bps().map(|f| (pr, f)))
        .collect();
    for (name, fee) in raw {
        let path = format!("{path}.{name}");
        match name.parse::<Protocol>() {
            Err(e) => p.push(path, e.to_string()),
            Ok(pr) if fee.fee_bps > 10_000 || fee.lp_fee_bps > fee.fee_bps => {
                p.push(
                    path,
                    format!(
                        "need lp_fee_bps <= fee_bps <= 10000 (got {} and {}) for {pr}",
                        fee.lp_fee_bps, fee.fee_bps
                    ),
                );
            }
            Ok(pr) => {
                protocol_fees.insert(pr, (fee.fee_bps, fee.lp_fee_bps));
            }
        }
    }
    protocol_fees
}

/// The chain, protocol (of that chain's kind) and address of a pool or factory at `path`.
fn located(
    p: &mut Problems,
    path: &str,
    refs: &References<'_>,
    chain: &str,
    protocol: &str,
    address_raw: &str,
) -> Option<(Protocol, Address)> {
    let kind = refs.chain_kind(p, &format!("{path}.chain"), chain);
    let protocol = protocol_for(p, &format!("{path}.protocol"), protocol, kind);
    let addr = address(p, &format!("{path}.address"), kind, address_raw);
    Some((protocol?, addr?))
}

fn protocol_for(
    p: &mut Problems,
    path: &str,
    raw: &str,
    chain_kind: Option<ChainKind>,
) -> Option<Protocol> {
    match raw.parse::<Protocol>() {
        Err(e) => {
            p.push(path, e.to_string());
            None
        }
        Ok(pr) => match chain_kind {
            Some(k) if k != pr.chain_kind() => {
                p.push(
                    path,
                    format!("{pr} runs on {} chains, not {k}", pr.chain_kind()),
                );
                None
            }
            _ => Some(pr),
        },
    }
}
