//! atoll-indexer
