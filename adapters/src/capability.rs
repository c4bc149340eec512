//! Capabilities every chain adapter offers, one trait each, so code above the adapters (the
//! relayer's finality gate, start-up checks, retries, audit and profit checks, the treasury,
//! the API's head pollers and gas prices, the indexers' progress) is written once for EVM and
//! Solana. [`connect`] builds a chain's [`Chain`] from its settings: the one place that looks
//! at the chain's kind, as Hyperlane's agents build their chain objects from `ChainConf` in one
//! place. What a chain needs of its settings to answer (its vault, fee model, relayer key,
//! priority fee) it takes then, so callers ask without passing the settings again.
//!
//! The traits are object-safe (`async_trait` boxes their futures), so callers hold
//! `Arc<dyn Chain>` built once; a call costs one allocation, nothing beside the RPC it makes.

use std::sync::Arc;

use alloy::primitives::{B256, Bytes};
use async_trait::async_trait;
use atoll_core::settings::ChainSettings;
use atoll_core::{Address, ChainKind, SecretRef, TransferId, U256};
use solana_commitment_config::CommitmentConfig;

use crate::AdapterError;
use crate::evm::releases::{GasFees, SendOutcome, SignedReleaseTx};
use crate::evm::{EvmChain, RetryPolicy};
use crate::solana::SolanaChain;

pub use crate::deposit_stream;

/// Everything the code above the adapters asks of any chain.
pub trait Chain:
    Heights
    + SourceInclusion
    + Keys
    + TokenFacts
    + Holdings
    + Fees
    + ReleaseLookup
    + ReleasePayees
    + VaultAudit
{
    /// The chain's configured name.
    fn name(&self) -> &str;

    /// Moving the treasury's capital into the bridge from this chain: `None` where that is not
    /// built yet (Solana).
    fn treasury_deposits(&self) -> Option<&dyn TreasuryDeposits>;
}

/// The chain `settings` describes, ready to be asked. Connects lazily: nothing is sent until a
/// method is called.
pub fn connect(
    settings: &ChainSettings,
    retry: RetryPolicy,
) -> Result<Arc<dyn Chain>, AdapterError> {
    Ok(match settings.kind {
        ChainKind::Evm => Arc::new(EvmChain::new(settings, retry)?),
        ChainKind::Solana => Arc::new(SolanaChain::new(settings, retry)?),
    })
}

impl Chain for EvmChain {
    fn name(&self) -> &str {
        &self.name
    }

    fn treasury_deposits(&self) -> Option<&dyn TreasuryDeposits> {
        Some(self)
    }
}

impl Chain for SolanaChain {
    fn name(&self) -> &str {
        &self.name
    }

    fn treasury_deposits(&self) -> Option<&dyn TreasuryDeposits> {
        None
    }
}

impl EvmChain {
    fn foreign(&self, address: &Address) -> AdapterError {
        AdapterError::ForeignAddress {
            chain: self.name.clone(),
            address: address.to_string(),
        }
    }
}

impl SolanaChain {
    fn foreign(&self, address: &Address) -> AdapterError {
        AdapterError::ForeignAddress {
            chain: self.name.clone(),
            address: address.to_string(),
        }
    }
}

fn evm_of(a: &Address) -> Option<alloy::primitives::Address> {
    crate::evm::discovery::evm_address(a)
}

fn pubkey_of(a: &Address) -> Option<solana_sdk::pubkey::Pubkey> {
    match a {
        Address::Solana(b) => Some(solana_sdk::pubkey::Pubkey::new_from_array(*b)),
        Address::Evm(_) => None,
    }
}

/// Which account a configured key signs as on this chain.
pub trait Keys: Send + Sync {
    /// The address `key` controls here (an EVM account, a Solana public key). Loading the
    /// key is the only work; nothing is sent.
    fn address_of(&self, key: &SecretRef) -> Result<Address, AdapterError>;
}

impl Keys for EvmChain {
    fn address_of(&self, key: &SecretRef) -> Result<Address, AdapterError> {
        let signer = crate::secrets::evm_signer(key)?;
        Ok(Address::Evm(signer.address().into_array()))
    }
}

impl Keys for SolanaChain {
    fn address_of(&self, key: &SecretRef) -> Result<Address, AdapterError> {
        use solana_sdk::signer::Signer;
        let kp = crate::secrets::solana_keypair(key)?;
        Ok(Address::Solana(kp.pubkey().to_bytes()))
    }
}

