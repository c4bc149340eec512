//! `atoll devnet traffic`: deterministic swap traffic on the EVM pools and bridge deposits in
//! every direction between the three chains. The same seed on a fresh devnet gives the same
//! transactions, so tests can compute expected volumes independently.

use alloy::primitives::{Address, Bytes, FixedBytes, U256};
use alloy::providers::DynProvider;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use solana_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signer::Signer;
use solana_sdk::transaction::Transaction;

use crate::DevnetError;
use crate::contracts::{BridgeVault, IUniswapV2Pair, TestToken, V3PoolDriver};
use crate::evm::{self, EvmDeployment, Role};
use crate::solana::devnet_keypair;
use crate::state::DevnetState;

#[derive(Debug, Clone, Copy)]
pub struct TrafficOptions {
    pub swaps: u32,
    pub deposits: u32,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SwapRecord {
    pub chain: String,
    pub pool: Address,
    pub protocol: String,
    pub zero_for_one: bool,
    pub amount_in: U256,
    pub tx: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DepositRecord {
    pub from: String,
    pub to: String,
    pub token: String,
    /// In the source token's smallest unit.
    pub amount: u64,
    pub decimals: u8,
    pub recipient: String,
    pub tx: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TrafficReport {
    pub swaps: Vec<SwapRecord>,
    pub deposits: Vec<DepositRecord>,
}

/// Chain names in the order deposits cycle through their six directions.
const DIRECTIONS: [(&str, &str); 6] = [
    ("ethereum", "bsc"),
    ("ethereum", "solana"),
    ("bsc", "ethereum"),
    ("bsc", "solana"),
    ("solana", "ethereum"),
    ("solana", "bsc"),
];

/// A planned swap, drawn from the seed before anything is sent.
struct PlannedSwap {
    pool_index: usize,
    zero_for_one: bool,
    /// Input as a fraction of the input side's pool balance, in basis points.
    fraction_bps: u32,
}

pub async fn run(state: &DevnetState, opts: TrafficOptions) -> Result<TrafficReport, DevnetError> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut per_chain: Vec<Vec<PlannedSwap>> = state.evm.iter().map(|_| Vec::new()).collect();
    for _ in 0..opts.swaps {
        let chain = rng.random_range(0..state.evm.len().max(1));
        let pools = state
            .evm
            .get(chain)
            .map_or(0, |c| c.v2_pairs.len() + c.v3_pools.len());
        let swap = PlannedSwap {
            pool_index: rng.random_range(0..pools.max(1)),
            zero_for_one: rng.random(),
            fraction_bps: rng.random_range(1..=50),
        };
        if let Some(list) = per_chain.get_mut(chain) {
            list.push(swap);
        }
    }
    let directions: Vec<(&str, &str)> = DIRECTIONS
        .iter()
        .copied()
        .filter(|(a, b)| {
            [a, b]
                .iter()
                .all(|c| *c != &"solana" || state.solana.is_some())
        })
        .collect();
    let mut planned_deposits = Vec::new();
    for i in 0..opts.deposits as usize {
        let Some(&(from, to)) = directions.get(i % directions.len().max(1)) else {
            break;
        };
        let token = if rng.random() { "USDC" } else { "USDT" };
        // 1 to 1000 tokens with cents, as 6-decimal units.
        let amount =
            rng.random_range(1u64..=1000) * 1_000_000 + rng.random_range(0u64..100) * 10_000;
        planned_deposits.push((from, to, token, amount));
    }

    let mut report = TrafficReport::default();
    // Chains run concurrently; each chain's own order is fixed by the seed.
    let swap_runs = state
        .evm
        .iter()
        .zip(per_chain)
        .map(|(chain, plan)| swaps_on(chain, plan));
    for swaps in futures::future::try_join_all(swap_runs).await? {
        report.swaps.extend(swaps);
    }
    for (from, to, token, amount) in planned_deposits {
        report
            .deposits
            .push(deposit(state, from, to, token, amount).await?);
    }
    Ok(report)
}

async fn swaps_on(
    chain: &EvmDeployment,
    plan: Vec<PlannedSwap>,
) -> Result<Vec<SwapRecord>, DevnetError> {
    let trader = evm::provider_for(&chain.rpc_url, Role::Trader)?;
    let me = chain.account(Role::Trader).unwrap_or_default();
    let mut out = Vec::with_capacity(plan.len());
    for s in plan {
        let v2_count = chain.v2_pairs.len();
        let record = if s.pool_index < v2_count {
            let pool = &chain.v2_pairs[s.pool_index];
            swap_v2(
                chain,
                &trader,
                me,
                pool.address,
                s.zero_for_one,
                s.fraction_bps,
            )
            .await?
        } else {
            let Some(pool) = chain.v3_pools.get(s.pool_index - v2_count) else {
                continue;
            };
            swap_v3(
                chain,
                &trader,
                pool.address,
                pool.token0,
                pool.token1,
                s.zero_for_one,
                s.fraction_bps,
            )
            .await?
        };
        out.push(record);
    }
    Ok(out)
}

async fn swap_v2(
    chain: &EvmDeployment,
    p: &DynProvider,
    me: Address,
    pool: Address,
    zero_for_one: bool,
    bps: u32,
) -> Result<SwapRecord, DevnetError> {
    let pair = IUniswapV2Pair::new(pool, p);
    let e = |step: &str| DevnetError::step(&chain.name, step);
    let r = pair
        .getReserves()
        .call()
        .await
        .map_err(|x| e("getReserves")(x.to_string()))?;
    let (r0, r1) = (U256::from(r.reserve0), U256::from(r.reserve1));
    let (r_in, r_out) = if zero_for_one { (r0, r1) } else { (r1, r0) };
    let amount_in = r_in * U256::from(bps) / U256::from(10_000u32);
    // Uniswap V2's getAmountOut: 0.3% fee on the input.
    let with_fee = amount_in * U256::from(997u32);
    let amount_out = with_fee * r_out / (r_in * U256::from(1000u32) + with_fee);
    let token_in = if zero_for_one {
        pair.token0().call().await
    } else {
        pair.token1().call().await
    }
    .map_err(|x| e("token")(x.to_string()))?;
    evm::send(
        p,
        TestToken::new(token_in, p)
            .transfer(pool, amount_in)
            .into_transaction_request(),
        &chain.name,
        "swap transfer",
    )
    .await?;
    let (out0, out1) = if zero_for_one {
        (U256::ZERO, amount_out)
    } else {
        (amount_out, U256::ZERO)
    };
    let receipt = evm::send(
        p,
        pair.swap(out0, out1, me, Bytes::new())
            .into_transaction_request(),
        &chain.name,
        "V2 swap",
    )
    .await?;
    Ok(SwapRecord {
        chain: chain.name.clone(),
        pool,
        protocol: "uniswap_v2".into(),
        zero_for_one,
        amount_in,
        tx: receipt.transaction_hash.to_string(),
    })
}

async fn swap_v3(
    chain: &EvmDeployment,
    p: &DynProvider,
    pool: Address,
    token0: Address,
    token1: Address,
    zero_for_one: bool,
    bps: u32,
) -> Result<SwapRecord, DevnetError> {
    let token_in = if zero_for_one { token0 } else { token1 };
    let balance = TestToken::new(token_in, p)
        .balanceOf(pool)
        .call()
        .await
        .map_err(|x| DevnetError::step(&chain.name, "balanceOf")(x.to_string()))?;
    let amount_in = balance * U256::from(bps) / U256::from(10_000u32);
    let driver = V3PoolDriver::new(chain.v3_driver, p);
    let receipt = evm::send(
        p,
        driver
            .swapExactIn(pool, zero_for_one, amount_in)
            .into_transaction_request(),
        &chain.name,
        "V3 swap",
    )
    .await?;
    Ok(SwapRecord {
        chain: chain.name.clone(),
        pool,
        protocol: "uniswap_v3".into(),
        zero_for_one,
        amount_in,
        tx: receipt.transaction_hash.to_string(),
    })
}

fn chain_id_of(state: &DevnetState, name: &str) -> u64 {
    if name == "solana" {
        atoll_core::ChainId::SOLANA.0
    } else {
        state.evm_chain(name).map_or(0, |c| c.chain_id)
    }
}

async fn deposit(
    state: &DevnetState,
    from: &str,
    to: &str,
    token: &str,
    amount: u64,
) -> Result<DepositRecord, DevnetError> {
    let dst_chain_id = chain_id_of(state, to);
    let recipient: [u8; 32] = match to {
        "solana" => devnet_keypair("user").pubkey().to_bytes(),
        evm_name => {
            let user = state
                .evm_chain(evm_name)
                .and_then(|c| c.account(Role::User))
                .unwrap_or_default();
            let mut b = [0u8; 32];
            b[12..].copy_from_slice(user.as_slice());
            b
        }
    };
    if from == "solana" {
        return deposit_from_solana(state, to, token, amount, dst_chain_id, recipient).await;
    }
    let chain = state
        .evm_chain(from)
        .ok_or_else(|| DevnetError::step(from, "deposit")("chain not in devnet".into()))?;
    let t = chain
        .token(token)
        .ok_or_else(|| DevnetError::step(from, "deposit")(format!("no token {token}")))?;
    let p = evm::provider_for(&chain.rpc_url, Role::User)?;
    let vault = BridgeVault::new(chain.bridge_vault, &p);
    let call = vault.deposit(
        t.address,
        U256::from(amount),
        dst_chain_id,
        FixedBytes::from(recipient),
    );
    let receipt = evm::send(&p, call.into_transaction_request(), from, "deposit").await?;
    Ok(DepositRecord {
        from: from.into(),
        to: to.into(),
        token: token.into(),
        amount,
        decimals: t.decimals,
        recipient: format_recipient(to, recipient),
        tx: receipt.transaction_hash.to_string(),
    })
}

fn format_recipient(to: &str, recipient: [u8; 32]) -> String {
    if to == "solana" {
        Pubkey::new_from_array(recipient).to_string()
    } else {
        format!("0x{}", hex::encode(&recipient[12..]))
    }
}

/// The devnet user's transfer of `raw` units of `symbol` into the relayer's vault: an SPL
/// `transfer_checked`, with the memo when given (without one, or with a malformed one, the
/// relayer must reject it). Signed, not sent.
pub fn vault_transfer_tx(
    state: &DevnetState,
    symbol: &str,
    raw: u64,
    memo: Option<&str>,
    blockhash: solana_sdk::hash::Hash,
) -> Result<Transaction, DevnetError> {
    let e = |step: &str| DevnetError::step("solana", step);
    let sol = state
        .solana
        .as_ref()
        .ok_or_else(|| e("vault transfer")("devnet has no Solana".into()))?;
    let t = sol
        .token(symbol)
        .ok_or_else(|| e("vault transfer")(format!("no token {symbol}")))?;
    let parse = |s: &str| {
        s.parse::<Pubkey>()
            .map_err(|x| e("vault transfer")(format!("{s}: {x}")))
    };
    let (mint, source, vault) = (parse(&t.mint)?, parse(&t.user_account)?, parse(&t.vault)?);
    let user = devnet_keypair("user");
    let mut instructions = vec![
        spl_token_interface::instruction::transfer_checked(
            &spl_token_interface::id(),
            &source,
            &mint,
            &vault,
            &user.pubkey(),
            &[],
            raw,
            t.decimals,
        )
        .map_err(|x| e("transfer_checked")(x.to_string()))?,
    ];
    if let Some(memo) = memo {
        instructions.push(spl_memo_interface::instruction::build_memo(
            &spl_memo_interface::v3::id(),
            memo.as_bytes(),
            &[&user.pubkey()],
        ));
    }
    Ok(Transaction::new_signed_with_payer(
        &instructions,
        Some(&user.pubkey()),
        &[&user],
        blockhash,
    ))
}

/// Sends [`vault_transfer_tx`] and waits until it is confirmed.
pub async fn send_vault_transfer(
    state: &DevnetState,
    symbol: &str,
    raw: u64,
    memo: Option<&str>,
) -> Result<solana_sdk::signature::Signature, DevnetError> {
    let e = |step: &str| DevnetError::step("solana", step);
    let sol = state
        .solana
        .as_ref()
        .ok_or_else(|| e("vault transfer")("devnet has no Solana".into()))?;
    let client = RpcClient::new_with_commitment(
        sol.rpc_url.clone(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    let blockhash = client
        .get_latest_blockhash()
        .await
        .map_err(|x| e("blockhash")(x.to_string()))?;
    let tx = vault_transfer_tx(state, symbol, raw, memo, blockhash)?;
    client
        .send_and_confirm_transaction(&tx)
        .await
        .map_err(|x| e("send vault transfer")(x.to_string()))
}

/// An SPL `transfer_checked` into the relayer's vault with the memo
/// `atoll:v1:dst=<chain id>:to=<recipient>`, the format the Solana adapter reads.
async fn deposit_from_solana(
    state: &DevnetState,
    to: &str,
    token: &str,
    amount: u64,
    dst_chain_id: u64,
    recipient: [u8; 32],
) -> Result<DepositRecord, DevnetError> {
    let decimals = state
        .solana
        .as_ref()
        .and_then(|s| s.token(token))
        .map(|t| t.decimals)
        .ok_or_else(|| DevnetError::step("solana", "deposit")(format!("no token {token}")))?;
    // Token amounts in traffic are 6-decimal units; scale to the mint's decimals.
    let raw = if decimals >= 6 {
        amount.saturating_mul(10u64.saturating_pow(u32::from(decimals) - 6))
    } else {
        amount / 10u64.pow(6 - u32::from(decimals))
    };
    let memo = format!(
        "atoll:v1:dst={dst_chain_id}:to={}",
        format_recipient(to, recipient)
    );
    let signature = send_vault_transfer(state, token, raw, Some(&memo)).await?;
    Ok(DepositRecord {
        from: "solana".into(),
        to: to.into(),
        token: token.into(),
        amount: raw,
        decimals,
        recipient: format_recipient(to, recipient),
        tx: signature.to_string(),
    })
}

/// Load for deposit scanning: `count` USDC deposits from the devnet user into the relayer's
/// Solana vault (memo to the Ethereum devnet's user), sent 64 at a time and confirmed. Amounts
/// differ (1,000 + i units), so every transaction is distinct. Returns the signatures.
pub async fn solana_deposit_burst(
    state: &DevnetState,
    count: u32,
) -> Result<Vec<String>, DevnetError> {
    use futures::StreamExt;
    let e = |step: &str| DevnetError::step("solana", step);
    let sol = state
        .solana
        .as_ref()
        .ok_or_else(|| e("deposit burst")("devnet has no Solana".into()))?;
    let eth = state
        .evm
        .first()
        .ok_or_else(|| e("deposit burst")("devnet has no EVM chain".into()))?;
    let memo = format!(
        "atoll:v1:dst={}:to={}",
        eth.chain_id,
        format_recipient("ethereum", [0x11; 32])
    );
    let client = RpcClient::new_with_commitment(
        sol.rpc_url.clone(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    let mut signatures = Vec::with_capacity(count as usize);
    // A blockhash lives ~150 slots (60 s): take a fresh one per 500 transactions.
    for start in (0..count).step_by(500) {
        let blockhash = client
            .get_latest_blockhash()
            .await
            .map_err(|x| e("blockhash")(x.to_string()))?;
        let txs: Vec<Transaction> = (start..count.min(start + 500))
            .map(|i| vault_transfer_tx(state, "USDC", 1_000 + u64::from(i), Some(&memo), blockhash))
            .collect::<Result<_, DevnetError>>()?;
        let sent: Vec<_> = futures::stream::iter(txs.iter())
            .map(|tx| client.send_transaction(tx))
            .buffer_unordered(64)
            .collect()
            .await;
        for s in sent {
            signatures.push(s.map_err(|x| e("send deposit")(x.to_string()))?);
        }
    }
    // Wait until every one is confirmed (or failed: an error).
    let mut pending: Vec<_> = signatures.clone();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for chunk in pending.chunks(256) {
            let statuses = client
                .get_signature_statuses(chunk)
                .await
                .map_err(|x| e("signature statuses")(x.to_string()))?
                .value;
            for (sig, status) in chunk.iter().zip(statuses) {
                match status {
                    Some(s) if s.err.is_some() => {
                        return Err(e("deposit")(format!("{sig} failed: {:?}", s.err)));
                    }
                    Some(s)
                        if s.satisfies_commitment(
                            solana_commitment_config::CommitmentConfig::confirmed(),
                        ) => {}
                    _ => still.push(*sig),
                }
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    Ok(signatures.iter().map(ToString::to_string).collect())
}

/// What [`burst`] did on one chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BurstRecord {
    pub chain: String,
    pub pool: Address,
    pub swaps: u32,
    pub txs: u32,
}

/// Load traffic: `swaps` real Uniswap V2 swaps, `per_tx` to a transaction (through the
/// driver's `swapV2Burst`), spread over every chain's V2 pairs in turn. Chains run
/// concurrently. Amounts are drawn from the seed; directions alternate within a transaction.
pub async fn burst(
    state: &DevnetState,
    swaps: u32,
    per_tx: u32,
    seed: u64,
) -> Result<Vec<BurstRecord>, DevnetError> {
    let per_tx = per_tx.max(1);
    let chains = state.evm.len().max(1) as u32;
    let runs = state.evm.iter().enumerate().map(|(i, chain)| {
        // An even share per chain; the first chains take the remainder.
        let mine = swaps / chains + u32::from((i as u32) < swaps % chains);
        burst_on(chain, mine, per_tx, seed.wrapping_add(i as u64))
    });
    Ok(futures::future::try_join_all(runs)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

async fn burst_on(
    chain: &EvmDeployment,
    swaps: u32,
    per_tx: u32,
    seed: u64,
) -> Result<Vec<BurstRecord>, DevnetError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let trader = evm::provider_for(&chain.rpc_url, Role::Trader)?;
    let driver = V3PoolDriver::new(chain.v3_driver, &trader);
    let mut records: Vec<BurstRecord> = chain
        .v2_pairs
        .iter()
        .map(|p| BurstRecord {
            chain: chain.name.clone(),
            pool: p.address,
            swaps: 0,
            txs: 0,
        })
        .collect();
    let mut left = swaps;
    let mut turn = 0usize;
    while left > 0 && !records.is_empty() {
        let n = left.min(per_tx);
        let index = turn % records.len();
        let bps: u32 = rng.random_range(1..=50);
        let pool = records[index].pool;
        evm::send(
            &trader,
            driver
                .swapV2Burst(pool, U256::from(n), U256::from(bps))
                .into_transaction_request(),
            &chain.name,
            "V2 swap burst",
        )
        .await?;
        records[index].swaps += n;
        records[index].txs += 1;
        left -= n;
        turn += 1;
    }
    Ok(records)
}

/// `swaps` seeded swaps on the pools of one EVM chain only: makes that chain's yields stand
/// out (tests of the router and the rebalancing bot).
pub async fn swaps_on_chain(
    state: &DevnetState,
    chain: &str,
    swaps: u32,
    seed: u64,
) -> Result<Vec<SwapRecord>, DevnetError> {
    let c = state
        .evm_chain(chain)
        .ok_or_else(|| DevnetError::step(chain, "swaps")("chain not in devnet".into()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pools = c.v2_pairs.len() + c.v3_pools.len();
    let plan = (0..swaps)
        .map(|_| PlannedSwap {
            pool_index: rng.random_range(0..pools.max(1)),
            zero_for_one: rng.random(),
            fraction_bps: rng.random_range(1..=50),
        })
        .collect();
    swaps_on(c, plan).await
}
