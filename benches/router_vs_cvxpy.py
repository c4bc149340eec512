#!/usr/bin/env python3
"""The router against an independent general-purpose convex solver (cvxpy + Clarabel).

For each size, `atoll route instance` writes a deterministic request (no fixed costs, so the
problem is convex); `atoll route quote --json` solves it; cvxpy solves the same model written
here from the request alone (own shortest paths, own caps). Prints both objectives (the
objective of cvxpy's answer is re-evaluated exactly at its clipped allocation), their relative
difference, and both times.

With `--reserves R`, R lending reserves (generated here) join each request: Aave-shaped, and
every fourth a Compound v3 supply curve (`"rate_model": "supply_curve"`, no reserve factor).
cvxpy sees an Aave reserve through the share `w = x/(S + x)` the deposit would own: on its
allowed range (one piece `R = a + bU` of the kinked rate, up to the kink and the marginal's
zero, as docs/router.md "Lending reserves" says) its gain `k·w·(P + Q/T)` is
`k((P + Q/S)·w − (Q/S)·w²)`, concave in `w` and free of the cancellation a form in `1/T` has
(the deposit is small against the reserve), and `x = S·w + S·w²/(1 − w)` is convex in `w`, so
the model stays DCP with `placed <= arrived` (never loose at the optimum). A supply curve's
gain on its piece (supply rate `A + bU`) is `k·A·x + k·(bB + Rw)·(1 − S/(S + x))`: affine plus
concave in the deposit itself (`A` may be positive, where the form in `w` would be convex), on
the range the router allows it (the room, all the capital when `A` > 0 below the kink, the
kink, the marginal's zero `√(kS(bB + Rw)/(−kA))` when `A` < 0).

    python3 -m venv ~/.cache/atoll/cvxpy-venv && ~/.cache/atoll/cvxpy-venv/bin/pip install cvxpy==1.7.3
    ~/.cache/atoll/cvxpy-venv/bin/python benches/router_vs_cvxpy.py [--atoll PATH] [--reserves R] [N ...]
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


def lending_reserves(n, seed, chains=("ethereum", "bsc", "solana")):
    """`n` lending reserves like `instance::json_with_reserves`'s (supplied $1M-$2B, optimal
    utilisation 45/80/90/92 %, one in seven above it; every fourth a Compound v3 supply curve,
    with neither reserve factor nor stable debt), deterministic in `seed`."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        chain = chains[i % 3]
        supplied = math.exp(rng.uniform(math.log(1e6), math.log(2e9)))
        uo = [0.45, 0.8, 0.9, 0.92][rng.integers(4)]
        u = uo + (1 - uo) * rng.uniform(0, 0.3) if rng.integers(7) == 0 else uo * rng.uniform(0.1, 1.0)
        borrowed = supplied * u
        rewards = supplied * math.exp(rng.uniform(math.log(0.001), math.log(0.02))) if rng.random() < 0.2 else 0.0
        lending = {
            "supplied_usd": supplied, "borrowed_usd": borrowed, "stable_income_usd_year": 0.0,
            "base_rate": rng.uniform(0, 0.02) if rng.random() < 0.3 else 0.0,
            "slope1": rng.uniform(0.03, 0.08), "slope2": rng.uniform(0.3, 3.0),
            "optimal_utilization": uo, "reserve_factor": rng.uniform(0.05, 0.25),
            "supply_cap_room_usd": math.exp(rng.uniform(math.log(1e5), math.log(1e8))) if rng.random() < 0.5 else None,
        }
        # The same draws for every reserve (the Aave ones are those of Aave-only runs).
        protocol = "compound_v3" if i % 4 == 3 else "aave_v3"
        if protocol == "compound_v3":
            lending.update(rate_model="supply_curve", reserve_factor=0.0)
        out.append({"id": f"{chain}:{protocol}:r{i}", "chain": chain, "protocol": protocol,
                    "tokens": ["USDC"], "kind": "lending", "tvl_usd": supplied - borrowed,
                    "fees_usd_year": 0.0, "rewards_usd_year": rewards, "max_share_of_tvl": 0.2,
                    "lending": lending})
    return out


def supply_curve(p):
    return p["lending"].get("rate_model", "borrow_share") == "supply_curve"


def rate(l, u):
    """The kinked curve at `u`: Aave's variable borrow rate, or Compound v3's supply rate."""
    uo = l["optimal_utilization"]
    if u <= uo:
        return l["base_rate"] + l["slope1"] * u / uo
    return l["base_rate"] + l["slope1"] + l["slope2"] * (u - uo) / (1 - uo)


