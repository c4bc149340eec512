//! Typed decoding of the logs Atoll ingests: Uniswap V2 pair and V3 pool events, factory
//! creation events, ERC20 transfers and BridgeVault events. A log whose first topic is none of
//! these is `None`; one that has a known topic but does not decode is an error naming the log.

use alloy::primitives::{Address, B256, I256, U256};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEvent;

use super::abi::{
    BridgeVault, IUniswapV2Factory, IUniswapV2Pair, IUniswapV3Factory, IUniswapV3Pool,
};

/// Where a log sits on chain: the key `(tx, log_index)` events are stored under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPosition {
    pub address: Address,
    pub block_number: u64,
    pub block_hash: B256,
    pub tx_hash: B256,
    pub log_index: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvmEvent {
    V2Swap {
        sender: Address,
        to: Address,
        amount0_in: U256,
        amount1_in: U256,
        amount0_out: U256,
        amount1_out: U256,
    },
    V2Sync {
        reserve0: U256,
        reserve1: U256,
    },
    V2Mint {
        sender: Address,
        amount0: U256,
        amount1: U256,
    },
    V2Burn {
        sender: Address,
        to: Address,
        amount0: U256,
        amount1: U256,
    },
    V3Swap {
        sender: Address,
        recipient: Address,
        amount0: I256,
        amount1: I256,
        sqrt_price_x96: U256,
        liquidity: u128,
        tick: i32,
    },
    V3Mint {
        owner: Address,
        tick_lower: i32,
        tick_upper: i32,
        amount: u128,
        amount0: U256,
        amount1: U256,
    },
    V3Burn {
        owner: Address,
        tick_lower: i32,
        tick_upper: i32,
        amount: u128,
        amount0: U256,
        amount1: U256,
    },
    PairCreated {
        token0: Address,
        token1: Address,
        pair: Address,
    },
    PoolCreated {
        token0: Address,
        token1: Address,
        fee: u32,
        tick_spacing: i32,
        pool: Address,
    },
    TransferInitiated {
        id: B256,
        token: Address,
        sender: Address,
        amount: U256,
        dst_chain_id: u64,
        recipient: B256,
        nonce: u64,
    },
}

impl EvmEvent {
    /// Stable lower-case name, as stored in `pool_events.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            EvmEvent::V2Swap { .. } => "v2_swap",
            EvmEvent::V2Sync { .. } => "v2_sync",
            EvmEvent::V2Mint { .. } => "v2_mint",
            EvmEvent::V2Burn { .. } => "v2_burn",
            EvmEvent::V3Swap { .. } => "v3_swap",
            EvmEvent::V3Mint { .. } => "v3_mint",
            EvmEvent::V3Burn { .. } => "v3_burn",
            EvmEvent::PairCreated { .. } => "pair_created",
            EvmEvent::PoolCreated { .. } => "pool_created",
            EvmEvent::TransferInitiated { .. } => "transfer_initiated",
        }
    }

    /// The topic0s pools emit that the indexer stores: V2 `Swap`, `Sync`, `Mint`, `Burn`; V3
    /// `Swap`, `Mint`, `Burn`.
    pub fn pool_topics() -> Vec<B256> {
        vec![
            IUniswapV2Pair::Swap::SIGNATURE_HASH,
            IUniswapV2Pair::Sync::SIGNATURE_HASH,
            IUniswapV2Pair::Mint::SIGNATURE_HASH,
            IUniswapV2Pair::Burn::SIGNATURE_HASH,
            IUniswapV3Pool::Swap::SIGNATURE_HASH,
            IUniswapV3Pool::Mint::SIGNATURE_HASH,
            IUniswapV3Pool::Burn::SIGNATURE_HASH,
        ]
    }

    /// The factories' pool creation events.
    pub fn factory_topics() -> Vec<B256> {
        vec![
            IUniswapV2Factory::PairCreated::SIGNATURE_HASH,
            IUniswapV3Factory::PoolCreated::SIGNATURE_HASH,
        ]
    }

    /// topic0 of a bridge deposit (`BridgeVault.TransferInitiated`).
    pub fn deposit_topic() -> B256 {
        BridgeVault::TransferInitiated::SIGNATURE_HASH
    }

    /// Every topic0 this module decodes: what the indexer's streams ask for. The vault's
    /// release events are read from receipts by the executor and the audit
    /// (`releases.rs`, `vault_history.rs`), not through this enum.
    pub fn topics() -> Vec<B256> {
        let mut topics = EvmEvent::pool_topics();
        topics.extend(EvmEvent::factory_topics());
        topics.push(EvmEvent::deposit_topic());
        topics
    }
}

