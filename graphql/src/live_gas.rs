//! Live release costs per chain (`atoll_relayer::profit::live_gas_usd`) for the router's
//! quotes: the `gas_usd` of chains a request leaves out. Reading them asks every chain's node,
//! so one read runs at a time and its figures are reused for `MAX_AGE`: no client can make the
//! server ask the chains faster than that.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use atoll_core::settings::Settings;
use atoll_store::Store;

use crate::shared::Shared;

/// Figures younger than this are reused.
const MAX_AGE: Duration = Duration::from_secs(30);
/// Each chain answers within this, or is left out of the figures.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// USD per release by chain, and notes on how each was found.
pub type LiveGas = Arc<(BTreeMap<String, f64>, Vec<String>)>;

#[derive(Default)]
pub struct LiveGasCache {
    last: Shared<(BTreeMap<String, f64>, Vec<String>)>,
}

impl LiveGasCache {
    pub async fn figures(&self, settings: &Settings, store: &Store) -> LiveGas {
        let read = self
            .last
            .get(MAX_AGE, || async {
                Ok::<_, std::convert::Infallible>(
                    atoll_relayer::profit::live_gas_usd(settings, store, READ_TIMEOUT).await,
                )
            })
            .await;
        match read {
            Ok(figures) => figures,
            Err(never) => match never {},
        }
    }
}
