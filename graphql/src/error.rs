//! The API's one error type and the machine-readable `extensions.code` each variant carries.
//! Messages name what was wrong (argument, id, chain) and never carry internals: a store or RPC
//! failure is logged on the server and answered as `INTERNAL`.

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An argument the caller sent is not acceptable; the message names it.
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error(
        "this operation needs an operator token (Authorization: Bearer …); none was sent or it is not valid"
    )]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("too many requests from this address; retry in a moment")]
    RateLimited,
    #[error("internal error; the server logged the cause")]
    Internal,
    /// A subscriber that read too slowly: `n` batches passed it by.
    #[error(
        "this subscription fell {0} batches behind the feed and was ended; subscribe again (with an id to replay that transfer's history)"
    )]
    FellBehind(u64),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadInput(_) => "BAD_USER_INPUT",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::RateLimited => "RATE_LIMITED",
            ApiError::Internal => "INTERNAL",
            ApiError::FellBehind(_) => "FELL_BEHIND",
        }
    }

    /// Logs `cause` (never sent to the client) and returns `Internal`.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "request failed");
        ApiError::Internal
    }

    /// The body of a non-GraphQL reply (rate limit, oversized body) in GraphQL's error shape,
    /// so clients parse every failure the same way.
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::json!({
            "errors": [{ "message": self.to_string(), "extensions": { "code": self.code() } }]
        })
    }
}

impl From<atoll_store::StoreError> for ApiError {
    fn from(e: atoll_store::StoreError) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<atoll_relayer::RelayerError> for ApiError {
    fn from(e: atoll_relayer::RelayerError) -> ApiError {
        match e {
            atoll_relayer::RelayerError::Refused(m) => ApiError::BadInput(m),
            other => ApiError::internal(other),
        }
    }
}

/// What resolvers return. An `ApiError` converted into `async_graphql::Error` (by `?`) keeps
/// itself as the error's source; the HTTP handler reads its code from there.
pub type ApiResult<T> = Result<T, async_graphql::Error>;
