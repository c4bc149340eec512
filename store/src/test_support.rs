//! Helpers for tests in any crate that need a real database: a fresh SQLite file, or a fresh
//! PostgreSQL database on the server named by `ATOLL_TEST_POSTGRES_URL` (dropped afterwards), so
//! no test depends on another's state.

use sea_orm::{ConnectionTrait, Database, Statement};

use crate::{Store, StoreError};

/// Environment variable naming a PostgreSQL server (role with CREATEDB) for tests.
pub const POSTGRES_URL_VAR: &str = "ATOLL_TEST_POSTGRES_URL";

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

    /// Drops the database (connections to it must be closed first).
    pub async fn drop_db(self) -> Result<(), StoreError> {
        let admin = Database::connect(&self.admin_url).await?;
        admin
            .execute_raw(Statement::from_string(
                admin.get_database_backend(),
                format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
            ))
            .await?;
        admin.close().await?;
        Ok(())
    }
}
