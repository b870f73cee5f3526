"""costmodel latency: devices with latency data, predictions, held-out evaluation (issue #4).

    costmodel latency devices
    costmodel latency import FILE --device-id NAME [--backend B] [--threads T] [--precision P]
    costmodel latency calibrate [--budget-s S] [--backend B] [--threads N] [--device-id ID]
                                [--layer-times]
    costmodel latency predict  --device-id ID [--backend B] [--threads N] --alpha A --resolution R
                               [--rounding int|divisible8|slim] [--allow-extrapolation]
    costmodel latency evaluate --device-id ID [--backend B] [--threads N] --random N [--seed S]
    costmodel latency evaluate --device-id ID [--backend B] [--threads N] [--split paper|loo|random]

calibrate, predict and evaluate take the network like every command (--model NAME or --spec
FILE, default mobilenet_v1): its own rows, plan and fit (issue #11).

calibrate, predict and evaluate (``--random`` on fresh configs, ``--split`` on stored ones) all
use the per-kernel model (costmodel.latency.kernel): evaluate scores the model predict uses,
its rule (align, block) chosen by cross-validation on each split's training configs only.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from costmodel.cli._common import (
    DATA_DIR_HELP,
    add_format_arg,
    add_list_args,
    add_network_args,
    base_resolution,
    check_format,
    emit,
    parse_values,
)
from costmodel.errors import CostModelError
from costmodel.report.formatting import Column, is_missing, render


def _f(digits: int) -> Any:
    return lambda x: "" if is_missing(x) else f"{float(x):.{digits}f}"


def _pct(x: Any) -> str:
    return "" if is_missing(x) else f"{100 * float(x):.1f}%"


DEVICE_COLUMNS = (
    Column("name", "name (--device, latency:<name>)", numeric=False),
    Column("device_type", "kind", numeric=False),
    Column("configs", "configs"),
    Column("machine", "measured on", numeric=False),
    Column("peak_gflops", "peak GFLOP/s", _f(1)),
    Column("bandwidth_gbs", "GB/s", _f(2)),
    Column("device", "description", numeric=False),
)
DEVICE_CSV_KEYS = ("device_id", "name", "backend", "device_type", "precision", "threads", "batch",
                   "configs", "this_machine", "machine", "published", "reference", "fingerprint",
                   "peak_gflops", "bandwidth_gbs", "device")
def predict_columns(stat_label: str) -> tuple[Column, ...]:
    """The columns of `latency predict`; the timing ones name the statistic they hold."""
    return (
        Column("alpha", "alpha", lambda x: f"{float(x):g}"),
        Column("resolution", "res"),
        Column("rounding", "rounding", numeric=False),
        Column("mult_adds_m", "MMAdds", _f(1)),
        Column("predicted_ms", f"predicted ms ({stat_label})", _f(3)),
        Column("baseline_ms", "k*MAdds ms", _f(3)),
        Column("measured_ms", f"measured ms ({stat_label})", _f(3)),
        Column("roofline_ms", "roofline bound ms", _f(3)),
        Column("vs_roofline", "measured/bound", _f(1)),
    )


def random_eval_columns(stat_label: str) -> tuple[Column, ...]:
    return (
        Column("alpha", "alpha", lambda x: f"{float(x):g}"),
        Column("resolution", "res"),
        Column("rounding", "rounding", numeric=False),
        Column("measured_ms", f"measured ms ({stat_label})", _f(3)),
        Column("predicted_ms", f"predicted ms ({stat_label})", _f(3)),
        Column("error_pct", "error %", _f(1)),
        Column("baseline_error_pct", "k*MAdds error %", _f(1)),
    )


def eval_columns(stat: str) -> tuple[Column, ...]:
    """`latency evaluate --split`'s columns; the timing ones name the statistic compared (one
    statistic per column name, issue 14)."""
    from costmodel.latency.stats import STAT_LABELS

    label = STAT_LABELS[stat]
    return (
        Column("alpha", "alpha", lambda x: f"{float(x):g}"),
        Column("resolution", "res"),
        Column("rounding", "rounding", numeric=False),
        Column("measured_ms", f"measured ms ({label})", _f(3)),
        Column("predicted_ms", f"predicted ms ({label})", _f(3)),
        Column("error_pct", "error %", _f(1)),
        Column("baseline_ms", "k*MAdds ms", _f(3)),
        Column("baseline_error_pct", "baseline error %", _f(1)),
    )
RATE_COLUMNS = (
    Column("group", "layer type | kernel path", numeric=False),
    Column("gmacs", "GMAC/s", _f(2)),
    Column("gbs", "GB/s", _f(2)),
    Column("row_us", "us per channel row", _f(4)),
    Column("fixed_us", "fixed us", _f(2)),
    Column("tail_gmacs", "part-filled block GMAC/s (extra)", _f(2)),
)


def _add_device(p: argparse.ArgumentParser, alias: str, device_required: bool = True) -> None:
    """The device options both models' commands share: --device-id, --backend, --threads,
    --batch (``alias``: the example alias its help shows)."""
    if device_required:
        p.add_argument("--device-id", required=True,
                       help="a device name of `costmodel latency devices`: <device id>[/<backend>"
                            f"[/<threads>]][@<precision>], or an alias such as {alias}")
    p.add_argument("--backend", default=None,
                   help="backend (default: onnxruntime on measured devices, tflite-cpu on phones)")
    p.add_argument("--threads", default=None, help="thread count (default: fewest measured)")
    p.add_argument("--precision", default=None,
                   help="fp32 (default), bf16, int8 (or uint8 on the phones): the rows fitted, "
                        "one precision at a time; or @<precision> in the device name")
    p.add_argument("--batch", default="1", help="batch size (default 1)")


def _add_kernel_selection(p: argparse.ArgumentParser, *, device_required: bool = True) -> None:
    """Options of the per-kernel model's commands (calibrate, predict, evaluate --random)."""
    from costmodel.latency.stats import DEFAULT_STAT

    _add_device(p, "pixel3_cpu4", device_required)
    p.add_argument("--variant", default="mobilenet_v1", help="variant (default mobilenet_v1)")
    add_network_args(p)
    p.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    p.add_argument("--stat", default=DEFAULT_STAT,
                   help="measured figure fitted and predicted: median (wall time, default; the "
                        "figure `pareto` and the explorer show), min (fastest block), cpu "
                        "(process CPU time, 1 thread)")


