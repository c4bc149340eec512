//! Reads of an Aave v3 market at one block, in JSON-RPC batches ([`EvmChain::batch_calls`]):
//! the Pool and oracle behind a `PoolAddressesProvider`, the reserves' data (indexes, rates,
//! configuration word, token addresses, strategy), their totals (aToken supply, the underlying
//! the reserve holds, variable and stable debt) and their strategies' curves, and the oracle's
//! prices. All values of one call are from the same block, so they agree with each other.
//!
//! Read it when a lending reserve's figures look wrong: what is read, and from where.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use atoll_core::lending::{RAY, RateCurve, ReserveConfig, ReserveTotals};

use super::EvmChain;
use super::aave_abi::{
    IAaveIncentivized, IAaveOracle, IAavePool, IAavePoolAddressesProvider, IAaveRateStrategy,
    IAaveRewardsController, IAaveScaledToken, IAaveStableDebtToken, IPriceFeed,
};
use super::abi::IERC20;
use crate::AdapterError;

/// A market's contracts, from its addresses provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AaveMarketAddresses {
    pub provider: Address,
    pub pool: Address,
    pub oracle: Address,
}

/// One reserve of a market at one block. Rates and indexes are rays, amounts the token's
/// smallest unit, the price the oracle's (USD with `price_unit` = 1e8 on Aave v3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AaveReserveState {
    pub asset: Address,
    pub a_token: Address,
    pub stable_debt_token: Address,
    pub variable_debt_token: Address,
    pub strategy: Address,
    pub config: [u8; 32],
    pub liquidity_index: U256,
    pub variable_borrow_index: U256,
    pub liquidity_rate: U256,
    pub variable_borrow_rate: U256,
    pub stable_borrow_rate: U256,
    pub last_update: u64,
    /// Scaled aToken amount owed to the treasury, minted at the next accrual: counts against
    /// the supply cap.
    pub accrued_to_treasury: U256,
    /// aToken supply: what suppliers hold, interest included.
    pub supplied: U256,
    /// The underlying the aToken holds: available liquidity.
    pub available: U256,
    pub variable_debt: U256,
    pub stable_debt: U256,
    pub average_stable_rate: U256,
    /// Income per unit supplied since the reserve began, now (`getReserveNormalizedIncome`).
    pub normalized_income: U256,
    pub optimal_usage: U256,
    pub base_rate: U256,
    pub slope1: U256,
    pub slope2: U256,
    pub price: U256,
    pub price_unit: U256,
    /// What the reserve's `RewardsController` pays its suppliers (aToken holders).
    pub rewards: Vec<RewardEmission>,
}

/// One incentive a reserve's suppliers earn: `emission_per_second` of `reward` (its smallest
/// unit) shared by all aToken holders until `distribution_end` (Unix seconds), priced by the
/// controller's reward oracle (`price`, USD with 8 decimals; 0 when it has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardEmission {
    pub reward: Address,
    pub decimals: u8,
    pub emission_per_second: U256,
    pub distribution_end: u64,
    pub price: U256,
}

impl RewardEmission {
    /// USD paid per year while the emission lasts (`None` without a price).
    pub fn usd_per_year(&self) -> Option<f64> {
        (!self.price.is_zero()).then(|| {
            f64::from(self.emission_per_second) * atoll_core::lending::SECONDS_PER_YEAR
                / 10f64.powi(i32::from(self.decimals))
                * f64::from(self.price)
                / 1e8
        })
    }
}

/// A ray as a fraction.
pub fn ray(v: U256) -> f64 {
    f64::from(v) / RAY
}

impl AaveReserveState {
    pub fn config(&self) -> ReserveConfig {
        ReserveConfig::decode(&self.config)
    }

    pub fn curve(&self) -> RateCurve {
        RateCurve {
            optimal_utilization: ray(self.optimal_usage),
            base_rate: ray(self.base_rate),
            slope1: ray(self.slope1),
            slope2: ray(self.slope2),
        }
    }

    /// The totals the strategy's utilisation is computed from, in tokens.
    pub fn totals(&self) -> ReserveTotals {
        let unit = 10f64.powi(i32::from(self.config().decimals));
        ReserveTotals {
            available: f64::from(self.available) / unit,
            variable_debt: f64::from(self.variable_debt) / unit,
            stable_debt: f64::from(self.stable_debt) / unit,
            average_stable_rate: ray(self.average_stable_rate),
        }
    }

