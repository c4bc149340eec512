//! The audit (`atoll_relayer::audit`) served to operators and kept in `/metrics`. Reading every
//! vault's history from the chains is heavy, so one audit runs at a time and a report younger
//! than the caller's `max_age` is reused: no client, operator or not, can make the server read
//! the chains faster than that.

use std::sync::Arc;
use std::time::Duration;

use atoll_core::settings::Settings;
use atoll_relayer::audit::AuditReport;
use atoll_store::Store;

use crate::error::ApiError;
use crate::shared::Shared;

/// The last report, shared ([`crate::shared::Shared`]: runs are single-flight).
#[derive(Default)]
pub struct AuditCache {
    last: Shared<AuditReport>,
}

impl AuditCache {
    /// A report at most `max_age` old: the last one, or a new run (waiting for one under way).
    pub async fn report(
        &self,
        settings: &Settings,
        store: &Store,
        max_age: Duration,
    ) -> Result<Arc<AuditReport>, ApiError> {
        self.last
            .get(max_age, || async {
                let report = atoll_relayer::audit::run(settings, store).await?;
                record(&report);
                Ok::<_, ApiError>(report)
            })
            .await
    }
}

/// The verdict as gauges: discrepancies, clean (1/0), how long it took, when it ran.
fn record(r: &AuditReport) {
    metrics::gauge!("atoll_audit_discrepancies").set(r.discrepancies.len() as f64);
    metrics::gauge!("atoll_audit_clean").set(if r.clean { 1.0 } else { 0.0 });
    metrics::gauge!("atoll_audit_duration_seconds").set(r.took_ms as f64 / 1_000.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    metrics::gauge!("atoll_audit_last_run_timestamp_seconds").set(now);
    if !r.clean {
        for d in &r.discrepancies {
            tracing::error!(discrepancy = %d, "audit");
        }
    }
}
