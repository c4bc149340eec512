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
    EncodedConfirmedTransactionWithStatusMeta, EncodedTransaction, TransactionBinaryEncoding,
    UiTransactionEncoding,
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
    // Only the encoding `transaction` asks for: base58 (which a node could answer with
    // instead) decodes in time quadratic in its length, seconds for 64 KiB.
    let EncodedTransaction::Binary(_, TransactionBinaryEncoding::Base64) =
        &tx.transaction.transaction
    else {
        return out;
    };
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

/// `flows_of`, the decoder of the vault's transactions as the node sends them (base64 of the
/// wire transaction), takes any bytes: random, and real deposit and release transactions
/// mutated (bytes flipped, truncated, extended, spliced, repeated) or rebuilt with random
/// instructions. Whatever comes back is bounded by the transaction: at most one flow per
/// instruction. A 1 MiB answer returns promptly. Longer run:
/// `PROPTEST_CASES=200000 PROPTEST_RNG_SEED=$RANDOM cargo test -p atoll-adapters --lib --release solana::deposits::any_bytes`.
#[cfg(test)]
mod any_bytes {
    use std::sync::LazyLock;
    use std::time::{Duration, Instant};

    use base64::Engine;
    use proptest::prelude::*;
    use solana_sdk::hash::Hash;
    use solana_sdk::message::compiled_instruction::CompiledInstruction;
    use solana_sdk::message::{Message, MessageHeader, VersionedMessage};
    use solana_sdk::signature::Keypair;
    use solana_sdk::signer::Signer;
    use solana_sdk::transaction::{Transaction, VersionedTransaction};
    use solana_transaction_status_client_types::EncodedTransactionWithStatusMeta;

    use super::*;

