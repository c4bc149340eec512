#!/usr/bin/env python3
"""The router against an independent general-purpose convex solver (cvxpy + Clarabel).

For each size, `atoll route instance` writes a deterministic request (no fixed costs, so the
problem is convex); `atoll route quote --json` solves it; cvxpy solves the same model written
here from the request alone (own shortest paths, own caps). Prints both objectives (the
objective of cvxpy's answer is re-evaluated exactly at its clipped allocation), their relative
difference, and both times.

    python3 -m venv ~/.cache/atoll/cvxpy-venv && ~/.cache/atoll/cvxpy-venv/bin/pip install cvxpy==1.7.3
    ~/.cache/atoll/cvxpy-venv/bin/python benches/router_vs_cvxpy.py [--atoll PATH] [N ...]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import cvxpy as cp
import numpy as np


def shortest_fees(chains, bridges):
    n = len(chains)
    idx = {c: i for i, c in enumerate(chains)}
    d = [[math.inf] * n for _ in range(n)]
    for i in range(n):
        d[i][i] = 0.0
    for b in bridges:
        a, z = idx[b["from"]], idx[b["to"]]
        d[a][z] = min(d[a][z], b["fee_bps"] / 10_000.0)
    for k in range(n):
        for i in range(n):
            for j in range(n):
                if d[i][k] + d[k][j] < d[i][j]:
                    d[i][j] = d[i][k] + d[k][j]
    return d


def cvxpy_solve(req):
    chains = sorted({c["chain"] for c in req["capital"]} | {p["chain"] for p in req["pools"]} | set(req.get("gas_usd", {})))
    idx = {c: i for i, c in enumerate(chains)}
    n = len(chains)
    capital = np.zeros(n)
    for c in req["capital"]:
        capital[idx[c["chain"]]] += c["usd"]
    total = capital.sum()
    k = req["constraints"]
    h = req["horizon_days"]
    pools = [p for p in req["pools"] if p["tvl_usd"] >= k.get("min_tvl_usd", 0)
             and p["fees_usd_year"] + p.get("rewards_usd_year", 0) > 0]
    f = np.array([(p["fees_usd_year"] + p.get("rewards_usd_year", 0)) * h / 365.0 for p in pools])
    t = np.array([p["tvl_usd"] for p in pools])
    cap = np.array([min(p.get("max_share_of_tvl", math.inf) * p["tvl_usd"], k.get("max_per_pool_usd", math.inf)) for p in pools])
    chain_of = np.array([idx[p["chain"]] for p in pools])
    fees = shortest_fees(chains, req["bridges"])
    arcs = [(a, b) for a in range(n) for b in range(n) if math.isfinite(fees[a][b])]
    # Solve in millions of USD: interior-point solvers want numbers near 1.
    scale = 1e6
    f, t, cap, capital = f / scale, t / scale, cap / scale, capital / scale
    total = total / scale
    x = cp.Variable(len(pools))
    y = cp.Variable(len(arcs))
    cons = [x >= 0, x <= cap, y >= 0]
    supply, balance, chain_cap = [], [], []
    for a in range(n):
        out = [j for j, (s, _) in enumerate(arcs) if s == a]
        supply.append(cp.sum(y[out]) <= capital[a])
    share = k.get("max_chain_share", 1.0) * total
    for b in range(n):
        into = [j for j, (_, d) in enumerate(arcs) if d == b]
        members = np.where(chain_of == b)[0]
        placed = cp.sum(x[members]) if len(members) else 0
        balance.append(placed == cp.sum(y[into]))
        chain_cap.append(placed <= share)
    cons += supply + balance + chain_cap
    cost = np.array([fees[a][b] for (a, b) in arcs])
    objective = cp.sum(f) - cp.sum(cp.multiply(f * t, cp.inv_pos(t + x))) - cost @ y
    prob = cp.Problem(cp.Maximize(objective), cons)
    started = time.perf_counter()
    prob.solve(solver=cp.CLARABEL, verbose=os.environ.get("VERBOSE") == "1",
               tol_gap_abs=1e-14, tol_gap_rel=1e-14, tol_feas=1e-14)
    elapsed = time.perf_counter() - started
    xv = np.clip(x.value, 0, cap)
    yv = np.clip(y.value, 0, None)
    exact = float(np.sum(f * xv / (t + xv)) - cost @ yv) * scale
    # An upper bound on the optimum from cvxpy's multipliers (Lagrangian duality): with ν_b the
    # value of a dollar placed on chain b and ρ_b >= 0 its cap's price, a source's dollar is
    # worth μ_a = max(0, max_b ν_b − c_ab), and each pool's best response is closed-form.
    nu = np.array([abs(float(c.dual_value)) if c.dual_value is not None else 0.0 for c in balance])
    rho = np.array([max(float(c.dual_value), 0.0) if c.dual_value is not None else 0.0 for c in chain_cap])
    mu = np.zeros(n)
    for (a, b), c in zip(arcs, cost):
        mu[a] = max(mu[a], nu[b] - c)
    price = nu[chain_of] + rho[chain_of]
    best_x = np.where(price > 0, np.sqrt(f * t / np.maximum(price, 1e-300)) - t, cap)
    best_x = np.clip(best_x, 0, cap)
    bound = float(mu @ capital + rho.sum() * share + np.sum(f * best_x / (t + best_x) - price * best_x)) * scale
    return exact, bound, elapsed, prob.status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--atoll", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/atoll/target")), "release", "atoll"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 10000])
    args = ap.parse_args()
    print(f"{'pools':>8} {'atoll objective':>18} {'cvxpy objective':>18} {'cvxpy bound':>18} {'rel. diff':>10} {'in [obj, bound]':>15} {'atoll CLI s':>12} {'cvxpy solve s':>14} status")
    for n in args.sizes:
        text = subprocess.run([args.atoll, "route", "instance", "--pools", str(n), "--seed", str(args.seed)],
                              check=True, capture_output=True, text=True).stdout
        path = f"/tmp/atoll-router-{n}-{args.seed}.json"
        with open(path, "w") as fh:
            fh.write(text)
        started = time.perf_counter()
        out = subprocess.run([args.atoll, "route", "quote", "--input", path, "--json"],
                             check=True, capture_output=True, text=True).stdout
        ours_s = time.perf_counter() - started
        ours = json.loads(out)["objective_usd"]
        theirs, bound, theirs_s, status = cvxpy_solve(json.loads(text))
        rel = abs(ours - theirs) / max(abs(ours), 1e-12)
        inside = theirs - 1e-9 * abs(theirs) <= ours <= bound + 1e-9 * abs(bound)
        print(f"{n:>8} {ours:>18.6f} {theirs:>18.6f} {bound:>18.6f} {rel:>10.2e} {str(inside):>15} {ours_s:>12.3f} {theirs_s:>14.3f} {status}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
