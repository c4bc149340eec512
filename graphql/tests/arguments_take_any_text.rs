//! The decoders behind the GraphQL API's arguments take any text without panicking and
//! without work or output beyond what the argument holds: `pools(after:)` cursors
//! (`catalog::Position::decode`, every order), `transfer(id:)` ids (`TransferId`),
//! `requestTransfer`'s amount (`Amount::parse_units`) and `quoteAllocation(input:)`'s JSON
//! (`QuoteInput` from a JSON value, then its validation). Each property runs random text and
//! mutations of real arguments: cursors the API hands out, ids of real transfers, amounts as
//! operators write them, the router's real requests. 1 MiB arguments return promptly.
//!
//! The private helpers (the `|`-joined cursor format shared by `transfers(after:)`) are tested
//! next to their code in `graphql/src/cursor.rs`
//! (`cargo test -p atoll-graphql --lib cursor::any_text`).
//!
//! Longer run (the case count of every property; default 2,000 or fewer, see `config`):
//!
//! ```text
//! PROPTEST_CASES=200000 PROPTEST_RNG_SEED=$RANDOM cargo test -p atoll-graphql --test arguments_take_any_text --release
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use atoll_core::{Amount, TransferId};
use atoll_graphql::catalog::{PoolOrder, Position};
use atoll_router::QuoteInput;
use base64::Engine;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

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
const PROMPT: Duration = Duration::from_secs(2);
const ORDERS: [PoolOrder; 3] = [
    PoolOrder::ApyDesc,
    PoolOrder::TvlDesc,
    PoolOrder::VolumeDesc,
];

fn b64(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// Cursors as `pools` hands them out (`p1|<order>|<key bits or ->|<pool id>`), and others'.
fn real_cursors() -> Vec<String> {
    let apy = format!("{:016x}", 0.0731f64.to_bits());
    let tvl = format!("{:016x}", 1.5e7f64.to_bits());
    [
        format!("p1|apy|{apy}|ethereum:uniswap_v2:0xf9262b9ba618d94c1c36985bd4f65f31647fbef6"),
        format!("p1|tvl|{tvl}|solana:orca_whirlpool:B6sfounpWEZKXRkqJotJDizkvxZvFaGJ8mgcbL6eouzv"),
        "p1|vol|-|bsc:uniswap_v3:0x9defb655cffb8c95fccf834ae4fcce930a7842ad".to_string(),
        "t1|1733561234567|0x7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c"
            .to_string(),
    ]
    .iter()
    .map(|c| b64(c))
    .collect()
}

fn check_cursor(cursor: &str) -> Result<(), TestCaseError> {
    for order in ORDERS {
        match Position::decode(cursor, order) {
            Ok(p) => {
                // What decodes encodes back to a cursor that decodes to the same position.
                let again = Position::decode(&p.encode(), order);
                prop_assert_eq!(again.ok(), Some(p.clone()));
                prop_assert!(p.encode().len() <= cursor.len() + 64);
            }
            Err(e) => {
                let text = e.to_string();
                prop_assert!(!text.is_empty());
                prop_assert!(text.len() <= 2 * cursor.len() + 256, "{text:.200}");
            }
        }
    }
    Ok(())
}

/// Byte edits of `text`, read back as the API reads a string argument (valid UTF-8).
fn mutated(text: String) -> impl Strategy<Value = String> {
    let edit = (
        0u8..4,
        any::<usize>(),
        any::<u8>(),
        "[A-Za-z0-9_|=+/.-]{0,6}",
    );
    prop::collection::vec(edit, 1..6).prop_map(move |edits| {
        let mut d = text.clone().into_bytes();
        for (kind, i, byte, piece) in edits {
            let n = d.len();
            match kind {
                0 if n > 0 => d[i % n] ^= byte.max(1),
                1 => d.truncate(i % (n + 1)),
                2 => {
                    let at = i % (n + 1);
                    d.splice(at..at, piece.bytes());
                }
                _ if n > 0 => {
                    let at = i % n;
                    d.splice(at..(at + usize::from(byte % 8)).min(n), piece.bytes());
                }
                _ => {}
            }
        }
        String::from_utf8_lossy(&d).into_owned()
    })
}

/// A real cursor, mutated either as base64 text or as the text it encodes.
fn mutated_cursor() -> impl Strategy<Value = String> {
    (any::<prop::sample::Index>(), any::<bool>()).prop_flat_map(|(pick, inner)| {
        let cursors = real_cursors();
        let real = pick.get(&cursors).clone();
        if inner {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&real)
                .unwrap();
            mutated(String::from_utf8(raw).unwrap())
                .prop_map(|t| b64(&t))
                .boxed()
        } else {
            mutated(real).boxed()
        }
    })
}

fn check_transfer_id(id: &str) -> Result<(), TestCaseError> {
    match id.parse::<TransferId>() {
        Ok(t) => prop_assert!(t.to_string().eq_ignore_ascii_case(id)),
        // The id is quoted escaped: at most 6 bytes per byte (`\u{7f}`).
        Err(e) => prop_assert!(e.to_string().len() <= 6 * id.len() + 256),
    }
    Ok(())
}

