//! The cross-chain allocation: capital `K_a` sits on chains; a dollar moved from `a` to `b` costs
//! `p_ab` (per dollar, cheapest path); chain `b`'s pools take it at their marginal yield
//! ([`ChainDemand`]), at most `S_b` in total. Maximise the gain minus the transport cost.
//!
//! At the optimum every chain `c` has a marginal `λ_c`, which is also what a dollar sitting on
//! `c` is worth; a dollar moves from `a` to `b` only if `λ_b = λ_a + p_ab`, and never when
//! `λ_b < λ_a + p_ab`; capital is idle only where `λ = 0`. The arcs that carry money form a
//! forest in which no chain both sends and receives (costs are shortest paths, so sending through
//! a chain is never cheaper than sending directly). In each tree of that forest the marginals
//! are one free value `ν` plus the path costs, and `ν` is where the tree's demand meets its
//! capital: one monotone equation, solved by Newton's method inside a bracket that bisection
//! takes over when Newton stalls, to a few ulps. The solver enumerates
//! the forests (few: 3 chains have 6 possible arcs), solves each, keeps those whose solution
//! meets every optimality condition above, and returns the best. This is exact, and costs
//! `2^(chains·(chains−1))` small solves: fine for the 3 chains Atoll serves, refused above
//! [`MAX_CHAINS`].

use crate::demand::{ChainDemand, JUMP};

/// Beyond this many chains the forest enumeration is too large (2^20 patterns at 5).
pub const MAX_CHAINS: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct Market<'a> {
    /// Capital on each chain (USD).
    pub capital: &'a [f64],
    /// Each chain's pools.
    pub demand: &'a [ChainDemand],
    /// Most each chain may hold (USD, ∞ for no limit).
    pub chain_cap: &'a [f64],
    /// Per-dollar cost of moving from `a` to `b` (`cost[a][b]`, ∞ when no route, 0 on the
    /// diagonal); shortest paths, so the triangle inequality holds.
    pub cost: &'a [Vec<f64>],
    /// Moves that are not allowed (e.g. dropped because their fixed cost is not covered).
    pub forbidden: &'a [(usize, usize)],
}

#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// `λ_c`: what a marginal dollar on chain `c` earns over the horizon (its pools' marginal,
    /// or less when the chain is at its cap).
    pub marginal: Vec<f64>,
    /// Capital placed in each chain's pools.
    pub placed: Vec<f64>,
    /// `flows[a][b]`, `a ≠ b`: moved from `a` to `b`.
    pub flows: Vec<Vec<f64>>,
    /// Capital left idle on each chain (only where nothing earns).
    pub idle: Vec<f64>,
    pub gain: f64,
    pub transport_cost: f64,
    /// Whether the optimality conditions were checked and hold (false only when rounding kept
    /// every candidate from passing, and the best feasible one was returned).
    pub verified: bool,
}

