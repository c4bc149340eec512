//! A quote: the target allocation, the moves that reach it (aggregated per source and
//! destination chain, each with its route, cost and ETA), and whether the plan is worth doing.
//!
//! Without fixed costs the allocation is the exact optimum of [`crate::transport`]. Fixed costs
//! (a route's per-move fees and gas) make the problem non-convex; they are handled by dropping,
//! one at a time, the move whose gain (the objective with it minus without it) falls furthest
//! short of its fixed cost, and solving again, until every remaining move pays for itself. The
//! output says so in `notes`.

use serde::Serialize;

use crate::RouterError;
use crate::demand::{ChainDemand, JUMP, PoolCurve};
use crate::input::{InputProblem, PoolKind, Problem, QuoteInput};
use crate::lending::ReserveCurve;
use crate::routes::Routes;
use crate::transport::{Market, Solution};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The best plan places all capital.
    Optimal,
    /// Constraints (caps, nothing worth its cost) leave some capital idle.
    Partial,
    /// The plan's net gain over the horizon is below `min_gain_usd`: do nothing.
    Hold,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allocation {
    pub pool: String,
    pub chain: String,
    pub kind: PoolKind,
    pub usd: f64,
    /// Yearly yield of the next dollar in this pool (a fraction, 0.05 = 5 %).
    pub marginal_apy: f64,
    /// The pool's yearly yield once this allocation is in (every dollar of it earns this; for a
    /// reserve, its supply APY then).
    pub apy: f64,
    /// A reserve's utilisation once this allocation is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization: Option<f64>,
    /// Earned over the horizon.
    pub gain_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Move {
    pub from: String,
    pub to: String,
    pub usd: f64,
    /// Chains in order, source first.
    pub route: Vec<String>,
    /// Per-dollar fees plus the route's fixed costs and gas.
    pub cost_usd: f64,
    pub eta_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excluded {
    pub pool: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    pub status: Status,
    pub allocations: Vec<Allocation>,
    pub moves: Vec<Move>,
    pub unallocated_usd: f64,
    pub gain_usd: f64,
    pub cost_usd: f64,
    /// Gain minus cost over the horizon.
    pub objective_usd: f64,
    pub horizon_days: f64,
    pub excluded: Vec<Excluded>,
    pub notes: Vec<String>,
}

/// Solves `input`.
pub fn quote(input: &QuoteInput) -> Result<Quote, RouterError> {
    let problem = input.validate().map_err(RouterError::Input)?;
    let n = problem.chains.len();
    let routes = Routes::new(n, &problem.bridges, &problem.gas_usd);
    let total: f64 = problem.capital.iter().sum();
    let (curves, excluded) = pool_curves(&problem, &routes, total)?;
    let market = ActiveMarket::new(&problem, &routes, &curves, total);
    let (solution, dropped) = market.solve_paying_moves()?;
    let mut notes = vec![format!(
        "fixed costs (per-move bridge fees and gas) are handled by dropping moves whose gain does not cover them and solving again; {dropped} move(s) dropped"
    )];
    if !solution.verified {
        notes.push(
            "the optimality check did not pass within its tolerance; the best feasible plan found is returned".into(),
        );
    }

    let allocations = market.allocations(&problem, &curves, &solution);
    notes.extend(market.past_kink_notes(&problem, &curves, &solution));
    let (moves, fixed_total) = market.moves(&problem, &solution);
    let gain_usd: f64 = allocations.iter().map(|a| a.gain_usd).sum();
    let cost_usd = solution.transport_cost + fixed_total;
    let objective_usd = gain_usd - cost_usd;
    let placed: f64 = allocations.iter().map(|a| a.usd).sum();
    let unallocated_usd = (total - placed).max(0.0);

    if objective_usd < problem.min_gain_usd {
        notes.push(format!(
            "the best plan nets {objective_usd:.2} USD over {} days, below min_gain_usd {:.2}: hold",
            problem.horizon_days, problem.min_gain_usd
        ));
        return Ok(hold(&problem, total, excluded, notes));
    }
    Ok(Quote {
        status: if unallocated_usd > 1e-6 * total.max(1.0) {
            Status::Partial
        } else {
            Status::Optimal
        },
        allocations,
        moves,
        unallocated_usd,
        gain_usd,
        cost_usd,
        objective_usd,
        horizon_days: problem.horizon_days,
        excluded,
        notes,
    })
}

/// One chain's pools and lending reserves as curves over the horizon, each tagged with its
/// index in `problem.pools`.
#[derive(Debug, Clone, Default)]
struct Curves {
    pools: Vec<(usize, PoolCurve)>,
    reserves: Vec<(usize, ReserveCurve)>,
}

impl Curves {
    fn is_empty(&self) -> bool {
        self.pools.is_empty() && self.reserves.is_empty()
    }
}

type ChainCurves = Vec<Curves>;

/// The pools that may receive capital, as curves per chain, and the reasons the others get
/// nothing. A pool that no chain holding capital can reach is an input error (all of them are
/// reported at once). `total`: all the capital.
fn pool_curves(
    problem: &Problem<'_>,
    routes: &Routes,
    total: f64,
) -> Result<(ChainCurves, Vec<Excluded>), RouterError> {
    let n = problem.chains.len();
    let mut curves: ChainCurves = vec![Curves::default(); n];
    let mut excluded = Vec::new();
    let mut unreachable = Vec::new();
    for (i, p) in problem.pools.iter().enumerate() {
        if let Some(reason) = p.excluded {
            excluded.push(Excluded {
                pool: p.id.to_string(),
                reason: reason.into(),
            });
            continue;
        }
        let reachable = problem.capital[p.chain] > 0.0
            || (0..n).any(|a| problem.capital[a] > 0.0 && routes.table[a][p.chain].is_some());
        if !reachable {
            unreachable.push(InputProblem {
                path: format!("pools[{i}].chain"),
                message: format!(
                    "no bridge route to {} from any chain holding capital",
                    problem.chains[p.chain]
                ),
            });
            continue;
        }
        if p.income_usd_year <= 0.0 {
            excluded.push(Excluded {
                pool: p.id.to_string(),
                reason: "earns nothing".into(),
            });
            continue;
        }
        let cap = room(problem, i, total);
        match problem.reserve(p) {
            Some(l) => curves[p.chain]
                .reserves
                .push((i, ReserveCurve::new(&l.reserve, problem.horizon_days, cap))),
            None => curves[p.chain].pools.push((
                i,
                PoolCurve {
                    f: p.income_usd_year * problem.horizon_days / 365.0,
                    t: p.tvl_usd,
                    cap,
                },
            )),
        }
    }
    if !unreachable.is_empty() {
        return Err(RouterError::Input(unreachable));
    }
    Ok((curves, excluded))
}

/// Most pool `i` may take: its share of TVL, `max_per_pool_usd`, a reserve's supply-cap room,
/// and, for a reserve whose supply rate has a positive floor, `total` (all the capital).
fn room(problem: &Problem<'_>, i: usize, total: f64) -> f64 {
    let p = &problem.pools[i];
    let share_cap = p.max_share_of_tvl.map_or(f64::INFINITY, |s| s * p.tvl_usd);
    let reserve = problem.reserve(p);
    let supply_cap = reserve.map_or(f64::INFINITY, |l| l.supply_cap_room_usd);
    let room = share_cap.min(problem.max_per_pool_usd).min(supply_cap);
    // A Compound v3 reserve with a positive base rate pays every dollar at least that rate,
    // however much it takes: without a room it would take unbounded capital at marginals below
    // it, its gain unbounded. No allocation puts more than all the capital into one reserve,
    // so this bound changes no feasible plan: it is exact.
    if reserve.is_some_and(|l| l.reserve.min_supply_rate() > 0.0) {
        room.min(total)
    } else {
        room
    }
}

/// The market the solver works on: the chains that hold capital or have pools, renumbered
/// `0..active.len()` (solver index `k` is chain `active[k]`).
struct ActiveMarket<'r> {
    active: Vec<usize>,
    demand: Vec<ChainDemand>,
    capital: Vec<f64>,
    chain_cap: Vec<f64>,
    cost: Vec<Vec<f64>>,
    routes: &'r Routes,
    /// All capital (USD): the scale of "too small to count".
    total: f64,
}

impl<'r> ActiveMarket<'r> {
    /// Restricts the problem to its active chains.
    fn new(
        problem: &Problem<'_>,
        routes: &'r Routes,
        curves: &ChainCurves,
        total: f64,
    ) -> ActiveMarket<'r> {
        let n = problem.chains.len();
        let active: Vec<usize> = (0..n)
            .filter(|&c| problem.capital[c] > 0.0 || !curves[c].is_empty())
            .collect();
        let demand: Vec<ChainDemand> = active
            .iter()
            .map(|&c| {
                let pools: Vec<PoolCurve> = curves[c].pools.iter().map(|(_, p)| *p).collect();
                let reserves: Vec<ReserveCurve> =
                    curves[c].reserves.iter().map(|(_, r)| *r).collect();
                ChainDemand::with_reserves(&pools, &reserves)
            })
            .collect();
        let capital: Vec<f64> = active.iter().map(|&c| problem.capital[c]).collect();
        let chain_cap = vec![problem.max_chain_share * total; active.len()];
        let full_cost = routes.cost_matrix();
        let cost: Vec<Vec<f64>> = active
            .iter()
            .map(|&a| active.iter().map(|&b| full_cost[a][b]).collect())
            .collect();
        ActiveMarket {
            active,
            demand,
            capital,
            chain_cap,
            cost,
            routes,
            total,
        }
    }

    /// The fixed cost (fees and gas, USD) of one move from `a` to `b` (solver indices).
    fn fixed(&self, a: usize, b: usize) -> f64 {
        self.routes.table[self.active[a]][self.active[b]]
            .as_ref()
            .map_or(0.0, |r| r.fixed_usd)
    }

    /// The convex optimum without the `forbidden` moves.
    fn solve(&self, forbidden: &[(usize, usize)]) -> Result<Solution, RouterError> {
        Market {
            capital: &self.capital,
            demand: &self.demand,
            chain_cap: &self.chain_cap,
            cost: &self.cost,
            forbidden,
        }
        .solve()
        .map_err(RouterError::Solver)
    }

    /// The moves (solver indices) that carry more than a rounding residue.
    fn used(&self, s: &Solution) -> Vec<(usize, usize)> {
        let tiny = 1e-9 * self.total.max(1.0);
        let mut arcs = Vec::new();
        for (a, row) in s.flows.iter().enumerate() {
            for (b, f) in row.iter().enumerate() {
                if a != b && *f > tiny {
                    arcs.push((a, b));
                }
            }
        }
        arcs
    }

    /// Solves, then drops the move that falls furthest short of its fixed cost and solves
    /// again, until every move pays for itself (module doc). Returns the plan and how many
    /// moves were dropped.
    fn solve_paying_moves(&self) -> Result<(Solution, usize), RouterError> {
        let mut forbidden: Vec<(usize, usize)> = Vec::new();
        let mut solution = self.solve(&forbidden)?;
        let mut dropped = 0;
        while let Some(arc) = self.worst_unpaid_move(&solution, &forbidden)? {
            forbidden.push(arc);
            dropped += 1;
            solution = self.solve(&forbidden)?;
        }
        Ok((solution, dropped))
    }

    /// Of the moves `solution` makes, the one whose gain (the objective with it minus without
    /// it) falls furthest short of its fixed cost; `None` when every move pays.
    fn worst_unpaid_move(
        &self,
        solution: &Solution,
        forbidden: &[(usize, usize)],
    ) -> Result<Option<(usize, usize)>, RouterError> {
        let mut worst: Option<((usize, usize), f64)> = None;
        for arc in self.used(solution) {
            // Without a fixed cost a move always pays: taking it away cannot raise the optimum.
            if self.fixed(arc.0, arc.1) <= 0.0 {
                continue;
            }
            let mut without = forbidden.to_vec();
            without.push(arc);
            let alternative = self.solve(&without)?;
            let net = solution.objective() - alternative.objective() - self.fixed(arc.0, arc.1);
            if net < 0.0 && worst.is_none_or(|w| net < w.1) {
                worst = Some((arc, net));
            }
        }
        Ok(worst.map(|(arc, _)| arc))
    }

    /// Each pool's amount from its chain's marginal, largest first.
    fn allocations(
        &self,
        problem: &Problem<'_>,
        curves: &ChainCurves,
        solution: &Solution,
    ) -> Vec<Allocation> {
        let tiny = 1e-9 * self.total.max(1.0);
        let per_year = 365.0 / problem.horizon_days;
        let mut allocations = Vec::new();
        for (k, &c) in self.active.iter().enumerate() {
            let lambda = self.demand[k].marginal_at(solution.placed[k]);
            let mut push = |i: usize, x: f64, marginal: f64, apy: f64, gain: f64| {
                let p = &problem.pools[i];
                allocations.push(Allocation {
                    pool: p.id.to_string(),
                    chain: problem.chains[c].clone(),
                    kind: if p.lending.is_some() {
                        PoolKind::Lending
                    } else {
                        PoolKind::Dex
                    },
                    usd: x,
                    marginal_apy: marginal,
                    apy,
                    utilization: problem.reserve(p).map(|l| l.reserve.utilization(x)),
                    gain_usd: gain,
                });
            };
            let mut taken = 0.0;
            for (i, curve) in &curves[c].pools {
                let x = curve.deposit_at(lambda);
                taken += x;
                if x > tiny {
                    let p = &problem.pools[*i];
                    let total = p.tvl_usd + x;
                    let marginal = p.income_usd_year * p.tvl_usd / (total * total);
                    push(*i, x, marginal, p.income_usd_year / total, curve.gain(x));
                }
            }
            let reserves = &curves[c].reserves;
            let mut amounts: Vec<f64> =
                reserves.iter().map(|(_, r)| r.deposit_at(lambda)).collect();
            taken += amounts.iter().sum::<f64>();
            settle_jump(
                reserves,
                &mut amounts,
                lambda,
                solution.placed[k] - taken,
                tiny,
            );
            for ((i, curve), &x) in reserves.iter().zip(&amounts) {
                if x > tiny {
                    let apy = problem
                        .reserve(&problem.pools[*i])
                        .map_or(0.0, |l| l.reserve.supply_apy(x));
                    push(*i, x, curve.marginal(x) * per_year, apy, curve.gain(x));
                }
            }
        }
        allocations.sort_by(|a, b| b.usd.total_cmp(&a.usd));
        allocations
    }

    /// The check that stopping reserves above their kink costs nothing (docs/router.md,
    /// "Lending reserves"): at the plan's marginal `λ` of its chain, a reserve's amount `x`
    /// must earn `g(x) − λx` at least as large as the best deposit past the kink would.
    /// When every reserve passes, the plan is optimal without the bound too (each amount is
    /// a best response to the same prices over the reserve's whole range); a note names each
    /// one that does not.
    fn past_kink_notes(
        &self,
        problem: &Problem<'_>,
        curves: &ChainCurves,
        solution: &Solution,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        for (k, &c) in self.active.iter().enumerate() {
            if curves[c].reserves.is_empty() {
                continue;
            }
            let lambda = self.demand[k].marginal_at(solution.placed[k]);
            for (i, curve) in &curves[c].reserves {
                let Some(l) = problem.reserve(&problem.pools[*i]) else {
                    continue;
                };
                // No plan puts more than all the capital into one reserve: past the kink the
                // gain may keep rising (no marginal zero) and the best deposit be unbounded.
                let room = room(problem, *i, self.total).min(self.total);
                let Some(past) = ReserveCurve::past_kink(&l.reserve, problem.horizon_days, room)
                else {
                    continue;
                };
                let x = curve.deposit_at(lambda);
                let y = past.deposit_at(lambda);
                let here = curve.gain(x) - lambda * x;
                let there = past.gain(y) - lambda * y;
                if there > here * (1.0 + 1e-9) + 1e-9 {
                    notes.push(format!(
                        "lending reserve {} is kept above its optimal utilisation ({:.2} USD more supply reaches it): at this plan's marginal ({:.4} a year), {:.2} USD past the kink would net {:.2} USD more over the horizon; the plan is optimal with that bound, not without it (docs/router.md, \"Lending reserves\")",
                        problem.pools[*i].id,
                        l.reserve.borrowed / l.reserve.rates.optimal - l.reserve.supplied,
                        lambda * 365.0 / problem.horizon_days,
                        y,
                        there - here
                    ));
                }
            }
        }
        notes
    }

    /// The plan's moves, each with its route, and the sum of their routes' fixed costs.
    fn moves(&self, problem: &Problem<'_>, solution: &Solution) -> (Vec<Move>, f64) {
        let mut moves = Vec::new();
        let mut fixed_total = 0.0;
        for (a, b) in self.used(solution) {
            let usd = solution.flows[a][b];
            let Some(route) = self.routes.table[self.active[a]][self.active[b]].as_ref() else {
                continue;
            };
            fixed_total += route.fixed_usd;
            moves.push(Move {
                from: problem.chains[self.active[a]].clone(),
                to: problem.chains[self.active[b]].clone(),
                usd,
                route: route
                    .path
                    .iter()
                    .map(|c| problem.chains[*c].clone())
                    .collect(),
                cost_usd: usd * route.fee + route.fixed_usd,
                eta_s: route.eta_s,
            });
        }
        (moves, fixed_total)
    }
}

