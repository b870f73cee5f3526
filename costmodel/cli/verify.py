"""costmodel verify: the engine's counts against fvcore and the other counters on real torch models.

Exit status 0 when every layer and every counter total agrees (residual 0), 1 on any mismatch
(the mismatching rows are shown), 2 on bad input. torch and the counters are imported inside
run() (through costmodel.crosscheck.verify), never when the CLI starts.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from costmodel.cli._common import (
    add_config_args,
    add_format_arg,
    check_format,
    config_kwargs,
    emit,
    variant_part,
)
from costmodel.cli._common import configs_from_args as _configs
from costmodel.errors import CostModelError
from costmodel.report.formatting import Column, display_rows, render, shape_label

if TYPE_CHECKING:
    from costmodel.crosscheck.verify import CounterCheck, Verification

FORMATS = ("text", "csv", "json", "markdown", "latex")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "verify", help="cross-check the engine against fvcore, FlopCounterMode, ptflops, thop, "
        "torchinfo on real torch models")
    add_config_args(p, lists=True)
    p.add_argument("--grid", action="store_true",
                   help="the 16 paper configs: alpha 1.0,0.75,0.5,0.25 x resolution "
                   "224,192,160,128 (any --alpha / --resolution values are added to its axes)")
    p.add_argument("--counters", default="all", metavar="LIST",
                   help="counters to reconcile besides fvcore (always run): all (default), none, "
                   "or a comma-separated list of flop_counter, ptflops, ptflops-aten, thop, "
                   "torchinfo")
    add_format_arg(p, FORMATS)
    p.set_defaults(func=run)


def _parse_list(value: str, what: str, check: Callable[[Any], Any]) -> list[Any]:
    items = [v.strip() for v in value.split(",")]
    if not value.strip() or any(not v for v in items):
        raise CostModelError(f"{what} {value!r} is not a comma-separated list; "
                             f"allowed: e.g. {what} 1.0,0.75")
    return [check(v) for v in items]


def _unique(xs: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out


def configs_from_args(args: argparse.Namespace) -> list[tuple[float, int]]:
    """(alpha, resolution) pairs, validated: the grid's and/or the lists', alpha-major."""
    from costmodel.core.arch import check_alpha, check_resolution
    from costmodel.io.grids import PAPER_CONFIGS

    grid = list(PAPER_CONFIGS) if args.grid else []
    return list(dict.fromkeys((check_alpha(a), check_resolution(r)) for a, r in _configs(args, grid)))


def _counters(value: str) -> list[str]:
    from costmodel.crosscheck.verify import EXTERNAL_COUNTERS

    v = value.strip()
    if v == "all":
        return list(EXTERNAL_COUNTERS)
    if v == "none":
        return []
    names = _parse_list(v, "--counters", str)
    for n in names:
        if n not in EXTERNAL_COUNTERS:
            raise CostModelError(f"counter {n!r} is unknown; allowed: all, none, "
                                 f"{', '.join(EXTERNAL_COUNTERS)} (fvcore always runs)")
    return _unique(names)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
def _signed(x: Any) -> str:
    return f"{x:+,}" if x else "0"


def _layer_columns(convention: str) -> tuple[Column, ...]:
    return (
        Column("name", "layer", numeric=False),
        Column("out_shape", "output", shape_label, numeric=False),
        Column("shape", "torch", numeric=False),
        Column("engine_mult_adds", f"engine MA ({convention})"),
        Column("fvcore_mult_adds", "fvcore MA"),
        Column("mult_adds_diff", "diff", _signed),
        Column("mult_adds_residual", "residual", _signed),
        Column("engine_params", f"engine params ({convention})"),
        Column("fvcore_params", "fvcore params"),
        Column("params_diff", "diff", _signed),
        Column("params_residual", "residual", _signed),
        Column("status", "status", numeric=False),
    )


TERM_COLUMNS = (
    Column("label", "term", numeric=False),
    Column("rule", "counted as (quantities from the engine's rows)", numeric=False),
    Column("counted", "counter"),
    Column("engine", "engine"),
    Column("difference", "difference", _signed),
)

PARAM_COLUMNS = (
    Column("counter", "counter", numeric=False),
    Column("call", "call", numeric=False),
    Column("rule", "counted as (quantities from the engine's rows)", numeric=False),
    Column("measured", "measured"),
    Column("difference", "diff", _signed),
    Column("residual", "residual", _signed),
)


def _layer_dicts(v: Verification) -> list[dict[str, Any]]:
    """The layer checks as shown: type and shapes as text ("?": no shape was recorded)."""
    rows = display_rows([r.record() for r in v.layers])
    for d in rows:
        d["model_shape"] = d["model_shape"] or "?"
    return rows


def _layer_records(v: Verification) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = _layer_dicts(v)
    for r, d in zip(v.layers, rows):
        d["shape"] = "ok" if r.shape_ok else d["model_shape"]
        d["status"] = "ok" if r.ok else "MISMATCH"
    keys = ("engine_mult_adds", "fvcore_mult_adds", "mult_adds_diff", "mult_adds_residual",
            "engine_params", "fvcore_params", "params_diff", "params_residual")
    total = {k: sum(d[k] for d in rows) for k in keys}
    total.update(name="total", status="")
    return rows, [total]


def _term_records(c: CounterCheck) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = [{"label": t.label, "rule": t.rule, "counted": t.counted, "engine": t.engine,
             "difference": t.difference} for t in c.terms]
    foot = [{"label": "explained total", "counted": c.explained, "engine": c.engine_total,
             "difference": c.explained - c.engine_total},
            {"label": "measured", "rule": f"residual = measured - explained = {c.residual:,}",
             "counted": c.measured}]
    return rows, foot


def _param_record(c: CounterCheck) -> dict[str, Any]:
    rule = " + ".join(t.rule for t in c.terms if t.counted)
    return {"counter": c.counter, "call": c.call, "rule": rule, "measured": c.measured,
            "difference": c.difference, "residual": c.residual}


def _counter_heading(c: CounterCheck, convention: str) -> str:
    from costmodel.crosscheck.verify import not_counted

    version = f" {c.version}" if c.version else ""
    head = (f"{c.counter}{version}: {c.call} = {c.measured:,} {c.unit}\n  engine ({convention}) "
            f"{c.engine_total:,}, difference {_signed(c.difference)}, residual {c.residual:,}"
            f"{'' if c.ok else '  MISMATCH'}")
    missing = not_counted(c)
    if missing:
        head += f"; counted by neither: {', '.join(missing)}"
    return head


def _title(v: Verification, grid: bool = False) -> str:
    c = v.config
    cfg = "" if grid else f" alpha={c.alpha:g} resolution={c.resolution}"
    return (f"costmodel verify: {c.spec}{variant_part(c)}{cfg} rounding={c.rounding} "
            f"convention={c.convention} classes={c.classes} (torch model: {v.model_classes} "
            f"classes)")


LEGEND = ("diff = fvcore - engine ({conv}); residual = fvcore - engine under the fvcore "
          "convention (conv/FC weights, BatchNorm 2 per output, avg pool 1 per input; BN "
          "weight+bias and FC bias params); 0 = agreement. torch: the forward pass's output "
          "shape against the table's.")


def _result_line(vs: Sequence[Verification]) -> str:
    n_layers = sum(len(v.layers) for v in vs)
    n_totals = sum(len(v.counters) for v in vs)
    bad = [m for v in vs for m in v.mismatches()]
    where = f"{len(vs)} configs" if len(vs) > 1 else vs[0].label
    if not bad:
        return (f"result: agree -- {where}: {n_layers} layers (fvcore per layer, forward shapes) "
                f"and {n_totals} counter totals reconcile with residual 0\n")
    return f"result: MISMATCH -- {where}: {len(bad)} mismatching rows\n"


def _mismatch_section(fmt: str, vs: Sequence[Verification]) -> str:
    bad = [m for v in vs for m in v.mismatches()]
    if not bad:
        return ""
    cols = (Column("config", "config", numeric=False), Column("what", "what", numeric=False),
            Column("detail", "detail", numeric=False))
    head = "\nmismatches:\n" if fmt == "text" else "\n### Mismatches\n\n"
    return head + render(fmt, bad, cols)


def _indent(text: str) -> str:
    return "".join("  " + line + "\n" for line in text.splitlines())


def render_single(fmt: str, v: Verification) -> str:
    conv = v.config.convention
    md = fmt == "markdown"
    h2, h3, gap = ("## ", "### ", "\n") if md else ("", "", "")
    rows, total = _layer_records(v)
    out = [f"{h2}{_title(v)}\n\n",
           f"{h3}Per layer: engine vs fvcore by_module() and parameter_count()\n{gap}",
           render(fmt, rows, _layer_columns(conv), footer=total),
           f"{gap}{textwrap.fill(LEGEND.format(conv=conv), 110)}\n\n",
           f"{h3}Mult-add totals explained as engine terms (convention {conv})\n\n"]
    for c in v.counters:
        if c.quantity != "mult_adds":
            continue
        terms, foot = _term_records(c)
        body = render(fmt, terms, TERM_COLUMNS, footer=foot)
        heading = _counter_heading(c, conv)
        if md:
            out.append(f"{heading}\n\n{body}\nHow it counts: {c.notes}\n\n")
        else:
            notes = textwrap.fill(f"how it counts: {c.notes}", 110, initial_indent="  ",
                                  subsequent_indent="    ")
            out.append(f"{heading}\n{_indent(body)}{notes}\n\n")
    params = [_param_record(c) for c in v.counters if c.quantity == "params"]
    if params:
        fv = v.counter("fvcore", "params")
        engine_rule = " + ".join(f"{t.engine:,} {t.label}" for t in fv.terms if t.engine)
        out.append(f"{h3}Parameter totals explained as engine terms (engine ({conv}) "
                   f"{fv.engine_total:,} = {engine_rule})\n{gap}")
        out.append(render(fmt, params, PARAM_COLUMNS) + "\n")
    for name, why in v.skipped.items():
        out.append(f"skipped {name}: {why}\n")
    for name, err in v.errors.items():
        out.append(f"error {name}: {err}\n")
    out.append(_mismatch_section(fmt, [v]))
    out.append(f"{gap}{_result_line([v])}")
    return "".join(out)


def _summary_columns(counters: Sequence[str]) -> tuple[Column, ...]:
    cols = [Column("config", "config", numeric=False),
            Column("engine_mult_adds", "engine MA"), Column("fvcore", "fvcore")]
    cols += [Column(n, n) for n in counters]
    cols += [Column("engine_params", "engine params"), Column("model_params", "torch params"),
             Column("layers_ok", "layers ok", numeric=True),
             Column("totals_ok", "totals ok", numeric=True),
             Column("status", "status", numeric=False)]
    return tuple(cols)


def _summary_record(v: Verification, counters: Sequence[str]) -> dict[str, Any]:
    rec: dict[str, Any] = {"config": v.label,
                           "engine_mult_adds": v.counter("fvcore").engine_total,
                           "fvcore": v.counter("fvcore").measured,
                           "engine_params": v.counter("fvcore", "params").engine_total,
                           "model_params": v.counter("fvcore", "params").measured}
    for n in counters:
        try:
            rec[n] = v.counter(n).measured
        except KeyError:
            rec[n] = "error" if n in v.errors else "skipped"
    rec["layers_ok"] = f"{sum(r.ok for r in v.layers)}/{len(v.layers)}"
    rec["totals_ok"] = f"{sum(c.ok for c in v.counters)}/{len(v.counters)}"
    rec["status"] = "ok" if v.agree else "MISMATCH"
    return rec


def render_many(fmt: str, vs: Sequence[Verification], counters: Sequence[str]) -> str:
    md = fmt == "markdown"
    recs = [_summary_record(v, counters) for v in vs]
    conv = vs[0].config.convention
    out = [f"{'## ' if md else ''}{_title(vs[0], grid=True)}\n\n",
           f"engine MA and params: the engine under convention {conv}; the other columns are "
           f"the counters' totals ({', '.join(['fvcore', *counters])}), each reconciled with "
           f"the engine's terms to residual 0 (run one config for the terms)\n\n"]
    out.append(render(fmt, recs, _summary_columns(counters)))
    skipped = {n: why for v in vs for n, why in v.skipped.items()}
    for name, why in skipped.items():
        out.append(f"\nskipped {name}: {why}")
    out.append("\n" + _mismatch_section(fmt, vs))
    out.append(("\n" if md else "") + _result_line(vs))
    return "".join(out)


def csv_records(vs: Sequence[Verification]) -> list[dict[str, Any]]:
    """Long format: one record per (config, counter, quantity, layer or total)."""
    recs = []
    for v in vs:
        c = v.config
        base = {"alpha": c.alpha, "resolution": c.resolution, "variant": c.variant,
                "rounding": c.rounding, "convention": c.convention, "classes": c.classes}
        for r in v.layers:
            for q in ("mult_adds", "params"):
                d = r.record()
                recs.append({**base, "counter": "fvcore", "quantity": q, "layer": r.name,
                             "engine": d[f"engine_{q}"], "counted": d[f"fvcore_{q}"],
                             "difference": d[f"{q}_diff"],
                             "explained": d[f"expected_{q}"] - d[f"engine_{q}"],
                             "residual": d[f"{q}_residual"], "shape_ok": r.shape_ok,
                             "agree": r.ok})
        for k in v.counters:
            recs.append({**base, "counter": k.counter, "quantity": k.quantity, "layer": "total",
                         "engine": k.engine_total, "counted": k.measured,
                         "difference": k.difference, "explained": k.explained - k.engine_total,
                         "residual": k.residual, "shape_ok": "", "agree": k.ok})
    return recs


CSV_KEYS = ("alpha", "resolution", "variant", "rounding", "convention", "classes", "counter",
            "quantity", "layer", "engine", "counted", "difference", "explained", "residual",
            "shape_ok", "agree")


def render_output(fmt: str, vs: Sequence[Verification], counters: Sequence[str],
                  single: bool) -> str:
    if fmt == "csv":
        return render("csv", csv_records(vs), (), csv_keys=CSV_KEYS)
    if fmt == "json":
        obj = {"agree": all(v.agree for v in vs),
               "configs": [{**v.to_dict(), "layers": _layer_dicts(v)} for v in vs],
               "mismatches": [m for v in vs for m in v.mismatches()]}
        return render("json", [], (), json_obj=obj)
    text = render_single(fmt, vs[0]) if single else render_many(fmt, vs, counters)
    return _latex_comments(text) if fmt == "latex" else text


def _latex_comments(text: str) -> str:
    """LaTeX output: the tabulars as they are, every prose line as a ``%`` comment, so the file
    can be \\input into a document."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        out.append(s if s.startswith("\\") or s.endswith("\\\\") else f"% {line}" if s else "")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    fmt = check_format(args)
    kwargs = config_kwargs(args)
    counters = _counters(args.counters)
    configs = configs_from_args(args)
    single = len(configs) == 1 and not args.grid

    from costmodel.core.engine import layer_table
    from costmodel.crosscheck.verify import check_size

    for a, r in configs:  # every config valid before any model is built
        check_size(layer_table(a, r, **kwargs))

    from tqdm import tqdm

    from costmodel.crosscheck.verify import verify

    results: list[Verification] = []
    bar = tqdm(configs, desc="verify", unit="config", file=sys.stderr, leave=False,
               disable=len(configs) < 2 or not sys.stderr.isatty())
    for a, r in bar:
        bar.set_postfix_str(f"{a:g}-{r}")
        results.append(verify(a, r, counters=counters, **kwargs))
    bar.close()
    emit(render_output(fmt, results, counters, single), args)
    return 0 if all(v.agree for v in results) else 1
