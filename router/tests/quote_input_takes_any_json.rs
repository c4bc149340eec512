//! The router's JSON input (`QuoteInput`, read from `atoll route quote`'s file, the API's
//! `quoteAllocation` argument) and its validation take any bytes without panicking and without
//! work or output beyond what the input holds: random bytes, random JSON-like text, and real
//! requests (`instance::json`, the shape of a 3-chain request with bridges, gas and
//! constraints) mutated (bytes flipped, truncated, extended, spliced, repeated; JSON tokens
//! and edge numbers spliced in). Parsing returns a request or a clean error; validation
//! returns a problem or a list of problems bounded by the request's entries. 1 MiB requests
//! (deep nesting, long strings and numbers, thousands of pools on thousands of chains)
//! return promptly.
//!
//! Longer run (the case count of every property; default 2,000 or fewer, see `config`):
//!
//! ```text
//! PROPTEST_CASES=200000 PROPTEST_RNG_SEED=$RANDOM cargo test -p atoll-router --test quote_input_takes_any_json --release
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use atoll_router::QuoteInput;
use proptest::prelude::*;
use proptest::sample::select;

/// `cases` unless `PROPTEST_CASES` says otherwise (the longer run).
fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    // The suite is deterministic: one fixed seed, unless PROPTEST_RNG_SEED picks another
    // (for the long runs).
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        c.rng_seed = proptest::test_runner::RngSeed::Fixed(0xA7011);
    }
    c
}

const MIB: usize = 1 << 20;

/// How long a 1 MiB request may take in a debug build: far below quadratic work.
const PROMPT: Duration = Duration::from_secs(2);

/// Parses and validates `bytes` as the CLI and the API do; checks the answers stay bounded.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let input = match serde_json::from_slice::<QuoteInput>(bytes) {
        Ok(input) => input,
        Err(e) => {
            // serde_json's message quotes no more than a token of the input.
            let text = e.to_string();
            prop_assert!(!text.is_empty());
            prop_assert!(text.len() <= bytes.len() + 256, "{text:.200}");
            return Ok(());
        }
    };
    let entries = input.capital.len()
        + input.pools.len()
        + input.bridges.len()
        + input.gas_usd.len()
        + input
            .constraints
            .allowed_chains
            .as_ref()
            .map_or(0, Vec::len)
        + input
            .constraints
            .allowed_protocols
            .as_ref()
            .map_or(0, Vec::len)
        + input
            .constraints
            .allowed_tokens
            .as_ref()
            .map_or(0, Vec::len);
    match input.validate() {
        Ok(problem) => {
            prop_assert_eq!(problem.pools.len(), input.pools.len());
            prop_assert!(problem.bridges.len() <= input.bridges.len());
            prop_assert!(problem.chains.len() <= entries);
            prop_assert!(problem.horizon_days > 0.0 && problem.horizon_days <= 36_500.0);
            for p in &problem.pools {
                prop_assert!(p.tvl_usd.is_finite() && p.income_usd_year.is_finite());
            }
        }
        Err(problems) => {
            prop_assert!(!problems.is_empty());
            // A lending pool has up to 15 fields to get wrong.
            prop_assert!(
                problems.len() <= 16 * entries + 16,
                "{} problems",
                problems.len()
            );
            let shown: usize = problems.iter().map(|p| p.to_string().len()).sum();
            prop_assert!(
                shown <= 8 * bytes.len() + 256 * problems.len(),
                "{shown} bytes of problems for {} bytes",
                bytes.len()
            );
        }
    }
    Ok(())
}

/// JSON's tokens, the request's keys and numbers at the edges of what validation accepts.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "0",
    "-0",
    "-1",
    "1e308",
    "1e309",
    "-1e309",
    "5e-324",
    "1e15",
    "1000000000000001",
    "36501",
    "10001",
    "18446744073709551616",
    "NaN",
    "Infinity",
    "\"capital\":",
    "\"pools\":",
    "\"bridges\":",
    "\"gas_usd\":",
    "\"constraints\":",
    "\"chain\":",
    "\"id\":",
    "\"ethereum\"",
    "\" \"",
    "\"\"",
    "{\"chain\":\"x\",\"usd\":1}",
    "\u{0}",
    "é",
];

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Truncate(usize),
    Splice(usize, usize, Vec<u8>),
    Insert(usize, &'static str),
    Repeat(usize, usize, usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<usize>(), 1u8..).prop_map(|(i, m)| Edit::Flip(i, m)),
        1 => any::<usize>().prop_map(Edit::Truncate),
        2 => (any::<usize>(), 0usize..24, prop::collection::vec(any::<u8>(), 0..24))
            .prop_map(|(i, n, b)| Edit::Splice(i, n, b)),
        4 => (any::<usize>(), select(TOKENS)).prop_map(|(i, t)| Edit::Insert(i, t)),
        1 => (any::<usize>(), 1usize..300, any::<usize>(), 1u8..6)
            .prop_map(|(f, n, t, k)| Edit::Repeat(f, n, t, k)),
    ]
}

