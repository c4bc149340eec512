//! Helpers for tests in any crate that need a real database: a fresh SQLite file, or a fresh
//! PostgreSQL database on the server named by `ATOLL_TEST_POSTGRES_URL` (dropped afterwards), so
//! no test depends on another's state.

use sea_orm::{ConnectionTrait, Database, Statement};

use atoll_core::{Reason, TransferId, TransferStatus, U256};

use crate::transfers::DepositRow;
use crate::{Store, StoreError};

/// Environment variable naming a PostgreSQL server (role with CREATEDB) for tests.
pub const POSTGRES_URL_VAR: &str = "ATOLL_TEST_POSTGRES_URL";

/// Deposit number `i` of a made-up Ethereum → BSC transfer (id `0x…i`, block `10 + i`), in
/// `status`, with `reason` (as stored) as its failure reason.
pub fn deposit_row(i: u64, status: TransferStatus, reason: Option<&str>) -> DepositRow {
    DepositRow {
        id: TransferId(U256::from(i).to_be_bytes()),
        source_chain_id: 1,
        source_tx: format!("0x{:064x}", 1000 + i),
        source_index: i,
        source_block: 10 + i,
        dest_chain_id: 56,
        source_token: "0x5fbdb2315678afecb367f032d93f642f64180aa3".into(),
        sender: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into(),
        recipient: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into(),
        amount_in: U256::from(1_000_000u64),
        status,
        failure_reason: reason.map(Reason::from_stored),
    }
}

/// A Store on a new SQLite file inside `dir`.
pub async fn sqlite_in(dir: &std::path::Path) -> Result<Store, StoreError> {
    Store::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("atoll.db").display()
    ))
    .await
}

/// A fresh PostgreSQL database; `None` when `ATOLL_TEST_POSTGRES_URL` is unset.
pub struct PostgresTestDb {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PostgresTestDb {
    pub async fn create(tag: &str) -> Result<Option<PostgresTestDb>, StoreError> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
            return Ok(None);
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("atoll_test_{tag}_{}_{nanos}", std::process::id());
        let admin = Database::connect(&admin_url).await?;
        admin
            .execute_raw(Statement::from_string(
                admin.get_database_backend(),
                format!("CREATE DATABASE \"{name}\""),
            ))
            .await?;
        admin.close().await?;
        let url = match admin_url.rfind('/') {
            Some(i)
                if admin_url[..i].contains("://")
                    && i > admin_url.find("://").map_or(0, |s| s + 2) =>
            {
                let query = admin_url[i..]
                    .find('?')
                    .map(|q| &admin_url[i + q..])
                    .unwrap_or("");
                format!("{}/{name}{query}", &admin_url[..i])
            }
            _ => format!("{}/{name}", admin_url.trim_end_matches('/')),
        };
        Ok(Some(PostgresTestDb {
            admin_url,
            name,
            url,
        }))
    }

    /// Drops the database. Cleanup never decides a test's verdict: a database that cannot be
    /// dropped is reported as a warning on stderr and left behind (its name says it is a test's).
    ///
    /// A plain `DROP DATABASE` comes first: PostgreSQL itself ends autovacuum workers in the way
    /// and waits up to 5 s for other sessions, which needs no privilege. `WITH (FORCE)` comes
    /// only after that, because ending a session of another role needs `pg_signal_backend`
    /// (`scripts/test.sh` grants it to the test role; another server may not have).
    pub async fn drop_db(self) {
        if let Err(e) = self.try_drop().await {
            eprintln!(
                "warning: test database {} was not dropped ({e}); drop it by hand",
                self.name
            );
        }
    }

    async fn try_drop(&self) -> Result<(), StoreError> {
        let admin = Database::connect(&self.admin_url).await?;
        let backend = admin.get_database_backend();
        let plain = format!("DROP DATABASE IF EXISTS \"{}\"", self.name);
        let mut outcome = admin
            .execute_raw(Statement::from_string(backend, plain.clone()))
            .await;
        if outcome.is_err() {
            outcome = admin
                .execute_raw(Statement::from_string(
                    backend,
                    format!("{plain} WITH (FORCE)"),
                ))
                .await;
        }
        let closed = admin.close().await;
        outcome?;
        Ok(closed?)
    }
}

/// Runs `exercise` on a Store over a new PostgreSQL database (named after `tag`), then drops
/// the database. Without `ATOLL_TEST_POSTGRES_URL` it says so and runs nothing.
pub async fn exercise_on_postgres(
    tag: &str,
    exercise: impl AsyncFnOnce(&Store),
) -> Result<(), StoreError> {
    let Some(db) = PostgresTestDb::create(tag).await? else {
        eprintln!("{POSTGRES_URL_VAR} unset: PostgreSQL part skipped (scripts/test.sh sets it)");
        return Ok(());
    };
    let store = Store::connect(&db.url).await?;
    exercise(&store).await;
    store.close().await?;
    db.drop_db().await;
    Ok(())
}
