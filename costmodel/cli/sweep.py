"""costmodel sweep: totals (and per-type breakdown) over an alpha x resolution grid."""

from __future__ import annotations

import argparse
from typing import Any

from costmodel.cli._common import (
    add_config_args,
    add_format_arg,
    add_list_args,
    base_resolution,
    check_format,
    config_kwargs,
    emit,
    parse_values,
)
from costmodel.errors import CostModelError
from costmodel.report.formatting import Column, millions, render

MAX_GRID = 2_000_000  # configs; a bigger grid would only exhaust memory


def _m(x: Any) -> str:
    return millions(x)


def register(sub: Any) -> None:
    p = sub.add_parser("sweep", help="totals over an alpha x resolution grid (vectorized)")
    add_config_args(p, alpha=False, resolution=False)
    add_list_args(p, "0.25:1.0:0.25", None, resolution_note=(
        "default 128:224:32 at base resolution 224, scaled to the network's base_resolution, "
        "e.g. 171,214,256,299 for inception_v3"))
    p.add_argument("--by-type", action="store_true",
                   help="add per-layer-type mult-adds columns, grouped as breakdown groups them "
                        "(SE layers under SE)")
    add_format_arg(p, ("text", "csv", "json", "markdown"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.core.sweep import sweep

    fmt = check_format(args)
    kw = config_kwargs(args)
    alphas = parse_values(args.alpha, "alpha", float)
    if args.resolution is None:  # the network's own base resolution
        from costmodel.search.networks import DEFAULT_RESOLUTIONS, scaled_resolutions

        resolutions = scaled_resolutions(DEFAULT_RESOLUTIONS, base_resolution(args))
    else:
        resolutions = parse_values(args.resolution, "resolution", int)
    if len(alphas) * len(resolutions) > MAX_GRID:
        raise CostModelError(f"grid of {len(alphas) * len(resolutions)} configs; allowed: at most {MAX_GRID}")
    s = sweep(alphas, resolutions, **kw)
    df = s.to_frame()
    if not args.by_type:
        df = df[[c for c in df.columns if "[" not in c]]
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in df.to_dict("records")]
    cols = [Column("alpha", "alpha"), Column("resolution", "res"),
            Column("mult_adds", "mult-adds (M)", _m), Column("params", "params (M)", _m),
            Column("peak_activation_bytes", "peak act. (MB)", lambda x: f"{x / 1e6:.2f}")]
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
