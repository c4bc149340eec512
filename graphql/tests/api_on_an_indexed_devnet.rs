//! The API over a database a real indexer filled from the devnet (swaps on the real Uniswap
//! V2/V3 pools, bridge deposits released by nobody yet): every pool list walks every pool
//! exactly once in its order; filters hold; `poolHistory` adds up to the swaps the test made;
//! mutations refuse missing and wrong tokens and change nothing; oversized, deep, wide and
//! expensive requests get clean errors while the server keeps serving; the DefiLlama mirror,
//! `_meta`, `/readyz` and `/metrics` answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alloy::primitives::U256;
use atoll_devnet::Devnet;
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_graphql::ApiOptions;
use common::{Api, TOKEN, error_code};
use serde_json::{Value, json};

const PAGE: &str = r#"query Page($order: PoolOrder!, $after: String, $filter: PoolFilter) {
  pools(first: 3, orderBy: $order, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id chain protocol symbol underlyingTokens tvlUsd apy volumeUsd1d droppedReason } }
  }
}"#;

/// Every page of `pools` for `order` and `filter`: the nodes in order, and each page's totalCount.
async fn walk(api: &Api, order: &str, filter: Value) -> (Vec<Value>, BTreeSet<i64>) {
    let mut nodes = Vec::new();
    let mut totals = BTreeSet::new();
    let mut after = Value::Null;
    loop {
        let d = api
            .data(
                PAGE,
                json!({ "order": order, "after": after, "filter": filter }),
            )
            .await;
        let c = &d["pools"];
        totals.insert(c["totalCount"].as_i64().unwrap());
        assert_eq!(
            c["pageInfo"]["hasPreviousPage"].as_bool().unwrap(),
            !after.is_null()
        );
        for e in c["edges"].as_array().unwrap() {
            nodes.push(e["node"].clone());
        }
        if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (nodes, totals);
        }
        after = c["pageInfo"]["endCursor"].clone();
        assert!(nodes.len() < 10_000, "pagination does not end");
    }
}

fn key(node: &Value, order: &str) -> Option<f64> {
    match order {
        "APY_DESC" => node["apy"].as_f64(),
        "TVL_DESC" => node["tvlUsd"].as_f64(),
        _ => node["volumeUsd1d"].as_f64(),
    }
}

/// Pagination: each order, dropped pools included, walks every pool exactly once, in order.
async fn check_pages(api: &Api, records: &[atoll_store::records::PoolRecord]) {
    let all: BTreeSet<String> = records.iter().map(|r| r.pool.clone()).collect();
    for order in ["APY_DESC", "TVL_DESC", "VOLUME_DESC"] {
        let (nodes, totals) = walk(api, order, json!({ "includeDropped": true })).await;
        let ids: Vec<String> = nodes
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), all.len(), "{order}: every pool once");
        assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), all, "{order}");
        assert_eq!(totals, BTreeSet::from([all.len() as i64]), "{order}");
        for w in nodes.windows(2) {
            match (key(&w[0], order), key(&w[1], order)) {
                (Some(a), Some(b)) => assert!(a >= b, "{order}: {a} before {b}"),
                (None, Some(_)) => panic!("{order}: a pool without a value before one with"),
                _ => {}
            }
        }
    }
}

