//! atoll-indexer: per-chain ingestion of pool events and state into the store. This first
//! module holds the yield arithmetic every snapshot uses (DESIGN.md, "Yield metrics").

pub mod yields;