/// What a chain says of its tokens.
#[async_trait]
pub trait TokenFacts: Send + Sync {
    /// Each token's decimals as the chain reports them: `None` for a token that did not answer
    /// or is no token here (an address of another chain's kind among them). An error only
    /// when the chain itself does not answer.
    async fn decimals(&self, tokens: &[Address]) -> Result<Vec<Option<u8>>, AdapterError>;

    /// What the bridge's vault holds of each token, raw units, at the chain's tip. A token
    /// is `(token, its own vault account)`: EVM keeps every token in the one `vault` contract,
    /// Solana each in the token's own vault account. `None` for a token not held in a vault
    /// here; `Some(Err(why))` for one whose vault cannot be read (a missing account).
    async fn vault_balances(
        &self,
        vault: Option<&Address>,
        tokens: &[(Address, Option<Address>)],
    ) -> Result<Vec<Option<Result<U256, String>>>, AdapterError>;
}

#[async_trait]
impl TokenFacts for EvmChain {
    async fn decimals(&self, tokens: &[Address]) -> Result<Vec<Option<u8>>, AdapterError> {
        // The chain answers at all, or nothing is known.
        self.head().await?;
        let mut out = Vec::with_capacity(tokens.len());
        for address in tokens {
            out.push(match address {
                Address::Evm(a) => self
                    .token_decimals(alloy::primitives::Address::from(*a))
                    .await
                    .ok(),
                Address::Solana(_) => None,
            });
        }
        Ok(out)
    }

    async fn vault_balances(
        &self,
        vault: Option<&Address>,
        tokens: &[(Address, Option<Address>)],
    ) -> Result<Vec<Option<Result<U256, String>>>, AdapterError> {
        let Some(vault) = vault.and_then(crate::evm::discovery::evm_address) else {
            return Ok(vec![None; tokens.len()]);
        };
        let head = self.head().await?.number;
        let held: Vec<Option<alloy::primitives::Address>> = tokens
            .iter()
            .map(|(token, _)| crate::evm::discovery::evm_address(token))
            .collect();
        let pairs: Vec<_> = held.iter().flatten().map(|a| (*a, vault)).collect();
        let mut raws = self.balances(&pairs, head).await?.into_iter();
        Ok(held
            .iter()
            .map(|token| token.and_then(|_| raws.next().map(Ok)))
            .collect())
    }
}

impl SolanaChain {
    /// The accounts of `keys` in one read (at `confirmed`), aligned with them: `None` where no
    /// key was given or no account exists.
    async fn accounts_aligned(
        &self,
        keys: &[Option<solana_sdk::pubkey::Pubkey>],
    ) -> Result<Vec<Option<solana_sdk::account::Account>>, AdapterError> {
        let present: Vec<_> = keys.iter().flatten().copied().collect();
        let mut read = self
            .accounts(&present, CommitmentConfig::confirmed())
            .await?
            .into_iter();
        Ok(keys
            .iter()
            .map(|key| key.and_then(|_| read.next().flatten()))
            .collect())
    }
}

#[async_trait]
impl TokenFacts for SolanaChain {
    async fn decimals(&self, tokens: &[Address]) -> Result<Vec<Option<u8>>, AdapterError> {
        let mints: Vec<Option<solana_sdk::pubkey::Pubkey>> = tokens
            .iter()
            .map(|a| match a {
                Address::Solana(m) => Some(solana_sdk::pubkey::Pubkey::new_from_array(*m)),
                Address::Evm(_) => None,
            })
            .collect();
        let accounts = self.accounts_aligned(&mints).await?;
        Ok(mints
            .iter()
            .zip(accounts)
            .map(|(mint, account)| {
                let (mint, account) = ((*mint)?, account?);
                crate::solana::accounts::decode_mint_decimals(&mint, &account.owner, &account.data)
                    .ok()
            })
            .collect())
    }

    async fn vault_balances(
        &self,
        _vault: Option<&Address>,
        tokens: &[(Address, Option<Address>)],
    ) -> Result<Vec<Option<Result<U256, String>>>, AdapterError> {
        let vaults: Vec<Option<solana_sdk::pubkey::Pubkey>> = tokens
            .iter()
            .map(|(_, vault)| match vault {
                Some(Address::Solana(b)) => Some(solana_sdk::pubkey::Pubkey::new_from_array(*b)),
                _ => None,
            })
            .collect();
        let accounts = self.accounts_aligned(&vaults).await?;
        Ok(vaults
            .iter()
            .zip(accounts)
            .map(|(vault, account)| {
                let key = (*vault)?;
                Some(match account {
                    None => Err(format!("vault account {key} missing")),
                    Some(a) => {
                        crate::solana::accounts::decode_token_account(&key, &a.owner, &a.data)
                            .map(|t| U256::from(t.amount))
                            .map_err(|e| e.to_string())
                    }
                })
            })
            .collect())
    }
}

