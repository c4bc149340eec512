//! Bridge routes between chains: the cheapest path per dollar (fee bps added along the hops,
//! multi-hop allowed: Solana → BSC → Ethereum when that beats the direct bridge), ties broken
//! by fixed cost. A route's fixed cost is its hops' `fixed_usd` plus the gas of every chain it
//! touches, once per move.

use serde::Serialize;

use crate::input::Bridge;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    /// Chain indices from source to destination.
    #[serde(skip)]
    pub path: Vec<usize>,
    /// Per-dollar cost (fraction: 5 bps = 0.0005).
    pub fee: f64,
    pub fixed_usd: f64,
    pub eta_s: f64,
}

/// The cheapest route between every ordered pair of chains (`None`: unreachable).
#[derive(Debug, Clone, PartialEq)]
pub struct Routes {
    pub table: Vec<Vec<Option<Route>>>,
}

impl Routes {
    pub fn new(chains: usize, bridges: &[Bridge], gas_usd: &[f64]) -> Routes {
        // (fee, fixed, eta) of the best direct bridge per pair.
        let mut direct: Vec<Vec<Option<(f64, f64, f64)>>> = vec![vec![None; chains]; chains];
        for b in bridges {
            let candidate = (b.fee_bps / 10_000.0, b.fixed_usd, b.eta_s);
            let slot = &mut direct[b.from][b.to];
            if slot.is_none_or(|cur| (candidate.0, candidate.1) < (cur.0, cur.1)) {
                *slot = Some(candidate);
            }
        }
        // Floyd–Warshall on (fee, fixed), keeping the next hop.
        let mut best: Vec<Vec<Option<(f64, f64)>>> = (0..chains)
            .map(|a| {
                (0..chains)
                    .map(|b| direct[a][b].map(|d| (d.0, d.1)))
                    .collect()
            })
            .collect();
        let mut next: Vec<Vec<Option<usize>>> = (0..chains)
            .map(|a| (0..chains).map(|b| direct[a][b].map(|_| b)).collect())
            .collect();
        for k in 0..chains {
            for i in 0..chains {
                for j in 0..chains {
                    if i == j {
                        continue;
                    }
                    if let (Some(ik), Some(kj)) = (best[i][k], best[k][j]) {
                        let via = (ik.0 + kj.0, ik.1 + kj.1);
                        if best[i][j].is_none_or(|cur| via < cur) {
                            best[i][j] = Some(via);
                            next[i][j] = next[i][k];
                        }
                    }
                }
            }
        }
        let mut table = vec![vec![None; chains]; chains];
        for a in 0..chains {
            for b in 0..chains {
                if a == b || best[a][b].is_none() {
                    continue;
                }
                let mut path = vec![a];
                let mut at = a;
                while at != b {
                    let Some(n) = next[at][b] else { break };
                    if path.contains(&n) {
                        break;
                    }
                    path.push(n);
                    at = n;
                }
                if at != b {
                    continue;
                }
                let (mut fee, mut fixed, mut eta) = (0.0, 0.0, 0.0);
                for hop in path.windows(2) {
                    if let Some((f, x, e)) = direct[hop[0]][hop[1]] {
                        fee += f;
                        fixed += x;
                        eta += e;
                    }
                }
                fixed += path
                    .iter()
                    .map(|c| gas_usd.get(*c).copied().unwrap_or(0.0))
                    .sum::<f64>();
                table[a][b] = Some(Route {
                    path,
                    fee,
                    fixed_usd: fixed,
                    eta_s: eta,
                });
            }
        }
        Routes { table }
    }

    /// Per-dollar costs for the solver: 0 on the diagonal, ∞ where unreachable.
    pub fn cost_matrix(&self) -> Vec<Vec<f64>> {
        self.table
            .iter()
            .enumerate()
            .map(|(a, row)| {
                row.iter()
                    .enumerate()
                    .map(|(b, r)| match r {
                        _ if a == b => 0.0,
                        Some(r) => r.fee,
                        None => f64::INFINITY,
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bridge(from: usize, to: usize, fee_bps: f64, fixed_usd: f64) -> Bridge {
        Bridge {
            from,
            to,
            fee_bps,
            fixed_usd,
            eta_s: 60.0,
        }
    }

    #[test]
    fn two_hops_beat_an_expensive_direct_bridge() {
        // 0 = solana, 1 = bsc, 2 = ethereum: direct 30 bps, via BSC 5 + 5 bps.
        let r = Routes::new(
            3,
            &[
                bridge(0, 2, 30.0, 1.0),
                bridge(0, 1, 5.0, 1.0),
                bridge(1, 2, 5.0, 2.0),
            ],
            &[0.01, 0.1, 5.0],
        );
        let route = r.table[0][2].as_ref().unwrap();
        assert_eq!(route.path, vec![0, 1, 2]);
        assert!((route.fee - 0.001).abs() < 1e-15);
        // Hops' fixed costs plus gas on each chain touched.
        assert!((route.fixed_usd - (3.0 + 0.01 + 0.1 + 5.0)).abs() < 1e-12);
        assert_eq!(route.eta_s, 120.0);
        assert!(r.table[2][0].is_none(), "no bridge back");
        assert_eq!(r.cost_matrix()[2][0], f64::INFINITY);
        assert_eq!(r.cost_matrix()[1][1], 0.0);
    }
}
