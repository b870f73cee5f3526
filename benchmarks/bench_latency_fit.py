"""First-call cost of costmodel.latency.model.fit_device (issue #4): the default (form, stat and
pad chosen by leave-one-out) against fixed settings (one fit), and the cached second call.

    .venv/bin/python benchmarks/bench_latency_fit.py [--device-id ID] [--repeats N] [--old REV]

``--old REV`` also times fit_device of latency_model.py as of git revision REV (e.g. the commit
before model selection), loaded side by side in the same run. Each measurement runs in a fresh
subprocess (a first call: nothing cached); medians over the repeats are printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SNIPPET = """
import importlib.util, sys, time, warnings
warnings.simplefilter("ignore")
path, kwargs = sys.argv[1], eval(sys.argv[2])
if path == "-":
    import costmodel.latency.model as lm
else:
    spec = importlib.util.spec_from_file_location("old_latency_model", path)
    lm = importlib.util.module_from_spec(spec); sys.modules[spec.name] = lm
    spec.loader.exec_module(lm)
lm.fit_device("pixel3", backend="tflite-cpu")  # warm imports (scipy, pandas) outside the timing
t = time.perf_counter(); lm.fit_device(**kwargs); first = time.perf_counter() - t
t = time.perf_counter(); lm.fit_device(**kwargs); second = time.perf_counter() - t
print(first, second)
"""


def _time(path: str, kwargs: dict[str, object]) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", SNIPPET, path, repr(kwargs)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device-id", default="reference-xeon-2c")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--old", default=None, help="git revision of the earlier latency_model.py")
    args = ap.parse_args()
    base = {"device_id": args.device_id}
    cases: list[tuple[str, str, dict[str, object]]] = [
        ("auto (default)", "-", base),
        ("fixed roofline/median/pad 1", "-", {**base, "form": "roofline", "stat": "median",
                                              "pad": 1}),
    ]
    tmpdir = tempfile.TemporaryDirectory()
    if args.old:
        src = subprocess.run(["git", "show", f"{args.old}:costmodel/latency/model.py"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        old = Path(tmpdir.name) / "old_latency_model.py"
        old.write_text(src)
        cases.append((f"before ({args.old}, defaults)", str(old), base))
    results: dict[str, list[tuple[float, float]]] = {c[0]: [] for c in cases}
    for _ in range(args.repeats):  # interleaved, so load changes hit every case alike
        for name, path, kw in cases:
            results[name].append(_time(path, kw))
    tmpdir.cleanup()
    ref = statistics.median(t[0] for t in results[cases[-1][0]])
    print(f"device {args.device_id}, {args.repeats} fresh processes per case (medians)")
    for name, vals in results.items():
        first = statistics.median(v[0] for v in vals)
        second = statistics.median(v[1] for v in vals)
        print(f"{name:34s} first call {first:7.3f} s ({first / ref:5.2f}x last row)  "
              f"second call {1e3 * second:8.2f} ms")


if __name__ == "__main__":
    main()
