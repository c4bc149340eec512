//! Every migration runs up and down on a real SQLite file and a real PostgreSQL server, and the
//! schema it creates takes the rows the entities write.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_core::settings::Settings;
use atoll_store::entities::{chains, pool_events, tokens};
use atoll_store::test_support::{PostgresTestDb, sqlite_in};
use atoll_store::{Checkpoint, Store};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, PaginatorTrait, Statement};

const CONFIG: &str = r#"
[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:1"]

[[chains]]
name = "solana"
kind = "solana"
chain_id = 1151111081099710
rpc = ["http://127.0.0.1:2"]

[[tokens]]
symbol = "USDC"
stable = true
on = [
  { chain = "ethereum", address = "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals = 6 },
  { chain = "solana", address = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", decimals = 6 },
]
"#;

async fn exercise(store: &Store) {
    let statuses = store.migration_status().await.unwrap();
    assert!(statuses.iter().all(|m| !m.applied));
    assert_eq!(store.migrate_up().await.unwrap(), statuses.len());
    assert_eq!(store.migrate_up().await.unwrap(), 0, "up twice is a no-op");
    assert!(
        store
            .migration_status()
            .await
            .unwrap()
            .iter()
            .all(|m| m.applied)
    );

    let settings = Settings::parse(CONFIG, Vec::new(), std::path::Path::new(".")).unwrap();
    store.register_settings(&settings).await.unwrap();
    store.register_settings(&settings).await.unwrap();
    let db = store.connection();
    assert_eq!(chains::Entity::find().count(db).await.unwrap(), 2);
    assert_eq!(tokens::Entity::find().count(db).await.unwrap(), 2);
    let sol = chains::Entity::find_by_id(1_151_111_081_099_710i64)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sol.name, "solana");

    // Events are keyed (chain, tx, log_index): ingesting the same log twice leaves one row.
    for _ in 0..2 {
        let ev = pool_events::ActiveModel {
            chain_id: Set(1),
            tx_hash: Set("0xabc".into()),
            log_index: Set(7),
            block_number: Set(10),
            block_hash: Set("0xdef".into()),
            block_time_ms: Set(1_700_000_000_000),
            pool_id: Set("ethereum:uniswap_v2:0x01".into()),
            kind: Set("swap".into()),
            payload: Set("{}".into()),
            volume0: Set(Some("5".into())),
            volume1: Set(None),
        };
        pool_events::Entity::insert(ev)
            .on_conflict(
                OnConflict::columns([
                    pool_events::Column::ChainId,
                    pool_events::Column::TxHash,
                    pool_events::Column::LogIndex,
                ])
                .update_columns([pool_events::Column::Payload])
                .to_owned(),
            )
            .exec(db)
            .await
            .unwrap();
    }
    assert_eq!(pool_events::Entity::find().count(db).await.unwrap(), 1);

    assert_eq!(store.checkpoint(1, "pools").await.unwrap(), None);
    let cp = Checkpoint {
        block_number: 42,
        block_hash: "0x42".into(),
    };
    Store::save_checkpoint(db, 1, "pools", &cp).await.unwrap();
    let cp2 = Checkpoint {
        block_number: 43,
        block_hash: "0x43".into(),
    };
    Store::save_checkpoint(db, 1, "pools", &cp2).await.unwrap();
    assert_eq!(store.checkpoint(1, "pools").await.unwrap(), Some(cp2));

    assert_eq!(store.migrate_down(None).await.unwrap(), statuses.len());
    assert!(
        store
            .migration_status()
            .await
            .unwrap()
            .iter()
            .all(|m| !m.applied)
    );
    assert!(
        chains::Entity::find().count(db).await.is_err(),
        "tables are gone after down"
    );
    // And up again on the emptied database.
    assert_eq!(store.migrate_up().await.unwrap(), statuses.len());
    assert_eq!(chains::Entity::find().count(db).await.unwrap(), 0);
}

async fn pragma(store: &Store, name: &str) -> String {
    let row = store
        .connection()
        .query_one_raw(Statement::from_string(
            store.backend(),
            format!("PRAGMA {name}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
        .unwrap()
}

#[tokio::test]
async fn sqlite_file_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_in(dir.path()).await.unwrap();
    assert_eq!(pragma(&store, "journal_mode").await, "wal");
    // Set before WAL mode is: a file in WAL mode can no longer change its page size.
    assert_eq!(pragma(&store, "page_size").await, "8192");
    exercise(&store).await;
    assert!(dir.path().join("atoll.db").exists());
}

#[tokio::test]
async fn an_existing_sqlite_file_keeps_its_page_size() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    // A file made before 8 KiB pages: SQLite's default 4 KiB, already in WAL mode.
    let old = sea_orm::Database::connect(&url).await.unwrap();
    for sql in [
        "PRAGMA page_size = 4096",
        "PRAGMA journal_mode = WAL",
        "CREATE TABLE t (x)",
    ] {
        old.execute_unprepared(sql).await.unwrap();
    }
    old.close().await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(pragma(&store, "page_size").await, "4096");
    assert_eq!(pragma(&store, "journal_mode").await, "wal");
    store.migrate_up().await.unwrap();
    let statuses = store.migration_status().await.unwrap();
    assert!(!statuses.is_empty() && statuses.iter().all(|m| m.applied));
}

#[tokio::test]
async fn postgres_server() {
    let Some(pg) = PostgresTestDb::create("migrations").await.unwrap() else {
        eprintln!("skipped: ATOLL_TEST_POSTGRES_URL is unset (scripts/test.sh sets it)");
        return;
    };
    let store = Store::connect(&pg.url).await.unwrap();
    exercise(&store).await;
    store.close().await.unwrap();
    pg.drop_db().await;
}

#[tokio::test]
async fn bad_urls_are_named_without_passwords() {
    let e = Store::connect("mysql://root:hunter2@127.0.0.1/x")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("expected sqlite") && !e.contains("hunter2"),
        "{e}"
    );
    let e = Store::connect_within(
        "postgres://atoll:hunter2@127.0.0.1:1/x",
        std::time::Duration::from_millis(300),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("cannot connect") && !e.contains("hunter2"),
        "{e}"
    );
}