fn check_amount(amount: &str, decimals: u8) -> Result<(), TestCaseError> {
    match Amount::parse_units(amount, decimals) {
        Ok(a) => {
            let shown = a.to_string();
            prop_assert!(
                shown.len() <= amount.trim().len() + 2,
                "{amount:?} → {shown}"
            );
        }
        Err(e) => prop_assert!(e.to_string().len() <= 6 * amount.len() + 256),
    }
    Ok(())
}

/// `quoteAllocation(input:)`: the JSON value into a request, then its validation.
fn check_quote_input(v: Value) -> Result<(), TestCaseError> {
    if let Ok(input) = serde_json::from_value::<QuoteInput>(v) {
        match input.validate() {
            Ok(p) => prop_assert_eq!(p.pools.len(), input.pools.len()),
            Err(problems) => prop_assert!(!problems.is_empty()),
        }
    }
    Ok(())
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        select(vec!["", " ", "ethereum", "bsc", "solana", "USDC", "\u{0}"]).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    select(vec![
                        "capital",
                        "horizon_days",
                        "pools",
                        "bridges",
                        "gas_usd",
                        "constraints",
                        "chain",
                        "usd",
                        "id",
                        "protocol",
                        "tokens",
                        "tvl_usd",
                        "fees_usd_year",
                        "rewards_usd_year",
                        "max_share_of_tvl",
                        "from",
                        "to",
                        "fee_bps",
                        "fixed_usd",
                        "eta_s",
                        "allowed_chains",
                        "max_chain_share",
                    ])
                    .prop_map(str::to_string),
                    ".{0,10}",
                ],
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A real request with one value somewhere in it replaced by an arbitrary one.
fn mutated_quote_input() -> impl Strategy<Value = Value> {
    (0usize..8, 0u64..100, any::<usize>(), arbitrary_json()).prop_map(|(n, seed, at, with)| {
        let mut v: Value = serde_json::from_str(&atoll_router::instance::json(n, seed)).unwrap();
        fn count(v: &Value) -> usize {
            1 + match v {
                Value::Array(a) => a.iter().map(count).sum(),
                Value::Object(o) => o.values().map(count).sum(),
                _ => 0,
            }
        }
        fn replace(v: &mut Value, at: &mut usize, with: &Value) {
            if *at == 0 {
                *v = with.clone();
                *at = usize::MAX;
                return;
            }
            *at -= 1;
            match v {
                Value::Array(a) => a.iter_mut().for_each(|x| replace(x, at, with)),
                Value::Object(o) => o.values_mut().for_each(|x| replace(x, at, with)),
                _ => {}
            }
        }
        let mut at = at % count(&v);
        replace(&mut v, &mut at, &with);
        v
    })
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn pool_cursors_random_text(cursor in any::<String>()) {
        check_cursor(&cursor)?;
    }

    #[test]
    fn pool_cursors_random_base64(text in any::<String>()) {
        check_cursor(&b64(&text))?;
        check_cursor(&b64(&format!("p1|apy|{text}")))?;
    }

    #[test]
    fn pool_cursors_mutated(cursor in mutated_cursor()) {
        check_cursor(&cursor)?;
    }

    #[test]
    fn transfer_ids_random_and_mutated(
        random in any::<String>(),
        real in any::<[u8; 32]>().prop_flat_map(|b| mutated(TransferId(b).to_string())),
    ) {
        check_transfer_id(&random)?;
        check_transfer_id(&real)?;
    }

    #[test]
    fn amounts_random_and_mutated(
        random in any::<String>(),
        real in select(vec!["1", "0.5", "1000000", "0.000001", " 12.25 ", "1e6"])
            .prop_flat_map(|a| mutated(a.to_string())),
        decimals in prop_oneof![Just(0u8), Just(6), Just(18), any::<u8>()],
    ) {
        check_amount(&random, decimals)?;
        check_amount(&real, decimals)?;
    }

    #[test]
    fn quote_input_random_json(v in arbitrary_json()) {
        check_quote_input(v)?;
    }

    #[test]
    fn quote_input_mutated_real_requests(v in mutated_quote_input()) {
        check_quote_input(v)?;
    }
}

#[test]
fn arguments_of_a_mebibyte_return_promptly() {
    let big = |prefix: &str, fill: &str| {
        let mut s = prefix.to_string();
        while s.len() < MIB {
            s.push_str(fill);
        }
        s
    };
    let t = Instant::now();
    for cursor in [
        big("", "A"),
        big("", "="),
        b64(&big("p1|apy|", "|")),
        b64(&big("p1|apy|", "f")),
        b64(&big("p1|apy|-|", "x")),
    ] {
        check_cursor(&cursor).unwrap();
    }
    for id in [big("0x", "0"), big("0x", "z"), big("", "\u{10ffff}")] {
        check_transfer_id(&id).unwrap();
    }
    for amount in [big("", "9"), big("0.", "0"), big("", "0"), big(" ", " ")] {
        check_amount(&amount, 18).unwrap();
        check_amount(&amount, 255).unwrap();
    }
    let mut v = json!({"capital": [{"chain": "c", "usd": 1}], "horizon_days": 1});
    v["pools"] = Value::from(
        (0..10_000)
            .map(|i| {
                json!({"id": format!("p{i}"), "chain": format!("c{i}"), "protocol": "p",
                            "tvl_usd": 1, "fees_usd_year": 1})
            })
            .collect::<Vec<_>>(),
    );
    check_quote_input(v).unwrap();
    assert!(t.elapsed() < 4 * PROMPT, "{:?}", t.elapsed());
}
