//! `Settings::parse` takes any text without panicking and without work or output beyond what
//! the text holds: random text, random bytes read as text, the `devnet.toml` that
//! `atoll devnet up` writes (devnet/src/config.rs) mutated (bytes flipped, truncated,
//! extended, spliced, repeated; TOML's own tokens and edge values spliced in), and random
//! `ATOLL_*` environment overrides on it. Each parse returns settings or errors; errors are
//! linear in the text at most; 1 MiB texts (deep nesting, long strings, long addresses and
//! amounts, thousands of tables) return promptly.
//!
//! Longer run (the case count of every property; default 2,000 or fewer, see `config`):
//!
//! ```text
//! PROPTEST_CASES=200000 PROPTEST_RNG_SEED=$RANDOM cargo test -p atoll-core --test settings_take_any_text --release
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use atoll_core::settings::{ConfigErrors, Settings};
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

/// What `atoll devnet up` wrote for a three-chain devnet (some pools and routes left out).
const DEVNET_TOML: &str = r#"# Atoll config for the local devnet, written by `atoll devnet up`.
# Keys are the devnet's public test keys, referenced as files next to this one.
# The EVM pools run Uniswap's V2/V3 bytecode on both chains (30 bps V2 fee).

[database]
url = "sqlite://atoll.db?mode=rwc"

[api]
listen = "127.0.0.1:8000"
operator_tokens = ["env:ATOLL_OPERATOR_TOKEN"]

