//! One module per subcommand.

pub mod bench;
pub mod config;
pub mod devnet;
pub mod index;
pub mod migrate;
pub mod pools;
pub mod relayer;
pub mod route;
pub mod tools;
