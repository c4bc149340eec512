//! Bridge deposits on Solana: an SPL `transfer_checked` into the relayer's vault token account,
//! in a transaction carrying the memo `atoll:v1:dst=<chain id>:to=<recipient>`. Found with
//! `getSignaturesForAddress` on the vault (newest first, paginated back to the checkpoint
//! signature) and `getTransaction`. Every transfer into the vault is reported: a deposit, or a
//! rejection with its reason (missing or malformed memo), so funds sent without a valid memo
//! are visible to the operator and never dropped silently. Failed transactions moved nothing
//! and are skipped. Only top-level instructions are read: a transfer made by another program
//! through CPI is not seen (documented limit).

use atoll_core::{ChainId, TransferId};
use futures::StreamExt;
use solana_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_client::rpc_config::RpcTransactionConfig;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signature;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, UiTransactionEncoding,
};

use super::SolanaChain;
use super::accounts::{TOKEN_2022_PROGRAM, TOKEN_PROGRAM};
use crate::AdapterError;

pub const MEMO_PROGRAM_V1: Pubkey =
    solana_sdk::pubkey!("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo");
pub const MEMO_PROGRAM_V3: Pubkey =
    solana_sdk::pubkey!("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

/// SPL Token's `TransferChecked` instruction tag.
const TRANSFER_CHECKED: u8 = 12;
/// Signatures per `getSignaturesForAddress` page (the RPC's maximum).
const PAGE: usize = 1_000;
/// `getTransaction` calls in flight while scanning a vault (the endpoint's rate limit still
/// applies to each).
pub const TX_FETCH_CONCURRENCY: usize = 16;

/// Where a deposit goes, from its memo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositMemo {
    pub dst_chain: ChainId,
    /// As written: `0x…` (EVM) or base58 (Solana).
    pub recipient: String,
}

/// Parses `atoll:v1:dst=<chain id>:to=<recipient>`; the error says what is wrong.
pub fn parse_memo(memo: &str) -> Result<DepositMemo, String> {
    let rest = memo
        .strip_prefix("atoll:v1:")
        .ok_or_else(|| format!("memo {memo:?} does not start with atoll:v1:"))?;
    let (dst, to) = rest
        .split_once(':')
        .ok_or_else(|| format!("memo {memo:?}: expected dst=<chain id>:to=<recipient>"))?;
    let dst = dst
        .strip_prefix("dst=")
        .ok_or_else(|| format!("memo {memo:?}: expected dst=<chain id>"))?;
    let dst_chain: u64 = dst
        .parse()
        .map_err(|_| format!("memo {memo:?}: dst {dst:?} is not a chain id"))?;
    let recipient = to
        .strip_prefix("to=")
        .ok_or_else(|| format!("memo {memo:?}: expected to=<recipient>"))?;
    let evm = recipient.len() == 42
        && recipient.starts_with("0x")
        && recipient[2..].bytes().all(|b| b.is_ascii_hexdigit());
    let solana = recipient.parse::<Pubkey>().is_ok();
    if !(evm || solana) {
        return Err(format!(
            "memo {memo:?}: recipient {recipient:?} is neither an EVM address nor a Solana key"
        ));
    }
    Ok(DepositMemo {
        dst_chain: ChainId(dst_chain),
        recipient: recipient.to_string(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Deposit(DepositMemo),
    Rejected(String),
}

/// One `transfer_checked` into the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultTransfer {
    pub transfer_id: TransferId,
    pub signature: Signature,
    pub instruction_index: u8,
    pub slot: u64,
    pub block_time: Option<i64>,
    pub mint: Pubkey,
    pub source: Pubkey,
    /// The source account's owner or delegate that signed.
    pub authority: Pubkey,
    pub amount: u64,
    pub decimals: u8,
    pub memo: Option<String>,
    pub verdict: Verdict,
}

/// One `transfer_checked` out of the vault: a release when its memo names the transfer
/// (`atoll:v1:release=<id>`), else a withdrawal or other movement the operator made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultOutflow {
    /// The transfer the memo names, when it is a release.
    pub released: Option<TransferId>,
    pub signature: Signature,
    pub slot: u64,
    pub mint: Pubkey,
    /// The token account paid.
    pub destination: Pubkey,
    pub amount: u64,
}

/// What a vault's transactions moved: transfers in (deposits, rejected ones included) and out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultFlows {
    pub inflows: Vec<VaultTransfer>,
    pub outflows: Vec<VaultOutflow>,
}