    /// The oracle's price in USD (`None` when the oracle has no unit).
    pub fn price_usd(&self) -> Option<f64> {
        (!self.price_unit.is_zero()).then(|| f64::from(self.price) / f64::from(self.price_unit))
    }
}

pub(super) fn rejected(chain: &EvmChain, what: String) -> AdapterError {
    AdapterError::RpcRejected {
        chain: chain.name.clone(),
        method: "eth_call",
        endpoint: String::new(),
        reason: what,
    }
}

/// Decodes answer `i` with `C`'s return type, naming `what` when it does not decode.
pub(super) fn decode<C: SolCall>(
    chain: &EvmChain,
    answers: &[Option<Bytes>],
    i: usize,
    what: &str,
) -> Result<C::Return, AdapterError> {
    answers
        .get(i)
        .and_then(|a| a.as_ref())
        .and_then(|bytes| C::abi_decode_returns(bytes).ok())
        .ok_or_else(|| rejected(chain, format!("{what} did not answer or decode")))
}

impl EvmChain {
    /// The Pool and price oracle a `PoolAddressesProvider` names at `block`.
    pub async fn aave_market(
        &self,
        provider: Address,
        block: u64,
    ) -> Result<AaveMarketAddresses, AdapterError> {
        let calls = [
            (
                provider,
                IAavePoolAddressesProvider::getPoolCall {}
                    .abi_encode()
                    .into(),
            ),
            (
                provider,
                IAavePoolAddressesProvider::getPriceOracleCall {}
                    .abi_encode()
                    .into(),
            ),
        ];
        let a = self.batch_calls(&calls, block).await?;
        let what = format!("addresses provider {provider}");
        let pool = decode::<IAavePoolAddressesProvider::getPoolCall>(self, &a, 0, &what)?;
        let oracle = decode::<IAavePoolAddressesProvider::getPriceOracleCall>(self, &a, 1, &what)?;
        if pool.is_zero() {
            return Err(rejected(self, format!("{what} has no pool")));
        }
        Ok(AaveMarketAddresses {
            provider,
            pool,
            oracle,
        })
    }

    /// The market's reserves (its `getReservesList`) at `block`; none where the Pool does not
    /// answer there (a block before its deployment, when backfilling).
    pub async fn aave_reserve_list(
        &self,
        pool: Address,
        block: u64,
    ) -> Result<Vec<Address>, AdapterError> {
        let calls = [(pool, IAavePool::getReservesListCall {}.abi_encode().into())];
        let a = self.batch_calls(&calls, block).await?;
        Ok(decode::<IAavePool::getReservesListCall>(self, &a, 0, "").unwrap_or_default())
    }