[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:10463"]
confirmations = 2
use_finalized_tag = true
fee_model = "eip1559"
rate_limit_rps = 1000
start_block = 15
bridge_vault = "0x998abeb3E57409262aE5b751f60747921B33613E"
relayer_key = "file:keys/evm-relayer.key"
treasury_key = "file:keys/evm-treasury.key"

[[chains]]
name = "bsc"
kind = "evm"
chain_id = 56
rpc = ["http://127.0.0.1:10464"]
confirmations = 2
use_finalized_tag = true
fee_model = "legacy"
rate_limit_rps = 1000
start_block = 15
bridge_vault = "0x998abeb3E57409262aE5b751f60747921B33613E"
relayer_key = "file:keys/evm-relayer.key"
treasury_key = "file:keys/evm-treasury.key"

[[chains]]
name = "solana"
kind = "solana"
chain_id = 1151111081099710
rpc = ["http://127.0.0.1:10465"]
confirmations = 32
use_finalized_tag = true
rate_limit_rps = 1000
bridge_vault = "GEJj6xM5kDW61E4sQfz4WMHe6gfsdyUgmGZcqr8ieT5C"
relayer_key = "file:keys/solana-relayer.json"
treasury_key = "file:keys/solana-treasury.json"
priority_fee_micro_lamports = 1000

[[tokens]]
symbol = "USDC"
stable = true

[[tokens.on]]
chain = "ethereum"
address = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
decimals = 6

[[tokens.on]]
chain = "bsc"
address = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
decimals = 6

[[tokens.on]]
chain = "solana"
address = "8F6QbVNah5gxXkXvdAuGKUNVqjgMwxxogpX1emepZC6U"
decimals = 6
vault = "3RwdwKEdkDh2yb7nFCBSQt7FTn9GdwPT1f2ojjjy4Rwz"

[[tokens]]
symbol = "USDT"
stable = true

[[tokens.on]]
chain = "ethereum"
address = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"
decimals = 6

[[tokens.on]]
chain = "bsc"
address = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"
decimals = 6

[[tokens.on]]
chain = "solana"
address = "8mJWxvo3CPyFdeQK7jbMgdEnsyJx7NAw9TTRPijasFBb"
decimals = 6
vault = "G1hSpsdH9rRoezzgx3KQXKzNTe1HdhtF9frHETNMn3Xp"

[[tokens]]
symbol = "WBNB"
stable = false

[[tokens.on]]
chain = "bsc"
address = "0x610178dA211FEF7D417bC0e6FeD39F05609AD788"
decimals = 18

[[tokens.on]]
chain = "solana"
address = "6aneh3LKv98tf9QkRYdS5YazELQhUnsbtxmx8hQxRmRy"
decimals = 8
vault = "FDiCDAq2pq19gRgtXY7VUuo4FNMZZd7gT8k5u87r2KUm"

[[tokens]]
symbol = "WETH"
stable = false

[[tokens.on]]
chain = "ethereum"
address = "0x610178dA211FEF7D417bC0e6FeD39F05609AD788"
decimals = 18

[[tokens.on]]
chain = "solana"
address = "GkZBjNUSVSaBe2LcPwv2utJuf8gi4JQhQKS4ZN24xon4"
decimals = 8
vault = "5ZArMMvi8qGWZi8TML5znjCp6q5t8utbRhVQp1QLf9Lj"

[[pools]]
chain = "ethereum"
protocol = "uniswap_v2"
address = "0xf9262B9Ba618D94c1C36985Bd4f65f31647FBeF6"

[[pools]]
chain = "ethereum"
protocol = "uniswap_v3"
address = "0x9DEfb655CfFb8C95fcCF834Ae4fCce930a7842ad"

[[pools]]
chain = "bsc"
protocol = "uniswap_v2"
address = "0xf9262B9Ba618D94c1C36985Bd4f65f31647FBeF6"

[[pools]]
chain = "solana"
protocol = "orca_whirlpool"
address = "B6sfounpWEZKXRkqJotJDizkvxZvFaGJ8mgcbL6eouzv"

[[pools]]
chain = "solana"
protocol = "raydium_cpmm"
address = "28xDSCjAtSMPNfghanU3MurzcFG5VqSiePAtJzSgWr4N"

[[factories]]
chain = "ethereum"
protocol = "uniswap_v2"
address = "0x0B306BF915C4d645ff596e518fAf3F9669b97016"
start_block = 15

[[factories]]
chain = "ethereum"
protocol = "uniswap_v3"
address = "0xc5a5C42992dECbae36851359345FE25997F5C42d"
start_block = 15

[[factories]]
chain = "bsc"
protocol = "uniswap_v2"
address = "0x0B306BF915C4d645ff596e518fAf3F9669b97016"
start_block = 15

[[factories]]
chain = "bsc"
protocol = "uniswap_v3"
address = "0xc5a5C42992dECbae36851359345FE25997F5C42d"
start_block = 15

[protocol_fees]

[indexer]
min_tvl_usd = 1000.0
log_window_blocks = 2000
max_batch_blocks = 100000
poll_interval_ms = 500
evm_pool_batch_interval_ms = 2000
solana_sample_interval_ms = 5000

[[relayer.routes]]
from = "ethereum"
to = "bsc"
token = "USDC"
fee_bps = 5
fee_fixed = "0.5"
min_amount = "1"
max_amount = "1000000"

[[relayer.routes]]
from = "ethereum"
to = "solana"
token = "USDC"
fee_bps = 5
fee_fixed = "0.5"
min_amount = "1"
max_amount = "1000000"

[[relayer.routes]]
from = "bsc"
to = "ethereum"
token = "USDC"
fee_bps = 5
fee_fixed = "0.5"
min_amount = "1"
max_amount = "1000000"

[[relayer.routes]]
from = "bsc"
to = "solana"
token = "USDC"
fee_bps = 5
fee_fixed = "0.5"
min_amount = "1"
max_amount = "1000000"

[[relayer.finality]]
chain = "ethereum"
max_unfinalized_usd = 250000.0

[[relayer.finality.tiers]]
up_to_usd = 1000.0
confirmations = 2

[[relayer.finality.tiers]]
up_to_usd = 100000.0
confirmations = 4

[[relayer.finality.tiers]]
finalized = true

[[relayer.finality]]
chain = "bsc"
max_unfinalized_usd = 250000.0

[[relayer.finality.tiers]]
up_to_usd = 1000.0
confirmations = 3

[[relayer.finality.tiers]]
up_to_usd = 100000.0
confirmations = 6

[[relayer.finality.tiers]]
finalized = true
"#;

const MIB: usize = 1 << 20;

/// How long a 1 MiB text may take in a debug build: far below what quadratic work takes.
const PROMPT: Duration = Duration::from_secs(3);

fn parse(text: &str, env: Vec<(String, String)>) -> Result<Settings, ConfigErrors> {
    Settings::parse(text, env, Path::new("/etc/atoll"))
}

/// Parses; an error is a list of problems, each named, the whole linear in the input.
fn check(text: &str, env: Vec<(String, String)>) -> Result<(), TestCaseError> {
    let input = text.len() + env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    match parse(text, env) {
        Ok(s) => prop_assert!(s.chains.len() <= text.len()),
        Err(errors) => {
            prop_assert!(!errors.0.is_empty());
            let shown = errors.to_string();
            prop_assert!(
                shown.len() <= 16 * input + 8_192,
                "{} bytes of errors for {input} bytes of input",
                shown.len()
            );
        }
    }
    Ok(())
}

/// Pieces of TOML and values at the edges of what the settings accept.
const TOKENS: &[&str] = &[
    "\n",
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "{",
    "}",
    ",",
    ".",
    "#",
    "\\u0000",
    "\\",
    "\r\n",
    "\t",
    " = 1",
    "[chains]",
    "[[chains]]",
    "[[tokens.on]]",
    "[relayer]",
    "0",
    "-1",
    "1e308",
    "-0.0",
    "inf",
    "nan",
    "18446744073709551616",
    "-9223372036854775809",
    "9223372036854775807",
    "0x",
    "0xff",
    "1979-05-27T07:32:00Z",
    "true",
    "false",
    "[]",
    "{}",
    "\"file:\"",
    "\"env:\"",
    "file:/etc/passwd",
    "env:ATOLL_",
    "http://",
    "postgres://",
    "evm",
    "solana",
    "chains",
    "tokens",
    "decimals = 255",
    "decimals = 256",
    "chain_id = 0",
    "fee_bps = 10001",
    "\u{0}",
    "é",
    "\u{feff}",
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
        1 => (any::<usize>(), 1usize..200, any::<usize>(), 1u8..6)
            .prop_map(|(f, n, t, k)| Edit::Repeat(f, n, t, k)),
    ]
}