/// Where a chain's tip is and what on it is final: block numbers on EVM, slots on Solana.
#[async_trait]
pub trait Heights: Send + Sync {
    /// The newest height the node has (EVM `latest`; Solana `confirmed`).
    async fn tip(&self) -> Result<u64, AdapterError>;
    /// The newest height that cannot be rolled back (EVM: the `finalized` tag or head minus
    /// the configured confirmations; Solana: the `finalized` commitment).
    async fn finalized_height(&self) -> Result<u64, AdapterError>;
}

#[async_trait]
impl Heights for EvmChain {
    async fn tip(&self) -> Result<u64, AdapterError> {
        Ok(self.head().await?.number)
    }

    async fn finalized_height(&self) -> Result<u64, AdapterError> {
        Ok(self.finalized().await?.number)
    }
}

#[async_trait]
impl Heights for SolanaChain {
    async fn tip(&self) -> Result<u64, AdapterError> {
        self.slot(CommitmentConfig::confirmed()).await
    }

    async fn finalized_height(&self) -> Result<u64, AdapterError> {
        self.slot(CommitmentConfig::finalized()).await
    }
}

/// Where a deposit's source transaction stands on its chain now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inclusion {
    /// Unknown to the node, or failed: no deposit (yet, or any more).
    Missing,
    /// Succeeded at `height` (block or slot); `finalized` when it cannot be rolled back.
    At { height: u64, finalized: bool },
}

/// Finds a source transaction on its chain: what the relayer checks before it trusts a deposit
/// the indexer recorded (the indexer may lag a reorg).
#[async_trait]
pub trait SourceInclusion: Send + Sync {
    /// `tx`: a transaction hash (EVM) or signature (Solana), as stored.
    async fn inclusion(&self, tx: &str) -> Result<Inclusion, AdapterError>;

    /// [`SourceInclusion::inclusion`], with `finalized` judged against `finalized_height`, read
    /// once by a caller looking up many transactions: one request per transaction instead of
    /// two on EVM chains. A height read earlier is lower, so a transaction can only look less
    /// final than it is, never more.
    async fn inclusion_against(
        &self,
        tx: &str,
        finalized_height: u64,
    ) -> Result<Inclusion, AdapterError>;
}

impl EvmChain {
    /// The block a successful transaction is in; `None` when unknown, pending or failed.
    async fn succeeded_at(&self, tx: &str) -> Result<Option<u64>, AdapterError> {
        let hash: alloy::primitives::B256 = tx.parse().map_err(|_| AdapterError::RpcRejected {
            chain: self.name.clone(),
            method: "eth_getTransactionReceipt",
            endpoint: String::new(),
            reason: format!("{tx:?} is not a transaction hash"),
        })?;
        let receipt = self
            .rpc
            .call("eth_getTransactionReceipt", move |p| async move {
                alloy::providers::Provider::get_transaction_receipt(&p, hash).await
            })
            .await?;
        Ok(receipt.filter(|r| r.status()).and_then(|r| r.block_number))
    }
}

#[async_trait]
impl SourceInclusion for EvmChain {
    async fn inclusion(&self, tx: &str) -> Result<Inclusion, AdapterError> {
        let Some(height) = self.succeeded_at(tx).await? else {
            return Ok(Inclusion::Missing);
        };
        let finalized = self.finalized().await?.number >= height;
        Ok(Inclusion::At { height, finalized })
    }

    async fn inclusion_against(
        &self,
        tx: &str,
        finalized_height: u64,
    ) -> Result<Inclusion, AdapterError> {
        Ok(match self.succeeded_at(tx).await? {
            Some(height) => Inclusion::At {
                height,
                finalized: height <= finalized_height,
            },
            None => Inclusion::Missing,
        })
    }
}

#[async_trait]
impl SourceInclusion for SolanaChain {
    async fn inclusion(&self, tx: &str) -> Result<Inclusion, AdapterError> {
        let sig: solana_sdk::signature::Signature =
            tx.parse().map_err(|_| AdapterError::RpcRejected {
                chain: self.name.clone(),
                method: "getSignatureStatuses",
                endpoint: String::new(),
                reason: format!("{tx:?} is not a signature"),
            })?;
        let statuses = self
            .call("getSignatureStatuses", |c| async move {
                c.rpc().get_signature_statuses_with_history(&[sig]).await
            })
            .await?;
        match statuses.value.into_iter().next().flatten() {
            Some(s) if s.err.is_none() => Ok(Inclusion::At {
                height: s.slot,
                finalized: s.satisfies_commitment(CommitmentConfig::finalized()),
            }),
            _ => Ok(Inclusion::Missing),
        }
    }

