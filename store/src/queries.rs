//! Queries used across crates: registering configured chains and tokens, and index checkpoints.

use atoll_core::settings::Settings;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};

use crate::entities::{chains, index_checkpoints, tokens};
use crate::{Store, StoreError};

/// How far a chain's stream (e.g. `pools`, `bridge`) has been indexed, and the hash of that
/// block, so a restart can tell whether the chain reorganised underneath it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub block_number: u64,
    pub block_hash: String,
}

/// Ids per statement: far below SQLite's and PostgreSQL's parameter limits.
pub(crate) const IDS_PER_STATEMENT: usize = 500;

pub(crate) use atoll_core::time::now_ms;

pub(crate) fn to_i64(what: &str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::OutOfRange(format!("{what} {v} exceeds i64")))
}

impl Store {
    /// Upserts the configured chains and token deployments, in one transaction.
    pub async fn register_settings(&self, settings: &Settings) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        let now = now_ms();
        for c in &settings.chains {
            chains::Entity::insert(chains::ActiveModel {
                chain_id: Set(to_i64("chain id", c.chain_id.0)?),
                name: Set(c.name.clone()),
                kind: Set(c.kind.as_str().to_string()),
                created_at_ms: Set(now),
                // A new chain starts unpaused; a known one keeps its pause (not updated below).
                paused: Set(false),
                paused_reason: Set(None),
            })
            .on_conflict(
                OnConflict::column(chains::Column::ChainId)
                    .update_columns([chains::Column::Name, chains::Column::Kind])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
        }
        for t in &settings.tokens {
            for d in &t.deployments {
                let Some(chain) = settings.chain(&d.chain) else {
                    continue;
                };
                tokens::Entity::insert(tokens::ActiveModel {
                    chain_id: Set(to_i64("chain id", chain.chain_id.0)?),
                    address: Set(d.address.to_string()),
                    symbol: Set(t.symbol.clone()),
                    decimals: Set(i16::from(d.decimals)),
                    stable: Set(t.stable),
                    price_usd_pinned: Set(t.price_usd),
                    ..Default::default()
                })
                .on_conflict(
                    OnConflict::columns([tokens::Column::ChainId, tokens::Column::Address])
                        .update_columns([
                            tokens::Column::Symbol,
                            tokens::Column::Decimals,
                            tokens::Column::Stable,
                            tokens::Column::PriceUsdPinned,
                        ])
                        .to_owned(),
                )
                .exec(&txn)
                .await?;
            }
        }
        txn.commit().await?;
        Ok(())
    }

    pub async fn checkpoint(
        &self,
        chain_id: u64,
        stream: &str,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let row = index_checkpoints::Entity::find_by_id((
            to_i64("chain id", chain_id)?,
            stream.to_string(),
        ))
        .one(&self.db)
        .await?;
        row.map(|r| {
            Ok(Checkpoint {
                block_number: u64::try_from(r.block_number).map_err(|_| {
                    StoreError::OutOfRange(format!("negative block {}", r.block_number))
                })?,
                block_hash: r.block_hash,
            })
        })
        .transpose()
    }

    /// Writes a checkpoint on `conn`: callers pass the transaction that also writes the data the
    /// checkpoint covers, so the two can never disagree after a crash.
    pub async fn save_checkpoint<C: sea_orm::ConnectionTrait>(
        conn: &C,
        chain_id: u64,
        stream: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), StoreError> {
        index_checkpoints::Entity::insert(index_checkpoints::ActiveModel {
            chain_id: Set(to_i64("chain id", chain_id)?),
            stream: Set(stream.to_string()),
            block_number: Set(to_i64("block number", checkpoint.block_number)?),
            block_hash: Set(checkpoint.block_hash.clone()),
            updated_at_ms: Set(now_ms()),
        })
        .on_conflict(
            OnConflict::columns([
                index_checkpoints::Column::ChainId,
                index_checkpoints::Column::Stream,
            ])
            .update_columns([
                index_checkpoints::Column::BlockNumber,
                index_checkpoints::Column::BlockHash,
                index_checkpoints::Column::UpdatedAtMs,
            ])
            .to_owned(),
        )
        .exec(conn)
        .await?;
        Ok(())
    }
}

/// A row limit as SQLite and PostgreSQL take it: at most `i64::MAX` (a larger `LIMIT`
/// cannot be bound, and means "all rows" anyway).
pub(crate) fn row_limit(limit: u64) -> u64 {
    limit.min(i64::MAX.unsigned_abs())
}
