"""costmodel formula: closed-form mult-adds and params in alpha and rho, vs the exact counts."""

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
from costmodel.report.formatting import Column, millions, render

COLUMNS = (
    Column("alpha", "alpha"),
    Column("resolution", "res"),
    Column("rho", "rho", lambda x: f"{x:.4f}"),
    Column("mult_adds", "exact MA (M)", millions),
    Column("mult_adds_formula", "formula MA (M)", millions),
    Column("mult_adds_rel_diff", "exact vs formula %", lambda x: f"{100 * x:+.2f}"),
    Column("params", "exact params (M)", lambda x: millions(x, 4)),
    Column("params_formula", "formula params (M)", lambda x: millions(x, 4)),
    Column("params_rel_diff", "exact vs formula %", lambda x: f"{100 * x:+.2f}"),
)


def register(sub: Any) -> None:
    p = sub.add_parser("formula", help="closed-form cost polynomial in alpha and rho vs exact counts")
    add_config_args(p, alpha=False, resolution=False)
    add_list_args(p, "1.0,0.75,0.5,0.25,0.3", None)
    add_format_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.core.formula import compare, formula_text, symbolic_totals

    fmt = check_format(args)
    kw = config_kwargs(args)
    alphas = parse_values(args.alpha, "alpha", float)
    base = base_resolution(args)
    resolutions = (parse_values(args.resolution, "resolution", int) if args.resolution is not None
                   else [round(base * f) for f in (1, 6 / 7, 5 / 7, 4 / 7, 130 / 224)])
    sym = symbolic_totals(kw["variant"], kw["convention"], kw["classes"], kw["spec"])
    rows = compare(alphas, resolutions, **kw)
    ma_text, params_text = formula_text(sym["mult_adds"]), formula_text(sym["params"])
    if fmt == "json":
        text = render("json", rows, COLUMNS, json_obj={"mult_adds": ma_text, "params": params_text,
                                                         "comparison": rows})
    elif fmt == "text":
        worst = max(abs(r["mult_adds_rel_diff"]) for r in rows)
        text = (f"mult_adds(alpha, rho) = {ma_text}\nparams(alpha)         = {params_text}\n"
                f"(rho = resolution / {base}; channel rounding and SAME-padding ceil ignored)\n\n"
                + render("text", rows, COLUMNS)
                + f"\nlargest mult-adds difference: {100 * worst:.2f}% "
                  f"(rounding and ceil bend the alpha^2 and rho^2 laws where sizes are not exact)\n")
    else:
        text = render(fmt, rows, COLUMNS)
    emit(text, args)
    return 0