impl Solution {
    pub fn objective(&self) -> f64 {
        self.gain - self.transport_cost
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransportError {
    #[error("{0} chains: the exact solver handles at most {MAX_CHAINS}")]
    TooManyChains(usize),
    #[error("inputs disagree on the number of chains")]
    Shape,
}

/// A forest's tree: its chains and their offsets from the tree's free marginal `ν`.
struct Tree {
    nodes: Vec<usize>,
    offset: Vec<f64>,
}

/// Per chain, what the forest's trees settled on: the marginal, the capital placed in the
/// chain's pools, and the capital left idle.
struct Placement {
    marginal: Vec<f64>,
    placed: Vec<f64>,
    idle: Vec<f64>,
}

fn find(parent: &mut [usize], x: usize) -> usize {
    let mut r = x;
    while parent[r] != r {
        r = parent[r];
    }
    let mut y = x;
    while parent[y] != r {
        let next = parent[y];
        parent[y] = r;
        y = next;
    }
    r
}

impl Market<'_> {
    fn n(&self) -> usize {
        self.capital.len()
    }

    fn taken(&self, c: usize, lambda: f64) -> f64 {
        self.demand[c].demand(lambda).min(self.chain_cap[c])
    }

    /// Arcs worth considering: a has capital, b is reachable and has a pool paying more than
    /// the trip.
    fn candidate_arcs(&self) -> Vec<(usize, usize)> {
        let n = self.n();
        let mut arcs = Vec::new();
        for a in 0..n {
            for b in 0..n {
                let p = self.cost[a][b];
                if a != b
                    && self.capital[a] > 0.0
                    && p.is_finite()
                    && self.demand[b].top_marginal > p
                    && self.chain_cap[b] > 0.0
                    && !self.forbidden.contains(&(a, b))
                {
                    arcs.push((a, b));
                }
            }
        }
        arcs
    }

    /// Splits the chains into the trees of `arcs`, or `None` when `arcs` is not a forest in
    /// which senders and receivers are apart.
    fn trees(&self, arcs: &[(usize, usize)]) -> Option<Vec<Tree>> {
        let n = self.n();
        let mut sends = vec![false; n];
        let mut receives = vec![false; n];
        let mut parent: Vec<usize> = (0..n).collect();
        for &(a, b) in arcs {
            sends[a] = true;
            receives[b] = true;
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra == rb {
                return None;
            }
            parent[ra] = rb;
        }
        if (0..n).any(|c| sends[c] && receives[c]) {
            return None;
        }
        let mut offset = vec![f64::NAN; n];
        let mut trees = Vec::new();
        for root in 0..n {
            if !offset[root].is_nan() {
                continue;
            }
            offset[root] = 0.0;
            let mut nodes = vec![root];
            let mut i = 0;
            while i < nodes.len() {
                let c = nodes[i];
                for &(a, b) in arcs {
                    let p = self.cost[a][b];
                    if a == c && offset[b].is_nan() {
                        offset[b] = offset[a] + p;
                        nodes.push(b);
                    } else if b == c && offset[a].is_nan() {
                        offset[a] = offset[b] - p;
                        nodes.push(a);
                    }
                }
                i += 1;
            }
            let offs = nodes.iter().map(|&c| offset[c]).collect();
            trees.push(Tree {
                nodes,
                offset: offs,
            });
        }
        Some(trees)
    }

    /// Solves the market restricted to `arcs`; `None` when that forest admits no solution
    /// with non-negative flows.
    fn solve_forest(&self, arcs: &[(usize, usize)]) -> Option<Solution> {
        let n = self.n();
        let trees = self.trees(arcs)?;
        let mut placement = Placement {
            marginal: vec![0.0; n],
            placed: vec![0.0; n],
            idle: vec![0.0; n],
        };
        for tree in &trees {
            let supply: f64 = tree.nodes.iter().map(|&c| self.capital[c]).sum();
            let nu = self.clearing_nu(tree, supply);
            self.place_tree(tree, nu, supply, &mut placement)?;
        }
        let Placement {
            marginal,
            placed,
            idle,
        } = placement;
        let flows = self.flows(arcs, &placed, &idle)?;
        let gain: f64 = (0..n).map(|c| self.demand[c].gain_of(placed[c])).sum();
        let transport_cost: f64 = arcs
            .iter()
            .map(|&(a, b)| flows[a][b] * self.cost[a][b])
            .sum();
        Some(Solution {
            marginal,
            placed,
            flows,
            idle,
            gain,
            transport_cost,
            verified: false,
        })
    }

    /// What the chains of `tree` take when its free marginal is `nu`.
    fn tree_taken(&self, tree: &Tree, nu: f64) -> f64 {
        tree.nodes
            .iter()
            .zip(&tree.offset)
            .map(|(&c, off)| self.taken(c, nu + off))
            .sum()
    }

    /// What the chains of `tree` take at free marginal `nu`, and its derivative in `nu`.
    fn tree_taken_slope(&self, tree: &Tree, nu: f64) -> (f64, f64) {
        let (mut taken, mut slope) = (0.0, 0.0);
        for (&c, off) in tree.nodes.iter().zip(&tree.offset) {
            let (d, s) = self.demand[c].demand_and_slope(nu + off);
            if d >= self.chain_cap[c] {
                taken += self.chain_cap[c];
            } else {
                taken += d;
                slope += s;
            }
        }
        (taken, slope)
    }

    /// The tree's free marginal `ν`: where its demand meets its `supply`; the lowest `ν` (every
    /// marginal `>= 0`) when demand falls short there. Newton's method inside a bracket
    /// `taken(lo) > supply >= taken(hi)` that every evaluation shrinks, bisecting when a step
    /// leaves it, the demand is flat or two steps in a row did not halve: it stops when the step is a
    /// few ulps (or the bracket two adjacent numbers). Each evaluation costs a cubic per
    /// lending reserve between its entry and its cap; Newton needs about 8 where bisection
    /// to the last bit took about 55.
    fn clearing_nu(&self, tree: &Tree, supply: f64) -> f64 {
        let lowest = tree.offset.iter().copied().fold(f64::INFINITY, f64::min);
        let nu_min = -lowest;
        if self.tree_taken(tree, nu_min) <= supply {
            return nu_min;
        }
        let mut lo = nu_min;
        let mut hi = tree
            .nodes
            .iter()
            .zip(&tree.offset)
            .map(|(&c, off)| self.demand[c].top_marginal - off)
            .fold(nu_min, f64::max);
        let (mut nu, mut last_step, mut slow) = (f64::NAN, f64::INFINITY, 0);
        loop {
            let mid = lo + (hi - lo) / 2.0;
            if mid <= lo || mid >= hi {
                break;
            }
            if !(nu > lo && nu < hi) || slow >= 2 {
                nu = mid;
                slow = 0;
            }
            let (taken, slope) = self.tree_taken_slope(tree, nu);
            let f = taken - supply;
            if f > 0.0 {
                lo = nu;
            } else {
                hi = nu;
            }
            let step = f / slope;
            if step.abs() <= 4.0 * f64::EPSILON * nu.abs() {
                return nu;
            }
            slow = if step.abs() > last_step / 2.0 {
                slow + 1
            } else {
                0
            };
            last_step = step.abs();
            // A flat demand (no slope) gives NaN or ∞: bisection.
            nu -= step;
        }
        hi
    }

    /// Sets the marginals and placements of `tree`'s chains at `nu`, and settles the
    /// difference to its `supply`: idle where a dollar earns nothing, else a rounding residue
    /// absorbed by the largest placement. `None` when the tree has no chain.
    fn place_tree(&self, tree: &Tree, nu: f64, supply: f64, at: &mut Placement) -> Option<()> {
        let Placement {
            marginal,
            placed,
            idle,
        } = at;
        let mut total = 0.0;
        for (&c, off) in tree.nodes.iter().zip(&tree.offset) {
            marginal[c] = (nu + off).max(0.0);
            placed[c] = self.taken(c, marginal[c]);
            total += placed[c];
        }
        // What the tree cannot place stays idle where a dollar earns nothing.
        let mut slack = supply - total;
        if slack > 0.0 {
            let holder = tree
                .nodes
                .iter()
                .zip(&tree.offset)
                .filter(|(c, off)| nu + **off <= 0.0 && self.capital[**c] > 0.0)
                .map(|(c, _)| *c)
                .next();
            if let Some(c) = holder {
                idle[c] = slack;
                return Some(());
            }
        }
        slack = self.settle_jumps(tree, marginal, placed, supply, slack);
        if slack > 0.0 {
            // Bisection left a rounding residue: absorb it in the largest placement.
            let c = *tree
                .nodes
                .iter()
                .max_by(|a, b| placed[**a].total_cmp(&placed[**b]))?;
            placed[c] += slack;
        } else if slack < 0.0 {
            let c = *tree
                .nodes
                .iter()
                .max_by(|a, b| placed[**a].total_cmp(&placed[**b]))?;
            placed[c] = (placed[c] + slack).max(0.0);
        }
        Some(())
    }

    /// Settles a `slack` beyond rounding (a demand that jumps at its marginal: see
    /// [`JUMP`]) on the chains of `tree` whose demand moves within that band of their
    /// marginal: each takes (or gives back) what it would at a marginal that much lower (or
    /// higher), so every dollar moved earns its chain's marginal. Returns what is left.
    fn settle_jumps(
        &self,
        tree: &Tree,
        marginal: &[f64],
        placed: &mut [f64],
        supply: f64,
        mut slack: f64,
    ) -> f64 {
        // (Nor NaN: `clamp` below needs numbers.)
        if slack.is_nan() || slack.abs() <= JUMP * supply {
            return slack;
        }
        for &c in &tree.nodes {
            let moved = if slack > 0.0 {
                (self.taken(c, marginal[c] * (1.0 - JUMP)) - placed[c]).clamp(0.0, slack)
            } else {
                -(placed[c] - self.taken(c, marginal[c] * (1.0 + JUMP))).clamp(0.0, -slack)
            };
            placed[c] += moved;
            slack -= moved;
        }
        slack
    }

    /// Flows on each tree, leaves first: what a leaf has beyond its own use crosses its arc.
    /// `None` when some arc would carry a negative amount.
    fn flows(
        &self,
        arcs: &[(usize, usize)],
        placed: &[f64],
        idle: &[f64],
    ) -> Option<Vec<Vec<f64>>> {
        let n = self.n();
        let mut flows = vec![vec![0.0; n]; n];
        let mut net: Vec<f64> = (0..n)
            .map(|c| self.capital[c] - placed[c] - idle[c])
            .collect();
        let mut remaining: Vec<(usize, usize)> = arcs.to_vec();
        let scale = self.capital.iter().sum::<f64>().max(1.0);
        while !remaining.is_empty() {
            let degree = |c: usize, rem: &[(usize, usize)]| {
                rem.iter().filter(|(a, b)| *a == c || *b == c).count()
            };
            // A leaf: an end of an arc that no other remaining arc touches.
            let (pos, leaf_is_sender) = remaining.iter().enumerate().find_map(|(i, &(a, b))| {
                if degree(a, &remaining) == 1 {
                    Some((i, true))
                } else if degree(b, &remaining) == 1 {
                    Some((i, false))
                } else {
                    None
                }
            })?;
            let (a, b) = remaining.swap_remove(pos);
            // A leaf sender ships all it does not use; a leaf receiver gets all it lacks.
            let amount = if leaf_is_sender { net[a] } else { -net[b] };
            if amount < -1e-9 * scale {
                return None;
            }
            let amount = amount.max(0.0);
            flows[a][b] = amount;
            net[a] -= amount;
            net[b] += amount;
        }
        Some(flows)
    }

    /// The optimality conditions of the module doc, within `tol` (relative).
    fn is_optimal(&self, s: &Solution) -> bool {
        let n = self.n();
        let top = s.marginal.iter().copied().fold(0.0, f64::max).max(1e-300);
        let tol = 1e-9 * top;
        for a in 0..n {
            if self.capital[a] <= 0.0 {
                continue;
            }
            for b in 0..n {
                if a == b || self.forbidden.contains(&(a, b)) {
                    continue;
                }
                let p = self.cost[a][b];
                if !p.is_finite()
                    || self.chain_cap[b] <= s.placed[b] + 1e-9 * self.chain_cap[b].min(1e300)
                {
                    continue;
                }
                // Would a dollar earn more on b after the trip than it earns on a?
                let b_pays = self.demand[b].next_dollar_marginal(s.placed[b]);
                if b_pays - p > s.marginal[a] + tol {
                    return false;
                }
            }
            if s.idle[a] > 0.0 && s.marginal[a] > tol {
                return false;
            }
        }
        true
    }

    /// The exact optimum.
    pub fn solve(&self) -> Result<Solution, TransportError> {
        let n = self.n();
        if n > MAX_CHAINS {
            return Err(TransportError::TooManyChains(n));
        }
        if self.demand.len() != n || self.chain_cap.len() != n || self.cost.len() != n {
            return Err(TransportError::Shape);
        }
        let arcs = self.candidate_arcs();
        let mut best: Option<Solution> = None;
        let mut best_any: Option<Solution> = None;
        for mask in 0u64..(1u64 << arcs.len()) {
            let chosen: Vec<(usize, usize)> = arcs
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, a)| *a)
                .collect();
            let Some(s) = self.solve_forest(&chosen) else {
                continue;
            };
            let better =
                |cur: &Option<Solution>| cur.as_ref().is_none_or(|c| s.objective() > c.objective());
            if self.is_optimal(&s) && better(&best) {
                best = Some(Solution {
                    verified: true,
                    ..s.clone()
                });
            }
            if better(&best_any) {
                best_any = Some(s);
            }
        }
        // Every forest is feasible or not; the empty one always is, so `best_any` exists.
        // When rounding kept every candidate from passing the check, the best feasible one is
        // the answer (the check's tolerance is the only difference).
        best.or(best_any).ok_or(TransportError::Shape)
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // matrix loops read best with indices
mod tests {
    use super::*;
    use crate::demand::PoolCurve;
    use crate::lending::ReserveCurve;
    use proptest::prelude::*;

