"""costmodel pareto: the Pareto front of MobileNet-V1 configs for two or three objectives."""

from __future__ import annotations

import argparse
from typing import Any

from costmodel.cli._common import (
    add_data_dir_arg,
    add_format_arg,
    add_network_args,
    check_format,
    emit,
    parse_values,
)
from costmodel.errors import CostModelError
from costmodel.report.formatting import Column, is_missing, render

FORMATS = ("text", "csv", "json", "markdown")

# How each objective base shows in text/markdown: header suffix and cell formatter.
_DISPLAY: dict[str, tuple[str, Any]] = {
    "top1": ("top-1 (%)", lambda x: "" if is_missing(x) else f"{x:.1f}"),
    "top5": ("top-5 (%)", lambda x: "" if is_missing(x) else f"{x:.1f}"),
    "mult_adds": ("mult-adds (M)", lambda x: f"{x / 1e6:,.1f}"),
    "params": ("params (M)", lambda x: f"{x / 1e6:.3f}"),
    "size_fp32": ("size fp32 (MB)", lambda x: f"{x / 1e6:.2f}"),
    "size_bf16": ("size bf16 (MB)", lambda x: f"{x / 1e6:.2f}"),
    "size_int8": ("size int8 (MB)", lambda x: f"{x / 1e6:.2f}"),
    "peak_activation": ("peak act. (MB)", lambda x: f"{x / 1e6:.2f}"),
    "latency": ("{device} (ms)", lambda x: "" if is_missing(x) else f"{x:.2f}"),
    "latency_pred": ("{device} pred. (ms)", lambda x: "" if is_missing(x) else f"{x:.2f}"),
}


def add_points_args(p: argparse.ArgumentParser) -> None:
    """Options shared by `pareto` and `recommend`: which configs, which accuracy."""
    p.add_argument("--grid", action="store_true",
                   help="estimated points on a fine alpha x resolution grid (default: the 16 "
                        "published configs)")
    p.add_argument("--grid-alphas", default=None, metavar="START:STOP:STEP",
                   help="grid alphas, inclusive (default 0.25:1.0:0.025)")
    p.add_argument("--grid-resolutions", default=None, metavar="START:STOP:STEP",
                   help="grid resolutions, inclusive (default 128:224:4, scaled to the "
                        "network's base resolution)")
    p.add_argument("--accuracy", default="auto", metavar="EDITION",
                   help="published accuracy edition (default auto: tfslim_2018_02_float; "
                        "tflite_uint8 with a uint8 phone); see data/accuracy/editions.csv")
    p.add_argument("--precision", default=None,
                   help="model precision: fp32, bf16 or int8 (default: the latency device's, "
                        "else fp32); int8 reads the quantized accuracy edition (published at "
                        "its 16 configs, estimated from the float-to-quant drop elsewhere)")
    p.add_argument("--allow-extrapolation", action="store_true",
                   help="keep accuracy estimates far outside the published range (labelled far)")
    p.add_argument("--rounding", default=None, help="channel rounding: int, slim, divisible8 "
                   "(default: the network's own; int for mobilenet_v1)")
    p.add_argument("--convention", default="paper",
                   help="counting convention for mult-adds/params: paper (default), fvcore, tfslim")
    add_data_dir_arg(p)
    add_network_args(p)


def parse_range(text: str | None, what: str, integer: bool) -> list[Any] | None:
    """``START:STOP:STEP`` (inclusive) or a comma list -> values (cli._common.parse_values);
    None -> None."""
    if text is None:
        return None
    return parse_values(text, what, int if integer else float)


def points_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    from costmodel.core.arch import ROUNDING_RULES, check_choice
    from costmodel.core.conventions import CONVENTIONS

    if args.rounding is not None:
        check_choice("rounding", args.rounding, list(ROUNDING_RULES))
    check_choice("convention", args.convention, list(CONVENTIONS))
    return {"grid": args.grid,
            "alphas": parse_range(args.grid_alphas, "--grid-alphas", False),
            "resolutions": parse_range(args.grid_resolutions, "--grid-resolutions", True),
            "accuracy": args.accuracy, "allow_far": args.allow_extrapolation,
            "rounding": args.rounding, "convention": args.convention,
            "precision": args.precision, "spec": args.spec}


def accuracy_label(rec: dict[str, Any]) -> str:
    if is_missing(rec.get("top1")):
        return "not published"
    if not rec.get("top1_estimated"):
        return "published"
    rng = rec.get("range")
    return {"interpolated": "estimate", "extrapolated": "estimate (extrapolated)",
            "far": "ESTIMATE FAR OUTSIDE DATA"}.get(str(rng), "estimate")


def objective_column(o: dict[str, Any]) -> Column:
    base = o["name"].partition(":")[0]
    header, fmt = _DISPLAY[base]
    return Column(o["name"], header.format(device=o.get("device")), fmt)


