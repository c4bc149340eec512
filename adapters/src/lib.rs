//! atoll-adapters: everything that talks to a chain. This first part loads the keys the
//! adapters sign with, from the secret references in the settings; the `ChainAdapter`
//! capabilities (heads, finality, pool state, deposits, releases) follow per chain family.

mod error;
pub mod secrets;

pub use error::AdapterError;
