//! RPC metrics every adapter call records: latency per chain, endpoint (scheme, host and port
//! only) and method, and failed requests. A process without a metrics recorder (CLI commands)
//! pays nothing; `atoll up` serves them at `/metrics`.

use std::time::Duration;

pub fn rpc_request(chain: &str, endpoint: &str, method: &'static str, took: Duration, ok: bool) {
    let labels = [
        ("chain", chain.to_string()),
        ("endpoint", endpoint.to_string()),
        ("method", method.to_string()),
    ];
    metrics::histogram!("atoll_rpc_request_duration_seconds", &labels).record(took.as_secs_f64());
    if !ok {
        metrics::counter!("atoll_rpc_errors_total", &labels).increment(1);
    }
}
