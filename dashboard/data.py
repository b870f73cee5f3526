"""The dashboard's only door to the library: each function calls one library function and shapes
its answer for a view. Nothing here counts, fits, ranks or recommends (issue 6: one source of
truth); it names the library function that does.

Caches: the library functions are pure for given inputs and data files, so results that are
costly to rebuild (fronts, recommendations, latency tables read from CSVs) are cached, keyed by
the data-file state (name, mtime, size) where they read data/latency. Nothing cached is mutated
after it is built. The caches are single-flight (:func:`_cached`): when a key is missing, one
thread computes it and concurrent requests for it wait instead of all computing it at once (a
new latency row invalidates every latency key while the server is under load).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any

from costmodel.core.arch import ROUNDING_RULES, VARIANTS
from costmodel.core.breakdown import breakdown
from costmodel.core.conventions import CONVENTIONS
from costmodel.core.engine import COLUMNS, LayerTable, layer_table
from costmodel.core.reduction import separable_reduction
from costmodel.errors import CostModelError
from costmodel.io import latency_data
from costmodel.io.files import files_stamp
from costmodel.report.formatting import display_rows, render_csv
from costmodel.search import accuracy as acc
from costmodel.search import pareto, recommend
from dashboard.state import ViewState

_CACHE_LOCK = threading.RLock()


def _cached(maxsize: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """lru_cache behind one lock: a hit costs a lock round trip (microseconds); a miss is
    computed once while other threads wait for it."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        cached = lru_cache(maxsize=maxsize)(fn)

        @wraps(fn)
        def wrapper(*args: Any) -> Any:
            with _CACHE_LOCK:
                return cached(*args)

        wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return wrapper

    return deco


VARIANT_LABELS = {
    "mobilenet_v1": "MobileNet-V1 (depthwise separable)",
    "full_conv": "Conv MobileNet (standard conv, Table 4)",
    "shallow": "Shallow MobileNet (Table 5)",
}
ROUNDING_LABELS = {
    "int": "int(c\u00b7\u03b1)  (paper, Keras)",
    "slim": "max(int(c\u00b7\u03b1), 8)  (TF-slim)",
    "divisible8": "multiple of 8  (timm, torchvision)",
}
CONVENTION_LABELS = {
    "paper": "paper: conv + FC weights only",
    "fvcore": "fvcore: + BatchNorm, pooling, biases",
    "tfslim": "TF-slim: + BatchNorm params, 1001 classes",
}


def model_keys() -> tuple[str, ...]:
    """The networks the explorer offers: the built-ins (costmodel.core.arch.BUILTIN_NAMES)."""
    from costmodel.core.arch import BUILTIN_NAMES

    return BUILTIN_NAMES


def model_options() -> list[dict[str, str]]:
    return [{"label": m, "value": m} for m in model_keys()]


def model_accuracy(model: str) -> dict[tuple[float, int], dict[str, Any]]:
    """A network's published top-1 by (alpha, resolution) (costmodel.search.accuracy.
    network_accuracy; read on demand, when the network is chosen)."""
    return acc.network_accuracy(model)


def variant_options() -> list[dict[str, str]]:
    return [{"label": VARIANT_LABELS.get(v, v), "value": v} for v in VARIANTS]


def rounding_options() -> list[dict[str, str]]:
    return [{"label": ROUNDING_LABELS.get(r, r), "value": r} for r in ROUNDING_RULES]


def convention_options() -> list[dict[str, str]]:
    return [{"label": CONVENTION_LABELS.get(c, c), "value": c} for c in CONVENTIONS]


# ------------------------------------------------------------------------------------------
# Devices and chart axes (costmodel.search.pareto: objectives, devices, points, fronts)
# ------------------------------------------------------------------------------------------
def _latency_state() -> tuple[tuple[str, float, int], ...]:
    """What the latency files look like now (name, mtime, size; latency_data.data_files: the
    user data folder and the shipped reference device): the cache key of anything read from
    them, so a new `costmodel bench` row shows up without a restart."""
    return files_stamp(latency_data.data_files())


@_cached(maxsize=4)
def _devices(_state: tuple[Any, ...]) -> tuple[dict[str, Any], ...]:
    return tuple(pareto.devices())


@_cached(maxsize=4)
def _objective_names(_state: tuple[Any, ...]) -> frozenset[str]:
    return frozenset(o["name"] for o in pareto.objectives(include_devices=True))


def devices() -> tuple[dict[str, Any], ...]:
    """Latency devices (pareto.devices): measured ones from data/latency, then published phones."""
    return _devices(_latency_state())


