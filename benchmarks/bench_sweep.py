"""Benchmark: vectorized sweep throughput (configs/s) vs fvcore on one config, in one run.

Target (issue #2): at least 10,000x fvcore's throughput on a grid of 10,000+ configs.

    .venv/bin/python benchmarks/bench_sweep.py
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np

from costmodel.core.sweep import sweep


def time_sweep(alphas: np.ndarray, res: np.ndarray, repeats: int = 7) -> float:
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        s = sweep(alphas, res)
        ts.append(time.perf_counter() - t0)
    assert s.mult_adds.size == alphas.size * res.size
    return statistics.median(ts)


def time_fvcore(repeats: int = 3) -> float:
    import logging

    import torch
    from fvcore.nn import FlopCountAnalysis

    from costmodel.crosscheck.torch_model import build_model

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        # one config end to end: build the model, trace it, count (what a user would do)
        m = build_model(1.0, 224)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = FlopCountAnalysis(m, torch.zeros(1, 3, 224, 224))
            f.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            f.total()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    alphas = np.round(np.linspace(0.1, 1.5, 101), 6)
    res = np.arange(96, 321, 2)  # 113 resolutions -> 11,413 configs
    n = alphas.size * res.size
    t_sweep = time_sweep(alphas, res)
    t_fv = time_fvcore()
    sweep_rate = n / t_sweep
    fv_rate = 1 / t_fv
    print(f"sweep: {n} configs in {t_sweep * 1e3:.2f} ms (median of 7) = {sweep_rate:,.0f} configs/s")
    print(f"fvcore: one config (build + trace + count, 1.0-224) {t_fv:.3f} s (median of 3) "
          f"= {fv_rate:.2f} configs/s")
    ratio = sweep_rate / fv_rate
    print(f"ratio: {ratio:,.0f}x (target >= 10,000x: {'met' if ratio >= 1e4 else 'MISSED'})")


if __name__ == "__main__":
    main()
