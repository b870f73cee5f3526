"""costmodel bench: measured inference latency of one config or a grid (issue #4).

Every finished measurement is appended (atomically) to <user data folder>/latency/<device-id>.csv;
re-running skips keys this machine has already measured there. The work is
costmodel.latency.bench.run_bench; this module parses and renders.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from costmodel.cli._common import (
    add_config_args,
    add_data_dir_arg,
    add_format_arg,
    check_format,
    config_kwargs,
    emit,
)
from costmodel.cli._common import configs_from_args as _configs
from costmodel.errors import CostModelError
from costmodel.report.formatting import Column, pct, render


def _ms(x: Any) -> str:
    return "" if x is None else f"{float(x):.3f}"


ROW_COLUMNS = (
    Column("alpha", "alpha", lambda x: f"{float(x):g}"),
    Column("resolution", "res"),
    Column("backend", "backend", numeric=False),
    Column("precision", "precision", numeric=False),
    Column("device_type", "device", numeric=False),
    Column("threads", "threads"),
    Column("batch", "batch"),
    Column("median_ms", "median ms", _ms),
    Column("iqr_ms", "IQR ms", _ms),
    Column("min_ms", "min ms", _ms),
    Column("cpu_ms", "cpu ms", _ms),
    Column("samples", "samples"),
    Column("loadavg_start", "load", lambda x: f"{float(x):.2f}"),
)
LAYER_COLUMNS = (
    Column("type", "type", numeric=False),
    Column("layers", "layers"),
    Column("time_ms", "time ms (profiled)", _ms),
    Column("time_pct", "% time", pct),
    Column("mult_adds_pct", "% mult-adds", pct),
)
def _opt(fmt: str) -> Any:
    return lambda x: "" if x is None else fmt.format(x)


THROUGHPUT_COLUMNS = (
    Column("alpha", "alpha", lambda x: f"{float(x):g}"),
    Column("resolution", "res"),
    Column("backend", "backend", numeric=False),
    Column("precision", "precision", numeric=False),
    Column("threads", "threads"),
    Column("median_ms", "median ms", _ms),
    Column("iqr_ms", "IQR ms", _ms),
    Column("cpu_ms", "cpu ms", _ms),
    Column("gflops", "GFLOP/s", _opt("{:.1f}")),
    Column("pct_peak", "% of peak", _opt("{:.1f}")),
    Column("speedup", "speed-up vs fp32", _opt("{:.2f}x")),
    Column("loadavg_start", "load", lambda x: f"{float(x):.2f}"),
)
HW_COLUMNS = (
    Column("device_type", "device", numeric=False),
    Column("threads", "threads"),
    Column("peak_gflops", "peak GFLOP/s (fp32 matmul)", lambda x: f"{x:.1f}"),
    Column("peak_gflops_cpu", "peak GFLOP/s (CPU time)", _opt("{:.1f}")),
    Column("bandwidth_gbs", "bandwidth GB/s (copy)", lambda x: f"{x:.2f}"),
)


def int_list(text: Any, name: str, minimum: int = 1) -> list[int]:
    """'1' or '1,2' -> [1, 2]; CostModelError naming the value otherwise."""
    out = []
    for part in str(text).split(","):
        try:
            v = int(part.strip())
        except ValueError:
            raise CostModelError(f"{name} {text!r} is not an integer list; allowed: integers "
                                 f">= {minimum}, comma separated") from None
        if v < minimum:
            raise CostModelError(f"{name} {text!r} is out of range; allowed: integers >= {minimum}")
        out.append(v)
    return out


def positive_float(text: Any, name: str) -> float:
    import math

    try:
        v = float(text)
    except ValueError:
        raise CostModelError(f"{name} {text!r} is not a number; allowed: a number > 0") from None
    if not math.isfinite(v) or v <= 0:
        raise CostModelError(f"{name} {text!r} is out of range; allowed: a number > 0")
    return v


def register(sub: Any) -> None:
    p = sub.add_parser("bench", help="measure inference latency (torch, onnxruntime, openvino; "
                                     "fp32, bf16, int8) into <data folder>/latency/<device-id>.csv")
    add_config_args(p, lists=True)
    g = p.add_argument_group("measurement")
    g.add_argument("--backend", default="torch",
                   help="torch, onnxruntime, openvino, or a comma list (default torch)")
    g.add_argument("--precision", default="fp32",
                   help="fp32, bf16 (torch, openvino), int8 (onnxruntime, openvino: static QDQ "
                        "quantization), or a comma list; each backend measures the listed ones it "
                        "runs (default fp32)")
    g.add_argument("--device", default="cpu", help="cpu (default) or cuda (torch backend only)")
    g.add_argument("--threads", default="1", help="intra-op threads, or a comma list (default 1)")
    g.add_argument("--batch", default="1", help="batch size (default 1)")
    g.add_argument("--repeats", default="10", help="at least this many timed samples (default 10)")
    g.add_argument("--min-time", default="1.0",
                   help="at least this many timed seconds per measurement (default 1.0)")
    g.add_argument("--warmup", default="3", help="untimed calls first (default 3)")
    g.add_argument("--in-process", action="store_true",
                   help="measure every config in this process instead of a child forked per "
                        "measurement (cpu; a long run in one process drifts slower, see README)")
    g.add_argument("--channels-last", action="store_true",
                   help="torch: channels_last memory format for model and input")
    g = p.add_argument_group("grid")
    g.add_argument("--grid", action="store_true",
                   help="the 16 paper configs: alpha 0.25,0.5,0.75,1 x resolution 128..224 "
                        "(any --alpha / --resolution values are added to its axes)")
    g = p.add_argument_group("output")
    g.add_argument("--per-layer", action="store_true",
                   help="also print time per layer type (torch profiler) beside %% mult-adds")
    g.add_argument("--profile-runs", default="10", help="forward passes profiled (default 10)")
    g.add_argument("--roofline", action="store_true",
                   help="measure this machine's peak GFLOP/s and copy bandwidth for each "
                        "--threads value and store them with the device")
    g.add_argument("--output-csv", default=None, metavar="FILE",
                   help="CSV to append the measured rows to (default <data folder>/latency/"
                        "<device-id>.csv); -o FILE only writes the printed report")
    g.add_argument("--device-id", default=None,
                   help="name this machine's rows otherwise (default: this machine's id, "
                        "see `costmodel latency devices`)")
    add_data_dir_arg(g)
    g.add_argument("--no-save", action="store_true", help="measure and print, write no CSV")
    g.add_argument("--passes", default="1",
                   help="measure each key this many times, pass after pass over the grid; "
                        "readers take the median over passes (default 1)")
    g.add_argument("--no-resume", action="store_true",
                   help="measure keys already in the CSV again (rows are appended)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_format_arg(p, ("text", "csv", "json", "markdown"))
    p.set_defaults(func=run)


def configs_from_args(args: argparse.Namespace) -> list[tuple[Any, Any]]:
    from costmodel.latency.bench import paper_grid

    return _configs(args, paper_grid() if args.grid else [])


def _options(args: argparse.Namespace) -> tuple[list[Any], list[str]]:
    """The BenchOptions of every backend x precision x thread count the arguments name, with a
    note for each listed pair a backend does not run. A precision that no listed backend runs
    is refused (so is one backend with one precision it does not run)."""
    from costmodel.core.arch import check_choice
    from costmodel.latency import bench, runtimes

    kw = config_kwargs(args)
    backends = list(dict.fromkeys(check_choice("backend", b.strip(), bench.BACKENDS)
                                  for b in str(args.backend).split(",")))
    precisions = runtimes.precision_list(args.precision)
    pairs, notes = [], []
    for p in precisions:
        runs = [b for b in backends if p in runtimes.SUPPORTED[b]]
        if not runs:
            runtimes.check_precision(backends[-1], p)  # raises, naming what is allowed
        pairs += [(b, p) for b in runs]
        notes += [f"precision {p} skipped for backend {b} (not supported; it runs "
                  f"{', '.join(runtimes.SUPPORTED[b])})" for b in backends if b not in runs]
    device = check_choice("device", args.device, bench.DEVICES)
    common = {"device": device, "batch": int_list(args.batch, "batch")[0],
              "channels_last": args.channels_last,
              "repeats": int_list(args.repeats, "repeats")[0],
              "min_time": positive_float(args.min_time, "min-time"),
              "warmup": int_list(args.warmup, "warmup", minimum=0)[0],
              **{k: kw[k] for k in ("variant", "rounding", "classes", "spec")}}
    return [bench.BenchOptions(backend=b, precision=p, threads=t, **common)
            for b in backends for p in precisions if (b, p) in pairs
            for t in int_list(args.threads, "threads")], notes


def run(args: argparse.Namespace) -> int:
    from costmodel.io import latency_data
    from costmodel.latency import bench
    from costmodel.latency.isolation import loaded_runtimes, parent_is_clean

    clean = parent_is_clean()  # first: before anything here loads a runtime
    fmt = check_format(args)
    options, skipped_notes = _options(args)
    isolate = not args.in_process and clean
    if not args.in_process and not isolate:
        skipped_notes.append(f"measured in this process, not in forked children: it had "
                             f"already loaded {', '.join(loaded_runtimes())} "
                             f"(a forked child could wait forever on its thread pool's lock)")
    report = bench.run_bench(
        configs_from_args(args), options, save=not args.no_save,
        output_csv=args.output_csv, device_id=args.device_id, data_dir=args.data_dir,
        resume=not args.no_resume, passes=int_list(args.passes, "passes")[0],
        progress=not args.no_progress, per_layer=args.per_layer,
        profile_runs=int_list(args.profile_runs, "profile-runs")[0],
        convention=config_kwargs(args)["convention"], roofline=args.roofline,
        isolate=isolate)
    report.notes[:0] = skipped_notes
    measured = report.grid.rows
    rows = bench.summary_columns(measured)
    title = f"device {report.device_id}: {report.device}"
    if fmt == "json":
        text = render("json", rows, ROW_COLUMNS, json_obj={
            "device_id": report.device_id, "device": report.device, "measured": measured,
            "skipped": len(report.grid.skipped),
            "csv": str(report.csv) if report.csv else None,
            "per_layer": report.per_layer, "hardware": report.hardware,
            "throughput": report.throughput})
    elif fmt == "csv":
        text = render("csv", measured, ROW_COLUMNS, csv_keys=latency_data.COLUMNS)
    else:
        text = _report_text(fmt, title, rows, report)
    emit(text, args)
    if fmt in ("json", "csv"):
        sys.stderr.write("".join(f"{n}\n" for n in report.notes))
    return 0


def _report_text(fmt: str, title: str, rows: list[dict[str, Any]], report: Any) -> str:
    parts = [render(fmt, rows, ROW_COLUMNS, title=title) if fmt == "text"
             else render(fmt, rows, ROW_COLUMNS)]
    if not rows:
        parts = [f"{title}\nnothing to measure: every config is already measured on this "
                 f"machine\n"]
    by_cfg: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in report.per_layer:
        by_cfg.setdefault((row["alpha"], row["resolution"], row["threads"]), []).append(row)
    for (a, r, t), rs in by_cfg.items():
        head = f"per-layer-type time, torch {report.device_type} {t} thread(s), {a:g}-{r}"
        parts.append(render(fmt, rs, LAYER_COLUMNS, title=head) if fmt == "text"
                     else f"\n{head}\n\n" + render(fmt, rs, LAYER_COLUMNS))
    if report.hardware:
        parts.append(render(fmt, report.hardware, HW_COLUMNS, title="hardware limits (stored)")
                     if fmt == "text" else render(fmt, report.hardware, HW_COLUMNS))
    if len(report.throughput) > 1 or any(t["peak_gflops"] for t in report.throughput):
        head = ("throughput: GFLOP/s = 2 x mult-adds / median; % of this machine's fp32 matmul "
                "peak (bench --roofline: the larger of wall-clock and CPU-time peaks); speed-up "
                "= fp32 median / median, same backend")
        parts.append(render(fmt, report.throughput, THROUGHPUT_COLUMNS, title=head)
                     if fmt == "text" else f"\n{head}\n\n"
                     + render(fmt, report.throughput, THROUGHPUT_COLUMNS))
    return "\n".join(parts) + "".join(f"\n{n}\n" for n in report.notes)
