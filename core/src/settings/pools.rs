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

/// A lending market: an Aave v3 market named by its `PoolAddressesProvider` (every reserve of
/// the market is indexed), or a Compound v3 market named by its Comet (its base asset is the
/// one reserve), with the `CometRewards` contract that pays its incentives, if any.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLendingMarket {
    pub chain: String,
    pub protocol: String,
    /// Aave v3 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses_provider: Option<String>,
    /// Compound v3 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comet: Option<String>,
    /// Compound v3 only: the `CometRewards` contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewards: Option<String>,
    pub start_block: Option<u64>,
}

/// Where a lending market is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LendingMarketEntry {
    /// Aave v3: the market's `PoolAddressesProvider`.
    Aave { addresses_provider: Address },
    /// Compound v3: the market's Comet (proxy) and its `CometRewards`, if it pays incentives.
    Comet {
        comet: Address,
        rewards: Option<Address>,
    },
}

impl LendingMarketEntry {
    /// The address that names the market (the provider, or the Comet).
    pub fn address(&self) -> &Address {
        match self {
            LendingMarketEntry::Aave { addresses_provider } => addresses_provider,
            LendingMarketEntry::Comet { comet, .. } => comet,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LendingMarketSettings {
    pub chain: String,
    pub protocol: Protocol,
    pub entry: LendingMarketEntry,
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

/// `raw` is the `[[lending_markets]]` array at `path`. The protocol must be a lending one, with
/// the address field it is named by (and none of the other's), each market listed once.
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
        let Some(protocol) = protocol_for(p, &format!("{path}.protocol"), &m.protocol, kind) else {
            continue;
        };
        if protocol.pool_kind() != PoolKind::Lending {
            p.push(
                format!("{path}.protocol"),
                format!("{protocol} is not a lending market (known: aave_v3, compound_v3)"),
            );
            continue;
        }
        let Some(entry) = market_entry(m, protocol, &path, kind, p) else {
            continue;
        };
        if !seen.insert((m.chain.clone(), *entry.address())) {
            p.push(
                path.clone(),
                format!("market {} listed twice on {}", entry.address(), m.chain),
            );
            continue;
        }
        out.push(LendingMarketSettings {
            chain: m.chain.clone(),
            protocol,
            entry,
            start_block: m.start_block,
        });
    }
    out
}

/// The market's address fields for `protocol`: Aave v3 takes `addresses_provider`, Compound
/// v3 `comet` and optionally `rewards`; a field of the other protocol is an error.
fn market_entry(
    m: &RawLendingMarket,
    protocol: Protocol,
    path: &str,
    kind: Option<ChainKind>,
    p: &mut Problems,
) -> Option<LendingMarketEntry> {
    let (wanted, others): (&str, &[(&str, &Option<String>)]) = match protocol {
        Protocol::CompoundV3 => ("comet", &[("addresses_provider", &m.addresses_provider)]),
        _ => (
            "addresses_provider",
            &[("comet", &m.comet), ("rewards", &m.rewards)],
        ),
    };
    let mut ok = true;
    for (field, value) in others {
        if value.is_some() {
            p.push(
                format!("{path}.{field}"),
                format!("not a field of {protocol} markets"),
            );
            ok = false;
        }
    }
    let named = if protocol == Protocol::CompoundV3 {
        &m.comet
    } else {
        &m.addresses_provider
    };
    let Some(named) = named else {
        p.push(
            format!("{path}.{wanted}"),
            format!("missing: {protocol} markets are named by their `{wanted}`"),
        );
        return None;
    };
    let at = address(p, &format!("{path}.{wanted}"), kind, named);
    let rewards = match &m.rewards {
        Some(r) if protocol == Protocol::CompoundV3 => {
            let a = address(p, &format!("{path}.rewards"), kind, r);
            ok &= a.is_some();
            a
        }
        _ => None,
    };
    // The zero address answers every call with nothing; the rewards contract is not the Comet.
    for (field, a) in [(wanted, at.as_ref()), ("rewards", rewards.as_ref())] {
        if a.is_some_and(|a| matches!(a, Address::Evm(bytes) if *bytes == [0u8; 20])) {
            p.push(format!("{path}.{field}"), "must not be the zero address");
            ok = false;
        }
    }
    if rewards.is_some() && rewards == at {
        p.push(
            format!("{path}.rewards"),
            "is the Comet itself: name its CometRewards",
        );
        ok = false;
    }
    let at = at.filter(|_| ok)?;
    Some(match protocol {
        Protocol::CompoundV3 => LendingMarketEntry::Comet { comet: at, rewards },
        _ => LendingMarketEntry::Aave {
            addresses_provider: at,
        },
    })
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
