//! Token amounts: an exact integer in the token's smallest unit plus its decimals. All arithmetic
//! is checked; converting between decimals refuses to drop a remainder.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CoreError, U256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Amount {
    /// Integer amount in the token's smallest unit.
    pub raw: U256,
    pub decimals: u8,
}

/// Largest decimals we accept: 10^77 is the largest power of ten below 2^256.
pub const MAX_DECIMALS: u8 = 77;

fn pow10(exp: u8) -> Result<U256, CoreError> {
    if exp > MAX_DECIMALS {
        return Err(CoreError::AmountOverflow("10^decimals exceeds 256 bits"));
    }
    U256::from(10u8)
        .checked_pow(U256::from(exp))
        .ok_or(CoreError::AmountOverflow("10^decimals exceeds 256 bits"))
}

impl Amount {
    pub fn new(raw: U256, decimals: u8) -> Self {
        Amount { raw, decimals }
    }

    pub fn zero(decimals: u8) -> Self {
        Amount {
            raw: U256::ZERO,
            decimals,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.raw.is_zero()
    }

    fn same_decimals(&self, other: &Amount) -> Result<(), CoreError> {
        if self.decimals != other.decimals {
            return Err(CoreError::DecimalsMismatch {
                left: self.decimals,
                right: other.decimals,
            });
        }
        Ok(())
    }

    pub fn checked_add(&self, other: &Amount) -> Result<Amount, CoreError> {
        self.same_decimals(other)?;
        let raw = self
            .raw
            .checked_add(other.raw)
            .ok_or(CoreError::AmountOverflow("add"))?;
        Ok(Amount {
            raw,
            decimals: self.decimals,
        })
    }

    pub fn checked_sub(&self, other: &Amount) -> Result<Amount, CoreError> {
        self.same_decimals(other)?;
        let raw = self
            .raw
            .checked_sub(other.raw)
            .ok_or(CoreError::AmountUnderflow("sub"))?;
        Ok(Amount {
            raw,
            decimals: self.decimals,
        })
    }

    /// `self × bps / 10_000`, rounded down (a fee never exceeds its rate).
    pub fn mul_bps_floor(&self, bps: u32) -> Result<Amount, CoreError> {
        let raw = self
            .raw
            .checked_mul(U256::from(bps))
            .ok_or(CoreError::AmountOverflow("mul_bps"))?
            / U256::from(10_000u32);
        Ok(Amount {
            raw,
            decimals: self.decimals,
        })
    }

    /// The same quantity expressed with `to` decimals. Scaling down fails when digits would be
    /// lost: a bridge must refuse such an amount, never round it away silently.
    pub fn convert(&self, to: u8) -> Result<Amount, CoreError> {
        use std::cmp::Ordering;
        let raw = match to.cmp(&self.decimals) {
            Ordering::Equal => self.raw,
            Ordering::Greater => {
                let factor = pow10(to.saturating_sub(self.decimals))?;
                self.raw
                    .checked_mul(factor)
                    .ok_or(CoreError::AmountOverflow("convert"))?
            }
            Ordering::Less => {
                let factor = pow10(self.decimals.saturating_sub(to))?;
                let (quotient, remainder) = self.raw.div_rem(factor);
                if !remainder.is_zero() {
                    return Err(CoreError::InexactConversion {
                        amount: self.to_string(),
                        from: self.decimals,
                        to,
                        remainder: remainder.to_string(),
                    });
                }
                quotient
            }
        };
        Ok(Amount { raw, decimals: to })
    }

    /// Parses a human decimal string (`"1.5"`, `"1000"`) into an amount with `decimals`.
    pub fn parse_units(input: &str, decimals: u8) -> Result<Amount, CoreError> {
        let invalid = |reason: &str| CoreError::InvalidAmount {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let s = input.trim();
        let (int_part, frac_part) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid("empty"));
        }
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_part) || !all_digits(frac_part) {
            return Err(invalid("only digits and one '.' are allowed"));
        }
        if frac_part.len() > usize::from(decimals) {
            return Err(invalid(&format!("more than {decimals} fractional digits")));
        }
        let mut digits = String::with_capacity(int_part.len() + usize::from(decimals));
        digits.push_str(int_part);
        digits.push_str(frac_part);
        for _ in frac_part.len()..usize::from(decimals) {
            digits.push('0');
        }
        let digits = digits.trim_start_matches('0');
        let raw = if digits.is_empty() {
            U256::ZERO
        } else {
            U256::from_str_radix(digits, 10).map_err(|_| invalid("does not fit in 256 bits"))?
        };
        Ok(Amount { raw, decimals })
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.raw.to_string();
        let d = usize::from(self.decimals);
        if d == 0 {
            return f.write_str(&digits);
        }
        let padded = if digits.len() <= d {
            format!("{}{}", "0".repeat(d + 1 - digits.len()), digits)
        } else {
            digits
        };
        let (int_part, frac_part) = padded.split_at(padded.len() - d);
        let frac_part = frac_part.trim_end_matches('0');
        if frac_part.is_empty() {
            f.write_str(int_part)
        } else {
            write!(f, "{int_part}.{frac_part}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_and_display() {
        let a = Amount::parse_units("1.5", 6).unwrap();
        assert_eq!(a.raw, U256::from(1_500_000u64));
        assert_eq!(a.to_string(), "1.5");
        assert_eq!(
            Amount::parse_units("0.000001", 6).unwrap().raw,
            U256::from(1u8)
        );
        assert_eq!(Amount::new(U256::from(5u8), 3).to_string(), "0.005");
        assert!(Amount::parse_units("1.0000001", 6).is_err());
        assert!(Amount::parse_units("-1", 6).is_err());
        assert!(Amount::parse_units("1e6", 6).is_err());
        assert!(Amount::parse_units("", 6).is_err());
    }

    #[test]
    fn conversion_refuses_remainders() {
        let a = Amount::new(U256::from(1_000_000_000_001u64), 18);
        let e = a.convert(6).unwrap_err();
        assert!(matches!(e, CoreError::InexactConversion { .. }), "{e}");
        let b = Amount::new(U256::from(1_000_000_000_000u64), 18)
            .convert(6)
            .unwrap();
        assert_eq!(b.raw, U256::from(1u8));
    }

    #[test]
    fn checked_ops() {
        let max = Amount::new(U256::MAX, 0);
        assert!(max.checked_add(&Amount::new(U256::from(1u8), 0)).is_err());
        assert!(
            Amount::zero(6)
                .checked_sub(&Amount::new(U256::from(1u8), 6))
                .is_err()
        );
        assert!(Amount::zero(6).checked_add(&Amount::zero(18)).is_err());
        assert_eq!(
            Amount::new(U256::from(10_000u32), 6)
                .mul_bps_floor(5)
                .unwrap()
                .raw,
            U256::from(5u8)
        );
    }

    proptest! {
        #[test]
        fn convert_up_then_down_is_identity(raw in any::<u128>(), from in 0u8..30, up in 0u8..30) {
            let a = Amount::new(U256::from(raw), from);
            let b = a.convert(from + up).unwrap();
            prop_assert_eq!(b.convert(from).unwrap(), a);
        }

        #[test]
        fn display_then_parse_is_identity(raw in any::<u128>(), decimals in 0u8..40) {
            let a = Amount::new(U256::from(raw), decimals);
            prop_assert_eq!(Amount::parse_units(&a.to_string(), decimals).unwrap(), a);
        }
    }
}
