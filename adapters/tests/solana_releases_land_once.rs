//! Releases from the relayer's Solana vault, against solana-test-validator: one lands with the
//! right amount to a recipient that has no token account yet (created on the way) and one to a
//! recipient that has one; sending the same signed release again changes nothing; a landed
//! release is never reported as safe to sign again, even once its blockhash is old; and a
//! release whose blockhash expired without being sent is reported expired. The on-chain guard:
//! a release of an id already paid, signed afresh, is refused by the cluster itself; claims
//! read as they are; lamports sent to a claim's address first do not block its release.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_adapters::evm::RetryPolicy;
use atoll_adapters::solana::SolanaChain;
use atoll_adapters::solana::releases::{ReleaseRequest, ReleaseStatus, claim_address};
use atoll_core::settings::Settings;
use atoll_core::{ChainId, TransferId};
use atoll_devnet::Devnet;
use atoll_devnet::solana::devnet_keypair;
use solana_client::nonblocking::rpc_client::RpcClient;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;

async fn balance(client: &RpcClient, account: &Pubkey) -> u64 {
    match client
        .get_token_account_balance_with_commitment(account, CommitmentConfig::confirmed())
        .await
    {
        Ok(b) => b.value.amount.parse().unwrap(),
        Err(_) => 0,
    }
}

