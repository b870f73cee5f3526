"""Benchmark: Pareto / recommend / config_point call times (the dashboard's callback targets).

Target (issue #6): a slider callback's server-side time at most 50 ms median; the library calls
it makes must fit well inside that. Every case is run interleaved with the others in one run
(so machine load affects all alike); medians of N calls each. "cold" clears the in-process
caches (costs per grid, latency files, accuracy fits stay warm as they would in a server)
before each call; config_point uses a fresh random alpha/resolution each call (no cache hit).

Also, side by side: the grid's costs from the vectorized sweep vs one layer_table per config.

    .venv/bin/python benchmarks/bench_pareto.py [N]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable

from costmodel.core.engine import layer_table
from costmodel.search import pareto as P
from costmodel.search.recommend import recommend


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    rng = random.Random(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        P.pareto(["latency_pred:pixel3_cpu4", "top1"], grid=True)  # fit the latency model once

    def cold(fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            P._costs.cache_clear()
            return fn()
        return run

    grid_a, grid_r = P.DEFAULT_GRID_ALPHAS, P.DEFAULT_GRID_RESOLUTIONS
    cases: dict[str, Callable[[], object]] = {
        "pareto mult_adds/top1, 16 published": lambda: P.pareto(["mult_adds", "top1"]),
        "pareto latency:pixel3_cpu4/top1, 16": lambda: P.pareto(["latency:pixel3_cpu4", "top1"]),
        "pareto mult_adds/top1, grid (warm)": lambda: P.pareto(["mult_adds", "top1"], grid=True),
        "pareto mult_adds/top1, grid (cold)": cold(lambda: P.pareto(["mult_adds", "top1"], grid=True)),
        "pareto MA/top1/params, grid (cold)": cold(
            lambda: P.pareto(["mult_adds", "top1", "params"], grid=True)),
        "pareto latency_pred/top1, grid (cold)": cold(
            lambda: P.pareto(["latency_pred:pixel3_cpu4", "top1"], grid=True)),
        "recommend issue example, 16": lambda: recommend(
            max_latency_ms=10, device="pixel3_cpu4", max_params_m=3, max_mult_adds_m=300),
        "recommend MA+params, grid (cold)": cold(
            lambda: recommend(max_params_m=3, max_mult_adds_m=300, grid=True)),
        "config_point random slider value": lambda: P.config_point(
            round(rng.uniform(0.25, 1.0), 3), rng.randrange(128, 225), ["latency:pixel3_cpu4"]),
        "grid costs: sweep (vectorized)": cold(lambda: P._costs(
            tuple(grid_a), tuple(grid_r), "mobilenet_v1", "int", "paper", 1000)),
        "grid costs: layer_table per config": lambda: [
            layer_table(a, r).totals for a in grid_a for r in grid_r],
    }
    for fn in cases.values():
        fn()  # warm imports and file caches
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(n):
        for k, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    width = max(map(len, cases))
    print(f"grid: {len(grid_a)} alphas x {len(grid_r)} resolutions = {len(grid_a) * len(grid_r)} "
          f"configs; n={n} calls each, interleaved")
    for k, ts in times.items():
        med = statistics.median(ts) * 1e3
        flag = "" if k.startswith("grid costs") else ("  (<= 50 ms)" if med <= 50 else "  OVER 50 ms")
        print(f"{k:<{width}}  median {med:8.2f} ms  min {min(ts) * 1e3:8.2f}  max "
              f"{max(ts) * 1e3:8.2f}{flag}")
    vec = statistics.median(times["grid costs: sweep (vectorized)"])
    loop = statistics.median(times["grid costs: layer_table per config"])
    print(f"sweep vs layer_table loop on the grid: {loop / vec:.0f}x faster")


if __name__ == "__main__":
    main()
