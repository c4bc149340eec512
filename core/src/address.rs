//! Addresses of both chain families: 20-byte EVM addresses and 32-byte Solana public keys.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ChainKind, CoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Address {
    Evm([u8; 20]),
    Solana([u8; 32]),
}

impl Address {
    /// Parses an address in the format of `kind`: `0x` + 40 hex digits, or base58 of 32 bytes.
    pub fn parse(kind: ChainKind, input: &str) -> Result<Self, CoreError> {
        let invalid = |reason: &str| CoreError::InvalidAddress {
            kind,
            input: input.to_string(),
            reason: reason.to_string(),
        };
        match kind {
            ChainKind::Evm => {
                let hex_part = input
                    .strip_prefix("0x")
                    .or_else(|| input.strip_prefix("0X"))
                    .ok_or_else(|| invalid("must start with 0x"))?;
                if hex_part.len() != 40 {
                    return Err(invalid("must have 40 hex digits after 0x"));
                }
                let mut out = [0u8; 20];
                hex::decode_to_slice(hex_part, &mut out).map_err(|_| invalid("not hexadecimal"))?;
                Ok(Address::Evm(out))
            }
            ChainKind::Solana => {
                // 32 bytes are at most 44 base58 digits; decoding is quadratic in the length,
                // so a longer input is refused before it is decoded.
                if input.len() > 44 {
                    return Err(invalid(
                        "must decode to 32 bytes (at most 44 base58 digits)",
                    ));
                }
                let bytes = bs58::decode(input)
                    .into_vec()
                    .map_err(|_| invalid("not base58"))?;
                let out: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| invalid("must decode to 32 bytes"))?;
                Ok(Address::Solana(out))
            }
        }
    }

    pub fn kind(&self) -> ChainKind {
        match self {
            Address::Evm(_) => ChainKind::Evm,
            Address::Solana(_) => ChainKind::Solana,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Address::Evm(b) => b,
            Address::Solana(b) => b,
        }
    }

    /// The `bytes32` form used for recipients in `BridgeVault.deposit`: EVM addresses are
    /// left-padded with zeros, Solana keys are their 32 bytes.
    pub fn to_bytes32(&self) -> [u8; 32] {
        match self {
            Address::Evm(b) => {
                let mut out = [0u8; 32];
                out[12..].copy_from_slice(b);
                out
            }
            Address::Solana(b) => *b,
        }
    }

    /// Reads a `bytes32` recipient as an address on a chain of `kind`. An EVM recipient must have
    /// twelve leading zero bytes, or it names no EVM account.
    pub fn from_bytes32(kind: ChainKind, bytes: [u8; 32]) -> Result<Self, CoreError> {
        match kind {
            ChainKind::Evm => {
                if bytes[..12].iter().any(|b| *b != 0) {
                    return Err(CoreError::InvalidAddress {
                        kind,
                        input: format!("0x{}", hex::encode(bytes)),
                        reason: "an EVM recipient needs 12 leading zero bytes".to_string(),
                    });
                }
                let mut out = [0u8; 20];
                out.copy_from_slice(&bytes[12..]);
                Ok(Address::Evm(out))
            }
            ChainKind::Solana => Ok(Address::Solana(bytes)),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Evm(b) => {
                let mut buf = [0u8; 42];
                alloy_primitives::hex::encode_to_slice(b, &mut buf[2..]).map_err(|_| fmt::Error)?;
                buf[..2].copy_from_slice(b"0x");
                f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
            }
            Address::Solana(b) => f.write_str(&bs58::encode(b).into_string()),
        }
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::str::FromStr for Address {
    type Err = CoreError;
    /// Without a chain kind at hand, `0x…` reads as EVM and anything else as Solana base58
    /// (whose alphabet has no `0`, so no valid key is taken for the other kind).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let kind = if s.starts_with("0x") {
            ChainKind::Evm
        } else {
            ChainKind::Solana
        };
        Address::parse(kind, s)
    }
}

impl<'de> Deserialize<'de> for Address {
    /// As [`Address::from_str`](std::str::FromStr): `0x…` is EVM, anything else Solana.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evm_roundtrip_and_bytes32() {
        let a =
            Address::parse(ChainKind::Evm, "0x00000000000000000000000000000000000000aB").unwrap();
        assert_eq!(a.to_string(), "0x00000000000000000000000000000000000000ab");
        let b32 = a.to_bytes32();
        assert_eq!(Address::from_bytes32(ChainKind::Evm, b32).unwrap(), a);
    }

    #[test]
    fn evm_errors_name_the_problem() {
        let e = Address::parse(ChainKind::Evm, "0x12")
            .unwrap_err()
            .to_string();
        assert!(e.contains("40 hex digits"), "{e}");
        let e = Address::parse(ChainKind::Evm, "12")
            .unwrap_err()
            .to_string();
        assert!(e.contains("0x"), "{e}");
        let e = Address::parse(ChainKind::Evm, "0xzz00000000000000000000000000000000000000")
            .unwrap_err()
            .to_string();
        assert!(e.contains("hex"), "{e}");
    }

    #[test]
    fn solana_roundtrip_and_errors() {
        let key = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc";
        let a = Address::parse(ChainKind::Solana, key).unwrap();
        assert_eq!(a.to_string(), key);
        assert!(Address::parse(ChainKind::Solana, "0OIl").is_err());
        assert!(Address::parse(ChainKind::Solana, "abc").is_err());
        // The largest key is 44 digits; longer is refused before decoding (quadratic).
        let max = Address::Solana([0xff; 32]).to_string();
        assert_eq!(max.len(), 44);
        assert_eq!(
            Address::parse(ChainKind::Solana, &max).unwrap(),
            Address::Solana([0xff; 32])
        );
        let e = Address::parse(ChainKind::Solana, &"3".repeat(1 << 20))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 44"), "{e:.80}");
    }

    #[test]
    fn evm_recipient_with_high_bytes_is_refused() {
        let mut b = [0u8; 32];
        b[0] = 1;
        assert!(Address::from_bytes32(ChainKind::Evm, b).is_err());
    }
}
