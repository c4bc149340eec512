//! `atoll rebalance`: the rebalancing bot. It speaks only GraphQL (it may run on another
//! machine): reads the treasury's `positions`, asks `quoteAllocation` where that capital should
//! sit, prints the plan, and carries out its moves with `executeRebalance`, then follows each
//! transfer over a `transferUpdated` subscription until it is confirmed.
//!
//! Its guard rails, their defaults and its idempotency key: docs/api.md, "`atoll rebalance`".

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};

use crate::BadInput;

#[derive(Args)]
pub struct RebalanceArgs {
    /// The Atoll API (as `atoll up` serves it).
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    api: url::Url,
    /// The router's input without `capital` (horizon, bridges, gas, constraints): capital
    /// comes from the treasury's positions.
    #[arg(long)]
    plan: PathBuf,
    /// Print the plan; move nothing.
    #[arg(long)]
    dry_run: bool,
    /// One round, then exit (the default).
    #[arg(long, conflicts_with = "every")]
    once: bool,
    /// A round every DURATION (`30m`, `6h`) until Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration)]
    every: Option<Duration>,
    /// No rebalance within this long of the treasury's last move.
    #[arg(long, default_value = "6h", value_parser = humantime::parse_duration)]
    cooldown: Duration,
    /// Moves smaller than this (USD) are dropped.
    #[arg(long, default_value_t = 1_000.0)]
    min_move_usd: f64,
    /// Hold when the quote's net gain over its horizon is below this (USD).
    #[arg(long, default_value_t = 50.0)]
    min_gain_usd: f64,
    /// Gas price ceiling per chain, `CHAIN=GWEI` (repeatable): no move out of a chain above it.
    #[arg(long = "max-gas-gwei", value_parser = parse_ceiling)]
    max_gas_gwei: Vec<(String, f64)>,
    /// The stablecoin moves carry.
    #[arg(long, default_value = "USDC")]
    token: String,
    /// How long to wait for the moves' transfers to be confirmed.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    settle_timeout: Duration,
}

fn parse_ceiling(s: &str) -> Result<(String, f64), String> {
    let (chain, gwei) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected CHAIN=GWEI"))?;
    let gwei: f64 = gwei
        .parse()
        .map_err(|_| format!("{s:?}: {gwei:?} is not a number of gwei"))?;
    if !(gwei.is_finite() && gwei > 0.0) {
        return Err(format!("{s:?}: the ceiling must be positive"));
    }
    Ok((chain.to_string(), gwei))
}

/// The API, over HTTP (queries, mutations) and WebSocket (subscriptions).
struct Api {
    http: reqwest::Client,
    url: url::Url,
    token: Option<String>,
}

impl Api {
    async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .post(self.url.join("graphql")?)
            .header("content-type", "application/json")
            .body(json!({ "query": query, "variables": variables }).to_string());
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach the API at {}", self.url))?;
        let status = resp.status();
        let body: Value = serde_json::from_slice(&resp.bytes().await?)
            .with_context(|| format!("the API answered {status} with something not JSON"))?;
        if let Some(errors) = body.get("errors").and_then(|e| e.as_array())
            && let Some(e) = errors.first()
        {
            anyhow::bail!(
                "{} ({})",
                e["message"].as_str().unwrap_or("error"),
                e["extensions"]["code"].as_str().unwrap_or("?")
            );
        }
        Ok(body["data"].clone())
    }

    /// Follows `transferUpdated(id)` until the transfer is confirmed or failed.
    async fn until_settled(&self, id: &str) -> anyhow::Result<String> {
        use tokio_tungstenite::tungstenite::Message;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut ws_url = self.url.join("graphql")?;
        let scheme = if ws_url.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        ws_url
            .set_scheme(scheme)
            .map_err(|()| anyhow::anyhow!("--api: cannot make a WebSocket URL of it"))?;
        let mut req = ws_url.as_str().into_client_request()?;
        req.headers_mut()
            .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
        let (mut ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .context("subscribing to transferUpdated")?;
        let send = |v: Value| Message::Text(v.to_string().into());
        ws.send(send(json!({ "type": "connection_init", "payload": {} })))
            .await?;
        ws.send(send(json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription($id: String!) { transferUpdated(id: $id) { to reason } }",
            "variables": { "id": id } } })))
            .await?;
        while let Some(frame) = ws.next().await {
            let Message::Text(text) = frame? else {
                continue;
            };
            let m: Value = serde_json::from_str(&text)?;
            match m["type"].as_str() {
                Some("ping") => ws.send(send(json!({ "type": "pong" }))).await?,
                Some("next") => {
                    let u = &m["payload"]["data"]["transferUpdated"];
                    if let Some(errors) = m["payload"]["errors"].as_array()
                        && !errors.is_empty()
                    {
                        anyhow::bail!("transferUpdated: {}", errors[0]["message"]);
                    }
                    let to = u["to"].as_str().unwrap_or("?").to_string();
                    crate::out!(
                        "    {}… {to}{}",
                        &id[..id.len().min(12)],
                        u["reason"]
                            .as_str()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    );
                    if to == "confirmed" || to == "failed" {
                        let _ = ws.close(None).await;
                        return Ok(to);
                    }
                }
                Some("error") | Some("complete") => anyhow::bail!("subscription ended: {m}"),
                _ => {}
            }
        }
        anyhow::bail!("the API closed the subscription")
    }
}