fn mutate(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut d = text.as_bytes().to_vec();
    for e in edits {
        let n = d.len();
        match e {
            Edit::Flip(i, m) if n > 0 => d[i % n] ^= m,
            Edit::Truncate(i) => d.truncate(i % (n + 1)),
            Edit::Splice(i, k, b) => {
                let at = i % (n + 1);
                d.splice(at..(at + k).min(n), b.iter().copied());
            }
            Edit::Insert(i, t) => {
                let at = i % (n + 1);
                d.splice(at..at, t.bytes());
            }
            Edit::Repeat(f, len, t, times) if n > 0 => {
                let f = f % n;
                let chunk = d[f..(f + len).min(n)].to_vec();
                let at = t % (n + 1);
                for _ in 0..*times {
                    d.splice(at..at, chunk.iter().copied());
                }
            }
            _ => {}
        }
    }
    d
}

/// A real request: `n` pools and `n/3` lending reserves on three chains, six bridges, gas per
/// chain, a constraint.
fn real_request(n: usize, seed: u64) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&atoll_router::instance::json_with_reserves(n, n / 3, seed)).unwrap();
    v["constraints"] = serde_json::json!({
        "max_per_pool_usd": 5e5,
        "max_chain_share": 0.8,
        "min_tvl_usd": 1e5,
        "allowed_tokens": ["USDC", "WETH"],
    });
    v.to_string()
}

#[test]
fn real_requests_validate() {
    for seed in 0..5 {
        let text = real_request(12, seed);
        let input: QuoteInput = serde_json::from_str(&text).unwrap();
        input.validate().unwrap();
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check(&bytes)?;
    }

    #[test]
    fn random_json_like_text(pieces in prop::collection::vec(select(TOKENS), 0..80)) {
        check(pieces.concat().as_bytes())?;
    }

    #[test]
    fn mutated_real_requests(
        n in 0usize..12,
        seed in 0u64..1_000,
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        check(&mutate(&real_request(n, seed), &edits))?;
    }
}

#[test]
fn requests_of_a_mebibyte_return_promptly() {
    let repeat = |head: &str, unit: &str, tail: &str| {
        let mut s = head.to_string();
        while s.len() < MIB {
            s.push_str(unit);
        }
        s.push_str(tail);
        s
    };
    let list = |head: &str, item: &dyn Fn(usize) -> String, tail: &str| {
        let mut s = head.to_string();
        let mut i = 0;
        while s.len() < MIB {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&item(i));
            i += 1;
        }
        s.push_str(tail);
        s
    };
    let pool = |chain: String, id: String| {
        format!(r#"{{"id":"{id}","chain":"{chain}","protocol":"p","tvl_usd":1,"fees_usd_year":1}}"#)
    };
    let cases = [
        repeat("", "[", ""),
        repeat("{\"capital\":", "[", ""),
        repeat("{\"constraints\":{\"allowed_chains\":[", "\"\",", "\"\"]}}"),
        repeat(
            "{\"capital\":[{\"chain\":\"",
            "x",
            "\",\"usd\":1}],\"horizon_days\":1}",
        ),
        repeat("{\"capital\":[],\"horizon_days\":", "9", "}"),
        repeat("{\"capital\":[],\"horizon_days\":0.", "0", "1}"),
        repeat("{\"capital\":[],\"horizon_days\":1e", "9", "}"),
        repeat("\"", "\\u0000", "\""),
        // Thousands of pools, each on a chain of its own; capital on each of them too.
        list(
            r#"{"capital":[{"chain":"c","usd":1}],"horizon_days":1,"pools":["#,
            &|i| pool(format!("c{i}"), format!("p{i}")),
            "]}",
        ),
        list(
            r#"{"horizon_days":1,"capital":["#,
            &|i| format!(r#"{{"chain":"c{i}","usd":1}}"#),
            "]}",
        ),
        // Every pool a duplicate of the first, every number invalid.
        list(
            r#"{"capital":[{"chain":"c","usd":-1}],"horizon_days":-1,"pools":["#,
            &|_| pool("c".into(), "same".into()).replace(":1", ":-1"),
            "]}",
        ),
        // Bridges between chains no one names.
        list(
            r#"{"capital":[{"chain":"c","usd":1}],"horizon_days":1,"bridges":["#,
            &|i| format!(r#"{{"from":"a{i}","to":"b{i}","fee_bps":1e309}}"#),
            "]}",
        ),
        list(
            r#"{"capital":[{"chain":"c","usd":1}],"horizon_days":1,"gas_usd":{"#,
            &|i| format!(r#""g{i}":-1"#),
            "}}",
        ),
    ];
    for text in cases {
        let t = Instant::now();
        check(text.as_bytes()).unwrap();
        assert!(t.elapsed() < PROMPT, "{:?} for {:.60}…", t.elapsed(), text);
    }
}
