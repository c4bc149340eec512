//! GraphQL object types. How they write big integers, rates and times: docs/api.md, "Conventions".

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, Object, SimpleObject};
use atoll_store::history::HistoryEntry;
use atoll_store::records::PoolRecord;
use atoll_store::transfers::{Attempt as StoredAttempt, Transfer as StoredTransfer};
use atoll_store::treasury::TreasuryMove as StoredTreasuryMove;
use chrono::{DateTime, Utc};

use crate::ApiState;
use crate::error::{ApiError, ApiResult};

pub fn time_of_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Chain {
    pub name: String,
    /// `evm` or `solana`.
    pub kind: String,
    pub chain_id: String,
    /// Releases to this chain are paused by an operator.
    pub paused: bool,
}

#[ComplexObject]
impl Chain {
    /// EVM: what a transaction pays per gas now (EIP-1559 max fee or the gas price), in gwei,
    /// read from the chain; null on Solana or when the chain does not answer within 2 s.
    #[graphql(complexity = 20)]
    async fn gas_price_gwei(&self, ctx: &Context<'_>) -> Option<f64> {
        let state = ctx.data_unchecked::<ApiState>();
        let c = state.settings.chain(&self.name)?;
        let quick = atoll_adapters::evm::RetryPolicy {
            rounds: 1,
            ..Default::default()
        };
        let chain = atoll_adapters::capability::connect(c, quick).ok()?;
        let wei =
            tokio::time::timeout(std::time::Duration::from_secs(2), chain.gas_price_ceiling())
                .await
                .ok()?
                .ok()??;
        Some(wei as f64 / 1e9)
    }
}

/// A pool with its current metrics (a superset of DefiLlama's yields record).
pub struct Pool(pub Arc<PoolRecord>);