def register(sub: Any) -> None:
    p = sub.add_parser("latency", help="latency devices, calibration, predictions and evaluation")
    lsub = p.add_subparsers(dest="latency_command", metavar="ACTION", parser_class=type(p))
    lsub.required = True

    d = lsub.add_parser("devices", help="devices with measured or published latency: this "
                                        "machine, other machines, the reference, the phones")
    d.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    add_format_arg(d, ("text", "csv", "json", "markdown"))
    d.set_defaults(func=run_devices)

    i = lsub.add_parser("import", help="store latencies measured elsewhere (a CSV of alpha, "
                                       "resolution, ms) as a named device")
    i.add_argument("file", metavar="FILE",
                   help="CSV with columns alpha, resolution, ms and optionally rounding, "
                        "variant, precision, backend, threads, model (see README)")
    i.add_argument("--device-id", required=True,
                   help="the new device's name (lower-case letters, digits, '.', '-'); "
                        "importing again under it replaces an earlier import")
    i.add_argument("--backend", default=None,
                   help="backend of rows without a backend column (default: imported)")
    i.add_argument("--threads", default=None,
                   help="threads of rows without a threads column (default: none)")
    i.add_argument("--precision", default=None,
                   help="precision of rows without a precision column: fp32 (default), bf16, "
                        "int8, uint8")
    i.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    i.set_defaults(func=run_import)

    c = lsub.add_parser("calibrate", help="measure this machine within a time budget, then fit")
    c.add_argument("--budget-s", default="300", help="seconds to spend, fit included (default 300)")
    c.add_argument("--backend", default=None, help="torch, onnxruntime (default) or openvino; "
                                                     "an imported device: one of its backends")
    c.add_argument("--threads", default=None, help="intra-op threads (default 1)")
    c.add_argument("--precision", default=None,
                   help="fp32 (default), bf16 or int8, as the backend runs it: measured and "
                        "fitted apart from the other precisions")
    c.add_argument("--device-id", default=None,
                   help="device id (default: this machine); an imported device (`latency "
                        "import`) is fitted on its imported rows, nothing is measured")
    c.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    c.add_argument("--stat", default="median",
                   help="measured figure the model fits: median (wall time, default), min, cpu")
    c.add_argument("--seed", default="0", help="seed of the plan and of the held-out split")
    c.add_argument("--layer-times", action="store_true",
                   help="also read each config's per-layer times from the runtime (onnxruntime "
                        "profile, torch hooks; MobileNet-V1 fp32), so the fit may choose the "
                        "per-layer form; costs calibration time")
    add_network_args(c)
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(func=run_calibrate)

    q = lsub.add_parser("predict", help="predicted latency for any alpha/resolution/rounding")
    _add_kernel_selection(q)
    add_list_args(q, "1.0", None, resolution_note="default 224, or the network's base resolution")
    q.add_argument("--rounding", default=None,
                   help="channel rounding: int, slim, divisible8 (default: the device's own when "
                        "all its configs share one, e.g. slim for the published phones, else int)")
    q.add_argument("--allow-extrapolation", action="store_true",
                   help="predict outside the calibrated range (alpha, resolution, channel counts)")
    q.add_argument("--show-fit", action="store_true", help="also print the fitted terms per "
                                                            "layer type and kernel path")
    add_format_arg(q, ("text", "csv", "json", "markdown"))
    q.set_defaults(func=run_predict)

    e = lsub.add_parser("evaluate", help="score the model: on fresh random configs measured now "
                                         "(--random N), or by held-out splits of stored ones")
    _add_kernel_selection(e)
    for old in REMOVED_EVALUATE_OPTIONS:  # options of the per-layer-type model, refused by name
        e.add_argument(f"--{old}", default=None, help=argparse.SUPPRESS)
    e.add_argument("--random", default=None, metavar="N",
                   help="measure N fresh random configs now (alpha 0.25..1.3, resolution 96..288, "
                        "rounding int or divisible8) and score the per-kernel model on them")
    e.add_argument("--split", default=None,
                   help="paper (fit on the other configs, test the measured paper configs; "
                        "default when possible), loo (each config from all the others), random "
                        "(--test-fraction held out): the per-kernel model, its rule chosen on "
                        "each split's training configs only")
    e.add_argument("--test-fraction", default="0.3", help="random split: held-out share")
    e.add_argument("--seed", default="0", help="random split / --random: seed")
    e.add_argument("--no-progress", action="store_true", help="--random: no progress bar")
    add_format_arg(e, ("text", "csv", "json", "markdown"))
    e.set_defaults(func=run_evaluate)


