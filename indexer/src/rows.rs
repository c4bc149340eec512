//! From decoded pool logs to what the store keeps: one [`EventRow`] per log (its payload a
//! compact JSON object with amounts as decimal strings), and the swap volumes summed per pool
//! and hour bucket ([`HourlyDelta`]). V2 swaps count `amountIn`s; V3 swaps the positive side of
//! `amount0/amount1` (what the trader paid in).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use alloy::primitives::{I256, U256};
use atoll_adapters::evm::events::{EvmEvent, LogPosition};
use atoll_store::ingest::{EventRow, HourlyDelta};

use crate::yields::hour_bucket;

/// The swap inputs of an event, `None` when it is not a swap.
pub fn swap_volume(event: &EvmEvent) -> Option<(U256, U256)> {
    let positive = |v: &I256| {
        if v.is_positive() {
            v.unsigned_abs()
        } else {
            U256::ZERO
        }
    };
    match event {
        EvmEvent::V2Swap {
            amount0_in,
            amount1_in,
            ..
        } => Some((*amount0_in, *amount1_in)),
        EvmEvent::V3Swap {
            amount0, amount1, ..
        } => Some((positive(amount0), positive(amount1))),
        _ => None,
    }
}

/// Whether the event is one a pool emits (the ones stored in `pool_events`).
pub fn is_pool_event(event: &EvmEvent) -> bool {
    matches!(
        event,
        EvmEvent::V2Swap { .. }
            | EvmEvent::V2Sync { .. }
            | EvmEvent::V2Mint { .. }
            | EvmEvent::V2Burn { .. }
            | EvmEvent::V3Swap { .. }
            | EvmEvent::V3Mint { .. }
            | EvmEvent::V3Burn { .. }
    )
}

