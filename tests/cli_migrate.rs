//! `atoll migrate` on a real SQLite file and a real PostgreSQL server, up, status and down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use atoll_store::test_support::PostgresTestDb;

fn migrate(url: &str, extra: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args(["migrate", "--database-url", url])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Every migration, oldest first (a new migration is added here too).
const MIGRATIONS: [&str; 14] = [
    "m20261124_000001_initial",
    "m20261124_000002_yields",
    "m20261125_000003_fee_counters",
    "m20261125_000004_relayer_state",
    "m20261125_000005_release_txs",
    "m20261202_000006_transfer_queue_index",
    "m20261203_000007_treasury_moves",
    "m20261204_000008_history_by_release_tx",
    "m20261207_000009_transfers_by_source_block",
    "m20261207_000010_transfers_newest_first",
    "m20261207_000011_transfers_without_claims",
    "m20261207_000012_block_hashes_per_stream",
    "m20261207_000013_lending_reserves",
    "m20261208_000014_lending_supply_curves",
];

fn round_trip(url: &str) {
    let (ok, text) = migrate(url, &[]);
    assert!(
        ok && text.contains(&format!("applied {} migration(s)", MIGRATIONS.len())),
        "{text}"
    );
    let (ok, text) = migrate(url, &[]);
    assert!(ok && text.contains("applied 0 migration(s)"), "{text}");
    let (ok, text) = migrate(url, &["--status"]);
    assert!(ok, "{text}");
    for m in MIGRATIONS {
        assert!(text.contains(&format!("applied {m}")), "{text}");
    }
    // One step down, then everything (`--down` without a count rolls back all).
    let (ok, text) = migrate(url, &["--down", "1"]);
    assert!(ok && text.contains("rolled back 1 migration(s)"), "{text}");
    let (ok, text) = migrate(url, &["--status"]);
    assert!(ok, "{text}");
    let (newest, older) = MIGRATIONS.split_last().unwrap();
    assert!(text.contains(&format!("pending {newest}")), "{text}");
    for m in older {
        assert!(text.contains(&format!("applied {m}")), "{text}");
    }
    let (ok, text) = migrate(url, &["--down"]);
    assert!(
        ok && text.contains(&format!("rolled back {} migration(s)", older.len())),
        "{text}"
    );
    let (ok, text) = migrate(url, &["--status"]);
    assert!(ok, "{text}");
    for m in MIGRATIONS {
        assert!(text.contains(&format!("pending {m}")), "{text}");
    }
}

#[test]
fn sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("a.db").display()
    ));
    assert!(dir.path().join("a.db").exists());
}

#[tokio::test]
async fn postgres() {
    let Some(pg) = PostgresTestDb::create("cli").await.unwrap() else {
        eprintln!("skipped: ATOLL_TEST_POSTGRES_URL is unset (scripts/test.sh sets it)");
        return;
    };
    let url = pg.url.clone();
    tokio::task::spawn_blocking(move || round_trip(&url))
        .await
        .unwrap();
    pg.drop_db().await;
}

#[test]
fn bad_url_is_a_clear_error() {
    let (ok, text) = migrate("mysql://root:pw@localhost/x", &[]);
    assert!(
        !ok && text.contains("expected sqlite") && !text.contains(":pw@"),
        "{text}"
    );
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args(["migrate", "--status", "--database-url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("panicked"),
        "{stderr}"
    );
}
