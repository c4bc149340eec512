//! A hostile client against the API served on the devnet (two anvils; the relayer's chains
//! read for real, and the relayer releasing a deposit meanwhile): every trick gets a clean, coded refusal or is served within its cap, the
//! server keeps serving, and a planted API key in an RPC URL shows nowhere.
//! - 2,000 aliased `quoteAllocation`: the first two are solved, the rest refused by name.
//! - 500 aliased `positions` and `relayer`: four answered, the rest refused.
//! - WebSocket: a 64 MiB message and a 65 KiB query refused, 1,000 subscriptions on one
//!   connection capped, 200 connections from one client capped, errors carry their codes.
//! - `/metrics` scraped in a loop: served, rate-limited like the rest.
//! - Anonymous surfaces (`_meta`, `/readyz`, `relayer`, `positions`) with a dead chain whose
//!   EVM and Solana RPC URLs carry `?api-key=…`: the key appears in none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use atoll_devnet::Devnet;
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_graphql::ApiOptions;
use serde_json::{Value, json};

const PLANTED: &str = "PLANTEDKEY4f9c";

fn aliased(field: &str, n: usize) -> String {
    let body: Vec<String> = (0..n).map(|i| format!("a{i}: {field}")).collect();
    format!("{{ {} }}", body.join(" "))
}

