//! In-process decode rate of Solana pool accounts (Orca Whirlpool, Raydium CPMM) with their
//! owner, size and discriminator checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_adapters::solana::accounts::{
    CPMM_PROGRAM, WHIRLPOOL_PROGRAM, decode_cpmm_pool, decode_whirlpool,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use solana_sdk::pubkey::Pubkey;

fn account(len: usize, discriminator: [u8; 8], seed: u8) -> Vec<u8> {
    let mut data: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    data[..8].copy_from_slice(&discriminator);
    data
}

fn bench(c: &mut Criterion) {
    let key = Pubkey::new_unique();
    let whirlpools: Vec<Vec<u8>> = (0..1_000)
        .map(|i| {
            account(
                653,
                [0x3f, 0x95, 0xd1, 0x0c, 0xe1, 0x80, 0x63, 0x09],
                i as u8,
            )
        })
        .collect();
    let cpmm: Vec<Vec<u8>> = (0..1_000)
        .map(|i| {
            account(
                637,
                [0xf7, 0xed, 0xe3, 0xf5, 0xd7, 0xc3, 0xde, 0x46],
                i as u8,
            )
        })
        .collect();
    let mut g = c.benchmark_group("solana_decode");
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("whirlpool x1000", |b| {
        b.iter(|| {
            for d in &whirlpools {
                std::hint::black_box(decode_whirlpool(&key, &WHIRLPOOL_PROGRAM, d).unwrap());
            }
        })
    });
    g.bench_function("cpmm_pool x1000", |b| {
        b.iter(|| {
            for d in &cpmm {
                std::hint::black_box(decode_cpmm_pool(&key, &CPMM_PROGRAM, d).unwrap());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