    /// The signature's own status says whether it is finalized: no extra request to save.
    async fn inclusion_against(
        &self,
        tx: &str,
        _finalized_height: u64,
    ) -> Result<Inclusion, AdapterError> {
        self.inclusion(tx).await
    }
}

/// What an account holds on a chain, read at one height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Per token asked, raw units: zero for one it holds no account of (or of another chain's
    /// kind).
    pub tokens: Vec<U256>,
    /// Per pool asked, `(LP tokens held, total supply)`; `None` for a pool not read.
    pub pools: Vec<Option<(U256, U256)>>,
}

/// What an account (the treasury's) holds: token balances and pool shares.
#[async_trait]
pub trait Holdings: Send + Sync {
    /// `owner`'s balance of each of `tokens` and its share of each V2-style pair in `pools`.
    /// EVM reads both at the head (`balanceOf`, the pair's `balanceOf` and `totalSupply`);
    /// Solana reads the owner's associated token accounts (Token program) at `confirmed`, and
    /// no pool positions yet: every pool `None`. An `owner` of another chain's kind is
    /// [`AdapterError::ForeignAddress`].
    async fn holdings(
        &self,
        owner: &Address,
        tokens: &[Address],
        pools: &[Address],
    ) -> Result<Held, AdapterError>;
}

#[async_trait]
impl Holdings for EvmChain {
    async fn holdings(
        &self,
        owner: &Address,
        tokens: &[Address],
        pools: &[Address],
    ) -> Result<Held, AdapterError> {
        let holder = evm_of(owner).ok_or_else(|| self.foreign(owner))?;
        let head = self.head().await?.number;
        let pairs: Vec<Option<alloy::primitives::Address>> = pools.iter().map(evm_of).collect();
        let asked: Vec<_> = pairs.iter().flatten().copied().collect();
        let mut shares = self.lp_shares(&asked, holder, head).await?.into_iter();
        let pools = pairs
            .iter()
            .map(|pair| pair.and_then(|_| shares.next().flatten()))
            .collect();
        let held: Vec<Option<alloy::primitives::Address>> = tokens.iter().map(evm_of).collect();
        let asked: Vec<_> = held.iter().flatten().map(|t| (*t, holder)).collect();
        let mut raws = self.balances(&asked, head).await?.into_iter();
        let tokens = held
            .iter()
            .map(|token| token.and_then(|_| raws.next()).unwrap_or(U256::ZERO))
            .collect();
        Ok(Held { tokens, pools })
    }
}

#[async_trait]
impl Holdings for SolanaChain {
    async fn holdings(
        &self,
        owner: &Address,
        tokens: &[Address],
        pools: &[Address],
    ) -> Result<Held, AdapterError> {
        let owner = pubkey_of(owner).ok_or_else(|| self.foreign(owner))?;
        let accounts: Vec<Option<solana_sdk::pubkey::Pubkey>> = tokens
            .iter()
            .map(|t| {
                pubkey_of(t)
                    .map(|mint| crate::solana::releases::associated_token_account(&owner, &mint))
            })
            .collect();
        let read = self.accounts_aligned(&accounts).await?;
        let tokens = accounts
            .iter()
            .zip(read)
            .map(|(key, account)| {
                let (key, account) = ((*key)?, account?);
                crate::solana::accounts::decode_token_account(&key, &account.owner, &account.data)
                    .ok()
                    .map(|t| U256::from(t.amount))
            })
            .map(|raw| raw.unwrap_or(U256::ZERO))
            .collect();
        Ok(Held {
            tokens,
            pools: vec![None; pools.len()],
        })
    }
}

/// What one release costs on a chain, in the native token's smallest unit (wei, lamports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeCost {
    /// Per unit of gas; 0 where a release pays per transaction instead (Solana).
    pub price: u128,
    /// Gas units one release takes.
    pub gas: u64,
    /// Paid beside gas (Solana: signature fee, claim rent and priority fee).
    pub fixed: u128,
    /// Decimals of the native unit (18 on EVM, 9 on Solana).
    pub decimals: u8,
}

/// What transactions cost on a chain now.
#[async_trait]
pub trait Fees: Send + Sync {
    /// What a transaction pays per unit of gas now, in the native token's smallest unit: on EVM
    /// the EIP-1559 max fee or the gas price, as the chain's `fee_model` says. `None` where
    /// fees are not priced per gas (Solana); nothing is asked of the chain then.
    async fn gas_price_ceiling(&self) -> Result<Option<u128>, AdapterError>;