def _precision(args: argparse.Namespace) -> str | None:
    """``--precision`` as stored (fp32 -> float32; uint8 for the phones), or None."""
    from costmodel.io import latency_data

    p = getattr(args, "precision", None)
    return None if p is None else "uint8" if p == "uint8" else latency_data.stored_precision(p)


def _check_device(device_id: str, data_dir: Any) -> str:
    from costmodel.io import latency_data

    return latency_data.resolve_device(device_id, data_dir, what="device id").device_id


def run_devices(args: argparse.Namespace) -> int:
    from costmodel.io.paths import user_data_dir, user_latency_dir
    from costmodel.latency.fingerprint import devices, this_machine

    fmt = check_format(args)
    rows = devices(args.data_dir)
    me = this_machine(args.data_dir)
    folder = user_latency_dir(args.data_dir)
    if fmt == "json":
        text = render("json", rows, DEVICE_COLUMNS, json_obj={
            "this_machine": me.to_dict(), "data_dir": str(user_data_dir(args.data_dir)),
            "devices": rows})
    elif fmt == "csv":
        text = render("csv", rows, DEVICE_COLUMNS, csv_keys=DEVICE_CSV_KEYS)
    else:
        have = any(r["this_machine"] for r in rows)
        head = (f"this machine: {me.device_id} ({me.cpu_model}, {me.cpu_cores} cores / "
                f"{me.logical_cpus} logical CPUs, {me.memory_gib} GiB; matmul signature "
                f"{me.matmul_gflops:.0f} GFLOP/s); "
                + (f"measurements in {folder}" if have else
                   f"not measured yet (`costmodel bench` writes to {folder})"))
        text = (render("text", rows, DEVICE_COLUMNS, title=head) if fmt == "text"
                else head + "\n\n" + render(fmt, rows, DEVICE_COLUMNS))
    emit(text, args)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from costmodel.cli.bench import int_list
    from costmodel.latency.imported import import_latency

    threads = None if args.threads is None else int_list(args.threads, "threads")[0]
    path, rows = import_latency(args.file, args.device_id, backend=args.backend, threads=threads,
                                precision=args.precision, data_dir=args.data_dir)
    from costmodel.io.latency_data import DeviceSpec

    names = sorted({DeviceSpec(args.device_id, r["backend"], r["threads"] or None,
                               r["precision"]).name() for r in rows})
    emit(f"imported {len(rows)} rows from {args.file} as device {args.device_id!r} ({path}); "
         f"use it as: {', '.join(names)}\n", args)
    return 0


