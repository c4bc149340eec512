//! atoll-relayer