    /// What one release costs now. `gas`: what one takes where gas is priced per unit (on EVM
    /// its share of its batch, the relayer's figure), at `eth_gasPrice`. Solana ignores it and
    /// charges [`SIGNATURE_LAMPORTS`](crate::solana::releases::SIGNATURE_LAMPORTS), the claim
    /// account's rent as the cluster states it, and the configured priority fee on
    /// [`RELEASE_COMPUTE_UNITS`](crate::solana::releases::RELEASE_COMPUTE_UNITS) (the
    /// recipient's token account, when the relayer has to create it, is left out: most
    /// recipients hold one).
    async fn release_cost(&self, gas: u64) -> Result<NativeCost, AdapterError>;
}

#[async_trait]
impl Fees for EvmChain {
    async fn gas_price_ceiling(&self) -> Result<Option<u128>, AdapterError> {
        Ok(Some(self.fee_estimate(self.eip1559).await?.ceiling()))
    }

    async fn release_cost(&self, gas: u64) -> Result<NativeCost, AdapterError> {
        Ok(NativeCost {
            price: self.gas_price().await?,
            gas,
            fixed: 0,
            decimals: 18,
        })
    }
}

#[async_trait]
impl Fees for SolanaChain {
    async fn gas_price_ceiling(&self) -> Result<Option<u128>, AdapterError> {
        Ok(None)
    }

    async fn release_cost(&self, _gas: u64) -> Result<NativeCost, AdapterError> {
        use crate::solana::releases::{RELEASE_COMPUTE_UNITS, SIGNATURE_LAMPORTS};
        let rent = u128::from(self.claim_lamports().await?);
        Ok(NativeCost {
            price: 0,
            gas: 0,
            // Compute units of a release at the configured priority price (micro-lamports).
            fixed: SIGNATURE_LAMPORTS
                + rent
                + u128::from(self.priority_fee_micro_lamports) * u128::from(RELEASE_COMPUTE_UNITS)
                    / 1_000_000,
            decimals: 9,
        })
    }
}

/// Whether a transfer was released on its destination: what an operator's retry of a stuck
/// transfer checks before it signs again.
#[async_trait]
pub trait ReleaseLookup: Send + Sync {
    /// Whether this chain shows a release of `id` now: EVM the vault's `processed(id)` at
    /// `latest`; Solana the transfer's claim account at `confirmed` (no answer for it counts as
    /// released). `None` when nothing configured here can tell: no `bridge_vault` (EVM), no
    /// `relayer_key` (Solana).
    async fn released(&self, id: TransferId) -> Result<Option<bool>, AdapterError>;
}

#[async_trait]
impl ReleaseLookup for EvmChain {
    async fn released(&self, id: TransferId) -> Result<Option<bool>, AdapterError> {
        let Some(vault) = self.bridge_vault else {
            return Ok(None);
        };
        let paid = self
            .processed(
                vault,
                B256::from(id.0),
                alloy::eips::BlockNumberOrTag::Latest,
            )
            .await?;
        Ok(Some(paid))
    }
}

#[async_trait]
impl ReleaseLookup for SolanaChain {
    async fn released(&self, id: TransferId) -> Result<Option<bool>, AdapterError> {
        use solana_sdk::signer::Signer;
        let Some(key) = &self.relayer_key else {
            return Ok(None);
        };
        let relayer = crate::secrets::solana_keypair(key)?.pubkey();
        let claimed = self
            .claimed(&relayer, &[id], CommitmentConfig::confirmed(), None)
            .await?;
        Ok(Some(claimed.first().copied().unwrap_or(true)))
    }
}

/// Which accounts a release pays, where they are not the recipient itself.
pub trait ReleasePayees: Send + Sync {
    /// The accounts a release of `token` to `recipient` (both as the transfer and the chain
    /// write them) may have paid, lowercase: on Solana the recipient's associated token
    /// accounts under the Token and Token-2022 programs. `None` where the recipient itself is
    /// paid (EVM), or when either does not parse. Derived, nothing is asked of the chain.
    fn paid_accounts(&self, recipient: &str, token: &str) -> Option<Vec<String>>;
}

impl ReleasePayees for EvmChain {
    fn paid_accounts(&self, _recipient: &str, _token: &str) -> Option<Vec<String>> {
        None
    }
}