    /// Every reserve of `assets` at `block`: two rounds of batched calls (the reserve data,
    /// then what it points to).
    pub async fn aave_reserves(
        &self,
        market: &AaveMarketAddresses,
        assets: &[Address],
        block: u64,
    ) -> Result<Vec<AaveReserveState>, AdapterError> {
        let mut first = Vec::with_capacity(assets.len() * 3 + 1);
        for asset in assets {
            let a = *asset;
            first.push((
                market.pool,
                IAavePool::getReserveDataCall { asset: a }
                    .abi_encode()
                    .into(),
            ));
            first.push((
                market.pool,
                IAavePool::getReserveNormalizedIncomeCall { asset: a }
                    .abi_encode()
                    .into(),
            ));
            first.push((
                market.oracle,
                IAaveOracle::getAssetPriceCall { asset: a }
                    .abi_encode()
                    .into(),
            ));
        }
        first.push((
            market.oracle,
            IAaveOracle::BASE_CURRENCY_UNITCall {}.abi_encode().into(),
        ));
        let answers = self.batch_calls(&first, block).await?;
        // An oracle that does not answer (replaced since, or no source for the asset) leaves
        // the reserve unpriced rather than failing the batch.
        let price_unit =
            decode::<IAaveOracle::BASE_CURRENCY_UNITCall>(self, &answers, assets.len() * 3, "")
                .unwrap_or_default();
        let mut partial = Vec::with_capacity(assets.len());
        for (i, asset) in assets.iter().enumerate() {
            let what = format!("reserve {asset}");
            let data = decode::<IAavePool::getReserveDataCall>(self, &answers, 3 * i, &what)?;
            let income = decode::<IAavePool::getReserveNormalizedIncomeCall>(
                self,
                &answers,
                3 * i + 1,
                &what,
            )?;
            let price = decode::<IAaveOracle::getAssetPriceCall>(self, &answers, 3 * i + 2, &what)?;
            partial.push(AaveReserveState {
                asset: *asset,
                a_token: data.aTokenAddress,
                stable_debt_token: data.stableDebtTokenAddress,
                variable_debt_token: data.variableDebtTokenAddress,
                strategy: data.interestRateStrategyAddress,
                config: data.configuration.data.to_be_bytes(),
                liquidity_index: U256::from(data.liquidityIndex),
                variable_borrow_index: U256::from(data.variableBorrowIndex),
                liquidity_rate: U256::from(data.currentLiquidityRate),
                variable_borrow_rate: U256::from(data.currentVariableBorrowRate),
                stable_borrow_rate: U256::from(data.currentStableBorrowRate),
                last_update: data.lastUpdateTimestamp.to::<u64>(),
                accrued_to_treasury: U256::from(data.accruedToTreasury),
                normalized_income: income,
                price,
                price_unit,
                ..zero_state()
            });
        }
        self.aave_totals_and_curves(&mut partial, block).await?;
        let a_tokens: Vec<Address> = partial.iter().map(|r| r.a_token).collect();
        for (r, rewards) in partial
            .iter_mut()
            .zip(self.aave_rewards(&a_tokens, block).await?)
        {
            r.rewards = rewards;
        }
        Ok(partial)
    }

    /// Fills each reserve's totals and strategy curve at `block`.
    async fn aave_totals_and_curves(
        &self,
        reserves: &mut [AaveReserveState],
        block: u64,
    ) -> Result<(), AdapterError> {
        const PER: usize = 9;
        let mut calls: Vec<(Address, Bytes)> = Vec::with_capacity(reserves.len() * PER);
        for r in reserves.iter() {
            let total = IAaveScaledToken::totalSupplyCall {}.abi_encode();
            calls.push((r.a_token, total.clone().into()));
            calls.push((
                r.asset,
                IERC20::balanceOfCall { account: r.a_token }
                    .abi_encode()
                    .into(),
            ));
            calls.push((r.variable_debt_token, total.clone().into()));
            calls.push((r.stable_debt_token, total.into()));
            calls.push((
                r.stable_debt_token,
                IAaveStableDebtToken::getAverageStableRateCall {}
                    .abi_encode()
                    .into(),
            ));
            for data in [
                IAaveRateStrategy::OPTIMAL_USAGE_RATIOCall {}.abi_encode(),
                IAaveRateStrategy::getBaseVariableBorrowRateCall {}.abi_encode(),
                IAaveRateStrategy::getVariableRateSlope1Call {}.abi_encode(),
                IAaveRateStrategy::getVariableRateSlope2Call {}.abi_encode(),
            ] {
                calls.push((r.strategy, data.into()));
            }
        }
        let a = self.batch_calls(&calls, block).await?;
        for (i, r) in reserves.iter_mut().enumerate() {
            let what = format!("reserve {}", r.asset);
            let at = |k: usize| PER * i + k;
            type Total = IAaveScaledToken::totalSupplyCall;
            r.supplied = decode::<Total>(self, &a, at(0), &what)?;
            r.available = decode::<IERC20::balanceOfCall>(self, &a, at(1), &what)?;
            r.variable_debt = decode::<Total>(self, &a, at(2), &what)?;
            r.stable_debt = decode::<Total>(self, &a, at(3), &what)?;
            r.average_stable_rate =
                decode::<IAaveStableDebtToken::getAverageStableRateCall>(self, &a, at(4), &what)?;
            r.optimal_usage =
                decode::<IAaveRateStrategy::OPTIMAL_USAGE_RATIOCall>(self, &a, at(5), &what)?;
            r.base_rate =
                decode::<IAaveRateStrategy::getBaseVariableBorrowRateCall>(self, &a, at(6), &what)?;
            r.slope1 =
                decode::<IAaveRateStrategy::getVariableRateSlope1Call>(self, &a, at(7), &what)?;
            r.slope2 =
                decode::<IAaveRateStrategy::getVariableRateSlope2Call>(self, &a, at(8), &what)?;
        }
        Ok(())
    }