    fn config(cases: u32) -> ProptestConfig {
        let mut c = ProptestConfig::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            c.cases = cases;
        }
        // The suite is deterministic: one fixed seed, unless PROPTEST_RNG_SEED picks another
        // (for the long runs).
        if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
            c.rng_seed = proptest::test_runner::RngSeed::Fixed(0xA7011);
        }
        c
    }

    fn key(n: u8) -> Keypair {
        Keypair::new_from_array([n; 32])
    }

    static VAULT: LazyLock<Pubkey> = LazyLock::new(|| Pubkey::new_from_array([0xaa; 32]));
    static MINT: LazyLock<Pubkey> = LazyLock::new(|| Pubkey::new_from_array([0xbb; 32]));

    /// A deposit into the vault with its memo, and a release out of it, signed and encoded
    /// as on the wire.
    static REAL: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
        let user = key(1);
        let relayer = key(2);
        let source = Pubkey::new_from_array([0xcc; 32]);
        let paid = Pubkey::new_from_array([0xdd; 32]);
        let tx = |ixs: &[solana_sdk::instruction::Instruction], payer: &Keypair| {
            let t = Transaction::new_signed_with_payer(
                ixs,
                Some(&payer.pubkey()),
                &[payer],
                Hash::new_from_array([5; 32]),
            );
            bincode::serialize(&VersionedTransaction::from(t)).unwrap_or_default()
        };
        let transfer = |from: &Pubkey, to: &Pubkey, by: &Pubkey| {
            spl_token_interface::instruction::transfer_checked(
                &TOKEN_PROGRAM,
                from,
                &MINT,
                to,
                by,
                &[],
                1_500_000,
                6,
            )
            .unwrap()
        };
        let memo = |text: &str, by: &Pubkey| {
            spl_memo_interface::instruction::build_memo(&MEMO_PROGRAM_V3, text.as_bytes(), &[by])
        };
        let deposit = tx(
            &[
                transfer(&source, &VAULT, &user.pubkey()),
                memo(
                    "atoll:v1:dst=56:to=0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                    &user.pubkey(),
                ),
            ],
            &user,
        );
        let release = tx(
            &[
                transfer(&VAULT, &paid, &relayer.pubkey()),
                memo(
                    &format!("atoll:v1:release={}", TransferId([0x7c; 32])),
                    &relayer.pubkey(),
                ),
            ],
            &relayer,
        );
        vec![deposit, release]
    });

    fn answer(
        blob: String,
        encoding: TransactionBinaryEncoding,
    ) -> EncodedConfirmedTransactionWithStatusMeta {
        EncodedConfirmedTransactionWithStatusMeta {
            slot: 42,
            transaction: EncodedTransactionWithStatusMeta {
                transaction: EncodedTransaction::Binary(blob, encoding),
                meta: None,
                version: None,
            },
            block_time: Some(1_700_000_000),
        }
    }

    /// Decodes `wire` as `flows_of` does; checks every flow came from its own instruction.
    fn check(wire: &[u8]) -> Result<VaultFlows, TestCaseError> {
        let blob = base64::engine::general_purpose::STANDARD.encode(wire);
        let tx = answer(blob, TransactionBinaryEncoding::Base64);
        let flows = flows_of(&VAULT, Signature::from([3; 64]), 42, &tx);
        let instructions = tx
            .transaction
            .transaction
            .decode()
            .map_or(0, |t| t.message.instructions().len());
        prop_assert!(flows.inflows.len() + flows.outflows.len() <= instructions);
        for f in &flows.inflows {
            prop_assert!(usize::from(f.instruction_index) < instructions.max(1));
            prop_assert!(f.memo.as_ref().is_none_or(|m| m.len() <= 4 * wire.len()));
            if let Verdict::Deposit(d) = &f.verdict {
                let reparsed = f.memo.as_deref().and_then(|m| parse_memo(m).ok());
                prop_assert_eq!(Some(d), reparsed.as_ref());
            }
        }
        Ok(flows)
    }

    #[test]
    fn real_transactions_decode() {
        let deposit = check(&REAL[0]).unwrap();
        assert_eq!(deposit.inflows.len(), 1);
        assert!(matches!(deposit.inflows[0].verdict, Verdict::Deposit(_)));
        let release = check(&REAL[1]).unwrap();
        assert_eq!(release.outflows.len(), 1);
        assert_eq!(release.outflows[0].released, Some(TransferId([0x7c; 32])));
    }

    /// One edit of the wire bytes; positions are taken modulo the length.
    fn mutate(mut d: Vec<u8>, edits: &[(u8, usize, usize, Vec<u8>)]) -> Vec<u8> {
        for (kind, i, k, bytes) in edits {
            let n = d.len();
            match kind % 5 {
                0 if n > 0 => d[i % n] ^= bytes.first().copied().unwrap_or(1).max(1),
                1 => d.truncate(i % (n + 1)),
                2 => d.extend_from_slice(bytes),
                3 => {
                    let at = i % (n + 1);
                    d.splice(at..(at + k % 40).min(n), bytes.iter().copied());
                }
                4 if n > 0 => {
                    let from = i % n;
                    let chunk = d[from..(from + k % 96 + 1).min(n)].to_vec();
                    let at = k % (n + 1);
                    d.splice(at..at, chunk);
                }
                _ => {}
            }
        }
        d
    }

    fn edits() -> impl Strategy<Value = Vec<(u8, usize, usize, Vec<u8>)>> {
        prop::collection::vec(
            (
                any::<u8>(),
                any::<usize>(),
                any::<usize>(),
                prop::collection::vec(any::<u8>(), 0..40),
            ),
            1..6,
        )
    }

    /// A legacy message of random instructions over the vault's, the token and memo
    /// programs' and random keys: program and account indexes in range or not, data shaped
    /// like `transfer_checked` (any length) or a memo or anything.
    fn random_instructions() -> impl Strategy<Value = Vec<u8>> {
        let data = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..12).prop_map(|mut d| {
                d.insert(0, 12);
                d
            }),
            prop::collection::vec(any::<u8>(), 0..80),
            Just(b"atoll:v1:dst=1:to=0x70997970c51812dc3a010c7d01b50e0d17dc79c8".to_vec()),
        ];
        // Mostly in range (9 keys), so that transactions also pass sanitizing.
        let index = || prop_oneof![19 => 0u8..9, 1 => any::<u8>()];
        let ix = (index(), prop::collection::vec(index(), 0..6), data);
        (prop::collection::vec(ix, 0..8), 1u8..3).prop_map(|(ixs, signers)| {
            let account_keys = vec![
                Pubkey::new_from_array([1; 32]),
                Pubkey::new_from_array([2; 32]),
                *VAULT,
                *MINT,
                Pubkey::new_from_array([0xcc; 32]),
                TOKEN_PROGRAM,
                TOKEN_2022_PROGRAM,
                MEMO_PROGRAM_V1,
                MEMO_PROGRAM_V3,
            ];
            let message = Message {
                header: MessageHeader {
                    num_required_signatures: signers,
                    num_readonly_signed_accounts: 0,
                    num_readonly_unsigned_accounts: 4,
                },
                account_keys,
                recent_blockhash: Hash::new_from_array([5; 32]),
                instructions: ixs
                    .into_iter()
                    .map(|(program_id_index, accounts, data)| CompiledInstruction {
                        program_id_index,
                        accounts,
                        data,
                    })
                    .collect(),
            };
            let tx = VersionedTransaction {
                signatures: vec![Signature::from([9; 64]); usize::from(signers)],
                message: VersionedMessage::Legacy(message),
            };
            bincode::serialize(&tx).unwrap_or_default()
        })
    }

    proptest! {
        #![proptest_config(config(2_000))]

        #[test]
        fn random_bytes(wire in prop::collection::vec(any::<u8>(), 0..600)) {
            check(&wire)?;
        }

        #[test]
        fn mutated_real_transactions(pick in any::<prop::sample::Index>(), edits in edits()) {
            check(&mutate(pick.get(&REAL).clone(), &edits))?;
        }

        #[test]
        fn random_instructions_and_their_mutations(wire in random_instructions(), edits in edits()) {
            check(&wire)?;
            check(&mutate(wire, &edits))?;
        }
    }

    #[test]
    fn a_mebibyte_returns_promptly() {
        let mib = 1 << 20;
        let mut claims = REAL[0].clone();
        // Every short_vec length byte set to "more follows": lengths the bytes cannot hold.
        claims.extend(std::iter::repeat_n(0xffu8, mib));
        let mut long = vec![0u8; mib];
        long[0] = 1;
        for wire in [vec![0xff; mib], claims, long] {
            let t = Instant::now();
            check(&wire).unwrap();
            assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        }
        // The node was asked for base64; an answer in base58 is not decoded at any length.
        for len in [1_000usize, 64 << 10] {
            let blob = "2".repeat(len);
            let tx = answer(blob, TransactionBinaryEncoding::Base58);
            let t = Instant::now();
            let flows = flows_of(&VAULT, Signature::from([3; 64]), 42, &tx);
            assert_eq!(flows, VaultFlows::default());
            assert!(
                t.elapsed() < Duration::from_secs(2),
                "{len}: {:?}",
                t.elapsed()
            );
        }
    }
}
