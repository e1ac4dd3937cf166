"""Benchmark network scoring on synthetic two-sided networks: build, propagation, what-if, exposure.

Usage: .venv/bin/python scripts/bench_network.py --sizes 1000 10000 100000 --links-per-account 10 --seed 7

Each cost stands beside its floor: the arrays beside a plain numpy build of the pair arrays from columns
already in numpy and scipy's COO → CSR of the same links; propagation beside as many CSR mat-vecs over
the same arcs as it ran sweeps.
"""

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from scipy import sparse

from logicrm.network.arrays import build_arrays
from logicrm.network.cascade import exposures, what_if
from logicrm.network.graph import CONSIGNEE, SHIPPER, GraphArrays, LinkRecord, NodeRecord, build_graph
from logicrm.network.params import ScoringParams
from logicrm.network.risk import propagate_arrays, propagate_reference

SHIPPER_ONLY, DISTRIBUTOR = 0.15, 0.10  # shares of accounts; the rest are consignees only


def synthetic_network(n: int, links_per_account: int, rng: np.random.Generator):
    """Return nodes and links with power-law degrees on both sides and dual-role distributors."""
    kind = rng.random(n)
    ships = kind < SHIPPER_ONLY + DISTRIBUTOR
    receives = kind >= SHIPPER_ONLY
    shippers, consignees = np.flatnonzero(ships), np.flatnonzero(receives)
    # Pareto weights: a few shippers serve thousands of consignees, most consignees have a few shippers
    shipper_weight = rng.pareto(1.5, len(shippers)) + 1
    consignee_weight = rng.pareto(2.5, len(consignees)) + 1
    m = n * links_per_account
    src = shippers[rng.choice(len(shippers), m, p=shipper_weight / shipper_weight.sum())]
    dst = consignees[rng.choice(len(consignees), m, p=consignee_weight / consignee_weight.sum())]
    keep = src != dst  # a distributor drawn on both sides
    src, dst = src[keep], dst[keep]
    volume = np.round(rng.lognormal(3.0, 1.0, len(src)))
    declared = rng.random(len(src)) < 0.03  # new links: a declared volume, no shipments yet
    price = rng.lognormal(4.0, 0.5, len(src))
    tiers = rng.choice(["vip", "key", "standard"], n, p=[0.05, 0.15, 0.8])
    nodes = [
        NodeRecord(
            i, f"customer {i}", frozenset({SHIPPER} if s else set()) | ({CONSIGNEE} if r else set()), t
        )
        for i, (s, r, t) in enumerate(zip(ships.tolist(), receives.tolist(), tiers.tolist(), strict=True))
    ]
    links = [
        LinkRecord(
            id=k,
            shipper_id=s,
            consignee_id=c,
            volume_90d=0.0 if new else v,
            declared_monthly_volume=v / 3 if new else None,
            shipments_per_month=0.0 if new else v / 3,
            revenue_per_month=0.0 if new else v / 3 * p,
        )
        for k, (s, c, v, new, p) in enumerate(
            zip(src.tolist(), dst.tolist(), volume.tolist(), declared.tolist(), price.tolist(), strict=True)
        )
    ]
    return nodes, links


