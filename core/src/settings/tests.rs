//! End-to-end checks of `Settings::parse`: defaults, problems named by path, overrides.

use super::*;
use crate::SecretRef;

const GOOD: &str = r#"
[database]
url = "sqlite://atoll.db?mode=rwc"

[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:8545"]
bridge_vault = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
relayer_key = "file:keys/relayer.key"

[[chains]]
name = "solana"
kind = "solana"
chain_id = 1151111081099710
rpc = ["http://127.0.0.1:8899"]

[[tokens]]
symbol = "USDC"
stable = true
on = [
  { chain = "ethereum", address = "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals = 6 },
  { chain = "solana", address = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", decimals = 6, vault = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc" },
]

[[pools]]
chain = "ethereum"
protocol = "uniswap_v2"
address = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
"#;

fn parse(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
    Settings::parse(
        text,
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        Path::new("/etc/atoll"),
    )
}

#[test]
fn good_config_parses_with_defaults() {
    let s = parse(GOOD, &[]).unwrap();
    assert_eq!(s.chains.len(), 2);
    let eth = s.chain("ethereum").unwrap();
    assert_eq!(eth.fee_model, Some(FeeModel::Eip1559));
    assert_eq!(
        eth.relayer_key,
        Some(SecretRef::File("/etc/atoll/keys/relayer.key".into()))
    );
    assert_eq!(s.protocol_fees[&Protocol::PancakeswapV2], (25, 17));
    assert_eq!(
        s.pools[0].id.0,
        "ethereum:uniswap_v2:0x5fbdb2315678afecb367f032d93f642f64180aa3"
    );
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let bad = GOOD
        .replace("rpc = [\"http://127.0.0.1:8545\"]", "rpc = [\"not a url\"]")
        .replace("kind = \"solana\"", "kind = \"cosmos\"")
        .replace(
            "relayer_key = \"file:keys/relayer.key\"",
            "relayer_key = \"0xdeadbeefdeadbeefdeadbeef\"",
        )
        .replace("protocol = \"uniswap_v2\"", "protocol = \"sushiswap\"");
    let errs = parse(&bad, &[]).unwrap_err();
    let text = errs.to_string();
    for needle in [
        "chains[0].rpc[0]: not a URL",
        "chains[1].kind: unknown chain kind",
        "chains[0].relayer_key",
        "pools[0].protocol: unknown protocol",
        "tokens[0].on[1].chain: unknown chain \"solana\"",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("deadbeefdeadbeef"), "secret echoed:\n{text}");
}

#[test]
fn bad_address_is_named() {
    let bad = GOOD.replace(
        "bridge_vault = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"",
        "bridge_vault = \"0x5FbD\"",
    );
    let text = parse(&bad, &[]).unwrap_err().to_string();
    assert!(
        text.starts_with("chains[0].bridge_vault: not a valid evm address"),
        "{text}"
    );
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let text = parse(&format!("{GOOD}\n[api]\nlisen = \"x\"\n"), &[])
        .unwrap_err()
        .to_string();
    assert!(text.starts_with("line 33: unknown field `lisen`"), "{text}");
}

#[test]
fn env_overrides_by_entry_name() {
    let s = parse(
        GOOD,
        &[
            ("ATOLL_CHAINS__ETHEREUM__RPC", "[\"http://10.1.1.1:8545\"]"),
            ("ATOLL_DATABASE__URL", "postgres://u@h/db"),
            ("ATOLL_HOME", "/x"),
        ],
    )
    .unwrap();
    assert_eq!(
        s.chain("ethereum").unwrap().rpc[0].as_str(),
        "http://10.1.1.1:8545/"
    );
    assert_eq!(s.database_url, "postgres://u@h/db");
    let e = parse(GOOD, &[("ATOLL_CHAINS__ARBITRUM__RPC", "x")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ATOLL_CHAINS__ARBITRUM__RPC: no entry named \"arbitrum\""),
        "{e}"
    );
}

#[test]
fn the_treasury_never_shares_the_relayers_key() {
    let bad = GOOD.replace(
        "relayer_key = \"file:keys/relayer.key\"\n",
        "relayer_key = \"file:keys/relayer.key\"\ntreasury_key = \"file:keys/relayer.key\"\nmax_gas_price_gwei = 0\n",
    );
    let text = parse(&bad, &[]).unwrap_err().to_string();
    assert!(
        text.contains("chains[0].treasury_key: must not be the relayer's key"),
        "{text}"
    );
    assert!(
        text.contains("chains[0].max_gas_price_gwei: must be at least 1"),
        "{text}"
    );
    let s = parse(GOOD, &[]).unwrap();
    assert_eq!(
        s.chains[0].max_gas_price_wei,
        1_000 * 1_000_000_000,
        "the default"
    );
}

#[test]
fn a_vault_without_a_relayer_key_is_named() {
    let bad = GOOD.replace("relayer_key = \"file:keys/relayer.key\"\n", "");
    let text = parse(&bad, &[]).unwrap_err().to_string();
    assert!(
        text.contains("chains[0].relayer_key: required when bridge_vault is set"),
        "{text}"
    );
}

#[test]
fn protocol_on_wrong_chain_kind() {
    let bad = GOOD.replace("protocol = \"uniswap_v2\"", "protocol = \"orca_whirlpool\"");
    let text = parse(&bad, &[]).unwrap_err().to_string();
    assert!(
        text.contains("pools[0].protocol: orca_whirlpool runs on solana chains, not evm"),
        "{text}"
    );
}

#[test]
fn lending_markets_are_named_by_their_protocols_own_field() {
    let market =
        |fields: &str| format!("{GOOD}\n[[lending_markets]]\nchain = \"ethereum\"\n{fields}\n");
    let provider = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    let comet = "0xc3d688B66703497DAA19211EEdff47f25384cdc3";
    let s = parse(
        &market(&format!(
            "protocol = \"compound_v3\"\ncomet = \"{comet}\"\nrewards = \"{provider}\""
        )),
        &[],
    )
    .unwrap();
    assert!(matches!(
        s.lending_markets[0].entry,
        LendingMarketEntry::Comet {
            rewards: Some(_),
            ..
        }
    ));
    let s = parse(
        &market(&format!(
            "protocol = \"aave_v3\"\naddresses_provider = \"{provider}\""
        )),
        &[],
    )
    .unwrap();
    assert!(matches!(
        s.lending_markets[0].entry,
        LendingMarketEntry::Aave { .. }
    ));
    for (fields, path, says) in [
        (
            format!("protocol = \"compound_v3\"\naddresses_provider = \"{provider}\""),
            "lending_markets[0].addresses_provider",
            "not a field of compound_v3 markets",
        ),
        (
            "protocol = \"compound_v3\"".to_string(),
            "lending_markets[0].comet",
            "missing",
        ),
        (
            format!("protocol = \"aave_v3\"\ncomet = \"{comet}\""),
            "lending_markets[0].comet",
            "not a field of aave_v3 markets",
        ),
        (
            "protocol = \"compound_v3\"\ncomet = \"0x12\"".to_string(),
            "lending_markets[0].comet",
            "",
        ),
        (
            "protocol = \"compound_v3\"\ncomet = \"0x0000000000000000000000000000000000000000\""
                .to_string(),
            "lending_markets[0].comet",
            "zero address",
        ),
        (
            format!("protocol = \"compound_v3\"\ncomet = \"{comet}\"\nrewards = \"{comet}\""),
            "lending_markets[0].rewards",
            "the Comet itself",
        ),
        (
            format!("protocol = \"uniswap_v2\"\ncomet = \"{comet}\""),
            "lending_markets[0].protocol",
            "not a lending market",
        ),
    ] {
        let e = parse(&market(&fields), &[]).unwrap_err().to_string();
        assert!(e.contains(path) && e.contains(says), "{fields}: {e}");
    }
}
