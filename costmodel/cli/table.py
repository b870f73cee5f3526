"""costmodel table: the per-layer cost table of one configuration."""

from __future__ import annotations

import argparse
from typing import Any

from costmodel.cli._common import check_format, config_command, config_title, emit, table_from_args
from costmodel.report.formatting import (
    Column,
    display_rows,
    millions,
    pct,
    render,
    shape_label,
    type_label,
)

TEXT_COLUMNS = (
    Column("index", "#"),
    Column("name", "layer", numeric=False),
    Column("type", "type", type_label, numeric=False),
    Column("stride", "s"),
    Column("in_shape", "input", shape_label, numeric=False),
    Column("out_shape", "output", shape_label, numeric=False),
    Column("mult_adds", "mult-adds (M)", millions),
    Column("mult_adds_pct", "% MA", pct),
    Column("params", "params (M)", lambda x: millions(x, 4)),
    Column("params_pct", "% params", pct),
)


def register(sub: Any) -> None:
    config_command(sub, "table", "per-layer mult-adds and parameters of one config", run)


def run(args: argparse.Namespace) -> int:
    from costmodel.core.engine import COLUMNS

    fmt = check_format(args)
    t = table_from_args(args)
    c = t.config
    title = (f"{config_title(c)} rounding={c.rounding} convention={c.convention} "
             f"classes={c.classes}")
    footer = [{"name": "total", "mult_adds": t.totals["mult_adds"], "params": t.totals["params"],
               "mult_adds_pct": 100.0, "params_pct": 100.0}]
    if fmt == "text":
        text = render("text", t.rows, TEXT_COLUMNS, footer=footer, title=title)
        text += (f"\ntotal: {millions(t.totals['mult_adds'])} M mult-adds, "
                 f"{millions(t.totals['params'], 3)} M params, "
                 f"weights {t.totals['weight_bytes'] / 1e6:.2f} MB fp32, "
                 f"peak activations {t.totals['peak_activation_bytes'] / 1e6:.2f} MB fp32 "
                 f"(MB = 10^6 bytes)\n")
    elif fmt == "csv":
        text = render("csv", t.rows, TEXT_COLUMNS, csv_keys=COLUMNS)
    else:
        text = render(fmt, t.rows, TEXT_COLUMNS, json_obj={**t.to_dict(), "layers": display_rows(t.rows)},
                      footer=footer)
    emit(text, args)
    return 0
