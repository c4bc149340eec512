//! Solana side of the devnet: deterministic keypairs, and every account the validator loads at
//! start (`--account PUBKEY FILE`): SPL mints matching the EVM tokens, funded wallets, the
//! relayer's vault token accounts, and pools in the real Orca Whirlpool and Raydium CPMM layouts,
//! at the addresses those programs derive and owned by their real program ids.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use solana_client::nonblocking::rpc_client::RpcClient;
use solana_program_option::COption;
use solana_program_pack::Pack;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;
use spl_associated_token_account_interface::address::get_associated_token_address;
use spl_token_interface::state::{Account as TokenAccount, AccountState, Mint};

use crate::DevnetError;

/// The programs' ids are the adapter's (one place for them, as with the EVM ABIs).
pub use atoll_adapters::solana::accounts::{CPMM_PROGRAM, WHIRLPOOL_PROGRAM};
pub const WHIRLPOOL_DISCRIMINATOR: [u8; 8] = [0x3f, 0x95, 0xd1, 0x0c, 0xe1, 0x80, 0x63, 0x09];
pub const CPMM_POOL_DISCRIMINATOR: [u8; 8] = [0xf7, 0xed, 0xe3, 0xf5, 0xd7, 0xc3, 0xde, 0x46];
pub const CPMM_CONFIG_DISCRIMINATOR: [u8; 8] = [0xda, 0xf4, 0x21, 0x68, 0xcb, 0xcb, 0x2b, 0x6f];
pub const WHIRLPOOL_LEN: usize = 653;
pub const CPMM_POOL_LEN: usize = 637;
pub const CPMM_CONFIG_LEN: usize = 236;
const LAMPORTS_PER_SOL: u64 = 1_000_000_000;
const SYSTEM_PROGRAM: Pubkey = solana_sdk::pubkey!("11111111111111111111111111111111");

/// A devnet keypair derived from a label, so every run has the same addresses.
pub fn devnet_keypair(label: &str) -> Keypair {
    let seed: [u8; 32] = Sha256::digest(format!("atoll-devnet/solana/{label}").as_bytes()).into();
    Keypair::new_from_array(seed)
}

/// Rent-exempt minimum for `len` bytes at the default rent (3480 lamports per byte-year, 2 years).
pub fn rent_exempt(len: usize) -> u64 {
    (128u64 + len as u64) * 3480 * 2
}

/// An account as `solana-test-validator --account` reads it.
#[derive(Debug, Clone)]
pub struct AccountFixture {
    pub pubkey: Pubkey,
    pub owner: Pubkey,
    pub lamports: u64,
    pub data: Vec<u8>,
}

