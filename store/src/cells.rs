//! Reading a stored row's text and integers as the domain's types, once, where the row is read.
//! A value that does not read is [`StoreError::Unreadable`], naming the table, the column and
//! the row: never a panic, never a default standing in for it.

use std::str::FromStr;

use atoll_core::{Reason, TransferId, TransferStatus, U256};

use crate::StoreError;

/// One row of `table`, named by `key` (its primary key as stored) in errors.
#[derive(Clone, Copy)]
pub(crate) struct Cells<'a> {
    pub table: &'static str,
    pub key: &'a str,
}

impl<'a> Cells<'a> {
    pub fn of(table: &'static str, key: &'a str) -> Cells<'a> {
        Cells { table, key }
    }

    pub fn unreadable(
        &self,
        column: &'static str,
        value: impl ToString,
        expected: &'static str,
    ) -> StoreError {
        StoreError::Unreadable {
            table: self.table,
            column,
            row: self.key.to_string(),
            value: value.to_string(),
            expected,
        }
    }

    pub fn parse<T: FromStr>(
        &self,
        column: &'static str,
        value: &str,
        expected: &'static str,
    ) -> Result<T, StoreError> {
        value
            .parse()
            .map_err(|_| self.unreadable(column, value, expected))
    }

    pub fn parse_opt<T: FromStr>(
        &self,
        column: &'static str,
        value: Option<&str>,
        expected: &'static str,
    ) -> Result<Option<T>, StoreError> {
        value.map(|v| self.parse(column, v, expected)).transpose()
    }

    pub fn id(&self, column: &'static str, value: &str) -> Result<TransferId, StoreError> {
        self.parse(column, value, "a transfer id")
    }

    pub fn status(&self, column: &'static str, value: &str) -> Result<TransferStatus, StoreError> {
        self.parse(column, value, "a transfer status")
    }

    pub fn amount(&self, column: &'static str, value: &str) -> Result<U256, StoreError> {
        self.parse(column, value, "a decimal amount")
    }

    pub fn amount_opt(
        &self,
        column: &'static str,
        value: Option<&str>,
    ) -> Result<Option<U256>, StoreError> {
        self.parse_opt(column, value, "a decimal amount")
    }

    pub fn u64(&self, column: &'static str, value: i64) -> Result<u64, StoreError> {
        u64::try_from(value).map_err(|_| self.unreadable(column, value, "a non-negative integer"))
    }

    pub fn u64_opt(
        &self,
        column: &'static str,
        value: Option<i64>,
    ) -> Result<Option<u64>, StoreError> {
        value.map(|v| self.u64(column, v)).transpose()
    }

    /// Reasons always read: text that is no known form is [`Reason::Text`].
    pub fn reason(value: Option<&str>) -> Option<Reason> {
        value.map(Reason::from_stored)
    }
}

/// `ids` as the text `transfers.id` stores.
pub(crate) fn id_texts(ids: &[TransferId]) -> Vec<String> {
    ids.iter().map(TransferId::to_string).collect()
}
