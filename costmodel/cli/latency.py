"""costmodel latency: devices with latency data, predictions, held-out evaluation (issue #4).

    costmodel latency devices
    costmodel latency predict  --device-id ID [--backend B] [--threads N] --alpha A --resolution R
    costmodel latency evaluate --device-id ID [--backend B] [--threads N] [--split paper|loo|random]

--form, --stat and --pad default to ``auto``: chosen by leave-one-out on the configs a model is
fitted on (for evaluate: on each fold's training configs only; see
costmodel.latency.model.select_settings).
"""

from __future__ import annotations

import argparse
from typing import Any

from costmodel.cli._common import (
    DATA_DIR_HELP,
    add_format_arg,
    add_list_args,
    check_format,
    emit,
    parse_values,
)
from costmodel.report.formatting import Column, render


def _f(digits: int) -> Any:
    return lambda x: "" if x is None or x != x else f"{float(x):.{digits}f}"


def _pct(x: Any) -> str:
    return "" if x is None or x != x else f"{100 * float(x):.1f}%"


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
PREDICT_COLUMNS = (
    Column("alpha", "alpha", lambda x: f"{float(x):g}"),
    Column("resolution", "res"),
    Column("mult_adds_m", "MMAdds", _f(1)),
    Column("predicted_ms", "predicted ms", _f(3)),
    Column("baseline_ms", "k*MAdds ms", _f(3)),
    Column("measured_ms", "measured ms", _f(3)),
    Column("roofline_ms", "roofline bound ms", _f(3)),
    Column("vs_roofline", "measured/bound", _f(1)),
)
EVAL_COLUMNS = (
    Column("alpha", "alpha", lambda x: f"{float(x):g}"),
    Column("resolution", "res"),
    Column("measured_ms", "measured ms", _f(3)),
    Column("predicted_ms", "predicted ms", _f(3)),
    Column("error_pct", "error %", _f(1)),
    Column("baseline_ms", "k*MAdds ms", _f(3)),
    Column("baseline_error_pct", "baseline error %", _f(1)),
)
RATE_COLUMNS = (
    Column("type", "type", numeric=False),
    Column("gmacs", "GMAC/s", _f(2)),
    Column("gbs", "GB/s", _f(2)),
    Column("fixed_us", "fixed us", _f(2)),
)


def _add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device-id", required=True,
                   help="a device name of `costmodel latency devices`: <device id>[/<backend>"
                        "[/<threads>]][@<precision>], or an alias such as pixel3_cpu4_uint8")
    p.add_argument("--backend", default=None,
                   help="backend (default: onnxruntime on measured devices, tflite-cpu on phones)")
    p.add_argument("--threads", default=None, help="thread count (default: fewest measured)")
    p.add_argument("--batch", default="1", help="batch size (default 1)")
    p.add_argument("--form", default="auto",
                   help="model form: roofline, sum, or auto (default: chosen by leave-one-out "
                        "on the training configs)")
    p.add_argument("--stat", default="auto",
                   help="measured figure to fit and predict: median, min, cpu (one thread), or "
                        "auto (default: chosen by leave-one-out on the training configs)")
    p.add_argument("--across", default="median",
                   help="how repeated passes of a config combine: median (default) or min")
    p.add_argument("--pad", default="auto",
                   help="round channels up to this multiple in the compute term, e.g. 8 for "
                        "AVX2, 16 for AVX-512 fp32 lanes, 1 for exact mult-adds, or auto "
                        "(default: 1, 8 or 16 chosen by leave-one-out on the training configs)")
    p.add_argument("--variant", default="mobilenet_v1", help="variant (default mobilenet_v1)")
    p.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)