def _kernel_selection(args: argparse.Namespace) -> dict[str, Any]:
    from costmodel.cli.bench import int_list
    from costmodel.core.arch import canonical_variant, check_choice, get_description
    from costmodel.io import latency_data
    from costmodel.latency import kernel

    stat = kernel.DEFAULT_STAT if args.stat == "auto" else args.stat
    spec = latency_data.select_device(
        args.device_id, backend=args.backend, data_dir=args.data_dir, precision=_precision(args),
        threads=None if args.threads is None else int_list(args.threads, "threads")[0])
    args.device_id = spec.device_id  # the name's device (an alias or old id resolved)
    return {"backend": spec.backend, "threads": spec.threads, "precision": spec.precision,
            "batch": int_list(args.batch, "batch")[0],
            "variant": canonical_variant(get_description(args.spec), args.variant),
            "stat": check_choice("stat", stat, kernel.STATS), "data_dir": args.data_dir,
            "spec": args.spec}


def _source_label(meta: dict[str, Any]) -> str:
    from costmodel.io import latency_data

    return ("published figures" if meta.get("published") else "imported figures (costmodel "
            "latency import)" if meta.get("imported") else latency_data.MEASURED_SOURCE)


def _model_title(device_id: str, model: Any) -> str:
    from costmodel.latency import kernel

    meta, threads = model.meta, model.meta.get("threads")
    sel = meta.get("selection")
    how = (f"{model.rule.label} chosen by {kernel.FOLDS}-fold cross-validation "
           f"({100 * sel['inner_within']:.1f}% within +/-10%)" if sel else model.rule.label)
    prec = str(meta.get("precision") or "float32")
    at = "" if prec == "float32" else f" @{prec}"
    net = "" if model.network == "mobilenet_v1" else f" of {model.network}"
    return (f"{device_id} {meta.get('backend')}{'' if threads is None else f' {threads} thread(s)'}"
            f"{at} batch {model.batch}: per-kernel model{net} fitted on {meta.get('n_train')} measured "
            f"configs ({kernel.STAT_LABELS[model.stat]} ms; {how}); "
            f"{_source_label(meta)}")