def reserve_gain(p, h, x):
    """A reserve's gain over `h` days with `x` supplied, from the kinked rate itself."""
    l = p["lending"]
    t = l["supplied_usd"] + x
    u = l["borrowed_usd"] / t
    if supply_curve(p):
        return h / 365.0 * x * (rate(l, u) + p.get("rewards_usd_year", 0.0) / t)
    income = (1 - l["reserve_factor"]) * (l["borrowed_usd"] * rate(l, u)
                                          + l.get("stable_income_usd_year", 0.0)) + p.get("rewards_usd_year", 0.0)
    return h / 365.0 * x / t * income


def reserve_piece(p, h, room):
    """The reserve's piece (the one it is on now) and its allowed range's end: the room, the kink
    when above it, the marginal's zero. Aave (`R = a + bU` the borrow rate):
    `g = k(P + (Q − PS)/T − QS/T²)`, `g' = (pT + q)/T³`. Compound v3 (`A + bU` the supply rate):
    `g = lin·x + kC(1 − S/T)` with `lin = kA`, `C = bB + Rw`, `g' = lin + p/T²`, `p = kCS`."""
    l = p["lending"]
    s, b_, rf = l["supplied_usd"], l["borrowed_usd"], l["reserve_factor"]
    uo = l["optimal_utilization"]
    above = b_ / s > uo
    if above:
        a, b = l["base_rate"] + l["slope1"] - l["slope2"] * uo / (1 - uo), l["slope2"] / (1 - uo)
    else:
        a, b = l["base_rate"], l["slope1"] / uo
    k = h / 365.0
    cap = room
    if above:
        cap = min(cap, b_ / uo - s)
    if supply_curve(p):
        C = b * b_ + p.get("rewards_usd_year", 0.0)
        lin, pp = k * a, k * C * s
        if lin < 0:
            cap = min(cap, math.sqrt(pp / -lin) - s)
        if lin + pp / (s * s) <= 0:
            cap = 0.0
        return {"model": "supply_curve", "S": s, "k": k, "lin": lin, "C": C, "p": pp, "cap": max(cap, 0.0)}
    P = (1 - rf) * (a * b_ + l.get("stable_income_usd_year", 0.0)) + p.get("rewards_usd_year", 0.0)
    Q = (1 - rf) * b * b_ * b_
    pp, qq = k * (P * s - Q), 2 * k * Q * s
    if pp < 0:
        cap = min(cap, -qq / pp - s)
    if pp * s + qq <= 0:
        cap = 0.0
    return {"model": "borrow_share", "S": s, "k": k, "P": P, "Q": Q, "p": pp, "q": qq, "cap": max(cap, 0.0)}


def piece_gain(r, x):
    s = r["S"]
    if r["model"] == "supply_curve":
        return r["lin"] * x + r["k"] * r["C"] * x / (s + x)
    return r["k"] * (r["P"] + (r["Q"] - r["P"] * s) / (s + x) - r["Q"] * s / (s + x) ** 2)


def piece_marginal(r, x):
    t = r["S"] + x
    if r["model"] == "supply_curve":
        return r["lin"] + r["p"] / t ** 2
    return (r["p"] * t + r["q"]) / t ** 3


