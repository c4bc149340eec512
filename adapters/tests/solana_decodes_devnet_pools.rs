//! The Solana adapter against solana-test-validator: the Orca Whirlpool and Raydium CPMM
//! accounts the devnet loads (real program owners, real layouts) decode to the values they were
//! built from, CPMM reserves are the vault balances minus the fees they hold, and an account
//! asked for as something it is not (a token vault as a Whirlpool) is an error naming it.
//! Through a dead endpoint and a flaky one (429/502), reads still succeed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_adapters::capability::Heights;
use atoll_adapters::evm::RetryPolicy;
use atoll_adapters::solana::SolanaChain;
use atoll_adapters::solana::accounts::{
    AccountError, decode_cpmm_config, decode_cpmm_pool, decode_token_account, decode_whirlpool,
    whirlpool_fees_between,
};
use atoll_core::settings::Settings;
use std::sync::atomic::Ordering;

use atoll_devnet::Devnet;
use atoll_devnet::fault_proxy::{FaultPlan, FaultProxy};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;

fn key(s: &str) -> Pubkey {
    s.parse().unwrap()
}

#[tokio::test]
async fn devnet_pool_accounts_decode_to_what_they_were_built_from() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), true).await.unwrap();
    let text = std::fs::read_to_string(&net.state.config_path).unwrap();
    let settings = Settings::parse(&text, Vec::<(String, String)>::new(), dir.path()).unwrap();
    let chain =
        SolanaChain::new(settings.chain("solana").unwrap(), RetryPolicy::default()).unwrap();
    let sol = net.state.solana.as_ref().unwrap();
    assert!(chain.slot(CommitmentConfig::confirmed()).await.unwrap() > 0);
    // The height capability: the finalized slot never runs ahead of the tip.
    let finalized = chain.finalized_height().await.unwrap();
    assert!(chain.tip().await.unwrap() >= finalized);

    let whirl = sol
        .pools
        .iter()
        .find(|p| p.protocol == "orca_whirlpool")
        .unwrap();
    let cpmm = sol
        .pools
        .iter()
        .find(|p| p.protocol == "raydium_cpmm")
        .unwrap();
    let keys = [
        key(&whirl.address),
        key(&whirl.vault_a),
        key(&whirl.vault_b),
        key(&cpmm.address),
        key(&cpmm.config),
        key(&cpmm.vault_a),
        key(&cpmm.vault_b),
        Pubkey::new_unique(),
    ];
    let got = chain
        .accounts(&keys, CommitmentConfig::confirmed())
        .await
        .unwrap();
    assert_eq!(got.len(), keys.len());
    assert!(got[7].is_none(), "an account that does not exist is None");
    let acct = |i: usize| got[i].as_ref().unwrap();

    let w = decode_whirlpool(&keys[0], &acct(0).owner, &acct(0).data).unwrap();
    assert_eq!(
        (w.tick_spacing, w.fee_rate, w.protocol_fee_rate),
        (64, 3000, 1300)
    );
    assert_eq!(
        (w.fee_growth_global_a, w.fee_growth_global_b),
        (1 << 60, 3 << 58)
    );
    assert_eq!(
        (w.mint_a, w.mint_b),
        (key(&whirl.mint_a), key(&whirl.mint_b))
    );
    assert_eq!(
        (w.vault_a, w.vault_b),
        (key(&whirl.vault_a), key(&whirl.vault_b))
    );
    assert_eq!(w.config, key(&whirl.config));
    assert!(w.liquidity > 0 && w.sqrt_price_x64 > 0);
    assert!(w.rewards.is_empty());
    for (i, mint) in [(1, &w.mint_a), (2, &w.mint_b)] {
        let t = decode_token_account(&keys[i], &acct(i).owner, &acct(i).data).unwrap();
        assert_eq!(&t.mint, mint);
        assert_eq!(t.owner, keys[0], "the vault belongs to the pool");
        assert!(t.amount > 0);
    }
    // The fee growth since the pool began, at its liquidity: Δ(2^60) · L / 2^64 = L / 16.
    assert_eq!(
        whirlpool_fees_between(0, w.fee_growth_global_a, w.liquidity),
        w.liquidity / 16
    );

    let p = decode_cpmm_pool(&keys[3], &acct(3).owner, &acct(3).data).unwrap();
    assert_eq!(
        (p.mint_0_decimals, p.mint_1_decimals, p.lp_mint_decimals),
        (6, 6, 9)
    );
    assert_eq!(p.lp_supply, 1_000_000 * 1_000_000_000);
    assert_eq!(p.protocol_fees, (120_000_000, 95_000_000));
    assert_eq!(p.fund_fees, (40_000_000, 31_000_000));
    assert_eq!(p.amm_config, keys[4]);
    assert_eq!((p.vault_0, p.vault_1), (keys[5], keys[6]));
    let config = decode_cpmm_config(&keys[4], &acct(4).owner, &acct(4).data).unwrap();
    assert_eq!(
        (
            config.trade_fee_rate,
            config.protocol_fee_rate,
            config.fund_fee_rate
        ),
        (2_500, 120_000, 40_000)
    );
    assert_eq!(config.lp_fee_ppm(), 2_100);
    let v0 = decode_token_account(&keys[5], &acct(5).owner, &acct(5).data).unwrap();
    let v1 = decode_token_account(&keys[6], &acct(6).owner, &acct(6).data).unwrap();
    // Reserves: 1,000,000 whole tokens each once the accrued fees are taken out.
    assert_eq!(
        p.reserves(v0.amount, v1.amount),
        (1_000_000_000_000, 1_000_000_000_000)
    );

    // A vault is not a Whirlpool: the error names the account and what owns it.
    match decode_whirlpool(&keys[1], &acct(1).owner, &acct(1).data) {
        Err(e @ AccountError::WrongOwner { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&keys[1].to_string()) && msg.contains("Orca Whirlpool"),
                "{msg}"
            );
        }
        other => panic!("expected WrongOwner, got {other:?}"),
    }
    // Failover and retries: a dead endpoint first, then one answering every other request
    // with 429/502 (FaultProxy, the devnet's test double for faults a node will not make).
    let dead = FaultProxy::start(&sol.rpc_url, FaultPlan::default())
        .await
        .unwrap();
    dead.set_dead(true);
    let flaky = FaultProxy::start(
        &sol.rpc_url,
        FaultPlan {
            http_error_every: Some(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut through = settings.chain("solana").unwrap().clone();
    through.rpc = vec![dead.url.parse().unwrap(), flaky.url.parse().unwrap()];
    let fast = RetryPolicy {
        rounds: 6,
        base_delay: std::time::Duration::from_millis(2),
        max_delay: std::time::Duration::from_millis(20),
    };
    let resilient = SolanaChain::new(&through, fast).unwrap();
    for _ in 0..4 {
        let again = resilient
            .accounts(&keys[..7], CommitmentConfig::confirmed())
            .await
            .unwrap();
        assert_eq!(again[0].as_ref().unwrap().data, acct(0).data);
    }
    assert!(dead.stats.dead_answers.load(Ordering::SeqCst) > 0);
    assert!(flaky.stats.http_errors.load(Ordering::SeqCst) > 0);

    // A truncated copy of a real pool account.
    assert!(matches!(
        decode_cpmm_pool(&keys[3], &acct(3).owner, &acct(3).data[..600]),
        Err(AccountError::WrongSize { len: 600, .. })
    ));
}
