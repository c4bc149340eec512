//! Batched reads of pool and token state: many `eth_call`s in one JSON-RPC batch (at most
//! `BATCH_SIZE` per request), all at one block so the values are consistent with each other.

use alloy::eips::BlockId;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::client::{BatchRequest, Waiter};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use alloy::transports::RpcError;

use super::EvmChain;
use super::abi::{IERC20, IUniswapV2Pair, IUniswapV3Pool};
use crate::AdapterError;

/// Calls per JSON-RPC batch; public providers cap batches around 100.
pub const BATCH_SIZE: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolFamily {
    /// Uniswap V2 pairs and forks (PancakeSwap V2).
    V2,
    /// Uniswap V3 pools.
    V3,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolState {
    V2 {
        token0: Address,
        token1: Address,
        reserve0: U256,
        reserve1: U256,
    },
    V3 {
        token0: Address,
        token1: Address,
        fee_ppm: u32,
        sqrt_price_x96: U256,
        tick: i32,
        liquidity: u128,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub address: Address,
    pub symbol: String,
    pub decimals: u8,
}

impl EvmChain {
    /// Runs `(contract, calldata)` calls at `block` in JSON-RPC batches; answers in order, `None`
    /// for a call that reverted.
    pub async fn batch_calls(
        &self,
        calls: &[(Address, Bytes)],
        block: u64,
    ) -> Result<Vec<Option<Bytes>>, AdapterError> {
        let mut out = Vec::with_capacity(calls.len());
        for chunk in calls.chunks(BATCH_SIZE) {
            let answers = self
                .rpc
                .call("eth_call (batch)", |p| {
                    let chunk = chunk.to_vec();
                    async move {
                        let mut batch = BatchRequest::new(p.client());
                        let mut waiters: Vec<Waiter<Bytes>> = Vec::with_capacity(chunk.len());
                        for (to, data) in chunk {
                            let tx = TransactionRequest::default().to(to).input(data.into());
                            waiters
                                .push(batch.add_call("eth_call", &(tx, BlockId::number(block)))?);
                        }
                        batch.send().await?;
                        let mut answers = Vec::with_capacity(waiters.len());
                        for w in waiters {
                            match w.await {
                                Ok(bytes) => answers.push(Some(bytes)),
                                // A revert answers that one call; the batch as a whole stands.
                                Err(RpcError::ErrorResp(_)) => answers.push(None),
                                Err(e) => return Err(e),
                            }
                        }
                        Ok(answers)
                    }
                })
                .await?;
            out.extend(answers);
        }
        Ok(out)
    }

    /// State of each pool at `block`, in the order given; fails if any pool does not read.
    pub async fn pool_states(
        &self,
        pools: &[(Address, PoolFamily)],
        block: u64,
    ) -> Result<Vec<PoolState>, AdapterError> {
        self.pool_states_each(pools, block)
            .await?
            .into_iter()
            .collect()
    }

    /// State of each pool at `block`, each its own result: a pool that does not read (not yet
    /// created at that block, or not a pool of that family) fails alone.
    pub async fn pool_states_each(
        &self,
        pools: &[(Address, PoolFamily)],
        block: u64,
    ) -> Result<Vec<Result<PoolState, AdapterError>>, AdapterError> {
        let mut calls = Vec::new();
        for (address, family) in pools {
            let a = *address;
            calls.push((a, IUniswapV2Pair::token0Call {}.abi_encode().into()));
            calls.push((a, IUniswapV2Pair::token1Call {}.abi_encode().into()));
            match family {
                PoolFamily::V2 => {
                    calls.push((a, IUniswapV2Pair::getReservesCall {}.abi_encode().into()))
                }
                PoolFamily::V3 => {
                    calls.push((a, IUniswapV3Pool::feeCall {}.abi_encode().into()));
                    calls.push((a, IUniswapV3Pool::slot0Call {}.abi_encode().into()));
                    calls.push((a, IUniswapV3Pool::liquidityCall {}.abi_encode().into()));
                }
            }
        }
        let answers = self.batch_calls(&calls, block).await?;
        let mut it = answers.iter();
        let mut out = Vec::with_capacity(pools.len());
        for (address, family) in pools {
            let n = match family {
                PoolFamily::V2 => 3,
                PoolFamily::V3 => 5,
            };
            let mine: Vec<Option<&Bytes>> = it.by_ref().take(n).map(Option::as_ref).collect();
            out.push(self.decode_pool_state(*address, *family, &mine));
        }
        Ok(out)
    }

    fn decode_pool_state(
        &self,
        address: Address,
        family: PoolFamily,
        answers: &[Option<&Bytes>],
    ) -> Result<PoolState, AdapterError> {
        let bad = |what: &str| AdapterError::RpcRejected {
            chain: self.name.clone(),
            method: "eth_call",
            endpoint: String::new(),
            reason: format!("{address} is not a {family:?} pool: {what} did not decode"),
        };
        let mut it = answers.iter();
        let mut next = |what: &str| it.next().copied().flatten().ok_or_else(|| bad(what));
        let token0 = IUniswapV2Pair::token0Call::abi_decode_returns(next("token0")?)
            .map_err(|_| bad("token0"))?;
        let token1 = IUniswapV2Pair::token1Call::abi_decode_returns(next("token1")?)
            .map_err(|_| bad("token1"))?;
        Ok(match family {
            PoolFamily::V2 => {
                let r = IUniswapV2Pair::getReservesCall::abi_decode_returns(next("getReserves")?)
                    .map_err(|_| bad("getReserves"))?;
                PoolState::V2 {
                    token0,
                    token1,
                    reserve0: U256::from(r.reserve0),
                    reserve1: U256::from(r.reserve1),
                }
            }
            PoolFamily::V3 => {
                let fee = IUniswapV3Pool::feeCall::abi_decode_returns(next("fee")?)
                    .map_err(|_| bad("fee"))?;
                let s = IUniswapV3Pool::slot0Call::abi_decode_returns(next("slot0")?)
                    .map_err(|_| bad("slot0"))?;
                let liquidity =
                    IUniswapV3Pool::liquidityCall::abi_decode_returns(next("liquidity")?)
                        .map_err(|_| bad("liquidity"))?;
                PoolState::V3 {
                    token0,
                    token1,
                    fee_ppm: fee.to::<u32>(),
                    sqrt_price_x96: U256::from(s.sqrtPriceX96),
                    tick: s.tick.as_i32(),
                    liquidity,
                }
            }
        })
    }

    /// Symbol and decimals of each token at `block`.
    pub async fn token_infos(
        &self,
        tokens: &[Address],
        block: u64,
    ) -> Result<Vec<TokenInfo>, AdapterError> {
        let calls: Vec<(Address, Bytes)> = tokens
            .iter()
            .flat_map(|t| {
                [
                    (*t, IERC20::symbolCall {}.abi_encode().into()),
                    (*t, IERC20::decimalsCall {}.abi_encode().into()),
                ]
            })
            .collect();
        let answers = self.batch_calls(&calls, block).await?;
        tokens
            .iter()
            .zip(answers.chunks(2))
            .map(|(address, pair)| {
                let bad = || AdapterError::RpcRejected {
                    chain: self.name.clone(),
                    method: "eth_call",
                    endpoint: String::new(),
                    reason: format!("{address} is not an ERC20 with symbol() and decimals()"),
                };
                let symbol = IERC20::symbolCall::abi_decode_returns(
                    pair.first().and_then(Option::as_ref).ok_or_else(bad)?,
                )
                .map_err(|_| bad())?;
                let decimals = IERC20::decimalsCall::abi_decode_returns(
                    pair.get(1).and_then(Option::as_ref).ok_or_else(bad)?,
                )
                .map_err(|_| bad())?;
                Ok(TokenInfo {
                    address: *address,
                    symbol,
                    decimals,
                })
            })
            .collect()
    }

    /// `holder`'s LP tokens of each V2 pair and the pair's total supply, at `block` (a pair
    /// that does not answer is `None`).
    pub async fn lp_shares(
        &self,
        pairs: &[Address],
        holder: Address,
        block: u64,
    ) -> Result<Vec<Option<(U256, U256)>>, AdapterError> {
        let calls: Vec<(Address, Bytes)> = pairs
            .iter()
            .flat_map(|pair| {
                [
                    (
                        *pair,
                        IERC20::balanceOfCall { account: holder }
                            .abi_encode()
                            .into(),
                    ),
                    (*pair, IERC20::totalSupplyCall {}.abi_encode().into()),
                ]
            })
            .collect();
        let answers = self.batch_calls(&calls, block).await?;
        Ok(answers
            .chunks(2)
            .map(|two| {
                let held = two.first()?.as_ref()?;
                let supply = two.get(1)?.as_ref()?;
                Some((
                    IERC20::balanceOfCall::abi_decode_returns(held).ok()?,
                    IERC20::totalSupplyCall::abi_decode_returns(supply).ok()?,
                ))
            })
            .collect())
    }

    /// `balanceOf(holder)` of each `(token, holder)` at `block` (V3 TVL, vault liquidity).
    pub async fn balances(
        &self,
        pairs: &[(Address, Address)],
        block: u64,
    ) -> Result<Vec<U256>, AdapterError> {
        let calls: Vec<(Address, Bytes)> = pairs
            .iter()
            .map(|(token, holder)| {
                (
                    *token,
                    IERC20::balanceOfCall { account: *holder }
                        .abi_encode()
                        .into(),
                )
            })
            .collect();
        let answers = self.batch_calls(&calls, block).await?;
        answers
            .iter()
            .zip(pairs)
            .map(|(a, (token, _))| {
                a.as_ref()
                    .and_then(|bytes| IERC20::balanceOfCall::abi_decode_returns(bytes).ok())
                    .ok_or_else(|| AdapterError::RpcRejected {
                        chain: self.name.clone(),
                        method: "eth_call",
                        endpoint: String::new(),
                        reason: format!("{token}: balanceOf did not decode"),
                    })
            })
            .collect()
    }
}
