//! Solve time of the router for 1,000, 10,000 and 100,000 pools over 3 chains (no fixed costs,
//! so one exact solve), on deterministic pseudo-random instances (`benches/router_instance.py`
//! writes the same instances for the cvxpy comparison).
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

criterion_group!(benches, main_bench);
criterion_main!(benches);