    /// Each reserve's totals and oracle price at `block`, in the order given: what a history
    /// row of the reserve records.
    pub async fn aave_totals_at(
        &self,
        oracle: Address,
        reserves: &[ReserveTokens],
        block: u64,
    ) -> Result<Vec<ReserveAmounts>, AdapterError> {
        const PER: usize = 5;
        let total: Bytes = IAaveScaledToken::totalSupplyCall {}.abi_encode().into();
        let mut calls: Vec<(Address, Bytes)> = reserves
            .iter()
            .flat_map(|r| {
                let held = IERC20::balanceOfCall { account: r.a_token }.abi_encode();
                let price = IAaveOracle::getAssetPriceCall { asset: r.asset }.abi_encode();
                [
                    (r.a_token, total.clone()),
                    (r.asset, held.into()),
                    (r.variable_debt_token, total.clone()),
                    (r.stable_debt_token, total.clone()),
                    (oracle, price.into()),
                ]
            })
            .collect();
        calls.push((
            oracle,
            IAaveOracle::BASE_CURRENCY_UNITCall {}.abi_encode().into(),
        ));
        let a = self.batch_calls(&calls, block).await?;
        let what = format!("reserve totals at block {block}");
        let unit =
            decode::<IAaveOracle::BASE_CURRENCY_UNITCall>(self, &a, PER * reserves.len(), &what)?;
        type Total = IAaveScaledToken::totalSupplyCall;
        (0..reserves.len())
            .map(|i| {
                let at = |k: usize| PER * i + k;
                let price = decode::<IAaveOracle::getAssetPriceCall>(self, &a, at(4), "")
                    .unwrap_or_default();
                Ok(ReserveAmounts {
                    supplied: decode::<Total>(self, &a, at(0), &what)?,
                    available: decode::<IERC20::balanceOfCall>(self, &a, at(1), &what)?,
                    variable_debt: decode::<Total>(self, &a, at(2), &what)?,
                    stable_debt: decode::<Total>(self, &a, at(3), &what)?,
                    price_usd: (!unit.is_zero()).then(|| f64::from(price) / f64::from(unit)),
                })
            })
            .collect()
    }
}

