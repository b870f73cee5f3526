"""Calibrate this machine, then score the latency model on fresh random configs (issue #10).

For each backend/threads asked: ``costmodel latency calibrate`` (the same library calls, the
default 300 s budget unless --budget-s), then ``evaluate --random N``: N configs drawn at random
(alpha uniform 0.25..1.3, resolution 96..288, rounding int or divisible8) measured right after,
scored by the model fitted to each statistic (median wall time, and process CPU time at one
thread), and side by side, on the same rows, by the per-group form alone (layer times unused):
with --layer-times (calibrate reads per-layer times, and the fit may choose the per-layer form)
one run compares the two forms under the same conditions.
Run on a quiet machine; on a shared one the wall-time figures are noisy (see README).

    .venv/bin/python benchmarks/bench_latency_random.py                     # ORT + torch, 1 thread
    .venv/bin/python benchmarks/bench_latency_random.py --runs onnxruntime:1,torch:1,onnxruntime:2
    .venv/bin/python benchmarks/bench_latency_random.py --runs onnxruntime:1:int8,openvino:1:bf16
    .venv/bin/python benchmarks/bench_latency_random.py --data-dir /tmp/cm --random 40 --json out.json
    .venv/bin/python benchmarks/bench_latency_random.py --runs torch:1:bf16 --children 3  # median of 3

The equivalent commands, per backend (``--stat cpu`` for the CPU-time figures):

    costmodel latency calibrate --backend onnxruntime --threads 1 --data-dir DIR
    costmodel latency evaluate --device-id ID --data-dir DIR --backend onnxruntime --threads 1 \\
        --random 40 --seed 1
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one(backend: str, threads: int, *, budget: float, n: int, seed: int, data_dir: Path,
        device_id: str, layer_times: bool = False, precision: str = "fp32",
        children: int = 1) -> dict:
    from costmodel.io import latency_data
    from costmodel.latency import calibrate, kernel
    from costmodel.latency.bench import device_info

    path = latency_data.writable_latency_path(device_id, data_dir)
    t0 = time.monotonic()
    cal = calibrate.calibrate(budget_s=budget, backend=backend, threads=threads,
                              device_id=device_id, path=path, data_dir=data_dir,
                              fingerprint=device_info("cpu", data_dir)["fingerprint"],
                              layer_times=layer_times, precision=precision, children=children)
    stats = ["median", "cpu"] if threads == 1 else ["median"]
    fits = {}
    for stat in stats:
        calibrate.finish(cal, stat=stat, data_dir=data_dir)
        fits[(stat, "model")] = {"model": cal.model, "held_out": cal.held_out}
        if layer_times:  # side by side, on the same rows: the per-group form alone
            m = replace(kernel.measured(device_id, backend=backend, threads=threads, stat=stat,
                                        data_dir=data_dir), layer_ms=None)
            fits[(stat, "per_group_alone")] = {
                "model": kernel.fit_model(m.alphas, m.resolutions, m.roundings, m.y_ms,
                                          stat=stat, classes=m.classes),
                "held_out": kernel.held_out(m, stat=stat)}
    calib_s = time.monotonic() - t0
    rows = calibrate.measure_random(n, backend=backend, threads=threads, seed=seed,
                                    data_dir=data_dir, precision=precision, children=children)
    out = {"backend": backend, "threads": threads, "precision": precision, "budget_s": budget,
           "calibrate_wall_s": round(calib_s, 1), "configs_measured": len(cal.measured),
           "configs_resumed": cal.skipped, "layer_times": layer_times, "children": children}
    for (stat, which), f in fits.items():
        s = calibrate.score_measured(f["model"], rows)
        ho = f["held_out"]
        fig = {"form": f["model"].form, "rule": f["model"].rule.label,
               "held_out_within": ho.within, "random_within": s["within"],
               "baseline_within": s["baseline_within"],
               "abs_error_median_pct": s["abs_error_median_pct"],
               "abs_error_iqr_pct": s["abs_error_iqr_pct"],
               "errors_pct": [round(r["error_pct"], 2) for r in s["rows"]]}
        if which == "model":
            out[stat] = {**out.get(stat, {}), **fig}
        else:
            out.setdefault(stat, {})[which] = fig
        label = "" if which == "model" else ", per-group form alone"
        print(f"{backend} {threads} thread(s) {precision}, {kernel.STAT_LABELS[stat]}{label}: "
              f"{len(cal.measured) + cal.skipped} configs ({cal.elapsed_s:.0f} s of {budget:g}), "
              f"{f['model'].rule.label} ({f['model'].form}); held-out {100 * ho.within:.1f}% "
              f"within 10%; {n} random configs {100 * s['within']:.1f}% within 10% (baseline "
              f"{100 * s['baseline_within']:.1f}%), |error| median "
              f"{s['abs_error_median_pct']:.1f}% IQR {s['abs_error_iqr_pct'][0]:.1f}-"
              f"{s['abs_error_iqr_pct'][1]:.1f}%", flush=True)
    out["random_rows"] = [{k: r[k] for k in ("alpha", "resolution", "rounding", "median_ms",
                                              "cpu_ms", "iqr_ms", "loadavg_start")} for r in rows]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="onnxruntime:1,torch:1",
                   help="backend:threads[:precision] list (default onnxruntime:1,torch:1; "
                        "precision fp32 unless named, e.g. onnxruntime:1:int8, openvino:1:bf16)")
    p.add_argument("--budget-s", type=float, default=300.0)
    p.add_argument("--random", type=int, default=40)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", default=None, help="user data folder (default: a temp folder)")
    p.add_argument("--device-id", default="bench-this-machine")
    p.add_argument("--json", default=None, help="write the figures here")
    p.add_argument("--layer-times", action="store_true",
                   help="calibrate with per-layer times (latency calibrate --layer-times)")
    p.add_argument("--children", type=int, default=1,
                   help="forked children per config, the median one kept (calibrate.isolated)")
    args = p.parse_args()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="costmodel-bench-"))
    results = []
    for item in args.runs.split(","):
        backend, threads, *rest = item.split(":")
        results.append(one(backend, int(threads), budget=args.budget_s, n=args.random,
                           seed=args.seed, data_dir=data_dir, device_id=args.device_id,
                           layer_times=args.layer_times, precision=rest[0] if rest else "fp32",
                           children=args.children))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
