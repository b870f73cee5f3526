"""Benchmark: wall time of `costmodel table --alpha 0.75` and `costmodel table --model
inception_v3` (a built-in read from its YAML file, 125 layers) vs `python -c "import torch"`.

The commands are run alternately in one run (so machine load affects them alike); medians of
N runs each. Target (issues #2 and #11): each CLI median at most 0.35 s.

    .venv/bin/python benchmarks/bench_cli_startup.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    exe = str(Path(sys.executable).with_name("costmodel"))
    cli = [exe, "table", "--alpha", "0.75"]
    model = [exe, "table", "--model", "inception_v3"]
    torch_cmd = [sys.executable, "-c", "import torch"]
    timed(cli), timed(model), timed(torch_cmd)  # warm the file cache
    a, m, b = [], [], []
    for _ in range(n):
        a.append(timed(cli))
        m.append(timed(model))
        b.append(timed(torch_cmd))
    ma, mm, mb = statistics.median(a), statistics.median(m), statistics.median(b)
    print(f"costmodel table --alpha 0.75          : median {ma:.3f} s (min {min(a):.3f}, "
          f"max {max(a):.3f}), n={n}")
    print(f"costmodel table --model inception_v3  : median {mm:.3f} s (min {min(m):.3f}, "
          f"max {max(m):.3f}), n={n}")
    print(f"python -c 'import torch'              : median {mb:.3f} s (min {min(b):.3f}, "
          f"max {max(b):.3f}), n={n}")
    met = "met" if max(ma, mm) <= 0.35 else "MISSED"
    print(f"ratio torch/cli: {mb / ma:.1f}x; target cli <= 0.35 s: {met}")


if __name__ == "__main__":
    main()