/// Polls until the release is no longer in flight (not found yet, or only processed).
async fn settled(
    chain: &SolanaChain,
    sig: &solana_sdk::signature::Signature,
    lvbh: u64,
) -> ReleaseStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let s = chain.release_status(sig, lvbh).await.unwrap();
        let in_flight = matches!(
            s,
            ReleaseStatus::NotFound { expired: false } | ReleaseStatus::Processed { .. }
        );
        if !in_flight || std::time::Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn releases_land_once_and_expiry_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), true).await.unwrap();
    let text = std::fs::read_to_string(&net.state.config_path).unwrap();
    let settings = Settings::parse(&text, Vec::<(String, String)>::new(), dir.path()).unwrap();
    let chain =
        SolanaChain::new(settings.chain("solana").unwrap(), RetryPolicy::default()).unwrap();
    let sol = net.state.solana.as_ref().unwrap();
    let usdc = sol.token("USDC").unwrap();
    let relayer = devnet_keypair("relayer");
    let client = RpcClient::new_with_commitment(sol.rpc_url.clone(), CommitmentConfig::confirmed());
    let key = |s: &str| s.parse::<Pubkey>().unwrap();
    let vault = key(&usdc.vault);
    let claim_lamports = chain.claim_lamports().await.unwrap();
    assert!(claim_lamports > 0);
    let request = |recipient: Pubkey, n: u32, amount: u64| ReleaseRequest {
        transfer_id: TransferId::derive(ChainId(1), b"source tx", n),
        mint: key(&usdc.mint),
        decimals: usdc.decimals,
        token_program: spl_token_interface::id(),
        vault,
        recipient,
        amount,
        priority_fee_micro_lamports: 1_000,
        claim_lamports,
    };
    let ata = |owner: &Pubkey| {
        spl_associated_token_account_interface::address::get_associated_token_address(
            owner,
            &key(&usdc.mint),
        )
    };
    let vault_before = balance(&client, &vault).await;

    // A recipient with no token account: it is created in the same transaction.
    let newcomer = Keypair::new().pubkey();
    let r1 = chain
        .prepare_release(&relayer, &request(newcomer, 0, 2_500_000))
        .await
        .unwrap();
    // The relayer would persist (signature, last_valid_block_height, bytes) here, then send.
    chain.broadcast(&r1).await.unwrap();
    let status = settled(&chain, &r1.signature, r1.last_valid_block_height).await;
    assert!(
        matches!(status, ReleaseStatus::Landed { .. }),
        "release 1: {status:?}"
    );
    assert_eq!(balance(&client, &ata(&newcomer)).await, 2_500_000);

    // Sent again after a "restart": same signature, nothing more moves.
    let _ = chain.broadcast(&r1).await;
    assert_eq!(balance(&client, &ata(&newcomer)).await, 2_500_000);
    // Landed is landed, whatever the height: never "safe to sign again".
    assert!(matches!(
        chain.release_status(&r1.signature, 0).await.unwrap(),
        ReleaseStatus::Landed { .. }
    ));

    // A recipient that already has its associated token account (made by the first release).
    let user = newcomer;
    let user_before = balance(&client, &ata(&user)).await;
    let r2 = chain
        .prepare_release(&relayer, &request(user, 1, 1_000_000))
        .await
        .unwrap();
    chain.broadcast(&r2).await.unwrap();
    assert!(matches!(
        settled(&chain, &r2.signature, r2.last_valid_block_height).await,
        ReleaseStatus::Landed { .. }
    ));
    assert_eq!(balance(&client, &ata(&user)).await, user_before + 1_000_000);
    assert_eq!(balance(&client, &vault).await, vault_before - 3_500_000);

    // Prepared, never sent: not found, and expired once the chain is past its last valid height.
    let r3 = chain
        .prepare_release(&relayer, &request(user, 2, 7))
        .await
        .unwrap();
    assert_eq!(
        chain
            .release_status(&r3.signature, r3.last_valid_block_height)
            .await
            .unwrap(),
        ReleaseStatus::NotFound { expired: false },
        "in flight: not safe to sign again"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let height = client
            .get_block_height_with_commitment(CommitmentConfig::confirmed())
            .await
            .unwrap();
        if height > r3.last_valid_block_height {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "blockhash did not expire in 180 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(
        chain
            .release_status(&r3.signature, r3.last_valid_block_height)
            .await
            .unwrap(),
        ReleaseStatus::NotFound { expired: true }
    );
    // Asked together, as an executor follows its releases: each gets its own verdict, in the
    // order asked, an unseen one between two landed ones included.
    let together = chain
        .release_statuses(&[
            (r1.signature, r1.last_valid_block_height),
            (r3.signature, r3.last_valid_block_height),
            (r2.signature, r2.last_valid_block_height),
        ])
        .await
        .unwrap();
    assert!(
        matches!(
            together.as_slice(),
            [
                ReleaseStatus::Landed { .. },
                ReleaseStatus::NotFound { expired: true },
                ReleaseStatus::Landed { .. },
            ]
        ),
        "{together:?}"
    );

    // The guard. Transfer 0 signed afresh (another fee, another blockhash: another signature),
    // as a relayer on an empty database would: the cluster refuses it, nothing moves.
    let id = |n: u32| TransferId::derive(ChainId(1), b"source tx", n);
    let again = chain
        .prepare_release(
            &relayer,
            &ReleaseRequest {
                priority_fee_micro_lamports: 2_000,
                ..request(user, 0, 2_500_000)
            },
        )
        .await
        .unwrap();
    assert_ne!(again.signature, r1.signature);
    let refused = chain.simulate_release(&again).await.unwrap();
    assert!(
        refused
            .as_deref()
            .is_some_and(|r| r.contains("already in use")),
        "{refused:?}"
    );
    assert!(
        chain.broadcast(&again).await.is_err(),
        "preflight refuses it"
    );
    assert_eq!(balance(&client, &ata(&user)).await, user_before + 1_000_000);
    assert_eq!(
        chain
            .claimed(
                &relayer.pubkey(),
                &[id(0), id(1), id(2)],
                CommitmentConfig::confirmed(),
                None
            )
            .await
            .unwrap(),
        vec![true, true, false],
        "ids 0 and 1 released, 2 never sent"
    );

    // Lamports anyone sends to transfer 3's claim address first do not block its release.
    let griefer = devnet_keypair("user");
    let blockhash = client.get_latest_blockhash().await.unwrap();
    let grief = solana_sdk::transaction::Transaction::new_signed_with_payer(
        &[solana_system_interface::instruction::transfer(
            &griefer.pubkey(),
            &claim_address(&relayer.pubkey(), &id(3)),
            5_000_000,
        )],
        Some(&griefer.pubkey()),
        &[&griefer],
        blockhash,
    );
    client.send_and_confirm_transaction(&grief).await.unwrap();
    let r4 = chain
        .prepare_release(&relayer, &request(user, 3, 11))
        .await
        .unwrap();
    chain.broadcast(&r4).await.unwrap();
    assert!(matches!(
        settled(&chain, &r4.signature, r4.last_valid_block_height).await,
        ReleaseStatus::Landed { .. }
    ));
    assert_eq!(
        balance(&client, &ata(&user)).await,
        user_before + 1_000_000 + 11
    );
    assert_eq!(
        chain
            .claimed(
                &relayer.pubkey(),
                &[id(3)],
                CommitmentConfig::confirmed(),
                None
            )
            .await
            .unwrap(),
        vec![true]
    );
}
