//! A Compound v3 market on each EVM devnet chain, on the test double `CometDouble`
//! (`contracts/src/CometDouble.sol`: Comet's bytecode is in no registry reachable here, so the
//! double reproduces Comet's rate curves, accrual, totals and events; it is not Comet). USDC is
//! the base asset, priced by the Aave market's USDC feed, with cUSDCv3's rate curves. Its
//! incentive is the chain's native token, paid through a `CometRewardsDouble` funded for
//! [`REWARD_DAYS`], at a speed worth 2 % a year of the seeded depth, × 1.25 (the rewards
//! contract's multiplier); the native token is listed
//! as the Comet's one asset so its feed prices the reward, as COMP's does on mainnet.
//!
//! Seeding: the deployer supplies the depth, the trader borrows 60 % of it (the double does not
//! check collateral). [`traffic`] then supplies, withdraws, borrows and repays. Read this when
//! a Compound test fails at deploy time, or to see which account holds what.

use alloy::primitives::{Address, U256};
use alloy::providers::DynProvider;
use alloy::rpc::types::TransactionRequest;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::DevnetError;
use crate::aave::{AaveMarket, LendingAction, LendingRecord};
use crate::contracts::{CometDouble, CometRewardsDouble, TestToken};
use crate::evm::{DeployedToken, EvmChainPlan, EvmDeployment, Role, provider_for, send};
use crate::state::DevnetState;

/// How long the rewards contract's balance pays the emission at its speed.
pub const REWARD_DAYS: u64 = 60;

/// The supply the devnet seeds, in USD before the chain's depth percentage.
const DEPTH_USD: u128 = 5_000_000;

/// The devnet's Compound v3 market on one chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CometMarket {
    pub comet: Address,
    pub rewards: Address,
    pub base_token: Address,
    pub base_symbol: String,
    /// The incentive's token and speed (`baseTrackingSupplySpeed`, 1e15-scaled tokens/s).
    pub reward_token: Address,
    pub tracking_supply_speed: u64,
    /// The rewards contract's multiplier (1e18 = ×1).
    pub reward_multiplier: u128,
}

/// The devnet's reward multiplier: ×1.25, so the multiplier is read, not assumed to be 1.
const REWARD_MULTIPLIER: u128 = 1_250_000_000_000_000_000;

const YEAR: f64 = 31_536_000.0;

/// Per-year fractions as Comet's configuration takes them (1e18 = 100 %).
fn factor(v: f64) -> u64 {
    (v * 1e18).round() as u64
}

fn whole(units: u128, decimals: u8) -> U256 {
    U256::from(units) * U256::from(10u8).pow(U256::from(decimals))
}

/// Deploys, configures and seeds the chain's Comet: USDC base, cUSDCv3's curves.
pub async fn deploy_market(
    plan: &EvmChainPlan,
    rpc_url: &str,
    tokens: &[DeployedToken],
    aave: &AaveMarket,
) -> Result<CometMarket, DevnetError> {
    let chain = plan.name;
    let step = |s: &str| DevnetError::step(chain, s);
    let find = |symbol: &str| tokens.iter().find(|t| t.symbol == symbol);
    let usdc = find("USDC").ok_or_else(|| step("Comet")("no USDC".into()))?;
    let native = find(plan.native_symbol).ok_or_else(|| step("Comet")("no native".into()))?;
    let feed = |t: &DeployedToken| {
        aave.reserves
            .iter()
            .find(|r| r.asset == t.address)
            .map(|r| r.price_feed)
            .ok_or_else(|| step("Comet")(format!("no price feed for {}", t.symbol)))
    };
    let depth_usd = DEPTH_USD * u128::from(plan.depth_percent) / 100;
    // 2 % a year of the depth (2.5 % with the multiplier), native tokens a second, 1e15-scaled.
    let speed = (depth_usd as f64 * 0.02 / native.price_usd as f64 / YEAR * 1e15) as u64;
    let p = provider_for(rpc_url, Role::Deployer)?;
    let config = CometDouble::Configuration {
        baseToken: usdc.address,
        baseTokenPriceFeed: feed(usdc)?,
        supplyKink: factor(0.9),
        supplyPerYearInterestRateSlopeLow: factor(0.059),
        supplyPerYearInterestRateSlopeHigh: factor(2.9),
        supplyPerYearInterestRateBase: 0,
        borrowKink: factor(0.9),
        borrowPerYearInterestRateSlopeLow: factor(0.061),
        borrowPerYearInterestRateSlopeHigh: factor(3.2),
        borrowPerYearInterestRateBase: factor(0.015),
        baseTrackingSupplySpeed: speed,
        baseTrackingBorrowSpeed: speed / 2,
        baseMinForRewards: whole(1_000, usdc.decimals).to(),
        baseBorrowMin: whole(1, usdc.decimals).to(),
    };
    let code = CometDouble::deploy_builder(&p, config).calldata().clone();
    let comet = deploy(&p, code, chain, "deploy CometDouble").await?;
    let rewards_code = CometRewardsDouble::deploy_builder(&p).calldata().clone();
    let rewards = deploy(&p, rewards_code, chain, "deploy CometRewardsDouble").await?;
    let c = CometDouble::new(comet, &p);
    let r = CometRewardsDouble::new(rewards, &p);
    let reward_units = speed as f64 / 1e15 * 1.25 * (REWARD_DAYS * 86_400) as f64;
    for (tx, what) in [
        (
            c.addAsset(native.address, feed(native)?)
                .into_transaction_request(),
            "Comet asset",
        ),
        (
            r.setRewardConfigWithMultiplier(comet, native.address, U256::from(REWARD_MULTIPLIER))
                .into_transaction_request(),
            "Comet reward config",
        ),
        (
            TestToken::new(native.address, &p)
                .mint(rewards, whole(reward_units.ceil() as u128, native.decimals))
                .into_transaction_request(),
            "fund Comet rewards",
        ),
    ] {
        send(&p, tx, chain, what).await?;
    }
    seed(rpc_url, chain, comet, usdc, depth_usd).await?;
    Ok(CometMarket {
        comet,
        rewards,
        base_token: usdc.address,
        base_symbol: usdc.symbol.clone(),
        reward_token: native.address,
        tracking_supply_speed: speed,
        reward_multiplier: REWARD_MULTIPLIER,
    })
}