impl ReleasePayees for SolanaChain {
    fn paid_accounts(&self, recipient: &str, token: &str) -> Option<Vec<String>> {
        use crate::solana::accounts::{TOKEN_2022_PROGRAM, TOKEN_PROGRAM};
        let owner = recipient.parse::<solana_sdk::pubkey::Pubkey>().ok()?;
        let mint = token.parse::<solana_sdk::pubkey::Pubkey>().ok()?;
        Some(
            [TOKEN_PROGRAM, TOKEN_2022_PROGRAM]
                .iter()
                .map(|program| {
                    crate::solana::releases::associated_token_account_of(&owner, &mint, program)
                        .to_string()
                        .to_lowercase()
                })
                .collect(),
        )
    }
}

/// A token whose vault the audit reads: the `[[tokens]]` symbol, its address on this chain
/// and its own vault account (Solana; EVM keeps every token in the chain's one vault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultToken {
    pub symbol: String,
    pub token: Address,
    pub account: Option<Address>,
}

/// What of a vault's history to read.
#[derive(Debug, Clone, Copy)]
pub struct HistoryScope<'a> {
    pub tokens: &'a [VaultToken],
    /// Where the history begins (EVM: the chain's `start_block`; Solana reads every
    /// transaction of each vault account).
    pub from_height: u64,
    /// `eth_getLogs` ranges as the indexer's settings bound them (EVM).
    pub log_window_blocks: u64,
    pub max_batch_blocks: u64,
}

/// A deposit into a vault as the chain shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultDeposit {
    pub id: TransferId,
    pub tx: String,
    /// Block (EVM) or slot (Solana).
    pub height: u64,
    pub token: String,
    pub amount: U256,
}

/// A release out of a vault as the chain shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultRelease {
    pub id: TransferId,
    pub tx: String,
    pub token: String,
    /// As the chain writes it: an EVM address; on Solana the token account paid.
    pub recipient: String,
    pub amount: U256,
}

/// What moved through a vault of one token, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFlows {
    /// The `[[tokens]]` symbol; a token moved through the vault but not configured is named by
    /// its address.
    pub symbol: String,
    /// Raw units at [`VaultHistory::height`]; `Err` says why the vault account is unreadable.
    pub balance: Result<U256, String>,
    pub deposited: U256,
    pub released: U256,
    pub added: U256,
    pub withdrawn: U256,
    /// Whether every movement of the balance is one of the above (EVM vault events); a Solana
    /// vault account can be funded without a transaction of ours.
    pub every_movement_is_an_event: bool,
}

/// A vault's whole history, as `atoll audit` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultHistory {
    /// Where it was read up to (EVM: the head; Solana: the finalized slot when reading began).
    pub height: u64,
    /// The indexer's checkpoint streams whose progress bounds which of these deposits the
    /// database can hold ([`deposit_stream`] of the vault, or of each vault token account on
    /// Solana).
    pub deposit_streams: Vec<String>,
    pub deposits: Vec<VaultDeposit>,
    pub releases: Vec<VaultRelease>,
    pub tokens: Vec<TokenFlows>,
}

/// Reads the bridge's vaults on a chain from the chain itself, for the audit.
#[async_trait]
pub trait VaultAudit: Send + Sync {
    /// EVM: the `BridgeVault`'s `TransferInitiated`, `TransferReleased`, `LiquidityAdded` and
    /// `LiquidityWithdrawn` logs from `scope.from_height` to the head, and its balance of every
    /// token at that head (`None` without a `bridge_vault`). Solana: every finalized
    /// transaction of each token's vault account, its transfers in (deposits, with their
    /// memos) and out (releases, named by their `atoll:v1:release=<id>` memo, and
    /// withdrawals), and its balance.
    async fn vault_history(
        &self,
        scope: &HistoryScope<'_>,
    ) -> Result<Option<VaultHistory>, AdapterError>;
}

#[async_trait]
impl VaultAudit for EvmChain {
    async fn vault_history(
        &self,
        scope: &HistoryScope<'_>,
    ) -> Result<Option<VaultHistory>, AdapterError> {
        self.read_vault_history(scope).await
    }
}

