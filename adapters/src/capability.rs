//! Capabilities every chain adapter offers, one trait each, so code above the adapters (the
//! relayer's finality gate and start-up checks, the treasury, the API's head pollers, the
//! indexers' progress) is written once for EVM and Solana. [`connect`] builds a chain's
//! [`Chain`] from its settings: the one place that looks at the chain's kind, as Hyperlane's
//! agents build their chain objects from `ChainConf` in one place.
//!
//! The traits are object-safe (`async_trait` boxes their futures), so callers hold
//! `Arc<dyn Chain>` built once; a call costs one allocation, nothing beside the RPC it makes.

use std::sync::Arc;

use async_trait::async_trait;
use atoll_core::settings::ChainSettings;
use atoll_core::{Address, ChainKind, SecretRef, U256};
use solana_commitment_config::CommitmentConfig;

use crate::AdapterError;
use crate::evm::{EvmChain, RetryPolicy};
use crate::solana::SolanaChain;

/// Everything the code above the adapters asks of any chain.
pub trait Chain: Heights + SourceInclusion + Keys + TokenFacts {
    /// The chain's configured name.
    fn name(&self) -> &str;
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
}

impl Chain for SolanaChain {
    fn name(&self) -> &str {
        &self.name
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
        let keys: Vec<_> = mints.iter().flatten().copied().collect();
        let mut accounts = self
            .accounts(&keys, CommitmentConfig::confirmed())
            .await?
            .into_iter();
        Ok(mints
            .iter()
            .map(|mint| {
                let mint = (*mint)?;
                let account = accounts.next().flatten()?;
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
        let keys: Vec<_> = vaults.iter().flatten().copied().collect();
        let mut accounts = self
            .accounts(&keys, CommitmentConfig::confirmed())
            .await?
            .into_iter();
        Ok(vaults
            .iter()
            .map(|vault| {
                let key = (*vault)?;
                Some(match accounts.next().flatten() {
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
