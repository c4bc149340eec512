//! Reads of a Compound v3 market (one Comet and its base asset) at one block, in JSON-RPC
//! batches ([`EvmChain::batch_calls`]): the totals and indexes (`totalsBasic`, `totalSupply`,
//! `totalBorrow`), the utilisation and the rates Comet itself computes from it
//! (`getUtilization`, `getSupplyRate`, `getBorrowRate`), both rate curves' parameters, the
//! base asset's price from Comet's own feed, the supply tracking speed, and the incentive a
//! `CometRewards` contract pays for it (its token and multiplier, and the token's price from
//! the Comet's asset list when the token is one of its collateral assets, as COMP is on
//! cUSDCv3). Comet's feeds are in the market's own unit: USD on USD-based markets, the base
//! asset on others (cWETHv3's base feed is a constant 1): the indexer converts.
//!
//! Read it when a Compound v3 reserve's figures look wrong: what is read, and from where.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use atoll_core::lending::{COMET_FACTOR_SCALE, CometCurve, SECONDS_PER_YEAR, comet_index_after};

use super::EvmChain;
use super::abi::IERC20;
use super::comet_abi::{
    IComet, ICometRewards, ICometRewardsV2, PAUSE_SUPPLY_OFFSET, PAUSE_WITHDRAW_OFFSET,
};
use super::lending::{decode, rejected};
use crate::AdapterError;

/// A Comet's state at one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CometState {
    pub comet: Address,
    pub base_token: Address,
    pub decimals: u8,
    /// `baseSupplyIndex` and `baseBorrowIndex` as of `last_accrual` (1e15-scaled).
    pub supply_index: u128,
    pub borrow_index: u128,
    pub total_supply_base: u128,
    pub last_accrual: u64,
    pub pause_flags: u8,
    /// Present values, accrued to the block (`totalSupply`, `totalBorrow`).
    pub total_supply: U256,
    pub total_borrow: U256,
    /// The base asset Comet holds: what can be withdrawn or borrowed now.
    pub available: U256,
    /// `getUtilization` (1e18-scaled) and the per-second rates at it.
    pub utilization: u128,
    pub supply_rate: u128,
    pub borrow_rate: u128,
    pub supply_curve: CometCurve,
    pub borrow_curve: CometCurve,
    /// `getPrice(baseTokenPriceFeed)`: 8 decimals, in the market's unit (USD on USD-based
    /// markets, the base asset on others); 0 when the feed does not answer.
    pub price: U256,
    pub tracking_supply_speed: U256,
    pub tracking_index_scale: U256,
    pub base_min_for_rewards: U256,
    pub reward: Option<CometReward>,
}

/// What a history row of a Comet records at one block: its indexes, totals, liquidity, the
/// rates at its utilisation and its base asset's price. Two rounds of batched calls (a third
/// of [`EvmChain::comet_state`]'s calls: the curves and the incentive are not re-read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CometTotals {
    pub supply_index: u128,
    pub borrow_index: u128,
    pub total_supply: U256,
    pub total_borrow: U256,
    pub available: U256,
    pub supply_rate: u128,
    pub borrow_rate: u128,
    /// 8 decimals, in the market's unit (0 when the feed does not answer).
    pub price: U256,
}

impl CometTotals {
    /// The base feed's price (in the market's unit per base token).
    pub fn feed_price(&self) -> Option<f64> {
        (!self.price.is_zero()).then(|| f64::from(self.price) / 1e8)
    }
}

/// The token a `CometRewards` contract pays a Comet's suppliers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CometReward {
    pub token: Address,
    /// Accrued rewards are paid × multiplier / 1e18 (1e18 where the contract predates it).
    pub multiplier: U256,
    /// 8 decimals, in the market's unit, from the Comet's feed for the token (0 when the token
    /// is not one of its assets, or its feed does not answer).
    pub price: U256,
    /// What the rewards contract holds to pay claims.
    pub funded: U256,
}

impl CometState {
    /// The supply index accrued to `time` (Unix seconds), exactly as Comet accrues it.
    pub fn supply_index_at(&self, time: u64) -> u128 {
        let elapsed = u128::from(time.saturating_sub(self.last_accrual));
        comet_index_after(self.supply_index, self.supply_rate, elapsed)
    }

    pub fn supply_apr(&self) -> f64 {
        per_year(self.supply_rate)
    }

    pub fn borrow_apr(&self) -> f64 {
        per_year(self.borrow_rate)
    }

    pub fn utilization_fraction(&self) -> f64 {
        self.utilization as f64 / COMET_FACTOR_SCALE as f64
    }

