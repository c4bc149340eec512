//! The Solana adapter on solana-client's nonblocking `RpcClient`: several RPC URLs with
//! failover, a governor rate limit per endpoint, retries with full-jitter backoff on transient
//! failures (I/O, timeouts, HTTP 429/5xx, node behind) and none on permanent ones; slots; and
//! accounts in `getMultipleAccounts` batches of at most 100, decoded by [`accounts`].

pub mod accounts;
pub mod deposits;
pub mod releases;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use atoll_core::settings::ChainSettings;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_client::client_error::{ClientError, ClientErrorKind};
use solana_client::nonblocking::rpc_client::RpcClient;
use solana_client::rpc_config::RpcAccountInfoConfig;
use solana_client::rpc_request::RpcError;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::account::Account;
use solana_sdk::pubkey::Pubkey;

use crate::AdapterError;
use crate::evm::RetryPolicy;
use crate::evm::rpc::endpoint_label;

/// Accounts per `getMultipleAccounts` (the RPC's limit).
pub const ACCOUNTS_PER_CALL: usize = 100;

struct Endpoint {
    label: String,
    /// Kept to take it out of error texts ([`crate::redact`]): it may carry an API key.
    url: url::Url,
    client: RpcClient,
    limiter: DefaultDirectRateLimiter,
}

/// One Solana cluster's adapter.
pub struct SolanaChain {
    pub name: String,
    endpoints: Vec<Arc<Endpoint>>,
    policy: RetryPolicy,
    /// The key the relayer signs releases with (its claim accounts derive from it), from the
    /// settings.
    pub(crate) relayer_key: Option<atoll_core::SecretRef>,
    /// The compute-unit price releases pay, in micro-lamports (the settings').
    pub(crate) priority_fee_micro_lamports: u64,
}

/// Whether a failed call may succeed if tried again.
fn transient(e: &ClientError) -> bool {
    match e.kind() {
        ClientErrorKind::Io(_) => true,
        ClientErrorKind::Reqwest(r) => {
            r.is_timeout()
                || r.is_connect()
                || r.status()
                    .is_some_and(|s| s.as_u16() == 429 || s.is_server_error())
        }
        // -32005 node behind, -32004 block not available yet, -32007/-32009 slot skipped or
        // missing in long-term storage (may appear later on another node).
        ClientErrorKind::RpcError(RpcError::RpcResponseError { code, .. }) => {
            matches!(code, -32005 | -32004 | -32014 | -32016)
        }
        ClientErrorKind::RpcError(RpcError::RpcRequestError(_)) => true,
        _ => false,
    }
}

impl SolanaChain {
    pub fn new(settings: &ChainSettings, policy: RetryPolicy) -> Result<SolanaChain, AdapterError> {
        if settings.rpc.is_empty() {
            return Err(AdapterError::NoEndpoints {
                chain: settings.name.clone(),
            });
        }
        let rps = NonZeroU32::new(settings.rate_limit_rps.max(1)).unwrap_or(NonZeroU32::MIN);
        let endpoints = settings
            .rpc
            .iter()
            .map(|url| {
                Arc::new(Endpoint {
                    label: endpoint_label(url),
                    url: url.clone(),
                    client: RpcClient::new_with_timeout_and_commitment(
                        url.to_string(),
                        Duration::from_secs(30),
                        CommitmentConfig::confirmed(),
                    ),
                    limiter: RateLimiter::direct(Quota::per_second(rps)),
                })
            })
            .collect();
        Ok(SolanaChain {
            name: settings.name.clone(),
            endpoints,
            policy,
            relayer_key: settings.relayer_key.clone(),
            priority_fee_micro_lamports: settings.priority_fee_micro_lamports,
        })
    }

