//! Decoders for the Solana accounts Atoll reads, from the programs' published layouts: Orca
//! Whirlpool (Anchor, 653 bytes), Raydium CPMM `PoolState` (zero-copy packed, 637 bytes) and
//! `AmmConfig` (236 bytes), and SPL token accounts (Token and Token-2022 share the first 165
//! bytes). Owner, size and discriminator are checked before any field is read: an account that
//! is not what it is asked to be is an error naming it, never a garbage pool. Raydium's CLMM
//! shares the CPMM pool discriminator, which is why owner and size decide.

use solana_sdk::pubkey::Pubkey;

pub const WHIRLPOOL_PROGRAM: Pubkey =
    solana_sdk::pubkey!("whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc");
pub const CPMM_PROGRAM: Pubkey =
    solana_sdk::pubkey!("CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C");
pub const TOKEN_PROGRAM: Pubkey =
    solana_sdk::pubkey!("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
pub const TOKEN_2022_PROGRAM: Pubkey =
    solana_sdk::pubkey!("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");

const WHIRLPOOL_DISCRIMINATOR: [u8; 8] = [0x3f, 0x95, 0xd1, 0x0c, 0xe1, 0x80, 0x63, 0x09];
const CPMM_POOL_DISCRIMINATOR: [u8; 8] = [0xf7, 0xed, 0xe3, 0xf5, 0xd7, 0xc3, 0xde, 0x46];
const CPMM_CONFIG_DISCRIMINATOR: [u8; 8] = [0xda, 0xf4, 0x21, 0x68, 0xcb, 0xcb, 0x2b, 0x6f];
const WHIRLPOOL_LEN: usize = 653;
const CPMM_POOL_LEN: usize = 637;
const CPMM_CONFIG_LEN: usize = 236;
/// An SPL token account's base layout; Token-2022 accounts may be longer (extensions).
const TOKEN_ACCOUNT_LEN: usize = 165;
const MINT_LEN: usize = 82;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("account {account}: not found")]
    Missing { account: Pubkey },
    #[error("account {account}: owned by {owner}, expected a {kind} (owner {expected})")]
    WrongOwner {
        account: Pubkey,
        kind: &'static str,
        owner: Pubkey,
        expected: String,
    },
    #[error("account {account}: {len} bytes, a {kind} has {expected}")]
    WrongSize {
        account: Pubkey,
        kind: &'static str,
        len: usize,
        expected: String,
    },
    #[error("account {account}: discriminator {found} is not a {kind}'s")]
    WrongDiscriminator {
        account: Pubkey,
        kind: &'static str,
        found: String,
    },
}