fn mutate(text: &str, edits: &[Edit]) -> String {
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
    String::from_utf8_lossy(&d).into_owned()
}

/// `ATOLL_*` variables: real and random key paths, values TOML or not.
fn env_var() -> impl Strategy<Value = (String, String)> {
    let segment = prop_oneof![
        select(vec![
            "CHAINS",
            "ETHEREUM",
            "BSC",
            "SOLANA",
            "RPC",
            "CONFIRMATIONS",
            "TOKENS",
            "USDC",
            "ON",
            "DATABASE",
            "URL",
            "API",
            "LISTEN",
            "RELAYER",
            "ROUTES",
            "FINALITY",
            "INDEXER",
            "MIN_TVL_USD",
            "NAME",
            "",
            "0",
        ])
        .prop_map(str::to_string),
        "[A-Za-z0-9_]{0,8}",
    ];
    let key = prop::collection::vec(segment, 1..5).prop_map(|s| format!("ATOLL_{}", s.join("__")));
    let value = prop_oneof![
        select(TOKENS).prop_map(str::to_string),
        select(vec![
            "[\"http://127.0.0.1:1\"]",
            "7",
            "-7",
            "true",
            "{ a = 1 }",
            "[[1], [2]]",
            "sqlite://x.db",
            "\"quoted\"",
            "1.5",
            "\"",
            "[",
        ])
        .prop_map(str::to_string),
        any::<String>(),
    ];
    (key, value)
}

#[test]
fn the_devnet_config_parses() {
    parse(DEVNET_TOML, Vec::new()).unwrap();
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn random_text(text in any::<String>()) {
        check(&text, Vec::new())?;
    }

    #[test]
    fn random_toml_like_text(pieces in prop::collection::vec(select(TOKENS), 0..60)) {
        check(&pieces.concat(), Vec::new())?;
    }

    #[test]
    fn random_bytes_read_as_text(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check(&String::from_utf8_lossy(&bytes), Vec::new())?;
    }
}