def run_predict(args: argparse.Namespace) -> int:
    from costmodel.core.arch import ROUNDING_RULES, check_choice
    from costmodel.latency import predict

    fmt = check_format(args)
    sel = _kernel_selection(args)
    device_id = _check_device(args.device_id, sel["data_dir"])
    rounding = (None if args.rounding is None
                else check_choice("rounding", args.rounding, list(ROUNDING_RULES)))
    resolution = args.resolution if args.resolution is not None else str(base_resolution(args))
    res = predict.predict(device_id, parse_values(args.alpha, "alpha", float),
                          parse_values(resolution, "resolution", int), rounding=rounding,
                          allow_extrapolation=args.allow_extrapolation, **sel)
    model, rows = res.model, res.rows
    cols = predict_columns(res.stat_label)
    title = _model_title(device_id, model)
    if res.extrapolated:
        title += f"\nextrapolated (--allow-extrapolation): {res.extrapolated[0]}"
    if res.limits is None and not (model.meta.get("published") or model.meta.get("imported")):
        title += "\n(no hardware limits stored: `costmodel bench --roofline` measures them)"
    terms = model.terms()
    if fmt == "json":
        meta = {k: v for k, v in model.meta.items() if k != "measured"}
        text = render("json", rows, cols, json_obj={
            "device_id": device_id, "stat": model.stat, "stat_label": res.stat_label,
            "rule": {"align": model.rule.align, "block": model.rule.block,
                     "cache_bytes": model.rule.cache, "label": model.rule.label}, "meta": meta,
            "terms": terms, "hardware": res.limits, "extrapolated": res.extrapolated,
            "predictions": rows})
    else:
        text = (render(fmt, rows, cols, title=title) if fmt == "text" else render(fmt, rows, cols))
        if args.show_fit and fmt != "csv":
            text += "\n" + (render(fmt, terms, RATE_COLUMNS, title="fitted terms (effective)")
                            if fmt == "text" else render(fmt, terms, RATE_COLUMNS))
    emit(text, args)
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from costmodel.cli.bench import int_list, positive_float
    from costmodel.core.arch import check_choice, network_key
    from costmodel.io import latency_data
    from costmodel.latency import calibrate, kernel
    from costmodel.latency.bench import BACKENDS, device_info
    from costmodel.latency.imported import is_imported_device
    from costmodel.latency.runtimes import check_precision

    t0 = time.monotonic()
    stat = check_choice("stat", args.stat, kernel.STATS)
    seed = int_list(args.seed, "seed", minimum=0)[0]
    if args.device_id is not None and is_imported_device(args.device_id, args.data_dir):
        return _calibrate_imported(args, stat, seed)
    backend = check_choice("backend", args.backend or "onnxruntime", BACKENDS)
    precision = check_precision(backend, args.precision or "fp32")
    threads = int_list(args.threads or "1", "threads")[0]
    budget = positive_float(args.budget_s, "budget-s")
    info = device_info("cpu", args.data_dir)  # this machine's id and fingerprint
    device_id = latency_data.check_device_id(args.device_id or info["device_id"])
    path = latency_data.writable_latency_path(device_id, args.data_dir)
    cal = calibrate.calibrate(budget_s=budget, backend=backend, threads=threads,
                              device_id=device_id, path=path, fingerprint=info["fingerprint"],
                              data_dir=args.data_dir, seed=seed, progress=not args.no_progress,
                              precision=precision, spec=args.spec,
                              layer_times=args.layer_times)
    at = "" if precision == "fp32" else f" {precision}"
    net = "" if network_key(args.spec) == "mobilenet_v1" else f" {network_key(args.spec)}"
    out = [f"{device_id} {backend} {threads} thread(s){at}{net}: measured "
           f"{len(cal.measured)} configs in "
           f"{cal.elapsed_s:.0f} s of a {budget:g} s budget "
           f"({'stopped: budget' if cal.stopped == 'budget' else cal.stopped}); "
           f"{cal.skipped} planned configs were already measured; rows in {path}"]
    t_fit = time.monotonic()
    try:
        calibrate.finish(cal, stat=stat, data_dir=args.data_dir, seed=seed)
    except CostModelError as exc:
        out.append(f"not fitted: {exc}")
        emit("\n".join(out) + "\n", args)
        return 1
    assert cal.held_out is not None and cal.model is not None
    form = "" if cal.model.form == "per-group" else f", {cal.model.form} form"
    out.append(f"model: {cal.model.rule.label}{form} ({kernel.STAT_LABELS[stat]} ms), fitted on "
               f"{cal.model.meta['n_train']} configs; fit and score {time.monotonic() - t_fit:.1f}"
               f" s, {time.monotonic() - t0:.0f} s in all")
    out.append(cal.held_out.line())
    emit("\n".join(out) + "\n", args)
    return 0