def device_keys() -> list[str]:
    return [d["id"] for d in devices()]


def device_short(d: dict[str, Any]) -> str:
    th = f", {d['threads']} thr" if d.get("threads") else ""
    prec = f", {d['precision']}" if d.get("precision") not in (None, "float32") else ""
    return f"{d['device_id']} \u00b7 {d['backend']}{th}{prec}"


def device_label(d: dict[str, Any]) -> str:
    """``<device> · <backend>, <threads> thr (this machine | other machine | reference |
    published)``: this machine stands apart from the reference device."""
    return f"{device_short(d)} ({d['machine']})"


def device_options() -> list[dict[str, Any]]:
    return [{"label": device_label(d), "value": d["id"]} for d in devices()]


def device_info(key: str) -> dict[str, Any]:
    for d in devices():
        if d["id"] == key:
            return d
    raise CostModelError(f"device {key!r} is unknown; allowed: {', '.join(device_keys())}")


def default_device() -> str | None:
    """This machine's first device, else another measured one, the reference, a published
    phone (pareto.devices order)."""
    devs = devices()
    return devs[0]["id"] if devs else None


# x axis: a cost objective of costmodel.search.pareto, or a latency kind that takes the chosen device.
# key -> (axis title, unit shown, divisor from the library's unit)
X_AXES: dict[str, tuple[str, str, float]] = {
    "mult_adds": ("Mult-adds", "millions", 1e6),
    "params": ("Parameters", "millions", 1e6),
    "size_fp32": ("Model size, fp32", "MB", 1e6),
    "size_bf16": ("Model size, bf16", "MB", 1e6),
    "size_int8": ("Model size, int8", "MB", 1e6),
    "peak_activation": ("Peak activation memory, fp32", "MB", 1e6),
    "latency": ("Latency (measured or published)", "ms", 1.0),
    "latency_pred": ("Predicted latency (latency model)", "ms", 1.0),
}
DEVICE_AXES = ("latency", "latency_pred")


def x_keys() -> list[str]:
    return list(X_AXES)


def x_options() -> list[dict[str, Any]]:
    have_pred = any(n.startswith("latency_pred:") for n in _objective_names(_latency_state()))
    return [{"label": f"{title} ({unit})" + ("" if k != "latency_pred" or have_pred
                                              else " \u2013 not available yet"),
             "value": k, "disabled": k == "latency_pred" and not have_pred}
            for k, (title, unit, _) in X_AXES.items()]


def objective_name(x: str, device: str | None) -> str:
    """The costmodel.search.pareto objective the x axis shows (``latency:<device>`` for latency)."""
    if x not in DEVICE_AXES:
        return x
    dev = device or default_device()
    if dev is None:
        raise CostModelError(f"x axis {x!r} needs a device; none has latency data")
    return f"{x}:{dev}"


def axis_title(x: str, device: str | None) -> str:
    title, unit, _ = X_AXES[x]
    if x in DEVICE_AXES:
        d = device_info(device or default_device() or "")
        if x == "latency":
            what = "Published latency" if d["published"] else "Measured latency"
        else:
            what = "Predicted latency"
        return f"{what} on {device_short(d)} ({unit})"
    return f"{title} ({unit})"


def x_scale(x: str) -> float:
    return X_AXES[x][2]


def config_from_click(click: Any) -> dict[str, Any]:
    """The (alpha, resolution) a chart click points at: ``points[0].customdata[:2]``; {} if the
    click carries nothing usable (the chart's line traces carry no customdata)."""
    try:
        cd = click["points"][0]["customdata"]
        return {"alpha": cd[0], "resolution": cd[1]}
    except (KeyError, IndexError, TypeError):
        return {}


# The chart's candidate configs for cost axes: alpha 0.25..1.0 step 0.05 x resolution 128..224
# step 16 -- the published range (every estimate interpolated), 112 points, seven resolutions
# so each gets its own marker; the 16 published configs are on it.
GRID_ALPHAS = tuple(round(0.25 + 0.05 * i, 2) for i in range(16))
GRID_RESOLUTIONS = tuple(range(128, 225, 16))