/// A reward emitted by a Whirlpool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhirlpoolReward {
    pub mint: Pubkey,
    pub vault: Pubkey,
    pub emissions_per_second_x64: u128,
    pub growth_global_x64: u128,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whirlpool {
    pub config: Pubkey,
    pub tick_spacing: u16,
    /// Millionths of the swap amount.
    pub fee_rate: u16,
    /// Basis points of the fee taken by the protocol.
    pub protocol_fee_rate: u16,
    pub liquidity: u128,
    /// Q64.64.
    pub sqrt_price_x64: u128,
    pub tick_current_index: i32,
    pub mint_a: Pubkey,
    pub vault_a: Pubkey,
    /// Q64.64 fees per unit of liquidity, since the pool began.
    pub fee_growth_global_a: u128,
    pub mint_b: Pubkey,
    pub vault_b: Pubkey,
    pub fee_growth_global_b: u128,
    pub reward_last_updated_timestamp: u64,
    /// Only rewards with a mint set.
    pub rewards: Vec<WhirlpoolReward>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpmmPool {
    pub amm_config: Pubkey,
    pub vault_0: Pubkey,
    pub vault_1: Pubkey,
    pub lp_mint: Pubkey,
    pub mint_0: Pubkey,
    pub mint_1: Pubkey,
    pub token_program_0: Pubkey,
    pub token_program_1: Pubkey,
    /// bit 0 deposit, bit 1 withdraw, bit 2 swap disabled.
    pub status: u8,
    pub lp_mint_decimals: u8,
    pub mint_0_decimals: u8,
    pub mint_1_decimals: u8,
    pub lp_supply: u64,
    pub protocol_fees: (u64, u64),
    pub fund_fees: (u64, u64),
    pub open_time: u64,
    pub creator_fees: (u64, u64),
}

impl CpmmPool {
    /// Reserves: vault balances minus the protocol, fund and creator fees they also hold.
    pub fn reserves(&self, vault_0: u64, vault_1: u64) -> (u64, u64) {
        (
            vault_0
                .saturating_sub(self.protocol_fees.0)
                .saturating_sub(self.fund_fees.0)
                .saturating_sub(self.creator_fees.0),
            vault_1
                .saturating_sub(self.protocol_fees.1)
                .saturating_sub(self.fund_fees.1)
                .saturating_sub(self.creator_fees.1),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpmmConfig {
    pub index: u16,
    /// Millionths of the swap amount.
    pub trade_fee_rate: u64,
    /// Millionths *of the trade fee*.
    pub protocol_fee_rate: u64,
    pub fund_fee_rate: u64,
    pub creator_fee_rate: u64,
}

impl CpmmConfig {
    /// The LPs' part of a swap, in millionths of the amount. The rates are read from the
    /// account as they are: protocol and fund shares past the whole fee leave the LPs nothing.
    pub fn lp_fee_ppm(&self) -> u64 {
        let taken = self.protocol_fee_rate.saturating_add(self.fund_fee_rate);
        let kept = 1_000_000u64.saturating_sub(taken);
        self.trade_fee_rate.saturating_mul(kept) / 1_000_000
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenAccount {
    pub mint: Pubkey,
    pub owner: Pubkey,
    pub amount: u64,
}

/// What an account must be to be read as `kind`.
struct Expect<'a> {
    kind: &'static str,
    owners: &'a [Pubkey],
    len_ok: fn(usize, &Pubkey) -> bool,
    expected_len: &'static str,
    discriminator: Option<&'a [u8; 8]>,
}

fn check(
    account: &Pubkey,
    owner: &Pubkey,
    data: &[u8],
    e: &Expect<'_>,
) -> Result<(), AccountError> {
    if !e.owners.contains(owner) {
        return Err(AccountError::WrongOwner {
            account: *account,
            kind: e.kind,
            owner: *owner,
            expected: e
                .owners
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
        });
    }
    if !(e.len_ok)(data.len(), owner) {
        return Err(AccountError::WrongSize {
            account: *account,
            kind: e.kind,
            len: data.len(),
            expected: e.expected_len.to_string(),
        });
    }
    if let Some(d) = e.discriminator
        && data.get(..8) != Some(&d[..])
    {
        return Err(AccountError::WrongDiscriminator {
            account: *account,
            kind: e.kind,
            found: data.get(..8).map(hex_of).unwrap_or_default(),
        });
    }
    Ok(())
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Reads little-endian fields; lengths are checked before a reader is made.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn bytes<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(src) = self.0.get(at..at + N) {
            out.copy_from_slice(src);
        }
        out
    }
    fn pubkey(&self, at: usize) -> Pubkey {
        Pubkey::new_from_array(self.bytes::<32>(at))
    }
    fn u8(&self, at: usize) -> u8 {
        self.bytes::<1>(at)[0]
    }
    fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.bytes(at))
    }
    fn i32(&self, at: usize) -> i32 {
        i32::from_le_bytes(self.bytes(at))
    }
    fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.bytes(at))
    }
    fn u128(&self, at: usize) -> u128 {
        u128::from_le_bytes(self.bytes(at))
    }
}

pub fn decode_whirlpool(
    account: &Pubkey,
    owner: &Pubkey,
    data: &[u8],
) -> Result<Whirlpool, AccountError> {
    check(
        account,
        owner,
        data,
        &Expect {
            kind: "Orca Whirlpool",
            owners: &[WHIRLPOOL_PROGRAM],
            len_ok: |n, _| n == WHIRLPOOL_LEN,
            expected_len: "653",
            discriminator: Some(&WHIRLPOOL_DISCRIMINATOR),
        },
    )?;
    let f = Fields(data);
    let rewards = (0..3)
        .map(|i| 269 + i * 128)
        .map(|at| WhirlpoolReward {
            mint: f.pubkey(at),
            vault: f.pubkey(at + 32),
            emissions_per_second_x64: f.u128(at + 96),
            growth_global_x64: f.u128(at + 112),
        })
        .filter(|r| r.mint != Pubkey::default())
        .collect();
    Ok(Whirlpool {
        config: f.pubkey(8),
        tick_spacing: f.u16(41),
        fee_rate: f.u16(45),
        protocol_fee_rate: f.u16(47),
        liquidity: f.u128(49),
        sqrt_price_x64: f.u128(65),
        tick_current_index: f.i32(81),
        mint_a: f.pubkey(101),
        vault_a: f.pubkey(133),
        fee_growth_global_a: f.u128(165),
        mint_b: f.pubkey(181),
        vault_b: f.pubkey(213),
        fee_growth_global_b: f.u128(245),
        reward_last_updated_timestamp: f.u64(261),
        rewards,
    })
}

