//! atoll-store: the only crate that speaks SQL. It owns the sea-orm entities, the connection
//! (SQLite in WAL mode, or PostgreSQL), schema migrations and every query the other crates use.

mod cells;
pub mod entities;
mod error;
pub mod history;
pub mod ingest;
mod ingest_txn;
pub mod lending;
mod queries;
pub mod reads;
pub mod records;
pub mod release_txs;
mod reorg;
pub mod test_support;
pub mod transfers;
pub mod treasury;

use std::str::FromStr;
use std::time::Duration;

use atoll_migrations::Migrator;
use atoll_migrations::MigratorTrait;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseBackend, DatabaseConnection};

pub use error::StoreError;
pub use queries::Checkpoint;

/// A handle on Atoll's database. Cheap to clone (a pool inside).
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite has one writer at a time, and a deferred transaction that reads before it writes
    /// fails with "database is locked" instead of waiting: writers queue here first.
    /// PostgreSQL writers do not need it (`None`).
    write_lock: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
}

/// One migration and whether it has run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub name: String,
    pub applied: bool,
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc`, `postgres://…`). SQLite files are created
    /// when missing and opened in WAL mode with foreign keys enforced.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_within(url, Duration::from_secs(10)).await
    }

    /// `connect`, giving up after `timeout` when the server does not answer (a refused
    /// connection is retried until then: a database restarting is not an outage).
    pub async fn connect_within(url: &str, timeout: Duration) -> Result<Store, StoreError> {
        let mut opts = ConnectOptions::new(url.to_string());
        opts.sqlx_logging(false)
            .acquire_timeout(timeout)
            .connect_timeout(timeout);
        if url.starts_with("sqlite:") {
            check_sqlite_url(url)?;
            // One connection: SQLite has one writer anyway, and a page cache is only good until
            // another connection writes. With several, every read after any write reloaded its
            // pages from the WAL (measured: a third of the relayer's CPU per release).
            opts.max_connections(1).map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    // 8 KiB pages (the default is 4 KiB) for a new file; an existing file keeps
                    // its own. A step of the relayer rewrites thousands of adjacent transfer rows
                    // several times: half the pages to fetch, checksum and log in the WAL
                    // (measured: 15 % less time in SQLite for the same writes).
                    .page_size(8192)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // 64 MiB of page cache (the default is 2 MiB): indexes of a large event
                    // table stay in memory while a batch writes to them.
                    .pragma("cache_size", "-65536")
                    // Multi-row statements inside a transaction keep a statement journal (to undo
                    // one statement alone); in memory, not in a temporary file.
                    .pragma("temp_store", "memory")
                    .pragma("wal_autocheckpoint", "10000")
            });
        } else if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::InvalidUrl {
                url: redact(url),
                reason: "expected sqlite:… or postgres://…".into(),
            });
        } else {
            opts.max_connections(16);
        }
        let db = Database::connect(opts)
            .await
            .map_err(|e| StoreError::Connect {
                url: redact(url),
                reason: e.to_string(),
            })?;
        let write_lock = url
            .starts_with("sqlite:")
            .then(|| std::sync::Arc::new(tokio::sync::Mutex::new(())));
        Ok(Store { db, write_lock })
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    /// Waits for this process's turn to write (SQLite); `None` on PostgreSQL.
    pub async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        }
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Applies every pending migration; returns how many ran.
    pub async fn migrate_up(&self) -> Result<usize, StoreError> {
        let pending = Migrator::get_pending_migrations(&self.db).await?.len();
        Migrator::up(&self.db, None).await?;
        Ok(pending)
    }

    /// Rolls back `steps` migrations (all when `None`); returns how many were rolled back.
    pub async fn migrate_down(&self, steps: Option<u32>) -> Result<usize, StoreError> {
        let applied = Migrator::get_applied_migrations(&self.db).await?.len();
        let n = steps.map_or(applied, |s| applied.min(s as usize));
        Migrator::down(&self.db, steps).await?;
        Ok(n)
    }

    /// A round trip to the database (for readiness probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        Ok(())
    }

    /// Closes the pool (PostgreSQL test databases can only be dropped once no one is connected).
    pub async fn close(self) -> Result<(), StoreError> {
        self.db.close().await?;
        Ok(())
    }

    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>, StoreError> {
        let applied: Vec<String> = Migrator::get_applied_migrations(&self.db)
            .await?
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        Ok(Migrator::migrations()
            .iter()
            .map(|m| MigrationStatus {
                name: m.name().to_string(),
                applied: applied.iter().any(|a| a == m.name()),
            })
            .collect())
    }
}

/// Validates a SQLite URL up front: sea-orm would otherwise fail later with a less clear error.
pub(crate) fn check_sqlite_url(url: &str) -> Result<(), StoreError> {
    SqliteConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl {
        url: redact(url),
        reason: e.to_string(),
    })?;
    Ok(())
}

/// Hides a password in a database URL so errors and logs never carry it.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            super::redact("postgres://atoll:s3cret@127.0.0.1/x"),
            "postgres://atoll:***@127.0.0.1/x"
        );
        assert_eq!(
            super::redact("postgres://atoll@h/x"),
            "postgres://atoll@h/x"
        );
        assert_eq!(super::redact("sqlite://a.db"), "sqlite://a.db");
    }
}