impl SolanaChain {
    /// Every transfer into and out of `vault` in its whole history at `commitment`, oldest
    /// first: what `atoll audit` reads. One `getTransaction` per transaction of the vault,
    /// [`TX_FETCH_CONCURRENCY`] at a time.
    pub async fn vault_flows(
        &self,
        vault: &Pubkey,
        commitment: CommitmentConfig,
    ) -> Result<VaultFlows, AdapterError> {
        let signatures = self.signatures_since(vault, None, commitment).await?;
        let fetched: Vec<Result<VaultFlows, AdapterError>> =
            futures::stream::iter(signatures.iter().copied())
                .map(|(sig, slot)| async move {
                    let tx = self.transaction(sig, commitment).await?;
                    Ok(flows_of(vault, sig, slot, &tx))
                })
                .buffered(TX_FETCH_CONCURRENCY)
                .collect()
                .await;
        let mut out = VaultFlows::default();
        for f in fetched {
            let f = f?;
            out.inflows.extend(f.inflows);
            out.outflows.extend(f.outflows);
        }
        Ok(out)
    }

    async fn transaction(
        &self,
        sig: Signature,
        commitment: CommitmentConfig,
    ) -> Result<EncodedConfirmedTransactionWithStatusMeta, AdapterError> {
        self.call("getTransaction", |c| async move {
            c.rpc()
                .get_transaction_with_config(
                    &sig,
                    RpcTransactionConfig {
                        encoding: Some(UiTransactionEncoding::Base64),
                        commitment: Some(commitment),
                        max_supported_transaction_version: Some(0),
                    },
                )
                .await
        })
        .await
    }

    /// Signatures touching `address` newer than `until` (exclusive), oldest first.
    pub async fn signatures_since(
        &self,
        address: &Pubkey,
        until: Option<Signature>,
        commitment: CommitmentConfig,
    ) -> Result<Vec<(Signature, u64)>, AdapterError> {
        let mut out = Vec::new();
        let mut before = None;
        loop {
            let page = self
                .call("getSignaturesForAddress", |c| async move {
                    c.rpc()
                        .get_signatures_for_address_with_config(
                            address,
                            GetConfirmedSignaturesForAddress2Config {
                                before,
                                until,
                                limit: Some(PAGE),
                                commitment: Some(commitment),
                            },
                        )
                        .await
                })
                .await?;
            let full = page.len() == PAGE;
            for s in page {
                if s.err.is_some() {
                    continue;
                }
                let sig: Signature =
                    s.signature.parse().map_err(|_| AdapterError::RpcRejected {
                        chain: self.name.clone(),
                        method: "getSignaturesForAddress",
                        endpoint: String::new(),
                        reason: format!("not a signature: {}", s.signature),
                    })?;
                before = Some(sig);
                out.push((sig, s.slot));
            }
            if !full {
                break;
            }
        }
        out.reverse();
        Ok(out)
    }

    /// Every `transfer_checked` into `vault` in the transactions since `until`, oldest first;
    /// transactions are fetched [`TX_FETCH_CONCURRENCY`] at a time.
    pub async fn vault_transfers(
        &self,
        vault: &Pubkey,
        until: Option<Signature>,
        commitment: CommitmentConfig,
    ) -> Result<Vec<VaultTransfer>, AdapterError> {
        let signatures = self.signatures_since(vault, until, commitment).await?;
        self.transfers_in(vault, &signatures, commitment, TX_FETCH_CONCURRENCY)
            .await
    }

    /// The `transfer_checked`s into `vault` in the given transactions (signature, slot), in
    /// their order, fetching up to `concurrency` transactions at once.
    pub async fn transfers_in(
        &self,
        vault: &Pubkey,
        signatures: &[(Signature, u64)],
        commitment: CommitmentConfig,
        concurrency: usize,
    ) -> Result<Vec<VaultTransfer>, AdapterError> {
        let fetched: Vec<Result<Vec<VaultTransfer>, AdapterError>> =
            futures::stream::iter(signatures.iter().copied())
                .map(|(sig, slot)| async move {
                    let tx = self.transaction(sig, commitment).await?;
                    Ok(flows_of(vault, sig, slot, &tx).inflows)
                })
                .buffered(concurrency.max(1))
                .collect()
                .await;
        let mut out = Vec::new();
        for f in fetched {
            out.extend(f?);
        }
        Ok(out)
    }
}

