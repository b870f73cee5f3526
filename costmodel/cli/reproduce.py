"""costmodel reproduce: every published cost figure, computed vs printed, with explanations."""

from __future__ import annotations

import argparse
from typing import Any

from costmodel.cli._common import add_format_arg, check_format, emit
from costmodel.report.formatting import Column, plain, render


def _num(x: Any) -> str:
    return f"{x:,.3f}".rstrip("0").rstrip(".") if isinstance(x, float) else plain(x)


COLUMNS = (
    Column("source", "source", numeric=False),
    Column("item", "item", numeric=False),
    Column("quantity", "quantity", numeric=False),
    Column("computed", "computed", _num),
    Column("published", "published"),
    Column("agree", "agree", lambda x: "yes" if x else "NO", numeric=False),
    Column("explanation", "explanation", numeric=False),
)


def register(sub: Any) -> None:
    from costmodel.crosscheck.reproduce import SECTIONS

    p = sub.add_parser("reproduce", help="reproduce the paper's and TF-slim's cost figures")
    p.add_argument("--section", action="append", default=None,
                   help=f"only these sections (repeatable): {', '.join(SECTIONS)}")
    p.add_argument("--disagreements", action="store_true", help="show only disagreeing figures")
    add_format_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.crosscheck.reproduce import reproduce

    fmt = check_format(args)
    checks = [c.as_dict() for c in reproduce(args.section)]
    n_ok = sum(c["agree"] for c in checks)
    shown = [c for c in checks if not c["agree"]] if args.disagreements else checks
    n_open = sum(c["kind"] == "unexplained" for c in checks)
    title = (f"Published cost figures reproduced: {n_ok} of {len(checks)} agree at the printed "
             f"precision; {len(checks) - n_ok} disagreements, "
             + (f"{len(checks) - n_ok - n_open} explained by computation, {n_open} unexplained "
                f"(with what the computation shows)" if n_open else "each explained by computation"))
    text = render(fmt, shown, COLUMNS, title=title,
                  json_obj={"agree": n_ok, "total": len(checks), "checks": shown})
    emit(text, args)
    return 0
