//! One module per subcommand.

pub mod audit;
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