def reserve_best(r, price):
    """max over 0 <= x <= cap of g(x) − price·x: the marginal falls on the range."""
    s, cap = r["S"], r["cap"]
    g = lambda x: piece_gain(r, x)
    marginal = lambda x: piece_marginal(r, x)
    if cap <= 0:
        return 0.0
    if price <= 0:
        if math.isfinite(cap):
            return g(cap)
        # x/T → 1 (no cap: Aave's or a supply curve's with lin = 0).
        return r["k"] * (r["C"] if r["model"] == "supply_curve" else r["P"])
    hi = cap if math.isfinite(cap) else s
    while not math.isfinite(cap) and marginal(hi) > price:
        hi *= 2
    lo = 0.0
    if marginal(0.0) <= price:
        return 0.0
    if marginal(hi) >= price:
        return g(hi) - g(0.0) - price * hi
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if marginal(mid) > price else (lo, mid)
    return g(lo) - g(0.0) - price * lo


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
    eligible = [p for p in req["pools"] if p["tvl_usd"] >= k.get("min_tvl_usd", 0)]
    pools = [p for p in eligible if p.get("kind", "dex") == "dex"
             and p["fees_usd_year"] + p.get("rewards_usd_year", 0) > 0]
    f = np.array([(p["fees_usd_year"] + p.get("rewards_usd_year", 0)) * h / 365.0 for p in pools])
    t = np.array([p["tvl_usd"] for p in pools])
    cap = np.array([min(p.get("max_share_of_tvl", math.inf) * p["tvl_usd"], k.get("max_per_pool_usd", math.inf)) for p in pools])
    chain_of = np.array([idx[p["chain"]] for p in pools])
    lend = [p for p in eligible if p.get("kind", "dex") == "lending"]
    pieces = []
    for p in lend:
        room = min((p.get("max_share_of_tvl") or math.inf) * p["tvl_usd"], k.get("max_per_pool_usd", math.inf),
                   p["lending"].get("supply_cap_room_usd") or math.inf)
        # As the router does: a supply curve with a base rate pays every dollar at least that,
        # and no plan puts more than all the capital into one reserve.
        if supply_curve(p) and p["lending"]["base_rate"] > 0:
            room = min(room, total)
        pieces.append(reserve_piece(p, h, room))
    keep = [i for i, r in enumerate(pieces) if r["cap"] > 0]
    lend, pieces = [lend[i] for i in keep], [pieces[i] for i in keep]
    lchain = np.array([idx[p["chain"]] for p in lend], dtype=int)
    aave = [i for i, r in enumerate(pieces) if r["model"] == "borrow_share"]
    comet = [i for i, r in enumerate(pieces) if r["model"] == "supply_curve"]
    apieces, cpieces = [pieces[i] for i in aave], [pieces[i] for i in comet]
    achain, cchain = lchain[aave], lchain[comet]
    fees = shortest_fees(chains, req["bridges"])
    arcs = [(a, b) for a in range(n) for b in range(n) if math.isfinite(fees[a][b])]
    # Solve in millions of USD: interior-point solvers want numbers near 1.
    scale = 1e6
    f, t, cap, capital = f / scale, t / scale, cap / scale, capital / scale
    total = total / scale
    x = cp.Variable(len(pools))
    y = cp.Variable(len(arcs))
    cons = [x >= 0, x <= cap, y >= 0]
    # An Aave reserve as its share w: gain k((P + Q/S)·w − (Q/S)·w²), deposit S·w + S·w²/(1 − w).
    rs = np.array([r["S"] for r in apieces]) / scale
    lin = np.array([r["k"] * (r["P"] + r["Q"] / r["S"]) for r in apieces]) / scale
    sq = np.array([r["k"] * r["Q"] / r["S"] for r in apieces]) / scale
    wcap = np.array([r["cap"] / (r["S"] + r["cap"]) if math.isfinite(r["cap"]) else 1.0 for r in apieces])
    w = cp.Variable(len(apieces)) if apieces else None
    if apieces:
        cons += [w >= 0, w <= wcap]
    # A supply curve by its deposit z: gain lin·z + kC·(1 − S·inv_pos(S + z)), at most all the
    # capital (exact: no plan puts more into one reserve).
    cs = np.array([r["S"] for r in cpieces]) / scale
    clin = np.array([r["lin"] for r in cpieces])
    cc = np.array([r["k"] * r["C"] for r in cpieces]) / scale
    zcap = np.array([min(r["cap"] / scale, total) for r in cpieces])
    z = cp.Variable(len(cpieces)) if cpieces else None
    if cpieces:
        cons += [z >= 0, z <= zcap]
    supply, balance, chain_cap = [], [], []
    for a in range(n):
        out = [j for j, (s_, _) in enumerate(arcs) if s_ == a]
        supply.append(cp.sum(y[out]) <= capital[a])
    share = k.get("max_chain_share", 1.0) * total
    for b in range(n):
        into = [j for j, (_, d) in enumerate(arcs) if d == b]
        members = np.where(chain_of == b)[0]
        placed = cp.sum(x[members]) if len(members) else 0
        for j in np.where(achain == b)[0]:
            placed = placed + rs[j] * w[j] + cp.quad_over_lin(math.sqrt(rs[j]) * w[j], 1 - w[j])
        cmembers = np.where(cchain == b)[0]
        if len(cmembers):
            placed = placed + cp.sum(z[cmembers])
        balance.append(placed <= cp.sum(y[into]))
        chain_cap.append(placed <= share)
    cons += supply + balance + chain_cap
    cost = np.array([fees[a][b] for (a, b) in arcs])
    objective = cp.sum(f) - cp.sum(cp.multiply(f * t, cp.inv_pos(t + x))) - cost @ y
    if apieces:
        objective = objective + lin @ w - cp.sum(cp.multiply(sq, cp.square(w)))
    if cpieces:
        objective = objective + clin @ z + cp.sum(cc - cp.multiply(cc * cs, cp.inv_pos(cs + z)))
    prob = cp.Problem(cp.Maximize(objective), cons)
    started = time.perf_counter()
    prob.solve(solver=cp.CLARABEL, verbose=os.environ.get("VERBOSE") == "1",
               tol_gap_abs=1e-14, tol_gap_rel=1e-14, tol_feas=1e-14)
    elapsed = time.perf_counter() - started
    xv = np.clip(x.value, 0, cap)
    yv = np.clip(y.value, 0, None)
    exact = float(np.sum(f * xv / (t + xv)) - cost @ yv) * scale
    if apieces:
        wv = np.clip(w.value, 0, wcap)
        xr = np.array([r["S"] * wi / (1 - wi) if wi < 1 else r["cap"] for r, wi in zip(apieces, wv)])
        exact += sum(reserve_gain(lend[i], h, xi) for i, xi in zip(aave, xr))
    if cpieces:
        zv = np.clip(z.value, 0, zcap) * scale
        exact += sum(reserve_gain(lend[i], h, zi) for i, zi in zip(comet, zv))
    # An upper bound on the optimum from cvxpy's multipliers (Lagrangian duality): with ν_b the
    # value of a dollar placed on chain b and ρ_b >= 0 its cap's price, a source's dollar is
    # worth μ_a = max(0, max_b ν_b − c_ab), and each pool's best response is closed-form.
    dual = lambda c: float(np.ravel(c.dual_value)[0]) if c.dual_value is not None else 0.0
    nu = np.array([abs(dual(c)) for c in balance])
    rho = np.array([max(dual(c), 0.0) for c in chain_cap])
    mu = np.zeros(n)
    for (a, b), c in zip(arcs, cost):
        mu[a] = max(mu[a], nu[b] - c)
    price = nu[chain_of] + rho[chain_of]
    best_x = np.where(price > 0, np.sqrt(f * t / np.maximum(price, 1e-300)) - t, cap)
    best_x = np.clip(best_x, 0, cap)
    bound = float(mu @ capital + rho.sum() * share + np.sum(f * best_x / (t + best_x) - price * best_x)) * scale
    for r, c in zip(pieces, lchain):
        bound += reserve_best(r, (nu[c] + rho[c]))
    return exact, bound, elapsed, prob.status


