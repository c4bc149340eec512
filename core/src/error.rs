//! The one error type of atoll-core.

use crate::ChainKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error("not a valid {kind} address: {input:?} ({reason})")]
    InvalidAddress {
        kind: ChainKind,
        input: String,
        reason: String,
    },
    #[error("unknown chain kind {0:?} (expected \"evm\" or \"solana\")")]
    UnknownChainKind(String),
    #[error(
        "unknown protocol {0:?} (expected one of uniswap_v2, pancakeswap_v2, uniswap_v3, orca_whirlpool, raydium_cpmm)"
    )]
    UnknownProtocol(String),
    #[error("amount overflow: {0}")]
    AmountOverflow(&'static str),
    #[error("amount underflow: {0}")]
    AmountUnderflow(&'static str),
    #[error("decimals mismatch: {left} vs {right}")]
    DecimalsMismatch { left: u8, right: u8 },
    #[error(
        "{amount} with {from} decimals is not representable with {to} decimals (remainder {remainder})"
    )]
    InexactConversion {
        amount: String,
        from: u8,
        to: u8,
        remainder: String,
    },
    #[error("not a valid amount: {input:?} ({reason})")]
    InvalidAmount { input: String, reason: String },
    #[error("not a valid secret reference {0:?}: expected env:NAME or file:PATH")]
    InvalidSecretRef(String),
    #[error("not a valid transfer id {0:?}: expected 0x followed by 64 hex digits")]
    InvalidTransferId(String),
}