def register(sub: Any) -> None:
    p = sub.add_parser("latency", help="latency devices, predictions and held-out evaluation")
    lsub = p.add_subparsers(dest="latency_command", metavar="ACTION", parser_class=type(p))
    lsub.required = True

    d = lsub.add_parser("devices", help="devices with measured or published latency: this "
                                        "machine, other machines, the reference, the phones")
    d.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    add_format_arg(d, ("text", "csv", "json", "markdown"))
    d.set_defaults(func=run_devices)

    q = lsub.add_parser("predict", help="predicted latency for any alpha/resolution")
    _add_selection(q)
    add_list_args(q, "1.0", "224")
    q.add_argument("--show-fit", action="store_true", help="also print the fitted rates per type")
    add_format_arg(q, ("text", "csv", "json", "markdown"))
    q.set_defaults(func=run_predict)

    e = lsub.add_parser("evaluate", help="fit on some configs, test on the others")
    _add_selection(e)
    e.add_argument("--split", default=None,
                   help="paper (hold out the 16 paper configs; default when possible), loo, "
                        "random")
    e.add_argument("--test-fraction", default="0.3", help="random split: held-out share")
    e.add_argument("--seed", default="0", help="random split: seed")
    add_format_arg(e, ("text", "csv", "json", "markdown"))
    e.set_defaults(func=run_evaluate)


def _selection(args: argparse.Namespace) -> dict[str, Any]:
    from costmodel.cli.bench import int_list
    from costmodel.core.arch import check_choice
    from costmodel.latency import model as latency_model

    form = latency_model.check_setting("form", args.form)
    stat = latency_model.check_setting("stat", args.stat)
    from costmodel.io import latency_data

    check_choice("across", args.across, latency_data.ACROSS)
    pad = latency_model.AUTO if args.pad == latency_model.AUTO else int_list(args.pad, "pad")[0]
    spec = latency_data.select_device(
        args.device_id, backend=args.backend, data_dir=args.data_dir,
        threads=None if args.threads is None else int_list(args.threads, "threads")[0])
    args.device_id = spec.device_id  # the name's device (an alias or old id resolved)
    return {"backend": spec.backend, "across": args.across, "pad": pad, "threads": spec.threads,
            "precision": spec.precision, "batch": int_list(args.batch, "batch")[0],
            "form": form, "stat": stat, "variant": args.variant, "data_dir": args.data_dir}


def _selection_line(selected: list[dict[str, Any]], folds: int) -> str:
    """``settings chosen by leave-one-out on the training configs only: ...``"""
    parts = []
    for c in selected:
        where = f" in {c['folds']} of {folds} folds" if folds > 1 else ""
        parts.append(f"{c['form']}, stat {c['stat']}, pad {c['pad']}{where} (inner LOO over "
                     f"{c['n_inner']} configs: {100 * c['inner_within']:.1f}% within +/-10%, "
                     f"mean |error| {100 * c['inner_mape']:.1f}%)")
    return "settings chosen by leave-one-out on the training configs only: " + "; ".join(parts)


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


