"""Benchmark: wall time of `costmodel table --alpha 0.75` vs `python -c "import torch"`.

Both commands are run alternately in one run (so machine load affects both alike); medians of
N runs each. Target (issue #2): the CLI median at most 0.35 s.

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
    torch_cmd = [sys.executable, "-c", "import torch"]
    timed(cli), timed(torch_cmd)  # warm the file cache
    a, b = [], []
    for _ in range(n):
        a.append(timed(cli))
        b.append(timed(torch_cmd))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"costmodel table --alpha 0.75 : median {ma:.3f} s (min {min(a):.3f}, max {max(a):.3f}), n={n}")
    print(f"python -c 'import torch'     : median {mb:.3f} s (min {min(b):.3f}, max {max(b):.3f}), n={n}")
    print(f"ratio torch/cli: {mb / ma:.1f}x; target cli <= 0.35 s: {'met' if ma <= 0.35 else 'MISSED'}")


if __name__ == "__main__":
    main()