pub fn decode_cpmm_pool(
    account: &Pubkey,
    owner: &Pubkey,
    data: &[u8],
) -> Result<CpmmPool, AccountError> {
    check(
        account,
        owner,
        data,
        &Expect {
            kind: "Raydium CPMM pool",
            owners: &[CPMM_PROGRAM],
            len_ok: |n, _| n == CPMM_POOL_LEN,
            expected_len: "637",
            discriminator: Some(&CPMM_POOL_DISCRIMINATOR),
        },
    )?;
    let f = Fields(data);
    Ok(CpmmPool {
        amm_config: f.pubkey(8),
        vault_0: f.pubkey(72),
        vault_1: f.pubkey(104),
        lp_mint: f.pubkey(136),
        mint_0: f.pubkey(168),
        mint_1: f.pubkey(200),
        token_program_0: f.pubkey(232),
        token_program_1: f.pubkey(264),
        status: f.u8(329),
        lp_mint_decimals: f.u8(330),
        mint_0_decimals: f.u8(331),
        mint_1_decimals: f.u8(332),
        lp_supply: f.u64(333),
        protocol_fees: (f.u64(341), f.u64(349)),
        fund_fees: (f.u64(357), f.u64(365)),
        open_time: f.u64(373),
        creator_fees: (f.u64(397), f.u64(405)),
    })
}

pub fn decode_cpmm_config(
    account: &Pubkey,
    owner: &Pubkey,
    data: &[u8],
) -> Result<CpmmConfig, AccountError> {
    check(
        account,
        owner,
        data,
        &Expect {
            kind: "Raydium CPMM AmmConfig",
            owners: &[CPMM_PROGRAM],
            len_ok: |n, _| n == CPMM_CONFIG_LEN,
            expected_len: "236",
            discriminator: Some(&CPMM_CONFIG_DISCRIMINATOR),
        },
    )?;
    let f = Fields(data);
    Ok(CpmmConfig {
        index: f.u16(10),
        trade_fee_rate: f.u64(12),
        protocol_fee_rate: f.u64(20),
        fund_fee_rate: f.u64(28),
        creator_fee_rate: f.u64(108),
    })
}

pub fn decode_token_account(
    account: &Pubkey,
    owner: &Pubkey,
    data: &[u8],
) -> Result<TokenAccount, AccountError> {
    check(
        account,
        owner,
        data,
        &Expect {
            kind: "SPL token account",
            owners: &[TOKEN_PROGRAM, TOKEN_2022_PROGRAM],
            // Token: exactly 165; Token-2022: 165, or longer with extensions.
            len_ok: |n, owner| {
                n == TOKEN_ACCOUNT_LEN || (*owner == TOKEN_2022_PROGRAM && n > TOKEN_ACCOUNT_LEN)
            },
            expected_len: "165 (Token-2022: 165 or more)",
            discriminator: None,
        },
    )?;
    let f = Fields(data);
    Ok(TokenAccount {
        mint: f.pubkey(0),
        owner: f.pubkey(32),
        amount: f.u64(64),
    })
}

/// An SPL mint's decimals (offset 44 of the 82-byte base layout Token and Token-2022 share).
pub fn decode_mint_decimals(
    account: &Pubkey,
    owner: &Pubkey,
    data: &[u8],
) -> Result<u8, AccountError> {
    check(
        account,
        owner,
        data,
        &Expect {
            kind: "SPL mint",
            owners: &[TOKEN_PROGRAM, TOKEN_2022_PROGRAM],
            len_ok: |n, owner| n == MINT_LEN || (*owner == TOKEN_2022_PROGRAM && n > MINT_LEN),
            expected_len: "82 (Token-2022: 82 or more)",
            discriminator: None,
        },
    )?;
    Ok(Fields(data).u8(44))
}

