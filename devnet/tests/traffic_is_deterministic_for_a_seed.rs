//! The same seed on two fresh devnets makes the same swaps (pool, direction, exact input) and
//! the same deposits; another seed makes different ones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_devnet::Devnet;
use atoll_devnet::traffic::{self, TrafficOptions, TrafficReport};

async fn run(seed: u64) -> TrafficReport {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let report = traffic::run(
        &devnet.state,
        TrafficOptions {
            swaps: 40,
            deposits: 4,
            seed,
        },
    )
    .await
    .unwrap();
    devnet.down();
    report
}

/// What a run did, without transaction hashes (which carry block timestamps).
fn actions(r: &TrafficReport) -> Vec<String> {
    let swaps = r
        .swaps
        .iter()
        .map(|s| format!("{} {} {} {}", s.chain, s.pool, s.zero_for_one, s.amount_in));
    let deposits = r.deposits.iter().map(|d| {
        format!(
            "{}>{} {} {} {}",
            d.from, d.to, d.token, d.amount, d.recipient
        )
    });
    swaps.chain(deposits).collect()
}

#[tokio::test]
async fn same_seed_same_traffic() {
    let (a, b, c) = tokio::join!(run(9), run(9), run(10));
    assert_eq!(actions(&a).len(), 44);
    assert_eq!(actions(&a), actions(&b));
    assert_ne!(actions(&a), actions(&c));
}
