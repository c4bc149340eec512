//! The schema: queries for dashboards, mutations for operators (bearer token), subscriptions
//! for transfers and pools, and the limits every request is held to.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_graphql::{Context, InputObject, Json, Object, Schema, Subscription};
use atoll_core::time::{DAY_MS, HOUR_MS};
use atoll_store::Store;
use atoll_store::reads::{TransferCursor, TransferFilter as StoreTransferFilter};
use chrono::{DateTime, Utc};
use futures::Stream;

use crate::ApiState;
use crate::auth::Access;
use crate::catalog::{PoolFilter as CatalogFilter, PoolOrder, Position};
use crate::error::{ApiError, ApiResult};
use crate::types::*;

/// The largest page any connection returns.
pub const MAX_PAGE: i32 = 500;
const DEFAULT_PAGE: i32 = 50;
pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 25_000;
/// Answers that read the chains (`relayer`, `positions`) are shared by every client this long.
const CHAIN_READS_SHARED_FOR: Duration = Duration::from_secs(1);
/// `poolHistory` answers at most this many buckets.
const MAX_BUCKETS: i64 = 5_000;

pub type AtollSchema = Schema<Query, Mutation, SubscriptionRoot>;

pub fn build(state: ApiState) -> AtollSchema {
    let limits = crate::limits::RequestLimits {
        budgets: state.options.budgets(),
        limiter: state.limiter.clone(),
    };
    Schema::build(Query, Mutation, SubscriptionRoot)
        .data(state)
        .extension(limits)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_directives(16)
        .finish()
}

/// The schema's SDL, as committed in `graphql/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, Mutation, SubscriptionRoot)
        .finish()
        .sdl()
}