/// The `transfer_checked`s into and out of `vault` among a transaction's top-level
/// instructions; a failed transaction moved nothing.
fn flows_of(
    vault: &Pubkey,
    sig: Signature,
    slot: u64,
    tx: &EncodedConfirmedTransactionWithStatusMeta,
) -> VaultFlows {
    let mut out = VaultFlows::default();
    if tx
        .transaction
        .meta
        .as_ref()
        .is_some_and(|m| m.err.is_some())
    {
        return out;
    }
    let Some(decoded) = tx.transaction.transaction.decode() else {
        return out;
    };
    let keys = decoded.message.static_account_keys();
    let key = |i: u8| keys.get(usize::from(i)).copied();
    let instructions = decoded.message.instructions();
    let memo = instructions
        .iter()
        .find(|ix| {
            key(ix.program_id_index).is_some_and(|p| p == MEMO_PROGRAM_V1 || p == MEMO_PROGRAM_V3)
        })
        .map(|ix| String::from_utf8_lossy(&ix.data).into_owned());
    for (index, ix) in instructions.iter().enumerate() {
        let program = key(ix.program_id_index);
        if !program.is_some_and(|p| p == TOKEN_PROGRAM || p == TOKEN_2022_PROGRAM) {
            continue;
        }
        if ix.data.first() != Some(&TRANSFER_CHECKED) || ix.data.len() < 10 {
            continue;
        }
        let account = |i: usize| ix.accounts.get(i).and_then(|a| key(*a));
        let (Some(source), Some(mint), Some(destination), Some(authority)) =
            (account(0), account(1), account(2), account(3))
        else {
            continue;
        };
        let mut amount = [0u8; 8];
        amount.copy_from_slice(&ix.data[1..9]);
        let amount = u64::from_le_bytes(amount);
        if source == *vault && destination != *vault {
            out.outflows.push(VaultOutflow {
                released: memo.as_deref().and_then(released_by_memo),
                signature: sig,
                slot,
                mint,
                destination,
                amount,
            });
            continue;
        }
        if destination != *vault {
            continue;
        }
        let verdict = match &memo {
            None => Verdict::Rejected("missing memo".into()),
            Some(m) => match parse_memo(m) {
                Ok(d) => Verdict::Deposit(d),
                Err(reason) => Verdict::Rejected(reason),
            },
        };
        let instruction_index = u8::try_from(index).unwrap_or(u8::MAX);
        out.inflows.push(VaultTransfer {
            transfer_id: TransferId::derive(
                ChainId::SOLANA,
                sig.as_ref(),
                u32::from(instruction_index),
            ),
            signature: sig,
            instruction_index,
            slot,
            block_time: tx.block_time,
            mint,
            source,
            authority,
            amount,
            decimals: ix.data[9],
            memo: memo.clone(),
            verdict,
        });
    }
    out
}

/// The transfer a release memo (`atoll:v1:release=<id>`) names.
pub fn released_by_memo(memo: &str) -> Option<TransferId> {
    memo.strip_prefix("atoll:v1:release=")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memos() {
        let ok =
            parse_memo("atoll:v1:dst=56:to=0x70997970c51812dc3a010c7d01b50e0d17dc79c8").unwrap();
        assert_eq!(ok.dst_chain, ChainId(56));
        let sol = parse_memo(&format!(
            "atoll:v1:dst=1151111081099710:to={}",
            Pubkey::new_unique()
        ));
        assert!(sol.is_ok());
        for bad in [
            "hello",
            "atoll:v2:dst=1:to=0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
            "atoll:v1:dst=eth:to=0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
            "atoll:v1:dst=1:to=0x1234",
            "atoll:v1:dst=1",
        ] {
            assert!(parse_memo(bad).is_err(), "{bad}");
        }
        let id = TransferId([7; 32]);
        assert_eq!(
            released_by_memo(&format!("atoll:v1:release={id}")),
            Some(id)
        );
        assert_eq!(released_by_memo("atoll:v1:dst=1:to=0x00"), None);
    }
}