/// Fees a Whirlpool earned between two snapshots of `fee_growth_global` (Q64.64 per unit of
/// liquidity, wrapping as the program lets it), at `liquidity`: `Δgrowth · L / 2^64`, in the
/// token's smallest unit. The growth counts only the LPs' part (protocol fee taken out).
pub fn whirlpool_fees_between(growth_before: u128, growth_after: u128, liquidity: u128) -> u128 {
    let delta = growth_after.wrapping_sub(growth_before);
    // 128 × 128 → 256-bit product, shifted by 64, without overflow.
    let (hi, lo) = mul_u128(delta, liquidity);
    if hi >> 64 != 0 {
        // Beyond u128 after the shift: no real pool gets here; saturate rather than wrap.
        return u128::MAX;
    }
    (hi << 64) | (lo >> 64)
}

fn mul_u128(a: u128, b: u128) -> (u128, u128) {
    let mask = u128::from(u64::MAX);
    let (a_hi, a_lo) = (a >> 64, a & mask);
    let (b_hi, b_lo) = (b >> 64, b & mask);
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let mid = (ll >> 64) + (lh & mask) + (hl & mask);
    let lo = (ll & mask) | (mid << 64);
    let hi = hh + (lh >> 64) + (hl >> 64) + (mid >> 64);
    (hi, lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_from_fee_growth() {
        // Growth of 0.5 (Q64.64) per unit on 1,000 units of liquidity: 500.
        let half = 1u128 << 63;
        assert_eq!(
            whirlpool_fees_between(1 << 64, (1 << 64) + half, 1_000),
            500
        );
        // The counter wraps: growth keeps counting past u128::MAX.
        assert_eq!(whirlpool_fees_between(u128::MAX - half + 1, half, 2), 2);
        // Large values do not overflow: 2^100 growth on 2^60 liquidity = 2^160 / 2^64 = 2^96.
        assert_eq!(whirlpool_fees_between(0, 1 << 100, 1 << 60), 1 << 96);
        assert_eq!(whirlpool_fees_between(0, 1 << 100, 1 << 100), u128::MAX);
    }

    #[test]
    fn wrong_owner_size_and_discriminator_are_named_errors() {
        let account = Pubkey::new_unique();
        let mut data = vec![0u8; WHIRLPOOL_LEN];
        data[..8].copy_from_slice(&WHIRLPOOL_DISCRIMINATOR);
        assert!(decode_whirlpool(&account, &WHIRLPOOL_PROGRAM, &data).is_ok());
        match decode_whirlpool(&account, &CPMM_PROGRAM, &data) {
            Err(e @ AccountError::WrongOwner { .. }) => {
                assert!(e.to_string().contains(&account.to_string()), "{e}")
            }
            other => panic!("{other:?}"),
        }
        match decode_whirlpool(&account, &WHIRLPOOL_PROGRAM, &data[..600]) {
            Err(e @ AccountError::WrongSize { len: 600, .. }) => {
                assert!(e.to_string().contains("653"))
            }
            other => panic!("{other:?}"),
        }
        // A CLMM pool has the CPMM discriminator but not its size.
        let mut clmm = vec![0u8; 1544];
        clmm[..8].copy_from_slice(&CPMM_POOL_DISCRIMINATOR);
        assert!(matches!(
            decode_cpmm_pool(&account, &CPMM_PROGRAM, &clmm),
            Err(AccountError::WrongSize { .. })
        ));
        data[0] ^= 1;
        assert!(matches!(
            decode_whirlpool(&account, &WHIRLPOOL_PROGRAM, &data),
            Err(AccountError::WrongDiscriminator { .. })
        ));
    }

    #[test]
    fn cpmm_lp_share_and_reserves() {
        let config = CpmmConfig {
            index: 0,
            trade_fee_rate: 2_500,
            protocol_fee_rate: 120_000,
            fund_fee_rate: 40_000,
            creator_fee_rate: 0,
        };
        // 0.25 % of which 84 % to LPs = 0.21 %.
        assert_eq!(config.lp_fee_ppm(), 2_100);
        // Rates as an account may hold them (u64::MAX each): nothing to the LPs, no overflow.
        let absurd = CpmmConfig {
            protocol_fee_rate: u64::MAX,
            fund_fee_rate: u64::MAX,
            ..config
        };
        assert_eq!(absurd.lp_fee_ppm(), 0);
    }
}
