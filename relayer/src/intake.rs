//! Intake: what a deposit must satisfy before anything is signed for it, and what it becomes.
//! The source token must be a configured token with a route to the destination chain; the
//! amount within the route's bounds and exact in the destination's decimals (a remainder that
//! cannot be represented there is refused, never rounded away); the fee (bps, rounded down,
//! plus the fixed part) taken in the coarser of the two precisions, so the amount released is
//! exact; the recipient valid for the destination chain. A refusal names what was wrong; the
//! transfer becomes `Failed` with it and nothing is sent.

use atoll_core::settings::{BridgeRoute, ChainSettings, Settings, TokenDeployment, TokenSettings};
use atoll_core::{Address, Amount, ChainId, ChainKind, U256};

/// A deposit as recorded on its source chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    pub source_chain_id: ChainId,
    /// The token as its source chain names it (EVM address or Solana mint).
    pub source_token: String,
    /// In the source token's smallest unit.
    pub amount_in: U256,
    pub dest_chain_id: ChainId,
    pub recipient: String,
}

/// What a valid deposit releases, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasePlan {
    pub source_chain: String,
    pub dest_chain: String,
    pub dest_kind: ChainKind,
    pub token: String,
    pub dest_token: Address,
    pub recipient: Address,
    /// In the destination token's decimals.
    pub amount_out: Amount,
    /// In the source token's decimals.
    pub fee: Amount,
}

/// Why a deposit is not released. The text is what the operator reads on the transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

fn refuse<T>(reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal(reason.into()))
}

/// The route a deposit takes: its chains, its token on each, and the route's terms.
struct Found<'s> {
    source: &'s ChainSettings,
    dest: &'s ChainSettings,
    token: &'s TokenSettings,
    src_deployment: &'s TokenDeployment,
    dst_deployment: &'s TokenDeployment,
    route: &'s BridgeRoute,
}

/// Checks `d` against the configuration and computes its release.
pub fn plan_release(settings: &Settings, d: &Deposit) -> Result<ReleasePlan, Refusal> {
    let Found {
        source,
        dest,
        token,
        src_deployment,
        dst_deployment,
        route,
    } = find_route(settings, d)?;
    let recipient = recipient_on(dest, d)?;
    let (src_dec, dst_dec) = (src_deployment.decimals, dst_deployment.decimals);
    let amount = Amount::new(d.amount_in, src_dec);
    check_route_bounds(route, amount, &token.symbol)?;
    let (net, fee) = net_and_fee(route, amount, dst_dec, &token.symbol, &dest.name)?;
    check_destination_pays(dest, dst_deployment, &net, &token.symbol)?;
    Ok(ReleasePlan {
        source_chain: source.name.clone(),
        dest_chain: dest.name.clone(),
        dest_kind: dest.kind,
        token: token.symbol.clone(),
        dest_token: dst_deployment.address,
        recipient,
        amount_out: net,
        fee,
    })
}

/// The configured chains, token and route `d` goes by; refused when any is missing, or when
/// it would go back to its own chain.
fn find_route<'s>(settings: &'s Settings, d: &Deposit) -> Result<Found<'s>, Refusal> {
    let Some(source) = settings
        .chains
        .iter()
        .find(|c| c.chain_id == d.source_chain_id)
    else {
        return refuse(format!(
            "source chain {} is not configured",
            d.source_chain_id.0
        ));
    };
    let Some(dest) = settings
        .chains
        .iter()
        .find(|c| c.chain_id == d.dest_chain_id)
    else {
        return refuse(format!(
            "destination chain {} is not configured",
            d.dest_chain_id.0
        ));
    };
    if source.name == dest.name {
        return refuse(format!("destination {} is the source chain", dest.name));
    }
    let source_token = Address::parse(source.kind, &d.source_token)
        .map_err(|e| Refusal(format!("source token: {e}")))?;
    let Some((token, src_deployment)) = settings.tokens.iter().find_map(|t| {
        t.deployments
            .iter()
            .find(|dep| dep.chain == source.name && dep.address == source_token)
            .map(|dep| (t, dep))
    }) else {
        return refuse(format!(
            "token {} on {} is not a configured token",
            d.source_token, source.name
        ));
    };
    let Some(route) = settings
        .relayer
        .route(&source.name, &dest.name, &token.symbol)
    else {
        return refuse(format!(
            "no route {} → {} for {}",
            source.name, dest.name, token.symbol
        ));
    };
    let Some(dst_deployment) = token.deployments.iter().find(|dep| dep.chain == dest.name) else {
        return refuse(format!("{} is not deployed on {}", token.symbol, dest.name));
    };
    Ok(Found {
        source,
        dest,
        token,
        src_deployment,
        dst_deployment,
        route,
    })
}

