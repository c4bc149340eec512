//! The treasury: the operator's own capital, one account per chain (its key a `treasury_key`
//! reference like the relayer's). `positions` reads what it holds from the chains through their
//! [`Holdings`](atoll_adapters::capability::Holdings) (token balances, and its LP share of
//! every V2-style pair the indexer knows; V3 and Solana pool positions are not read yet);
//! `request` moves capital between chains through the bridge: a `BridgeVault.deposit` on the
//! source chain (its [`TreasuryDeposits`]), released by the relayer to the treasury's own
//! address on the destination.
//!
//! Exactly once: a request carries the caller's idempotency key. The signed deposit is stored
//! under that key before it is sent; the same key again returns the stored move (sent again if
//! it never reached the node), never a second deposit. `settle` does the same for every move a
//! crash left unsettled. Requests on one chain are serialised, so nonces never collide.
//! Deposits from Solana are not built yet (its chain offers no [`TreasuryDeposits`]): such a
//! request is refused with that reason.

use std::collections::HashMap;
use std::sync::Arc;

use alloy::primitives::{B256, U256};
use atoll_adapters::capability::{Chain, TreasuryDeposit, TreasuryDeposits, connect};
use atoll_adapters::evm::RetryPolicy;
use atoll_adapters::evm::releases::SendOutcome;
use atoll_core::settings::{ChainSettings, Settings, TokenDeployment};
use atoll_core::{Address, Amount, SecretRef};
use atoll_store::Store;
use atoll_store::treasury::{NewTreasuryMove, TreasuryMove, TreasuryMoveStatus};

use crate::RelayerError;

/// Capital to move: `amount` of `symbol` (in token units, `"2500.5"`) from one chain to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRequest {
    /// Idempotency key: the same key is the same move.
    pub key: String,
    pub from: String,
    pub to: String,
    pub symbol: String,
    pub amount: String,
}

/// The treasury's balance of one token on one chain.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenPosition {
    pub symbol: String,
    pub token: String,
    pub decimals: u8,
    pub raw: U256,
    pub usd: Option<f64>,
}

/// The treasury's share of one pool (V2-style pairs: LP tokens over the total supply).
#[derive(Debug, Clone, PartialEq)]
pub struct PoolPosition {
    pub pool: String,
    pub symbol: String,
    /// LP tokens held, smallest unit.
    pub lp_tokens: U256,
    /// Of the pool (0..=1).
    pub share: f64,
    /// `share` × the pool's indexed TVL.
    pub usd: Option<f64>,
}

/// What the treasury holds on one chain: token balances and pool shares.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainPosition {
    pub chain: String,
    pub address: String,
    pub tokens: Vec<TokenPosition>,
    pub pools: Vec<PoolPosition>,
    /// Tokens and pool shares, in USD (what is priced).
    pub usd: f64,
    /// Why balances are missing (no treasury key, RPC down).
    pub error: Option<String>,
}

pub struct Treasury {
    settings: Arc<Settings>,
    store: Store,
    /// One request at a time per source chain (nonces).
    locks: HashMap<u64, tokio::sync::Mutex<()>>,
}

/// A move that passed every check the configuration and the keys allow, before any chain is
/// asked: what [`Treasury::request`] deposits.
struct PlannedMove<'s> {
    from: &'s ChainSettings,
    to: &'s ChainSettings,
    symbol: &'s str,
    /// The token on the source chain.
    src: &'s TokenDeployment,
    /// In the source token's decimals.
    amount: Amount,
    /// The treasury's address on the destination, as the deposit's `bytes32`.
    recipient: [u8; 32],
    vault: Address,
    /// The treasury's key on the source chain.
    key: &'s SecretRef,
    /// The treasury's address on the source chain.
    treasury: Address,
}