    const INF: f64 = f64::INFINITY;

    fn pool(f: f64, t: f64, cap: f64) -> PoolCurve {
        PoolCurve { f, t, cap }
    }

    fn solve(
        capital: &[f64],
        pools: &[Vec<PoolCurve>],
        chain_cap: &[f64],
        cost: &[Vec<f64>],
    ) -> Solution {
        let demand: Vec<ChainDemand> = pools.iter().map(|p| ChainDemand::new(p)).collect();
        Market {
            capital,
            demand: &demand,
            chain_cap,
            cost,
            forbidden: &[],
        }
        .solve()
        .unwrap()
    }

    #[test]
    fn one_pool_takes_everything() {
        let s = solve(
            &[1_000.0],
            &[vec![pool(100.0, 1_000.0, INF)]],
            &[INF],
            &[vec![0.0]],
        );
        assert!((s.placed[0] - 1_000.0).abs() < 1e-9);
        assert!((s.gain - 50.0).abs() < 1e-9);
        assert!((s.marginal[0] - 0.025).abs() < 1e-12);
        assert_eq!(s.idle[0], 0.0);
    }

    #[test]
    fn a_binding_cap_leaves_the_rest_idle() {
        let s = solve(
            &[1_000.0],
            &[vec![pool(100.0, 1_000.0, 300.0)]],
            &[INF],
            &[vec![0.0]],
        );
        assert!((s.placed[0] - 300.0).abs() < 1e-9);
        assert!((s.idle[0] - 700.0).abs() < 1e-9);
        assert_eq!(s.marginal[0], 0.0);
    }