@_cached(maxsize=64)
def _front(objective: str, rounding: str, convention: str, _state: tuple[Any, ...],
           model: str = "mobilenet_v1", precision: str = "fp32") -> Any:
    if model != pareto.BASE_VARIANT:  # its published configs (costmodel.search.networks)
        if not model_accuracy(model):
            raise CostModelError(f"{model} has no published top-1 (none cited, and none is "
                                 f"estimated for any network but mobilenet_v1), so there is no "
                                 f"accuracy axis")
        return pareto.pareto([objective, "top1"], spec=model, rounding=rounding,
                             convention=convention)
    if objective.partition(":")[0] == "latency":  # the configs the device has latency for
        return pareto.pareto([objective, "top1"], grid=True, rounding=rounding,
                             convention=convention, precision=precision)
    return pareto.pareto([objective, "top1"], grid=True, alphas=GRID_ALPHAS,
                         resolutions=GRID_RESOLUTIONS, rounding=rounding, convention=convention,
                         precision=precision)


# Command-line advice inside a library note ("; `costmodel latency calibrate` measures this
# machine", "(--allow-extrapolation)"): true for the CLI, not something a page user can do.
_CLI_ADVICE = re.compile(r";\s*`costmodel [^`]*`[^;)]*|\s*\(--[^)]*\)|\s*`costmodel [^`]*`")


def page_notes(frame: Any) -> list[str]:
    """pareto's notes about what the chart leaves out, in the page's words: the library's note
    on far estimates names an API argument and a CLI flag, which a dashboard user cannot pass;
    other notes lose their command-line advice."""
    far = frame.attrs.get("far_left_out") or {}
    notes = [_CLI_ADVICE.sub("", n) for n in frame.attrs.get("notes", []) if n != far.get("note")]
    if far:
        notes.append(f"{far['count']} measured configs (e.g. {far['example']}) lie far outside "
                     f"the published accuracy range, where no top-1 estimate is reliable: they "
                     f"are not plotted.")
    return notes


def front_frame(sel: ViewState) -> Any:
    """pareto.pareto([x, top1]) over the chart's configs (MobileNet-V1; the selection's rounding
    and convention), cached. Read-only: do not modify the returned frame."""
    obj = objective_name(sel.x, sel.device)
    # Cost axes do not read data/latency: their front survives new latency rows.
    return _front(obj, sel.rounding, sel.convention, _latency_state() if ":" in obj else (),
                  sel.model, sel.precision)


@_cached(maxsize=64)
def _latency_lookup(device: str, variant: str, _state: tuple[Any, ...],
                    model: str = "mobilenet_v1", rounding: str = "int"
                    ) -> dict[tuple[float, int], float]:
    try:
        t = (pareto.load_latency(device, variant=variant) if model == pareto.BASE_VARIANT else
             pareto.load_latency(device, variant=variant, network=model, rounding=rounding))
    except CostModelError:
        return {}
    return {(round(float(a), 6), int(r)): float(v)
            for a, r, v in zip(t["alpha"], t["resolution"], t["latency_ms"], strict=True)}


def latency_at(device: str, variant: str, alpha: float, resolution: int,
               model: str = "mobilenet_v1", rounding: str = "int") -> float | None:
    """The latency (ms) pareto.load_latency has for one config on a device, or None: of
    MobileNet-V1, or of another network ``model`` (its own rows, of ``rounding``)."""
    published = any(d["id"] == device and d["published"] for d in devices())
    # Published phones come from data/reference: new rows in data/latency do not touch them.
    state_ = () if published else _latency_state()
    if model == pareto.BASE_VARIANT:
        return _latency_lookup(device, variant, state_).get((round(alpha, 6), resolution))
    return _latency_lookup(device, variant, state_, model, rounding).get(
        (round(alpha, 6), resolution))


def selected_point(sel: ViewState) -> dict[str, Any]:
    """The selected config's figures on the chart's axes (pareto.config_point), with ``x`` in
    display units (None where the config has no such figure: a latency not measured there)."""
    obj = objective_name(sel.x, sel.device)
    kind, _, dev = obj.partition(":")
    objs = ["top1", obj] if kind == "latency_pred" else ["top1"]
    variant = "mobilenet_v1"  # accuracy exists for MobileNet-V1 only; see pareto_view
    p = pareto.config_point(sel.alpha, sel.resolution, objs, rounding=sel.rounding,
                            convention=sel.convention, allow_far=True, variant=variant,
                            spec=sel.model, precision=_precision_of(sel))
    raw = (latency_at(dev, variant, sel.alpha, sel.resolution, sel.model, sel.rounding)
           if kind == "latency" else p.get(obj))
    p["x"] = None if raw is None else raw / x_scale(sel.x)
    p["objective"] = obj
    return p