fn page_size(arg: &str, first: Option<i32>) -> Result<usize, ApiError> {
    let n = first.unwrap_or(DEFAULT_PAGE);
    if !(0..=MAX_PAGE).contains(&n) {
        return Err(ApiError::BadInput(format!(
            "{arg}: {n} is outside 0..={MAX_PAGE} (the maximum page size is {MAX_PAGE})"
        )));
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Cost of a connection field: its page size (capped as the resolver caps it) times a node.
fn connection_cost(first: Option<i32>, child: usize) -> usize {
    usize::try_from(first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)).unwrap_or(1) * child + 1
}

fn chain_id_of(state: &ApiState, arg: &str, name: &str) -> Result<u64, ApiError> {
    state
        .settings
        .chain(name)
        .map(|c| c.chain_id.0)
        .ok_or_else(|| {
            ApiError::BadInput(format!(
                "{arg}: {name:?} is not a configured chain (known: {})",
                state
                    .settings
                    .chains
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

fn transfer_id(arg: &str, id: &str) -> Result<atoll_core::TransferId, ApiError> {
    id.parse()
        .map_err(|e| ApiError::BadInput(format!("{arg}: {e}")))
}

/// Per chain, the block every index stream of it has reached (the lowest of its streams).
pub async fn indexed_blocks(reader: &Store) -> Result<HashMap<u64, u64>, ApiError> {
    let mut out: HashMap<u64, u64> = HashMap::new();
    for c in reader.checkpoints().await? {
        let (Ok(chain), Ok(block)) = (u64::try_from(c.chain_id), u64::try_from(c.block_number))
        else {
            continue;
        };
        out.entry(chain)
            .and_modify(|b| *b = (*b).min(block))
            .or_insert(block);
    }
    Ok(out)
}

#[derive(InputObject, Default)]
pub struct PoolFilter {
    /// Chain name from the config (`ethereum`, `bsc`, `solana`).
    pub chain: Option<String>,
    /// `uniswap-v2`, `uniswap-v3`, `orca-whirlpool`, `raydium-cpmm`, `aave_v3`, …
    pub protocol: Option<String>,
    /// AMM pools or lending reserves only.
    pub kind: Option<crate::lending::PoolKindFilter>,
    /// A token symbol or address the pool holds.
    pub token: Option<String>,
    pub min_tvl_usd: Option<f64>,
    /// A fraction (0.05 = 5 %).
    pub min_apy: Option<f64>,
    /// Also pools left out of results (they carry `droppedReason`).
    #[graphql(default = false)]
    pub include_dropped: bool,
}

#[derive(InputObject, Default)]
pub struct TransferFilter {
    pub status: Option<TransferStatus>,
    pub source_chain: Option<String>,
    pub dest_chain: Option<String>,
}

pub struct Query;

#[Object]
impl Query {
    /// The configured chains.
    async fn chains(&self, ctx: &Context<'_>) -> ApiResult<Vec<Chain>> {
        let state = ctx.data_unchecked::<ApiState>();
        let paused: HashMap<i64, bool> = state
            .reader
            .chain_states()
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(|c| (c.chain_id, c.paused))
            .collect();
        Ok(state
            .settings
            .chains
            .iter()
            .map(|c| Chain {
                name: c.name.clone(),
                kind: c.kind.as_str().to_string(),
                chain_id: c.chain_id.0.to_string(),
                paused: i64::try_from(c.chain_id.0)
                    .ok()
                    .and_then(|id| paused.get(&id).copied())
                    .unwrap_or(false),
            })
            .collect())
    }

    /// Pools, a page at a time (Relay connection). `first` is at most 500.
    #[graphql(complexity = "connection_cost(first, child_complexity)")]
    async fn pools(
        &self,
        ctx: &Context<'_>,
        filter: Option<PoolFilter>,
        #[graphql(default_with = "PoolOrder::TvlDesc")] order_by: PoolOrder,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<PoolConnection> {
        let state = ctx.data_unchecked::<ApiState>();
        let first = page_size("first", first)?;
        let f = filter.unwrap_or_default();
        for (arg, v) in [
            ("filter.minTvlUsd", f.min_tvl_usd),
            ("filter.minApy", f.min_apy),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(ApiError::BadInput(format!("{arg}: must be a finite number")).into());
            }
        }
        if let Some(c) = &f.chain {
            chain_id_of(state, "filter.chain", c)?;
        }
        let filter = CatalogFilter {
            chain: f.chain,
            protocol: f.protocol,
            kind: f.kind.map(|k| k.as_str()),
            token: f.token,
            min_tvl_usd: f.min_tvl_usd,
            min_apy: f.min_apy,
            include_dropped: f.include_dropped,
        };
        let after = after
            .as_deref()
            .map(|a| Position::decode(a, order_by))
            .transpose()?;
        let snapshot = state.catalog.snapshot();
        let page = snapshot.page(&filter, order_by, first, after.as_ref());
        let edges: Vec<PoolEdge> = page
            .pools
            .into_iter()
            .map(|(cursor, p)| PoolEdge {
                cursor,
                node: Pool(p),
            })
            .collect();
        Ok(PoolConnection {
            page_info: PageInfo {
                has_next_page: page.has_next,
                has_previous_page: page.has_previous,
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
            total_count: i64::try_from(page.total).unwrap_or(i64::MAX),
        })
    }

    /// One pool and its current metrics; null when there is no such pool.
    async fn pool(&self, ctx: &Context<'_>, id: String) -> Option<Pool> {
        let state = ctx.data_unchecked::<ApiState>();
        state.catalog.snapshot().get(&id).cloned().map(Pool)
    }

    /// The highest-APY pools (not dropped, not outliers), optionally of one chain.
    #[graphql(
        complexity = "usize::try_from(limit.clamp(1, MAX_PAGE)).unwrap_or(1) * child_complexity + 1"
    )]
    async fn top_yields(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] limit: i32,
        chain: Option<String>,
    ) -> ApiResult<Vec<Pool>> {
        let state = ctx.data_unchecked::<ApiState>();
        let limit = page_size("limit", Some(limit))?;
        if let Some(c) = &chain {
            chain_id_of(state, "chain", c)?;
        }
        let filter = CatalogFilter {
            chain,
            ..Default::default()
        };
        Ok(state
            .catalog
            .snapshot()
            .top(&filter, PoolOrder::ApyDesc, limit, |p| {
                !p.outlier && p.apy.is_some()
            })
            .into_iter()
            .map(Pool)
            .collect())
    }

    /// A pool's history in `[from, to)` (default: the last 7 days), by hour or day.
    async fn pool_history(
        &self,
        ctx: &Context<'_>,
        id: String,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        #[graphql(default_with = "Interval::Hour")] interval: Interval,
    ) -> ApiResult<Vec<PoolHistoryBucket>> {
        let state = ctx.data_unchecked::<ApiState>();
        let Some(kind) = state.catalog.snapshot().get(&id).map(|p| p.kind) else {
            return Err(ApiError::NotFound(format!("id: no pool {id:?}")).into());
        };
        let to_ms = to.map_or_else(|| Utc::now().timestamp_millis(), |t| t.timestamp_millis());
        let from_ms = from.map_or(to_ms - 7 * DAY_MS, |t| t.timestamp_millis());
        if from_ms >= to_ms {
            return Err(ApiError::BadInput("from: must be before to".into()).into());
        }
        let width = match interval {
            Interval::Hour => HOUR_MS,
            Interval::Day => DAY_MS,
        };
        if (to_ms - from_ms) / width > MAX_BUCKETS {
            return Err(ApiError::BadInput(format!(
                "from, to: the range holds more than {MAX_BUCKETS} {interval:?} buckets; narrow it or use DAY"
            ))
            .into());
        }
        if kind == "lending" {
            return crate::lending::lending_buckets(&state.reader, &id, from_ms, to_ms, width)
                .await
                .map_err(Into::into);
        }
        history(&state.reader, &id, from_ms, to_ms, width)
            .await
            .map_err(Into::into)
    }

    /// Runs the router on the pools in the database: `input` is the router's JSON input
    /// (capital, bridges, constraints; its `pools` are replaced by the indexed ones) and the
    /// answer has the same fields as `atoll route quote --json`. Chains the input's `gas_usd`
    /// leaves out get what a release costs there now (the relayer's live figures, at most 30 s
    /// old; on Solana the signature fee and the claim account's rent), named in `notes`.
    async fn quote_allocation(
        &self,
        ctx: &Context<'_>,
        input: Json<serde_json::Value>,
    ) -> ApiResult<Json<serde_json::Value>> {
        let state = ctx.data_unchecked::<ApiState>();
        let mut input: atoll_router::QuoteInput = serde_json::from_value(input.0)
            .map_err(|e| ApiError::BadInput(format!("input: {e}")))?;
        let snapshot = state.catalog.snapshot();
        input.pools = crate::router_pools(snapshot.pools.iter().map(|p| &**p));
        let live = state.live_gas.figures(&state.settings, &state.reader).await;
        let notes = fill_live_gas(&mut input, &live);
        if input.pools.is_empty() {
            return Err(ApiError::BadInput(
                "input: no priced pools in the database yet (is the indexer running?)".into(),
            )
            .into());
        }
        let mut quote = tokio::task::spawn_blocking(move || atoll_router::quote(&input))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| match e {
                atoll_router::RouterError::Input(problems) => ApiError::BadInput(format!(
                    "input: {}",
                    problems
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                )),
                other => ApiError::internal(other),
            })?;
        quote.notes.extend(notes);
        Ok(Json(
            serde_json::to_value(&quote).map_err(ApiError::internal)?,
        ))
    }

    /// Transfers, newest first (Relay connection). `first` is at most 500.
    #[graphql(complexity = "connection_cost(first, child_complexity)")]
    async fn transfers(
        &self,
        ctx: &Context<'_>,
        filter: Option<TransferFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<TransferConnection> {
        let state = ctx.data_unchecked::<ApiState>();
        let first = page_size("first", first)?;
        let f = filter.unwrap_or_default();
        let store_filter = StoreTransferFilter {
            status: f.status.map(Into::into),
            source_chain_id: f
                .source_chain
                .as_deref()
                .map(|c| chain_id_of(state, "filter.sourceChain", c))
                .transpose()?,
            dest_chain_id: f
                .dest_chain
                .as_deref()
                .map(|c| chain_id_of(state, "filter.destChain", c))
                .transpose()?,
        };
        let after = after.as_deref().map(decode_transfer_cursor).transpose()?;
        // Counting reads every matching row: only when the client asks for the count.
        let count_total = ctx.look_ahead().field("totalCount").exists();
        let page = state
            .reader
            .transfers_page(&store_filter, after.as_ref(), first as u64, count_total)
            .await
            .map_err(ApiError::from)?;
        let edges: Vec<TransferEdge> = page
            .transfers
            .into_iter()
            .map(|t| TransferEdge {
                cursor: encode_transfer_cursor(&t),
                node: Transfer(t),
            })
            .collect();
        Ok(TransferConnection {
            page_info: PageInfo {
                has_next_page: page.has_next,
                has_previous_page: after.is_some(),
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
            // Not asked for when `None`, so never shown.
            total_count: page
                .total
                .map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)),
        })
    }

    /// One transfer with its attempts and history; null when unknown.
    async fn transfer(&self, ctx: &Context<'_>, id: String) -> ApiResult<Option<Transfer>> {
        let state = ctx.data_unchecked::<ApiState>();
        let id = transfer_id("id", &id)?;
        Ok(state
            .reader
            .transfer(id)
            .await
            .map_err(ApiError::from)?
            .map(Transfer))
    }

    /// The relayer per chain: stages, oldest pending, next nonce, vault balances (read from the
    /// chains, each within 2 s), last error.
    #[graphql(complexity = 200)]
    async fn relayer(&self, ctx: &Context<'_>) -> ApiResult<Relayer> {
        let state = ctx.data_unchecked::<ApiState>();
        let chains = state
            .relayer_view
            .get(CHAIN_READS_SHARED_FOR, || async {
                atoll_relayer::status::chain_statuses(
                    &state.settings,
                    &state.reader,
                    state.options.balance_timeout,
                )
                .await
                .map_err(ApiError::from)
            })
            .await?;
        Ok(Relayer {
            chains: chains.iter().cloned().map(RelayerChain::from).collect(),
        })
    }

    /// The bridge's books proven from the chains (`atoll audit`): every deposit maps to one
    /// release or a visible reason, no id paid twice, vault balances reconcile. Operator only:
    /// it reads every vault's history from the chains, so one audit runs at a time and a
    /// report younger than 30 s is returned again.
    #[graphql(complexity = 100)]
    async fn audit(&self, ctx: &Context<'_>) -> ApiResult<Audit> {
        require_operator(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let report = state
            .audit
            .report(&state.settings, &state.reader, AUDIT_REUSE)
            .await?;
        Ok(Audit::from(report.as_ref()))
    }

    /// The treasury's moves, newest first (at most 500).
    async fn treasury_moves(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> ApiResult<Vec<TreasuryMove>> {
        let state = ctx.data_unchecked::<ApiState>();
        let n = page_size("first", Some(first))?;
        let rows = state
            .reader
            .treasury_moves(n as u64)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(TreasuryMove).collect())
    }

    /// What the treasury holds on every chain, read from the chains now.
    #[graphql(complexity = 200)]
    async fn positions(&self, ctx: &Context<'_>) -> ApiResult<Vec<ChainPosition>> {
        let state = ctx.data_unchecked::<ApiState>();
        let positions = state
            .positions
            .get(CHAIN_READS_SHARED_FOR, || async {
                // Through the read pool: never the connection the relayer writes through.
                state
                    .treasury
                    .positions_from(&state.reader)
                    .await
                    .map_err(ApiError::from)
            })
            .await?;
        Ok(positions.iter().cloned().map(ChainPosition::from).collect())
    }

    /// Freshness of the index per chain (as The Graph's `_meta`).
    #[graphql(name = "_meta")]
    async fn meta(&self, ctx: &Context<'_>) -> ApiResult<Meta> {
        let state = ctx.data_unchecked::<ApiState>();
        let indexed = indexed_blocks(&state.reader).await?;
        Ok(Meta {
            chains: state
                .settings
                .chains
                .iter()
                .map(|c| {
                    let id = c.chain_id.0;
                    let at = indexed.get(&id).copied();
                    MetaChain {
                        name: c.name.clone(),
                        chain_id: id.to_string(),
                        indexed_block: at.map(|b| b.to_string()),
                        head_block: state.heads.head(id).map(|h| h.to_string()),
                        lag_s: state.heads.lag_s(id, at),
                        head_error: state.heads.last_error(id),
                    }
                })
                .collect(),
        })
    }
}

fn encode_transfer_cursor(t: &atoll_store::transfers::Transfer) -> String {
    crate::cursor::encode("t1", &[&t.created_at_ms.to_string(), &t.id.to_string()])
}

fn decode_transfer_cursor(c: &str) -> Result<TransferCursor, ApiError> {
    let f = crate::cursor::decode(c, "t1", 2, "transfer list")?;
    let not_ours = || {
        ApiError::BadInput(format!(
            "after: {c:?} is not a cursor of this transfer list"
        ))
    };
    Ok(TransferCursor {
        created_at_ms: f[0].parse().map_err(|_| not_ours())?,
        id: f[1].parse().map_err(|_| not_ours())?,
    })
}

/// Hourly volumes summed into buckets of `width`, with the last snapshot of each bucket.
async fn history(
    reader: &Store,
    id: &str,
    from_ms: i64,
    to_ms: i64,
    width: i64,
) -> Result<Vec<PoolHistoryBucket>, ApiError> {
    use atoll_core::U256;
    let start_of = |ms: i64| ms.div_euclid(width) * width;
    let hourly = reader
        .pool_hourly_between(id, start_of(from_ms), to_ms)
        .await?;
    let snapshots = reader
        .pool_snapshots_between(id, start_of(from_ms), to_ms)
        .await?;
    #[derive(Default)]
    struct Acc {
        swaps: u64,
        v0: U256,
        v1: U256,
        f0: U256,
        f1: U256,
        volume_usd: Option<f64>,
        fees_usd: Option<f64>,
        tvl: Option<f64>,
        apy: Option<f64>,
        apy_base: Option<f64>,
    }
    let mut buckets: BTreeMap<i64, Acc> = BTreeMap::new();
    for h in hourly.into_iter().filter(|h| h.bucket_start_ms >= from_ms) {
        let b = buckets.entry(start_of(h.bucket_start_ms)).or_default();
        b.swaps += h.swaps;
        b.v0 = b.v0.saturating_add(h.volume0);
        b.v1 = b.v1.saturating_add(h.volume1);
        b.f0 = b.f0.saturating_add(h.lp_fees0);
        b.f1 = b.f1.saturating_add(h.lp_fees1);
    }
    // Ascending: the last write per bucket is its newest sample.
    for s in snapshots
        .into_iter()
        .filter(|s| s.bucket_start_ms >= from_ms)
    {
        let b = buckets.entry(start_of(s.bucket_start_ms)).or_default();
        b.volume_usd = Some(b.volume_usd.unwrap_or(0.0) + s.volume_usd);
        b.fees_usd = Some(b.fees_usd.unwrap_or(0.0) + s.fees_usd);
        b.tvl = s.tvl_usd.or(b.tvl);
        b.apy = s.apy.or(b.apy);
        b.apy_base = s.apy_base.or(b.apy_base);
    }
    Ok(buckets
        .into_iter()
        .map(|(start, a)| PoolHistoryBucket {
            start: time_of_ms(start),
            swaps: i64::try_from(a.swaps).unwrap_or(i64::MAX),
            volume0: a.v0.to_string(),
            volume1: a.v1.to_string(),
            lp_fees0: a.f0.to_string(),
            lp_fees1: a.f1.to_string(),
            volume_usd: a.volume_usd,
            fees_usd: a.fees_usd,
            tvl_usd: a.tvl,
            apy: a.apy,
            apy_base: a.apy_base,
            utilization: None,
            borrow_apy: None,
            liquidity_index: None,
        })
        .collect())
}

/// The treasury moves a quote's `moves` ask for. Amounts are USD over the token's price
/// (pinned in the config; a stablecoin without one counts as 1 USD), floored to cents.
fn rebalance_requests(
    state: &ApiState,
    quote: &serde_json::Value,
    key: &str,
    symbol: &str,
) -> Result<Vec<atoll_relayer::treasury::MoveRequest>, ApiError> {
    let moves = quote
        .get("moves")
        .and_then(|m| m.as_array())
        .ok_or_else(|| {
            ApiError::BadInput("quote: no `moves` array (pass a quoteAllocation answer)".into())
        })?;
    let token = state
        .settings
        .tokens
        .iter()
        .find(|t| t.symbol.eq_ignore_ascii_case(symbol))
        .ok_or_else(|| {
            ApiError::BadInput(format!("token: {symbol:?} is not a configured token"))
        })?;
    let price = token
        .price_usd
        .or(token.stable.then_some(1.0))
        .ok_or_else(|| {
            ApiError::BadInput(format!("token: {symbol} has no USD price in the config"))
        })?;
    let mut out = Vec::new();
    for (i, m) in moves.iter().enumerate() {
        let field = |f: &str| m.get(f);
        let (Some(from), Some(to), Some(usd)) = (
            field("from").and_then(|v| v.as_str()),
            field("to").and_then(|v| v.as_str()),
            field("usd").and_then(|v| v.as_f64()),
        ) else {
            return Err(ApiError::BadInput(format!(
                "quote.moves[{i}]: needs from, to and usd"
            )));
        };
        let hops = field("route")
            .and_then(|r| r.as_array())
            .map_or(2, Vec::len);
        if hops > 2 {
            return Err(ApiError::BadInput(format!(
                "quote.moves[{i}]: a route through {} chains; only direct moves are executed",
                hops
            )));
        }
        if !(usd.is_finite() && usd > 0.0) {
            return Err(ApiError::BadInput(format!(
                "quote.moves[{i}].usd: must be a positive number"
            )));
        }
        let units = (usd / price * 100.0).floor() / 100.0;
        out.push(atoll_relayer::treasury::MoveRequest {
            key: format!("{key}:{i}"),
            from: from.to_string(),
            to: to.to_string(),
            symbol: token.symbol.clone(),
            amount: format!("{units:.2}"),
        });
    }
    Ok(out)
}

/// How long an audit report is served again before the chains are read anew.
const AUDIT_REUSE: std::time::Duration = std::time::Duration::from_secs(30);

/// Operator mutations need a valid bearer token; without any configured they are off.
fn require_operator(ctx: &Context<'_>) -> Result<(), ApiError> {
    let state = ctx.data_unchecked::<ApiState>();
    let access = ctx
        .data_opt::<Access>()
        .copied()
        .unwrap_or(Access::Anonymous);
    match access {
        Access::Operator => Ok(()),
        _ if state.tokens.is_empty() => Err(ApiError::Forbidden(
            "mutations are disabled: no api.operator_tokens in this server's config".into(),
        )),
        _ => Err(ApiError::Unauthenticated),
    }
}

pub struct Mutation;

impl Mutation {
    async fn chain_status(state: &ApiState, chain: &str) -> Result<RelayerChain, ApiError> {
        atoll_relayer::status::chain_status(
            &state.settings,
            &state.store,
            chain,
            state.options.balance_timeout,
        )
        .await?
        .map(RelayerChain::from)
        .ok_or_else(|| ApiError::NotFound(format!("chain: {chain:?}")))
    }

    async fn set_paused(
        ctx: &Context<'_>,
        chain: &str,
        paused: bool,
        reason: Option<&str>,
    ) -> Result<RelayerChain, ApiError> {
        require_operator(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let id = chain_id_of(state, "chain", chain)?;
        state.store.register_settings(&state.settings).await?;
        state.store.set_paused(id, paused, reason).await?;
        tracing::info!(%chain, paused, "operator changed a chain's pause over GraphQL");
        Mutation::chain_status(state, chain).await
    }
}

#[Object]
impl Mutation {
    /// Moves treasury capital between chains through the bridge: a deposit on `fromChain`
    /// that the relayer releases to the treasury's account on `toChain`. Operator only.
    async fn request_transfer(
        &self,
        ctx: &Context<'_>,
        input: RequestTransferInput,
    ) -> ApiResult<TreasuryMove> {
        require_operator(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let req = atoll_relayer::treasury::MoveRequest {
            key: input.idempotency_key,
            from: input.from_chain,
            to: input.to_chain,
            symbol: input.token,
            amount: input.amount,
        };
        tracing::info!(key = %req.key, from = %req.from, to = %req.to, "requestTransfer");
        let row = state.treasury.request(&req).await.map_err(ApiError::from)?;
        Ok(TreasuryMove(row))
    }

    /// Carries out the moves of a `quoteAllocation` answer: each direct move becomes a
    /// `requestTransfer` of a stablecoin configured on both chains, keyed
    /// `idempotencyKey:index`, so running the same rebalance twice moves nothing twice.
    /// Operator only.
    async fn execute_rebalance(
        &self,
        ctx: &Context<'_>,
        quote: Json<serde_json::Value>,
        idempotency_key: String,
        #[graphql(default = "USDC")] token: String,
    ) -> ApiResult<Vec<TreasuryMove>> {
        require_operator(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let requests = rebalance_requests(state, &quote.0, &idempotency_key, &token)?;
        let mut out = Vec::with_capacity(requests.len());
        for req in &requests {
            let row = state.treasury.request(req).await.map_err(ApiError::from)?;
            out.push(TreasuryMove(row));
        }
        Ok(out)
    }

    /// Stops releases to `chain` (its config name); kept across restarts. Operator only.
    async fn pause_chain(
        &self,
        ctx: &Context<'_>,
        chain: String,
        reason: Option<String>,
    ) -> ApiResult<RelayerChain> {
        Ok(Mutation::set_paused(ctx, &chain, true, reason.as_deref()).await?)
    }

    /// Restarts releases to a paused chain. Operator only.
    async fn resume_chain(&self, ctx: &Context<'_>, chain: String) -> ApiResult<RelayerChain> {
        Ok(Mutation::set_paused(ctx, &chain, false, None).await?)
    }

    /// After its cause is fixed: a `FAILED` transfer nothing was signed for goes back through
    /// validation and finality; a `STUCK` one (release attempts used up) is signed again once
    /// its destination shows no release of it. Refused otherwise, with why. Operator only.
    async fn retry_transfer(
        &self,
        ctx: &Context<'_>,
        id: String,
        #[graphql(default = "retried by an operator over GraphQL")] note: String,
    ) -> ApiResult<Transfer> {
        require_operator(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let id = transfer_id("id", &id)?;
        if state
            .store
            .transfer(id)
            .await
            .map_err(ApiError::from)?
            .is_none()
        {
            return Err(ApiError::NotFound(format!("id: no transfer {id}")).into());
        }
        use atoll_relayer::RelayerError;
        match atoll_relayer::retry::retry(&state.settings, &state.store, id, &note).await {
            Ok(_) => {}
            Err(
                e @ (RelayerError::Refused(_)
                | RelayerError::Store(
                    atoll_store::StoreError::RetryRefused { .. }
                    | atoll_store::StoreError::TransferMoved { .. },
                )),
            ) => {
                return Err(ApiError::BadInput(format!("id: {e}")).into());
            }
            Err(e) => return Err(ApiError::from(e).into()),
        }
        let t = state
            .store
            .transfer(id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("id: no transfer {id}")))?;
        Ok(Transfer(t))
    }
}

#[derive(InputObject)]
pub struct RequestTransferInput {
    pub from_chain: String,
    pub to_chain: String,
    /// Token symbol from the config (`USDC`).
    pub token: String,
    /// In token units (`"2500.5"`); more decimals than the token has are refused.
    pub amount: String,
    /// The same key is the same move: a retried request never moves capital twice.
    pub idempotency_key: String,
}

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Every change of a transfer's status (of one transfer when `id` is given). The current
    /// state of `id` comes first.
    async fn transfer_updated(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ApiResult<crate::feeds::TransferUpdate>>> {
        use futures::StreamExt;
        let state = ctx.data_unchecked::<ApiState>().clone();
        let id = id.as_deref().map(|i| transfer_id("id", i)).transpose()?;
        let slot = subscription_slot(ctx)?;
        Ok(crate::feeds::transfer_updates(state, id).map(move |u| {
            // Held for as long as the stream lives.
            let _slot = &slot;
            u.map_err(async_graphql::Error::from)
        }))
    }

    /// Every change of a pool's record (of one pool when `id` is given).
    async fn pool_updated(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Pool>> {
        use futures::StreamExt;
        let state = ctx.data_unchecked::<ApiState>().clone();
        let slot = subscription_slot(ctx)?;
        Ok(crate::feeds::pool_updates(state, id).map(move |p| {
            let _slot = &slot;
            p
        }))
    }
}

/// A WebSocket subscription's slot under its connection's and client's caps (none outside a
/// WebSocket connection).
fn subscription_slot(
    ctx: &Context<'_>,
) -> Result<Option<crate::limits::SubscriptionSlot>, ApiError> {
    ctx.data_opt::<crate::limits::WsClient>()
        .map(crate::limits::WsClient::subscribe)
        .transpose()
}

/// Gives every configured chain the request's `gas_usd` leaves out its live release cost;
/// returns the notes on the figures used.
pub fn fill_live_gas(
    input: &mut atoll_router::QuoteInput,
    live: &crate::live_gas::LiveGas,
) -> Vec<String> {
    let (usd, notes) = &**live;
    let mut used = Vec::new();
    for (chain, v) in usd {
        if !input.gas_usd.contains_key(chain) {
            input.gas_usd.insert(chain.clone(), *v);
            used.extend(
                notes
                    .iter()
                    .filter(|n| n.starts_with(&format!("gas_usd.{chain} ")))
                    .cloned(),
            );
        }
    }
    used.extend(
        notes
            .iter()
            .filter(|n| !usd.keys().any(|c| n.starts_with(&format!("gas_usd.{c} "))))
            .cloned(),
    );
    used
}
