//! Identifiers: `TransferId` (what makes a bridge transfer unique across restarts) and `PoolId`.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::keccak256;
use serde::{Deserialize, Serialize};

use crate::{Address, ChainId, CoreError, Protocol};

/// A bridge transfer's identity: `keccak(source chain, source tx, index)`, the index being the
/// deposit's position among the vault's deposits in its transaction (EVM) or its instruction
/// index (Solana). It depends on nothing but the deposit's own transaction, so a reorg that
/// reorders transactions never moves an id to another deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransferId(pub [u8; 32]);

impl TransferId {
    /// keccak(source chain id as u64 big-endian ‖ source tx bytes ‖ log or instruction index as u32).
    pub fn derive(source: ChainId, source_tx: &[u8], index: u32) -> TransferId {
        let mut buf = Vec::with_capacity(8 + source_tx.len() + 4);
        buf.extend_from_slice(&source.0.to_be_bytes());
        buf.extend_from_slice(source_tx);
        buf.extend_from_slice(&index.to_be_bytes());
        TransferId(keccak256(&buf).0)
    }
}

impl fmt::Display for TransferId {
    /// `0x` and 64 lower-case hex digits, written from a stack buffer: an id is formatted for
    /// every row an executor writes and every key it looks up, thousands a step.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 66];
        alloy_primitives::hex::encode_to_slice(self.0, &mut buf[2..]).map_err(|_| fmt::Error)?;
        buf[..2].copy_from_slice(b"0x");
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for TransferId {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CoreError::InvalidTransferId(s.to_string());
        let h = s.strip_prefix("0x").ok_or_else(err)?;
        // Exactly 64 digits: const-hex would strip a second `0x` by itself.
        if h.len() != 64 {
            return Err(err());
        }
        let mut out = [0u8; 32];
        alloy_primitives::hex::decode_to_slice(h, &mut out).map_err(|_| err())?;
        Ok(TransferId(out))
    }
}

impl Serialize for TransferId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TransferId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A pool's stable, human-readable id: `<chain name>:<protocol>:<address>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PoolId(pub String);

impl PoolId {
    pub fn new(chain_name: &str, protocol: Protocol, address: &Address) -> PoolId {
        PoolId(format!("{chain_name}:{}:{address}", protocol.as_str()))
    }
}

impl fmt::Display for PoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_id_is_deterministic_and_index_sensitive() {
        let a = TransferId::derive(ChainId::SOLANA, b"sig", 0);
        assert_eq!(a, TransferId::derive(ChainId::SOLANA, b"sig", 0));
        assert_ne!(a, TransferId::derive(ChainId::SOLANA, b"sig", 1));
        assert_ne!(a, TransferId::derive(ChainId::ETHEREUM, b"sig", 0));
        assert_eq!(a.to_string().parse::<TransferId>().unwrap(), a);
        assert!("0x12".parse::<TransferId>().is_err());
        // One prefix only, 64 digits exactly; either case reads, lower case is written.
        let digits = a.to_string()[2..].to_string();
        assert!(
            format!("0x0x{}", &digits[2..])
                .parse::<TransferId>()
                .is_err()
        );
        assert!(digits.parse::<TransferId>().is_err());
        assert_eq!(
            format!("0x{}", digits.to_uppercase())
                .parse::<TransferId>()
                .unwrap(),
            a
        );
        assert_eq!(a.to_string(), format!("0x{}", hex::encode(a.0)));
    }
}