#[async_trait]
impl VaultAudit for SolanaChain {
    async fn vault_history(
        &self,
        scope: &HistoryScope<'_>,
    ) -> Result<Option<VaultHistory>, AdapterError> {
        let finalized = CommitmentConfig::finalized();
        // Deposits are recorded at `confirmed` and read here at `finalized`: only what is both
        // indexed and finalized is judged.
        let mut history = VaultHistory {
            height: self.slot(finalized).await?,
            deposit_streams: Vec::new(),
            deposits: Vec::new(),
            releases: Vec::new(),
            tokens: Vec::new(),
        };
        for t in scope.tokens {
            let Some(vault) = t.account.as_ref().and_then(pubkey_of) else {
                continue;
            };
            let flows = self.vault_flows(&vault, finalized).await?;
            let mut book = TokenFlows {
                symbol: t.symbol.clone(),
                balance: Ok(U256::ZERO),
                deposited: U256::ZERO,
                released: U256::ZERO,
                added: U256::ZERO,
                withdrawn: U256::ZERO,
                every_movement_is_an_event: false,
            };
            for i in &flows.inflows {
                book.deposited = book.deposited.saturating_add(U256::from(i.amount));
                history.deposits.push(VaultDeposit {
                    id: i.transfer_id,
                    tx: i.signature.to_string(),
                    height: i.slot,
                    token: i.mint.to_string(),
                    amount: U256::from(i.amount),
                });
            }
            for o in &flows.outflows {
                let Some(id) = o.released else {
                    book.withdrawn = book.withdrawn.saturating_add(U256::from(o.amount));
                    continue;
                };
                book.released = book.released.saturating_add(U256::from(o.amount));
                history.releases.push(VaultRelease {
                    id,
                    tx: o.signature.to_string(),
                    token: o.mint.to_string(),
                    recipient: o.destination.to_string(),
                    amount: U256::from(o.amount),
                });
            }
            book.balance = match self.accounts(&[vault], finalized).await?.pop().flatten() {
                Some(a) => crate::solana::accounts::decode_token_account(&vault, &a.owner, &a.data)
                    .map(|t| U256::from(t.amount))
                    .map_err(|e| format!("vault {vault}: {e}")),
                None => Ok(U256::ZERO),
            };
            history.tokens.push(book);
            history.deposit_streams.push(deposit_stream(&vault));
        }
        Ok(Some(history))
    }
}

/// A treasury deposit into the bridge's vault, bound for `dst_chain_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreasuryDeposit {
    pub vault: Address,
    pub token: Address,
    pub amount: U256,
    pub dst_chain_id: u64,
    /// The recipient on the destination, as the deposit's `bytes32`.
    pub recipient: [u8; 32],
}

/// What a treasury deposit needs before it is signed: the nonce it takes and, when the vault
/// may not take the amount yet, the approval to send and see mined first (at the nonce before).
#[derive(Debug, Clone)]
pub struct DepositTurn {
    pub approval: Option<SignedReleaseTx>,
    /// The deposit's own nonce (after the approval's, when there is one).
    pub nonce: u64,
    fees: GasFees,
}

/// Moves the treasury's capital into the bridge: a deposit from the treasury's account into
/// the vault, signed offline so the caller stores it before sending it (exactly once). Where
/// this is built: see [`Chain::treasury_deposits`].
#[async_trait]
pub trait TreasuryDeposits: Send + Sync {
    /// What `owner` holds of `token` now, raw units.
    async fn token_balance(&self, token: &Address, owner: &Address) -> Result<U256, AdapterError>;

    /// Readies `key`'s deposit of `amount` of `token` into `vault`: the fees now, the next
    /// nonce, and an approval signed when the vault's allowance falls short.
    async fn prepare_deposit(
        &self,
        key: &SecretRef,
        token: &Address,
        vault: &Address,
        amount: U256,
    ) -> Result<DepositTurn, AdapterError>;

    /// Simulates the deposit as `key` (a revert, e.g. a token the vault does not accept, is
    /// `RpcRejected` with the node's reason), estimates its gas and signs it offline at
    /// `turn`'s nonce and fees.
    async fn sign_deposit(
        &self,
        key: &SecretRef,
        turn: &DepositTurn,
        deposit: &TreasuryDeposit,
    ) -> Result<SignedReleaseTx, AdapterError>;

    /// Sends signed bytes (again: the same transaction).
    async fn send(&self, raw: &Bytes) -> Result<SendOutcome, AdapterError>;

    /// Whether a mined transaction succeeded; `None` while it is not mined.
    async fn succeeded(&self, hash: B256) -> Result<Option<bool>, AdapterError>;
}

#[async_trait]
impl TreasuryDeposits for EvmChain {
    async fn token_balance(&self, token: &Address, owner: &Address) -> Result<U256, AdapterError> {
        let token = evm_of(token).ok_or_else(|| self.foreign(token))?;
        let owner = evm_of(owner).ok_or_else(|| self.foreign(owner))?;
        EvmChain::token_balance(self, token, owner).await
    }