# ------------------------------------------------------------------------------------------
# The selected configuration
# ------------------------------------------------------------------------------------------
def table(sel: ViewState) -> LayerTable:
    return layer_table(sel.alpha, sel.resolution, **sel.knobs)


def top1(sel: ViewState) -> dict[str, Any] | None:
    """Top-1 of the selected config (costmodel.search.accuracy): published where a checkpoint exists,
    else the labelled estimate (``range`` interpolated / extrapolated / far). Other variants:
    the paper's figure where it prints one (Tables 4, 5: 1.0-224 only), else None. Other
    networks: their published figure at this config (model_accuracy), else None."""
    if sel.model != pareto.BASE_VARIANT:
        rec = model_accuracy(sel.model).get((round(sel.alpha, 6), sel.resolution))
        return None if rec is None else {"top1": rec["top1"], "estimated": False,
                                         "range": "published", "source": rec["source"]}
    if sel.variant != "mobilenet_v1":
        pub = acc.load_published("paper")
        hit = pub[(pub["variant"] == sel.variant) & (pub["alpha"] == sel.alpha)
                  & (pub["resolution"] == sel.resolution)]
        if not len(hit):
            return None
        return {"top1": float(hit["top1"].iloc[0]), "estimated": False, "range": "published",
                "source": str(hit["source"].iloc[0])}
    return acc.accuracy(sel.alpha, sel.resolution, allow_far=True,
                        edition=accuracy_edition(sel.precision))


def precision_options() -> list[dict[str, str]]:
    """The precision control: what model size and top-1 the explorer shows (issue 13)."""
    return [{"label": "fp32", "value": "fp32"}, {"label": "bf16 (size: 2 bytes/weight)",
                                                 "value": "bf16"},
            {"label": "int8 (QDQ size; quantized top-1)", "value": "int8"}]


def _precision_of(sel: ViewState) -> str | None:
    """The precision the library reads for the selection: MobileNet-V1's only (another network
    has no quantized edition; its size objectives still have every precision)."""
    return sel.precision if sel.model == pareto.BASE_VARIANT else None


def accuracy_edition(precision: str) -> str:
    """The accuracy edition of a precision (pareto.PRECISION_EDITIONS; float otherwise)."""
    stored = latency_data.PRECISIONS.get(precision, precision)
    return pareto.PRECISION_EDITIONS.get(stored, acc.FIT_EDITION)


def edition_source(edition: str) -> str:
    """The citation of a published accuracy edition (costmodel.search.accuracy.editions)."""
    ed = acc.editions().get(edition)
    return ed.source if ed else edition


def top1_text(a: dict[str, Any] | None) -> str:
    if a is None:
        return "not published for this variant"
    if not a["estimated"]:
        return f"{a['top1']:.1f} % (published)"
    tag = {"interpolated": "estimate", "extrapolated": "extrapolated estimate"}.get(
        a["range"], "far outside published range: unreliable estimate")
    return f"{a['top1']:.1f} % ({tag})"


def model_top1_text(model: str) -> str:
    """Top-1 of a config another network does not publish: where it does, or that it cites none."""
    have = sorted(model_accuracy(model))
    if not have:
        return f"none cited for {model} (not estimated)"
    shown = ", ".join(f"{a:g}-{r}" for a, r in have[:4]) + (" ..." if len(have) > 4 else "")
    return f"not published for this config ({model}: {shown}; not estimated)"


def latency_rows(sel: ViewState) -> list[dict[str, Any]]:
    """Latency of the selected config: measured or published (pareto.load_latency) on every
    device that has a figure for it, and predicted (pareto's ``latency_pred`` objective, fitted
    by costmodel.latency.kernel) on the chosen device. One device's fit takes seconds the first
    time (then it is cached), so only the chosen device is predicted. Another network: its own
    rows and fit (costmodel latency calibrate --model NAME), none of MobileNet-V1's."""
    pred_obj = f"latency_pred:{sel.device}" if sel.device else None
    predicted = None
    own = {} if sel.model == pareto.BASE_VARIANT else {"spec": sel.model}
    if pred_obj and pred_obj in _objective_names(_latency_state()):
        try:
            predicted = pareto.config_point(sel.alpha, sel.resolution, [pred_obj],
                                            variant=sel.variant, rounding=sel.rounding,
                                            convention=sel.convention, allow_far=True,
                                            **own).get(pred_obj)
        except CostModelError:
            predicted = None
    rows = []
    for d in devices():
        m = latency_at(d["id"], sel.variant, sel.alpha, sel.resolution, sel.model, sel.rounding)
        p = predicted if d["id"] == sel.device else None
        if m is not None or p is not None:
            rows.append({"device": d["id"], "label": device_label(d), "published": d["published"],
                         "measured_ms": m, "predicted_ms": p})
    return rows