/// poolHistory: per pool, the buckets add up to the swaps the test made, hourly and daily.
async fn check_history(api: &Api, report: &traffic::TrafficReport) {
    let mut expected: BTreeMap<String, (i64, U256, U256)> = BTreeMap::new();
    for s in &report.swaps {
        let e = expected
            .entry(format!("{}:{}:{:#x}", s.chain, s.protocol, s.pool))
            .or_default();
        e.0 += 1;
        if s.zero_for_one {
            e.1 += s.amount_in;
        } else {
            e.2 += s.amount_in;
        }
    }
    assert!(expected.len() >= 4, "the traffic touched several pools");
    let from = chrono::Utc::now() - chrono::Duration::days(2);
    let to = chrono::Utc::now() + chrono::Duration::days(1);
    for (pool, (swaps, v0, v1)) in &expected {
        for interval in ["HOUR", "DAY"] {
            let d = api
                .data(
                    "query H($id: String!, $from: DateTime, $to: DateTime, $i: Interval!) {
                       poolHistory(id: $id, from: $from, to: $to, interval: $i) { start swaps volume0 volume1 }
                     }",
                    json!({ "id": pool, "from": from.to_rfc3339(), "to": to.to_rfc3339(), "i": interval }),
                )
                .await;
            let buckets = d["poolHistory"].as_array().unwrap();
            let n: i64 = buckets.iter().map(|b| b["swaps"].as_i64().unwrap()).sum();
            let sum = |f: &str| {
                buckets
                    .iter()
                    .map(|b| b[f].as_str().unwrap().parse::<U256>().unwrap())
                    .fold(U256::ZERO, |a, b| a + b)
            };
            assert_eq!(n, *swaps, "{pool} {interval}: swaps");
            assert_eq!(sum("volume0"), *v0, "{pool} {interval}: volume0");
            assert_eq!(sum("volume1"), *v1, "{pool} {interval}: volume1");
        }
    }
}

/// Devnet traffic indexed into `store`; the pool records it made.
async fn indexed_devnet(
    settings: &atoll_core::settings::Settings,
    store: &atoll_store::Store,
) -> Vec<atoll_store::records::PoolRecord> {
    common::index_once(settings, store).await;
    let records = store.pool_records(true).await.unwrap();
    assert!(
        records.len() >= 8,
        "the devnet has V2 and V3 pools on two chains"
    );
    records
}

/// The same pages and history when the indexer and the API use PostgreSQL (skipped, and
/// said so, when `ATOLL_TEST_POSTGRES_URL` is unset).
#[tokio::test]
async fn pages_and_history_on_postgres() {
    let Some(pg) = atoll_store::test_support::PostgresTestDb::create("api")
        .await
        .unwrap()
    else {
        eprintln!("skipped: ATOLL_TEST_POSTGRES_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 30,
            deposits: 2,
            seed: 12,
        },
    )
    .await
    .unwrap();
    let settings = common::settings(&net);
    let store = atoll_store::Store::connect(&pg.url).await.unwrap();
    store.migrate_up().await.unwrap();
    store.register_settings(&settings).await.unwrap();
    let records = indexed_devnet(&settings, &store).await;
    let api = Api::start(
        &settings,
        &store,
        &pg.url,
        ApiOptions {
            head_interval: None,
            rate_limit_rps: 100_000,
            rate_limit_burst: 100_000,
            ..Default::default()
        },
    )
    .await;
    check_pages(&api, &records).await;
    check_history(&api, &report).await;
    // quoteAllocation: the router on the indexed pools, with its own JSON fields.
    let v = api
        .query_as(
            "query($i: JSON!) { quoteAllocation(input: $i) }",
            json!({ "i": {
                "capital": [{ "chain": "ethereum", "usd": 100000 }],
                "horizon_days": 365,
                "bridges": [{ "from": "ethereum", "to": "bsc", "fee_bps": 5, "fixed_usd": 1, "eta_s": 60 }],
                "constraints": { "min_gain_usd": 0 }
            } }),
            None,
        )
        .await;
    assert!(v.get("errors").is_none(), "{v}");
    let q = &v["data"]["quoteAllocation"];
    for field in [
        "status",
        "allocations",
        "moves",
        "objective_usd",
        "horizon_days",
    ] {
        assert!(q.get(field).is_some(), "{field}: {q}");
    }
    // The request gives no gas_usd: each EVM chain's comes from its node now (the devnet
    // prices WETH and WBNB), named in the notes.
    let notes: Vec<&str> = q["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    for chain in ["ethereum", "bsc"] {
        let prefix = format!("gas_usd.{chain} = $");
        assert!(
            notes.iter().any(|n| n.starts_with(&prefix)
                && n.contains("live: gas $")
                && n.ends_with("gwei")),
            "{chain}: {notes:?}"
        );
    }
    let ids: BTreeSet<&str> = records.iter().map(|r| r.pool.as_str()).collect();
    for a in q["allocations"].as_array().unwrap() {
        assert!(ids.contains(a["pool"].as_str().unwrap()), "{a}");
    }
    for bad in [
        json!({ "capital": [], "horizon_days": 30, "extra": 1 }),
        json!({ "horizon_days": "x" }),
    ] {
        let v = api
            .query_as(
                "query($i: JSON!) { quoteAllocation(input: $i) }",
                json!({ "i": bad }),
                None,
            )
            .await;
        assert_eq!(error_code(&v), Some("BAD_USER_INPUT"), "{v}");
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("input:"),
            "{v}"
        );
    }
    let d = api
        .data(
            "{ transfers(first: 1) { totalCount pageInfo { endCursor } } }",
            Value::Null,
        )
        .await;
    assert_eq!(d["transfers"]["totalCount"].as_i64(), Some(2));
    let after = d["transfers"]["pageInfo"]["endCursor"].clone();
    let d = api
        .data(
            "query($a: String) { transfers(first: 5, after: $a) { edges { node { id } } pageInfo { hasNextPage } } }",
            json!({ "a": after }),
        )
        .await;
    assert_eq!(d["transfers"]["edges"].as_array().unwrap().len(), 1);
    api.stop().await;
    store.close().await.unwrap();
    pg.drop_db().await;
}