async fn deploy(
    p: &DynProvider,
    code: alloy::primitives::Bytes,
    chain: &str,
    step: &str,
) -> Result<Address, DevnetError> {
    use alloy::network::TransactionBuilder;
    let r = send(
        p,
        TransactionRequest::default().with_deploy_code(code),
        chain,
        step,
    )
    .await?;
    r.contract_address
        .ok_or_else(|| DevnetError::step(chain, step)("no contract address in receipt".into()))
}

/// Every role approves the Comet; the deployer supplies the depth; the trader borrows 60 %.
async fn seed(
    rpc_url: &str,
    chain: &str,
    comet: Address,
    usdc: &DeployedToken,
    depth_usd: u128,
) -> Result<(), DevnetError> {
    for role in [Role::Deployer, Role::Trader, Role::User] {
        let p = provider_for(rpc_url, role)?;
        let tx = TestToken::new(usdc.address, &p)
            .approve(comet, U256::MAX)
            .into_transaction_request();
        send(&p, tx, chain, "approve Comet").await?;
    }
    let p = provider_for(rpc_url, Role::Deployer)?;
    let tx = CometDouble::new(comet, &p)
        .supply(usdc.address, whole(depth_usd, usdc.decimals))
        .into_transaction_request();
    send(&p, tx, chain, "Comet supply depth").await?;
    let p = provider_for(rpc_url, Role::Trader)?;
    let tx = CometDouble::new(comet, &p)
        .withdraw(usdc.address, whole(depth_usd * 60 / 100, usdc.decimals))
        .into_transaction_request();
    send(&p, tx, chain, "Comet borrow").await?;
    Ok(())
}

/// `actions` deterministic actions over the chains' Comets: the user supplies and withdraws
/// (never more than it supplied here), the trader borrows and repays (never more than it
/// borrowed here), each 0.1–1 % of the seeded depth. Same seed, same actions.
pub async fn traffic(
    state: &DevnetState,
    actions: u32,
    seed: u64,
) -> Result<Vec<LendingRecord>, DevnetError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let markets: Vec<(&EvmDeployment, &CometMarket)> = state
        .evm
        .iter()
        .filter_map(|c| c.comet.as_ref().map(|m| (c, m)))
        .collect();
    if markets.is_empty() {
        return Ok(Vec::new());
    }
    // Per chain: what traffic supplied and borrowed, so withdraws and repays never exceed it.
    let mut held = vec![(U256::ZERO, U256::ZERO); markets.len()];
    let mut records = Vec::new();
    for _ in 0..actions {
        let c = rng.random_range(0..markets.len());
        let (chain, market) = markets[c];
        let Some(token) = chain.tokens.iter().find(|t| t.address == market.base_token) else {
            continue;
        };
        let bps = rng.random_range(10u128..=100);
        let amount = whole(DEPTH_USD * bps / 10_000, token.decimals).max(U256::from(1u8));
        let entry = &mut held[c];
        let action = LendingAction::pick(&mut rng, *entry, amount);
        let mut amount = amount;
        // Comet has no borrow or repay call: a borrow is a withdrawal past a balance, a repay
        // a supply while owing. The user only supplies, the trader only owes.
        let role = match action {
            LendingAction::Supply | LendingAction::Withdraw => Role::User,
            LendingAction::Borrow | LendingAction::Repay => Role::Trader,
        };
        let p = provider_for(&chain.rpc_url, role)?;
        let comet = CometDouble::new(market.comet, &p);
        if action == LendingAction::Withdraw {
            // Comet rounds a supply's principal down: the balance can be a unit under what was
            // supplied, and withdrawing past it is a borrow (refused under `baseBorrowMin`).
            let fail = DevnetError::step(&chain.name, "Comet balance");
            let user = Role::User.signer()?.address();
            let balance = comet
                .balanceOf(user)
                .call()
                .await
                .map_err(|e| fail(e.to_string()))?;
            amount = amount.min(balance);
        }
        let tx = match action {
            LendingAction::Supply | LendingAction::Repay => comet
                .supply(token.address, amount)
                .into_transaction_request(),
            LendingAction::Withdraw | LendingAction::Borrow => comet
                .withdraw(token.address, amount)
                .into_transaction_request(),
        };
        send(&p, tx, &chain.name, "Comet traffic").await?;
        action.book(entry, amount);
        records.push(LendingRecord {
            chain: chain.name.clone(),
            symbol: market.base_symbol.clone(),
            action,
            amount,
        });
    }
    Ok(records)
}

/// Sets the chain's supply tracking speed to 0: the emission ends, as a governance upgrade
/// would end it on mainnet.
pub async fn end_emission(chain: &EvmDeployment) -> Result<(), DevnetError> {
    let Some(market) = &chain.comet else {
        return Ok(());
    };
    let p = provider_for(&chain.rpc_url, Role::Deployer)?;
    let tx = CometDouble::new(market.comet, &p)
        .setBaseTrackingSupplySpeed(0)
        .into_transaction_request();
    send(&p, tx, &chain.name, "end Comet emission").await?;
    Ok(())
}