def register(sub: Any) -> None:
    p = sub.add_parser("pareto", help="Pareto front of configs for 2-3 objectives "
                       "(accuracy, cost, latency)")
    p.add_argument("--x", default="mult_adds", help="first objective (default mult_adds)")
    p.add_argument("--y", default="top1", help="second objective (default top1)")
    p.add_argument("--z", default=None, help="optional third objective")
    p.add_argument("--show", default=None, help="all or front (default: all; front with --grid)")
    p.add_argument("--list", action="store_true", help="list objectives and devices, then exit")
    add_points_args(p)
    add_format_arg(p, FORMATS)
    p.set_defaults(func=run)


def _list(args: argparse.Namespace, fmt: str) -> int:
    from costmodel.search.pareto import devices, objectives

    objs = objectives()
    devs = devices()
    if fmt == "json":
        text = render("json", [], (), json_obj={"objectives": objs, "devices": devs})
    else:
        cols = (Column("name", "objective", numeric=False), Column("sense", "sense", numeric=False),
                Column("unit", "unit", numeric=False), Column("label", "label", numeric=False))
        dcols = (Column("id", "device", numeric=False), Column("backend", "backend", numeric=False),
                 Column("threads", "threads"), Column("precision", "precision", numeric=False),
                 Column("configs", "configs"), Column("published", "published"),
                 Column("description", "description", numeric=False))
        text = render(fmt, objs, cols) + "\n" + render(fmt, devs, dcols)
    emit(text, args)
    return 0


def _grid_note(args: argparse.Namespace, objs: list[dict[str, Any]], n: int) -> list[str]:
    """--grid with a measured latency axis: say that the axis holds only measured configs."""
    measured = [o["device"] for o in objs if o["name"].startswith("latency:")]
    if not (args.grid and measured):
        return []
    return [f"--grid: a measured latency axis holds only measured configs, so the {n} configs "
            f"measured on {', '.join(measured)} are shown, not the fine grid; for the grid use "
            f"the latency model's prediction: --x latency_pred:{measured[0]}"]


def run(args: argparse.Namespace) -> int:
    from costmodel.search.accuracy import DEFAULT_FORM, estimate_edition, estimate_source, fit
    from costmodel.search.pareto import pareto

    fmt = check_format(args)
    if args.list:
        return _list(args, fmt)
    names = [args.x, args.y] + ([args.z] if args.z else [])
    show = args.show or ("front" if args.grid else "all")
    if show not in ("all", "front"):
        raise CostModelError(f"--show {show!r} is unknown; allowed: all, front")
    frame = pareto(names, **points_kwargs(args))
    objs = frame.attrs["objectives"]
    shown = frame if show == "all" else frame[~frame["dominated"]]
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()}
                                     for r in shown.to_dict("records")]
    for r in records:
        r["accuracy"] = accuracy_label(r)
        r["front"] = "" if r["dominated"] else str(r["front_order"] + 1)
        r["status"] = f"dominated by {r['dominated_by']}" if r["dominated"] else "front"
    obj_names = [o["name"] for o in objs]
    cols = [Column("front", "front #"), Column("label", "config", numeric=False)]
    cols += [objective_column(o) for o in objs]
    if "top1" not in obj_names:
        cols.append(objective_column({"name": "top1"}))
    cols += [Column("accuracy", "top-1 is", numeric=False),
             Column("status", "status", numeric=False)]
    own = frame.attrs["edition"] == "published"  # another network: its published top-1 only
    est = None if own else fit(DEFAULT_FORM, "top1", estimate_edition(frame.attrs["edition"]))
    n_front = int((~frame["dominated"]).sum())
    axes = " vs ".join(o["label"] + (" (max)" if o["sense"] == "max" else "") for o in objs)
    title = (f"Pareto front: {axes}; {n_front} of {len(frame)} configs on the front; "
             + (f"network {frame.attrs['config']['spec']}, published top-1 only" if own else
                f"accuracy edition {frame.attrs['edition']}"))
    notes = [*frame.attrs["notes"], *_grid_note(args, objs, len(frame))]
    footer_lines = [f"note: {n}" for n in notes]
    if show == "front" and n_front < len(frame):
        footer_lines.append(f"note: {len(frame) - n_front} dominated configs not shown "
                            f"(--show all)")
    if frame["top1_estimated"].any():
        footer_lines.append(f"'estimate' = top-1 not published for this config: "
                            f"{estimate_source(frame.attrs['edition'])}")
    if fmt == "text":
        text = render("text", records, cols, title=title)
        text += "".join(f"{line}\n" for line in footer_lines)
    elif fmt == "markdown":
        text = f"**{title}**\n\n" + render("markdown", records, cols)
        text += "".join(f"\n_{line}_\n" for line in footer_lines)
    elif fmt == "csv":
        keys = ["front_order", "label", "alpha", "resolution", *obj_names,
                *[k for k in ("top1", "top5") if k not in obj_names], "top1_estimated", "range",
                "top1_source", "dominated", "dominated_by"]
        text = render("csv", records, cols, csv_keys=keys)
    else:
        clean = [{k: (None if is_missing(v) else v) for k, v in r.items()
                  if k not in ("front", "status")} for r in records]
        text = render("json", [], (), json_obj={
            "objectives": objs, "edition": frame.attrs["edition"], "notes": notes,
            "config": frame.attrs["config"], "front_size": n_front, "points": clean,
            "estimator": est.to_dict() if est else None})
    emit(text, args)
    return 0
