//! The finality gate: `observed → source_final` (or `failed`), one source chain per pass.
//!
//! For each deposit the indexer recorded as `observed`, in block order:
//! 1. [`plan_release`] checks it against the config; a refusal fails it with the reason,
//!    nothing is sent.
//! 2. The source transaction is looked up on the chain itself ([`SourceInclusion`]): the
//!    indexer may lag a reorg. Missing, or at another height than recorded, it waits (the
//!    indexer orphans or moves it).
//! 3. Its USD value (amount × the token's price from the pools) picks the finality tier of the
//!    source chain: N confirmations, or finalized. An unpriced deposit waits for finality.
//! 4. Released before finality, it counts against the chain's `max_unfinalized_usd` with every
//!    other transfer approved against a deposit not final yet, released and confirmed ones
//!    included, until its source is final; over the cap, it waits for finality.
//! 5. Approved: the status and the planned release (destination token, amount out, fee) are
//!    written together, so the executor signs exactly what the gate approved.
//!
//! Source transactions are looked up 16 at a time and approvals written 500 per database
//! transaction: one lookup and one commit per deposit held the gate near 400 deposits/s.

use std::collections::HashMap;

use atoll_adapters::capability::{Heights, Inclusion, SourceInclusion};
use atoll_core::settings::{FinalityRule, Settings};
use atoll_core::{ChainId, Reason, TransferId, TransferStatus};
use atoll_store::Store;
use atoll_store::transfers::{PlannedRelease, Transfer};

use crate::RelayerError;
use crate::intake::{Deposit, plan_release};

/// Statuses of transfers approved for release: against a deposit not final yet, each is
/// exposure until its *source* is final, however soon its release was confirmed (a fast
/// destination confirms long before Ethereum finalizes; a reorg of the source then takes the
/// deposit back while the release stays paid).
const RELEASED_OR_ON_THEIR_WAY: [TransferStatus; 9] = [
    TransferStatus::SourceFinal,
    TransferStatus::Signed,
    TransferStatus::Broadcast,
    TransferStatus::Included,
    TransferStatus::Confirmed,
    TransferStatus::AwaitingLiquidity,
    TransferStatus::AwaitingGas,
    TransferStatus::Paused,
    TransferStatus::Stuck,
];

/// What one pass did, by transfer id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateReport {
    pub approved: Vec<String>,
    pub refused: Vec<(String, String)>,
    /// Still `observed`, with why.
    pub waiting: Vec<(String, String)>,
}

/// A deposit's value in USD, when its token is priced.
fn usd_value(t: &Transfer, decimals: Option<u8>, prices: &HashMap<String, f64>) -> Option<f64> {
    let price = prices.get(&t.source_token)?;
    let human = t.amount_in.to_string().parse::<f64>().ok()? / 10f64.powi(i32::from(decimals?));
    Some(human * price)
}

/// The source token's decimals on `chain`, from the config.
fn source_decimals(settings: &Settings, chain: &str, token: &str) -> Option<u8> {
    let kind = settings.chain(chain)?.kind;
    let address = atoll_core::Address::parse(kind, token).ok()?;
    settings.tokens.iter().find_map(|t| {
        t.deployments
            .iter()
            .find(|d| d.chain == chain && d.address == address)
            .map(|d| d.decimals)
    })
}

/// One pass of the gate over the `observed` deposits of source chain `chain_name`.
pub async fn pass<C: Heights + SourceInclusion + ?Sized>(
    settings: &Settings,
    store: &Store,
    chain_name: &str,
    chain: &C,
) -> Result<GateReport, RelayerError> {
    let source = settings
        .chain(chain_name)
        .ok_or_else(|| RelayerError::Config(format!("no chain named {chain_name:?}")))?;
    let chain_id = source.chain_id.0;
    let policy = settings.relayer.finality_of(chain_name);
    let prices = store.token_prices_usd(chain_id).await?;
    let tip = chain.tip().await?;
    let finalized_height = chain.finalized_height().await?;
    let decimals = |t: &Transfer| source_decimals(settings, chain_name, &t.source_token);

    // Released against deposits not final yet.
    let mut exposure: f64 = store
        .transfers_above(chain_id, &RELEASED_OR_ON_THEIR_WAY, finalized_height)
        .await?
        .iter()
        .map(|t| usd_value(t, decimals(t), &prices).unwrap_or(0.0))
        .sum();

    let pass_view = PassView {
        settings,
        policy: &policy,
        prices: &prices,
        tip,
        chain_id,
    };
    let mut report = GateReport::default();
    let observed = store
        .transfers_in(chain_id, &[TransferStatus::Observed])
        .await?;
    // Looked up on the chain many at a time, decided in block order (the exposure cap depends
    // on the order), and approved one chunk per database transaction.
    for chunk in observed.chunks(APPROVALS_PER_WRITE) {
        let mut inclusions = Vec::with_capacity(chunk.len());
        for group in chunk.chunks(LOOKUPS_IN_FLIGHT) {
            inclusions.extend(
                futures::future::join_all(
                    group
                        .iter()
                        .map(|t| chain.inclusion_against(&t.source_tx, finalized_height)),
                )
                .await,
            );
        }
        let mut approvals = Vec::new();
        for (t, inclusion) in chunk.iter().zip(inclusions) {
            match pass_view.decide(t, inclusion?, &mut exposure) {
                Decision::Approve(reason, release) => {
                    approvals.push((t.id, reason, release));
                }
                Decision::Refuse(reason) => refuse(store, t, reason, &mut report).await?,
                Decision::Wait(why) => report.waiting.push((t.id.to_string(), why)),
            }
        }
        store.approve_releases(&approvals).await?;
        report
            .approved
            .extend(approvals.iter().map(|(id, _, _)| id.to_string()));
    }
    Ok(report)
}

