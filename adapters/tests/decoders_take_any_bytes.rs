//! Every decoder of chain input in the adapters takes arbitrary bytes without panicking and
//! without work or allocation beyond what the input itself holds: the Solana account decoders
//! (Whirlpool, CPMM pool and config, token account, mint), the deposit and release memo
//! parsers, EVM log decoding (`events::decode`, from typed logs and from the node's JSON), the
//! release receipt's logs (the node's JSON receipt, the vault's events) and the `eth_call`
//! answers the adapter decodes. Each property runs random input and mutations (bytes flipped,
//! truncated, extended, spliced, chunks repeated) of real encoded input: the devnet's own
//! Solana accounts, every event Atoll reads as the contracts emit it, and a mined receipt.
//! Each returns a value or a clean error; errors stay small; 1 MiB inputs return promptly.
//!
//! The Solana transaction (instruction) decoder is private; its property lives next to it, in
//! `adapters/src/solana/deposits.rs` (`cargo test -p atoll-adapters --lib deposits`).
//!
//! Longer run (the case count of every property; default 2,000 or fewer, see `config`):
//!
//! ```text
//! PROPTEST_CASES=200000 PROPTEST_RNG_SEED=$RANDOM cargo test -p atoll-adapters --test decoders_take_any_bytes --release
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use alloy::primitives::aliases::{I24, U24, U112, U160};
use alloy::primitives::{Address, B256, I256, LogData, U256};
use alloy::rpc::types::{Log, TransactionReceipt};
use alloy::sol_types::{SolCall, SolEvent};
use atoll_adapters::evm::abi::{
    BridgeVault, IERC20, IUniswapV2Factory, IUniswapV2Pair, IUniswapV3Factory, IUniswapV3Pool,
};
use atoll_adapters::evm::events::{self, EvmEvent};
use atoll_adapters::solana::accounts::{
    CPMM_PROGRAM, TOKEN_2022_PROGRAM, TOKEN_PROGRAM, WHIRLPOOL_PROGRAM, decode_cpmm_config,
    decode_cpmm_pool, decode_mint_decimals, decode_token_account, decode_whirlpool,
};
use atoll_adapters::solana::deposits::{parse_memo, released_by_memo};
use proptest::prelude::*;
use proptest::sample::select;
use solana_sdk::pubkey::Pubkey;

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

/// How long a 1 MiB input may take in a debug build: generous, but far from what work
/// proportional to a claimed length (gigabytes) or quadratic in the input would take.
const PROMPT: Duration = Duration::from_secs(2);
const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/// One edit of a real input; positions are taken modulo the input's length.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Truncate(usize),
    Extend(Vec<u8>),
    Splice(usize, usize, Vec<u8>),
    /// Copies `len` bytes from `from` to `to`, `times` times (overlong lengths, repeats).
    Repeat {
        from: usize,
        len: usize,
        to: usize,
        times: u8,
    },
    /// Sets a 32-byte ABI word (offset, length) to a large or edge value.
    Word(usize, u64),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..).prop_map(|(i, m)| Edit::Flip(i, m)),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..64).prop_map(Edit::Extend),
        2 => (any::<usize>(), 0usize..40, prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(i, n, b)| Edit::Splice(i, n, b)),
        1 => (any::<usize>(), 1usize..96, any::<usize>(), 1u8..8)
            .prop_map(|(from, len, to, times)| Edit::Repeat { from, len, to, times }),
        2 => (any::<usize>(), prop_oneof![
                Just(0u64), Just(1), Just(31), Just(32), Just(33), Just(64), Just(0x7fff_ffff),
                Just(u32::MAX as u64), Just(u64::MAX), any::<u64>()
            ]).prop_map(|(i, v)| Edit::Word(i, v)),
    ]
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(edit(), 1..6)
}