/// The recipient of `d`, valid on `dest` and not the zero address.
fn recipient_on(dest: &ChainSettings, d: &Deposit) -> Result<Address, Refusal> {
    let recipient = Address::parse(dest.kind, &d.recipient).map_err(|e| {
        Refusal(format!(
            "recipient {:?} for {}: {e}",
            d.recipient, dest.name
        ))
    })?;
    if recipient.to_bytes32() == [0u8; 32] {
        return refuse(format!("recipient for {} is the zero address", dest.name));
    }
    Ok(recipient)
}

/// `amount` (in the source token's decimals) within the route's minimum and maximum.
fn check_route_bounds(route: &BridgeRoute, amount: Amount, symbol: &str) -> Result<(), Refusal> {
    let bound = |s: &str| Amount::parse_units(s, amount.decimals);
    if let Some(min) = route.min_amount.as_deref() {
        let min = bound(min).map_err(|e| Refusal(format!("route min_amount: {e}")))?;
        if amount.raw < min.raw {
            return refuse(format!(
                "amount {amount} {symbol} is below the route's minimum {min}"
            ));
        }
    }
    if let Some(max) = route.max_amount.as_deref() {
        let max = bound(max).map_err(|e| Refusal(format!("route max_amount: {e}")))?;
        if amount.raw > max.raw {
            return refuse(format!(
                "amount {amount} {symbol} is above the route's maximum {max}"
            ));
        }
    }
    Ok(())
}

/// What `amount` releases on `dest_chain` (in its `dst_dec` decimals) and the route's fee on
/// it (in the source token's decimals): both worked out exactly in the coarser precision.
fn net_and_fee(
    route: &BridgeRoute,
    amount: Amount,
    dst_dec: u8,
    symbol: &str,
    dest_chain: &str,
) -> Result<(Amount, Amount), Refusal> {
    let src_dec = amount.decimals;
    // Work in the coarser precision: the deposit must be exact there, and so is the rest.
    let coarse = src_dec.min(dst_dec);
    let exact = amount.convert(coarse).map_err(|e| {
        Refusal(format!(
            "amount {amount} {symbol} cannot be released exactly on {dest_chain} ({dst_dec} decimals): {e}"
        ))
    })?;
    let fixed = Amount::parse_units(&route.fee_fixed, coarse)
        .map_err(|e| Refusal(format!("route fee_fixed: {e}")))?;
    let fee = exact
        .mul_bps_floor(route.fee_bps)
        .and_then(|f| f.checked_add(&fixed))
        .map_err(|e| Refusal(format!("fee: {e}")))?;
    if fee.raw >= exact.raw {
        return refuse(format!(
            "amount {amount} {symbol} does not cover the fee {fee}"
        ));
    }
    let net = exact
        .checked_sub(&fee)
        .and_then(|n| n.convert(dst_dec))
        .map_err(|e| Refusal(format!("amount out: {e}")))?;
    let fee = fee
        .convert(src_dec)
        .map_err(|e| Refusal(format!("fee: {e}")))?;
    Ok((net, fee))
}