def atoll_bound(req, quote):
    """An upper bound on the optimum (weak Lagrangian duality) at multipliers read off atoll's
    own answer: `ν_b` = the marginal of the plan on chain `b` (the lowest of its allocations'
    marginals: interior ones all equal it, capped ones are above), or, for a chain the plan
    leaves empty, its best first-dollar marginal. Any multipliers give a valid bound, computed
    here from the request alone; it meets the plan's objective only if the plan is optimal,
    so `bound − objective` certifies the plan without trusting an interior-point solver. The
    plan's objective is re-evaluated here too (its allocations' gains under this script's
    models, its moves at the cheapest route's fee, capital and arrivals checked): returns
    (bound, objective)."""
    chains = sorted({c["chain"] for c in req["capital"]} | {p["chain"] for p in req["pools"]} | set(req.get("gas_usd", {})))
    idx = {c: i for i, c in enumerate(chains)}
    n = len(chains)
    h = req["horizon_days"]
    k = req["constraints"]
    capital = np.zeros(n)
    for c in req["capital"]:
        capital[idx[c["chain"]]] += c["usd"]
    total = capital.sum()
    eligible = [p for p in req["pools"] if p["tvl_usd"] >= k.get("min_tvl_usd", 0)]
    items = []  # (chain, best response gain at price, first-dollar marginal)
    gain_of = {}  # pool id → its gain at a deposit
    for p in eligible:
        b = idx[p["chain"]]
        if p.get("kind", "dex") == "dex":
            f = (p["fees_usd_year"] + p.get("rewards_usd_year", 0)) * h / 365.0
            t = p["tvl_usd"]
            if f <= 0 or t <= 0:
                continue
            cap = min(p.get("max_share_of_tvl", math.inf) * t, k.get("max_per_pool_usd", math.inf))

            def best(price, f=f, t=t, cap=cap):
                x = cap if price <= 0 else min(max(math.sqrt(f * t / price) - t, 0.0), cap)
                return f * x / (t + x) - price * x
            items.append((b, best, f / t))
            gain_of[p["id"]] = lambda x, f=f, t=t, cap=cap: f * min(x, cap) / (t + min(x, cap))
        else:
            room = min((p.get("max_share_of_tvl") or math.inf) * p["tvl_usd"], k.get("max_per_pool_usd", math.inf),
                       p["lending"].get("supply_cap_room_usd") or math.inf)
            if supply_curve(p) and p["lending"]["base_rate"] > 0:
                room = min(room, total)
            r = reserve_piece(p, h, room)
            if r["cap"] <= 0:
                continue
            items.append((b, lambda price, r=r: reserve_best(r, price), piece_marginal(r, 0.0)))
            gain_of[p["id"]] = lambda x, r=r: piece_gain(r, min(x, r["cap"]))
    nu = np.zeros(n)
    placed = [[] for _ in range(n)]
    for a in quote["allocations"]:
        placed[idx[a["chain"]]].append(a["marginal_apy"] * h / 365.0)
    for b in range(n):
        nu[b] = min(placed[b]) if placed[b] else max([m for c, _, m in items if c == b], default=0.0)
    fees = shortest_fees(chains, req["bridges"])
    mu = np.array([max([0.0] + [nu[b] - fees[a][b] for b in range(n) if math.isfinite(fees[a][b])]) for a in range(n)])
    bound = float(mu @ capital) + sum(best(nu[b]) for b, best, _ in items)
    # The plan, evaluated: gains, moves' fees, and where the money comes from and goes.
    held = capital.copy()
    for m in quote["moves"]:
        a, b = idx[m["from"]], idx[m["to"]]
        held[a] -= m["usd"]
        held[b] += m["usd"]
    objective = -sum(m["usd"] * fees[idx[m["from"]]][idx[m["to"]]] for m in quote["moves"])
    for a in quote["allocations"]:
        objective += gain_of[a["pool"]](a["usd"])
        held[idx[a["chain"]]] -= a["usd"]
    assert (held >= -1e-6 * total).all(), f"the plan places more than it has: {held}"
    return bound, objective


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--atoll", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/atoll/target")), "release", "atoll"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--reserves", type=int, default=0, help="lending reserves added to each request")
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 10000])
    args = ap.parse_args()
    print(f"{'pools':>8} {'atoll objective':>18} {'cvxpy objective':>18} {'cvxpy bound':>18} {'rel. diff':>10} {'in [obj, bound]':>15} {'atoll CLI s':>12} {'cvxpy solve s':>14} {'status':>18} {'bound at atoll ν':>18} {'gap':>9}")
    for n in args.sizes:
        text = subprocess.run([args.atoll, "route", "instance", "--pools", str(n), "--seed", str(args.seed)],
                              check=True, capture_output=True, text=True).stdout
        if args.reserves:
            req = json.loads(text)
            req["pools"] += lending_reserves(args.reserves, args.seed)
            text = json.dumps(req)
        path = f"/tmp/atoll-router-{n}-{args.reserves}-{args.seed}.json"
        with open(path, "w") as fh:
            fh.write(text)
        started = time.perf_counter()
        out = subprocess.run([args.atoll, "route", "quote", "--input", path, "--json"],
                             check=True, capture_output=True, text=True).stdout
        ours_s = time.perf_counter() - started
        quote = json.loads(out)
        ours = quote["objective_usd"]
        own, evaluated = atoll_bound(json.loads(text), quote)
        theirs, bound, theirs_s, status = cvxpy_solve(json.loads(text))
        rel = abs(ours - theirs) / max(abs(ours), 1e-12)
        inside = theirs - 1e-9 * abs(theirs) <= ours <= bound + 1e-9 * abs(bound)
        gap = (own - evaluated) / max(abs(evaluated), 1e-12)
        assert abs(evaluated - ours) <= 1e-9 * abs(ours), f"atoll reports {ours}, its plan earns {evaluated}"
        print(f"{n:>8} {ours:>18.6f} {theirs:>18.6f} {bound:>18.6f} {rel:>10.2e} {str(inside):>15} {ours_s:>12.3f} {theirs_s:>14.3f} {status:>18} {own:>18.6f} {gap:>9.1e}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