fn apply(mut d: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = d.len();
        match e {
            Edit::Flip(i, m) if n > 0 => d[i % n] ^= m,
            Edit::Flip(..) => {}
            Edit::Truncate(i) => d.truncate(i % (n + 1)),
            Edit::Extend(b) => d.extend_from_slice(b),
            Edit::Splice(i, k, b) => {
                let at = i % (n + 1);
                let end = (at + k).min(n);
                d.splice(at..end, b.iter().copied());
            }
            Edit::Repeat {
                from,
                len,
                to,
                times,
            } if n > 0 => {
                let from = from % n;
                let chunk = d[from..(from + len).min(n)].to_vec();
                let at = to % (n + 1);
                for _ in 0..*times {
                    d.splice(at..at, chunk.iter().copied());
                }
            }
            Edit::Repeat { .. } => {}
            Edit::Word(i, v) => {
                // Word-aligned: where ABI offsets and lengths sit.
                let words = n / 32;
                if words > 0 {
                    let at = (i % words) * 32;
                    d[at..at + 32].fill(0);
                    d[at + 24..at + 32].copy_from_slice(&v.to_be_bytes());
                }
            }
        }
    }
    d
}

// ---------------------------------------------------------------------------------------------
// Solana accounts
// ---------------------------------------------------------------------------------------------

const WHIRLPOOL_DISCRIMINATOR: [u8; 8] = [0x3f, 0x95, 0xd1, 0x0c, 0xe1, 0x80, 0x63, 0x09];
const CPMM_POOL_DISCRIMINATOR: [u8; 8] = [0xf7, 0xed, 0xe3, 0xf5, 0xd7, 0xc3, 0xde, 0x46];
const CPMM_CONFIG_DISCRIMINATOR: [u8; 8] = [0xda, 0xf4, 0x21, 0x68, 0xcb, 0xcb, 0x2b, 0x6f];

/// The devnet's accounts, as `solana-test-validator` loads them: token accounts, mints, a
/// Whirlpool, a CPMM pool and its config (owner and data).
static ACCOUNTS: LazyLock<Vec<(Pubkey, Vec<u8>)>> = LazyLock::new(|| {
    let (fixtures, _) =
        atoll_devnet::solana::build_accounts("http://127.0.0.1:8899", 1_700_000_000);
    let out: Vec<(Pubkey, Vec<u8>)> = fixtures
        .into_iter()
        .filter(|f| !f.data.is_empty())
        .map(|f| (f.owner, f.data))
        .collect();
    for (owner, len) in [
        (WHIRLPOOL_PROGRAM, 653),
        (CPMM_PROGRAM, 637),
        (CPMM_PROGRAM, 236),
        (TOKEN_PROGRAM, 165),
        (TOKEN_PROGRAM, 82),
    ] {
        assert!(
            out.iter().any(|(o, d)| *o == owner && d.len() == len),
            "the devnet has a {len}-byte account of {owner}"
        );
    }
    out
});

fn owner() -> impl Strategy<Value = Pubkey> {
    prop_oneof![
        Just(WHIRLPOOL_PROGRAM),
        Just(CPMM_PROGRAM),
        Just(TOKEN_PROGRAM),
        Just(TOKEN_2022_PROGRAM),
        any::<[u8; 32]>().prop_map(Pubkey::new_from_array),
    ]
}

/// Runs every account decoder on `data` as owned by `owner`; checks each answer is a value
/// only when owner, size and discriminator allow, and a short error otherwise.
fn decode_account(owner: &Pubkey, data: &[u8]) -> Result<(), TestCaseError> {
    let key = Pubkey::new_from_array([9; 32]);
    let short = |e: &dyn std::fmt::Display| {
        let text = e.to_string();
        prop_assert!(
            !text.is_empty() && text.len() <= 400,
            "error of {} bytes: {text:.400}",
            text.len()
        );
        Ok(())
    };
    let disc = |d: [u8; 8]| data.get(..8) == Some(&d[..]);
    match decode_whirlpool(&key, owner, data) {
        Ok(w) => {
            prop_assert!(*owner == WHIRLPOOL_PROGRAM && data.len() == 653);
            prop_assert!(disc(WHIRLPOOL_DISCRIMINATOR));
            prop_assert!(w.rewards.len() <= 3);
        }
        Err(e) => short(&e)?,
    }
    match decode_cpmm_pool(&key, owner, data) {
        Ok(p) => {
            prop_assert!(*owner == CPMM_PROGRAM && data.len() == 637);
            prop_assert!(disc(CPMM_POOL_DISCRIMINATOR));
            let _ = p.reserves(u64::MAX, 0);
        }
        Err(e) => short(&e)?,
    }
    match decode_cpmm_config(&key, owner, data) {
        Ok(c) => {
            prop_assert!(*owner == CPMM_PROGRAM && data.len() == 236);
            prop_assert!(disc(CPMM_CONFIG_DISCRIMINATOR));
            prop_assert!(c.lp_fee_ppm() <= c.trade_fee_rate);
        }
        Err(e) => short(&e)?,
    }
    match decode_token_account(&key, owner, data) {
        Ok(_) => prop_assert!(
            (*owner == TOKEN_PROGRAM && data.len() == 165)
                || (*owner == TOKEN_2022_PROGRAM && data.len() >= 165)
        ),
        Err(e) => short(&e)?,
    }
    match decode_mint_decimals(&key, owner, data) {
        Ok(_) => prop_assert!(
            (*owner == TOKEN_PROGRAM && data.len() == 82)
                || (*owner == TOKEN_2022_PROGRAM && data.len() >= 82)
        ),
        Err(e) => short(&e)?,
    }
    Ok(())
}