def _calibrate_imported(args: argparse.Namespace, stat: str, seed: int) -> int:
    """`latency calibrate --device-id NAME` of an imported device: nothing can be measured here,
    so the model is fitted on its imported rows and scored on the ones it held out."""
    from costmodel.cli.bench import int_list
    from costmodel.io import latency_data
    from costmodel.latency import kernel

    spec = latency_data.select_device(
        args.device_id, backend=args.backend, data_dir=args.data_dir, precision=_precision(args),
        threads=None if args.threads is None else int_list(args.threads, "threads")[0])
    m = kernel.measured(spec.device_id, backend=spec.backend, threads=spec.threads,
                        precision=spec.precision, stat=stat, data_dir=args.data_dir,
                        spec=args.spec)
    held = kernel.held_out(m, stat=stat, seed=seed, spec=args.spec)
    model = kernel.fit_device(spec.device_id, backend=m.backend, threads=m.threads,
                              precision=spec.precision, stat=stat, data_dir=args.data_dir,
                              spec=args.spec)
    name = latency_data.DeviceSpec(spec.device_id, m.backend, m.threads, spec.precision).name()
    emit(f"{name}: imported device, nothing measured here; model {model.rule.label} "
         f"({kernel.STAT_LABELS[stat]} ms) fitted on its {len(m.y_ms)} imported configs\n"
         f"{held.line()}\n", args)
    return 0


REMOVED_EVALUATE_OPTIONS = {
    "form": "the per-kernel model chooses its form (per-group, or per-layer where layer times "
            "were read) and its rule (align, block) by cross-validation on the training configs",
    "pad": "the per-kernel model chooses its channel block (1, 8 or 16) with its rule, by "
           "cross-validation on the training configs",
    "across": "repeated passes of a config combine by their median",
}


def _refuse_removed(args: argparse.Namespace) -> None:
    """--form, --pad and --across belonged to the per-layer-type model that `evaluate --split`
    scored before it scored the per-kernel model: one line naming what replaced each."""
    for name, why in REMOVED_EVALUATE_OPTIONS.items():
        if getattr(args, name, None) is not None:
            raise CostModelError(f"--{name} {getattr(args, name)!r} is no longer an option of "
                                 f"`latency evaluate` ({why}); allowed: --split, --stat, "
                                 f"--test-fraction, --seed")


def _split_head(device_id: str, sel: dict[str, Any], m: Any, ev: Any) -> str:
    """The title lines of `latency evaluate --split`: what was fitted, the rule each fit chose
    on its training configs, and the held-out scores beside the k * mult-adds baseline."""
    from costmodel.core.arch import network_key
    from costmodel.latency import kernel

    s = ev.summary()
    threads = "" if m.threads is None else f" {m.threads} thread(s)"
    prec = str(sel["precision"] or "float32")
    at = "" if prec == "float32" else f" @{prec}"
    net = "" if network_key(sel["spec"]) == "mobilenet_v1" else f" of {network_key(sel['spec'])}"
    fits = len(ev.folds)
    rules = "; ".join(
        c["label"] + (f" in {c['folds']} of {fits} fits" if fits > 1 else "")
        + f" (inner {kernel.FOLDS}-fold CV over {c['n_inner']} configs: "
          f"{100 * c['inner_within']:.1f}% within +/-10%, mean |error| "
          f"{100 * c['inner_mape']:.1f}%)" for c in s["selected"])
    source = "" if not (m.published or m.imported) else (
        "; published figures" if m.published else "; imported figures")
    return (f"{device_id} {m.backend}{threads}{at} batch {sel['batch']}: per-kernel model{net} "
            f"({kernel.STAT_LABELS[sel['stat']]} ms{source}), split {ev.split}: fit on "
            f"{ev.n_train}, tested on {ev.n_test} held-out configs\n"
            f"rule chosen by cross-validation on the training configs only: {rules}\n"
            f"within +/-10%: model {100 * s['within']:.1f}%, baseline (latency = k * mult-adds) "
            f"{100 * s['baseline_within']:.1f}%; mean |error|: model {100 * s['mape']:.1f}%, "
            f"baseline {100 * s['baseline_mape']:.1f}%; worst model error "
            f"{100 * s['max_err']:.1f}%")