#[Object]
impl Pool {
    async fn id(&self) -> &str {
        &self.0.pool
    }
    async fn chain(&self) -> &str {
        &self.0.chain
    }
    async fn chain_id(&self) -> String {
        self.0.chain_id.to_string()
    }
    /// The protocol (`uniswap-v2`, `uniswap-v3`, `orca-whirlpool`, `aave_v3`, …); DefiLlama's
    /// `project`.
    async fn protocol(&self) -> &str {
        &self.0.project
    }
    /// `DEX` for an AMM pool, `LENDING` for a lending market's reserve.
    async fn kind(&self) -> crate::lending::PoolKindFilter {
        if self.0.kind == "lending" {
            crate::lending::PoolKindFilter::Lending
        } else {
            crate::lending::PoolKindFilter::Dex
        }
    }
    /// A lending reserve's own figures (rates, totals, caps, curve, realised yields); null for
    /// a DEX pool.
    async fn lending(&self) -> Option<crate::lending::LendingReserve> {
        crate::lending::LendingReserve::of(&self.0)
    }
    async fn address(&self) -> &str {
        &self.0.address
    }
    async fn symbol(&self) -> &str {
        &self.0.symbol
    }
    async fn underlying_tokens(&self) -> &[String] {
        &self.0.underlying_tokens
    }
    async fn tvl_usd(&self) -> Option<f64> {
        self.0.tvl_usd
    }
    /// `apyBase + apyReward`, a fraction.
    async fn apy(&self) -> Option<f64> {
        self.0.apy
    }
    async fn apy_base(&self) -> Option<f64> {
        self.0.apy_base
    }
    async fn apy_reward(&self) -> Option<f64> {
        self.0.apy_reward
    }
    #[graphql(name = "apyBase7d")]
    async fn apy_base_7d(&self) -> Option<f64> {
        self.0.apy_base_7d
    }
    async fn apr_base(&self) -> Option<f64> {
        self.0.apr_base
    }
    #[graphql(name = "aprBase7d")]
    async fn apr_base_7d(&self) -> Option<f64> {
        self.0.apr_base_7d
    }
    #[graphql(name = "volumeUsd1d")]
    async fn volume_usd_1d(&self) -> Option<f64> {
        self.0.volume_usd_1d
    }
    #[graphql(name = "volumeUsd7d")]
    async fn volume_usd_7d(&self) -> Option<f64> {
        self.0.volume_usd_7d
    }
    /// LP share of the fees over 24 h, in USD.
    #[graphql(name = "feesUsd1d")]
    async fn fees_usd_1d(&self) -> Option<f64> {
        self.0.fees_usd_1d
    }
    #[graphql(name = "feesUsd7d")]
    async fn fees_usd_7d(&self) -> Option<f64> {
        self.0.fees_usd_7d
    }
    /// Total swap fee in millionths (3000 = 0.30 %).
    async fn fee_ppm(&self) -> i32 {
        self.0.fee_ppm
    }
    /// The part of the fee paid to LPs, in millionths of the traded amount.
    async fn lp_fee_ppm(&self) -> i32 {
        self.0.lp_fee_ppm
    }
    async fn stablecoin(&self) -> bool {
        self.0.stablecoin
    }
    async fn outlier(&self) -> bool {
        self.0.outlier
    }
    /// Why the pool is left out of results and allocations (TVL under the floor, unpriced, …).
    async fn dropped_reason(&self) -> Option<&str> {
        self.0.dropped_reason.as_deref()
    }
    async fn price0_usd(&self) -> Option<f64> {
        self.0.price0_usd
    }
    async fn price1_usd(&self) -> Option<f64> {
        self.0.price1_usd
    }
    async fn reserve0(&self) -> Option<&str> {
        self.0.reserve0.as_deref()
    }
    async fn reserve1(&self) -> Option<&str> {
        self.0.reserve1.as_deref()
    }
    #[graphql(name = "sqrtPriceX96")]
    async fn sqrt_price_x96(&self) -> Option<&str> {
        self.0.sqrt_price_x96.as_deref()
    }
    async fn tick(&self) -> Option<i32> {
        self.0.tick
    }
    async fn liquidity(&self) -> Option<&str> {
        self.0.liquidity.as_deref()
    }
    /// Block (EVM) or slot (Solana) the state was read at.
    async fn block(&self) -> Option<String> {
        self.0.block.map(|b| b.to_string())
    }
    async fn block_time(&self) -> Option<DateTime<Utc>> {
        self.0.block_time_ms.map(time_of_ms)
    }
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

#[derive(SimpleObject)]
pub struct PoolEdge {
    pub cursor: String,
    pub node: Pool,
}

#[derive(SimpleObject)]
pub struct PoolConnection {
    pub edges: Vec<PoolEdge>,
    pub page_info: PageInfo,
    /// Pools matching the filter, over all pages.
    pub total_count: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum Interval {
    Hour,
    Day,
}

/// One bucket of a pool's history: swaps and volumes are exact sums of the swaps indexed in
/// it; TVL and yields are the last sample in it (a lending reserve's: its last update).
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct PoolHistoryBucket {
    pub start: DateTime<Utc>,
    pub swaps: i64,
    /// Swap inputs of token0 / token1, smallest units.
    pub volume0: String,
    pub volume1: String,
    /// The LPs' share of the fees, smallest units.
    pub lp_fees0: String,
    pub lp_fees1: String,
    pub volume_usd: Option<f64>,
    pub fees_usd: Option<f64>,
    pub tvl_usd: Option<f64>,
    pub apy: Option<f64>,
    pub apy_base: Option<f64>,
    /// Lending reserves: utilisation, variable borrow APY and liquidity index (ray) at the
    /// bucket's last update; null for DEX pools.
    pub utilization: Option<f64>,
    pub borrow_apy: Option<f64>,
    pub liquidity_index: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TransferStatus {
    Observed,
    SourceFinal,
    Signed,
    Broadcast,
    Included,
    Confirmed,
    AwaitingLiquidity,
    Paused,
    Failed,
    /// Release attempts used up, none able to land: an operator retries it once the cause
    /// is fixed (`retryTransfer`).
    Stuck,
    /// Held by its route's `when_profitable` policy: the fee does not cover its gas at the
    /// destination's current price (`failureReason` says by how much). Goes when gas falls.
    AwaitingGas,
}

impl From<TransferStatus> for atoll_core::TransferStatus {
    fn from(s: TransferStatus) -> Self {
        use atoll_core::TransferStatus as C;
        match s {
            TransferStatus::Observed => C::Observed,
            TransferStatus::SourceFinal => C::SourceFinal,
            TransferStatus::Signed => C::Signed,
            TransferStatus::Broadcast => C::Broadcast,
            TransferStatus::Included => C::Included,
            TransferStatus::Confirmed => C::Confirmed,
            TransferStatus::AwaitingLiquidity => C::AwaitingLiquidity,
            TransferStatus::Paused => C::Paused,
            TransferStatus::Failed => C::Failed,
            TransferStatus::Stuck => C::Stuck,
            TransferStatus::AwaitingGas => C::AwaitingGas,
        }
    }
}

impl From<atoll_core::TransferStatus> for TransferStatus {
    fn from(core: atoll_core::TransferStatus) -> TransferStatus {
        use atoll_core::TransferStatus as C;
        match core {
            C::Observed => TransferStatus::Observed,
            C::SourceFinal => TransferStatus::SourceFinal,
            C::Signed => TransferStatus::Signed,
            C::Broadcast => TransferStatus::Broadcast,
            C::Included => TransferStatus::Included,
            C::Confirmed => TransferStatus::Confirmed,
            C::AwaitingLiquidity => TransferStatus::AwaitingLiquidity,
            C::Paused => TransferStatus::Paused,
            C::Failed => TransferStatus::Failed,
            C::Stuck => TransferStatus::Stuck,
            C::AwaitingGas => TransferStatus::AwaitingGas,
        }
    }
}

/// A bridge transfer: a deposit on its source chain and the release it becomes.
pub struct Transfer(pub StoredTransfer);

fn chain_name(ctx: &Context<'_>, id: u64) -> String {
    let state = ctx.data_unchecked::<ApiState>();
    state
        .settings
        .chains
        .iter()
        .find(|c| c.chain_id.0 == id)
        .map_or_else(|| id.to_string(), |c| c.name.clone())
}

#[Object]
impl Transfer {
    /// The `TransferId` (0x + 64 hex digits).
    async fn id(&self) -> String {
        self.0.id.to_string()
    }
    async fn source_chain(&self, ctx: &Context<'_>) -> String {
        chain_name(ctx, self.0.source_chain_id)
    }
    /// Empty when the deposit named no readable destination.
    async fn dest_chain(&self, ctx: &Context<'_>) -> String {
        if self.0.dest_chain_id == 0 {
            String::new()
        } else {
            chain_name(ctx, self.0.dest_chain_id)
        }
    }
    /// Transaction hash (EVM) or signature (Solana) of the deposit.
    async fn source_tx(&self) -> &str {
        &self.0.source_tx
    }
    async fn source_index(&self) -> String {
        self.0.source_index.to_string()
    }
    async fn source_block(&self) -> String {
        self.0.source_block.to_string()
    }
    async fn source_token(&self) -> &str {
        &self.0.source_token
    }
    async fn dest_token(&self) -> Option<&str> {
        self.0.dest_token.as_deref()
    }
    async fn sender(&self) -> &str {
        &self.0.sender
    }
    async fn recipient(&self) -> &str {
        &self.0.recipient
    }
    /// Deposited, in the source token's smallest unit.
    async fn amount_in(&self) -> String {
        self.0.amount_in.to_string()
    }
    /// Released, in the destination token's smallest unit (after the fee).
    async fn amount_out(&self) -> Option<String> {
        self.0.amount_out.map(|a| a.to_string())
    }
    async fn fee(&self) -> Option<String> {
        self.0.fee.map(|f| f.to_string())
    }
    async fn status(&self) -> TransferStatus {
        self.0.status.into()
    }
    async fn failure_reason(&self) -> Option<String> {
        self.0.failure_reason.as_ref().map(ToString::to_string)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time_of_ms(self.0.created_at_ms)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time_of_ms(self.0.updated_at_ms)
    }
    /// Every release signed for it (EVM transactions, Solana messages), oldest first.
    #[graphql(complexity = 10)]
    async fn attempts(&self, ctx: &Context<'_>) -> ApiResult<Vec<Attempt>> {
        let state = ctx.data_unchecked::<ApiState>();
        let rows = state
            .reader
            .transfer_attempts(self.0.id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Attempt).collect())
    }
    /// Every status it took, with the reason for each wait, retry and failure.
    #[graphql(complexity = 10)]
    async fn history(&self, ctx: &Context<'_>) -> ApiResult<Vec<StatusChange>> {
        let state = ctx.data_unchecked::<ApiState>();
        let rows = state
            .reader
            .transfer_history(self.0.id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(StatusChange).collect())
    }
}

pub struct Attempt(pub StoredAttempt);

#[Object]
impl Attempt {
    async fn chain(&self, ctx: &Context<'_>) -> String {
        chain_name(ctx, self.0.chain_id)
    }
    async fn nonce(&self) -> Option<String> {
        self.0.nonce.map(|n| n.to_string())
    }
    async fn blockhash(&self) -> Option<&str> {
        self.0.blockhash.as_deref()
    }
    /// Transaction hash (EVM) or signature (Solana).
    async fn tx_hash(&self) -> &str {
        &self.0.tx_hash
    }
    async fn max_fee_per_gas(&self) -> Option<String> {
        self.0.max_fee_per_gas.map(|f| f.to_string())
    }
    async fn priority_fee(&self) -> Option<String> {
        self.0.priority_fee.map(|f| f.to_string())
    }
    async fn status(&self) -> &str {
        self.0.status.as_str()
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time_of_ms(self.0.created_at_ms)
    }
}

pub struct StatusChange(pub HistoryEntry);

#[Object]
impl StatusChange {
    async fn from(&self) -> Option<&str> {
        self.0.from_status.map(atoll_core::TransferStatus::as_str)
    }
    async fn to(&self) -> &str {
        self.0.to_status.as_str()
    }
    async fn reason(&self) -> Option<String> {
        self.0.reason.as_ref().map(ToString::to_string)
    }
    async fn at(&self) -> DateTime<Utc> {
        time_of_ms(self.0.at_ms)
    }
}

#[derive(SimpleObject)]
pub struct TransferEdge {
    pub cursor: String,
    pub node: Transfer,
}

#[derive(SimpleObject)]
pub struct TransferConnection {
    pub edges: Vec<TransferEdge>,
    pub page_info: PageInfo,
    pub total_count: i64,
}

#[derive(SimpleObject)]
pub struct Relayer {
    pub chains: Vec<RelayerChain>,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct RelayerChain {
    pub name: String,
    pub paused: bool,
    pub paused_reason: Option<String>,
    /// Deposits made on this chain still waiting for their finality.
    pub observed: i64,
    /// Releases to this chain waiting for the executor (final, awaiting liquidity, paused).
    pub queued: i64,
    /// Releases signed, broadcast or included, not yet confirmed.
    pub in_flight: i64,
    pub confirmed: i64,
    pub failed: i64,
    /// Release attempts used up: each needs `retryTransfer` once its cause is fixed.
    pub stuck: i64,
    /// Held by a `when_profitable` route: the fee does not cover the gas now.
    pub awaiting_gas: i64,
    /// Why the newest of them waits, e.g. `fee $0.50 < gas $3.20 at 80 gwei (+10 % margin)`.
    pub awaiting_gas_reason: Option<String>,
    pub oldest_pending_age_s: Option<i64>,
    /// EVM: the nonce the next release takes; null before the first.
    pub next_nonce: Option<String>,
    pub balances: Vec<VaultBalance>,
    /// Why balances are missing (RPC down, no vault configured).
    pub balances_error: Option<String>,
    #[graphql(skip)]
    pub last_error_text: Option<String>,
}

#[ComplexObject]
impl RelayerChain {
    /// The last release error on this chain and how long ago, e.g. `"12s ago, 0xabc…: reverted"`.
    async fn last_error(&self) -> Option<&str> {
        self.last_error_text.as_deref()
    }
}

#[derive(SimpleObject)]
pub struct VaultBalance {
    pub symbol: String,
    pub token: String,
    /// In token units (`12.5`); null when unreadable.
    pub amount: Option<String>,
    /// In the smallest unit.
    pub raw: Option<String>,
    pub error: Option<String>,
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl From<atoll_relayer::status::ChainStatus> for RelayerChain {
    fn from(s: atoll_relayer::status::ChainStatus) -> RelayerChain {
        RelayerChain {
            name: s.name,
            paused: s.paused,
            paused_reason: s.paused_reason,
            observed: count(s.observed),
            queued: count(s.queued),
            in_flight: count(s.in_flight),
            confirmed: count(s.confirmed),
            failed: count(s.failed),
            stuck: count(s.stuck),
            awaiting_gas: count(s.awaiting_gas),
            awaiting_gas_reason: s.awaiting_gas_reason,
            oldest_pending_age_s: s.oldest_pending_age_s.map(count),
            next_nonce: s.next_nonce.map(|n| n.to_string()),
            balances: s
                .balances
                .into_iter()
                .map(|b| VaultBalance {
                    amount: b
                        .raw
                        .map(|r| atoll_core::Amount::new(r, b.decimals).to_string()),
                    raw: b.raw.map(|r| r.to_string()),
                    symbol: b.symbol,
                    token: b.token,
                    error: b.error,
                })
                .collect(),
            balances_error: s.balances_error,
            last_error_text: s
                .last_error
                .map(|e| format!("{}s ago, {}: {}", e.age_s, e.tx, e.error)),
        }
    }
}

#[derive(SimpleObject)]
pub struct Meta {
    pub chains: Vec<MetaChain>,
}

/// How fresh the index is on one chain.
#[derive(SimpleObject)]
pub struct MetaChain {
    pub name: String,
    pub chain_id: String,
    /// The block (slot) every stream of this chain is indexed up to.
    pub indexed_block: Option<String>,
    /// The chain's newest block as this server last saw it.
    pub head_block: Option<String>,
    /// Seconds since the first block the index has not reached appeared; 0 at the head.
    pub lag_s: Option<f64>,
    /// Why the head is unknown or stale.
    pub head_error: Option<String>,
}

/// Capital the treasury sent through the bridge.
pub struct TreasuryMove(pub StoredTreasuryMove);

#[Object]
impl TreasuryMove {
    /// The idempotency key it was requested with.
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn from_chain(&self, ctx: &Context<'_>) -> String {
        chain_name(ctx, self.0.source_chain_id)
    }
    async fn to_chain(&self, ctx: &Context<'_>) -> String {
        chain_name(ctx, self.0.dest_chain_id)
    }
    async fn symbol(&self) -> &str {
        &self.0.symbol
    }
    /// In the source token's smallest unit.
    async fn amount(&self) -> String {
        self.0.amount.to_string()
    }
    /// `signed`, `broadcast`, `included` (deposited; the relayer takes it from there) or `failed`.
    async fn status(&self) -> &str {
        self.0.status.as_str()
    }
    /// The deposit transaction on the source chain.
    async fn tx_hash(&self) -> String {
        self.0.tx_hash.to_string()
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time_of_ms(self.0.created_at_ms)
    }
    /// The bridge transfer the deposit became, once the indexer recorded it.
    #[graphql(complexity = 10)]
    async fn transfer(&self, ctx: &Context<'_>) -> ApiResult<Option<Transfer>> {
        let state = ctx.data_unchecked::<ApiState>();
        Ok(state
            .reader
            .transfer_by_source_tx(self.0.source_chain_id, &self.0.tx_hash.to_string())
            .await
            .map_err(ApiError::from)?
            .map(Transfer))
    }
}

#[derive(SimpleObject)]
pub struct ChainPosition {
    pub chain: String,
    /// The treasury's account on this chain.
    pub address: String,
    /// Tokens and pool shares, in USD.
    pub usd: f64,
    pub tokens: Vec<TokenPosition>,
    /// LP shares of V2-style pools (V3 and Solana pool positions are not read yet).
    pub pools: Vec<PoolPosition>,
    pub error: Option<String>,
}

#[derive(SimpleObject)]
pub struct PoolPosition {
    pub pool: String,
    pub symbol: String,
    /// LP tokens held, smallest unit.
    pub lp_tokens: String,
    /// Of the pool, 0..1.
    pub share: f64,
    pub usd: Option<f64>,
}

#[derive(SimpleObject)]
pub struct TokenPosition {
    pub symbol: String,
    pub token: String,
    /// In token units.
    pub amount: String,
    pub raw: String,
    pub usd: Option<f64>,
}

impl From<atoll_relayer::treasury::ChainPosition> for ChainPosition {
    fn from(p: atoll_relayer::treasury::ChainPosition) -> ChainPosition {
        ChainPosition {
            chain: p.chain,
            address: p.address,
            usd: p.usd,
            tokens: p
                .tokens
                .into_iter()
                .map(|t| TokenPosition {
                    amount: atoll_core::Amount::new(t.raw, t.decimals).to_string(),
                    raw: t.raw.to_string(),
                    symbol: t.symbol,
                    token: t.token,
                    usd: t.usd,
                })
                .collect(),
            pools: p
                .pools
                .into_iter()
                .map(|q| PoolPosition {
                    pool: q.pool,
                    symbol: q.symbol,
                    lp_tokens: q.lp_tokens.to_string(),
                    share: q.share,
                    usd: q.usd,
                })
                .collect(),
            error: p.error,
        }
    }
}

/// `atoll audit`'s verdict: the bridge's books proven from the chains (see docs/relayer.md).
#[derive(SimpleObject)]
pub struct Audit {
    /// No discrepancy.
    pub clean: bool,
    pub transfers: i64,
    pub deposits_read: i64,
    pub releases_read: i64,
    pub took_ms: i64,
    pub discrepancies: Vec<AuditDiscrepancy>,
    /// Per source chain and token, raw units: deposited = released + fees + pending + failed
    /// + unrecorded.
    pub books: Vec<AuditBook>,
    /// Per vault and token, raw units: balance = opening + deposited − released + added −
    /// withdrawn.
    pub vaults: Vec<AuditVault>,
}

/// One disagreement between the chains and the database.
#[derive(SimpleObject)]
pub struct AuditDiscrepancy {
    /// Machine-readable: `released_twice`, `release_without_transfer`, …
    pub kind: String,
    /// What it is, with the transfer id and transaction.
    pub message: String,
}

#[derive(SimpleObject)]
pub struct AuditBook {
    pub chain_id: String,
    pub token: String,
    pub deposits: i64,
    pub deposited: String,
    pub released: String,
    pub fees: String,
    pub pending: String,
    pub failed: String,
    pub unrecorded: String,
}

#[derive(SimpleObject)]
pub struct AuditVault {
    pub chain: String,
    pub token: String,
    pub balance: String,
    pub opening: Option<String>,
    pub deposited: String,
    pub released: String,
    pub added: String,
    pub withdrawn: String,
}

impl From<&atoll_relayer::audit::AuditReport> for Audit {
    fn from(r: &atoll_relayer::audit::AuditReport) -> Audit {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        Audit {
            clean: r.clean,
            transfers: count(r.transfers),
            deposits_read: count(r.deposits_read),
            releases_read: count(r.releases_read),
            took_ms: i64::try_from(r.took_ms).unwrap_or(i64::MAX),
            discrepancies: r
                .discrepancies
                .iter()
                .map(|d| AuditDiscrepancy {
                    kind: serde_json::to_value(d)
                        .ok()
                        .and_then(|v| Some(v.get("kind")?.as_str()?.to_string()))
                        .unwrap_or_default(),
                    message: d.to_string(),
                })
                .collect(),
            books: r
                .books
                .iter()
                .map(|b| AuditBook {
                    chain_id: b.chain_id.to_string(),
                    token: b.token.clone(),
                    deposits: i64::try_from(b.deposits).unwrap_or(i64::MAX),
                    deposited: b.deposited.clone(),
                    released: b.released.clone(),
                    fees: b.fees.clone(),
                    pending: b.pending.clone(),
                    failed: b.failed.clone(),
                    unrecorded: b.unrecorded.clone(),
                })
                .collect(),
            vaults: r
                .vaults
                .iter()
                .map(|v| AuditVault {
                    chain: v.chain.clone(),
                    token: v.token.clone(),
                    balance: v.balance.clone(),
                    opening: v.opening.clone(),
                    deposited: v.deposited.clone(),
                    released: v.released.clone(),
                    added: v.added.clone(),
                    withdrawn: v.withdrawn.clone(),
                })
                .collect(),
        }
    }
}
