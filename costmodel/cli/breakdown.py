"""costmodel breakdown: mult-adds and params per layer type, beside the paper's Table 2."""

from __future__ import annotations

import argparse
from typing import Any

from costmodel.cli._common import check_format, config_command, config_title, emit, table_from_args
from costmodel.report.formatting import Column, display_rows, millions, render, type_label


def _pp(x: Any) -> str:
    return "" if x is None else f"{x:.2f}"


def _signed(x: Any) -> str:
    return "" if x is None else f"{round(x, 2) + 0.0:+.2f}"  # no "-0.00"


COLUMNS = (
    Column("type", "layer type", type_label, numeric=False),
    Column("mult_adds", "mult-adds (M)", millions),
    Column("mult_adds_pct", "% MA", _pp),
    Column("published_mult_adds_pct", "paper % MA", _pp),
    Column("mult_adds_pct_diff", "diff", _signed),
    Column("params", "params (M)", lambda x: millions(x, 4)),
    Column("params_pct", "% params", _pp),
    Column("published_params_pct", "paper % params", _pp),
    Column("params_pct_diff", "diff", _signed),
)


OWN_KEYS = ("type", "mult_adds", "mult_adds_pct", "params", "params_pct")  # any network's


PAIR_COLUMNS = (
    Column("name", "depthwise + pointwise pair", numeric=False),
    Column("kernel", "k"),
    Column("stride", "s"),
    Column("in_channels", "M"),
    Column("out_channels", "N"),
    Column("out_size", "D_F"),
    Column("separable_mult_adds", "separable MA (M)", millions),
    Column("standard_mult_adds", "standard MA (M)", millions),
    Column("mult_adds_ratio", "ratio", lambda x: f"{x:.4f}"),
    Column("closed_form_ratio", "1/N + 1/D_K^2", lambda x: f"{x:.4f}"),
    Column("params_ratio", "params ratio", lambda x: f"{x:.4f}"),
)


def register(sub: Any) -> None:
    config_command(sub, "breakdown", "per-type mult-adds/params shares vs the paper's Table 2", run)
    p = sub.choices["breakdown"]
    p.add_argument("--pairs", action="store_true",
                   help="instead: every depthwise separable pair (wherever one occurs, e.g. in "
                        "inverted residuals) beside the standard conv it replaces, with the "
                        "paper's eq. 5 reduction ratio")


def run_pairs(args: argparse.Namespace, fmt: str) -> int:
    from costmodel.cli._common import alpha_from_args, config_kwargs, resolution_from_args
    from costmodel.core.reduction import REDUCTION_COLUMNS, separable_reduction

    alpha, resolution, kw = alpha_from_args(args), resolution_from_args(args), config_kwargs(args)
    rows = separable_reduction(alpha, resolution, **kw)
    name = kw["spec"] or "mobilenet_v1"
    title = (f"Depthwise separable pairs vs standard convs (eq. 5): {name} alpha={float(alpha):g} "
             f"resolution={resolution} convention={kw['convention']}; {len(rows)} pairs")
    text = render(fmt, rows, PAIR_COLUMNS, title=title, csv_keys=list(REDUCTION_COLUMNS),
                  json_obj={"pairs": rows})
    emit(text, args)
    return 0


def run(args: argparse.Namespace) -> int:
    from costmodel.core.breakdown import breakdown_rows

    fmt = check_format(args)
    if args.pairs:
        return run_pairs(args, fmt)
    t = table_from_args(args)
    rows = breakdown_rows(t)
    c = t.config
    paper = " (paper columns: Table 2, 1.0 MobileNet-224)" if c.spec == "mobilenet_v1" else ""
    title = f"Resource per layer type: {config_title(c)} convention={c.convention}{paper}"
    columns = COLUMNS if paper else tuple(x for x in COLUMNS if x.key in OWN_KEYS)
    text = render(fmt, rows, columns, title=title, csv_keys=list(rows[0]),
                  json_obj={"config": t.to_dict()["config"], "types": display_rows(rows), "totals": t.totals})
    emit(text, args)
    return 0
