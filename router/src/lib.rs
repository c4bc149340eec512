//! atoll-router