impl EvmChain {
    /// The incentives on each aToken at `block`, in the order given: its controller
    /// (`getIncentivesController`; none, or one that does not answer, means none), the rewards
    /// it lists for the aToken, each one's emission and end, decimals and oracle price. Four
    /// rounds of batched calls, each depending on the one before.
    pub async fn aave_rewards(
        &self,
        a_tokens: &[Address],
        block: u64,
    ) -> Result<Vec<Vec<RewardEmission>>, AdapterError> {
        let controller_calls: Vec<(Address, Bytes)> = a_tokens
            .iter()
            .map(|a| {
                (
                    *a,
                    IAaveIncentivized::getIncentivesControllerCall {}
                        .abi_encode()
                        .into(),
                )
            })
            .collect();
        let a = self.batch_calls(&controller_calls, block).await?;
        let controllers: Vec<Option<Address>> = (0..a_tokens.len())
            .map(|i| {
                decode::<IAaveIncentivized::getIncentivesControllerCall>(self, &a, i, "")
                    .ok()
                    .filter(|c| !c.is_zero())
            })
            .collect();
        // (aToken index, controller) of the aTokens with one.
        let with: Vec<(usize, Address)> = controllers
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.map(|c| (i, c)))
            .collect();
        let list_calls: Vec<(Address, Bytes)> = with
            .iter()
            .map(|(i, c)| {
                let asset = a_tokens[*i];
                (
                    *c,
                    IAaveRewardsController::getRewardsByAssetCall { asset }
                        .abi_encode()
                        .into(),
                )
            })
            .collect();
        let a = self.batch_calls(&list_calls, block).await?;
        // (aToken index, controller, reward) for every listed reward.
        let mut listed: Vec<(usize, Address, Address)> = Vec::new();
        for (k, (i, c)) in with.iter().enumerate() {
            let what = format!("rewards of {}", a_tokens[*i]);
            for reward in
                decode::<IAaveRewardsController::getRewardsByAssetCall>(self, &a, k, &what)?
            {
                listed.push((*i, *c, reward));
            }
        }
        let emissions = self.reward_emissions(a_tokens, &listed, block).await?;
        let mut out = vec![Vec::new(); a_tokens.len()];
        for ((i, ..), e) in listed.iter().zip(emissions) {
            out[*i].push(e);
        }
        Ok(out)
    }

    /// Each listed reward's data, decimals and price at `block`.
    async fn reward_emissions(
        &self,
        a_tokens: &[Address],
        listed: &[(usize, Address, Address)],
        block: u64,
    ) -> Result<Vec<RewardEmission>, AdapterError> {
        let mut calls: Vec<(Address, Bytes)> = Vec::with_capacity(listed.len() * 3);
        for (i, c, reward) in listed {
            let (asset, reward) = (a_tokens[*i], *reward);
            calls.push((
                *c,
                IAaveRewardsController::getRewardsDataCall { asset, reward }
                    .abi_encode()
                    .into(),
            ));
            calls.push((
                *c,
                IAaveRewardsController::getRewardOracleCall { reward }
                    .abi_encode()
                    .into(),
            ));
            calls.push((reward, IERC20::decimalsCall {}.abi_encode().into()));
        }
        let a = self.batch_calls(&calls, block).await?;
        let mut partial = Vec::with_capacity(listed.len());
        let mut oracle_calls: Vec<(Address, Bytes)> = Vec::with_capacity(listed.len());
        for (k, (_, _, reward)) in listed.iter().enumerate() {
            let what = format!("reward {reward}");
            let data =
                decode::<IAaveRewardsController::getRewardsDataCall>(self, &a, 3 * k, &what)?;
            let oracle =
                decode::<IAaveRewardsController::getRewardOracleCall>(self, &a, 3 * k + 1, &what)?;
            let decimals = decode::<IERC20::decimalsCall>(self, &a, 3 * k + 2, &what)?;
            oracle_calls.push((oracle, IPriceFeed::latestAnswerCall {}.abi_encode().into()));
            partial.push(RewardEmission {
                reward: *reward,
                decimals,
                emission_per_second: data._1,
                distribution_end: data._3.saturating_to::<u64>(),
                price: U256::ZERO,
            });
        }
        let a = self.batch_calls(&oracle_calls, block).await?;
        for (k, e) in partial.iter_mut().enumerate() {
            // A feed that does not answer, or answers ≤ 0, leaves the reward unpriced.
            e.price = decode::<IPriceFeed::latestAnswerCall>(self, &a, k, "")
                .ok()
                .filter(|p| p.is_positive())
                .map_or(U256::ZERO, |p| p.into_raw());
        }
        Ok(partial)
    }
}

/// The tokens of a reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReserveTokens {
    pub asset: Address,
    pub a_token: Address,
    pub variable_debt_token: Address,
    pub stable_debt_token: Address,
}

/// A reserve's amounts at a block, in the token's smallest unit, and its oracle price.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReserveAmounts {
    pub supplied: U256,
    pub available: U256,
    pub variable_debt: U256,
    pub stable_debt: U256,
    pub price_usd: Option<f64>,
}

fn zero_state() -> AaveReserveState {
    AaveReserveState {
        asset: Address::ZERO,
        a_token: Address::ZERO,
        stable_debt_token: Address::ZERO,
        variable_debt_token: Address::ZERO,
        strategy: Address::ZERO,
        config: [0; 32],
        liquidity_index: U256::ZERO,
        variable_borrow_index: U256::ZERO,
        liquidity_rate: U256::ZERO,
        variable_borrow_rate: U256::ZERO,
        stable_borrow_rate: U256::ZERO,
        last_update: 0,
        accrued_to_treasury: U256::ZERO,
        supplied: U256::ZERO,
        available: U256::ZERO,
        variable_debt: U256::ZERO,
        stable_debt: U256::ZERO,
        average_stable_rate: U256::ZERO,
        normalized_income: U256::ZERO,
        optimal_usage: U256::ZERO,
        base_rate: U256::ZERO,
        slope1: U256::ZERO,
        slope2: U256::ZERO,
        price: U256::ZERO,
        price_unit: U256::ZERO,
        rewards: Vec::new(),
    }
}