    #[test]
    fn a_bridge_fee_can_make_the_far_chain_lose() {
        // Chain 1 pays 12% at the margin, chain 0 10%; the trip costs 3%: stay.
        let pools = vec![vec![pool(100.0, 1e9, INF)], vec![pool(120.0, 1e9, INF)]];
        let pools: Vec<Vec<PoolCurve>> = pools
            .into_iter()
            .map(|v| v.into_iter().map(|p| pool(p.f * 1e6, p.t, p.cap)).collect())
            .collect();
        let cost = vec![vec![0.0, 0.03], vec![0.03, 0.0]];
        let s = solve(&[1_000.0, 0.0], &pools, &[INF, INF], &cost);
        assert_eq!(s.flows[0][1], 0.0);
        assert!((s.placed[0] - 1_000.0).abs() < 1e-9);
        // At 1% the trip pays: the money moves.
        let cost = vec![vec![0.0, 0.01], vec![0.01, 0.0]];
        let s = solve(&[1_000.0, 0.0], &pools, &[INF, INF], &cost);
        assert!((s.flows[0][1] - 1_000.0).abs() < 1e-9);
    }

    #[test]
    fn two_identical_pools_split_evenly_across_chains() {
        let p = pool(1_000.0, 10_000.0, INF);
        let cost = vec![vec![0.0, 0.0], vec![0.0, 0.0]];
        let s = solve(&[2_000.0, 0.0], &[vec![p], vec![p]], &[INF, INF], &cost);
        assert!((s.placed[0] - 1_000.0).abs() < 1e-6, "{s:?}");
        assert!((s.placed[1] - 1_000.0).abs() < 1e-6, "{s:?}");
        assert!((s.flows[0][1] - 1_000.0).abs() < 1e-6);
    }