proptest! {
    // A parse of the whole devnet config costs more than one of a short text.
    #![proptest_config(config(1_000))]

    #[test]
    fn mutated_devnet_config(edits in prop::collection::vec(edit(), 1..8)) {
        check(&mutate(DEVNET_TOML, &edits), Vec::new())?;
    }

    #[test]
    fn random_environment_overrides(env in prop::collection::vec(env_var(), 1..6)) {
        check(DEVNET_TOML, env)?;
    }
}

#[test]
fn texts_of_a_mebibyte_return_promptly() {
    let repeat = |head: &str, unit: &str, tail: &str| {
        let mut s = head.to_string();
        while s.len() < MIB {
            s.push_str(unit);
        }
        s.push_str(tail);
        s
    };
    let replace = |from: &str, to: String| {
        assert!(DEVNET_TOML.contains(from), "{from}");
        DEVNET_TOML.replacen(from, &to, 1)
    };
    let cases = [
        repeat("a = ", "[", ""),
        repeat("a = ", "[", "]"),
        repeat("a = ", "{b = ", ""),
        repeat("", "a.", " = 1"),
        repeat("a = \"", "x", "\""),
        repeat("a = '''", "\\u", "'''"),
        repeat("", "[[chains]]\n", ""),
        repeat("", "[[tokens]]\nsymbol = \"U\"\n", ""),
        repeat("", "#", ""),
        repeat("", "\n", ""),
        repeat("a = ", "9", ""),
        repeat("a = 0.", "9", ""),
        repeat(
            DEVNET_TOML,
            "\n[[pools]]\nchain = \"ethereum\"\nprotocol = \"uniswap_v2\"\naddress = \"0x0\"\n",
            "",
        ),
        // A field of a mebibyte where the config has an address, a key or an amount.
        replace(
            "vault = \"3RwdwKEdkDh2yb7nFCBSQt7FTn9GdwPT1f2ojjjy4Rwz\"",
            format!("vault = \"{}\"", "3".repeat(MIB)),
        ),
        replace(
            "address = \"8F6QbVNah5gxXkXvdAuGKUNVqjgMwxxogpX1emepZC6U\"",
            format!("address = \"{}\"", "z".repeat(MIB)),
        ),
        replace(
            "bridge_vault = \"GEJj6xM5kDW61E4sQfz4WMHe6gfsdyUgmGZcqr8ieT5C\"",
            format!("bridge_vault = \"{}\"", "G".repeat(MIB)),
        ),
        replace(
            "bridge_vault = \"0x998abeb3E57409262aE5b751f60747921B33613E\"",
            format!("bridge_vault = \"0x{}\"", "0".repeat(MIB)),
        ),
        replace(
            "relayer_key = \"file:keys/evm-relayer.key\"",
            format!("relayer_key = \"file:{}\"", "k/".repeat(MIB / 2)),
        ),
        replace(
            "fee_fixed = \"0.5\"",
            format!("fee_fixed = \"{}\"", "9".repeat(MIB)),
        ),
        replace(
            "fee_fixed = \"0.5\"",
            format!("fee_fixed = \"0.{}\"", "0".repeat(MIB)),
        ),
        replace(
            "rpc = [\"http://127.0.0.1:10463\"]",
            format!("rpc = [\"http://{}.example:1\"]", "a".repeat(MIB)),
        ),
    ];
    for text in cases {
        let t = Instant::now();
        check(&text, Vec::new()).unwrap();
        assert!(t.elapsed() < PROMPT, "{:?} for {:.60}…", t.elapsed(), text);
    }
    // One override of a mebibyte.
    let t = Instant::now();
    check(
        DEVNET_TOML,
        vec![("ATOLL_DATABASE__URL".into(), "[".repeat(MIB))],
    )
    .unwrap();
    assert!(t.elapsed() < PROMPT, "{:?}", t.elapsed());
}