    /// Base supply is not paused.
    pub fn accepts_supply(&self) -> bool {
        self.pause_flags & (1 << PAUSE_SUPPLY_OFFSET) == 0
    }

    /// Base withdrawals (hence borrows) are not paused.
    pub fn borrowable(&self) -> bool {
        self.pause_flags & (1 << PAUSE_WITHDRAW_OFFSET) == 0
    }

    /// Whether the supply-side emission runs: a positive speed, enough supply for Comet to
    /// accrue it (`baseMinForRewards`), and a rewards contract holding tokens to pay it.
    pub fn emission_runs(&self) -> bool {
        self.reward.as_ref().is_some_and(|r| !r.funded.is_zero())
            && !self.tracking_supply_speed.is_zero()
            && U256::from(self.total_supply_base) >= self.base_min_for_rewards
    }

    /// Reward tokens a year the supply-side emission pays while it runs (0 when it does not):
    /// `speed / trackingIndexScale` a second, as DefiLlama's Compound v3 adaptor reads it,
    /// × the rewards contract's multiplier. `None` without a rewards contract.
    pub fn reward_tokens_per_year(&self) -> Option<f64> {
        let r = self.reward.as_ref()?;
        if !self.emission_runs() || self.tracking_index_scale.is_zero() {
            return Some(0.0);
        }
        let per_second =
            f64::from(self.tracking_supply_speed) / f64::from(self.tracking_index_scale);
        Some(per_second * SECONDS_PER_YEAR * f64::from(r.multiplier) / 1e18)
    }

    /// The base feed's price (in the market's unit per base token).
    pub fn feed_price(&self) -> Option<f64> {
        (!self.price.is_zero()).then(|| f64::from(self.price) / 1e8)
    }
}

fn per_year(rate_per_second: u128) -> f64 {
    rate_per_second as f64 * SECONDS_PER_YEAR / COMET_FACTOR_SCALE as f64
}

/// The reward token and multiplier of answer `i` to `rewardConfig`: the four-field form, else
/// the original three (multiplier 1e18); `None` for no answer or no token.
fn reward_config(answers: &[Option<Bytes>], i: usize) -> Option<(Address, U256)> {
    let bytes = answers.get(i)?.as_ref()?;
    let one = U256::from(1_000_000_000_000_000_000u128);
    let (token, multiplier) = match ICometRewardsV2::rewardConfigCall::abi_decode_returns(bytes) {
        Ok(c) => (c.token, c.multiplier),
        Err(_) => (
            ICometRewards::rewardConfigCall::abi_decode_returns(bytes)
                .ok()?
                .token,
            one,
        ),
    };
    (!token.is_zero()).then_some((
        token,
        if multiplier.is_zero() {
            one
        } else {
            multiplier
        },
    ))
}

fn call<C: SolCall>(to: Address, c: C) -> (Address, Bytes) {
    (to, c.abi_encode().into())
}

fn small(v: U256) -> u128 {
    v.saturating_to::<u128>()
}