/// Where a chain's demand jumps at its marginal `λ` ([`crate::demand::JUMP`]: a Compound v3
/// reserve whose rate hardly moves with its supply), the deposits at `λ` miss the chain's
/// amount by `missed`, more than rounding (`tiny`). The reserves whose deposit moves within
/// that band of `λ` settle it, each at most as far as its deposit at a marginal that much
/// lower (or higher): every dollar moved earns `λ` to that precision, so the split stays the
/// optimal one. Without a jump, `missed` is rounding and nothing moves.
fn settle_jump(
    reserves: &[(usize, ReserveCurve)],
    amounts: &mut [f64],
    lambda: f64,
    mut missed: f64,
    tiny: f64,
) {
    // (Nor NaN: `clamp` below needs numbers.)
    if missed.is_nan() || missed.abs() <= tiny {
        return;
    }
    for ((_, r), x) in reserves.iter().zip(amounts.iter_mut()) {
        let moved = if missed > 0.0 {
            (r.deposit_at(lambda * (1.0 - JUMP)) - *x).clamp(0.0, missed)
        } else {
            -(*x - r.deposit_at(lambda * (1.0 + JUMP))).clamp(0.0, -missed)
        };
        *x += moved;
        missed -= moved;
    }
}

/// The quote that moves nothing: all capital stays where it is.
fn hold(problem: &Problem<'_>, total: f64, excluded: Vec<Excluded>, notes: Vec<String>) -> Quote {
    Quote {
        status: Status::Hold,
        allocations: Vec::new(),
        moves: Vec::new(),
        unallocated_usd: total,
        gain_usd: 0.0,
        cost_usd: 0.0,
        objective_usd: 0.0,
        horizon_days: problem.horizon_days,
        excluded,
        notes,
    }
}

/// Parses and solves a JSON request.
pub fn quote_json(text: &str) -> Result<Quote, RouterError> {
    let input: QuoteInput = serde_json::from_str(text).map_err(|e| {
        RouterError::Input(vec![InputProblem {
            path: format!("line {} column {}", e.line(), e.column()),
            message: e.to_string(),
        }])
    })?;
    quote(&input)
}
