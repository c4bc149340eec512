//! `/metrics` in Prometheus text format. Request latency and RPC calls are recorded as they
//! happen; gauges that describe state (transfers by status, indexer lag per chain) are read
//! from the store and the head tracker at scrape time, so they are never stale.
//! RPC calls are recorded by the adapters (`atoll_rpc_request_duration_seconds`,
//! `atoll_rpc_errors_total`, by chain, endpoint and method; endpoints as scheme, host and port
//! only, since paths often carry provider API keys).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::ApiState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide recorder, installed on first use. `None` when another recorder was
/// installed first (then `/metrics` says so instead of serving empty figures).
fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Installs the recorder (call once at start-up so early calls are counted).
pub fn install() {
    let _ = handle();
}

pub fn http_request(route: &'static str, status: u16, took: Duration) {
    metrics::histogram!("atoll_http_request_duration_seconds", "route" => route)
        .record(took.as_secs_f64());
    metrics::counter!("atoll_http_requests_total", "route" => route, "status" => status.to_string())
        .increment(1);
}

/// Sets the state gauges, then renders everything.
pub async fn render(state: &ApiState) -> Result<String, String> {
    let Some(h) = handle() else {
        return Err("another metrics recorder is installed in this process".into());
    };
    let mut by_status: std::collections::HashMap<atoll_core::TransferStatus, u64> =
        Default::default();
    for c in state
        .reader
        .transfer_counts()
        .await
        .map_err(|e| e.metric_label().to_string())?
    {
        *by_status.entry(c.status).or_default() += c.count;
    }
    for s in atoll_core::TransferStatus::ALL {
        let n = by_status.get(&s).copied().unwrap_or(0);
        metrics::gauge!("atoll_transfers", "status" => s.as_str()).set(n as f64);
    }
    let indexed = crate::schema::indexed_blocks(&state.reader)
        .await
        .map_err(|e| e.to_string())?;
    for c in &state.settings.chains {
        let id = c.chain_id.0;
        let at = indexed.get(&id).copied();
        if let Some(b) = at {
            metrics::gauge!("atoll_indexed_block", "chain" => c.name.clone()).set(b as f64);
        }
        if let Some(h) = state.heads.head(id) {
            metrics::gauge!("atoll_head_block", "chain" => c.name.clone()).set(h as f64);
        }
        if let Some(lag) = state.heads.lag_s(id, at) {
            metrics::gauge!("atoll_indexer_lag_seconds", "chain" => c.name.clone()).set(lag);
        }
    }
    metrics::gauge!("atoll_pools").set(state.catalog.snapshot().pools.len() as f64);
    Ok(h.render())
}