impl EvmChain {
    /// The Comet's state at `block`, with the incentive `rewards` (a `CometRewards`) pays for
    /// it when given. Up to three rounds of batched calls, each depending on the one before.
    pub async fn comet_state(
        &self,
        comet: Address,
        rewards: Option<Address>,
        block: u64,
    ) -> Result<CometState, AdapterError> {
        use IComet as C;
        let mut calls = vec![
            call(comet, C::baseTokenCall {}),
            call(comet, C::baseTokenPriceFeedCall {}),
            call(comet, C::decimalsCall {}),
            call(comet, C::totalsBasicCall {}),
            call(comet, C::totalSupplyCall {}),
            call(comet, C::totalBorrowCall {}),
            call(comet, C::getUtilizationCall {}),
            call(comet, C::supplyKinkCall {}),
            call(comet, C::supplyPerSecondInterestRateBaseCall {}),
            call(comet, C::supplyPerSecondInterestRateSlopeLowCall {}),
            call(comet, C::supplyPerSecondInterestRateSlopeHighCall {}),
            call(comet, C::borrowKinkCall {}),
            call(comet, C::borrowPerSecondInterestRateBaseCall {}),
            call(comet, C::borrowPerSecondInterestRateSlopeLowCall {}),
            call(comet, C::borrowPerSecondInterestRateSlopeHighCall {}),
            call(comet, C::baseTrackingSupplySpeedCall {}),
            call(comet, C::trackingIndexScaleCall {}),
            call(comet, C::baseMinForRewardsCall {}),
        ];
        if let Some(r) = rewards {
            calls.push(call(r, ICometRewards::rewardConfigCall { comet }));
        }
        let a = self.batch_calls(&calls, block).await?;
        let what = format!("comet {comet}");
        let w = what.as_str();
        let base_token = decode::<C::baseTokenCall>(self, &a, 0, w)?;
        let feed = decode::<C::baseTokenPriceFeedCall>(self, &a, 1, w)?;
        let totals = decode::<C::totalsBasicCall>(self, &a, 3, w)?;
        // The eight curve getters each return one `uint256`: decoded alike.
        let curve = |k: usize| -> Result<CometCurve, AdapterError> {
            Ok(CometCurve {
                kink: small(decode::<C::supplyKinkCall>(self, &a, k, w)?),
                base: small(decode::<C::supplyKinkCall>(self, &a, k + 1, w)?),
                slope_low: small(decode::<C::supplyKinkCall>(self, &a, k + 2, w)?),
                slope_high: small(decode::<C::supplyKinkCall>(self, &a, k + 3, w)?),
            })
        };
        let mut state = CometState {
            comet,
            base_token,
            decimals: decode::<C::decimalsCall>(self, &a, 2, w)?,
            supply_index: u128::from(totals.baseSupplyIndex),
            borrow_index: u128::from(totals.baseBorrowIndex),
            total_supply_base: totals.totalSupplyBase.to::<u128>(),
            last_accrual: totals.lastAccrualTime.to::<u64>(),
            pause_flags: totals.pauseFlags,
            total_supply: decode::<C::totalSupplyCall>(self, &a, 4, w)?,
            total_borrow: decode::<C::totalBorrowCall>(self, &a, 5, w)?,
            available: U256::ZERO,
            utilization: small(decode::<C::getUtilizationCall>(self, &a, 6, w)?),
            supply_rate: 0,
            borrow_rate: 0,
            supply_curve: curve(7)?,
            borrow_curve: curve(11)?,
            price: U256::ZERO,
            tracking_supply_speed: decode::<C::baseTrackingSupplySpeedCall>(self, &a, 15, w)?,
            tracking_index_scale: decode::<C::trackingIndexScaleCall>(self, &a, 16, w)?,
            base_min_for_rewards: decode::<C::baseMinForRewardsCall>(self, &a, 17, w)?,
            reward: None,
        };
        // A rewards contract that does not answer for this Comet pays nothing.
        let reward = rewards.and_then(|_| reward_config(&a, 18));
        self.comet_rates_and_prices(&mut state, feed, rewards.zip(reward), block)
            .await?;
        Ok(state)
    }

    /// Fills the rates at the utilisation, the prices, the liquidity and the reward.
    async fn comet_rates_and_prices(
        &self,
        s: &mut CometState,
        feed: Address,
        reward: Option<(Address, (Address, U256))>,
        block: u64,
    ) -> Result<(), AdapterError> {
        use IComet as C;
        let (comet, utilization) = (s.comet, U256::from(s.utilization));
        let mut calls = vec![
            call(comet, C::getSupplyRateCall { utilization }),
            call(comet, C::getBorrowRateCall { utilization }),
            call(comet, C::getPriceCall { priceFeed: feed }),
            call(s.base_token, IERC20::balanceOfCall { account: comet }),
        ];
        if let Some((rewards, (token, _))) = reward {
            calls.push(call(comet, C::getAssetInfoByAddressCall { asset: token }));
            calls.push(call(token, IERC20::balanceOfCall { account: rewards }));
        }
        let a = self.batch_calls(&calls, block).await?;
        let what = format!("comet {comet}");
        s.supply_rate = u128::from(decode::<C::getSupplyRateCall>(self, &a, 0, &what)?);
        s.borrow_rate = u128::from(decode::<C::getBorrowRateCall>(self, &a, 1, &what)?);
        // A feed that does not answer leaves the reserve unpriced rather than failing.
        s.price = decode::<C::getPriceCall>(self, &a, 2, "").unwrap_or_default();
        s.available = decode::<IERC20::balanceOfCall>(self, &a, 3, &what)?;
        let Some((_, (token, multiplier))) = reward else {
            return Ok(());
        };
        let what = format!("reward {token} of comet {comet}");
        let funded = decode::<IERC20::balanceOfCall>(self, &a, 5, &what)?;
        // Priced only when the token is one of the Comet's assets with a feed that answers.
        let price = match decode::<C::getAssetInfoByAddressCall>(self, &a, 4, "") {
            Ok(info) => {
                let p = [call(
                    comet,
                    C::getPriceCall {
                        priceFeed: info.priceFeed,
                    },
                )];
                let a = self.batch_calls(&p, block).await?;
                decode::<C::getPriceCall>(self, &a, 0, "").unwrap_or_default()
            }
            Err(_) => U256::ZERO,
        };
        s.reward = Some(CometReward {
            token,
            multiplier,
            price,
            funded,
        });
        Ok(())
    }

