//! One module per subcommand.

pub mod audit;
pub mod bench;
pub mod bench_api;
pub mod bench_flood;
pub mod bench_relayer;
pub mod config;
pub mod demo;
pub mod devnet;
pub mod index;
pub mod migrate;
pub mod pools;
pub mod rebalance;
pub mod relayer;
pub mod route;
pub mod tools;
pub mod up;
