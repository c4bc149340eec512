//! Answers to read-only queries that only touch the pool catalog (`pools`, `pool`,
//! `topYields`), kept until the catalog reloads. Dashboards send the same few queries over and
//! over; DefiLlama's API serves them from a cache that rolls hourly, this one rolls whenever the
//! indexer writes a pool (about every second while it follows the chains). Keyed by the exact
//! request body; a query with anything else in it (transfers, relayer, positions, mutations,
//! fragments at the top level) is never cached, and neither is an answer with errors.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
use axum::body::Bytes;

/// Fields whose answers come from the catalog snapshot alone.
const CATALOG_FIELDS: [&str; 4] = ["pools", "pool", "topYields", "__typename"];
const MAX_ENTRIES: usize = 4096;

struct Entry {
    body: Bytes,
    generation: u64,
    answer: Bytes,
}

#[derive(Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<u64, Entry>>,
}

fn key(body: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    body.hash(&mut h);
    h.finish()
}

/// Whether `query` reads only catalog fields (one query operation, fields at the top).
pub fn cacheable(query: &str) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let ops: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(m) => m.values().collect(),
    };
    ops.len() == 1
        && ops.iter().all(|op| {
            op.node.ty == OperationType::Query
                && op
                    .node
                    .selection_set
                    .node
                    .items
                    .iter()
                    .all(|s| match &s.node {
                        Selection::Field(f) => CATALOG_FIELDS.contains(&f.node.name.node.as_str()),
                        _ => false,
                    })
        })
}

impl ResponseCache {
    /// The cached answer to `body` made from catalog `generation`.
    pub fn get(&self, body: &[u8], generation: u64) -> Option<Bytes> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(&key(body))?;
        (e.generation == generation && e.body == body).then(|| e.answer.clone())
    }

    pub fn put(&self, body: Bytes, generation: u64, answer: Bytes) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.generation == generation);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            key(&body),
            Entry {
                body,
                generation,
                answer,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_catalog_queries_are_cacheable() {
        assert!(cacheable("{ topYields(limit: 20) { id apy } }"));
        assert!(cacheable(
            "query P { pools(first: 100) { totalCount } pool(id: \"x\") { id } }"
        ));
        assert!(!cacheable("{ topYields { id } transfers { totalCount } }"));
        assert!(!cacheable(
            "mutation { pauseChain(chain: \"bsc\") { paused } }"
        ));
        assert!(!cacheable(
            "{ ...F } fragment F on Query { pools { totalCount } }"
        ));
        assert!(!cacheable(
            "query A { pools { totalCount } } query B { pool(id: \"x\") { id } }"
        ));
        assert!(!cacheable("{ relayer { chains { name } } }"));
        assert!(!cacheable("not graphql"));
    }

    #[test]
    fn an_answer_lives_until_the_catalog_changes() {
        let c = ResponseCache::default();
        let body = Bytes::from_static(b"{\"query\":\"{ topYields { id } }\"}");
        c.put(body.clone(), 1, Bytes::from_static(b"answer"));
        assert_eq!(c.get(&body, 1).as_deref(), Some(&b"answer"[..]));
        assert_eq!(c.get(&body, 2), None);
        assert_eq!(c.get(b"other", 1), None);
    }
}
