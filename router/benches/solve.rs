//! Solve time of the router for 1,000, 10,000 and 100,000 pools over 3 chains (no fixed costs,
//! so one exact solve), on deterministic pseudo-random instances (`benches/router_instance.py`
//! writes the same instances for the cvxpy comparison); and for 10,000 pools with 1,000
//! lending reserves among them (`instance::json_with_reserves`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_router::QuoteInput;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn main_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("route_quote");
    group.sample_size(20);
    for n in [1_000usize, 10_000, 100_000] {
        let text = atoll_router::instance::json(n, 7);
        let input: QuoteInput = serde_json::from_str(&text).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter(|| atoll_router::quote(input).unwrap())
        });
    }
    group.finish();
}

fn lending_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("route_quote_lending");
    group.sample_size(20);
    let (pools, reserves) = (10_000usize, 1_000usize);
    let text = atoll_router::instance::json_with_reserves(pools, reserves, 7);
    let input: QuoteInput = serde_json::from_str(&text).unwrap();
    let id = BenchmarkId::from_parameter(format!("{pools}+{reserves}"));
    group.bench_with_input(id, &input, |b, input| {
        b.iter(|| atoll_router::quote(input).unwrap())
    });
    group.finish();
}

criterion_group!(benches, main_bench, lending_bench);
criterion_main!(benches);
