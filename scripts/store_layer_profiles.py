"""Profile time per layer type (torch eager, BN folded: costmodel.latency.bench.profile_layers) for a few
configurations and store it in <user data folder>/latency/<device-id>.profile.csv, where
notebooks/03_latency.ipynb reads it (the notebook never measures).

    .venv/bin/python scripts/store_layer_profiles.py [--threads 1] [--runs 20]
        [--configs 1.0-224,0.5-160,0.25-128] [--data-dir FOLDER]

--data-dir: the user data folder (default $COSTMODEL_DATA_DIR, else $XDG_DATA_HOME/costmodel,
else ~/.local/share/costmodel; see costmodel.io.paths).

Profiling adds a fixed overhead per op, so the stored absolute times exceed an unprofiled run;
the shares are what the notebook shows. Run it on an otherwise idle machine (the load average
at the start is stored beside each profile).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from costmodel.errors import CostModelError
from costmodel.io import latency_data
from costmodel.latency import bench


def parse_configs(text: str) -> list[tuple[float, int]]:
    from costmodel.core.arch import check_alpha, check_resolution

    out = []
    for item in text.split(","):
        a, sep, r = item.strip().partition("-")
        try:
            alpha, resolution = float(a), int(r)
        except ValueError:
            raise CostModelError(f"config {item!r} is not valid; allowed: ALPHA-RESOLUTION, "
                                 f"e.g. 1.0-224") from None
        out.append((check_alpha(alpha), check_resolution(resolution)))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", default="1.0-224,0.5-160,0.25-128")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    try:
        configs = parse_configs(args.configs)
        opts = bench.BenchOptions(backend="torch", threads=args.threads).checked()
        info = bench.device_info("cpu", args.data_dir)
        torch_version = bench.versions().get("torch_version", "")
        for alpha, resolution in configs:
            load = os.getloadavg()[0]
            rows = bench.profile_layers(alpha, resolution, opts, runs=args.runs)
            config = {"device": info["device"], "backend": "torch", "device_type": "cpu",
                      "threads": opts.threads, "batch": opts.batch,
                      "channels_last": opts.channels_last, "alpha": alpha,
                      "resolution": resolution, "variant": opts.variant,
                      "rounding": opts.rounding, "classes": opts.classes, "convention": "paper",
                      "runs": args.runs, "loadavg_start": round(load, 2),
                      "torch_version": torch_version,
                      "date": datetime.now(UTC).isoformat(timespec="seconds")}
            path = latency_data.save_profile(info["device_id"], config, rows,
                                             data_dir=args.data_dir)
            shares = ", ".join(f"{r['type']} {r['time_pct']:.1f}%" for r in rows)
            print(f"{alpha:g}-{resolution} (load {load:.2f}): {shares} -> {path}")
    except CostModelError as exc:
        sys.stderr.write(f"store_layer_profiles: error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
