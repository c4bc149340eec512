//! End-to-end checks of the `[relayer]` section through `Settings::parse`.

use super::*;

const BASE: &str = r#"
[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:8545"]

[[chains]]
name = "solana"
kind = "solana"
chain_id = 1151111081099710
rpc = ["http://127.0.0.1:8899"]

[[tokens]]
symbol = "WETH"
on = [
  { chain = "ethereum", address = "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals = 18 },
  { chain = "solana", address = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", decimals = 8, vault = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc" },
]
"#;

fn parse(extra: &str) -> Result<Settings, ConfigErrors> {
    Settings::parse(
        &format!("{BASE}{extra}"),
        Vec::<(String, String)>::new(),
        Path::new("/etc/atoll"),
    )
}

#[test]
fn defaults_without_a_relayer_section() {
    let s = parse("").unwrap();
    assert_eq!(s.relayer.max_in_flight, 4);
    assert!(!s.relayer.dry_run);
    assert!(s.relayer.routes.is_empty());
    // A chain without a policy waits for finality, and releases nothing ahead of it.
    let f = s.relayer.finality_of("ethereum");
    assert_eq!(f.rule_for(Some(1.0)), FinalityRule::Finalized);
    assert_eq!(f.max_unfinalized_usd, 0.0);
}

#[test]
fn routes_and_finality_tiers() {
    let s = parse(
        r#"
[relayer]
max_in_flight = 8

[[relayer.routes]]
from = "ethereum"
to = "solana"
token = "WETH"
fee_bps = 5
fee_fixed = "0.0001"
min_amount = "0.01"

[[relayer.finality]]
chain = "ethereum"
max_unfinalized_usd = 50000
tiers = [
  { up_to_usd = 1000, confirmations = 2 },
  { up_to_usd = 100000, confirmations = 4 },
]
"#,
    )
    .unwrap();
    assert_eq!(s.relayer.max_in_flight, 8);
    let r = s.relayer.route("ethereum", "solana", "WETH").unwrap();
    assert_eq!((r.fee_bps, r.fee_fixed.as_str()), (5, "0.0001"));
    assert!(s.relayer.route("solana", "ethereum", "WETH").is_none());
    let f = s.relayer.finality_of("ethereum");
    assert_eq!(f.rule_for(Some(999.0)), FinalityRule::Confirmations(2));
    assert_eq!(f.rule_for(Some(1_000.0)), FinalityRule::Confirmations(2));
    assert_eq!(f.rule_for(Some(50_000.0)), FinalityRule::Confirmations(4));
    // Above the last cap, and unpriced deposits, wait for finality.
    assert_eq!(f.rule_for(Some(1e6)), FinalityRule::Finalized);
    assert_eq!(f.rule_for(None), FinalityRule::Finalized);
    assert_eq!(f.max_unfinalized_usd, 50_000.0);
}

#[test]
fn a_route_into_solana_needs_the_tokens_vault() {
    let base = BASE.replace(
        ", vault = \"whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc\"",
        "",
    );
    let route = |from: &str, to: &str| {
        format!("[[relayer.routes]]\nfrom = \"{from}\"\nto = \"{to}\"\ntoken = \"WETH\"\n")
    };
    let parse = |extra: &str| {
        Settings::parse(
            &format!("{base}{extra}"),
            Vec::<(String, String)>::new(),
            Path::new("/etc/atoll"),
        )
    };
    let err = parse(&route("ethereum", "solana")).unwrap_err().to_string();
    assert!(
        err.contains("relayer.routes[0].to: WETH on solana has no vault"),
        "{err}"
    );
    // Out of Solana, deposits go to the vault owner's accounts: no vault needed to pay.
    assert!(parse(&route("solana", "ethereum")).is_ok());
}

#[test]
fn bad_routes_name_the_field() {
    let err = parse(
        r#"
[[relayer.routes]]
from = "ethereum"
to = "polygon"
token = "WETH"
fee_bps = 10000
min_amount = "5"
max_amount = "1"

[[relayer.routes]]
from = "ethereum"
to = "solana"
token = "WETH"
fee_fixed = "0.000000001"

[[relayer.finality]]
chain = "ethereum"
tiers = [{ up_to_usd = 10, confirmations = 0 }, { up_to_usd = 5, finalized = true }]
"#,
    )
    .unwrap_err()
    .to_string();
    for want in [
        "relayer.routes[0].to: no chain named \"polygon\"",
        "relayer.routes[0].fee_bps: must be below 10000",
        // 9 fractional digits do not fit WETH's 8 decimals on Solana.
        "relayer.routes[1].fee_fixed:",
        "(WETH has 8 decimals)",
        "relayer.routes[0].max_amount: must be at least min_amount",
        "relayer.finality[0].tiers[0]: needs exactly one of confirmations",
        "relayer.finality[0].tiers[1].up_to_usd: tiers must rise",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

#[test]
fn release_policies_are_checked() {
    let route = |to: &str, extra: &str| {
        format!(
            "[[relayer.routes]]\nfrom = \"{}\"\nto = \"{to}\"\ntoken = \"WETH\"\n{extra}\n",
            if to == "ethereum" {
                "solana"
            } else {
                "ethereum"
            }
        )
    };
    // Defaults: always.
    let s = parse(&route("ethereum", "")).unwrap();
    assert_eq!(s.relayer.routes[0].policy, ReleasePolicy::Always);

    let err = parse(&route(
        "ethereum",
        "release_policy = \"when_profitable\"\nprofit_margin_pct = -1",
    ))
    .unwrap_err()
    .to_string();
    for want in [
        "relayer.routes[0].release_policy: when_profitable prices ethereum's gas: set native_token",
        "relayer.routes[0].profit_margin_pct: must be between 0 and 1000 (got -1)",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    let priced = BASE.replacen(
        "rpc = [\"http://127.0.0.1:8545\"]",
        "rpc = [\"http://127.0.0.1:8545\"]\nnative_token = \"WETH\"",
        1,
    );
    let parse_priced = |extra: &str| {
        Settings::parse(
            &format!("{priced}{extra}"),
            Vec::<(String, String)>::new(),
            Path::new("/etc/atoll"),
        )
    };
    let s = parse_priced(&route(
        "ethereum",
        "release_policy = \"when_profitable\"\nmax_wait_s = 600",
    ))
    .unwrap();
    assert_eq!(
        s.relayer.routes[0].policy,
        ReleasePolicy::WhenProfitable {
            margin_pct: 10.0,
            max_wait: Some(std::time::Duration::from_secs(600)),
        }
    );
    for (extra, want) in [
        (
            route("ethereum", "release_policy = \"cheap\""),
            "relayer.routes[0].release_policy: must be \"always\" or \"when_profitable\" (got \"cheap\")",
        ),
        (
            route("ethereum", "max_wait_s = 5"),
            "relayer.routes[0].release_policy: profit_margin_pct and max_wait_s need",
        ),
        (
            route("solana", "release_policy = \"when_profitable\""),
            "when_profitable is not supported on routes into Solana yet",
        ),
    ] {
        let err = parse_priced(&extra).unwrap_err().to_string();
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    let err = Settings::parse(
        &BASE.replace(
            "kind = \"solana\"",
            "kind = \"solana\"\nnative_token = \"SOL\"",
        ),
        Vec::<(String, String)>::new(),
        Path::new("/etc/atoll"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "chains[1].native_token: \"SOL\" is not a [[tokens]] entry deployed on solana"
        ),
        "{err}"
    );
}
