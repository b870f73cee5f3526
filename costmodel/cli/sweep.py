"""costmodel sweep: totals (and per-type breakdown) over an alpha x resolution grid."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from costmodel.cli._common import add_config_args, add_format_arg, check_format, config_kwargs, emit
from costmodel.errors import CostModelError
from costmodel.report.formatting import Column, millions, render

MAX_GRID = 2_000_000  # configs; a bigger grid would only exhaust memory


def parse_grid(text: str, name: str, kind: Callable[[str], Any]) -> list[Any]:
    """'a,b,c' or 'start:stop:step' (stop included), e.g. 0.25:1.0:0.05 or 96:320:32."""
    text = str(text).strip()
    example = "96:320:32" if kind is int else "0.25:1.0:0.05"
    allowed = f"a list like 0.5,0.75 or a range start:stop:step like {example}"
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            start, stop, step = (float(p) for p in parts)
            if not all(math.isfinite(v) for v in (start, stop, step)) or step <= 0 or stop < start:
                raise ValueError
            n = math.floor((stop - start) / step + 1e-9) + 1
            if n > MAX_GRID:
                raise CostModelError(f"{name} range {text!r} has {n} values; allowed: at most {MAX_GRID}")
            vals = [round(start + i * step, 10) for i in range(n)]
        else:
            vals = [float(v) for v in text.split(",") if v.strip()]
            if not vals:
                raise ValueError
    except ValueError:
        raise CostModelError(f"{name} {text!r} is not a valid list or range; allowed: {allowed}") from None
    if kind is int:
        if any(v != int(v) for v in vals if math.isfinite(v)):
            raise CostModelError(f"{name} {text!r} contains a non-integer; allowed: integers >= 1")
        return [int(v) if math.isfinite(v) else v for v in vals]
    return vals


def _m(x: Any) -> str:
    return millions(x)


def register(sub: Any) -> None:
    p = sub.add_parser("sweep", help="totals over an alpha x resolution grid (vectorized)")
    add_config_args(p, alpha=False, resolution=False)
    p.add_argument("--alpha", default="0.25:1.0:0.25", help="list a,b,c or range start:stop:step")
    p.add_argument("--resolution", default="128:224:32", help="list or range, integers")
    p.add_argument("--by-type", action="store_true", help="add per-layer-type mult-adds columns")
    add_format_arg(p, ("text", "csv", "json", "markdown"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.core.sweep import sweep

    fmt = check_format(args)
    kw = config_kwargs(args)
    alphas = parse_grid(args.alpha, "alpha", float)
    resolutions = parse_grid(args.resolution, "resolution", int)
    if len(alphas) * len(resolutions) > MAX_GRID:
        raise CostModelError(f"grid of {len(alphas) * len(resolutions)} configs; allowed: at most {MAX_GRID}")
    s = sweep(alphas, resolutions, **kw)
    df = s.to_frame()
    if not args.by_type:
        df = df[[c for c in df.columns if "[" not in c]]
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in df.to_dict("records")]
    cols = [Column("alpha", "alpha"), Column("resolution", "res"),
            Column("mult_adds", "mult-adds (M)", _m), Column("params", "params (M)", _m),
            Column("peak_activation_bytes", "peak act (MiB)", lambda x: f"{x / 2**20:.2f}")]
    cols += [Column(c, c[len("mult_adds["):-1] + " MA (M)", _m)
             for c in df.columns if c.startswith("mult_adds[")]
    if fmt == "json":
        text = render("json", records, cols, json_obj={"config": s.config, "rows": records})
    elif fmt == "csv":
        text = df.to_csv(index=False)
    else:
        text = render(fmt, records, cols)
    emit(text, args)
    return 0
