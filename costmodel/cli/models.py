"""costmodel models: the built-in networks (``--model NAME``), their costs and cited figures."""

from __future__ import annotations

import argparse
from typing import Any

from costmodel.cli._common import add_format_arg, check_format, emit
from costmodel.core.conventions import CONVENTIONS
from costmodel.report.formatting import Column, millions, render


def published_text(row: dict[str, Any]) -> str:
    """The cited figures, short: 'params 11,689,512 (fvcore); top1 69.758%; mult_adds 1800M
    (paper) @227' (@: a resolution other than the base one)."""
    out = []
    for p in row["published"]:
        v = p["value"]
        exact = f"{v:,}" if v % 10_000 else f"{v / 1e6:g}M"
        text = f"{v:g}%" if p["figure"] == "top1" else exact
        conv = f" ({p['convention']})" if p.get("convention") else ""
        res = p.get("resolution", row["base_resolution"])
        at = f" @{res}" if res != row["base_resolution"] else ""
        out.append(f"{p['figure']} {text}{conv}{at}")
    return "; ".join(out)


COLUMNS = (
    Column("name", "model", numeric=False),
    Column("base_resolution", "res"),
    Column("rounding", "rounding", numeric=False),
    Column("layers", "layers"),
    Column("mult_adds", "mult-adds (M)", millions),
    Column("params", "params (M)", lambda x: millions(x, 3)),
    Column("torch_params", "torch params", lambda x: f"{x:,}"),
    Column("published_text", "published (cited in each description)", numeric=False),
)


def register(sub: Any) -> None:
    p = sub.add_parser("models", help="list the built-in networks (--model NAME) with their costs "
                                      "and published figures")
    p.add_argument("--convention", default="paper",
                   help=f"counting convention of the mult-adds and params columns: "
                        f"{', '.join(CONVENTIONS)} (default paper)")
    add_format_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.core.arch import check_choice
    from costmodel.core.catalog import CATALOG_KEYS, model_rows

    fmt = check_format(args)
    convention = check_choice("convention", args.convention, list(CONVENTIONS))
    rows = model_rows(convention)
    shown = [{**r, "published_text": published_text(r)} for r in rows]
    title = (f"Built-in networks at alpha 1, their base resolution and own rounding; mult-adds and "
             f"params: convention={convention}; torch params: the fvcore convention")
    text = render(fmt, shown, COLUMNS, title=title, csv_keys=list(CATALOG_KEYS),
                  json_obj={"convention": convention, "models": rows})
    emit(text, args)
    return 0