def run_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from costmodel.io import latency_data
    from costmodel.latency import model as latency_model

    fmt = check_format(args)
    sel = _selection(args)
    device_id = _check_device(args.device_id, sel["data_dir"])
    alphas = parse_values(args.alpha, "alpha", float)
    res = parse_values(args.resolution, "resolution", int)
    model = latency_model.fit_device(device_id, **sel)
    meta = model.meta
    aa, rr = (g.ravel() for g in np.meshgrid(alphas, res, indexing="ij"))
    f = model.features(aa, rr)
    pred = model.predict_features(f)
    base = meta["k_baseline"] * f.total_mult_adds
    measured = latency_model.measured_configs(
        device_id, backend=meta["backend"], threads=meta["threads"], batch=sel["batch"],
        variant=sel["variant"], stat=meta["stat"], across=sel["across"], data_dir=sel["data_dir"],
        precision=sel["precision"])
    known = {(round(float(a), 6), int(r)): y for a, r, y in
             zip(measured["alpha"], measured["resolution"], measured["y_ms"], strict=True)}
    limits = None
    if not meta["published"]:
        limits = latency_model.hardware_limits(device_id, meta["threads"], "cpu"
                                               if "cuda" not in device_id else "cuda",
                                               sel["data_dir"])
    bound = (latency_model.roofline_bound_ms(aa, rr, peak_gflops=limits["peak_gflops"],
                                             bandwidth_gbs=limits["bandwidth_gbs"],
                                             variant=sel["variant"], rounding=model.rounding,
                                             classes=model.classes, batch=sel["batch"])
             if limits else np.full(aa.shape, np.nan))
    rows = []
    for i in range(aa.size):
        m = known.get((round(float(aa[i]), 6), int(rr[i])))
        rows.append({"alpha": float(aa[i]), "resolution": int(rr[i]),
                     "mult_adds_m": float(f.total_mult_adds[i]) / 1e6,
                     "predicted_ms": float(pred[i]), "baseline_ms": float(base[i]),
                     "measured_ms": m,
                     "roofline_ms": float(bound[i]) if bound[i] == bound[i] else None,
                     "vs_roofline": (m / float(bound[i])) if m and bound[i] == bound[i] else None})
    threads = meta["threads"]
    title = (f"{device_id} {meta['backend']}"
             f"{'' if threads is None else f' {threads} thread(s)'} batch {sel['batch']}: "
             f"{model.form} model fitted on {meta['n_train']} measured configs ({meta['stat']}, "
             f"{sel['across']} over passes{', pad ' + str(model.pad) if model.pad > 1 else ''}); "
             f"{'published figures' if meta['published'] else latency_data.MEASURED_SOURCE}")
    if meta.get("selection"):
        title += "\n" + _selection_line([{**meta["selection"], "folds": 1}], 1)
    if limits is None and not meta["published"]:
        title += "\n(no hardware limits stored: `costmodel bench --roofline` measures them)"
    if fmt == "json":
        text = render("json", rows, PREDICT_COLUMNS, json_obj={
            "device_id": device_id, "meta": meta, "form": model.form, "coef": model.coef,
            "rates": model.rates(), "hardware": limits, "predictions": rows})
    else:
        text = (render(fmt, rows, PREDICT_COLUMNS, title=title) if fmt == "text"
                else render(fmt, rows, PREDICT_COLUMNS))
        if args.show_fit and fmt != "csv":
            text += "\n" + (render(fmt, model.rates(), RATE_COLUMNS,
                                   title="fitted per-type rates (effective)") if fmt == "text"
                            else render(fmt, model.rates(), RATE_COLUMNS))
    emit(text, args)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from costmodel.cli.bench import int_list, positive_float
    from costmodel.latency import model as latency_model

    fmt = check_format(args)
    sel = _selection(args)
    device_id = _check_device(args.device_id, sel["data_dir"])
    if args.split is not None:
        from costmodel.core.arch import check_choice

        check_choice("split", args.split, latency_model.SPLITS)
    ev = latency_model.evaluate(device_id, split=args.split,
                                test_fraction=positive_float(args.test_fraction, "test-fraction"),
                                seed=int_list(args.seed, "seed", minimum=0)[0], **sel)
    s = ev.summary()
    threads = "" if ev.threads is None else f" {ev.threads} thread(s)"
    pad = (f", channels padded to {ev.pad}" if ev.pad != 1 and ev.pad != latency_model.AUTO
           else ", pad chosen per fold" if ev.pad == latency_model.AUTO else "")
    head = (f"{device_id} {ev.backend}{threads}: {ev.form} model ({ev.stat}, {sel['across']} over "
            f"passes{pad}), split {ev.split}: "
            f"fit on {ev.n_train}, tested on {ev.n_test} held-out configs\n"
            + (_selection_line(s["selected"], len(ev.selections)) + "\n" if ev.selections else "")
            +
            f"within +/-10%: model {100 * ev.within:.1f}%, baseline (latency = k * mult-adds) "
            f"{100 * ev.baseline_within:.1f}%; mean |error|: model {100 * ev.mape:.1f}%, "
            f"baseline {100 * ev.baseline_mape:.1f}%; worst model error {100 * ev.max_err:.1f}%")
    if fmt == "json":
        text = render("json", ev.rows, EVAL_COLUMNS, json_obj={**s, "rows": ev.rows})
    elif fmt == "csv":
        text = render("csv", ev.rows, EVAL_COLUMNS, csv_keys=[c.key for c in EVAL_COLUMNS])
    elif fmt == "text":
        text = render("text", ev.rows, EVAL_COLUMNS, title=head)
    else:
        text = head.replace("\n", "\n\n") + "\n\n" + render(fmt, ev.rows, EVAL_COLUMNS)
    emit(text, args)
    return 0