def timed(run: Callable, repeat: int = 1):
    """Return (result of the last run, best and median wall seconds, best CPU seconds)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return result, min(wall), statistics.median(wall), min(cpu)


def numpy_floor(shipper: np.ndarray, consignee: np.ndarray, volume: np.ndarray, n: int, params) -> tuple:
    """The pair arrays from numpy columns with nothing but the essential steps: pairs found by np.unique,
    volumes summed by bincount, the two influences, forward arcs ordered by head, out-arc offsets."""
    lo, hi = np.minimum(shipper, consignee), np.maximum(shipper, consignee)
    keys, pair = np.unique(lo * n + hi, return_inverse=True)
    inbound = np.bincount(consignee, volume, minlength=n)
    outbound = np.bincount(shipper, volume, minlength=n)
    pair_volume = np.bincount(pair, volume, minlength=len(keys))
    down = params.alpha_down * np.bincount(pair, volume / inbound[consignee], minlength=len(keys))
    up = params.alpha_up * np.bincount(pair, volume / outbound[shipper], minlength=len(keys))
    order = np.argsort(keys % n, kind="stable")
    src = np.concatenate([keys[order] // n, keys[order] % n])
    out_ptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))])
    return pair_volume[order], down[order], up[order], src, out_ptr, np.argsort(src, kind="stable")


def bench(n: int, links_per_account: int, seed: int, repeat: int, reference: bool) -> dict:
    """Measure one network size."""
    rng = np.random.default_rng(seed)
    params = ScoringParams()
    nodes, links = synthetic_network(n, links_per_account, rng)
    arrays, records_s, _, records_cpu = timed(lambda: build_arrays(nodes, links, params), repeat)
    shipper = np.array([link.shipper_id for link in links])
    consignee = np.array([link.consignee_id for link in links])
    volume = np.array([max(link.volume_90d, 1.0) for link in links])
    _, floor_s, _, floor_cpu = timed(lambda: numpy_floor(shipper, consignee, volume, n, params), repeat)
    coo = (volume, (shipper, consignee))
    _, csr_s, _, _ = timed(lambda: sparse.coo_matrix(coo, shape=(n, n)).tocsr(), repeat)
    graph, build_s, _, _ = timed(lambda: build_graph(nodes, links, params))
    reference_arrays, arrays_s, _, _ = timed(lambda: GraphArrays.from_graph(graph))
    r0 = rng.beta(1.5, 12.0, len(arrays.nodes))
    fast, fast_s, fast_median, fast_cpu = timed(lambda: propagate_arrays(arrays, r0), repeat)
    expected = propagate_arrays(reference_arrays, reference_arrays.vector(arrays.mapping(r0))).risk
    matrix = sparse.csr_matrix((arrays.influence, (arrays.dst, arrays.src)), shape=(n, n))

    def matvecs():
        x = r0
        for _ in range(fast.sweeps):
            x = matrix @ x
        return x

    _, matvec_s, _, matvec_cpu = timed(matvecs, repeat)
    row = {
        "accounts": n,
        "links": len(links),
        "arcs": graph.number_of_edges(),
        "records_s": records_s,
        "records_cpu_s": records_cpu,
        "floor_s": floor_s,
        "floor_cpu_s": floor_cpu,
        "csr_s": csr_s,
        "build_s": build_s,
        "arrays_s": arrays_s,
        "arrays_diff": float(np.abs(reference_arrays.vector(arrays.mapping(fast.risk)) - expected).max()),
        "vectorised_s": fast_s,
        "vectorised_median_s": fast_median,
        "vectorised_cpu_s": fast_cpu,
        "matvec_s": matvec_s,
        "matvec_cpu_s": matvec_cpu,
        "sweeps": fast.sweeps,
    }
    if reference:
        own = arrays.mapping(r0)
        slow, slow_s, _, _ = timed(lambda: propagate_reference(graph, own))
        row["reference_s"] = slow_s
        row["ratio"] = slow_s / fast_s
        row["max_diff"] = max(abs(slow[node] - r) for node, r in arrays.mapping(fast.risk).items())
    outbound = np.bincount(arrays.src[: arrays.pairs], arrays.pair_volume, minlength=len(arrays.nodes))
    largest = arrays.nodes[int(np.argmax(outbound))]
    cascade, row["what_if_s"], _, _ = timed(lambda: what_if(arrays, remove_customers=[largest]), repeat)
    row["what_if_links"] = int(
        arrays.out_ptr[arrays.index[largest] + 1] - arrays.out_ptr[arrays.index[largest]]
    )
    row["what_if_lost"] = len(cascade.lost)
    _, row["exposures_s"], _, _ = timed(lambda: exposures(arrays))
    return row


def main() -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--links-per-account", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the timed fast paths (best is shown)")
    parser.add_argument("--no-reference", action="store_true", help="skip the slow per-arc reference")
    args = parser.parse_args()
    header = (
        "| accounts | links | arcs | build_graph s | arrays s | reference s | vectorised s: best (median, CPU) "
        "| sweeps | ratio | max abs diff | what-if largest shipper ms (its links, accounts lost) "
        "| all exposures s | load avg |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    rows = []
    for n in args.sizes:
        r = bench(n, args.links_per_account, args.seed, args.repeat, not args.no_reference)
        r["load"] = os.getloadavg()[0]
        rows.append(r)
        ref = (
            (f"{r['reference_s']:.2f}", f"{r['ratio']:.0f}×", f"{r['max_diff']:.1e}")
            if "ratio" in r
            else ("-",) * 3
        )
        print(
            f"| {r['accounts']:,} | {r['links']:,} | {r['arcs']:,} | {r['build_s']:.2f} | {r['arrays_s']:.2f} "
            f"| {ref[0]} | {r['vectorised_s']:.3f} ({r['vectorised_median_s']:.3f}, {r['vectorised_cpu_s']:.3f}) "
            f"| {r['sweeps']} | {ref[1]} | {ref[2]} "
            f"| {1000 * r['what_if_s']:.1f} ({r['what_if_links']:,}, {r['what_if_lost']:,}) "
            f"| {r['exposures_s']:.2f} | {r['load']:.1f} |",
            flush=True,
        )
    header = (
        "| accounts | build_graph + from_graph s | build_arrays s (CPU) | numpy floor s (CPU) | scipy COO→CSR s "
        "| build_arrays / floor (CPU) | networkx path / build_arrays | propagation s (CPU) "
        "| sweeps × CSR mat-vec s (CPU) | propagation / mat-vecs (CPU) | max abs diff vs from_graph | load avg |"
    )
    print("\n" + header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        old = r["build_s"] + r["arrays_s"]
        print(
            f"| {r['accounts']:,} | {old:.2f} | {r['records_s']:.3f} ({r['records_cpu_s']:.3f}) "
            f"| {r['floor_s']:.3f} ({r['floor_cpu_s']:.3f}) | {r['csr_s']:.3f} "
            f"| {r['records_s'] / r['floor_s']:.1f} ({r['records_cpu_s'] / r['floor_cpu_s']:.1f}) "
            f"| {old / r['records_s']:.0f}× | {r['vectorised_s']:.3f} ({r['vectorised_cpu_s']:.3f}) "
            f"| {r['matvec_s']:.3f} ({r['matvec_cpu_s']:.3f}) "
            f"| {r['vectorised_s'] / r['matvec_s']:.1f} ({r['vectorised_cpu_s'] / r['matvec_cpu_s']:.1f}) "
            f"| {r['arrays_diff']:.1e} | {r['load']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