impl AccountFixture {
    fn program_owned(pubkey: Pubkey, owner: Pubkey, data: Vec<u8>) -> Self {
        AccountFixture {
            pubkey,
            owner,
            lamports: rent_exempt(data.len()),
            data,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "pubkey": self.pubkey.to_string(),
            "account": {
                "lamports": self.lamports,
                "data": [base64::engine::general_purpose::STANDARD.encode(&self.data), "base64"],
                "owner": self.owner.to_string(),
                "executable": false,
                "rentEpoch": u64::MAX,
                "space": self.data.len(),
            }
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SolanaToken {
    pub symbol: String,
    pub mint: String,
    pub decimals: u8,
    pub price_usd: u64,
    /// The relayer's vault: its associated token account for this mint.
    pub vault: String,
    /// The devnet user's associated token account (source of traffic deposits).
    pub user_account: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SolanaPool {
    pub protocol: String,
    pub address: String,
    pub mint_a: String,
    pub mint_b: String,
    pub vault_a: String,
    pub vault_b: String,
    /// CPMM: its AmmConfig; Whirlpool: its WhirlpoolsConfig.
    pub config: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SolanaDeployment {
    pub rpc_url: String,
    pub relayer: String,
    pub user: String,
    pub treasury: String,
    pub tokens: Vec<SolanaToken>,
    pub pools: Vec<SolanaPool>,
}

impl SolanaDeployment {
    pub fn token(&self, symbol: &str) -> Option<&SolanaToken> {
        self.tokens.iter().find(|t| t.symbol == symbol)
    }
}

/// Mints on the devnet: the EVM stables, and the wrapped natives with 8 decimals (as Wormhole's
/// wrapped assets have on Solana), so bridging exercises decimal conversion.
const MINTS: [(&str, u8, u64); 4] = [
    ("USDC", 6, 1),
    ("USDT", 6, 1),
    ("WETH", 8, 3000),
    ("WBNB", 8, 600),
];

fn ui_to_raw(whole: u64, decimals: u8) -> u64 {
    whole.saturating_mul(10u64.saturating_pow(u32::from(decimals)))
}

fn token_account(address: Pubkey, mint: Pubkey, owner: Pubkey, amount: u64) -> AccountFixture {
    let mut data = vec![0u8; TokenAccount::LEN];
    let account = TokenAccount {
        mint,
        owner,
        amount,
        delegate: COption::None,
        state: AccountState::Initialized,
        is_native: COption::None,
        delegated_amount: 0,
        close_authority: COption::None,
    };
    account.pack_into_slice(&mut data);
    AccountFixture::program_owned(address, spl_token_interface::id(), data)
}

fn mint_account(address: Pubkey, authority: Pubkey, supply: u64, decimals: u8) -> AccountFixture {
    let mut data = vec![0u8; Mint::LEN];
    Mint {
        mint_authority: COption::Some(authority),
        supply,
        decimals,
        is_initialized: true,
        freeze_authority: COption::None,
    }
    .pack_into_slice(&mut data);
    AccountFixture::program_owned(address, spl_token_interface::id(), data)
}

fn wallet(pubkey: Pubkey, sol: u64) -> AccountFixture {
    AccountFixture {
        pubkey,
        owner: SYSTEM_PROGRAM,
        lamports: sol * LAMPORTS_PER_SOL,
        data: Vec::new(),
    }
}

struct Writer<'a>(&'a mut [u8]);

impl Writer<'_> {
    fn put(&mut self, offset: usize, bytes: &[u8]) {
        if let Some(dst) = self.0.get_mut(offset..offset + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }
}

/// Parameters of a fabricated Whirlpool.
pub struct WhirlpoolSpec {
    pub config: Pubkey,
    pub mint_a: Pubkey,
    pub mint_b: Pubkey,
    pub vault_a: Pubkey,
    pub vault_b: Pubkey,
    pub tick_spacing: u16,
    pub fee_rate: u16,
    pub protocol_fee_rate: u16,
    pub liquidity: u128,
    pub sqrt_price_x64: u128,
    pub tick_current_index: i32,
    pub fee_growth_global_a: u128,
    pub fee_growth_global_b: u128,
    pub reward_last_updated_timestamp: u64,
}

impl WhirlpoolSpec {
    /// The Whirlpool's address: PDA of ("whirlpool", config, mint_a, mint_b, tick_spacing).
    pub fn address(&self) -> (Pubkey, u8) {
        Pubkey::find_program_address(
            &[
                b"whirlpool",
                self.config.as_ref(),
                self.mint_a.as_ref(),
                self.mint_b.as_ref(),
                &self.tick_spacing.to_le_bytes(),
            ],
            &WHIRLPOOL_PROGRAM,
        )
    }

    /// The 653-byte account in Orca's layout (see shared/reference, Appendix A).
    pub fn encode(&self) -> Vec<u8> {
        let (_, bump) = self.address();
        let mut data = vec![0u8; WHIRLPOOL_LEN];
        let mut w = Writer(&mut data);
        w.put(0, &WHIRLPOOL_DISCRIMINATOR);
        w.put(8, self.config.as_ref());
        w.put(40, &[bump]);
        w.put(41, &self.tick_spacing.to_le_bytes());
        w.put(43, &self.tick_spacing.to_le_bytes());
        w.put(45, &self.fee_rate.to_le_bytes());
        w.put(47, &self.protocol_fee_rate.to_le_bytes());
        w.put(49, &self.liquidity.to_le_bytes());
        w.put(65, &self.sqrt_price_x64.to_le_bytes());
        w.put(81, &self.tick_current_index.to_le_bytes());
        w.put(101, self.mint_a.as_ref());
        w.put(133, self.vault_a.as_ref());
        w.put(165, &self.fee_growth_global_a.to_le_bytes());
        w.put(181, self.mint_b.as_ref());
        w.put(213, self.vault_b.as_ref());
        w.put(245, &self.fee_growth_global_b.to_le_bytes());
        w.put(261, &self.reward_last_updated_timestamp.to_le_bytes());
        // reward_infos (269..653) stay zeroed: no emissions configured.
        data
    }
}

/// Parameters of a fabricated Raydium CPMM pool.
pub struct CpmmSpec {
    pub config_index: u16,
    pub mint_0: Pubkey,
    pub mint_1: Pubkey,
    pub decimals_0: u8,
    pub decimals_1: u8,
    pub lp_supply: u64,
    pub protocol_fees: (u64, u64),
    pub fund_fees: (u64, u64),
    pub creator: Pubkey,
    pub open_time: u64,
    /// In millionths: trade fee of the amount, protocol and fund fees of the trade fee.
    pub trade_fee_rate: u64,
    pub protocol_fee_rate: u64,
    pub fund_fee_rate: u64,
}

pub struct CpmmAddresses {
    pub config: Pubkey,
    pub pool: Pubkey,
    pub authority: (Pubkey, u8),
    pub vault_0: Pubkey,
    pub vault_1: Pubkey,
    pub lp_mint: Pubkey,
    pub observation: Pubkey,
}

impl CpmmSpec {
    /// Addresses as Raydium's program derives them (seeds from raydium-cp-swap).
    pub fn addresses(&self) -> CpmmAddresses {
        let pda = |seeds: &[&[u8]]| Pubkey::find_program_address(seeds, &CPMM_PROGRAM);
        let (config, _) = pda(&[b"amm_config", &self.config_index.to_be_bytes()]);
        let (pool, _) = pda(&[
            b"pool",
            config.as_ref(),
            self.mint_0.as_ref(),
            self.mint_1.as_ref(),
        ]);
        CpmmAddresses {
            config,
            pool,
            authority: pda(&[b"vault_and_lp_mint_auth_seed"]),
            vault_0: pda(&[b"pool_vault", pool.as_ref(), self.mint_0.as_ref()]).0,
            vault_1: pda(&[b"pool_vault", pool.as_ref(), self.mint_1.as_ref()]).0,
            lp_mint: pda(&[b"pool_lp_mint", pool.as_ref()]).0,
            observation: pda(&[b"observation", pool.as_ref()]).0,
        }
    }

    /// The 637-byte `PoolState` (zero-copy, packed) in Raydium's layout.
    pub fn encode_pool(&self) -> Vec<u8> {
        let a = self.addresses();
        let token_program = spl_token_interface::id();
        let mut data = vec![0u8; CPMM_POOL_LEN];
        let mut w = Writer(&mut data);
        w.put(0, &CPMM_POOL_DISCRIMINATOR);
        w.put(8, a.config.as_ref());
        w.put(40, self.creator.as_ref());
        w.put(72, a.vault_0.as_ref());
        w.put(104, a.vault_1.as_ref());
        w.put(136, a.lp_mint.as_ref());
        w.put(168, self.mint_0.as_ref());
        w.put(200, self.mint_1.as_ref());
        w.put(232, token_program.as_ref());
        w.put(264, token_program.as_ref());
        w.put(296, a.observation.as_ref());
        w.put(
            328,
            &[a.authority.1, 0, 9, self.decimals_0, self.decimals_1],
        );
        w.put(333, &self.lp_supply.to_le_bytes());
        w.put(341, &self.protocol_fees.0.to_le_bytes());
        w.put(349, &self.protocol_fees.1.to_le_bytes());
        w.put(357, &self.fund_fees.0.to_le_bytes());
        w.put(365, &self.fund_fees.1.to_le_bytes());
        w.put(373, &self.open_time.to_le_bytes());
        data
    }

    /// The 236-byte Anchor `AmmConfig`.
    pub fn encode_config(&self) -> Vec<u8> {
        let (_, bump) = Pubkey::find_program_address(
            &[b"amm_config", &self.config_index.to_be_bytes()],
            &CPMM_PROGRAM,
        );
        let mut data = vec![0u8; CPMM_CONFIG_LEN];
        let mut w = Writer(&mut data);
        w.put(0, &CPMM_CONFIG_DISCRIMINATOR);
        w.put(8, &[bump, 0]);
        w.put(10, &self.config_index.to_le_bytes());
        w.put(12, &self.trade_fee_rate.to_le_bytes());
        w.put(20, &self.protocol_fee_rate.to_le_bytes());
        w.put(28, &self.fund_fee_rate.to_le_bytes());
        w.put(44, self.creator.as_ref());
        w.put(76, self.creator.as_ref());
        data
    }
}

/// The devnet's funded wallets.
struct Wallets {
    authority: Pubkey,
    relayer: Pubkey,
    user: Pubkey,
    treasury: Pubkey,
}

/// A devnet mint: (address, decimals, price in USD).
type MintInfo = (Pubkey, u8, u64);

/// A devnet mint and the supply its holders' token accounts hold.
struct HeldMint {
    symbol: &'static str,
    mint: Pubkey,
    decimals: u8,
    price: u64,
    holders_supply: u64,
}

/// The accounts being built, and every pool vault's (mint, amount), which the mints' supply
/// must cover.
struct Fixtures {
    accounts: Vec<AccountFixture>,
    pool_supply: Vec<(Pubkey, u64)>,
}

/// Everything the validator loads, and the deployment record it amounts to.
pub fn build_accounts(rpc_url: &str, now_unix: u64) -> (Vec<AccountFixture>, SolanaDeployment) {
    let wallets = Wallets {
        authority: devnet_keypair("mint-authority").pubkey(),
        relayer: devnet_keypair("relayer").pubkey(),
        user: devnet_keypair("user").pubkey(),
        treasury: devnet_keypair("treasury").pubkey(),
    };
    let mut fixtures = Fixtures {
        accounts: vec![
            wallet(wallets.relayer, 1_000),
            wallet(wallets.user, 1_000),
            wallet(wallets.treasury, 1_000),
            wallet(wallets.authority, 1_000),
        ],
        pool_supply: Vec::new(),
    };
    let (mints, tokens) = fund_holders(&wallets, &mut fixtures.accounts);
    let mint_of = |s: &str| {
        mints
            .iter()
            .find(|m| m.symbol == s)
            .map(|m| (m.mint, m.decimals, m.price))
    };
    let (Some(weth), Some(usdc), Some(usdt)) = (mint_of("WETH"), mint_of("USDC"), mint_of("USDT"))
    else {
        let deployment = deployment(rpc_url, &wallets, tokens, Vec::new());
        return (fixtures.accounts, deployment);
    };
    let pools = vec![
        whirlpool_weth_usdc(weth, usdc, now_unix, &mut fixtures),
        cpmm_usdc_usdt(usdc, usdt, now_unix, &mut fixtures),
    ];
    // Mints last: their supply is the sum of every token account created above.
    let Fixtures {
        mut accounts,
        pool_supply,
    } = fixtures;
    for m in &mints {
        let in_pools: u64 = pool_supply
            .iter()
            .filter(|(mint, _)| *mint == m.mint)
            .map(|(_, a)| *a)
            .fold(0, u64::saturating_add);
        accounts.push(mint_account(
            m.mint,
            wallets.authority,
            m.holders_supply.saturating_add(in_pools),
            m.decimals,
        ));
    }
    (accounts, deployment(rpc_url, &wallets, tokens, pools))
}

/// The deployment record of the wallets, tokens and pools.
fn deployment(
    rpc_url: &str,
    wallets: &Wallets,
    tokens: Vec<SolanaToken>,
    pools: Vec<SolanaPool>,
) -> SolanaDeployment {
    SolanaDeployment {
        rpc_url: rpc_url.to_string(),
        relayer: wallets.relayer.to_string(),
        user: wallets.user.to_string(),
        treasury: wallets.treasury.to_string(),
        tokens,
        pools,
    }
}

/// Every mint of [`MINTS`] with a token account per holder (relayer, user, treasury) pushed to
/// `accounts`; the mint accounts themselves come last (their supply includes the pools').
fn fund_holders(
    wallets: &Wallets,
    accounts: &mut Vec<AccountFixture>,
) -> (Vec<HeldMint>, Vec<SolanaToken>) {
    let mut tokens = Vec::new();
    let mut mints = Vec::new();
    for (symbol, decimals, price) in MINTS {
        let mint = devnet_keypair(&format!("mint/{symbol}")).pubkey();
        // Balances in whole tokens, sized in USD like the EVM side.
        let per_holder = [
            (wallets.relayer, 5_000_000 / price),
            (wallets.user, 1_000_000 / price),
            (wallets.treasury, 1_000_000 / price),
        ];
        let mut supply = 0u64;
        for (owner, whole) in per_holder {
            let amount = ui_to_raw(whole, decimals);
            supply = supply.saturating_add(amount);
            accounts.push(token_account(
                get_associated_token_address(&owner, &mint),
                mint,
                owner,
                amount,
            ));
        }
        mints.push(HeldMint {
            symbol,
            mint,
            decimals,
            price,
            holders_supply: supply,
        });
        tokens.push(SolanaToken {
            symbol: symbol.to_string(),
            mint: mint.to_string(),
            decimals,
            price_usd: price,
            vault: get_associated_token_address(&wallets.relayer, &mint).to_string(),
            user_account: get_associated_token_address(&wallets.user, &mint).to_string(),
        });
    }
    (mints, tokens)
}

/// Orca Whirlpool WETH/USDC, tick spacing 64, 0.30% fee: mint_a is the smaller key. Pushes
/// the pool and its two vaults.
fn whirlpool_weth_usdc(
    weth: MintInfo,
    usdc: MintInfo,
    now_unix: u64,
    fixtures: &mut Fixtures,
) -> SolanaPool {
    let (a, b) = if weth.0 < usdc.0 {
        (weth, usdc)
    } else {
        (usdc, weth)
    };
    let depth_usd = 4_000_000u64;
    let amount_a = ui_to_raw(depth_usd / 2 / a.2, a.1);
    let amount_b = ui_to_raw(depth_usd / 2 / b.2, b.1);
    // price = raw b per raw a; Q64.64 square root.
    let price = (a.2 as f64 / b.2 as f64) * 10f64.powi(i32::from(b.1) - i32::from(a.1));
    let sqrt_price = price.sqrt();
    let config = devnet_keypair("whirlpools-config").pubkey();
    let vault_a = devnet_keypair("whirlpool/vault-a").pubkey();
    let vault_b = devnet_keypair("whirlpool/vault-b").pubkey();
    let spec = WhirlpoolSpec {
        config,
        mint_a: a.0,
        mint_b: b.0,
        vault_a,
        vault_b,
        tick_spacing: 64,
        fee_rate: 3000,
        protocol_fee_rate: 1300,
        liquidity: (amount_b as f64 / sqrt_price) as u128,
        sqrt_price_x64: (sqrt_price * 2f64.powi(64)) as u128,
        tick_current_index: (price.ln() / 1.0001f64.ln()).floor() as i32,
        fee_growth_global_a: 1u128 << 60,
        fee_growth_global_b: 3u128 << 58,
        reward_last_updated_timestamp: now_unix,
    };
    let (address, _) = spec.address();
    let accounts = &mut fixtures.accounts;
    accounts.push(AccountFixture::program_owned(
        address,
        WHIRLPOOL_PROGRAM,
        spec.encode(),
    ));
    accounts.push(token_account(vault_a, a.0, address, amount_a));
    accounts.push(token_account(vault_b, b.0, address, amount_b));
    fixtures
        .pool_supply
        .extend([(a.0, amount_a), (b.0, amount_b)]);
    SolanaPool {
        protocol: "orca_whirlpool".into(),
        address: address.to_string(),
        mint_a: a.0.to_string(),
        mint_b: b.0.to_string(),
        vault_a: vault_a.to_string(),
        vault_b: vault_b.to_string(),
        config: config.to_string(),
    }
}

/// Raydium CPMM USDC/USDT, 0.25% trade fee; protocol and fund fees accrued in the vaults.
/// Pushes its config, the pool, its two vaults and its LP mint.
fn cpmm_usdc_usdt(
    usdc: MintInfo,
    usdt: MintInfo,
    now_unix: u64,
    fixtures: &mut Fixtures,
) -> SolanaPool {
    let (m0, m1) = if usdc.0 < usdt.0 {
        (usdc, usdt)
    } else {
        (usdt, usdc)
    };
    let spec = CpmmSpec {
        config_index: 0,
        mint_0: m0.0,
        mint_1: m1.0,
        decimals_0: m0.1,
        decimals_1: m1.1,
        lp_supply: ui_to_raw(1_000_000, 9),
        protocol_fees: (ui_to_raw(120, m0.1), ui_to_raw(95, m1.1)),
        fund_fees: (ui_to_raw(40, m0.1), ui_to_raw(31, m1.1)),
        creator: devnet_keypair("mint-authority").pubkey(),
        open_time: now_unix.saturating_sub(86_400),
        trade_fee_rate: 2500,
        protocol_fee_rate: 120_000,
        fund_fee_rate: 40_000,
    };
    let a = spec.addresses();
    let reserve = |m: MintInfo| ui_to_raw(1_000_000, m.1);
    let vault_0_amount = reserve(m0)
        .saturating_add(spec.protocol_fees.0)
        .saturating_add(spec.fund_fees.0);
    let vault_1_amount = reserve(m1)
        .saturating_add(spec.protocol_fees.1)
        .saturating_add(spec.fund_fees.1);
    let accounts = &mut fixtures.accounts;
    accounts.push(AccountFixture::program_owned(
        a.config,
        CPMM_PROGRAM,
        spec.encode_config(),
    ));
    accounts.push(AccountFixture::program_owned(
        a.pool,
        CPMM_PROGRAM,
        spec.encode_pool(),
    ));
    accounts.push(token_account(
        a.vault_0,
        m0.0,
        a.authority.0,
        vault_0_amount,
    ));
    accounts.push(token_account(
        a.vault_1,
        m1.0,
        a.authority.0,
        vault_1_amount,
    ));
    accounts.push(mint_account(a.lp_mint, a.authority.0, spec.lp_supply, 9));
    fixtures
        .pool_supply
        .extend([(m0.0, vault_0_amount), (m1.0, vault_1_amount)]);
    SolanaPool {
        protocol: "raydium_cpmm".into(),
        address: a.pool.to_string(),
        mint_a: m0.0.to_string(),
        mint_b: m1.0.to_string(),
        vault_a: a.vault_0.to_string(),
        vault_b: a.vault_1.to_string(),
        config: a.config.to_string(),
    }
}

/// Writes one JSON file per account and returns the validator's `--account` arguments.
pub fn write_account_files(
    dir: &Path,
    accounts: &[AccountFixture],
) -> Result<Vec<String>, DevnetError> {
    let folder = dir.join("solana-accounts");
    std::fs::create_dir_all(&folder).map_err(DevnetError::io(&folder))?;
    let mut args = Vec::with_capacity(accounts.len() * 3);
    for a in accounts {
        let path = folder.join(format!("{}.json", a.pubkey));
        std::fs::write(&path, a.to_json().to_string()).map_err(DevnetError::io(&path))?;
        args.extend([
            "--account".to_string(),
            a.pubkey.to_string(),
            path.display().to_string(),
        ]);
    }
    Ok(args)
}

/// Ports solana-test-validator binds, all on loopback.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ValidatorPorts {
    /// JSON-RPC; the WebSocket endpoint is the next port.
    pub rpc: u16,
    pub faucet: u16,
    pub gossip: u16,
    pub dynamic_start: u16,
    pub dynamic_len: u16,
}

pub fn validator_args(dir: &Path, ports: ValidatorPorts, account_args: Vec<String>) -> Vec<String> {
    let ledger: PathBuf = dir.join("solana-ledger");
    let mut args: Vec<String> = [
        "--ledger",
        &ledger.display().to_string(),
        "--reset",
        "--quiet",
        "--bind-address",
        "127.0.0.1",
        "--rpc-port",
        &ports.rpc.to_string(),
        "--faucet-port",
        &ports.faucet.to_string(),
        "--gossip-port",
        &ports.gossip.to_string(),
        "--dynamic-port-range",
        &format!(
            "{}-{}",
            ports.dynamic_start,
            ports
                .dynamic_start
                .saturating_add(ports.dynamic_len)
                .saturating_sub(1)
        ),
        "--limit-ledger-size",
        "50000000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(account_args);
    args
}

/// Waits until the validator answers and has produced a slot.
pub async fn wait_ready(rpc_url: &str, timeout: Duration) -> Result<(), String> {
    let client = RpcClient::new(rpc_url.to_string());
    let deadline = Instant::now() + timeout;
    loop {
        match client.get_slot().await {
            Ok(slot) if slot > 0 => return Ok(()),
            Ok(_) | Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Ok(_) => return Err("validator answers but produced no slot".into()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Writes a keypair in the Solana CLI's JSON format (an array of 64 bytes), readable only by
/// the owner.
pub fn write_keypair(path: &Path, keypair: &Keypair) -> Result<(), DevnetError> {
    let text = serde_json::to_string(&keypair.to_bytes().to_vec())
        .map_err(|e| DevnetError::Config(e.to_string()))?;
    crate::write_secret(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_have_the_programs_sizes_and_discriminators() {
        let (accounts, deployment) = build_accounts("http://127.0.0.1:1", 1_700_000_000);
        let whirlpool: Pubkey = deployment.pools[0].address.parse().unwrap();
        let w = accounts.iter().find(|a| a.pubkey == whirlpool).unwrap();
        assert_eq!((w.owner, w.data.len()), (WHIRLPOOL_PROGRAM, WHIRLPOOL_LEN));
        assert_eq!(w.data[..8], WHIRLPOOL_DISCRIMINATOR);
        let cpmm: Pubkey = deployment.pools[1].address.parse().unwrap();
        let c = accounts.iter().find(|a| a.pubkey == cpmm).unwrap();
        assert_eq!((c.owner, c.data.len()), (CPMM_PROGRAM, CPMM_POOL_LEN));
        // Whirlpool mints are ordered, as Orca requires.
        assert!(
            deployment.pools[0].mint_a < deployment.pools[0].mint_b || {
                let a: Pubkey = deployment.pools[0].mint_a.parse().unwrap();
                let b: Pubkey = deployment.pools[0].mint_b.parse().unwrap();
                a < b
            }
        );
        // Every pubkey appears once.
        let mut keys: Vec<_> = accounts.iter().map(|a| a.pubkey).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), accounts.len());
    }

    #[test]
    fn mint_supply_equals_the_sum_of_its_token_accounts() {
        let (accounts, deployment) = build_accounts("http://127.0.0.1:1", 0);
        for t in &deployment.tokens {
            let mint: Pubkey = t.mint.parse().unwrap();
            let m = accounts.iter().find(|a| a.pubkey == mint).unwrap();
            let supply = Mint::unpack(&m.data).unwrap().supply;
            let held: u64 = accounts
                .iter()
                .filter(|a| {
                    a.owner == spl_token_interface::id() && a.data.len() == TokenAccount::LEN
                })
                .filter_map(|a| TokenAccount::unpack(&a.data).ok())
                .filter(|acc| acc.mint == mint)
                .map(|acc| acc.amount)
                .sum();
            assert_eq!(supply, held, "{}", t.symbol);
        }
    }
}
