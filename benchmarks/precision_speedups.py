"""Speed-up of each precision over fp32, per backend, across a device's configs (issue #13).

Reads the stored rows of one measured device (`costmodel bench --precision fp32,bf16,int8`, or
the shipped precision reference device) and prints, per backend and precision: the configs
measured in both that precision and fp32, the speed-up fp32 median / median (each config's
median over its passes) as min / median / max, the same median over alpha <= 0.5 and over
alpha >= 0.75, and how well the passes agree (|pass 2 / pass 1 - 1|, median and worst).
Nothing is measured.

    .venv/bin/python benchmarks/precision_speedups.py reference-xeon-amx-2c
    .venv/bin/python benchmarks/precision_speedups.py <your device id> --data-dir DIR --threads 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def speedups(device_id: str, *, threads: int = 1, data_dir: str | None = None) -> list[dict]:
    from costmodel.io import latency_data

    df = latency_data.load_latency(device_id, threads=threads, data_dir=data_dir)
    if "spec" in df:  # MobileNet-V1's rows only (a device may hold other networks too)
        df = df[df["spec"].fillna("mobilenet_v1") == "mobilenet_v1"]
    keys = ["backend", "precision", "alpha", "resolution", "rounding"]
    med = df.groupby(keys)["median_ms"].median()
    out = []
    for (backend, precision), part in med.groupby(level=["backend", "precision"]):
        if precision == "float32":
            continue
        if (backend, "float32") not in med.index.droplevel(keys[2:]):
            continue
        fp32 = med.xs((backend, "float32"), level=["backend", "precision"])
        mine = part.droplevel(["backend", "precision"])
        both = mine.index.intersection(fp32.index)
        sp = fp32.loc[both] / mine.loc[both]
        alphas = sp.index.get_level_values("alpha")
        passes = df[(df["backend"] == backend) & (df["precision"] == precision)]
        agree = passes.groupby(keys[2:])["median_ms"].agg(
            lambda x: abs(x.iloc[1] / x.iloc[0] - 1) if len(x) > 1 else float("nan")).dropna()
        out.append({"backend": backend, "precision": precision, "configs": int(sp.size),
                    "min": float(sp.min()), "median": float(sp.median()), "max": float(sp.max()),
                    "median_small": float(sp[alphas <= 0.5].median()),
                    "median_large": float(sp[alphas >= 0.75].median()),
                    "pass_diff_median_pct": 100 * float(agree.median()) if agree.size else None,
                    "pass_diff_max_pct": 100 * float(agree.max()) if agree.size else None})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("device_id")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    rows = speedups(args.device_id, threads=args.threads, data_dir=args.data_dir)
    print(f"{args.device_id}, {args.threads} thread(s): speed-up = fp32 median / median, same "
          f"backend, per config (median over its passes)")
    print("backend      precision  configs  min    median  max    median a<=0.5  median a>=0.75"
          "  passes apart (median / worst)")
    for r in rows:
        apart = ("-" if r["pass_diff_median_pct"] is None else
                 f"{r['pass_diff_median_pct']:.1f}% / {r['pass_diff_max_pct']:.1f}%")
        print(f"{r['backend']:<12} {r['precision']:<10} {r['configs']:>7}  {r['min']:.2f}x  "
              f"{r['median']:.2f}x   {r['max']:.2f}x  {r['median_small']:>12.2f}x  "
              f"{r['median_large']:>13.2f}x  {apart}")


if __name__ == "__main__":
    main()