/// The event's fields as a JSON object; numbers that may exceed 2^53 are strings.
pub fn payload(event: &EvmEvent) -> String {
    let mut s = String::with_capacity(200);
    // Writing to a String cannot fail.
    let _ = match event {
        EvmEvent::V2Swap {
            sender,
            to,
            amount0_in,
            amount1_in,
            amount0_out,
            amount1_out,
        } => write!(
            s,
            r#"{{"sender":"{sender:#x}","to":"{to:#x}","amount0_in":"{amount0_in}","amount1_in":"{amount1_in}","amount0_out":"{amount0_out}","amount1_out":"{amount1_out}"}}"#
        ),
        EvmEvent::V2Sync { reserve0, reserve1 } => {
            write!(s, r#"{{"reserve0":"{reserve0}","reserve1":"{reserve1}"}}"#)
        }
        EvmEvent::V2Mint {
            sender,
            amount0,
            amount1,
        } => write!(
            s,
            r#"{{"sender":"{sender:#x}","amount0":"{amount0}","amount1":"{amount1}"}}"#
        ),
        EvmEvent::V2Burn {
            sender,
            to,
            amount0,
            amount1,
        } => write!(
            s,
            r#"{{"sender":"{sender:#x}","to":"{to:#x}","amount0":"{amount0}","amount1":"{amount1}"}}"#
        ),
        EvmEvent::V3Swap {
            sender,
            recipient,
            amount0,
            amount1,
            sqrt_price_x96,
            liquidity,
            tick,
        } => write!(
            s,
            r#"{{"sender":"{sender:#x}","recipient":"{recipient:#x}","amount0":"{amount0}","amount1":"{amount1}","sqrt_price_x96":"{sqrt_price_x96}","liquidity":"{liquidity}","tick":{tick}}}"#
        ),
        EvmEvent::V3Mint {
            owner,
            tick_lower,
            tick_upper,
            amount,
            amount0,
            amount1,
        }
        | EvmEvent::V3Burn {
            owner,
            tick_lower,
            tick_upper,
            amount,
            amount0,
            amount1,
        } => write!(
            s,
            r#"{{"owner":"{owner:#x}","tick_lower":{tick_lower},"tick_upper":{tick_upper},"amount":"{amount}","amount0":"{amount0}","amount1":"{amount1}"}}"#
        ),
        other => write!(s, r#"{{"kind":"{}"}}"#, other.kind()),
    };
    s
}

/// Rows and hourly volumes of one batch, built event by event.
#[derive(Debug, Default)]
pub struct BatchRows {
    pub events: Vec<EventRow>,
    /// Per pool, per hour bucket.
    hourly: HashMap<String, BTreeMap<i64, HourlyDelta>>,
}

impl BatchRows {
    pub fn with_capacity(n: usize) -> BatchRows {
        BatchRows {
            events: Vec::with_capacity(n),
            hourly: HashMap::new(),
        }
    }

    pub fn push(&mut self, pos: &LogPosition, event: &EvmEvent, pool_id: &str, time_ms: i64) {
        let volume = swap_volume(event);
        if let Some((v0, v1)) = volume {
            let bucket = hour_bucket(time_ms);
            // Looked up by &str first: no allocation per event for a pool already seen.
            let buckets = match self.hourly.get_mut(pool_id) {
                Some(b) => b,
                None => self.hourly.entry(pool_id.to_string()).or_default(),
            };
            let d = buckets.entry(bucket).or_insert_with(|| HourlyDelta {
                pool_id: pool_id.to_string(),
                bucket_start_ms: bucket,
                swaps: 0,
                volume0: U256::ZERO,
                volume1: U256::ZERO,
                first_block: pos.block_number,
                last_block: pos.block_number,
                lp_fees: None,
            });
            d.swaps += 1;
            d.volume0 = d.volume0.saturating_add(v0);
            d.volume1 = d.volume1.saturating_add(v1);
            d.first_block = d.first_block.min(pos.block_number);
            d.last_block = d.last_block.max(pos.block_number);
        }
        self.events.push(EventRow {
            tx_hash: format!("{:#x}", pos.tx_hash),
            log_index: pos.log_index,
            block_number: pos.block_number,
            block_hash: format!("{:#x}", pos.block_hash),
            block_time_ms: time_ms,
            pool_id: pool_id.to_string(),
            kind: event.kind(),
            payload: payload(event),
            volume,
        });
    }

    /// The batch's hourly deltas, by pool id and bucket.
    pub fn hourly(&self) -> Vec<HourlyDelta> {
        let mut out: Vec<HourlyDelta> = self
            .hourly
            .values()
            .flat_map(|b| b.values().cloned())
            .collect();
        out.sort_by(|a, b| (&a.pool_id, a.bucket_start_ms).cmp(&(&b.pool_id, b.bucket_start_ms)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, B256};

    #[test]
    fn v3_volume_is_the_positive_side_and_payload_is_json() {
        let e = EvmEvent::V3Swap {
            sender: Address::ZERO,
            recipient: Address::ZERO,
            amount0: I256::try_from(-5i64).unwrap(),
            amount1: I256::try_from(7i64).unwrap(),
            sqrt_price_x96: U256::from(1u64) << 96,
            liquidity: 10,
            tick: -3,
        };
        assert_eq!(swap_volume(&e), Some((U256::ZERO, U256::from(7u64))));
        let p = payload(&e);
        assert!(p.contains(r#""amount0":"-5""#), "{p}");
        assert!(p.contains(r#""tick":-3"#), "{p}");
        assert!(p.starts_with('{') && p.ends_with('}'));
    }

    #[test]
    fn swaps_sum_per_pool_and_hour() {
        let pos = |block| LogPosition {
            address: Address::ZERO,
            block_number: block,
            block_hash: B256::ZERO,
            tx_hash: B256::repeat_byte(block as u8),
            log_index: 0,
        };
        let swap = |a0: u64, a1: u64| EvmEvent::V2Swap {
            sender: Address::ZERO,
            to: Address::ZERO,
            amount0_in: U256::from(a0),
            amount1_in: U256::from(a1),
            amount0_out: U256::ZERO,
            amount1_out: U256::ZERO,
        };
        let mut rows = BatchRows::default();
        rows.push(&pos(1), &swap(10, 0), "p", 1_000);
        rows.push(&pos(2), &swap(0, 4), "p", 2_000);
        rows.push(&pos(3), &swap(5, 0), "p", 3_600_000);
        let h = rows.hourly();
        assert_eq!(h.len(), 2);
        assert_eq!(
            (h[0].swaps, h[0].volume0, h[0].volume1),
            (2, U256::from(10u64), U256::from(4u64))
        );
        assert_eq!((h[0].first_block, h[0].last_block), (1, 2));
        assert_eq!(h[1].volume0, U256::from(5u64));
        assert_eq!(rows.events.len(), 3);
    }
}