def run_evaluate(args: argparse.Namespace) -> int:
    from costmodel.cli.bench import int_list, positive_float
    from costmodel.core.arch import check_choice
    from costmodel.latency import kernel

    fmt = check_format(args)
    _refuse_removed(args)
    if args.random is not None:
        return _run_evaluate_random(args, fmt)
    sel = _kernel_selection(args)
    device_id = _check_device(args.device_id, sel["data_dir"])
    split = None if args.split is None else check_choice("split", args.split, list(kernel.SPLITS))
    test_fraction = positive_float(args.test_fraction, "test-fraction")
    seed = int_list(args.seed, "seed", minimum=0)[0]
    m = kernel.measured(device_id, backend=sel["backend"], threads=sel["threads"],
                        batch=sel["batch"], variant=sel["variant"], precision=sel["precision"],
                        stat=sel["stat"], data_dir=sel["data_dir"], spec=sel["spec"])
    ev = kernel.evaluate_split(m, split, test_fraction=test_fraction, seed=seed,
                               stat=sel["stat"], variant=sel["variant"], batch=sel["batch"],
                               spec=sel["spec"])
    head = _split_head(device_id, sel, m, ev)
    cols = eval_columns(sel["stat"])
    rows = ev.rows
    if fmt == "json":
        text = render("json", rows, cols, json_obj={
            "device_id": device_id, "backend": m.backend, "threads": m.threads,
            "precision": sel["precision"], "batch": sel["batch"], "model": "per-kernel",
            "stat": sel["stat"], "stat_label": kernel.STAT_LABELS[sel["stat"]],
            **ev.summary(), "rows": rows})
    elif fmt == "csv":
        text = render("csv", rows, cols, csv_keys=[*(c.key for c in cols), "spec"])
    elif fmt == "text":
        text = render("text", rows, cols, title=head)
    else:
        text = head.replace("\n", "\n\n") + "\n\n" + render(fmt, rows, cols)
    emit(text, args)
    return 0


def _run_evaluate_random(args: argparse.Namespace, fmt: str) -> int:
    from costmodel.cli.bench import int_list
    from costmodel.latency import calibrate, kernel

    sel = _kernel_selection(args)
    device_id = _check_device(args.device_id, sel["data_dir"])
    n = int_list(args.random, "random")[0]
    seed = int_list(args.seed, "seed", minimum=0)[0]
    if args.split is not None:
        raise CostModelError("--random measures fresh configs; allowed: --random or --split, "
                             "not both")
    model = kernel.fit_device(device_id, **sel)
    if model.meta.get("published") or model.meta.get("imported"):
        kind = "published" if model.meta.get("published") else "imported"
        raise CostModelError(f"device {device_id!r} has {kind} figures only and cannot be "
                             f"measured here; allowed: a device measured on this machine (or "
                             f"--split, which scores the stored configs)")
    out = calibrate.evaluate_random(model, n, backend=model.meta["backend"],
                                    threads=model.meta["threads"], seed=seed,
                                    progress=not args.no_progress, data_dir=sel["data_dir"])
    label = kernel.STAT_LABELS[model.stat]
    cols = random_eval_columns(label)
    iqr = out["abs_error_iqr_pct"]
    head = (f"{_model_title(device_id, model)}\n{n} fresh random configs measured now (seed "
            f"{seed}): {100 * out['within']:.1f}% within +/-10% (k*MAdds baseline "
            f"{100 * out['baseline_within']:.1f}%); |error| median "
            f"{out['abs_error_median_pct']:.1f}%, IQR {iqr[0]:.1f}-{iqr[1]:.1f}%")
    outside = sum(1 for r in out["rows"] if r["outside"])
    if outside:
        head += f"\n{outside} of them outside the calibrated range (predicted anyway)"
    if fmt == "json":
        text = render("json", out["rows"], cols, json_obj={"device_id": device_id, **out})
    elif fmt == "csv":
        text = render("csv", out["rows"], cols, csv_keys=[c.key for c in cols])
    elif fmt == "text":
        text = render("text", out["rows"], cols, title=head)
    else:
        text = head.replace("\n", "\n\n") + "\n\n" + render(fmt, out["rows"], cols)
    emit(text, args)
    return 0