/// Why a log with a known topic did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log {log_index} of tx {tx_hash} at {address}: malformed {kind}: {reason}")]
pub struct MalformedLog {
    pub address: Address,
    pub tx_hash: B256,
    pub log_index: u64,
    pub kind: &'static str,
    pub reason: String,
}

/// Atoll's id of a bridge deposit on an EVM chain: keccak(chain id, transaction hash, the
/// deposit's position among the vault's deposits in that transaction), the same scheme as
/// Solana's (signature, instruction index). It depends on nothing but the deposit's own
/// transaction, so a reorg that reorders or moves transactions never gives a deposit another's
/// id; the `id` the vault emits numbers deposits in execution order, which a reorg can reorder,
/// and is not used.
pub fn deposit_id(chain_id: u64, tx: B256, index_in_tx: u32) -> atoll_core::TransferId {
    atoll_core::TransferId::derive(atoll_core::ChainId(chain_id), tx.as_slice(), index_in_tx)
}

/// Numbers a vault's deposits within their transactions, fed in chain order: the position
/// [`deposit_id`] takes. All logs of a transaction lie in one block, so one counter per batch
/// of whole blocks is enough.
#[derive(Debug, Default)]
pub struct DepositPositions(std::collections::HashMap<B256, u32>);

impl DepositPositions {
    /// The position of the next deposit of `tx`.
    pub fn next(&mut self, tx: B256) -> u32 {
        let n = self.0.entry(tx).or_insert(0);
        let at = *n;
        *n += 1;
        at
    }
}

pub fn position(log: &Log) -> Option<LogPosition> {
    Some(LogPosition {
        address: log.address(),
        block_number: log.block_number?,
        block_hash: log.block_hash?,
        tx_hash: log.transaction_hash?,
        log_index: log.log_index?,
    })
}

fn i24(v: alloy::primitives::aliases::I24) -> i32 {
    v.as_i32()
}

