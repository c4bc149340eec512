//! One module per subcommand.

pub mod config;
pub mod devnet;
pub mod migrate;
pub mod tools;