/// Random data of the sizes the decoders accept (and around them), often with a real
/// discriminator, so the field reads run and not only the checks.
fn account_data() -> impl Strategy<Value = Vec<u8>> {
    let len = prop_oneof![
        select(vec![
            0usize, 7, 8, 81, 82, 83, 164, 165, 166, 235, 236, 237, 636, 637, 638, 652, 653, 654
        ]),
        0usize..1200,
    ];
    let disc = prop_oneof![
        Just(None),
        select(vec![
            WHIRLPOOL_DISCRIMINATOR,
            CPMM_POOL_DISCRIMINATOR,
            CPMM_CONFIG_DISCRIMINATOR
        ])
        .prop_map(Some),
    ];
    (len, disc, any::<u64>()).prop_map(|(len, disc, seed)| {
        let mut x = seed | 1;
        let mut data: Vec<u8> = (0..len)
            .map(|_| {
                // xorshift: cheap bytes without a strategy per byte.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        if let (Some(d), true) = (disc, len >= 8) {
            data[..8].copy_from_slice(&d);
        }
        data
    })
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn solana_accounts_random_bytes(owner in owner(), data in account_data()) {
        decode_account(&owner, &data)?;
    }

    #[test]
    fn solana_accounts_mutated_devnet_accounts(
        pick in any::<prop::sample::Index>(),
        other_owner in prop::option::weighted(0.2, owner()),
        edits in edits(),
    ) {
        let (owner, data) = pick.get(&ACCOUNTS);
        let owner = other_owner.unwrap_or(*owner);
        decode_account(&owner, data)?;
        decode_account(&owner, &apply(data.clone(), &edits))?;
    }
}

#[test]
fn solana_accounts_of_a_mebibyte_return_promptly() {
    for owner in [
        WHIRLPOOL_PROGRAM,
        CPMM_PROGRAM,
        TOKEN_PROGRAM,
        TOKEN_2022_PROGRAM,
    ] {
        for first in [
            WHIRLPOOL_DISCRIMINATOR,
            CPMM_POOL_DISCRIMINATOR,
            CPMM_CONFIG_DISCRIMINATOR,
            [0xff; 8],
        ] {
            let mut data = vec![0xa5u8; MIB];
            data[..8].copy_from_slice(&first);
            let t = Instant::now();
            decode_account(&owner, &data).unwrap();
            assert!(t.elapsed() < PROMPT, "{:?} for 1 MiB", t.elapsed());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Memos
// ---------------------------------------------------------------------------------------------

const MEMO_TOKENS: &[&str] = &[
    "atoll:v1:",
    "dst=",
    ":to=",
    "release=",
    "0x",
    ":",
    "=",
    "56",
    "18446744073709551616",
    "-1",
    "+1",
    "70997970c51812dc3a010c7d01b50e0d17dc79c8",
    "11111111111111111111111111111111",
    "\u{0}",
    "é",
    "\u{10ffff}",
    "\u{200b}",
];

static MEMOS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let id = B256::repeat_byte(0x7c);
    vec![
        "atoll:v1:dst=56:to=0x70997970c51812dc3a010c7d01b50e0d17dc79c8".to_string(),
        "atoll:v1:dst=1:to=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC".to_string(),
        format!(
            "atoll:v1:dst=1151111081099710:to={}",
            Pubkey::new_from_array([42; 32])
        ),
        format!("atoll:v1:release={id}"),
    ]
});

/// A memo edited as bytes, then read as the deposit scanner reads it (lossy UTF-8), with
/// pieces of the grammar spliced in.
fn mutated_memo() -> impl Strategy<Value = String> {
    (
        any::<prop::sample::Index>(),
        edits(),
        prop::collection::vec((any::<usize>(), select(MEMO_TOKENS)), 0..4),
    )
        .prop_map(|(pick, edits, inserts)| {
            let bytes = apply(pick.get(&MEMOS).as_bytes().to_vec(), &edits);
            let mut memo = String::from_utf8_lossy(&bytes).into_owned();
            for (at, token) in inserts {
                let mut at = at % (memo.len() + 1);
                while !memo.is_char_boundary(at) {
                    at -= 1;
                }
                memo.insert_str(at, token);
            }
            memo
        })
}

fn check_memo(memo: &str) -> Result<(), TestCaseError> {
    match parse_memo(memo) {
        Ok(d) => {
            prop_assert!(memo.starts_with("atoll:v1:dst="));
            prop_assert!(memo.ends_with(&d.recipient), "{memo:?} → {d:?}");
            prop_assert!(d.recipient.len() <= 44, "{d:?}");
        }
        Err(reason) => {
            // The memo is quoted (escaped) in the reason, at most twice: linear, never more.
            prop_assert!(!reason.is_empty());
            prop_assert!(
                reason.len() <= 12 * memo.len() + 256,
                "a {}-byte reason for a {}-byte memo",
                reason.len(),
                memo.len()
            );
        }
    }
    if let Some(id) = released_by_memo(memo) {
        let canonical = format!("atoll:v1:release={id}");
        prop_assert!(memo.eq_ignore_ascii_case(&canonical), "{memo:?} → {id}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn memos_random_text(memo in any::<String>()) {
        check_memo(&memo)?;
    }

    #[test]
    fn memos_random_bytes_read_lossily(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check_memo(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn memos_mutated_real_memos(memo in mutated_memo()) {
        check_memo(&memo)?;
    }
}

#[test]
fn memos_of_a_mebibyte_return_promptly() {
    let big = |prefix: &str, fill: &str| {
        let mut s = prefix.to_string();
        while s.len() < MIB {
            s.push_str(fill);
        }
        s
    };
    for memo in [
        big("", "a"),
        big("atoll:v1:dst=", "9"),
        big("atoll:v1:dst=1:to=", "1"),
        big("atoll:v1:dst=1:to=0x", "f"),
        big("atoll:v1:dst=1:to=", "\u{1}"),
        big("atoll:v1:release=0x", "0"),
        big("atoll:v1:", ":"),
    ] {
        let t = Instant::now();
        check_memo(&memo).unwrap();
        assert!(t.elapsed() < PROMPT, "{:?} for {:.30}…", t.elapsed(), memo);
    }
}

// ---------------------------------------------------------------------------------------------
// EVM logs
// ---------------------------------------------------------------------------------------------

fn addr(b: u8) -> Address {
    Address::repeat_byte(b)
}

/// One log of every event `events::decode` reads, encoded as the contracts emit them, with
/// edge values (negative ticks and amounts, maximal integers).
static EVENT_LOGS: LazyLock<Vec<LogData>> = LazyLock::new(|| {
    let big = U256::MAX;
    let tick = |t: i32| I24::try_from(t).unwrap();
    vec![
        IUniswapV2Pair::Swap {
            sender: addr(1),
            amount0In: U256::from(1_000u64),
            amount1In: U256::ZERO,
            amount0Out: U256::ZERO,
            amount1Out: big,
            to: addr(2),
        }
        .encode_log_data(),
        IUniswapV2Pair::Sync {
            reserve0: U112::MAX,
            reserve1: U112::from(5u8),
        }
        .encode_log_data(),
        IUniswapV2Pair::Mint {
            sender: addr(3),
            amount0: U256::from(7u8),
            amount1: big,
        }
        .encode_log_data(),
        IUniswapV2Pair::Burn {
            sender: addr(3),
            amount0: U256::from(7u8),
            amount1: U256::from(8u8),
            to: addr(4),
        }
        .encode_log_data(),
        IUniswapV3Pool::Swap {
            sender: addr(5),
            recipient: addr(6),
            amount0: I256::try_from(-12_345i64).unwrap(),
            amount1: I256::MAX,
            sqrtPriceX96: U160::MAX,
            liquidity: u128::MAX,
            tick: tick(-887_272),
        }
        .encode_log_data(),
        IUniswapV3Pool::Mint {
            sender: addr(7),
            owner: addr(8),
            tickLower: tick(-60),
            tickUpper: tick(887_220),
            amount: 1,
            amount0: U256::from(1u8),
            amount1: big,
        }
        .encode_log_data(),
        IUniswapV3Pool::Burn {
            owner: addr(8),
            tickLower: tick(-887_220),
            tickUpper: tick(60),
            amount: 99,
            amount0: U256::ZERO,
            amount1: U256::from(3u8),
        }
        .encode_log_data(),
        IUniswapV2Factory::PairCreated {
            token0: addr(11),
            token1: addr(12),
            pair: addr(13),
            _3: U256::from(1u8),
        }
        .encode_log_data(),
        IUniswapV3Factory::PoolCreated {
            token0: addr(11),
            token1: addr(12),
            fee: U24::from(3_000u32),
            tickSpacing: tick(60),
            pool: addr(14),
        }
        .encode_log_data(),
        BridgeVault::TransferInitiated {
            id: B256::repeat_byte(0x11),
            token: addr(15),
            sender: addr(16),
            amount: U256::from(5_000_000u64),
            dstChainId: 1_151_111_081_099_710,
            recipient: B256::repeat_byte(0x22),
            nonce: u64::MAX,
        }
        .encode_log_data(),
    ]
});

/// Real logs of events `events::decode` does not read (a token transfer; the vault's release
/// events, which the executor and the audit read from receipts): they decode to nothing,
/// whatever their bytes.
static OTHER_LOGS: LazyLock<Vec<LogData>> = LazyLock::new(|| {
    vec![
        IERC20::Transfer {
            from: addr(9),
            to: addr(10),
            value: U256::from(1_000_000u64),
        }
        .encode_log_data(),
        BridgeVault::TransferReleased {
            id: B256::repeat_byte(0x33),
            token: addr(15),
            recipient: addr(17),
            amount: U256::from(4_999_000u64),
        }
        .encode_log_data(),
        BridgeVault::ReleaseSkipped {
            id: B256::repeat_byte(0x44),
        }
        .encode_log_data(),
        BridgeVault::ReleaseFailed {
            id: B256::repeat_byte(0x55),
            token: addr(15),
            recipient: addr(18),
            amount: U256::from(1u8),
        }
        .encode_log_data(),
    ]
});

const VAULT: Address = Address::repeat_byte(0xaa);

fn mined(data: LogData) -> Log {
    Log {
        inner: alloy::primitives::Log {
            address: VAULT,
            data,
        },
        block_hash: Some(B256::repeat_byte(0xb1)),
        block_number: Some(19_000_000),
        block_timestamp: None,
        transaction_hash: Some(B256::repeat_byte(0xc1)),
        transaction_index: Some(4),
        log_index: Some(17),
        removed: false,
    }
}

/// `events::decode` on `log`: a decoded event is at the log's position; an error names the
/// log in a message linear in the log's size at most.
fn check_log(log: &Log) -> Result<Option<EvmEvent>, TestCaseError> {
    let size = log.data().data.len() + 32 * log.topics().len();
    match events::decode(log) {
        None => Ok(None),
        Some(Ok((pos, event))) => {
            prop_assert_eq!(pos, events::position(log).unwrap());
            prop_assert!(!event.kind().is_empty());
            Ok(Some(event))
        }
        Some(Err(e)) => {
            let text = e.to_string();
            prop_assert!(text.contains("malformed"), "{text}");
            prop_assert!(
                text.len() <= 3 * size + 512,
                "a {}-byte error for a {size}-byte log",
                text.len()
            );
            Ok(None)
        }
    }
}

fn known_topic() -> impl Strategy<Value = B256> {
    prop_oneof![
        4 => select(EvmEvent::topics()),
        1 => any::<[u8; 32]>().prop_map(B256::from),
    ]
}

/// A log made of a known (or random) first topic, random further topics and random data.
fn random_log() -> impl Strategy<Value = Log> {
    (
        known_topic(),
        prop::collection::vec(any::<[u8; 32]>().prop_map(B256::from), 0..5),
        prop::collection::vec(any::<u8>(), 0..400),
    )
        .prop_map(|(t0, rest, data)| {
            let mut topics = vec![t0];
            topics.extend(rest);
            mined(LogData::new_unchecked(topics, data.into()))
        })
}

/// A real log with its topics edited (dropped, added, bytes flipped) and its data edited.
fn mutated_log() -> impl Strategy<Value = Log> {
    (
        any::<prop::sample::Index>(),
        edits(),
        prop::collection::vec((any::<usize>(), any::<usize>(), 1u8..), 0..3),
        prop_oneof![Just(0i8), Just(-1), Just(1), Just(2)],
    )
        .prop_map(|(pick, edits, flips, topic_delta)| {
            let real = pick.get(&EVENT_LOGS);
            let mut topics = real.topics().to_vec();
            for (t, i, m) in flips {
                // Never topic0 here: a flipped topic0 is just an unknown event.
                if topics.len() > 1 {
                    let t = 1 + t % (topics.len() - 1);
                    topics[t].0[i % 32] ^= m;
                }
            }
            match topic_delta {
                -1 if topics.len() > 1 => {
                    topics.pop();
                }
                1 => topics.push(B256::repeat_byte(0xee)),
                2 => topics.extend([B256::ZERO, B256::repeat_byte(0xff)]),
                _ => {}
            }
            let data = apply(real.data.to_vec(), &edits);
            mined(LogData::new_unchecked(topics, data.into()))
        })
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn evm_logs_random(log in random_log()) {
        check_log(&log)?;
    }

    #[test]
    fn evm_logs_mutated_real_events(log in mutated_log()) {
        check_log(&log)?;
    }

    /// The node's JSON (`eth_getLogs`), edited as bytes: what serde accepts decodes cleanly.
    #[test]
    fn evm_logs_mutated_json(pick in any::<prop::sample::Index>(), edits in edits()) {
        let json = serde_json::to_vec(&mined(pick.get(&EVENT_LOGS).clone())).unwrap();
        let json = apply(json, &edits);
        if let Ok(log) = serde_json::from_slice::<Log>(&json) {
            check_log(&log)?;
        }
    }
}

#[test]
fn every_real_event_decodes() {
    for data in EVENT_LOGS.iter() {
        let event = check_log(&mined(data.clone())).unwrap();
        assert!(event.is_some(), "{data:?}");
    }
}

#[test]
fn events_the_decoder_does_not_read_decode_to_nothing() {
    for data in OTHER_LOGS.iter() {
        assert!(events::decode(&mined(data.clone())).is_none(), "{data:?}");
    }
}

#[test]
fn evm_logs_of_a_mebibyte_return_promptly() {
    for topic0 in EvmEvent::topics() {
        for fill in [0x00u8, 0xff, 0x20] {
            let topics = [topic0, B256::repeat_byte(fill), B256::ZERO, B256::ZERO];
            for n in 1..=topics.len() {
                let log = mined(LogData::new_unchecked(
                    topics[..n].to_vec(),
                    vec![fill; MIB].into(),
                ));
                let t = Instant::now();
                check_log(&log).unwrap();
                assert!(t.elapsed() < PROMPT, "{:?} for 1 MiB", t.elapsed());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Release receipts and eth_call answers
// ---------------------------------------------------------------------------------------------

/// A mined release transaction's receipt as a node sends it (`eth_getTransactionReceipt`): a
/// batch that released one transfer, skipped one and failed one, plus a token transfer.
static RECEIPT_JSON: LazyLock<Vec<u8>> = LazyLock::new(|| {
    // Skipped, failed, released, then the token transfer.
    let logs: Vec<serde_json::Value> = [2usize, 3, 1, 0]
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let mut log = mined(OTHER_LOGS[*k].clone());
            log.log_index = Some(i as u64);
            serde_json::to_value(log).unwrap()
        })
        .collect();
    let receipt = serde_json::json!({
        "type": "0x2",
        "status": "0x1",
        "cumulativeGasUsed": "0x2dc6c0",
        "logs": logs,
        "logsBloom": format!("0x{}", "00".repeat(256)),
        "transactionHash": B256::repeat_byte(0xc1),
        "transactionIndex": "0x4",
        "blockHash": B256::repeat_byte(0xb1),
        "blockNumber": "0x121eac0",
        "gasUsed": "0x3d090",
        "effectiveGasPrice": "0x3b9aca00",
        "from": addr(0x21),
        "to": VAULT,
        "contractAddress": null
    });
    let bytes = serde_json::to_vec(&receipt).unwrap();
    let parsed: TransactionReceipt = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(parsed.inner.logs().len(), 4);
    bytes
});

/// What the executor reads of a receipt: per vault log, released, skipped or failed.
fn check_receipt(receipt: &TransactionReceipt) -> Result<(), TestCaseError> {
    let logs = receipt.inner.logs();
    let mut sorted = 0usize;
    for log in logs {
        if log.address() != VAULT {
            continue;
        }
        let inner = &log.inner;
        if BridgeVault::TransferReleased::decode_log(inner).is_ok()
            || BridgeVault::ReleaseSkipped::decode_log(inner).is_ok()
            || BridgeVault::ReleaseFailed::decode_log(inner).is_ok()
        {
            sorted += 1;
        }
        check_log(log)?;
    }
    prop_assert!(sorted <= logs.len());
    let _ = (receipt.status(), receipt.block_number, receipt.block_hash);
    Ok(())
}

/// A decoded `symbol()` is bounded by the answer it came from (no allocation sized by the
/// length word alone): at most three bytes per byte, since invalid UTF-8 is decoded lossily
/// (each bad byte becomes U+FFFD, three bytes).
fn symbol_within(d: &[u8]) -> bool {
    match IERC20::symbolCall::abi_decode_returns(d) {
        Ok(s) => s.len() <= 3 * d.len(),
        Err(_) => true,
    }
}

/// Real `eth_call` answers the adapter decodes, each with its decoder (false: a decoded value
/// larger than the answer).
type Decoder = fn(&[u8]) -> bool;

static CALL_ANSWERS: LazyLock<Vec<(Vec<u8>, Decoder)>> = LazyLock::new(|| {
    vec![
        (
            IERC20::symbolCall::abi_encode_returns(&"USDC".to_string()),
            symbol_within,
        ),
        (
            IERC20::symbolCall::abi_encode_returns(
                &"A SYMBOL LONGER THAN ONE ABI WORD".to_string(),
            ),
            symbol_within,
        ),
        (IERC20::decimalsCall::abi_encode_returns(&18u8), |d| {
            let _ = IERC20::decimalsCall::abi_decode_returns(d);
            true
        }),
        (
            IERC20::balanceOfCall::abi_encode_returns(&U256::from(10u8).pow(U256::from(30u8))),
            |d| {
                let _ = IERC20::balanceOfCall::abi_decode_returns(d);
                let _ = IERC20::totalSupplyCall::abi_decode_returns(d);
                let _ = BridgeVault::releaseBatchCall::abi_decode_returns(d);
                true
            },
        ),
        (
            IUniswapV2Pair::getReservesCall::abi_encode_returns(
                &IUniswapV2Pair::getReservesReturn {
                    reserve0: U112::MAX,
                    reserve1: U112::from(1u8),
                    blockTimestampLast: u32::MAX,
                },
            ),
            |d| {
                let _ = IUniswapV2Pair::getReservesCall::abi_decode_returns(d);
                let _ = IUniswapV2Pair::token0Call::abi_decode_returns(d);
                true
            },
        ),
        (
            IUniswapV3Pool::slot0Call::abi_encode_returns(&IUniswapV3Pool::slot0Return {
                sqrtPriceX96: U160::MAX,
                tick: I24::try_from(-887_272).unwrap(),
                observationIndex: 1,
                observationCardinality: 2,
                observationCardinalityNext: 3,
                feeProtocol: 0,
                unlocked: true,
            }),
            |d| {
                let _ = IUniswapV3Pool::slot0Call::abi_decode_returns(d);
                let _ = IUniswapV3Pool::feeCall::abi_decode_returns(d);
                let _ = IUniswapV3Pool::liquidityCall::abi_decode_returns(d);
                true
            },
        ),
        (BridgeVault::processedCall::abi_encode_returns(&true), |d| {
            let _ = BridgeVault::processedCall::abi_decode_returns(d);
            let _ = IERC20::transferCall::abi_decode_returns(d);
            true
        }),
    ]
});

/// Every answer decoder on `data`.
fn decode_answers(data: &[u8]) -> Result<(), TestCaseError> {
    for (_, decoder) in CALL_ANSWERS.iter() {
        prop_assert!(decoder(data));
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn evm_receipts_mutated_json(edits in edits()) {
        let json = apply(RECEIPT_JSON.clone(), &edits);
        if let Ok(receipt) = serde_json::from_slice::<TransactionReceipt>(&json) {
            check_receipt(&receipt)?;
        }
    }

    #[test]
    fn evm_receipt_logs_mutated(logs in prop::collection::vec(mutated_log(), 0..6)) {
        let envelope = serde_json::json!({
            "type": "0x2", "status": "0x1", "cumulativeGasUsed": "0x1", "logs": logs,
            "logsBloom": format!("0x{}", "00".repeat(256)),
            "transactionHash": B256::ZERO, "transactionIndex": "0x0",
            "blockHash": B256::ZERO, "blockNumber": "0x1", "gasUsed": "0x1",
            "effectiveGasPrice": "0x1", "from": Address::ZERO, "to": VAULT,
            "contractAddress": null
        });
        let receipt: TransactionReceipt = serde_json::from_value(envelope).unwrap();
        check_receipt(&receipt)?;
    }

    #[test]
    fn evm_call_answers_random(data in prop::collection::vec(any::<u8>(), 0..300)) {
        decode_answers(&data)?;
    }

    #[test]
    fn evm_call_answers_mutated(pick in any::<prop::sample::Index>(), edits in edits()) {
        let (real, _) = pick.get(&CALL_ANSWERS);
        decode_answers(real)?;
        decode_answers(&apply(real.clone(), &edits))?;
    }
}

#[test]
fn evm_answers_and_receipts_of_a_mebibyte_return_promptly() {
    // Offsets and lengths claiming far more than is there, and a buffer that is all of it.
    let mut claims = vec![0u8; MIB];
    claims[31] = 0x20;
    claims[32..64].fill(0xff);
    let mut honest = vec![b'A'; MIB];
    honest[..64].fill(0);
    honest[31] = 0x20;
    honest[56..64].copy_from_slice(&((MIB - 64) as u64).to_be_bytes());
    for data in [claims, honest, vec![0xff; MIB], vec![0; MIB]] {
        let t = Instant::now();
        decode_answers(&data).unwrap();
        assert!(t.elapsed() < PROMPT, "{:?} for 1 MiB", t.elapsed());
    }
    // A receipt of 10,000 vault `TransferReleased` logs (about 4 MiB of JSON).
    let log = serde_json::to_value(mined(OTHER_LOGS[1].clone())).unwrap();
    let envelope = serde_json::json!({
        "type": "0x2", "status": "0x1", "cumulativeGasUsed": "0x1",
        "logs": vec![log; 10_000],
        "logsBloom": format!("0x{}", "00".repeat(256)),
        "transactionHash": B256::ZERO, "transactionIndex": "0x0",
        "blockHash": B256::ZERO, "blockNumber": "0x1", "gasUsed": "0x1",
        "effectiveGasPrice": "0x1", "from": Address::ZERO, "to": VAULT,
        "contractAddress": null
    });
    let text = serde_json::to_vec(&envelope).unwrap();
    let t = Instant::now();
    let receipt: TransactionReceipt = serde_json::from_slice(&text).unwrap();
    check_receipt(&receipt).unwrap();
    assert!(
        t.elapsed() < 4 * PROMPT,
        "{:?} for 10,000 logs",
        t.elapsed()
    );
}