/// How long a request waits for its transaction to be mined.
const MINING_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether `hash` was mined successfully, polled every 100 ms for up to `MINING_WAIT`; `None`
/// when it is still not mined by then.
async fn mined_outcome(
    chain: &dyn TreasuryDeposits,
    hash: B256,
) -> Result<Option<bool>, RelayerError> {
    let deadline = tokio::time::Instant::now() + MINING_WAIT;
    loop {
        if let Some(ok) = chain.succeeded(hash).await? {
            return Ok(Some(ok));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn refused(msg: impl Into<String>) -> RelayerError {
    RelayerError::Refused(msg.into())
}

/// `a / b` as a float, exact enough for a share (both scaled down together past 2^64).
fn ratio(a: U256, b: U256) -> f64 {
    let shift = b.bit_len().saturating_sub(64);
    let (a, b) = (a >> shift, b >> shift);
    u128::try_from(a).unwrap_or(u128::MAX) as f64
        / u128::try_from(b).unwrap_or(u128::MAX).max(1) as f64
}

impl Treasury {
    pub fn new(settings: Arc<Settings>, store: Store) -> Treasury {
        let locks = settings
            .chains
            .iter()
            .map(|c| (c.chain_id.0, tokio::sync::Mutex::new(())))
            .collect();
        Treasury {
            settings,
            store,
            locks,
        }
    }

    fn chain(&self, arg: &str, name: &str) -> Result<&ChainSettings, RelayerError> {
        self.settings
            .chain(name)
            .ok_or_else(|| refused(format!("{arg}: {name:?} is not a configured chain")))
    }

    /// The treasury's address on `chain`, from its key.
    fn address(chain: &ChainSettings) -> Result<Address, RelayerError> {
        let key = chain
            .treasury_key
            .as_ref()
            .ok_or_else(|| refused(format!("{}: no treasury_key configured", chain.name)))?;
        let adapter = connect(chain, RetryPolicy::default())?;
        Ok(adapter.address_of(key)?)
    }

    /// What the treasury holds on every chain, token by token, valued with the prices the
    /// indexer found (pinned prices from the config first).
    pub async fn positions(&self) -> Result<Vec<ChainPosition>, RelayerError> {
        self.positions_from(&self.store).await
    }

    /// [`Treasury::positions`], reading the database through `store` (the API's read pool).
    pub async fn positions_from(&self, store: &Store) -> Result<Vec<ChainPosition>, RelayerError> {
        let records = store.pool_records(true).await?;
        let mut out = Vec::new();
        for c in &self.settings.chains {
            out.push(match self.chain_position(store, c, &records).await {
                Ok(p) => p,
                Err(e) => ChainPosition {
                    chain: c.name.clone(),
                    address: String::new(),
                    tokens: Vec::new(),
                    pools: Vec::new(),
                    usd: 0.0,
                    error: Some(e.to_string()),
                },
            });
        }
        Ok(out)
    }

    async fn chain_position(
        &self,
        store: &Store,
        c: &ChainSettings,
        records: &[atoll_store::records::PoolRecord],
    ) -> Result<ChainPosition, RelayerError> {
        let owner = Treasury::address(c)?;
        let prices = store.token_prices_usd(c.chain_id.0).await?;
        let deployments: Vec<_> = self
            .settings
            .tokens
            .iter()
            .flat_map(|t| {
                t.deployments
                    .iter()
                    .filter(|d| d.chain == c.name)
                    .map(move |d| (t, d))
            })
            .collect();
        let quick = RetryPolicy {
            rounds: 1,
            ..Default::default()
        };
        // LP shares of the V2-style pairs the indexer knows on this chain.
        let v2: Vec<_> = records
            .iter()
            .filter(|p| {
                i64::try_from(c.chain_id.0).ok() == Some(p.chain_id)
                    && matches!(p.project.as_str(), "uniswap_v2" | "pancakeswap_v2")
            })
            .filter_map(|p| p.address.parse::<Address>().ok().map(|a| (p, a)))
            .collect();
        let token_addresses: Vec<Address> = deployments.iter().map(|(_, d)| d.address).collect();
        let pool_addresses: Vec<Address> = v2.iter().map(|(_, a)| *a).collect();
        let held = connect(c, quick)?
            .holdings(&owner, &token_addresses, &pool_addresses)
            .await?;
        let mut pools = Vec::new();
        for ((p, _), share) in v2.into_iter().zip(held.pools) {
            let Some((held, supply)) = share else {
                continue;
            };
            if held.is_zero() || supply.is_zero() {
                continue;
            }
            let fraction = ratio(held, supply);
            pools.push(PoolPosition {
                usd: p.tvl_usd.map(|t| t * fraction),
                pool: p.pool.clone(),
                symbol: p.symbol.clone(),
                lp_tokens: held,
                share: fraction,
            });
        }
        let raws = held.tokens;
        let mut tokens = Vec::new();
        let mut usd = 0.0;
        for ((t, d), raw) in deployments.iter().zip(raws) {
            let price = t
                .price_usd
                .or_else(|| prices.get(&d.address.to_string()).copied());
            let units = Amount::new(raw, d.decimals)
                .to_string()
                .parse::<f64>()
                .unwrap_or(0.0);
            let value = price.map(|p| p * units);
            usd += value.unwrap_or(0.0);
            tokens.push(TokenPosition {
                symbol: t.symbol.clone(),
                token: d.address.to_string(),
                decimals: d.decimals,
                raw,
                usd: value,
            });
        }
        usd += pools.iter().filter_map(|p| p.usd).sum::<f64>();
        Ok(ChainPosition {
            chain: c.name.clone(),
            address: owner.to_string(),
            tokens,
            pools,
            usd,
            error: None,
        })
    }

    /// Moves capital per `req`. Returns the move as stored: new, or the one an earlier request
    /// with the same key made.
    pub async fn request(&self, req: &MoveRequest) -> Result<TreasuryMove, RelayerError> {
        if req.key.trim().is_empty() || req.key.len() > 128 {
            return Err(refused("idempotencyKey: 1 to 128 characters"));
        }
        if let Some(existing) = self.store.treasury_move(&req.key).await? {
            return self.resend_if_unsent(existing).await;
        }
        let (from, to) = self.move_chains(req)?;
        let source_chain = connect(from, RetryPolicy::default())?;
        let Some(source) = source_chain.treasury_deposits() else {
            return Err(refused(
                "fromChain: moves out of Solana are not supported yet (EVM sources only)",
            ));
        };
        let planned = self.plan_move(req, from, to, source_chain.as_ref())?;
        self.deposit_once(req, source, &planned).await
    }

    /// The chains `req` moves between: both configured, and not the same.
    fn move_chains(
        &self,
        req: &MoveRequest,
    ) -> Result<(&ChainSettings, &ChainSettings), RelayerError> {
        let from = self.chain("fromChain", &req.from)?;
        let to = self.chain("toChain", &req.to)?;
        if from.chain_id == to.chain_id {
            return Err(refused("toChain: must differ from fromChain"));
        }
        Ok((from, to))
    }

    /// Everything the deposit for `req` needs that the configuration and the keys say: the
    /// token deployed on both chains, a positive amount, the treasury's own address on each
    /// side, the source's vault and key. Nothing is asked of a chain.
    fn plan_move<'s>(
        &'s self,
        req: &MoveRequest,
        from: &'s ChainSettings,
        to: &'s ChainSettings,
        source_chain: &dyn Chain,
    ) -> Result<PlannedMove<'s>, RelayerError> {
        let token = self
            .settings
            .tokens
            .iter()
            .find(|t| t.symbol.eq_ignore_ascii_case(&req.symbol))
            .ok_or_else(|| refused(format!("token: {:?} is not a configured token", req.symbol)))?;
        let src = token
            .deployments
            .iter()
            .find(|d| d.chain == from.name)
            .ok_or_else(|| {
                refused(format!(
                    "token: {} has no deployment on {}",
                    token.symbol, from.name
                ))
            })?;
        if !token.deployments.iter().any(|d| d.chain == to.name) {
            return Err(refused(format!(
                "token: {} has no deployment on {}: the bridge cannot release it there",
                token.symbol, to.name
            )));
        }
        let amount = Amount::parse_units(&req.amount, src.decimals)
            .map_err(|e| refused(format!("amount: {e}")))?;
        if amount.is_zero() {
            return Err(refused("amount: must be more than 0"));
        }
        let recipient = Treasury::address(to)?.to_bytes32();
        let vault = from
            .bridge_vault
            .ok_or_else(|| refused(format!("fromChain: {} has no bridge_vault", from.name)))?;
        let key = from.treasury_key.as_ref().ok_or_else(|| {
            refused(format!(
                "fromChain: {}: no treasury_key configured",
                from.name
            ))
        })?;
        let treasury = source_chain.address_of(key)?;
        Ok(PlannedMove {
            from,
            to,
            symbol: &token.symbol,
            src,
            amount,
            recipient,
            vault,
            key,
            treasury,
        })
    }

    /// The deposit `m`, once per key: under the source chain's lock, unless a request with the
    /// same key finished meanwhile, the treasury's balance is checked, the vault approved if
    /// need be, the deposit signed and stored under the key, and only then sent.
    async fn deposit_once(
        &self,
        req: &MoveRequest,
        source: &dyn TreasuryDeposits,
        m: &PlannedMove<'_>,
    ) -> Result<TreasuryMove, RelayerError> {
        let _turn = match self.locks.get(&m.from.chain_id.0) {
            Some(l) => Some(l.lock().await),
            None => None,
        };
        // A request with this key may have finished while this one waited for the lock.
        if let Some(existing) = self.store.treasury_move(&req.key).await? {
            return Ok(existing);
        }
        let balance = source.token_balance(&m.src.address, &m.treasury).await?;
        if balance < m.amount.raw {
            return Err(refused(format!(
                "amount: the treasury holds {} {} on {}, less than {}",
                Amount::new(balance, m.src.decimals),
                m.symbol,
                m.from.name,
                m.amount
            )));
        }
        let prepared = source
            .prepare_deposit(m.key, &m.src.address, &m.vault, m.amount.raw)
            .await?;
        if let Some(approve) = &prepared.approval {
            // Not money moving: sent and awaited directly.
            source.send(&approve.raw).await?;
            self.await_mined(source, approve.hash).await?;
        }
        let signed = source
            .sign_deposit(
                m.key,
                &prepared,
                &TreasuryDeposit {
                    vault: m.vault,
                    token: m.src.address,
                    amount: m.amount.raw,
                    dst_chain_id: m.to.chain_id.0,
                    recipient: m.recipient,
                },
            )
            .await?;
        let (row, _) = self
            .store
            .record_treasury_move(&NewTreasuryMove {
                id: req.key.clone(),
                source_chain_id: m.from.chain_id.0,
                dest_chain_id: m.to.chain_id.0,
                token: m.src.address.to_string(),
                symbol: m.symbol.to_owned(),
                amount: m.amount.raw,
                recipient: B256::from(m.recipient),
                nonce: Some(prepared.nonce),
                tx_hash: signed.hash,
                raw_tx: signed.raw.clone(),
            })
            .await?;
        tracing::info!(key = %req.key, from = %m.from.name, to = %m.to.name, amount = %m.amount, symbol = %m.symbol, tx = %row.tx_hash, "treasury move signed and stored");
        self.send_stored(source, row).await
    }

    async fn await_mined(
        &self,
        chain: &dyn TreasuryDeposits,
        hash: B256,
    ) -> Result<(), RelayerError> {
        match mined_outcome(chain, hash).await? {
            Some(true) => Ok(()),
            Some(false) => Err(refused(format!("transaction {hash:#x} reverted"))),
            None => Err(refused(format!(
                "transaction {hash:#x} not mined within {} s",
                MINING_WAIT.as_secs()
            ))),
        }
    }

    async fn resend_if_unsent(&self, row: TreasuryMove) -> Result<TreasuryMove, RelayerError> {
        if !matches!(
            row.status,
            TreasuryMoveStatus::Signed | TreasuryMoveStatus::Broadcast
        ) {
            return Ok(row);
        }
        let Some(chain) = self
            .settings
            .chains
            .iter()
            .find(|c| c.chain_id.0 == row.source_chain_id)
        else {
            return Ok(row);
        };
        let chain = connect(chain, RetryPolicy::default())?;
        let Some(source) = chain.treasury_deposits() else {
            return Ok(row);
        };
        self.send_stored(source, row).await
    }

    /// Sends the stored bytes (again: same hash, same nonce) and waits for them to be mined.
    async fn send_stored(
        &self,
        chain: &dyn TreasuryDeposits,
        row: TreasuryMove,
    ) -> Result<TreasuryMove, RelayerError> {
        let hash = row.tx_hash;
        if let Some(ok) = chain.succeeded(hash).await? {
            return self.finish(row, ok).await;
        }
        match chain.send(&row.raw_tx).await? {
            SendOutcome::Accepted | SendOutcome::AlreadyKnown => {}
            SendOutcome::NonceTooLow => {
                // Mined meanwhile, or its nonce went to another transaction: the receipt says.
                if chain.succeeded(hash).await?.is_none() {
                    self.store
                        .set_treasury_move_status(
                            &row.id,
                            TreasuryMoveStatus::Failed,
                            Some(
                                "its nonce was used by another transaction; nothing was deposited",
                            ),
                        )
                        .await?;
                    return self.reread(&row.id).await;
                }
            }
            SendOutcome::Underpriced => {}
        }
        self.store
            .set_treasury_move_status(&row.id, TreasuryMoveStatus::Broadcast, None)
            .await?;
        if let Some(ok) = mined_outcome(chain, hash).await? {
            return self.finish(row, ok).await;
        }
        // Still pending: left `broadcast`; `settle` or the same request finishes it later.
        self.reread(&row.id).await
    }

    async fn finish(&self, row: TreasuryMove, ok: bool) -> Result<TreasuryMove, RelayerError> {
        if ok {
            self.store
                .set_treasury_move_status(&row.id, TreasuryMoveStatus::Included, None)
                .await?;
        } else {
            self.store
                .set_treasury_move_status(
                    &row.id,
                    TreasuryMoveStatus::Failed,
                    Some("the deposit reverted"),
                )
                .await?;
        }
        self.reread(&row.id).await
    }

    async fn reread(&self, id: &str) -> Result<TreasuryMove, RelayerError> {
        self.store
            .treasury_move(id)
            .await?
            .ok_or_else(|| refused(format!("treasury move {id} vanished")))
    }

    /// Sends again every move a crash left `signed` or `broadcast`, and records how it ended.
    pub async fn settle(&self) -> Result<Vec<TreasuryMove>, RelayerError> {
        let mut out = Vec::new();
        for c in &self.settings.chains {
            // Only chains that make treasury deposits have moves to settle.
            if connect(c, RetryPolicy::default())?
                .treasury_deposits()
                .is_none()
            {
                continue;
            }
            for row in self.store.unsettled_treasury_moves(c.chain_id.0).await? {
                out.push(self.resend_if_unsent(row).await?);
            }
        }
        Ok(out)
    }
}