/// Whether `dest` can pay `net` of the token deployed there as `dst_deployment`.
fn check_destination_pays(
    dest: &ChainSettings,
    dst_deployment: &TokenDeployment,
    net: &Amount,
    symbol: &str,
) -> Result<(), Refusal> {
    // What the destination's kind of chain can pay: pure rules of the kind (core's
    // `ChainKind`), no chain asked.
    if dest.kind.vault_per_token() && dst_deployment.vault.is_none() {
        return refuse(format!(
            "{symbol} on {} has no vault to pay from",
            dest.name
        ));
    }
    // An SPL token account holds a u64: a larger release could never be paid.
    if let Some(max) = dest.kind.token_account_max()
        && net.raw > U256::from(max)
    {
        return refuse(format!(
            "amount out {net} {symbol} exceeds what a token account on {} can hold (u64)",
            dest.name
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:8545"]

[[chains]]
name = "solana"
kind = "solana"
chain_id = 1151111081099710
rpc = ["http://127.0.0.1:8899"]

[[tokens]]
symbol = "WETH"
on = [
  { chain = "ethereum", address = "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals = 18 },
  { chain = "solana", address = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", decimals = 8, vault = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc" },
]

[[relayer.routes]]
from = "ethereum"
to = "solana"
token = "WETH"
fee_bps = 5
fee_fixed = "0.0001"
min_amount = "0.01"
max_amount = "100"

[[relayer.routes]]
from = "solana"
to = "ethereum"
token = "WETH"
fee_bps = 0
"#;

    const WETH_ETH: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    const WETH_SOL: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
    const SOL_USER: &str = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc";

    fn settings() -> Settings {
        Settings::parse(
            CONFIG,
            Vec::<(String, String)>::new(),
            std::path::Path::new("/tmp"),
        )
        .unwrap()
    }

    fn eth_to_sol(amount: &str) -> Deposit {
        Deposit {
            source_chain_id: ChainId::ETHEREUM,
            source_token: WETH_ETH.into(),
            amount_in: Amount::parse_units(amount, 18).unwrap().raw,
            dest_chain_id: ChainId::SOLANA,
            recipient: SOL_USER.into(),
        }
    }

    #[test]
    fn fee_and_decimals_are_exact() {
        let s = settings();
        // 1 WETH: 5 bps = 0.0005, plus 0.0001 fixed; 0.9994 WETH arrives with 8 decimals.
        let plan = plan_release(&s, &eth_to_sol("1")).unwrap();
        assert_eq!(plan.amount_out, Amount::parse_units("0.9994", 8).unwrap());
        assert_eq!(plan.fee, Amount::parse_units("0.0006", 18).unwrap());
        assert_eq!(plan.dest_chain, "solana");
        assert_eq!(plan.recipient.to_string(), SOL_USER);
        // The bps fee is rounded down at the coarser precision (8 decimals).
        let plan = plan_release(&s, &eth_to_sol("0.01234567")).unwrap();
        // 0.01234567 × 5 bps = 0.000006172835 → 0.00000617; + 0.0001.
        assert_eq!(plan.fee, Amount::parse_units("0.00010617", 18).unwrap());
        assert_eq!(
            plan.amount_out,
            Amount::parse_units("0.0122395", 8).unwrap()
        );
        // Back: 8 → 18 decimals scales up exactly; no fee on that route.
        let back = Deposit {
            source_chain_id: ChainId::SOLANA,
            source_token: WETH_SOL.into(),
            amount_in: U256::from(123_456_789u64),
            dest_chain_id: ChainId::ETHEREUM,
            recipient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into(),
        };
        let plan = plan_release(&s, &back).unwrap();
        assert_eq!(
            plan.amount_out,
            Amount::parse_units("1.23456789", 18).unwrap()
        );
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let s = settings();
        let reason = |d: &Deposit| plan_release(&s, d).unwrap_err().0;
        // A remainder below Solana's 8 decimals cannot be released: refused, not rounded.
        assert!(
            reason(&eth_to_sol("1.000000001")).contains("cannot be released exactly on solana"),
            "{}",
            reason(&eth_to_sol("1.000000001"))
        );
        assert!(reason(&eth_to_sol("0.001")).contains("below the route's minimum 0.01"));
        assert!(reason(&eth_to_sol("101")).contains("above the route's maximum 100"));
        let mut d = eth_to_sol("1");
        d.recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into();
        assert!(reason(&d).contains("recipient \"0x7099"), "{}", reason(&d));
        // A bytes32 recipient that is not an EVM address (upper bytes set) is never truncated.
        let to_eth = Deposit {
            source_chain_id: ChainId::SOLANA,
            source_token: WETH_SOL.into(),
            amount_in: U256::from(100_000_000u64),
            dest_chain_id: ChainId::ETHEREUM,
            recipient: format!("0x{}", "ab".repeat(32)),
        };
        assert!(
            reason(&to_eth).contains("recipient \"0xabab"),
            "{}",
            reason(&to_eth)
        );
        let mut d = eth_to_sol("1");
        d.dest_chain_id = ChainId(137);
        assert_eq!(reason(&d), "destination chain 137 is not configured");
        let mut d = eth_to_sol("1");
        d.source_token = "0x0000000000000000000000000000000000000001".into();
        assert!(reason(&d).contains("is not a configured token"));
        let mut d = eth_to_sol("1");
        d.dest_chain_id = ChainId::ETHEREUM;
        assert_eq!(reason(&d), "destination ethereum is the source chain");
    }

    #[test]
    fn solana_gets_nothing_it_cannot_carry() {
        let mut s = settings();
        s.relayer.routes[0].max_amount = None;
        // 2 × (2^64 − 1) units of 8 decimals, in wei: less the fee, still more than a u64.
        let d = Deposit {
            amount_in: U256::from(u64::MAX) * U256::from(20_000_000_000u64),
            ..eth_to_sol("1")
        };
        let r = plan_release(&s, &d).unwrap_err().0;
        assert!(
            r.contains("exceeds what a token account on solana can hold"),
            "{r}"
        );
        // Without the token's vault on Solana nothing can pay it.
        let weth = s.tokens.iter_mut().find(|t| t.symbol == "WETH").unwrap();
        weth.deployments.iter_mut().for_each(|d| d.vault = None);
        let r = plan_release(&s, &eth_to_sol("1")).unwrap_err().0;
        assert_eq!(r, "WETH on solana has no vault to pay from");
    }

    #[test]
    fn the_first_check_that_fails_is_the_one_named() {
        let s = settings();
        let reason = |d: &Deposit| plan_release(&s, d).unwrap_err().0;
        // The recipient is checked before the amount.
        let mut d = eth_to_sol("0.001");
        d.recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into();
        assert!(
            reason(&d).starts_with("recipient \"0x7099"),
            "{}",
            reason(&d)
        );
        // The route's bounds before the amount's exactness on the destination.
        assert!(
            reason(&eth_to_sol("100.000000001")).contains("above the route's maximum 100"),
            "{}",
            reason(&eth_to_sol("100.000000001"))
        );
        // The fee before what the destination can pay.
        let mut s = settings();
        s.relayer.routes[0].min_amount = None;
        let weth = s.tokens.iter_mut().find(|t| t.symbol == "WETH").unwrap();
        weth.deployments.iter_mut().for_each(|d| d.vault = None);
        let r = plan_release(&s, &eth_to_sol("0.0001")).unwrap_err().0;
        assert!(r.contains("does not cover the fee"), "{r}");
        // A token with no route, then one with no deployment on the destination.
        let mut s = settings();
        s.relayer.routes.remove(0);
        let r = plan_release(&s, &eth_to_sol("1")).unwrap_err().0;
        assert_eq!(r, "no route ethereum → solana for WETH");
        let mut s = settings();
        let weth = s.tokens.iter_mut().find(|t| t.symbol == "WETH").unwrap();
        weth.deployments.retain(|d| d.chain != "solana");
        let r = plan_release(&s, &eth_to_sol("1")).unwrap_err().0;
        assert_eq!(r, "WETH is not deployed on solana");
    }

    #[test]
    fn a_deposit_must_cover_its_fee() {
        let mut s = settings();
        s.relayer.routes[0].min_amount = None;
        let r = plan_release(&s, &eth_to_sol("0.0001")).unwrap_err().0;
        assert!(r.contains("does not cover the fee"), "{r}");
    }
}