    /// Runs `request` on the endpoints in turn, each `policy.rounds` times with backoff, until
    /// one answers; a permanent error is returned at once.
    pub async fn call<T, F, Fut>(&self, method: &'static str, request: F) -> Result<T, AdapterError>
    where
        F: Fn(Arc<EndpointClient>) -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut last = String::new();
        for round in 0..self.policy.rounds.max(1) {
            for e in &self.endpoints {
                e.limiter.until_ready().await;
                let started = std::time::Instant::now();
                let result = request(Arc::new(EndpointClient(e.clone()))).await;
                crate::metrics::rpc_request(
                    &self.name,
                    &e.label,
                    method,
                    started.elapsed(),
                    result.is_ok(),
                );
                match result {
                    Ok(v) => return Ok(v),
                    Err(err) if transient(&err) => {
                        let reason = crate::redact::redact_url(&err.to_string(), &e.url, &e.label);
                        tracing::debug!(chain = %self.name, method, endpoint = %e.label, error = %reason, "transient RPC failure");
                        last = format!("{}: {reason}", e.label);
                    }
                    Err(err) => {
                        return Err(AdapterError::RpcRejected {
                            chain: self.name.clone(),
                            method,
                            endpoint: e.label.clone(),
                            reason: crate::redact::redact_url(&err.to_string(), &e.url, &e.label),
                        });
                    }
                }
            }
            tokio::time::sleep(self.policy.delay(round)).await;
        }
        Err(AdapterError::RpcUnavailable {
            chain: self.name.clone(),
            method,
            attempts: self.policy.rounds.max(1) * self.endpoints.len() as u32,
            last,
        })
    }

    /// The slot at `commitment`.
    pub async fn slot(&self, commitment: CommitmentConfig) -> Result<u64, AdapterError> {
        self.call("getSlot", |c| async move {
            c.rpc().get_slot_with_commitment(commitment).await
        })
        .await
    }

    /// Accounts (owner, data) in the order asked, `None` where none exists; batches of 100.
    pub async fn accounts(
        &self,
        keys: &[Pubkey],
        commitment: CommitmentConfig,
    ) -> Result<Vec<Option<Account>>, AdapterError> {
        Ok(self.accounts_with_slot(keys, commitment).await?.1)
    }

    /// Accounts as [`SolanaChain::accounts`], with the slot they were read at. Batches after
    /// the first are read at that slot or later (`minContextSlot`); the slot returned is the
    /// newest any batch was read at.
    pub async fn accounts_with_slot(
        &self,
        keys: &[Pubkey],
        commitment: CommitmentConfig,
    ) -> Result<(u64, Vec<Option<Account>>), AdapterError> {
        self.accounts_from_slot(keys, commitment, None).await
    }

    /// Accounts as [`SolanaChain::accounts_with_slot`], every batch read at slot `at_least` or
    /// later (an endpoint behind it answers "minimum context slot not reached", and another is
    /// asked).
    pub async fn accounts_from_slot(
        &self,
        keys: &[Pubkey],
        commitment: CommitmentConfig,
        at_least: Option<u64>,
    ) -> Result<(u64, Vec<Option<Account>>), AdapterError> {
        let mut out = Vec::with_capacity(keys.len());
        let mut slot: Option<u64> = at_least;
        for chunk in keys.chunks(ACCOUNTS_PER_CALL) {
            let config = RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                data_slice: None,
                commitment: Some(commitment),
                min_context_slot: slot,
            };
            let got = self
                .call("getMultipleAccounts", |c| {
                    let chunk = chunk.to_vec();
                    let config = config.clone();
                    async move {
                        c.rpc()
                            .get_multiple_ui_accounts_with_config(&chunk, config)
                            .await
                    }
                })
                .await?;
            slot = Some(slot.map_or(got.context.slot, |s| s.max(got.context.slot)));
            for (key, account) in chunk.iter().zip(got.value) {
                let decoded =
                    match account {
                        None => None,
                        Some(ui) => Some(ui.decode::<Account>().ok_or_else(|| {
                            AdapterError::RpcRejected {
                                chain: self.name.clone(),
                                method: "getMultipleAccounts",
                                endpoint: String::new(),
                                reason: format!("account {key}: data not in base64"),
                            }
                        })?),
                    };
                out.push(decoded);
            }
        }
        Ok((slot.unwrap_or_default(), out))
    }

    /// The estimated production time of `slot` (unix seconds), `None` when the node has none
    /// (slot skipped or pruned).
    pub async fn block_time(&self, slot: u64) -> Result<Option<i64>, AdapterError> {
        match self
            .call("getBlockTime", |c| async move {
                c.rpc().get_block_time(slot).await
            })
            .await
        {
            Ok(t) => Ok(Some(t)),
            // -32004 block not available, -32009 skipped: no time for this slot.
            Err(AdapterError::RpcRejected { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The client of the endpoint a call is running on.
pub struct EndpointClient(Arc<Endpoint>);

impl EndpointClient {
    pub fn rpc(&self) -> &RpcClient {
        &self.0.client
    }
}
