//! atoll-graphql
