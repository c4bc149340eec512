//! The one error type of atoll-adapters.

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("secret {reference}: environment variable {name} is not set or empty")]
    SecretEnvMissing { reference: String, name: String },
    #[error("secret {reference}: cannot read {path}: {reason}")]
    SecretFileUnreadable {
        reference: String,
        path: String,
        reason: String,
    },
    /// Never carries the secret's value, only what is wrong with its shape.
    #[error("secret {reference}: not a valid {expected}")]
    SecretMalformed {
        reference: String,
        expected: &'static str,
    },
}

impl AdapterError {
    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// Short label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            AdapterError::SecretEnvMissing { .. } => "secret_env_missing",
            AdapterError::SecretFileUnreadable { .. } => "secret_file_unreadable",
            AdapterError::SecretMalformed { .. } => "secret_malformed",
        }
    }
}
