//! `atoll relayer …` on a real SQLite file: a recorded deposit and a rejected one are listed with
//! chain names, amounts in token units and the rejection's reason; `show` prints the status
//! history; `retry` sends the rejected one back through the gate; `pause`/`resume` are kept and
//! shown by `status` (whose vault reads fail clearly when the chain does not answer); bad
//! arguments are refused with exit code 2 and what was wrong.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use atoll_core::TransferStatus;
use atoll_store::Checkpoint;
use atoll_store::transfers::DepositRow;

const CONFIG: &str = r#"
[database]
url = "sqlite://atoll.db?mode=rwc"

[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:9"]

[[chains]]
name = "solana"
kind = "solana"
chain_id = 1151111081099710
rpc = ["http://127.0.0.1:9"]

[[tokens]]
symbol = "USDC"
stable = true
on = [
  { chain = "ethereum", address = "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals = 6 },
  { chain = "solana", address = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", decimals = 6, vault = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc" },
]
"#;

fn row(i: u64, status: TransferStatus, reason: Option<&str>, dest: u64) -> DepositRow {
    DepositRow {
        id: format!("0x{:064x}", 0xabc0 + i).parse().unwrap(),
        source_chain_id: 1_151_111_081_099_710,
        source_tx: format!("sig{i}"),
        source_index: 0,
        source_block: 100 + i,
        dest_chain_id: dest,
        source_token: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v".into(),
        sender: "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc".into(),
        recipient: if dest == 0 {
            String::new()
        } else {
            "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into()
        },
        amount_in: atoll_core::U256::from(12_500_000u64),
        status,
        failure_reason: reason.map(atoll_core::Reason::from_stored),
    }
}

fn atoll(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_atoll"))
        .current_dir(dir)
        .args(args)
        .args(["--config", "atoll.toml"])
        .env_remove("ATOLL_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn operators_see_transfers_and_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("atoll.toml"), CONFIG).unwrap();
    let store = atoll_store::Store::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("atoll.db").display()
    ))
    .await
    .unwrap();
    store.migrate_up().await.unwrap();
    let txn = store
        .begin_ingest(1_151_111_081_099_710, "deposits:test", None)
        .await
        .unwrap();
    txn.insert_deposits(&[
        row(1, TransferStatus::Observed, None, 1),
        row(
            2,
            TransferStatus::Failed,
            Some("rejected deposit: missing memo"),
            0,
        ),
    ])
    .await
    .unwrap();
    txn.commit(&Checkpoint {
        block_number: 102,
        block_hash: "sig2".into(),
    })
    .await
    .unwrap();
    let ok_id: atoll_core::TransferId = format!("0x{:064x}", 0xabc1).parse().unwrap();
    store
        .transition(
            ok_id,
            TransferStatus::Observed,
            TransferStatus::SourceFinal,
            Some(&atoll_core::Reason::Finalized),
        )
        .await
        .unwrap();
    store.close().await.unwrap();

    let (code, text) = atoll(dir.path(), &["relayer", "list"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("solana    ethereum"), "{text}");
    assert!(text.contains("12.5 USDC"), "{text}");
    assert!(text.contains("source_final"), "{text}");
    assert!(
        text.contains("failed") && text.contains("rejected deposit: missing memo"),
        "{text}"
    );
    let (code, text) = atoll(dir.path(), &["relayer", "list", "--status", "failed"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(text.matches("USDC").count(), 1, "{text}");

    let (code, text) = atoll(dir.path(), &["relayer", "show", &ok_id.to_string()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("solana → ethereum"), "{text}");
    assert!(text.contains("source signature sig1"), "{text}");
    assert!(text.contains("(new) → observed"), "{text}");
    assert!(
        text.contains("observed → source_final  (finalized)"),
        "{text}"
    );

    // Retry: the rejected deposit goes back to observed, with the note in its history.
    let rejected_id = format!("0x{:064x}", 0xabc2);
    let (code, text) = atoll(
        dir.path(),
        &[
            "relayer",
            "retry",
            &rejected_id,
            "--note",
            "memo explained by the user",
        ],
    );
    assert_eq!(code, 0, "{text}");
    let (_, text) = atoll(dir.path(), &["relayer", "show", &rejected_id]);
    assert!(
        text.contains("failed → observed  (operator retry: memo explained by the user)"),
        "{text}"
    );
    // Not failed (any more): refused, exit 2, saying why.
    let (code, text) = atoll(dir.path(), &["relayer", "retry", &rejected_id]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("expected status failed, found observed"),
        "{text}"
    );

    // Pause and resume, shown by status; the vaults' chains do not answer here.
    let (code, text) = atoll(
        dir.path(),
        &[
            "relayer",
            "pause",
            "ethereum",
            "--reason",
            "vault migration",
        ],
    );
    assert_eq!(code, 0, "{text}");
    let (code, text) = atoll(dir.path(), &["relayer", "status"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("ethereum (evm): PAUSED (vault migration)"),
        "{text}"
    );
    assert!(text.contains("solana (solana)\n"), "{text}");
    // The approved deposit queues on its destination; the retried one waits on its source.
    assert!(
        text.contains("deposits observed 0, releases queued 1"),
        "{text}"
    );
    assert!(
        text.contains("deposits observed 1, releases queued 0"),
        "{text}"
    );
    assert!(text.contains("vault: none configured"), "{text}");
    assert!(text.contains("vault: unreadable"), "{text}");
    let (code, _) = atoll(dir.path(), &["relayer", "resume", "ethereum"]);
    assert_eq!(code, 0);
    let (_, text) = atoll(dir.path(), &["relayer", "status"]);
    assert!(!text.contains("PAUSED"), "{text}");
    let (code, text) = atoll(dir.path(), &["relayer", "pause", "polygon"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("polygon: no such chain"), "{text}");

    // Bad input: exit 2, saying what was wrong.
    let (code, text) = atoll(dir.path(), &["relayer", "list", "--status", "done"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("--status: unknown transfer status \"done\""),
        "{text}"
    );
    let (code, text) = atoll(dir.path(), &["relayer", "list", "--from", "polygon"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--from polygon: no such chain"), "{text}");
    let (code, text) = atoll(dir.path(), &["relayer", "show", "0x12"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("transfer id"), "{text}");
    let missing = format!("0x{:064x}", 7);
    let (code, text) = atoll(dir.path(), &["relayer", "show", &missing]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("no transfer"), "{text}");
}

#[tokio::test]
async fn audit_says_which_chain_it_could_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("atoll.toml"), CONFIG).unwrap();
    let (code, out) = atoll(dir.path(), &["audit"]);
    // Not a clean audit and not bad input: the chain's vault could not be read.
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("solana"), "{out}");
    assert!(!out.contains("clean:"), "{out}");
}
