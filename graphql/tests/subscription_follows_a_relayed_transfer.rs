//! A `poolUpdated` subscription sees a pool the devnet swapped on; a `transferUpdated` subscription over WebSocket (graphql-transport-ws, as GraphiQL and Apollo
//! speak it) sees a deposit on the devnet go through every status to `confirmed` while the real
//! indexer and relayer run in this process, and the API serves a server-side error for a bad id.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use atoll_devnet::Devnet;
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_graphql::ApiOptions;
use serde_json::json;

use common::{connect, next, send};

#[tokio::test]
async fn a_subscription_sees_a_relayed_transfer_reach_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let settings = common::settings(&net);
    let store = common::store(&settings, dir.path()).await;
    let api = common::Api::start(
        &settings,
        &store,
        &common::db_url(dir.path()),
        ApiOptions {
            head_interval: None,
            ..Default::default()
        },
    )
    .await;

    // A subscription with a malformed id ends with a clean error.
    let mut ws = connect(&api.url).await;
    send(
        &mut ws,
        json!({ "id": "bad", "type": "subscribe", "payload": {
            "query": "subscription { transferUpdated(id: \"0x12\") { to } }" } }),
    )
    .await;
    let m = next(&mut ws).await;
    assert_eq!(m["id"], "bad", "{m}");
    assert!(m["type"] == "next" || m["type"] == "error", "{m}");
    assert!(m.to_string().contains("id:"), "{m}");
    if m["type"] == "next" {
        assert_eq!(
            next(&mut ws).await,
            json!({ "id": "bad", "type": "complete" })
        );
    }

    // Pools changed by swaps arrive on poolUpdated (a socket of its own).
    let mut pools_ws = connect(&api.url).await;
    send(
        &mut pools_ws,
        json!({ "id": "p", "type": "subscribe", "payload": {
            "query": "subscription { poolUpdated { id chain volumeUsd1d } }" } }),
    )
    .await;

    // Swaps, and one deposit Ethereum → BSC, recorded by the indexer.
    let indexer = {
        let (settings, store) = (settings.clone(), store.clone());
        tokio::spawn(async move {
            atoll_indexer::run(
                &settings,
                &store,
                &[],
                atoll_indexer::Mode::Follow,
                Arc::new(|_| {}),
            )
            .await
        })
    };
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 6,
            deposits: 1,
            seed: 5,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.deposits[0].from.as_str(),
            report.deposits[0].to.as_str()
        ),
        ("ethereum", "bsc")
    );
    let id = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Some(t) = store.transfers(None, Some(1), 1).await.unwrap().pop() {
                return t.id.to_string();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the indexer records the deposit");

    let swapped: std::collections::BTreeSet<String> = report
        .swaps
        .iter()
        .map(|s| format!("{}:{}:{:#x}", s.chain, s.protocol, s.pool))
        .collect();
    // The first updates are the pools appearing; one a swap moved shows its volume.
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let m = next(&mut pools_ws).await;
            assert_eq!(
                (m["id"].as_str(), m["type"].as_str()),
                (Some("p"), Some("next")),
                "{m}"
            );
            let p = &m["payload"]["data"]["poolUpdated"];
            if swapped.contains(p["id"].as_str().unwrap())
                && p["volumeUsd1d"].as_f64().is_some_and(|v| v > 0.0)
            {
                return;
            }
        }
    })
    .await
    .expect("an update of a swapped pool, with its volume, within 60 s");
    pools_ws.close(None).await.unwrap();

    // Subscribe to it (its history so far comes first), then let the relayer work, mining a
    // block every 100 ms on both chains so confirmations accrue.
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription($id: String!) { transferUpdated(id: $id) { id from to reason transfer { status amountOut } } }",
            "variables": { "id": id } } }),
    )
    .await;
    let relayer = common::Relayer::start(&settings, &store);
    let miner = net.mine_every(Duration::from_millis(100)).unwrap();

    let mut seen: Vec<String> = Vec::new();
    let last = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let m = next(&mut ws).await;
            assert_eq!(m["type"], "next", "{m}");
            assert_eq!(m["id"], "1");
            let u = &m["payload"]["data"]["transferUpdated"];
            assert_eq!(u["id"], id.as_str());
            seen.push(u["to"].as_str().unwrap().to_string());
            if u["to"] == "confirmed" {
                return u.clone();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no confirmed update within 120 s; saw {seen:?}"));
    let order = [
        "observed",
        "source_final",
        "signed",
        "broadcast",
        "included",
        "confirmed",
    ];
    let mut at = 0;
    for s in &seen {
        if at < order.len() && s == order[at] {
            at += 1;
        }
    }
    assert_eq!(at, order.len(), "every stage in order: {seen:?}");
    assert_eq!(last["transfer"]["status"], "CONFIRMED");
    assert!(last["transfer"]["amountOut"].is_string());

    send(&mut ws, json!({ "id": "1", "type": "complete" })).await;
    ws.close(None).await.unwrap();
    miner.abort();
    relayer.stop().await;
    indexer.abort();
    api.stop().await;
}