pub async fn run(args: RebalanceArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.plan)
        .with_context(|| format!("cannot read --plan {}", args.plan.display()))?;
    let plan: Value = serde_json::from_str(&text).map_err(|e| {
        BadInput(format!(
            "{}: line {} column {}: {e}",
            args.plan.display(),
            e.line(),
            e.column()
        ))
    })?;
    if !plan.is_object() {
        return Err(BadInput(format!("{}: expected a JSON object", args.plan.display())).into());
    }
    let token = std::env::var("ATOLL_OPERATOR_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    if token.is_none() && !args.dry_run {
        return Err(BadInput(
            "ATOLL_OPERATOR_TOKEN is not set: moving capital needs the operator token (or pass --dry-run)".into(),
        )
        .into());
    }
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?,
        url: args.api.clone(),
        token,
    };
    match args.every {
        None => round(&api, &args, &plan).await,
        Some(every) => loop {
            if let Err(e) = round(&api, &args, &plan).await {
                tracing::error!(error = %e, "rebalance round failed; next round as planned");
                crate::out!("round failed: {e:#}");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = crate::shutdown_signal() => return Ok(()),
            }
        },
    }
}

async fn positions(api: &Api) -> anyhow::Result<BTreeMap<String, f64>> {
    let d = api
        .gql("{ positions { chain usd error } }", Value::Null)
        .await
        .context("reading positions")?;
    let mut out = BTreeMap::new();
    for p in d["positions"].as_array().into_iter().flatten() {
        let chain = p["chain"].as_str().unwrap_or_default().to_string();
        if let Some(e) = p["error"].as_str() {
            crate::out!("  {chain}: positions unreadable ({e}); left out");
            continue;
        }
        out.insert(chain, p["usd"].as_f64().unwrap_or(0.0));
    }
    Ok(out)
}

/// One round: quote where the treasury's capital should sit, print the plan, and, unless a
/// guard rail holds (or `--dry-run`), carry out its moves and follow them until confirmed.
async fn round(api: &Api, args: &RebalanceArgs, plan: &Value) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    crate::out!("rebalance round at {}", now.to_rfc3339());
    let mut quote = treasury_quote(api, plan).await?;
    let gain = quote["objective_usd"].as_f64().unwrap_or(0.0);
    let all_moves: Vec<Value> = quote["moves"].as_array().cloned().unwrap_or_default();
    print_plan(&quote, gain, &all_moves)?;
    let Some(moves) = moves_to_make(api, args, gain, all_moves, now).await? else {
        return Ok(());
    };
    if args.dry_run {
        for m in &moves {
            crate::out!(
                "dry run: would move {:.2} USD {} → {} as {}",
                m["usd"].as_f64().unwrap_or(0.0),
                m["from"].as_str().unwrap_or("?"),
                m["to"].as_str().unwrap_or("?"),
                args.token
            );
        }
        return Ok(());
    }
    quote["moves"] = Value::Array(moves);
    let executed = execute(api, args, &quote, now).await?;
    follow_transfers(api, args, &executed).await?;
    crate::out!("rebalanced: {} move(s) confirmed", executed.len());
    Ok(())
}