def alignment_text(sel: ViewState) -> str:
    """With a device chosen: when the selected config has channel counts that are not multiples
    of 8, its predicted latency beside the same alpha under divisible8 rounding and the nearest
    alpha with aligned channels (costmodel.latency.predict.aligned_alternatives), so a config
    slowed by its alignment shows as such. "" otherwise, or when the device's model cannot
    predict the config (outside its calibrated range, or a network without rows on it)."""
    if not sel.device or sel.variant != pareto.BASE_VARIANT:
        return ""
    from costmodel.latency import kernel
    from costmodel.latency.predict import aligned_alternatives, alignment_note

    try:
        spec = pareto.resolve_device(sel.device)
        model = kernel.fit_device(spec.device_id, backend=spec.backend, threads=spec.threads,
                                  precision=spec.precision, variant=sel.variant,
                                  spec=None if sel.model == pareto.BASE_VARIANT else sel.model)
        alts = aligned_alternatives(model, sel.alpha, sel.resolution, sel.rounding)
    except CostModelError:
        return ""
    return alignment_note(f"{sel.alpha:g}-{sel.resolution}", sel.rounding, alts)


def config_details(sel: ViewState) -> dict[str, Any]:
    t = table(sel)
    a = top1(sel)
    c = t.config
    what = f"{c.alpha:g} MobileNet-{c.resolution} \u00b7 {VARIANT_LABELS.get(c.variant)}" \
        if sel.model == pareto.BASE_VARIANT else f"{sel.model} \u03b1 {c.alpha:g}, {c.resolution} px"
    title = (f"Selected: {what} \u00b7 rounding {c.rounding} \u00b7 {c.convention} convention")
    summary = {**{k: t.totals[k] for k in ("mult_adds", "params", "weight_bytes",
                                            "peak_activation_bytes")},
               "top1": a, "top1_text": top1_text(a) if a or sel.model == pareto.BASE_VARIANT
               else model_top1_text(sel.model)}
    return {
        "title": title,
        "summary": summary,
        "layers": display_rows(t.rows),
        "breakdown": display_rows(breakdown(sel.alpha, sel.resolution, **sel.knobs)),
        "latency": latency_rows(sel),
        "alignment": alignment_text(sel),
        "reduction": separable_reduction(sel.alpha, sel.resolution, **sel.knobs),
    }


def layer_csv(sel: ViewState) -> str:
    """Exactly ``costmodel table --format csv`` for the selection (engine.COLUMNS)."""
    return render_csv(table(sel).rows, COLUMNS)


def csv_filename(sel: ViewState) -> str:
    head = sel.variant if sel.model == pareto.BASE_VARIANT else sel.model
    return (f"{head}_{sel.alpha:g}_{sel.resolution}_{sel.rounding}_{sel.convention}"
            f"_layers.csv")



def variant_point(sel: ViewState) -> dict[str, Any]:
    """A full_conv / shallow config's figures on the chart's x axis (no accuracy: top1 None)."""
    obj = objective_name(sel.x, sel.device)
    kind, _, dev = obj.partition(":")
    objs = [obj] if kind == "latency_pred" else []
    p = pareto.config_point(sel.alpha, sel.resolution, objs, variant=sel.variant,
                            rounding=sel.rounding, convention=sel.convention, allow_far=True)
    raw = latency_at(dev, sel.variant, sel.alpha, sel.resolution) if kind == "latency" \
        else p.get(obj)
    p.update(x=None if raw is None else raw / x_scale(sel.x), top1=None, objective=obj)
    return p


# ------------------------------------------------------------------------------------------
# Budgets and the recommendation (costmodel.search.recommend)
# ------------------------------------------------------------------------------------------
def budget_on_axis(sel: ViewState) -> float | None:
    """The budget that limits the chart's x axis, in the axis's display units, if one is set."""
    if sel.x == "mult_adds":
        return sel.max_mult_adds_m
    if sel.x == "params":
        return sel.max_params_m
    if sel.x in DEVICE_AXES and sel.max_latency_ms is not None:
        return sel.max_latency_ms
    return None


# Budget fields of the selection -> their names in costmodel.search.recommend (the same names).
BUDGET_NAMES = {"max_latency_ms": "max latency", "max_mult_adds_m": "max mult-adds",
                "max_params_m": "max params"}