    #[test]
    fn a_chain_cap_spills_to_the_next_chain() {
        let p = pool(1_000.0, 10_000.0, INF);
        let q = pool(500.0, 10_000.0, INF);
        let cost = vec![vec![0.0, 0.0], vec![0.0, 0.0]];
        let s = solve(&[3_000.0, 0.0], &[vec![p], vec![q]], &[1_000.0, INF], &cost);
        assert!((s.placed[0] - 1_000.0).abs() < 1e-6, "{s:?}");
        assert!((s.placed[1] - 2_000.0).abs() < 1e-6, "{s:?}");
    }

    /// Shortest paths (Floyd–Warshall) of random direct costs: the triangle inequality holds.
    fn shortest(direct: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let n = direct.len();
        let mut d = direct.to_vec();
        for (i, row) in d.iter_mut().enumerate() {
            row[i] = 0.0;
        }
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    let via = d[i][k] + d[k][j];
                    if via < d[i][j] {
                        d[i][j] = via;
                    }
                }
            }
        }
        d
    }

    #[derive(Debug, Clone)]
    struct Instance {
        capital: Vec<f64>,
        pools: Vec<Vec<PoolCurve>>,
        chain_cap: Vec<f64>,
        cost: Vec<Vec<f64>>,
        /// Lending reserves per chain (none in [`instance`]).
        reserves: Vec<Vec<ReserveCurve>>,
    }

    fn instance() -> impl Strategy<Value = Instance> {
        let chain = (
            0.0f64..2e6,
            prop::collection::vec(
                (
                    1e2f64..2e5,
                    1e5f64..5e7,
                    prop_oneof![Just(INF), 1e4f64..1e6],
                ),
                0..12,
            ),
            prop_oneof![Just(INF), 1e5f64..2e6],
        );
        (
            prop::collection::vec(chain, 3),
            prop::collection::vec(prop_oneof![Just(INF), 0.0f64..0.02], 9),
        )
            .prop_map(|(chains, direct)| {
                let direct: Vec<Vec<f64>> = (0..3)
                    .map(|a| (0..3).map(|b| direct[a * 3 + b]).collect())
                    .collect();
                Instance {
                    capital: chains.iter().map(|c| c.0).collect(),
                    pools: chains
                        .iter()
                        .map(|c| c.1.iter().map(|&(f, t, cap)| pool(f, t, cap)).collect())
                        .collect(),
                    chain_cap: chains.iter().map(|c| c.2).collect(),
                    cost: shortest(&direct),
                    reserves: vec![Vec::new(); 3],
                }
            })
    }

    /// A reserve at the scale of [`instance`]'s pools (supply $100k–$50M, below or above its
    /// kink, some with incentives or a cap): Aave's, or one time in three Compound v3's (no
    /// reserve factor, the curve the supply rate; with a base rate half the time, and then a
    /// finite room, as the quote gives it).
    fn reserve() -> impl Strategy<Value = ReserveCurve> {
        (
            (1e5f64..5e7, 0.0f64..1.0, 0.0f64..0.03, 0.0f64..0.3),
            (0.0f64..0.03, 0.01f64..0.1, 0.0f64..3.0, 0.4f64..0.95),
            prop_oneof![Just(INF), 1e4f64..1e6],
            (0u8..6, 1e4f64..1e7),
        )
            .prop_map(|(size, rates, room, kind)| {
                crate::lending::sample_curve(size, rates, room, kind)
            })
    }

    /// [`instance`] with up to 4 lending reserves on each chain.
    fn lending_instance() -> impl Strategy<Value = Instance> {
        (
            instance(),
            prop::collection::vec(prop::collection::vec(reserve(), 0..4), 3),
        )
            .prop_map(|(inst, reserves)| Instance { reserves, ..inst })
    }

    fn solve_instance(inst: &Instance) -> (Solution, Vec<ChainDemand>) {
        let demand: Vec<ChainDemand> = (0..3)
            .map(|c| ChainDemand::with_reserves(&inst.pools[c], &inst.reserves[c]))
            .collect();
        let s = Market {
            capital: &inst.capital,
            demand: &demand,
            chain_cap: &inst.chain_cap,
            cost: &inst.cost,
            forbidden: &[],
        }
        .solve()
        .unwrap();
        (s, demand)
    }

    /// `max over 0 ≤ x ≤ cap of g(x) − price·x` for a reserve, by golden-section search on its
    /// concave range: independent of the cubic the solver inverts.
    fn best_response(r: &ReserveCurve, price: f64) -> f64 {
        if price <= 0.0 {
            return r.gain_limit();
        }
        let mut hi = r.cap();
        if !hi.is_finite() {
            hi = r.supplied();
            while r.marginal(hi) > price {
                hi *= 2.0;
            }
        }
        let value = |x: f64| r.gain(x) - price * x;
        let (mut a, mut b) = (0.0, hi);
        let phi = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..200 {
            let (c, d) = (b - phi * (b - a), a + phi * (b - a));
            if value(c) >= value(d) {
                b = d;
            } else {
                a = c;
            }
        }
        value(a).max(value(0.0)).max(value(hi))
    }

    /// An upper bound on the optimum from the solution's prices (Lagrangian duality): with
    /// `ν_b` what a dollar on chain `b` is worth and `ρ_b >= 0` its cap's price, a dollar on
    /// `a` is worth `μ_a = max_b(ν_b − p_ab)` (`b = a` included), and each pool and reserve
    /// earns at most its best response to `ν_b + ρ_b`.
    fn dual_bound(inst: &Instance, s: &Solution, demand: &[ChainDemand]) -> f64 {
        let mut bound = 0.0;
        for b in 0..3 {
            let nu = s.marginal[b];
            let lambda = demand[b].marginal_at(s.placed[b]);
            let capped =
                inst.chain_cap[b].is_finite() && s.placed[b] >= inst.chain_cap[b] * (1.0 - 1e-12);
            let price = if capped { lambda.max(nu) } else { nu };
            if capped {
                bound += (price - nu) * inst.chain_cap[b];
            }
            for p in &inst.pools[b] {
                let x = p.deposit_at(price);
                bound += if x.is_finite() {
                    p.gain(x) - price * x
                } else {
                    p.f
                };
            }
            for r in &inst.reserves[b] {
                bound += best_response(r, price);
            }
        }
        for a in 0..3 {
            let mu = (0..3)
                .filter(|&b| inst.cost[a][b].is_finite())
                .map(|b| s.marginal[b] - inst.cost[a][b])
                .fold(0.0, f64::max);
            bound += mu * inst.capital[a];
        }
        bound
    }

    /// The objective of an allocation given as flows (diagonal = kept at home) and amounts
    /// (per chain, its pools' then its reserves').
    fn objective(inst: &Instance, flows: &[Vec<f64>], x: &[Vec<f64>]) -> f64 {
        let mut gain = 0.0;
        for (c, xs) in x.iter().enumerate() {
            let (xp, xr) = xs.split_at(inst.pools[c].len());
            gain += inst.pools[c]
                .iter()
                .zip(xp)
                .map(|(p, x)| p.gain(*x))
                .sum::<f64>();
            gain += inst.reserves[c]
                .iter()
                .zip(xr)
                .map(|(r, x)| r.gain(*x))
                .sum::<f64>();
        }
        let mut cost = 0.0;
        for a in 0..3 {
            for b in 0..3 {
                if a != b && flows[a][b] > 0.0 {
                    cost += flows[a][b] * inst.cost[a][b];
                }
            }
        }
        gain - cost
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn optimal_on_random_instances(inst in instance(), tries in prop::collection::vec(prop::collection::vec(0.0f64..1.0, 24), 20)) {
            let s = solve(&inst.capital, &inst.pools, &inst.chain_cap, &inst.cost);
            prop_assert!(s.verified, "optimality conditions hold: {s:?}");
            let total: f64 = inst.capital.iter().sum();
            let tol = 1e-7 * total.max(1.0);
            // Constraints: capital conserved, caps kept, flows only along routes.
            for a in 0..3 {
                let out: f64 = (0..3).filter(|b| *b != a).map(|b| s.flows[a][b]).sum();
                let inn: f64 = (0..3).filter(|b| *b != a).map(|b| s.flows[b][a]).sum();
                prop_assert!(s.placed[a] >= -tol && s.idle[a] >= -tol);
                prop_assert!((inst.capital[a] - out + inn - s.placed[a] - s.idle[a]).abs() <= tol, "balance of {a}: {s:?}");
                prop_assert!(s.placed[a] <= inst.chain_cap[a] + tol);
                for b in 0..3 {
                    if a != b && s.flows[a][b] > tol {
                        prop_assert!(inst.cost[a][b].is_finite());
                    }
                }
            }
            // Pool allocations from the chain marginals: interior pools share one marginal,
            // pools at 0 earn less, pools at their cap more.
            let mut x: Vec<Vec<f64>> = Vec::new();
            for (c, ps) in inst.pools.iter().enumerate() {
                let d = ChainDemand::new(ps);
                let lambda = d.marginal_at(s.placed[c]);
                let xs: Vec<f64> = ps.iter().map(|p| p.deposit_at(lambda)).collect();
                let sum: f64 = xs.iter().sum();
                prop_assert!((sum - s.placed[c]).abs() <= tol.max(1e-9 * sum), "chain {c}: {sum} vs {}", s.placed[c]);
                for (p, xi) in ps.iter().zip(&xs) {
                    let m = p.marginal(*xi);
                    if *xi > 0.0 && *xi < p.cap {
                        prop_assert!((m - lambda).abs() <= 1e-6 * lambda.max(1e-12), "interior {m} vs {lambda}");
                    } else if *xi <= 0.0 {
                        prop_assert!(m <= lambda * (1.0 + 1e-9) + 1e-15);
                    } else {
                        prop_assert!(m >= lambda * (1.0 - 1e-9));
                    }
                }
                x.push(xs);
            }
            let best = objective(&inst, &s.flows, &x);
            prop_assert!((best - s.objective()).abs() <= 1e-6 * best.abs().max(1.0), "{best} vs {}", s.objective());
            // No random feasible allocation does better.
            for t in &tries {
                let mut flows = vec![vec![0.0; 3]; 3];
                for a in 0..3 {
                    let w: Vec<f64> = (0..3).map(|b| if inst.cost[a][b].is_finite() { t[a * 3 + b] } else { 0.0 }).collect();
                    let sum: f64 = w.iter().sum::<f64>() + t[9 + a];
                    for b in 0..3 {
                        flows[a][b] = if sum > 0.0 { inst.capital[a] * w[b] / sum } else { 0.0 };
                    }
                }
                let mut xs = Vec::new();
                for b in 0..3 {
                    let arrived: f64 = (0..3).map(|a| flows[a][b]).sum::<f64>().min(inst.chain_cap[b]);
                    let ps = &inst.pools[b];
                    let w: Vec<f64> = (0..ps.len()).map(|i| t[12 + i % 12]).collect();
                    let wsum: f64 = w.iter().sum::<f64>().max(1e-12);
                    xs.push(ps.iter().zip(&w).map(|(p, wi)| (arrived * wi / wsum).min(p.cap)).collect::<Vec<f64>>());
                }
                let other = objective(&inst, &flows, &xs);
                prop_assert!(other <= best + 1e-9 * best.abs().max(1.0), "random {other} beats {best}");
            }
        }
    }

    /// The conditions of one chain's split at its marginal `λ`: interior amounts at `λ`, those
    /// at 0 below it, those at their cap above it; the split adds up to `placed`.
    fn check_split(
        inst: &Instance,
        c: usize,
        lambda: f64,
        (placed, top): (f64, f64),
        tol: f64,
    ) -> Result<Vec<f64>, TestCaseError> {
        // Marginals near 0 (a reserve at its peak) are 0 to rounding of the first dollar's.
        let zero = 1e-12 * top;
        let mut xs: Vec<f64> = inst.pools[c].iter().map(|p| p.deposit_at(lambda)).collect();
        let mut ends: Vec<(f64, f64, f64)> = inst.pools[c]
            .iter()
            .zip(&xs)
            .map(|(p, x)| (p.marginal(*x), *x, p.cap))
            .collect();
        for r in &inst.reserves[c] {
            let x = r.deposit_at(lambda);
            xs.push(x);
            ends.push((r.marginal(x), x, r.cap()));
        }
        let sum: f64 = xs.iter().sum();
        prop_assert!(
            (sum - placed).abs() <= tol.max(1e-9 * sum),
            "chain {c}: {sum} vs {placed}"
        );
        for (m, x, cap) in ends {
            if x > 0.0 && x < cap {
                prop_assert!(
                    (m - lambda).abs() <= 1e-6 * lambda.max(1e-12),
                    "interior {m} vs {lambda}"
                );
            } else if x <= 0.0 {
                prop_assert!(m <= lambda * (1.0 + 1e-9) + zero, "{m} at 0 above {lambda}");
            } else {
                prop_assert!(
                    m >= lambda * (1.0 - 1e-9) - zero,
                    "{m} at its cap below {lambda}"
                );
            }
        }
        Ok(xs)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// With lending reserves among the pools: the optimality conditions, each chain's split,
        /// an independent upper bound (Lagrangian duality, best responses by golden-section
        /// search) that the plan meets, and random feasible plans that do no better.
        #[test]
        fn optimal_with_lending_reserves(inst in lending_instance(), tries in prop::collection::vec(prop::collection::vec(0.0f64..1.0, 24), 10)) {
            let (s, demand) = solve_instance(&inst);
            prop_assert!(s.verified, "optimality conditions hold: {s:?}");
            let total: f64 = inst.capital.iter().sum();
            let tol = 1e-7 * total.max(1.0);
            let mut x = Vec::new();
            for c in 0..3 {
                prop_assert!(s.placed[c] <= inst.chain_cap[c] + tol);
                let lambda = demand[c].marginal_at(s.placed[c]);
                let ends = (s.placed[c], demand[c].top_marginal);
                x.push(check_split(&inst, c, lambda, ends, tol)?);
            }
            let best = objective(&inst, &s.flows, &x);
            prop_assert!((best - s.objective()).abs() <= 1e-6 * best.abs().max(1.0), "{best} vs {}", s.objective());
            let bound = dual_bound(&inst, &s, &demand);
            prop_assert!(bound >= best - 1e-9 * best.abs().max(1.0), "bound {bound} below {best}");
            prop_assert!(bound - best <= 1e-8 * best.abs().max(1.0) + 1e-6, "gap {} of {best}", bound - best);
            for t in &tries {
                let mut flows = vec![vec![0.0; 3]; 3];
                for a in 0..3 {
                    let w: Vec<f64> = (0..3).map(|b| if inst.cost[a][b].is_finite() { t[a * 3 + b] } else { 0.0 }).collect();
                    let sum: f64 = w.iter().sum::<f64>() + t[9 + a];
                    for b in 0..3 {
                        flows[a][b] = if sum > 0.0 { inst.capital[a] * w[b] / sum } else { 0.0 };
                    }
                }
                let mut xs = Vec::new();
                for b in 0..3 {
                    let arrived: f64 = (0..3).map(|a| flows[a][b]).sum::<f64>().min(inst.chain_cap[b]);
                    let caps: Vec<f64> = inst.pools[b].iter().map(|p| p.cap).chain(inst.reserves[b].iter().map(|r| r.cap())).collect();
                    let w: Vec<f64> = (0..caps.len()).map(|i| t[12 + i % 12]).collect();
                    let wsum: f64 = w.iter().sum::<f64>().max(1e-12);
                    xs.push(caps.iter().zip(&w).map(|(cap, wi)| (arrived * wi / wsum).min(*cap)).collect::<Vec<f64>>());
                }
                let other = objective(&inst, &flows, &xs);
                prop_assert!(other <= best + 1e-9 * best.abs().max(1.0), "random {other} beats {best}");
            }
        }
    }
}