/// Prints the treasury's positions and returns `quoteAllocation`'s answer for the plan with
/// that capital.
async fn treasury_quote(api: &Api, plan: &Value) -> anyhow::Result<Value> {
    let capital = positions(api).await?;
    for (chain, usd) in &capital {
        crate::out!("  treasury on {chain}: {usd:.2} USD");
    }
    let mut input = plan.clone();
    input["capital"] = capital
        .iter()
        .filter(|(_, usd)| **usd > 0.0)
        .map(|(chain, usd)| json!({ "chain": chain, "usd": usd }))
        .collect();
    let d = api
        .gql(
            "query($input: JSON!) { quoteAllocation(input: $input) }",
            json!({ "input": input }),
        )
        .await
        .context("quoteAllocation")?;
    Ok(d["quoteAllocation"].clone())
}

/// Prints the quote: its net gain, its allocations and all its moves.
fn print_plan(quote: &Value, gain: f64, all_moves: &[Value]) -> Result<(), crate::StdoutClosed> {
    crate::out!(
        "  plan: net gain {gain:.2} USD over {} days (status {})",
        quote["horizon_days"],
        quote["status"]
    );
    for a in quote["allocations"].as_array().into_iter().flatten() {
        crate::out!(
            "    {:<60} {:>14.2} USD  marginal APY {:.3}%",
            a["pool"].as_str().unwrap_or("?"),
            a["usd"].as_f64().unwrap_or(0.0),
            a["marginal_apy"].as_f64().unwrap_or(0.0) * 100.0
        );
    }
    for m in all_moves {
        crate::out!(
            "    move {} → {}: {:.2} USD (cost {:.2})",
            m["from"].as_str().unwrap_or("?"),
            m["to"].as_str().unwrap_or("?"),
            m["usd"].as_f64().unwrap_or(0.0),
            m["cost_usd"].as_f64().unwrap_or(0.0)
        );
    }
    Ok(())
}

/// The guard rails, in order: the net gain, the smallest move, the cooldown, the gas
/// ceilings and the balances right now. Returns the moves that pass, or `None` (having said
/// why) to hold.
async fn moves_to_make(
    api: &Api,
    args: &RebalanceArgs,
    gain: f64,
    all_moves: Vec<Value>,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Option<Vec<Value>>> {
    if gain < args.min_gain_usd {
        crate::out!(
            "hold: the net gain {gain:.2} USD is below --min-gain-usd {}",
            args.min_gain_usd
        );
        return Ok(None);
    }
    let mut moves: Vec<Value> = all_moves
        .into_iter()
        .filter(|m| m["usd"].as_f64().unwrap_or(0.0) >= args.min_move_usd)
        .collect();
    if moves.is_empty() {
        crate::out!(
            "hold: no move of at least --min-move-usd {} USD",
            args.min_move_usd
        );
        return Ok(None);
    }
    if in_cooldown(api, args, now).await? {
        return Ok(None);
    }
    if !args.max_gas_gwei.is_empty() {
        moves = under_gas_ceilings(api, args, moves).await?;
        if moves.is_empty() {
            crate::out!("hold: every move is over its chain's gas ceiling");
            return Ok(None);
        }
    }
    if !balances_cover(api, &moves).await? {
        return Ok(None);
    }
    Ok(Some(moves))
}

/// Whether the treasury moved within `--cooldown` (from its own history, shared by every
/// bot); says so when it did.
async fn in_cooldown(
    api: &Api,
    args: &RebalanceArgs,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    let d = api
        .gql("{ treasuryMoves(first: 1) { id createdAt } }", Value::Null)
        .await?;
    if let Some(last) = d["treasuryMoves"][0]["createdAt"].as_str() {
        let last = chrono::DateTime::parse_from_rfc3339(last)?.with_timezone(&chrono::Utc);
        let since = (now - last).to_std().unwrap_or_default();
        if since < args.cooldown {
            crate::out!(
                "hold: cooldown: the treasury's last move was {} ago (--cooldown {})",
                humantime::format_duration(Duration::from_secs(since.as_secs())),
                humantime::format_duration(args.cooldown)
            );
            return Ok(true);
        }
    }
    Ok(false)
}

/// The moves whose source chain's gas price is known and within its `--max-gas-gwei`
/// ceiling (or has no ceiling); says which are skipped and why.
async fn under_gas_ceilings(
    api: &Api,
    args: &RebalanceArgs,
    moves: Vec<Value>,
) -> anyhow::Result<Vec<Value>> {
    let d = api
        .gql("{ chains { name gasPriceGwei } }", Value::Null)
        .await?;
    let gas: BTreeMap<String, Option<f64>> = d["chains"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["gasPriceGwei"].as_f64(),
            )
        })
        .collect();
    let mut kept = Vec::new();
    for m in moves {
        let from = m["from"].as_str().unwrap_or_default().to_string();
        let Some((_, ceiling)) = args.max_gas_gwei.iter().find(|(c, _)| *c == from) else {
            kept.push(m);
            continue;
        };
        match gas.get(&from).copied().flatten() {
            Some(now) if now <= *ceiling => kept.push(m),
            Some(now) => {
                crate::out!(
                    "  skip move out of {from}: gas {now:.2} gwei over the ceiling {ceiling}"
                );
            }
            None => crate::out!("  skip move out of {from}: its gas price is unknown"),
        }
    }
    Ok(kept)
}