@_cached(maxsize=256)
def _recommend(budgets: tuple[tuple[str, float], ...], device: str | None, rounding: str,
               convention: str, _state: tuple[Any, ...], model: str = "mobilenet_v1",
               precision: str = "fp32") -> dict[str, Any]:
    limits: dict[str, Any] = dict(budgets)
    spec = None if model == pareto.BASE_VARIANT else model
    return recommend.recommend(device=device, grid=True, rounding=rounding,
                               convention=convention, spec=spec,
                               precision=precision if spec is None else None, **limits)


def _x_of(point: dict[str, Any], sel: ViewState) -> float | None:
    """A recommend/pareto point's value on the chart's x axis, in display units."""
    obj = objective_name(sel.x, sel.device)
    kind, _, dev = obj.partition(":")
    own = {} if sel.model == pareto.BASE_VARIANT else {"spec": sel.model}
    if kind == "latency":
        raw = latency_at(dev, "mobilenet_v1", point["alpha"], int(point["resolution"]),
                         sel.model, sel.rounding)
    elif kind == "latency_pred":
        raw = pareto.config_point(point["alpha"], point["resolution"], [obj],
                                  rounding=sel.rounding, convention=sel.convention,
                                  allow_far=True, **own).get(obj)
    else:
        raw = point.get(obj)
    return None if raw is None else float(raw) / x_scale(sel.x)


def _binding_text(rec: dict[str, Any]) -> str:
    def name(b: str) -> str:
        return BUDGET_NAMES.get(b, b)

    if rec["binding"]:
        parts = [f"{name(b['budget'])} {b['limit']:g} {b['unit']} ({b['next']['label']}, "
                 f"{b['next']['top1']:.1f} %, needs {b['needs']:.4g})" for b in rec["binding"]]
        return "Binding budget: " + "; ".join(parts)
    if rec["jointly_binding"]:
        return "Binding jointly: " + " and ".join(name(b) for b in rec["jointly_binding"])
    return "No budget binds: the most accurate candidate meets every budget."


def recommendation(sel: ViewState) -> dict[str, Any] | None:
    """costmodel.search.recommend.recommend for the selection's budgets (MobileNet-V1, fine grid, the
    selection's rounding and convention; the device only when a latency budget is set), shaped
    for the chart. None without budgets."""
    if not sel.budgets:
        return None
    device = None
    if sel.max_latency_ms is not None:
        device = sel.device or default_device()
    try:
        rec = _recommend(tuple(sorted(sel.budgets.items())), device, sel.rounding,
                         sel.convention, _latency_state() if device else (), sel.model,
                         sel.precision)
    except CostModelError as exc:  # another network: no latency to budget
        return {"reason": str(exc), "status": "refused", "device": device, "device_text": "",
                "message": str(exc), "best": None, "closest": None}
    out: dict[str, Any] = {"reason": rec["reason"], "status": rec["status"], "device": device,
                           "device_text": "" if device is None else
                           f"latency on {device_short(device_info(device))}"}
    if rec["status"] != "ok":
        closest = rec.get("closest") or {}
        out.update(message=rec["reason"], best=None, closest=closest.get("label"))
        return out
    best = dict(rec["best"])
    best.update(estimated=bool(best["top1_estimated"]), x=_x_of(best, sel))
    runner = rec.get("runner_up")
    out.update(best=best, binding=rec["binding"], binding_text=_binding_text(rec),
               runner_up=None if runner is None else
               f"{runner['label']} ({runner['top1']:.1f} %)",
               feasible=rec["feasible"], considered=rec["considered"])
    return out


def over_budget(frame: Any, sel: ViewState) -> set[str]:
    """Labels of the chart's points that break a budget, by costmodel.search.recommend's
    Budget.meets (the column, unit scale, direction and tolerance recommend itself uses). A
    latency budget applies to points that have a latency on the budget's device."""
    out: set[str] = set()
    for name, limit in sel.budgets.items():
        b = recommend.BUDGETS[name]
        if b.column == "latency":
            dev = sel.device or default_device()
            if dev is None:
                continue
            vals = [latency_at(dev, "mobilenet_v1", a, int(r), sel.model, sel.rounding)
                    for a, r in zip(frame["alpha"], frame["resolution"], strict=True)]
        else:
            vals = list(frame[b.column])
        for label, v in zip(frame["label"], vals, strict=True):
            if v is not None and not b.meets(v, limit):
                out.add(label)
    return out