/// Deposits approved per database transaction.
const APPROVALS_PER_WRITE: usize = 500;
/// Source transactions looked up at once.
const LOOKUPS_IN_FLIGHT: usize = 16;

/// What the gate does with one observed deposit.
enum Decision {
    Approve(Reason, PlannedRelease),
    /// An intake refusal: its text is the reason.
    Refuse(String),
    Wait(String),
}

/// What one pass knows of its source chain, read once at its start.
struct PassView<'a> {
    settings: &'a Settings,
    policy: &'a atoll_core::settings::FinalityPolicy,
    prices: &'a HashMap<String, f64>,
    tip: u64,
    chain_id: u64,
}

impl PassView<'_> {
    /// The gate's verdict on one deposit, given where its source transaction stands now;
    /// `exposure` grows by what an approval before finality releases.
    fn decide(&self, t: &Transfer, inclusion: Inclusion, exposure: &mut f64) -> Decision {
        let PassView {
            settings,
            policy,
            prices,
            tip,
            chain_id,
        } = *self;
        let deposit = Deposit {
            source_chain_id: ChainId(chain_id),
            source_token: t.source_token.clone(),
            amount_in: t.amount_in,
            dest_chain_id: ChainId(t.dest_chain_id),
            recipient: t.recipient.clone(),
        };
        let plan = match plan_release(settings, &deposit) {
            Ok(p) => p,
            Err(refusal) => return Decision::Refuse(refusal.0),
        };
        let recorded = t.source_block;
        let (height, finalized) = match inclusion {
            Inclusion::At { height, finalized } if height == recorded => (height, finalized),
            Inclusion::At { height, .. } => {
                return Decision::Wait(format!(
                    "source tx now at {height}, recorded at {recorded}: waiting for the indexer"
                ));
            }
            Inclusion::Missing => {
                return Decision::Wait(
                    "source tx not on the chain now (reorg?): waiting for the indexer".into(),
                );
            }
        };
        let usd = usd_value(t, Some(plan.fee.decimals), prices);
        let value = usd.map_or_else(|| "unpriced".to_string(), |u| format!("≈ ${u:.2}"));
        let reason = match policy.rule_for(usd) {
            _ if finalized => Reason::SourceFinal { value },
            FinalityRule::Finalized => {
                return Decision::Wait(format!("waiting for finality ({value})"));
            }
            FinalityRule::Confirmations(n) => {
                let have = tip.saturating_sub(height) + 1;
                if have < n {
                    return Decision::Wait(format!("{have} of {n} confirmations ({value})"));
                }
                let usd = usd.unwrap_or(0.0);
                if *exposure + usd > policy.max_unfinalized_usd {
                    return Decision::Wait(format!(
                        "waiting for finality: ${:.2} already out against deposits not final, cap ${:.2} ({value})",
                        *exposure, policy.max_unfinalized_usd
                    ));
                }
                *exposure += usd;
                Reason::Confirmations { have, value }
            }
        };
        let release = PlannedRelease {
            dest_token: plan.dest_token,
            amount_out: plan.amount_out.raw,
            fee: plan.fee.raw,
        };
        Decision::Approve(reason, release)
    }
}

async fn refuse(
    store: &Store,
    t: &Transfer,
    reason: String,
    report: &mut GateReport,
) -> Result<(), RelayerError> {
    let id: TransferId = t.id;
    store
        .transition(
            id,
            TransferStatus::Observed,
            TransferStatus::Failed,
            Some(&Reason::Text(reason.clone())),
        )
        .await?;
    tracing::warn!(transfer = %id, %reason, "deposit refused; nothing will be sent");
    report.refused.push((id.to_string(), reason));
    Ok(())
}
