//! A DefiLlama-compatible REST mirror, so dashboards and bots written against
//! `yields.llama.fi` work unchanged: `GET /pools` and `GET /chart/{pool}`. Their fields, units
//! and what is left out: docs/api.md, "The DefiLlama mirror".

use atoll_core::time::DAY_MS;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::ApiState;
use crate::error::ApiError;

fn pct(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |x| json!(x * 100.0))
}

/// DefiLlama's chain names for the chains it knows; the config name otherwise.
fn llama_chain(name: &str, chain_id: i64) -> String {
    match (chain_id, name) {
        (1, _) => "Ethereum".into(),
        (56, _) => "BSC".into(),
        (_, n) if n.eq_ignore_ascii_case("solana") => "Solana".into(),
        (_, n) => {
            let mut c = n.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}

fn error(status: StatusCode, e: &ApiError) -> Response {
    (
        status,
        Json(json!({ "status": "error", "message": e.to_string(), "code": e.code() })),
    )
        .into_response()
}

pub async fn pools(State(state): State<ApiState>) -> Response {
    let snapshot = state.catalog.snapshot();
    let data: Vec<Value> = snapshot
        .pools
        .iter()
        .filter(|p| p.dropped_reason.is_none())
        .map(|p| {
            let mut row = json!({
                "chain": llama_chain(&p.chain, p.chain_id),
                "project": p.project,
                "symbol": p.symbol,
                "tvlUsd": p.tvl_usd,
                "apyBase": pct(p.apy_base),
                "apyReward": pct(p.apy_reward),
                "apy": pct(p.apy),
                "rewardTokens": null,
                "pool": p.pool,
                "apyPct1D": null,
                "apyPct7D": null,
                "apyPct30D": null,
                "stablecoin": p.stablecoin,
                "ilRisk": if p.stablecoin { "no" } else { "yes" },
                "exposure": "multi",
                "poolMeta": format!("{}%", f64::from(p.fee_ppm) / 10_000.0),
                "outlier": p.outlier,
                "underlyingTokens": p.underlying_tokens,
                "apyBase7d": pct(p.apy_base_7d),
                "volumeUsd1d": p.volume_usd_1d,
                "volumeUsd7d": p.volume_usd_7d,
            });
            if let Some(l) = &p.lending {
                // DefiLlama's lending fields: a reserve is one token, no IL, no fee tier.
                row["ilRisk"] = json!("no");
                row["exposure"] = json!("single");
                row["poolMeta"] = Value::Null;
                row["totalSupplyUsd"] = json!(l.total_supply_usd);
                row["totalBorrowUsd"] = json!(l.total_borrow_usd);
                row["apyBaseBorrow"] = json!(pct(l.apy_base_borrow));
                row["apyRewardBorrow"] = Value::Null;
                if !l.reward_tokens.is_empty() {
                    row["rewardTokens"] = json!(l.reward_tokens);
                }
                row["ltv"] = json!(l.ltv);
                row["borrowable"] = json!(l.borrowable);
            }
            row
        })
        .collect();
    Json(json!({ "status": "success", "data": data })).into_response()
}

pub async fn chart(State(state): State<ApiState>, Path(pool): Path<String>) -> Response {
    if state.catalog.snapshot().get(&pool).is_none() {
        return error(
            StatusCode::NOT_FOUND,
            &ApiError::NotFound(format!("pool: no pool {pool:?}")),
        );
    }
    if state
        .catalog
        .snapshot()
        .get(&pool)
        .is_some_and(|p| p.kind == "lending")
    {
        return lending_chart(&state, &pool).await;
    }
    let rows = match state
        .reader
        .pool_snapshots_between(&pool, 0, i64::MAX)
        .await
    {
        Ok(r) => r,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &ApiError::from(e)),
    };
    // Ascending by time: the last row of each day wins.
    let mut days: std::collections::BTreeMap<i64, &atoll_store::entities::pool_snapshots::Model> =
        Default::default();
    for r in &rows {
        days.insert(r.bucket_start_ms.div_euclid(DAY_MS), r);
    }
    let data: Vec<Value> = days
        .values()
        .map(|r| {
            json!({
                "timestamp": crate::types::time_of_ms(r.bucket_start_ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "tvlUsd": r.tvl_usd,
                "apy": pct(r.apy),
                "apyBase": pct(r.apy_base),
                "apyReward": pct(r.apy_reward),
                "il7d": null,
                "apyBase7d": pct(r.apy_base7d),
            })
        })
        .collect();
    Json(json!({ "status": "success", "data": data })).into_response()
}

/// A lending reserve's chart: the last update of each day.
async fn lending_chart(state: &ApiState, pool: &str) -> Response {
    let days = match crate::lending::lending_buckets(&state.reader, pool, 0, i64::MAX, DAY_MS).await
    {
        Ok(d) => d,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    let data: Vec<Value> = days
        .iter()
        .map(|d| {
            json!({
                "timestamp": d.start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "tvlUsd": d.tvl_usd,
                "apy": pct(d.apy),
                "apyBase": pct(d.apy_base),
                "apyReward": null,
                "il7d": null,
                "apyBase7d": null,
            })
        })
        .collect();
    Json(json!({ "status": "success", "data": data })).into_response()
}
