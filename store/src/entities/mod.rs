//! sea-orm entities, one module per table.

pub mod block_hashes;
pub mod chains;
pub mod index_checkpoints;
pub mod lending_history;
pub mod lending_reserves;
pub mod pool_events;
pub mod pool_hourly;
pub mod pool_snapshots;
pub mod pools;
pub mod positions;
pub mod release_txs;
pub mod tokens;
pub mod transfer_attempts;
pub mod transfer_history;
pub mod transfers;
pub mod treasury_moves;