/// The server still answers an ordinary query.
async fn alive(api: &Api) {
    let d = api.data("{ chains { name } }", Value::Null).await;
    assert_eq!(d["chains"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn queries_pages_history_auth_and_limits_on_an_indexed_devnet() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 40,
            deposits: 4,
            seed: 11,
        },
    )
    .await
    .unwrap();
    let settings = common::settings(&net);
    let store = common::store(&settings, dir.path()).await;
    let records = indexed_devnet(&settings, &store).await;
    let api = Api::start(
        &settings,
        &store,
        &common::db_url(dir.path()),
        ApiOptions {
            head_interval: Some(Duration::from_millis(50)),
            rate_limit_rps: 100_000,
            rate_limit_burst: 100_000,
            ..Default::default()
        },
    )
    .await;

    check_pages(&api, &records).await;

    // Without includeDropped, dropped pools are left out; with it they carry their reason.
    let kept = records
        .iter()
        .filter(|r| r.dropped_reason.is_none())
        .count();
    let (nodes, _) = walk(&api, "TVL_DESC", Value::Null).await;
    assert_eq!(nodes.len(), kept);
    assert!(nodes.iter().all(|n| n["droppedReason"].is_null()));

    // Filters.
    let (bsc, _) = walk(
        &api,
        "TVL_DESC",
        json!({ "chain": "bsc", "includeDropped": true }),
    )
    .await;
    assert_eq!(
        bsc.len(),
        records.iter().filter(|r| r.chain == "bsc").count()
    );
    assert!(bsc.iter().all(|n| n["chain"] == "bsc"));
    let (v3, _) = walk(
        &api,
        "APY_DESC",
        json!({ "protocol": "uniswap_v3", "includeDropped": true }),
    )
    .await;
    assert!(!v3.is_empty());
    assert!(v3.iter().all(|n| n["protocol"] == "uniswap_v3"));
    let (usdc, _) = walk(
        &api,
        "APY_DESC",
        json!({ "token": "usdc", "includeDropped": true }),
    )
    .await;
    assert!(!usdc.is_empty());
    assert!(usdc.iter().all(|n| {
        n["symbol"]
            .as_str()
            .unwrap()
            .split('-')
            .any(|s| s == "USDC")
    }));
    let one_token = records[0].underlying_tokens[0].clone();
    let (by_address, _) = walk(
        &api,
        "APY_DESC",
        json!({ "token": one_token, "includeDropped": true }),
    )
    .await;
    assert_eq!(
        by_address.len(),
        records
            .iter()
            .filter(|r| r.underlying_tokens.contains(&one_token))
            .count()
    );
    let mut tvls: Vec<f64> = records.iter().filter_map(|r| r.tvl_usd).collect();
    tvls.sort_by(f64::total_cmp);
    let median = tvls[tvls.len() / 2];
    let (rich, _) = walk(
        &api,
        "TVL_DESC",
        json!({ "minTvlUsd": median, "includeDropped": true }),
    )
    .await;
    assert_eq!(rich.len(), tvls.iter().filter(|t| **t >= median).count());
    let v = api
        .query_as(
            "{ pools(filter: {chain: \"mars\"}) { totalCount } }",
            Value::Null,
            None,
        )
        .await;
    assert_eq!(error_code(&v), Some("BAD_USER_INPUT"), "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("filter.chain")
    );
    let v = api
        .query_as(
            "{ pools(after: \"bm90LWEtY3Vyc29y\") { totalCount } }",
            Value::Null,
            None,
        )
        .await;
    assert_eq!(error_code(&v), Some("BAD_USER_INPUT"), "{v}");

    // topYields: highest APY first, priced, no outliers.
    let d = api
        .data("{ topYields(limit: 3) { id apy outlier } }", Value::Null)
        .await;
    let top = d["topYields"].as_array().unwrap();
    assert!(!top.is_empty() && top.len() <= 3);
    let best = records
        .iter()
        .filter(|r| r.dropped_reason.is_none() && !r.outlier)
        .filter_map(|r| r.apy)
        .fold(f64::MIN, f64::max);
    assert_eq!(top[0]["apy"].as_f64().unwrap(), best);

    check_history(&api, &report).await;
    let v = api
        .query_as("{ poolHistory(id: \"nope\") { swaps } }", Value::Null, None)
        .await;
    assert_eq!(error_code(&v), Some("NOT_FOUND"), "{v}");

    // Transfers: the deposits the indexer recorded, a page at a time.
    let d = api
        .data(
            "{ transfers(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { node { id status sourceChain destChain amountIn history { to } } } } }",
            Value::Null,
        )
        .await;
    let evm_deposits = report
        .deposits
        .iter()
        .filter(|d| d.from != "solana")
        .count() as i64;
    assert_eq!(d["transfers"]["totalCount"].as_i64().unwrap(), evm_deposits);
    let first_id = d["transfers"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = api
        .data("query T($id: String!) { transfer(id: $id) { id status history { from to } attempts { txHash } } }", json!({ "id": first_id }))
        .await;
    assert_eq!(d["transfer"]["id"], first_id.as_str());
    assert_eq!(d["transfer"]["history"][0]["to"], "observed");

    // Auth: every mutation without a token or with a wrong one is UNAUTHENTICATED and changes
    // nothing.
    let before = (
        store.chain_states().await.unwrap(),
        store.transfers(None, None, 1000).await.unwrap(),
    );
    let mutations = [
        "mutation { pauseChain(chain: \"bsc\", reason: \"x\") { paused } }".to_string(),
        "mutation { resumeChain(chain: \"bsc\") { paused } }".to_string(),
        format!("mutation {{ retryTransfer(id: \"{first_id}\") {{ status }} }}"),
        "mutation { requestTransfer(input: {fromChain: \"ethereum\", toChain: \"bsc\", token: \"USDC\", amount: \"10\", idempotencyKey: \"a1\"}) { id } }".to_string(),
        "mutation { executeRebalance(quote: {moves: [{from: \"ethereum\", to: \"bsc\", usd: 5000}]}, idempotencyKey: \"r1\") { id } }".to_string(),
    ];
    for m in &mutations {
        for token in [None, Some("wrong-token"), Some("")] {
            let v = api.query_as(m, Value::Null, token).await;
            assert_eq!(
                error_code(&v),
                Some("UNAUTHENTICATED"),
                "{m} with {token:?}: {v}"
            );
            assert!(v["data"].is_null());
            assert!(!v.to_string().contains(TOKEN));
        }
    }
    let after = (
        store.chain_states().await.unwrap(),
        store.transfers(None, None, 1000).await.unwrap(),
    );
    assert_eq!(before, after, "refused mutations changed nothing");
    // With the token they act.
    let v = api.query_as(&mutations[0], Value::Null, Some(TOKEN)).await;
    assert_eq!(v["data"]["pauseChain"]["paused"], true, "{v}");
    let v = api.query_as(&mutations[1], Value::Null, Some(TOKEN)).await;
    assert_eq!(v["data"]["resumeChain"]["paused"], false, "{v}");
    let v = api.query_as(&mutations[2], Value::Null, Some(TOKEN)).await;
    assert_eq!(
        error_code(&v),
        Some("BAD_USER_INPUT"),
        "only a failed transfer is retried: {v}"
    );

    // The audit: operators only (it reads every vault's history); the books from the chains.
    let audit = "{ audit { clean depositsRead discrepancies { kind message } books { chainId deposited pending } } }";
    for token in [None, Some("wrong-token")] {
        let v = api.query_as(audit, Value::Null, token).await;
        assert_eq!(error_code(&v), Some("UNAUTHENTICATED"), "{v}");
    }
    let v = api.query_as(audit, Value::Null, Some(TOKEN)).await;
    assert_eq!(v["data"]["audit"]["clean"], true, "{v}");
    assert!(v["data"]["audit"]["depositsRead"].as_i64() > Some(0), "{v}");

    // Limits: each a clean error, and the server keeps serving.
    let deep = format!(
        "{{ __schema {{ types {{ {} name {} }} }} }}",
        "fields { type { ofType { ".repeat(17),
        "} } } ".repeat(17)
    );
    let v = api.query_as(&deep, Value::Null, None).await;
    assert_eq!(error_code(&v), Some("BAD_USER_INPUT"), "{v}");
    let message = v["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("nested deeper than 12 levels") || message.contains("recursion depth"),
        "{v}"
    );
    // 12 levels pass the parser and meet the depth limit.
    let twelve = format!(
        "{{ __schema {{ types {{ {} name {} }} }} }}",
        "fields { type { ofType { ".repeat(4),
        "} } } ".repeat(4)
    );
    let v = api.query_as(&twelve, Value::Null, None).await;
    assert_eq!(error_code(&v), Some("BAD_USER_INPUT"), "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested deeper than 12 levels"),
        "{v}"
    );
    alive(&api).await;
    let wide: String = (0..100_000)
        .map(|i| format!("a{i}:chains{{name}}"))
        .collect();
    let (status, v) = api
        .post(
            serde_json::to_vec(&json!({ "query": format!("{{{wide}}}") })).unwrap(),
            None,
        )
        .await;
    assert_eq!(
        (status, error_code(&v)),
        (400, Some("BAD_USER_INPUT")),
        "{v}"
    );
    alive(&api).await;
    // Connection fields count `first` in their complexity: four full pages of 500 cost more
    // than the limit, though the query text is short.
    let page500 = "pools(first: 500) { edges { node { id chain chainId protocol address symbol \
                   underlyingTokens tvlUsd apy apyBase apyReward apyBase7d volumeUsd1d feesUsd1d } } }";
    let costly = format!("{{ a: {page500} b: {page500} c: {page500} d: {page500} }}");
    let v = api.query_as(&costly, Value::Null, None).await;
    assert_eq!(error_code(&v), Some("BAD_USER_INPUT"), "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("costs more than 25000 complexity points"),
        "{v}"
    );
    let v = api
        .query_as("{ pools(first: 100000) { totalCount } }", Value::Null, None)
        .await;
    assert_eq!(error_code(&v), Some("BAD_USER_INPUT"), "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("first: 100000"),
        "{v}"
    );
    let huge =
        serde_json::to_vec(&json!({ "query": "{ chains { name } }", "pad": "x".repeat(10 << 20) }))
            .unwrap();
    let (status, v) = api.post(huge, None).await;
    assert_eq!(
        (status, error_code(&v)),
        (413, Some("BAD_USER_INPUT")),
        "{v}"
    );
    alive(&api).await;
    let (status, v) = api.post(b"{not json".to_vec(), None).await;
    assert_eq!(
        (status, error_code(&v)),
        (400, Some("BAD_USER_INPUT")),
        "{v}"
    );
    alive(&api).await;

    // The DefiLlama mirror: DefiLlama's names, APYs in percent, dropped pools left out.
    let (status, body) = api.get("/pools").await;
    assert_eq!(status, 200);
    let llama: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(llama["status"], "success");
    let data = llama["data"].as_array().unwrap();
    assert_eq!(data.len(), kept);
    let sample = records
        .iter()
        .find(|r| r.dropped_reason.is_none() && r.apy.is_some())
        .unwrap();
    let row = data
        .iter()
        .find(|p| p["pool"] == sample.pool.as_str())
        .unwrap();
    assert_eq!(row["apy"].as_f64().unwrap(), sample.apy.unwrap() * 100.0);
    assert_eq!(row["project"], sample.project.as_str());
    for field in [
        "chain",
        "symbol",
        "tvlUsd",
        "apyBase",
        "apyReward",
        "underlyingTokens",
        "stablecoin",
        "volumeUsd1d",
    ] {
        assert!(row.get(field).is_some(), "{field}");
    }
    let (status, body) = api.get(&format!("/chart/{}", sample.pool)).await;
    assert_eq!(status, 200, "{body}");
    let chart: Value = serde_json::from_str(&body).unwrap();
    assert!(!chart["data"].as_array().unwrap().is_empty(), "{chart}");
    assert!(chart["data"][0]["timestamp"].is_string());
    assert_eq!(api.get("/chart/nope").await.0, 404);

    // Freshness: once the head is seen, the index is at it (it caught up before the API began).
    let mut meta = Value::Null;
    for _ in 0..200 {
        meta = api
            .data(
                "{ _meta { chains { name indexedBlock headBlock lagS } } }",
                Value::Null,
            )
            .await;
        if meta["_meta"]["chains"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["headBlock"].is_string())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    for c in meta["_meta"]["chains"].as_array().unwrap() {
        assert_eq!(c["indexedBlock"], c["headBlock"], "{meta}");
        assert_eq!(c["lagS"].as_f64(), Some(0.0), "{meta}");
    }
    let (status, body) = api.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("atoll_transfers{status=\"observed\"}"),
        "{body}"
    );
    assert!(
        body.contains("atoll_indexer_lag_seconds{chain=\"bsc\"} 0"),
        "{body}"
    );
    assert!(
        body.contains("atoll_http_request_duration_seconds"),
        "{body}"
    );
    assert!(body.contains("atoll_audit_clean 1"), "{body}");
    assert!(
        body.contains("atoll_rpc_request_duration_seconds"),
        "{body}"
    );
    assert!(!body.contains(TOKEN));
    assert_eq!(api.get("/").await.0, 200, "GraphiQL");
    api.stop().await;

    // A client over its rate limit is refused with RATE_LIMITED; others are not affected.
    let strict = Api::start(
        &settings,
        &store,
        &common::db_url(dir.path()),
        ApiOptions {
            head_interval: None,
            rate_limit_rps: 1,
            rate_limit_burst: 1,
            ..Default::default()
        },
    )
    .await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        let (status, v) = strict
            .post(
                serde_json::to_vec(&json!({ "query": "{ chains { name } }" })).unwrap(),
                None,
            )
            .await;
        codes.push((status, error_code(&v).map(str::to_string)));
    }
    assert_eq!(codes[0], (200, None));
    assert!(
        codes[1..].contains(&(429, Some("RATE_LIMITED".into()))),
        "{codes:?}"
    );
    strict.stop().await;
}