/// Balances again, right before moving: whether every chain still holds what the moves take
/// out of it (a stale plan must not move what is gone); says which does not.
async fn balances_cover(api: &Api, moves: &[Value]) -> anyhow::Result<bool> {
    let fresh = positions(api).await?;
    let mut out_of: BTreeMap<String, f64> = BTreeMap::new();
    for m in moves {
        *out_of
            .entry(m["from"].as_str().unwrap_or_default().to_string())
            .or_default() += m["usd"].as_f64().unwrap_or(0.0);
    }
    for (chain, usd) in &out_of {
        let now_held = fresh.get(chain).copied().unwrap_or(0.0);
        if now_held + 1e-6 < *usd {
            crate::out!(
                "hold: {chain} now holds {now_held:.2} USD, less than the {usd:.2} USD the plan moves out of it"
            );
            return Ok(false);
        }
    }
    Ok(true)
}

/// Carries out `quote`'s moves with `executeRebalance` (idempotent within one cooldown
/// window) and prints each; returns them as the API answered.
async fn execute(
    api: &Api,
    args: &RebalanceArgs,
    quote: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<Value>> {
    let window =
        now.timestamp() / i64::try_from(args.cooldown.as_secs().max(1)).unwrap_or(i64::MAX);
    let key = format!("rebalance-{window}");
    let d = api
        .gql(
            "mutation($q: JSON!, $k: String!, $t: String!) { executeRebalance(quote: $q, idempotencyKey: $k, token: $t) { id fromChain toChain symbol amount status txHash error } }",
            json!({ "q": quote, "k": key, "t": args.token }),
        )
        .await
        .context("executeRebalance")?;
    let executed = d["executeRebalance"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for m in &executed {
        crate::out!(
            "  moved {} {} → {}: {} (tx {}){}",
            m["symbol"].as_str().unwrap_or("?"),
            m["fromChain"].as_str().unwrap_or("?"),
            m["toChain"].as_str().unwrap_or("?"),
            m["status"].as_str().unwrap_or("?"),
            m["txHash"].as_str().unwrap_or("?"),
            m["error"]
                .as_str()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
    }
    Ok(executed)
}

/// Waits for every included deposit's transfer to be recorded, then to settle, all within
/// `--settle-timeout`; an error unless each is confirmed.
async fn follow_transfers(
    api: &Api,
    args: &RebalanceArgs,
    executed: &[Value],
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + args.settle_timeout;
    for m in executed.iter().filter(|m| m["status"] == "included") {
        let id = m["id"].as_str().unwrap_or_default();
        let transfer = recorded_transfer(api, id, deadline).await?;
        crate::out!("  following transfer {transfer}");
        let end = tokio::time::timeout_at(deadline, api.until_settled(&transfer))
            .await
            .map_err(|_| {
                anyhow::anyhow!("transfer {transfer}: not settled within --settle-timeout")
            })??;
        if end != "confirmed" {
            anyhow::bail!("transfer {transfer} {end}: see `atoll relayer show {transfer}`");
        }
    }
    Ok(())
}

/// The transfer the bridge recorded for treasury move `id`, polled until `deadline`.
async fn recorded_transfer(
    api: &Api,
    id: &str,
    deadline: tokio::time::Instant,
) -> anyhow::Result<String> {
    loop {
        let d = api
            .gql(
                "{ treasuryMoves(first: 100) { id transfer { id } } }",
                Value::Null,
            )
            .await?;
        let found = d["treasuryMoves"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["id"] == id)
            .and_then(|t| t["transfer"]["id"].as_str().map(str::to_string));
        if let Some(t) = found {
            return Ok(t);
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("move {id}: the bridge recorded no transfer within --settle-timeout");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