    /// A history row's reads of `comet` (base asset `base_token`) at `block`.
    pub async fn comet_totals_at(
        &self,
        comet: Address,
        base_token: Address,
        block: u64,
    ) -> Result<CometTotals, AdapterError> {
        use IComet as C;
        let calls = [
            call(comet, C::totalsBasicCall {}),
            call(comet, C::totalSupplyCall {}),
            call(comet, C::totalBorrowCall {}),
            call(comet, C::getUtilizationCall {}),
            call(comet, C::baseTokenPriceFeedCall {}),
            call(base_token, IERC20::balanceOfCall { account: comet }),
        ];
        let a = self.batch_calls(&calls, block).await?;
        let what = format!("comet {comet}");
        let w = what.as_str();
        let totals = decode::<C::totalsBasicCall>(self, &a, 0, w)?;
        let utilization = decode::<C::getUtilizationCall>(self, &a, 3, w)?;
        let feed = decode::<C::baseTokenPriceFeedCall>(self, &a, 4, w)?;
        let calls = [
            call(comet, C::getSupplyRateCall { utilization }),
            call(comet, C::getBorrowRateCall { utilization }),
            call(comet, C::getPriceCall { priceFeed: feed }),
        ];
        let b = self.batch_calls(&calls, block).await?;
        Ok(CometTotals {
            supply_index: u128::from(totals.baseSupplyIndex),
            borrow_index: u128::from(totals.baseBorrowIndex),
            total_supply: decode::<C::totalSupplyCall>(self, &a, 1, w)?,
            total_borrow: decode::<C::totalBorrowCall>(self, &a, 2, w)?,
            available: decode::<IERC20::balanceOfCall>(self, &a, 5, w)?,
            supply_rate: u128::from(decode::<C::getSupplyRateCall>(self, &b, 0, w)?),
            borrow_rate: u128::from(decode::<C::getBorrowRateCall>(self, &b, 1, w)?),
            // A feed that does not answer leaves the row unpriced rather than failing.
            price: decode::<C::getPriceCall>(self, &b, 2, "").unwrap_or_default(),
        })
    }

    /// The Comet's base asset at `block`; `None` where it does not answer (a block before
    /// its deployment, when backfilling).
    pub async fn comet_base_token(
        &self,
        comet: Address,
        block: u64,
    ) -> Result<Option<Address>, AdapterError> {
        let a = self
            .batch_calls(&[call(comet, IComet::baseTokenCall {})], block)
            .await?;
        Ok(decode::<IComet::baseTokenCall>(self, &a, 0, "")
            .ok()
            .filter(|t| !t.is_zero()))
    }

    /// Fails unless `comet` answers as a live Comet at `block` (a base asset, and an accrual
    /// time: an implementation contract answers `baseToken()` from its immutables but has no
    /// storage), and `rewards`, when given, names a reward token for it. A configured address
    /// that is neither is a configuration error, named.
    pub async fn verify_comet(
        &self,
        comet: Address,
        rewards: Option<Address>,
        block: u64,
    ) -> Result<(), AdapterError> {
        let mut calls = vec![
            call(comet, IComet::baseTokenCall {}),
            call(comet, IComet::totalsBasicCall {}),
        ];
        if let Some(r) = rewards {
            calls.push(call(r, ICometRewards::rewardConfigCall { comet }));
        }
        let a = self.batch_calls(&calls, block).await?;
        let base = decode::<IComet::baseTokenCall>(self, &a, 0, "").ok();
        let accrued = decode::<IComet::totalsBasicCall>(self, &a, 1, "")
            .ok()
            .is_some_and(|t| t.lastAccrualTime.to::<u64>() > 0);
        if base.is_none_or(|b| b.is_zero()) || !accrued {
            return Err(rejected(
                self,
                format!(
                    "{comet} is not a live Comet (no baseToken() or no accrual time: an implementation, not the proxy?)"
                ),
            ));
        }
        if let Some(r) = rewards
            && reward_config(&a, 2).is_none()
        {
            return Err(rejected(
                self,
                format!("rewards {r} names no reward token for comet {comet} (rewardConfig)"),
            ));
        }
        Ok(())
    }
}