fn errors(v: &Value) -> Vec<Value> {
    v["errors"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn hostile_queries_get_clean_errors_and_leak_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let mut settings = common::settings(&net);
    let live = settings.clone();
    // Dead chains whose RPC URLs carry a key, as a provider's do.
    for (name, kind, id) in [
        ("deadevm", "evm", 999_001u64),
        ("deadsol", "solana", 999_002),
    ] {
        let text = format!(
            "[[chains]]\nname = \"{name}\"\nkind = \"{kind}\"\nchain_id = {id}\nrpc = [\"http://127.0.0.1:9/v2/{PLANTED}?api-key={PLANTED}\"]\n"
        );
        let extra = atoll_core::settings::Settings::parse(
            &text,
            Vec::<(String, String)>::new(),
            dir.path(),
        )
        .unwrap();
        settings.chains.extend(extra.chains);
    }
    let store = common::store(&settings, dir.path()).await;
    // Swaps and a deposit Ethereum → BSC, indexed; the relayer releases while the abuse runs.
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 12,
            deposits: 1,
            seed: 3,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.deposits.len(), 1);
    common::index_once(&live, &store).await;
    let relayer = common::Relayer::start(&live, &store);
    let miner = net.mine_every(Duration::from_millis(100)).unwrap();
    let api = common::Api::start(
        &settings,
        &store,
        &common::db_url(dir.path()),
        ApiOptions {
            head_interval: Some(Duration::from_millis(100)),
            rate_limit_rps: 100_000,
            rate_limit_burst: 100_000,
            ..Default::default()
        },
    )
    .await;

    // 2,000 router solves asked in one request: two are run, the rest named and refused.
    let input = json!({
        "capital": [{ "chain": "ethereum", "usd": 100000 }],
        "horizon_days": 365,
        "bridges": [{ "from": "ethereum", "to": "bsc", "fee_bps": 5, "fixed_usd": 1, "eta_s": 60 }]
    });
    let solves = |spacer: &str| {
        format!(
            "query($i:JSON!){{{}}}",
            (0..2_000)
                .map(|i| format!("q{i}:quoteAllocation(input:{spacer}$i)"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    // Written loosely it is over 64 KiB, and refused before it is parsed.
    let v = api
        .query_as(&solves("  "), json!({ "i": input }), None)
        .await;
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("bytes; at most 65536 are accepted"),
        "{v}"
    );
    let v = api.query_as(&solves(""), json!({ "i": input }), None).await;
    let errs = errors(&v);
    assert_eq!(
        errs.len(),
        1_998,
        "{:?}",
        errs.iter()
            .filter(|e| e["path"][0] == "q0")
            .collect::<Vec<_>>()
    );
    assert!(
        errs.iter().all(|e| e["extensions"]["code"].is_string()),
        "every error coded"
    );
    // A batch is one request: ten requests of two solves each get two solves in all.
    let one = json!({ "query": "query($i:JSON!){a:quoteAllocation(input:$i) b:quoteAllocation(input:$i)}",
        "variables": { "i": input } });
    let (status, v) = api
        .post(serde_json::to_vec(&vec![one; 10]).unwrap(), None)
        .await;
    assert_eq!(status, 200, "{v}");
    let answers = v.as_array().unwrap();
    let solved: usize = answers
        .iter()
        .map(|r| {
            ["a", "b"]
                .iter()
                .filter(|k| r["data"][**k].is_object())
                .count()
        })
        .sum();
    let refused: usize = answers.iter().map(|r| errors(r).len()).sum();
    assert_eq!((solved, refused), (2, 18), "{v}");
    assert!(
        errs.iter().any(|e| e["message"]
            .as_str()
            .unwrap()
            .contains("at most 2 router solves (quoteAllocation) per request")),
        "{}",
        errs[0]
    );

    // 500 aliases of each chain-reading field cost more than a query may; 100 fit, of which
    // four are answered and the rest refused.
    for field in [
        "positions { chain error }",
        "relayer { chains { name balancesError } }",
    ] {
        let v = api.query_as(&aliased(field, 500), json!({}), None).await;
        assert_eq!(common::error_code(&v), Some("BAD_USER_INPUT"), "{v}");
        assert!(
            v.to_string()
                .contains("costs more than 25000 complexity points"),
            "{v}"
        );
        let v = api.query_as(&aliased(field, 100), json!({}), None).await;
        let refused = errors(&v)
            .iter()
            .filter(|e| {
                e["message"]
                    .as_str()
                    .unwrap()
                    .contains("chain-reading fields")
            })
            .count();
        assert_eq!(refused, 96, "{field}: {:?}", errors(&v).first());
        assert!(!v.to_string().contains(PLANTED), "{field}: {v}");
    }

    // Anonymous surfaces name the dead endpoints by label only.
    let meta = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let v = api
                .query_as("{ _meta { chains { name headError } } }", json!({}), None)
                .await;
            let failing = v["data"]["_meta"]["chains"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["headError"].is_string())
                .count();
            if failing == 2 {
                return v;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("both dead chains show a head error");
    let (_, readyz) = api.get("/readyz").await;
    for (what, text) in [("_meta", meta.to_string()), ("/readyz", readyz)] {
        assert!(!text.contains(PLANTED), "{what}: {text}");
    }

    // /metrics in a loop: served every time (rendered at most once a second).
    for _ in 0..200 {
        let (status, text) = api.get("/metrics").await;
        assert_eq!(status, 200);
        assert!(text.contains("atoll_transfers"));
    }

    // WebSocket: a query over 64 KiB, and a message over 96 KiB.
    let mut ws = common::connect(&api.url).await;
    let long = format!("{{ {} }}", "__typename ".repeat(7_000));
    common::send(
        &mut ws,
        json!({ "id": "long", "type": "subscribe", "payload": { "query": long } }),
    )
    .await;
    let m = common::next(&mut ws).await;
    assert_eq!(m["type"], "next", "{m}");
    assert_eq!(
        m["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{m}"
    );
    assert!(m.to_string().contains("at most 65536"), "{m}");
    assert_eq!(common::next(&mut ws).await["type"], "complete");
    // The per-request budgets hold over WebSocket too, with the same codes.
    common::send(
        &mut ws,
        json!({ "id": "reads", "type": "subscribe", "payload": {
            "query": aliased("positions { chain }", 10) } }),
    )
    .await;
    let m = common::next(&mut ws).await;
    let refused = m["payload"]["errors"].as_array().map_or(0, |e| {
        e.iter()
            .filter(|e| e["extensions"]["code"] == "BAD_USER_INPUT")
            .count()
    });
    assert_eq!(refused, 6, "{m}");
    assert_eq!(common::next(&mut ws).await["type"], "complete");
    // A refused query is not a reason to drop the connection.
    common::send(
        &mut ws,
        json!({ "id": "ok", "type": "subscribe", "payload": { "query": "{ __typename }" } }),
    )
    .await;
    assert_eq!(common::next(&mut ws).await["type"], "next");
    assert_eq!(common::next(&mut ws).await["type"], "complete");
    let huge = json!({ "id": "huge", "type": "subscribe", "payload": {
        "query": "x".repeat(64 * 1024 * 1024) } });
    {
        use futures::SinkExt;
        // The server may close while the message is still being written.
        let _ = ws
            .send(tokio_tungstenite::tungstenite::Message::Text(
                huge.to_string().into(),
            ))
            .await;
    }
    assert!(
        common::next_or_closed(&mut ws).await.is_none(),
        "a 64 MiB message closes the connection"
    );

    // 1,000 subscriptions on one connection: 32 open, the rest refused with a code.
    let mut ws = common::connect(&api.url).await;
    for i in 0..1_000 {
        common::send(
            &mut ws,
            json!({ "id": format!("s{i}"), "type": "subscribe", "payload": {
                "query": "subscription { poolUpdated { id } }" } }),
        )
        .await;
    }
    let mut refused = std::collections::BTreeSet::new();
    while refused.len() < 1_000 - 32 {
        let m = tokio::time::timeout(Duration::from_secs(10), common::next(&mut ws))
            .await
            .expect("each refused subscription is answered");
        let id = m["id"].as_str().unwrap().to_string();
        if m.to_string().contains("at most 32 per connection") {
            assert_eq!(
                m["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{m}"
            );
            refused.insert(id);
        } else if m["type"] == "complete" {
            assert!(refused.contains(&id), "only refused ones end: {m}");
        } else {
            assert!(m["payload"]["data"]["poolUpdated"].is_object(), "{m}");
        }
    }

    // 200 connections from one client: 16 open at most (this test holds one already).
    let mut open = vec![ws];
    let mut turned_away = 0;
    for _ in 0..200 {
        match common::try_connect(&api.url).await {
            Ok(ws) => open.push(ws),
            Err(status) => {
                assert_eq!(status, 429);
                turned_away += 1;
            }
        }
    }
    assert_eq!(open.len(), 16);
    assert_eq!(turned_away, 200 - 15);
    drop(open);

    // Still serving, and the relayer paid the deposit while all this went on.
    let v = api.data("{ chains { name } }", json!({})).await;
    assert!(v["chains"].as_array().unwrap().len() >= 2);
    let id = store.transfers(None, None, 1).await.unwrap()[0].id;
    tokio::time::timeout(Duration::from_secs(120), async {
        while store.transfer(id).await.unwrap().unwrap().status
            != atoll_core::TransferStatus::Confirmed
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the deposit is released and confirmed during the abuse");
    miner.abort();
    relayer.stop().await;
    let audit = atoll_relayer::audit::run(&live, &store).await.unwrap();
    assert!(audit.clean, "{audit:?}");
    api.stop().await;
}

/// Behind a trusted proxy the client is the forwarded address, counted per IPv6 /64: a whole
/// /64 shares one bucket, while clients in different /64s each get their own.
#[tokio::test]
async fn an_ipv6_range_shares_one_rate_limit_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let mut settings = common::settings(&net);
    settings.api.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let store = common::store(&settings, dir.path()).await;
    let api = common::Api::start(
        &settings,
        &store,
        &common::db_url(dir.path()),
        ApiOptions {
            head_interval: None,
            rate_limit_rps: 1,
            rate_limit_burst: 5,
            ..Default::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let ask = |from: String| {
        let http = http.clone();
        let url = format!("{}/graphql", api.url);
        async move {
            http.post(url)
                .header("x-forwarded-for", from)
                .json(&json!({ "query": "{ __typename }" }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // 40 addresses of one /64 (a single client could hold them all): one bucket of 5.
    let mut served = 0;
    for i in 0..40 {
        match ask(format!("2001:db8:7:7::{:x}", i + 1)).await {
            200 => served += 1,
            429 => {}
            other => panic!("status {other}"),
        }
    }
    // One token a second refills; asking takes well under a second here.
    assert!((5..=6).contains(&served), "{served} served of one /64");
    // Five other /64s are five other clients.
    for i in 0..5 {
        assert_eq!(ask(format!("2001:db8:7:{:x}::1", i + 100)).await, 200);
    }
    api.stop().await;
}
