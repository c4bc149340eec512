//! Incentives on the devnet's Aave v3 market, from `@aave/periphery-v3` 2.5.2 (pinned): a
//! `RewardsController` (its emission manager the deployer, so no `EmissionManager` is needed),
//! wired into every aToken at `initReserves`, and a `PullRewardsTransferStrategy` paying out of
//! the deployer's balance. One emission runs: the chain's native token to USDC suppliers, worth
//! 2 % a year of the seeded USDC depth at the devnet price, for 30 days from deployment, priced
//! by the native token's `MockAggregator`. Read it when a test needs an emission to end.

use alloy::primitives::aliases::U88;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::sol_types::SolValue;
use serde::{Deserialize, Serialize};

use crate::DevnetError;
use crate::aave::{AaveReserve, MarketDeployer};
use crate::contracts::TestToken;
use crate::evm::DeployedToken;
use atoll_adapters::evm::aave_abi::{IAaveRewardsController, RewardsConfigInput};

/// How long the devnet's emission runs.
pub const EMISSION_DAYS: u64 = 30;

/// The market's incentives.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AaveRewards {
    pub controller: Address,
    pub transfer_strategy: Address,
    /// The aToken whose holders earn, the reward token, its amount per second (smallest unit)
    /// and the emission's end (Unix seconds).
    pub a_token: Address,
    pub reward: Address,
    pub emission_per_second: U256,
    pub distribution_end: u64,
}

/// The `RewardsController`, deployed before the reserves so every aToken reports to it.
pub(crate) async fn deploy_controller(d: &MarketDeployer<'_>) -> Result<Address, DevnetError> {
    d.deploy(
        "@aave/periphery-v3/artifacts/contracts/rewards/RewardsController.sol/RewardsController.json",
        &[],
        &d.deployer.abi_encode(),
    )
    .await
}

/// Starts the one emission: native token to USDC suppliers, for [`EMISSION_DAYS`].
pub(crate) async fn start_emission(
    d: &MarketDeployer<'_>,
    controller: Address,
    reserves: &[AaveReserve],
    tokens: &[DeployedToken],
) -> Result<AaveRewards, DevnetError> {
    let step = |s: &str| DevnetError::step(d.plan.name, s);
    let usdc = reserves
        .iter()
        .find(|r| r.symbol == "USDC")
        .ok_or_else(|| step("Aave rewards")("no USDC reserve".into()))?;
    let native = tokens
        .iter()
        .find(|t| t.price_usd > 1)
        .ok_or_else(|| step("Aave rewards")("no native token".into()))?;
    let native_feed = reserves
        .iter()
        .find(|r| r.asset == native.address)
        .map(|r| r.price_feed)
        .ok_or_else(|| step("Aave rewards")("no native reserve".into()))?;
    let strategy = d
        .deploy(
            "@aave/periphery-v3/artifacts/contracts/rewards/transfer-strategies/PullRewardsTransferStrategy.sol/PullRewardsTransferStrategy.json",
            &[],
            &(controller, d.deployer, d.deployer).abi_encode_params(),
        )
        .await?;
    // The strategy pulls rewards from the deployer's balance.
    d.send(
        TestToken::new(native.address, &d.provider)
            .approve(strategy, U256::MAX)
            .into_transaction_request(),
        "approve rewards strategy",
    )
    .await?;
    // 2 % a year of the USDC depth, in native units per second.
    let depth_usd = 5_000_000u128 * u128::from(d.plan.depth_percent) / 100;
    let per_second = depth_usd * 2 / 100 * 10u128.pow(u32::from(native.decimals))
        / u128::from(native.price_usd)
        / 31_536_000;
    let now = d
        .provider
        .get_block(alloy::eips::BlockId::latest())
        .await
        .map_err(|e| step("Aave rewards")(e.to_string()))?
        .map(|b| b.header.timestamp)
        .unwrap_or_default();
    let distribution_end = now + EMISSION_DAYS * 86_400;
    let config = RewardsConfigInput {
        emissionPerSecond: U88::from(per_second),
        totalSupply: U256::ZERO,
        distributionEnd: u32::try_from(distribution_end).unwrap_or(u32::MAX),
        asset: usdc.a_token,
        reward: native.address,
        transferStrategy: strategy,
        rewardOracle: native_feed,
    };
    d.send(
        IAaveRewardsController::new(controller, &d.provider)
            .configureAssets(vec![config])
            .into_transaction_request(),
        "configureAssets",
    )
    .await?;
    Ok(AaveRewards {
        controller,
        transfer_strategy: strategy,
        a_token: usdc.a_token,
        reward: native.address,
        emission_per_second: U256::from(per_second),
        distribution_end,
    })
}
