//! `eth_getLogs` over a block range in windows that adapt: halved (or set to the node's hint)
//! when the node refuses a window, doubled again while answers stay small. The window is kept
//! between calls, so a backfill learns its node's limit once.

use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};

use super::EvmChain;
use super::rpc::Fault;
use crate::AdapterError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogWindow {
    /// Blocks asked for in one request.
    pub blocks: u64,
    pub max_blocks: u64,
    /// Answers with fewer logs than this grow the window.
    pub grow_below: usize,
    /// Answers with more logs than this shrink it (a node that never refuses would otherwise
    /// send ever larger answers).
    pub shrink_above: usize,
    /// The smallest span the node refused: growth stays below it, so a learned limit is not
    /// probed again on every other request.
    pub refused_span: Option<u64>,
}

impl LogWindow {
    pub fn new(blocks: u64, max_blocks: u64, grow_below: usize) -> LogWindow {
        LogWindow {
            blocks,
            max_blocks,
            grow_below,
            shrink_above: grow_below.saturating_mul(10),
            refused_span: None,
        }
    }

    fn grow(&mut self) {
        let limit = self.refused_span.map_or(self.max_blocks, |r| {
            r.saturating_sub(1).min(self.max_blocks)
        });
        self.blocks = self.blocks.saturating_mul(2).min(limit).max(1);
    }
}

impl Default for LogWindow {
    fn default() -> Self {
        LogWindow::new(2_000, 100_000, 2_000)
    }
}

impl EvmChain {
    /// Every log matching `filter` in blocks `from..=to`, in chain order.
    pub async fn logs(
        &self,
        filter: &Filter,
        from: u64,
        to: u64,
        window: &mut LogWindow,
    ) -> Result<Vec<Log>, AdapterError> {
        let mut out = Vec::new();
        let mut start = from;
        while start <= to {
            let end = start.saturating_add(window.blocks.max(1) - 1).min(to);
            let query = filter.clone().from_block(start).to_block(end);
            let answer = self
                .rpc
                .call_classified("eth_getLogs", |p| {
                    let q = query.clone();
                    async move { p.get_logs(&q).await }
                })
                .await;
            match answer {
                Ok(logs) => {
                    if logs.len() < window.grow_below {
                        window.grow();
                    } else if logs.len() > window.shrink_above {
                        window.blocks = (window.blocks / 2).max(1);
                    }
                    out.extend(logs);
                    start = end.saturating_add(1);
                    if end == u64::MAX {
                        break;
                    }
                }
                Err((Fault::RangeTooLarge { suggested }, _)) => {
                    let span = end - start + 1;
                    if span == 1 {
                        return Err(AdapterError::RangeTooLarge {
                            chain: self.name.clone(),
                            from: start,
                            to: end,
                            suggested,
                        });
                    }
                    window.refused_span = Some(window.refused_span.map_or(span, |r| r.min(span)));
                    window.blocks = suggested.filter(|s| *s < span).unwrap_or(span / 2).max(1);
                    tracing::debug!(chain = %self.name, from = start, to = end, new_window = window.blocks, "log range refused; splitting");
                }
                Err((Fault::Permanent(reason), endpoint)) => {
                    return Err(AdapterError::RpcRejected {
                        chain: self.name.clone(),
                        method: "eth_getLogs",
                        endpoint,
                        reason,
                    });
                }
                Err((Fault::Transient(last), endpoint)) => {
                    return Err(AdapterError::RpcUnavailable {
                        chain: self.name.clone(),
                        method: "eth_getLogs",
                        attempts: self.rpc.max_attempts(),
                        last: format!("{endpoint}: {last}"),
                    });
                }
            }
        }
        Ok(out)
    }
}
