//! The `[database]` section: where the store lives.

use serde::{Deserialize, Serialize};

use super::{Problems, defaults};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub url: Option<String>,
}

impl RawDatabase {
    /// The database URL (SQLite or PostgreSQL); `path` is this section's key (`database`).
    pub(super) fn validate(&self, path: &str, p: &mut Problems) -> String {
        let url = self
            .url
            .clone()
            .unwrap_or_else(|| defaults::DEFAULT_DATABASE_URL.to_string());
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            p.push(
                format!("{path}.url"),
                "must start with sqlite:, postgres:// or postgresql://",
            );
        }
        url
    }
}
