"""costmodel recommend: the most accurate config within budgets, the runner-up, and why.

Exit status 0 when a config fits, 1 when none does (the message says what the closest needs),
2 on bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from costmodel.cli._common import add_format_arg, check_format, emit
from costmodel.cli.pareto import accuracy_label, add_points_args, points_kwargs
from costmodel.report.formatting import Column, render

FORMATS = ("text", "csv", "json", "markdown")

_COLUMNS = (
    Column("role", "", numeric=False),
    Column("label", "config", numeric=False),
    Column("top1", "top-1 (%)", lambda x: "" if x is None else f"{x:.1f}"),
    Column("accuracy", "top-1 is", numeric=False),
    Column("mult_adds", "mult-adds (M)", lambda x: f"{x / 1e6:,.1f}"),
    Column("params", "params (M)", lambda x: f"{x / 1e6:.3f}"),
    Column("size", "size {precision} (MB)", lambda x: f"{x / 1e6:.2f}"),
    Column("peak_activation", "peak act. (MB)", lambda x: f"{x / 1e6:.2f}"),
    Column("latency_ms", "latency (ms)", lambda x: "" if x is None else f"{x:.2f}"),
)


def register(sub: Any) -> None:
    p = sub.add_parser("recommend", help="most accurate config within latency/size/compute budgets")
    p.add_argument("--max-latency-ms", default=None, help="latency budget on --device (ms)")
    p.add_argument("--device", default=None,
                   help="latency device, e.g. pixel3_cpu4 (see `costmodel pareto --list`)")
    p.add_argument("--max-params-m", default=None, help="parameter budget (millions)")
    p.add_argument("--max-mult-adds-m", default=None, help="mult-add budget (millions)")
    p.add_argument("--max-size-mb", default=None,
                   help="model size budget at --precision (default fp32; MB, 10^6 bytes)")
    p.add_argument("--max-peak-activation-mb", default=None,
                   help="peak activation memory budget (MB, fp32)")
    p.add_argument("--min-top1", default=None, help="minimum top-1 (%%)")
    p.add_argument("--predicted-latency", action="store_true",
                   help="budget the device's predicted latency (costmodel.latency.kernel) instead "
                        "of measured, so --grid configs qualify")
    add_points_args(p)
    add_format_arg(p, FORMATS)
    p.set_defaults(func=run)


def _grid_note(args: argparse.Namespace, res: dict[str, Any]) -> list[str]:
    """--grid with a measured latency budget: say that only measured configs are candidates."""
    if not (args.grid and args.device and args.max_latency_ms is not None
            and not args.predicted_latency):
        return []
    return [f"--grid: a measured latency budget considers only configs measured on "
            f"{args.device} ({res['considered']} here), not the fine grid; --predicted-latency "
            f"budgets the latency model's prediction, so every grid config qualifies"]


def run(args: argparse.Namespace) -> int:
    from costmodel.search.pareto import SIZE_COLUMNS
    from costmodel.search.recommend import recommend

    fmt = check_format(args)
    res = recommend(max_latency_ms=args.max_latency_ms, device=args.device,
                    max_params_m=args.max_params_m, max_mult_adds_m=args.max_mult_adds_m,
                    max_size_mb=args.max_size_mb,
                    max_peak_activation_mb=args.max_peak_activation_mb,
                    min_top1=args.min_top1, predicted_latency=args.predicted_latency,
                    **points_kwargs(args))
    res["notes"] = [*res["notes"], *_grid_note(args, res)]
    rows = []
    for role, key in (("best", "best"), ("runner-up", "runner_up"), ("closest", "closest")):
        rec = res.get(key)
        if rec:
            rows.append({**rec, "role": role, "accuracy": accuracy_label(rec),
                         "size": rec[SIZE_COLUMNS[res["precision"]]]})
    cols = [Column(c.key, c.header.format(precision=res["precision"]), c.fmt, c.numeric)
            if c.key == "size" else c for c in _COLUMNS if c.key != "latency_ms" or args.device]
    if fmt == "json":
        text = render("json", [], (), json_obj=res)
    elif fmt == "csv":
        keys = ["role", "label", "alpha", "resolution", "top1", "top1_estimated", "range",
                "mult_adds", "params", "size_fp32", "size_bf16", "size_int8", "peak_activation",
                *(["latency_ms"] if args.device else []), "top1_source"]
        text = render("csv", rows, cols, csv_keys=keys)
    else:
        budgets = ", ".join(f"{k} {v:g}" for k, v in res["budgets"].items()) or "none"
        head = f"Budgets: {budgets}" + (f" (device {res['device']}" + (
            ", predicted latency)" if args.predicted_latency else ")") if args.device else "")
        head += f"; precision {res['precision']}" if args.precision else ""
        body = render("markdown" if fmt == "markdown" else "text", rows, cols)
        notes = "".join(f"note: {n}\n" for n in res["notes"])
        text = f"{head}\n{res['reason']}\n\n{body}{notes}"
    emit(text, args)
    return 0 if res["status"] == "ok" else 1