/// Decodes a log, or `None` when its first topic is not one Atoll reads. A pending log (no
/// block or index yet) is `None` too: only mined logs are ingested.
///
/// One arm per event signature, each a few lines through `dec!`: longer than a screen because
/// the table of every event Atoll reads is clearest as one match.
pub fn decode(log: &Log) -> Option<Result<(LogPosition, EvmEvent), MalformedLog>> {
    let topic0 = *log.topic0()?;
    let pos = position(log)?;
    let inner = &log.inner;
    macro_rules! dec {
        ($ty:ty, $kind:expr, |$e:ident| $body:expr) => {
            <$ty>::decode_log(inner)
                .map(|d| {
                    let $e = d.data;
                    $body
                })
                .map_err(|err| MalformedLog {
                    address: pos.address,
                    tx_hash: pos.tx_hash,
                    log_index: pos.log_index,
                    kind: $kind,
                    reason: err.to_string(),
                })
        };
    }
    let event = match topic0 {
        t if t == IUniswapV2Pair::Swap::SIGNATURE_HASH => {
            dec!(IUniswapV2Pair::Swap, "v2_swap", |e| EvmEvent::V2Swap {
                sender: e.sender,
                to: e.to,
                amount0_in: e.amount0In,
                amount1_in: e.amount1In,
                amount0_out: e.amount0Out,
                amount1_out: e.amount1Out
            })
        }
        t if t == IUniswapV2Pair::Sync::SIGNATURE_HASH => {
            dec!(IUniswapV2Pair::Sync, "v2_sync", |e| EvmEvent::V2Sync {
                reserve0: U256::from(e.reserve0),
                reserve1: U256::from(e.reserve1)
            })
        }
        t if t == IUniswapV2Pair::Mint::SIGNATURE_HASH => {
            dec!(IUniswapV2Pair::Mint, "v2_mint", |e| EvmEvent::V2Mint {
                sender: e.sender,
                amount0: e.amount0,
                amount1: e.amount1
            })
        }
        t if t == IUniswapV2Pair::Burn::SIGNATURE_HASH => {
            dec!(IUniswapV2Pair::Burn, "v2_burn", |e| EvmEvent::V2Burn {
                sender: e.sender,
                to: e.to,
                amount0: e.amount0,
                amount1: e.amount1
            })
        }
        t if t == IUniswapV3Pool::Swap::SIGNATURE_HASH => {
            dec!(IUniswapV3Pool::Swap, "v3_swap", |e| EvmEvent::V3Swap {
                sender: e.sender,
                recipient: e.recipient,
                amount0: e.amount0,
                amount1: e.amount1,
                sqrt_price_x96: U256::from(e.sqrtPriceX96),
                liquidity: e.liquidity,
                tick: i24(e.tick)
            })
        }
        t if t == IUniswapV3Pool::Mint::SIGNATURE_HASH => {
            dec!(IUniswapV3Pool::Mint, "v3_mint", |e| EvmEvent::V3Mint {
                owner: e.owner,
                tick_lower: i24(e.tickLower),
                tick_upper: i24(e.tickUpper),
                amount: e.amount,
                amount0: e.amount0,
                amount1: e.amount1
            })
        }
        t if t == IUniswapV3Pool::Burn::SIGNATURE_HASH => {
            dec!(IUniswapV3Pool::Burn, "v3_burn", |e| EvmEvent::V3Burn {
                owner: e.owner,
                tick_lower: i24(e.tickLower),
                tick_upper: i24(e.tickUpper),
                amount: e.amount,
                amount0: e.amount0,
                amount1: e.amount1
            })
        }
        t if t == IUniswapV2Factory::PairCreated::SIGNATURE_HASH => {
            dec!(IUniswapV2Factory::PairCreated, "pair_created", |e| {
                EvmEvent::PairCreated {
                    token0: e.token0,
                    token1: e.token1,
                    pair: e.pair,
                }
            })
        }
        t if t == IUniswapV3Factory::PoolCreated::SIGNATURE_HASH => {
            dec!(IUniswapV3Factory::PoolCreated, "pool_created", |e| {
                EvmEvent::PoolCreated {
                    token0: e.token0,
                    token1: e.token1,
                    fee: e.fee.to::<u32>(),
                    tick_spacing: i24(e.tickSpacing),
                    pool: e.pool,
                }
            })
        }
        t if t == BridgeVault::TransferInitiated::SIGNATURE_HASH => {
            dec!(BridgeVault::TransferInitiated, "transfer_initiated", |e| {
                EvmEvent::TransferInitiated {
                    id: e.id,
                    token: e.token,
                    sender: e.sender,
                    amount: e.amount,
                    dst_chain_id: e.dstChainId,
                    recipient: e.recipient,
                    nonce: e.nonce,
                }
            })
        }
        _ => return None,
    };
    Some(event.map(|e| (pos, e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{LogData, address, b256};

    fn mined(address: Address, data: LogData) -> Log {
        Log {
            inner: alloy::primitives::Log { address, data },
            block_number: Some(7),
            block_hash: Some(B256::repeat_byte(1)),
            transaction_hash: Some(B256::repeat_byte(2)),
            log_index: Some(3),
            ..Default::default()
        }
    }

    #[test]
    fn v2_swap_round_trips_and_garbage_is_named() {
        let pair = address!("0x00000000000000000000000000000000000000aa");
        let e = IUniswapV2Pair::Swap {
            sender: Address::repeat_byte(5),
            amount0In: U256::from(100u8),
            amount1In: U256::ZERO,
            amount0Out: U256::ZERO,
            amount1Out: U256::from(97u8),
            to: Address::repeat_byte(6),
        };
        let (pos, ev) = decode(&mined(pair, e.encode_log_data())).unwrap().unwrap();
        assert_eq!((pos.block_number, pos.log_index, pos.address), (7, 3, pair));
        assert_eq!(ev.kind(), "v2_swap");
        assert!(
            matches!(ev, EvmEvent::V2Swap { amount1_out, .. } if amount1_out == U256::from(97u8))
        );

        let truncated = LogData::new_unchecked(
            vec![IUniswapV2Pair::Swap::SIGNATURE_HASH],
            vec![1, 2, 3].into(),
        );
        let err = decode(&mined(pair, truncated)).unwrap().unwrap_err();
        assert!(err.to_string().contains("malformed v2_swap"), "{err}");

        let unknown = LogData::new_unchecked(
            vec![b256!(
                "0x1111111111111111111111111111111111111111111111111111111111111111"
            )],
            vec![].into(),
        );
        assert!(decode(&mined(pair, unknown)).is_none());
    }
}