    async fn prepare_deposit(
        &self,
        key: &SecretRef,
        token: &Address,
        vault: &Address,
        amount: U256,
    ) -> Result<DepositTurn, AdapterError> {
        let token = evm_of(token).ok_or_else(|| self.foreign(token))?;
        let vault = evm_of(vault).ok_or_else(|| self.foreign(vault))?;
        let signer = crate::secrets::evm_signer(key)?;
        let fees = self.fee_estimate(self.eip1559).await?;
        let mut nonce = self.mined_nonce(signer.address()).await?;
        let mut approval = None;
        if self.allowance(token, signer.address(), vault).await? < amount {
            approval = Some(
                self.sign_approve(&signer, token, vault, nonce, fees)
                    .await?,
            );
            nonce += 1;
        }
        Ok(DepositTurn {
            approval,
            nonce,
            fees,
        })
    }

    async fn sign_deposit(
        &self,
        key: &SecretRef,
        turn: &DepositTurn,
        deposit: &TreasuryDeposit,
    ) -> Result<SignedReleaseTx, AdapterError> {
        let signer = crate::secrets::evm_signer(key)?;
        let deposit = crate::evm::treasury::EvmDeposit {
            vault: evm_of(&deposit.vault).ok_or_else(|| self.foreign(&deposit.vault))?,
            token: evm_of(&deposit.token).ok_or_else(|| self.foreign(&deposit.token))?,
            amount: deposit.amount,
            dst_chain_id: deposit.dst_chain_id,
            recipient: B256::from(deposit.recipient),
        };
        EvmChain::sign_deposit(self, &signer, &deposit, turn.nonce, turn.fees).await
    }

    async fn send(&self, raw: &Bytes) -> Result<SendOutcome, AdapterError> {
        self.send_raw(raw).await
    }

    async fn succeeded(&self, hash: B256) -> Result<Option<bool>, AdapterError> {
        self.transaction_succeeded(hash).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two chains whose RPCs nothing listens on: what is asked of them below needs no RPC.
    const CONFIG: &str = r#"
[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:1"]

[[chains]]
name = "solana"
kind = "solana"
chain_id = 1151111081099710
rpc = ["http://127.0.0.1:1"]
"#;

    fn chains() -> (Arc<dyn Chain>, Arc<dyn Chain>) {
        let settings = atoll_core::settings::Settings::parse(
            CONFIG,
            Vec::<(String, String)>::new(),
            std::path::Path::new("/tmp"),
        )
        .unwrap();
        let quick = RetryPolicy {
            rounds: 1,
            ..Default::default()
        };
        let evm = connect(settings.chain("ethereum").unwrap(), quick).unwrap();
        let solana = connect(settings.chain("solana").unwrap(), quick).unwrap();
        (evm, solana)
    }

    #[test]
    fn treasury_deposits_are_built_on_evm_only() {
        let (evm, solana) = chains();
        assert!(evm.treasury_deposits().is_some());
        assert!(solana.treasury_deposits().is_none());
    }

    #[test]
    fn solana_releases_pay_the_recipients_token_accounts() {
        use crate::solana::accounts::{TOKEN_2022_PROGRAM, TOKEN_PROGRAM};
        let (evm, solana) = chains();
        let owner = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc";
        let mint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
        let expected: Vec<String> = [TOKEN_PROGRAM, TOKEN_2022_PROGRAM]
            .iter()
            .map(|program| {
                crate::solana::releases::associated_token_account_of(
                    &owner.parse().unwrap(),
                    &mint.parse().unwrap(),
                    program,
                )
                .to_string()
                .to_lowercase()
            })
            .collect();
        assert_eq!(solana.paid_accounts(owner, mint), Some(expected));
        // Something that is no key is no account either; EVM pays the recipient itself.
        assert_eq!(solana.paid_accounts("0xabc", mint), None);
        assert_eq!(evm.paid_accounts(owner, mint), None);
    }

    #[tokio::test]
    async fn what_nothing_configured_can_tell_is_none_without_asking() {
        let (evm, solana) = chains();
        let id = TransferId([7; 32]);
        // No bridge_vault, no relayer_key: nothing to look a release up with.
        assert_eq!(evm.released(id).await.unwrap(), None);
        assert_eq!(solana.released(id).await.unwrap(), None);
        // Solana prices no gas per unit.
        assert_eq!(solana.gas_price_ceiling().await.unwrap(), None);
        // An EVM chain without a vault has no vault history to audit.
        let scope = HistoryScope {
            tokens: &[],
            from_height: 0,
            log_window_blocks: 1_000,
            max_batch_blocks: 1_000,
        };
        assert_eq!(evm.vault_history(&scope).await.unwrap(), None);
    }
}
