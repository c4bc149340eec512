//! Every configured chain's head as the API last saw it, for freshness (`_meta`, `/readyz`,
//! `/metrics`). A task per chain polls the tip; each new height is stamped with when it was first
//! seen, so a chain's lag in seconds is the age of the oldest block the index has not reached.
//! Polls go through the adapters (their rate limiter, their RPC metrics).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atoll_core::settings::{ChainSettings, Settings};

/// How many recent heights each chain remembers (older ones count as "at least this old").
const REMEMBERED: usize = 4096;

#[derive(Debug, Default)]
struct ChainHead {
    /// (height, first seen), ascending.
    seen: VecDeque<(u64, Instant)>,
    last_error: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct ChainHeads {
    chains: Arc<Mutex<HashMap<u64, ChainHead>>>,
}

impl ChainHeads {
    /// The newest height seen on `chain_id`.
    pub fn head(&self, chain_id: u64) -> Option<u64> {
        let chains = self.chains.lock().ok()?;
        chains.get(&chain_id)?.seen.back().map(|(h, _)| *h)
    }

    /// Seconds since the first block above `indexed` appeared; 0 when the index is at the
    /// head; `None` when no head was seen yet.
    pub fn lag_s(&self, chain_id: u64, indexed: Option<u64>) -> Option<f64> {
        let chains = self.chains.lock().ok()?;
        let c = chains.get(&chain_id)?;
        let (head, _) = c.seen.back()?;
        if indexed.is_some_and(|i| i >= *head) {
            return Some(0.0);
        }
        let first_missing = c
            .seen
            .iter()
            .find(|(h, _)| indexed.is_none_or(|i| *h > i))
            .or(c.seen.front())?;
        Some(first_missing.1.elapsed().as_secs_f64())
    }

    pub fn last_error(&self, chain_id: u64) -> Option<String> {
        let chains = self.chains.lock().ok()?;
        chains.get(&chain_id)?.last_error.clone()
    }

    /// Records a poll's result (public for tests that drive heads by hand).
    pub fn observe(&self, chain_id: u64, result: Result<u64, String>) {
        let Ok(mut chains) = self.chains.lock() else {
            return;
        };
        let c = chains.entry(chain_id).or_default();
        match result {
            Ok(h) => {
                c.last_error = None;
                if c.seen.back().is_none_or(|(last, _)| h > *last) {
                    c.seen.push_back((h, Instant::now()));
                    while c.seen.len() > REMEMBERED {
                        c.seen.pop_front();
                    }
                }
            }
            Err(e) => c.last_error = Some(e),
        }
    }

    /// Polls every chain of `settings` each `interval` until `shutdown` turns true.
    pub async fn follow(
        &self,
        settings: Arc<Settings>,
        interval: Duration,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let tasks = settings.chains.iter().map(|c| {
            let heads = self.clone();
            let mut shutdown = shutdown.clone();
            let chain = c.clone();
            async move {
                let poller = match Poller::new(&chain) {
                    Ok(p) => p,
                    Err(e) => {
                        heads.observe(chain.chain_id.0, Err(e));
                        return;
                    }
                };
                let mut tick = tokio::time::interval(interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = shutdown.changed() => return,
                    }
                    if *shutdown.borrow() {
                        return;
                    }
                    heads.observe(chain.chain_id.0, poller.tip().await);
                }
            }
        });
        futures::future::join_all(tasks).await;
    }
}

/// A chain's head, asked through its adapter's [`atoll_adapters::capability::Heights`].
struct Poller(std::sync::Arc<dyn atoll_adapters::capability::Chain>);

impl Poller {
    fn new(chain: &ChainSettings) -> Result<Poller, String> {
        let quick = atoll_adapters::evm::RetryPolicy {
            rounds: 1,
            ..Default::default()
        };
        atoll_adapters::capability::connect(chain, quick)
            .map(Poller)
            .map_err(|e| e.to_string())
    }

    async fn tip(&self) -> Result<u64, String> {
        self.0.tip().await.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_zero_at_the_head_and_grows_behind_it() {
        let heads = ChainHeads::default();
        assert_eq!(heads.lag_s(1, Some(0)), None);
        heads.observe(1, Ok(10));
        heads.observe(1, Ok(12));
        assert_eq!(heads.head(1), Some(12));
        assert_eq!(heads.lag_s(1, Some(12)), Some(0.0));
        assert!(heads.lag_s(1, Some(10)).unwrap() >= 0.0);
        heads.observe(1, Err("connection refused".into()));
        assert_eq!(heads.last_error(1).as_deref(), Some("connection refused"));
        assert_eq!(heads.head(1), Some(12), "an error keeps the last head");
    }
}
