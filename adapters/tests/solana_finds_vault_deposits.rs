//! Bridge deposits into the relayer's Solana vaults, against solana-test-validator: the
//! devnet's traffic makes deposits with valid memos; the test adds a transfer with no memo and
//! one with a malformed memo. Scanning the vaults finds all four: the two deposits attributed to
//! their destination chains and amounts, the other two recorded as rejected with their reason.
//! Scanning from a checkpoint signature returns only what came after it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_adapters::evm::RetryPolicy;
use atoll_adapters::solana::SolanaChain;
use atoll_adapters::solana::deposits::Verdict;
use atoll_core::settings::Settings;
use atoll_devnet::Devnet;
use atoll_devnet::solana::devnet_keypair;
use atoll_devnet::traffic::{self, TrafficOptions};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signer::Signer;

#[tokio::test]
async fn deposits_are_attributed_and_bad_memos_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), true).await.unwrap();
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 0,
            deposits: 6,
            seed: 4,
        },
    )
    .await
    .unwrap();
    let from_solana: Vec<_> = report
        .deposits
        .iter()
        .filter(|d| d.from == "solana")
        .collect();
    assert_eq!(from_solana.len(), 2);

    // Two transfers into the USDC vault the relayer must not release: no memo, bad memo.
    let mut stray = Vec::new();
    for memo in [None, Some("atoll:v1:dst=banana:to=nobody")] {
        stray.push(
            traffic::send_vault_transfer(&net.state, "USDC", 1_234_567, memo)
                .await
                .unwrap(),
        );
    }
    let sol = net.state.solana.as_ref().unwrap();
    let key = |s: &str| s.parse::<Pubkey>().unwrap();
    let usdc = sol.token("USDC").unwrap();
    let vault = key(&usdc.vault);
    let user = devnet_keypair("user");

    let text = std::fs::read_to_string(&net.state.config_path).unwrap();
    let settings = Settings::parse(&text, Vec::<(String, String)>::new(), dir.path()).unwrap();
    let chain =
        SolanaChain::new(settings.chain("solana").unwrap(), RetryPolicy::default()).unwrap();
    let mut found = Vec::new();
    for t in &sol.tokens {
        if t.symbol == "USDC" || t.symbol == "USDT" {
            found.extend(
                chain
                    .vault_transfers(&key(&t.vault), None, CommitmentConfig::confirmed())
                    .await
                    .unwrap(),
            );
        }
    }
    assert_eq!(found.len(), 4, "{found:#?}");
    for d in &from_solana {
        let t = found
            .iter()
            .find(|t| t.signature.to_string() == d.tx)
            .unwrap_or_else(|| panic!("deposit {} found", d.tx));
        match &t.verdict {
            Verdict::Deposit(m) => {
                let want = net.state.evm_chain(&d.to).unwrap().chain_id;
                assert_eq!(m.dst_chain.0, want);
                assert_eq!(m.recipient.to_lowercase(), d.recipient.to_lowercase());
            }
            other => panic!("expected a deposit, got {other:?}"),
        }
        assert_eq!(t.amount, d.amount, "6-decimal stables: same units");
        assert_eq!(t.authority, user.pubkey());
    }
    let rejected = |sig: &solana_sdk::signature::Signature| match &found
        .iter()
        .find(|t| &t.signature == sig)
        .unwrap()
        .verdict
    {
        Verdict::Rejected(reason) => reason.clone(),
        other => panic!("expected a rejection, got {other:?}"),
    };
    assert_eq!(rejected(&stray[0]), "missing memo");
    assert!(
        rejected(&stray[1]).contains("banana"),
        "{}",
        rejected(&stray[1])
    );
    let ids: std::collections::BTreeSet<_> = found.iter().map(|t| t.transfer_id).collect();
    assert_eq!(ids.len(), 4, "transfer ids are distinct");

    // From a checkpoint: only what came after the first stray transfer.
    let later = chain
        .vault_transfers(&vault, Some(stray[0]), CommitmentConfig::confirmed())
        .await
        .unwrap();
    assert_eq!(
        later.iter().map(|t| t.signature).collect::<Vec<_>>(),
        vec![stray[1]]
    );
}
