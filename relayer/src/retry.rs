//! An operator's retry, after fixing a transfer's cause:
//! - `failed` with nothing ever signed (refused at intake, refused by the token, reorged out
//!   and back): back through validation and finality (`failed → observed`);
//! - `stuck` (its release attempts used up, none able to land): signed again
//!   (`stuck → source_final`) only once its destination shows no release of it
//!   ([`atoll_adapters::capability::ReleaseLookup`]: EVM `processed(id)` on the vault, Solana
//!   the transfer's claim account). A release found there means it was paid: nothing is
//!   retried, and the refusal says so.

use atoll_adapters::evm::RetryPolicy;
use atoll_core::settings::Settings;
use atoll_core::{TransferId, TransferStatus};
use atoll_store::Store;

use crate::RelayerError;

/// What a retry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retried {
    /// `failed → observed`: validation and finality run again.
    Revalidated,
    /// `stuck → source_final`: its release is signed again.
    SignedAgain,
}

pub async fn retry(
    settings: &Settings,
    store: &Store,
    id: TransferId,
    note: &str,
) -> Result<Retried, RelayerError> {
    let t = store
        .transfer(id)
        .await?
        .ok_or_else(|| RelayerError::Refused(format!("no transfer {id}")))?;
    if t.status != TransferStatus::Stuck {
        store.retry(id, note).await?;
        return Ok(Retried::Revalidated);
    }
    let dest = settings
        .chains
        .iter()
        .find(|c| c.chain_id.0 == t.dest_chain_id)
        .ok_or_else(|| {
            RelayerError::Refused(format!(
                "{id}: destination chain {} is not configured",
                t.dest_chain_id
            ))
        })?;
    let chain = atoll_adapters::capability::connect(dest, RetryPolicy::default())?;
    let Some(released) = chain.released(id).await? else {
        return Err(RelayerError::Refused(format!(
            "{id}: {} has no vault and relayer key to check",
            dest.name
        )));
    };
    if released {
        return Err(RelayerError::Refused(format!(
            "{id}: {} shows a release of it already; it was paid and is not retried",
            dest.name
        )));
    }
    store.release_stuck(id, note).await?;
    Ok(Retried::SignedAgain)
}
