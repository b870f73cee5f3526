"""Pareto fronts over MobileNet-V1 configurations (alpha x resolution), and their objectives.

API summary (every function is pure, returns plain data, and is quick enough for a Dash
callback; bad input raises :class:`costmodel.errors.CostModelError` with a one-line message)
--------------------------------------------------------------------------------------------
``objectives(include_devices=True) -> list[dict]``
    every objective name usable now: name, label, unit, sense (``min``/``max``), kind.
``parse_objective(name) -> Objective``, ``parse_objectives(names) -> list[Objective]``
    ``top1``, ``top5`` (maximize); ``mult_adds``, ``params``, ``size_fp32``, ``size_bf16``,
    ``size_int8``, ``peak_activation`` (bytes, fp32), ``latency:<device>``,
    ``latency_pred:<device>`` (minimize).
``device_ids() -> list[str]``, ``resolve_device(device) -> DeviceSpec``
    the device names that may follow ``latency:``, and one name resolved
    (:func:`costmodel.io.latency_data.resolve_device`).
``devices() -> list[dict]``
    latency devices: id (what goes after ``latency:``), device_id, description, backend,
    threads, precision, configs, published, reference, this_machine, machine, fingerprint,
    source.
``load_latency(device, *, variant) -> DataFrame``
    one latency per (alpha, resolution) of a device: alpha, resolution, latency_ms, device,
    backend, threads, precision, published, source.
``points(objectives=(), *, grid=False, configs=None, alphas=None, resolutions=None, ...) -> DataFrame``
    the candidate configs with label, alpha, resolution, top1, top5, top1_estimated,
    top1_source, range, every cost column, and one column per requested objective.
``pareto_mask(values, senses) -> ndarray[bool]``
    the non-dominated rows of an (n, k) array (pure numpy; ties and duplicates handled).
``pareto(objectives, *, frame=None, **points_kwargs) -> DataFrame``
    :func:`points` (or ``frame``) plus ``dominated`` (bool), ``front_order`` (0.. along the first objective,
    -1 if dominated) and ``dominated_by`` (label of a front point that dominates it); the front
    rows come first, in order.
``front(objectives, **points_kwargs) -> DataFrame``
    only the front rows of :func:`pareto`, in order.
``config_point(alpha, resolution, objectives=(), **kwargs) -> dict``
    one config's figures (for a slider): estimates labelled, missing latency as None.

Points
------
``grid=False`` (default): the 16 published configs of the accuracy edition (TF-slim 2018-02
float unless ``accuracy=`` names another). ``grid=True``: a fine grid (alpha 0.25..1.0 step
0.025 x resolution 128..224 step 4, or ``alphas=``/``resolutions=``) with estimated accuracy,
except at published configs, which keep the published figure (``top1_estimated`` False).
``configs=[(alpha, resolution), ...]``: exactly those.

A measured latency exists only where it was measured, so with a ``latency:<device>``
objective the points are the configs that device has a latency for: the published configs it
measured (``grid=False``) or every config it measured (``grid=True``; their accuracy estimated
where not published). Points missing any requested objective are left out and counted in
``frame.attrs["notes"]``; so are estimates far outside the published range (see
:mod:`costmodel.search.accuracy`) unless ``allow_far=True``, which keeps them labelled ``far``.

Costs come from :func:`costmodel.core.sweep.sweep` (one vectorized pass over the grid), with the
``convention`` (default ``paper``) and ``rounding`` (default ``int``) of ``costmodel table``.
Model size is parameters x 4 bytes (fp32) or x 2 (bf16) under that convention, and for int8 the
exact bytes of the static QDQ export (int8 weights, per-channel scales and zero points, int32
biases; :mod:`costmodel.core.sizes`); peak activation memory is the engine's largest live
input+output pair, fp32 bytes.

Dominance: point a dominates b when a is at least as good in every objective and strictly
better in one. Identical points (duplicates) do not dominate each other: all copies stay on the
front. A point tied with another in one objective and worse in another is dominated.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from costmodel.core.arch import BASE_VARIANT as BASE_VARIANT  # the one variant with accuracy
from costmodel.errors import CostModelError
from costmodel.io.files import files_stamp
from costmodel.io.latency_data import DEVICE_ALIASES as DEVICE_ALIASES  # the vocabulary's
from costmodel.io.latency_data import DeviceSpec

if TYPE_CHECKING:
    import pandas as pd

# base name -> (label, unit, sense, kind)
BASE_OBJECTIVES: dict[str, tuple[str, str, str, str]] = {
    "top1": ("ImageNet top-1", "%", "max", "accuracy"),
    "top5": ("ImageNet top-5", "%", "max", "accuracy"),
    "mult_adds": ("mult-adds", "count", "min", "cost"),
    "params": ("parameters", "count", "min", "cost"),
    "size_fp32": ("model size, fp32", "bytes", "min", "cost"),
    "size_bf16": ("model size, bf16", "bytes", "min", "cost"),
    "size_int8": ("model size, int8 (QDQ)", "bytes", "min", "cost"),
    "peak_activation": ("peak activation memory, fp32", "bytes", "min", "cost"),
}
DEVICE_OBJECTIVES: dict[str, tuple[str, str, str, str]] = {
    "latency": ("latency on {device}", "ms", "min", "latency"),
    "latency_pred": ("predicted latency on {device}", "ms", "min", "latency_pred"),
}
COST_COLUMNS = ("mult_adds", "params", "size_fp32", "size_bf16", "size_int8", "peak_activation")
# the model-size column of each precision (costmodel.core.sizes)
SIZE_COLUMNS = {"fp32": "size_fp32", "bf16": "size_bf16", "int8": "size_int8"}

DEFAULT_GRID_ALPHAS = tuple(round(0.25 + 0.025 * i, 3) for i in range(31))  # 0.25 .. 1.0
DEFAULT_GRID_RESOLUTIONS = tuple(range(128, 225, 4))  # 128 .. 224
AUTO = "auto"


# ------------------------------------------------------------------------------------------
# Objectives
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Objective:
    name: str  # the column name, e.g. "top1", "latency:pixel3_cpu4"
    base: str  # "top1", "mult_adds", "latency", ...
    label: str
    unit: str
    sense: str  # "min" or "max"
    kind: str  # accuracy, cost, latency, latency_pred
    device: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "unit": self.unit, "sense": self.sense,
                "kind": self.kind, "device": self.device}


def _allowed_objectives() -> str:
    return ", ".join([*BASE_OBJECTIVES, "latency:<device>", "latency_pred:<device>"])


def parse_objective(name: Any) -> Objective:
    """An objective by name; ``latency:<device>`` checks the device exists."""
    if isinstance(name, Objective):
        return name
    if not isinstance(name, str) or not name.strip():
        raise CostModelError(f"objective {name!r} is unknown; allowed: {_allowed_objectives()}")
    name = name.strip()
    if name in BASE_OBJECTIVES:
        label, unit, sense, kind = BASE_OBJECTIVES[name]
        return Objective(name, name, label, unit, sense, kind)
    base, sep, device = name.partition(":")
    if sep and base in DEVICE_OBJECTIVES:
        if not device:
            raise CostModelError(f"objective {name!r} names no device; allowed: {base}:<device>, "
                                 f"devices: {', '.join(device_ids())}")
        resolve_device(device)  # raises for an unknown device
        label, unit, sense, kind = DEVICE_OBJECTIVES[base]
        return Objective(name, base, label.format(device=device), unit, sense, kind, device)
    raise CostModelError(f"objective {name!r} is unknown; allowed: {_allowed_objectives()}")


def parse_objectives(names: Iterable[Any] | str) -> list[Objective]:
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    out = [parse_objective(n) for n in names]
    seen: set[str] = set()
    for o in out:
        if o.name in seen:
            raise CostModelError(f"objective {o.name!r} is given twice; allowed: distinct objectives")
        seen.add(o.name)
    return out


def objectives(include_devices: bool = True) -> list[dict[str, Any]]:
    """Every objective usable now (for a dropdown): name, label, unit, sense, kind, device."""
    out = [parse_objective(n).to_dict() for n in BASE_OBJECTIVES]
    if include_devices:
        for d in devices():
            out.append(parse_objective(f"latency:{d['id']}").to_dict())
        if _latency_model() is not None:
            for d in devices():
                out.append(parse_objective(f"latency_pred:{d['id']}").to_dict())
    return out


# ------------------------------------------------------------------------------------------
# Devices and latency (data from costmodel.io.latency_data, written by `costmodel bench`)
# ------------------------------------------------------------------------------------------
def _latency_data() -> Any:
    try:
        import costmodel.io.latency_data as ld
    except ImportError:  # pragma: no cover - the module ships with the package
        raise CostModelError("latency objectives need costmodel.io.latency_data; allowed: "
                             "objectives without latency") from None
    return ld


def _data_stamp() -> tuple[tuple[str, int, int], ...]:
    """Names, mtimes and sizes of the latency files (the user data folder's and the shipped
    ones, latency_data.data_files): the cache key of everything read from them, so a file
    `costmodel bench` rewrites is read again and an unchanged one is not."""
    return files_stamp(_latency_data().data_files())


@lru_cache(maxsize=8)
def _device_ids(stamp: tuple[tuple[str, int, int], ...]) -> tuple[str, ...]:
    ld = _latency_data()
    return tuple(ld.device_ids())


def device_ids() -> list[str]:
    """What may follow ``latency:``: the published phone aliases and every device id (the user
    data folder's and the reference devices; optionally ``/<backend>[/<threads>][@<precision>]``,
    latency_data.DEVICE_NAME_FORM)."""
    ld = _latency_data()
    ids = _device_ids(_data_stamp())
    measured = [d for d in ids if d not in ld.PUBLISHED_NAMES]
    return [*ld.DEVICE_ALIASES, *measured, *ld.PUBLISHED_NAMES]


def resolve_device(device: Any) -> DeviceSpec:
    """A device name (latency_data.resolve_device: one vocabulary everywhere)."""
    if not isinstance(device, str):
        return _latency_data().resolve_device(device)  # raises the one-line error
    return _resolve_device(device, _data_stamp())


@lru_cache(maxsize=256)
def _resolve_device(device: str, stamp: tuple[tuple[str, int, int], ...]) -> DeviceSpec:
    return _latency_data().resolve_device(device)


def devices() -> list[dict[str, Any]]:
    """Latency devices (batch 1): id (the device name to use in ``latency:<id>``; the one
    vocabulary of latency_data.DeviceSpec), device_id, description, backend, threads,
    precision, configs (how many alpha/resolution pairs), published, reference, this_machine,
    machine (this machine / other machine / reference / published), fingerprint, source.
    This machine's first (costmodel.latency.fingerprint.devices)."""
    return [dict(d) for d in _devices(_data_stamp())]


@lru_cache(maxsize=8)
def _devices(stamp: tuple[tuple[str, int, int], ...]) -> tuple[dict[str, Any], ...]:
    from costmodel.latency.fingerprint import devices as all_devices

    keys = ("device_id", "backend", "threads", "precision", "configs", "published", "reference",
            "this_machine", "machine", "fingerprint", "source")
    return tuple({"id": d["name"], "description": d["device"], **{k: d[k] for k in keys}}
                 for d in all_devices() if d["batch"] == 1)


def load_latency(device: str, *, variant: str = "mobilenet_v1", network: str | None = None,
                 rounding: str = "int") -> pd.DataFrame:
    """One latency per (alpha, resolution) of a device: alpha, resolution, latency_ms (the
    smallest median of repeated measurements), device, backend, threads, precision,
    published, source. Reads data/latency/<device_id>.csv or the published phone table (once
    per file version: cached on the files' mtimes). ``network``: another network's rows (a
    built-in's name or a description file; None: MobileNet-V1's), of its ``rounding``."""
    return _load_latency(device, variant, _data_stamp(), network, rounding).copy()


@lru_cache(maxsize=64)
def _load_latency(device: str, variant: str, stamp: tuple[tuple[str, int, int], ...],
                  network: str | None = None, rounding: str = "int") -> pd.DataFrame:
    from costmodel.core.arch import network_key, network_option

    spec = resolve_device(device)
    ld = _latency_data()
    table = ld.latency_table(spec.device_id, backend=spec.backend, threads=spec.threads,
                             precision=spec.precision, variant=variant, rounding=rounding,
                             network=network_key(network), measure_with=network_option(network))
    out = table.rename(columns={"median_ms": "latency_ms"})
    out = out.assign(device=device, precision=spec.precision)
    return out[["alpha", "resolution", "latency_ms", "device", "backend", "threads", "precision",
                "published", "source"]].reset_index(drop=True)


def _latency_model() -> Any:
    try:
        import costmodel.latency.kernel as lm
    except ImportError:
        return None
    return lm


def _predicted_latency(device: str, alphas: np.ndarray, resolutions: np.ndarray,
                       variant: str, rounding: str = "int",
                       network: str | None = None) -> tuple[np.ndarray, str | None]:
    """Predicted latency (ms) per config from costmodel.latency.kernel's model of the device,
    fitted on all of that device's measured (or published) configs of the network (cached per
    data version), and NaN for a config outside the calibrated range, with the first such
    reason. ``network``: a built-in's name or a description file (None: MobileNet-V1)."""
    lm = _latency_model()
    if lm is None or not hasattr(lm, "fit_device"):
        raise CostModelError(f"objective 'latency_pred:{device}' needs costmodel.latency.kernel "
                             f"(fit_device), which this tree does not have; allowed: "
                             f"latency:{device}")
    spec = resolve_device(device)
    model = lm.fit_device(spec.device_id, backend=spec.backend, threads=spec.threads,
                          precision=spec.precision, variant=variant, spec=network)
    a = np.asarray(alphas, dtype=np.float64).ravel()
    r = np.asarray(resolutions, dtype=np.int64).ravel()
    d = model.design(a, r, rounding)
    why = model.outside(d, a, r)
    pred = np.where([w is None for w in why], model.predict_design(d), np.nan)
    first = next((w for w in why if w), None)
    return pred.reshape(np.shape(alphas)), first


# ------------------------------------------------------------------------------------------
# Points
# ------------------------------------------------------------------------------------------
def _label(alpha: float, resolution: int) -> str:
    """``0.75-224``, ``1.0-224`` (TF-slim's names use 1.0 too)."""
    a = f"{alpha:g}"
    return f"{a if '.' in a or 'e' in a else a + '.0'}-{resolution}"


# The accuracy edition of a model precision (costmodel.search.accuracy): the TFLite uint8 models
# for the published uint8 phones, the TF-slim quantized checkpoints for costmodel's int8 (both
# published at the 16 configs, estimated elsewhere from the float-to-quant drop); float otherwise.
PRECISION_EDITIONS = {"uint8": "tflite_uint8", "int8": "tfslim_2018_08_quant"}
PRECISIONS = ("fp32", "bf16", "int8")  # the --precision knob (pareto, recommend, the explorer)


def check_precision(precision: Any) -> str | None:
    """``--precision``: None (not given), or fp32, bf16, int8."""
    if precision is None or precision in PRECISIONS:
        return precision
    raise CostModelError(f"precision {precision!r} is unknown; allowed: {', '.join(PRECISIONS)}")


def _objective_precision(o: Objective) -> str | None:
    """The stored precision of a latency objective's device (float32, int8, uint8, ...)."""
    return resolve_device(o.device).precision if o.kind.startswith("latency") and o.device else None


def _accuracy_edition(accuracy: str, objs: Sequence[Objective], precision: str | None = None) -> str:
    """The accuracy edition: ``accuracy`` if named, else that of ``precision`` (--precision),
    else that of the latency objectives' precision (a uint8 phone's latency goes with the
    quantized models' accuracy), else the float fit edition."""
    from costmodel.io.latency_data import PRECISIONS as STORED
    from costmodel.io.latency_data import precision_name
    from costmodel.search.accuracy import FIT_EDITION, check_edition

    if accuracy != AUTO:
        return check_edition(accuracy)
    given = STORED[precision] if precision else None
    for o in objs:
        have = _objective_precision(o)
        if given and have and have != given:
            raise CostModelError(f"objective {o.name!r} is at precision {precision_name(have)}, "
                                 f"--precision is {precision}; allowed: objectives at "
                                 f"{precision} (<device>@{precision}), or no --precision")
        given = given or have
    return PRECISION_EDITIONS.get(given or "", FIT_EDITION)


def _check_grid(values: Iterable[Any] | None, default: Sequence[Any], check: Any,
                what: str) -> list[Any]:
    vals = list(default if values is None else values)
    if not vals:
        raise CostModelError(f"empty {what} grid; allowed: at least one value")
    return [check(v) for v in vals]


@lru_cache(maxsize=64)
def _costs(alphas: tuple[float, ...], resolutions: tuple[int, ...], variant: str, rounding: str,
           convention: str, classes: int, spec: str | None = None) -> dict[str, np.ndarray]:
    from costmodel.core.sizes import BYTES_PER_PARAM, int8_parts
    from costmodel.core.sweep import sweep

    s = sweep(alphas, resolutions, variant=variant, rounding=rounding, convention=convention,
              classes=classes, spec=spec)
    int8 = int8_parts(alphas, resolutions, variant=variant, rounding=rounding, classes=classes,
                      spec=spec)
    out = {"mult_adds": s.mult_adds, "params": s.params, "peak_activation": s.peak_activation_bytes,
           "size_fp32": s.params * BYTES_PER_PARAM["fp32"],
           "size_bf16": s.params * BYTES_PER_PARAM["bf16"], "size_int8": int8["bytes"]}
    for v in out.values():
        v.setflags(write=False)
    return out


def points(objectives: Iterable[Any] | str = (), *, grid: bool = False,
           configs: Iterable[tuple[Any, Any]] | None = None,
           alphas: Iterable[Any] | None = None, resolutions: Iterable[Any] | None = None,
           accuracy: str = AUTO, allow_far: bool = False, variant: str = "mobilenet_v1",
           rounding: str | None = None, convention: str = "paper", classes: int = 1000,
           dropna: bool = True, precision: str | None = None, spec: str | None = None
           ) -> pd.DataFrame:
    """The candidate configs and their figures (see the module docstring for which configs).
    ``spec``: another network (a built-in name or a description file; costmodel.search.networks).

    Columns: label, alpha, resolution, top1, top5, top1_estimated, top1_source, range
    (published / interpolated / extrapolated / far), mult_adds, params, size_fp32, size_bf16,
    size_int8,
    peak_activation, then one column per latency objective. ``frame.attrs`` holds
    ``objectives`` (list of dicts), ``edition`` and ``notes`` (what was left out, and why).
    """
    import pandas as pd

    from costmodel.core.arch import VARIANTS, check_choice

    objs = parse_objectives(objectives)
    if spec is not None and spec != BASE_VARIANT:
        from costmodel.search.networks import network_points

        return network_points(objs, spec=spec, grid=grid, configs=configs, alphas=alphas,
                              resolutions=resolutions, accuracy=accuracy, variant=variant,
                              rounding=rounding, convention=convention, classes=classes,
                              dropna=dropna, precision=check_precision(precision))
    rounding = rounding or "int"  # MobileNet-V1's own rule
    edition = _accuracy_edition(accuracy, objs, check_precision(precision))
    check_choice("variant", variant, list(VARIANTS))
    wants_accuracy = any(o.kind == "accuracy" for o in objs)
    if variant != BASE_VARIANT and wants_accuracy:
        raise CostModelError(f"variant {variant!r} has no published or estimated accuracy; "
                             f"allowed with top1/top5: {BASE_VARIANT}")
    notes: list[str] = []
    # 1. candidate configs
    latency_objs = [o for o in objs if o.kind == "latency"]
    lat_tables = {o.name: load_latency(o.device or "", variant=variant) for o in latency_objs}
    cand = _candidate_configs(configs, grid, alphas, resolutions, edition, latency_objs,
                              lat_tables, notes)
    a = np.array([c[0] for c in cand], dtype=np.float64)
    r = np.array([c[1] for c in cand], dtype=np.int64)
    # 2. costs: one vectorized sweep over the unique alphas x resolutions
    ua, ia = np.unique(a, return_inverse=True)
    ur, ir = np.unique(r, return_inverse=True)
    costs = _costs(tuple(float(x) for x in ua), tuple(int(x) for x in ur), variant, rounding,
                   convention, int(classes))
    cols: dict[str, Any] = {"label": [_label(x, y) for x, y in cand], "alpha": a, "resolution": r}
    # 3. accuracy: published where the edition has it, else the labelled estimate
    cols.update(_accuracy_columns(cand, a, r, edition, variant))
    for k in COST_COLUMNS:
        cols[k] = costs[k][ia, ir]
    # 4. latency: measured (or published), and predicted
    cols.update(_latency_columns(cand, objs, lat_tables, variant, rounding, notes))
    # 5. what is left out: far estimates, missing latency
    frame, far_left_out = _leave_out(pd.DataFrame(cols), objs, variant, allow_far, dropna, notes)
    config = {"variant": variant, "rounding": rounding, "convention": convention,
              "classes": int(classes), "precision": precision}
    frame.attrs = {"objectives": [o.to_dict() for o in objs], "edition": edition, "notes": notes,
                   "config": config, "far_left_out": far_left_out}
    return frame


def _candidate_configs(configs: Iterable[tuple[Any, Any]] | None, grid: bool,
                       alphas: Iterable[Any] | None, resolutions: Iterable[Any] | None,
                       edition: str, latency_objs: Sequence[Objective],
                       lat_tables: dict[str, pd.DataFrame],
                       notes: list[str]) -> list[tuple[float, int]]:
    """The configs to consider, unique, as (alpha rounded to 6 places, resolution)."""
    from costmodel.core.arch import check_alpha, check_resolution
    from costmodel.search import accuracy as acc

    if configs is not None:
        cand = [(check_alpha(a), check_resolution(r)) for a, r in configs]
        if not cand:
            raise CostModelError("empty config list; allowed: at least one (alpha, resolution)")
    elif grid:
        ga = _check_grid(alphas, DEFAULT_GRID_ALPHAS, check_alpha, "alpha")
        gr = _check_grid(resolutions, DEFAULT_GRID_RESOLUTIONS, check_resolution, "resolution")
        cand = [(a, r) for a in ga for r in gr]
    else:
        cand = acc.published_configs(edition)
    if latency_objs and configs is None:  # a measured latency exists only where measured
        measured: set[tuple[float, int]] | None = None
        for t in lat_tables.values():
            keys = {(round(float(a), 6), int(r)) for a, r in zip(t["alpha"], t["resolution"])}
            measured = keys if measured is None else measured & keys
        assert measured is not None
        if grid:
            cand = sorted(measured)
        else:
            before = len(cand)
            cand = [c for c in cand if (round(c[0], 6), c[1]) in measured]
            if len(cand) < before:
                notes.append(f"{before - len(cand)} published configs have no latency on "
                             f"{', '.join(o.device or '' for o in latency_objs)}: left out")
    cand = list(dict.fromkeys((round(float(a), 6), int(r)) for a, r in cand))
    if not cand:
        raise CostModelError("no configs have every requested objective; allowed: objectives "
                             "measured on common configs (see `costmodel pareto --list`)")
    return cand


def _accuracy_columns(cand: list[tuple[float, int]], a: np.ndarray, r: np.ndarray, edition: str,
                      variant: str) -> dict[str, Any]:
    """top1, top5, top1_estimated, top1_source, range: published where the edition has the
    config, else the estimate; none for a variant without accuracy."""
    from costmodel.search import accuracy as acc

    if variant != BASE_VARIANT:
        nan = np.full(len(cand), np.nan)
        return {"top1": nan, "top5": nan, "top1_estimated": np.zeros(len(cand), dtype=bool),
                "top1_source": "", "range": ""}
    t1, status = acc.estimate_arrays(a, r, edition, "top1")
    t5, _ = acc.estimate_arrays(a, r, edition, "top5")
    status = status.astype(object)
    src = np.full(len(cand), acc.estimate_source(edition), dtype=object)
    est = np.ones(len(cand), dtype=bool)
    pub = {(round(x, 6), y) for x, y in acc.published_configs(edition)}
    for i, key in enumerate(cand):
        if key in pub:
            rec = acc.published(key[0], key[1], edition)
            assert rec is not None
            t1[i] = rec["top1"]
            t5[i] = rec["top5"]
            est[i], status[i], src[i] = False, "published", rec["source"]
    return {"top1": t1, "top5": t5, "top1_estimated": est, "top1_source": src, "range": status}


def _latency_columns(cand: list[tuple[float, int]], objs: Sequence[Objective],
                     lat_tables: dict[str, pd.DataFrame], variant: str, rounding: str,
                     notes: list[str], network: str | None = None) -> dict[str, np.ndarray]:
    """One column per latency objective: the measured figure (NaN where not measured) or the
    prediction (NaN outside the calibrated range, with a note)."""
    cols: dict[str, np.ndarray] = {}
    for o in objs:
        if o.kind == "latency":
            t = lat_tables[o.name]
            lut = {(round(float(x), 6), int(y)): float(v)
                   for x, y, v in zip(t["alpha"], t["resolution"], t["latency_ms"])}
            cols[o.name] = np.array([lut.get(c, np.nan) for c in cand], dtype=np.float64)
    a = np.array([c[0] for c in cand], dtype=np.float64)
    r = np.array([c[1] for c in cand], dtype=np.int64)
    for o in objs:
        if o.kind == "latency_pred":
            cols[o.name], why = _predicted_latency(o.device or "", a, r, variant, rounding,
                                                   network)
            if why:
                from costmodel.core.arch import network_key, network_option

                how = ("" if network_key(network) == BASE_VARIANT
                       else f" {network_option(network)}")
                n_out = int(np.isnan(cols[o.name]).sum())
                notes.append(f"{n_out} configs outside the calibrated range of {o.device} have "
                             f"no {o.name} (e.g. {why}; `costmodel latency calibrate{how}` "
                             f"measures this machine)")
    return cols


def _leave_out(frame: pd.DataFrame, objs: Sequence[Objective], variant: str, allow_far: bool,
               dropna: bool, notes: list[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Drop estimates far outside the published range (unless ``allow_far``) and, with
    ``dropna``, points without a requested latency; each with a note. Returns the frame and
    how many far ones were left out (count, example, note; empty if none)."""
    far_left_out: dict[str, Any] = {}
    if variant == BASE_VARIANT and not allow_far:
        far = frame["range"] == "far"
        if far.any():
            far_left_out = {"count": int(far.sum()), "example": frame.loc[far, "label"].iloc[0]}
            far_left_out["note"] = (
                f"{far_left_out['count']} configs far outside the published accuracy range left "
                f"out (e.g. {far_left_out['example']}); pass allow_far=True "
                f"(--allow-extrapolation) to keep them, labelled 'far'")
            notes.append(far_left_out["note"])
            frame = frame[~far]
    if dropna:
        need = [o.name for o in objs if o.kind in ("latency", "latency_pred")]
        missing = frame[need].isna().any(axis=1) if need else None
        if missing is not None and missing.any():
            notes.append(f"{int(missing.sum())} configs without {', '.join(need)} left out")
            frame = frame[~missing]
    if not len(frame):
        raise CostModelError(f"no configs left ({'; '.join(notes)}); allowed: a grid inside the "
                             f"published range or allow_far=True")
    return frame.reset_index(drop=True), far_left_out


# ------------------------------------------------------------------------------------------
# Dominance
# ------------------------------------------------------------------------------------------
def _check_senses(senses: Sequence[str], k: int) -> np.ndarray:
    if len(senses) != k:
        raise CostModelError(f"{len(senses)} senses for {k} objectives; allowed: one per objective")
    for s in senses:
        if s not in ("min", "max"):
            raise CostModelError(f"sense {s!r} is unknown; allowed: min, max")
    return np.array([1.0 if s == "min" else -1.0 for s in senses])


def pareto_mask(values: Any, senses: Sequence[str]) -> np.ndarray:
    """Non-dominated rows of an (n, k) array; ``senses[j]`` is ``min`` or ``max``.

    Duplicated rows are all non-dominated or all dominated together. Rows are deduplicated and
    sorted lexicographically (a row can only be dominated by one that sorts before it); then
    O(n log n) for k <= 3 (a running minimum for k = 2, a staircase for k = 3) and
    O(n * front size) for k >= 4.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2:
        raise CostModelError(f"values of shape {v.shape} are not a table; allowed: (points, objectives)")
    n, k = v.shape
    sign = _check_senses(senses, k)
    if n == 0:
        return np.zeros(0, dtype=bool)
    if not np.isfinite(v).all():
        raise CostModelError("objective values contain NaN or infinity; allowed: finite numbers")
    u, inv = np.unique(v * sign, axis=0, return_inverse=True)  # lexicographically sorted, minimize
    inv = inv.ravel()
    if k == 1:
        keep = u[:, 0] == u[0, 0]
    elif k == 2:
        # Unique rows sorted by (x, y): any earlier row has x' <= x, and x' == x only with y' < y,
        # so row i is dominated iff some earlier row has y' <= y.
        prev_min = np.concatenate([[np.inf], np.minimum.accumulate(u[:-1, 1])])
        keep = u[:, 1] < prev_min
    elif k == 3:
        # Unique rows in lexicographic order: row i is dominated iff an earlier row has
        # y' <= y and z' <= z. Keep the (y, z) staircase of the front so far (y ascending,
        # z strictly descending); the last step with y' <= y has the least z' among them.
        keep = np.zeros(len(u), dtype=bool)
        ys: list[float] = []
        zs: list[float] = []
        for i, (y, z) in enumerate(u[:, 1:].tolist()):
            pos = bisect.bisect_right(ys, y)
            if pos and zs[pos - 1] <= z:
                continue
            keep[i] = True
            lo = bisect.bisect_left(ys, y)
            hi = lo
            while hi < len(ys) and zs[hi] >= z:  # steps the new row covers
                hi += 1
            ys[lo:hi] = [y]
            zs[lo:hi] = [z]
    else:
        # Walk the unique rows in lexicographic order; each surviving row is on the front and
        # removes every later row it dominates (<= everywhere; distinct rows then differ).
        keep = np.ones(len(u), dtype=bool)
        for i in range(len(u)):
            if keep[i]:
                keep[i + 1:] &= ~(u[i] <= u[i + 1:]).all(axis=1)
    return keep[inv]


def _front_order(v: np.ndarray, mask: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """0.. for front rows along the first objective ascending (then the others, then label)."""
    idx = np.flatnonzero(mask)
    keys = [labels[idx].astype(str)] + [v[idx, j] for j in range(v.shape[1] - 1, -1, -1)]
    order = idx[np.lexsort(keys)] if len(idx) else idx
    out = np.full(len(v), -1, dtype=np.int64)
    out[order] = np.arange(len(order))
    return out


def pareto(objectives: Iterable[Any] | str = ("mult_adds", "top1"), *,
           frame: pd.DataFrame | None = None, **points_kwargs: Any) -> pd.DataFrame:
    """:func:`points` for the objectives (or a given ``frame`` with their columns), plus
    ``dominated``, ``front_order`` and ``dominated_by``. Rows: the front in order, then the
    dominated points by the first objective."""
    objs = parse_objectives(objectives)
    if not 1 <= len(objs) <= 3:
        raise CostModelError(f"{len(objs)} objectives given; allowed: 1 to 3 (x, y and optional z)")
    pts = points(objs, **points_kwargs) if frame is None else frame.reset_index(drop=True)
    for o in objs:
        if o.name not in pts:
            raise CostModelError(f"objective {o.name!r} is not a column of the frame; "
                                 f"allowed: {', '.join(map(str, pts.columns))}")
    attrs = dict(pts.attrs)
    pts = pts.copy(deep=False)
    pts.attrs = {}  # pandas deep-copies attrs on every operation: set them once, at the end
    v = pts[[o.name for o in objs]].to_numpy(np.float64)
    labels = pts["label"].to_numpy(dtype=object)
    senses = [o.sense for o in objs]
    mask = pareto_mask(v, senses)
    order = _front_order(v, mask, labels)
    w = v * _check_senses(senses, len(objs))
    fidx = np.flatnonzero(mask)
    dom_by = np.full(len(pts), "", dtype=object)
    didx = np.flatnonzero(~mask)
    if len(didx) and len(fidx):
        fsorted = fidx[np.argsort(order[fidx])]
        f = w[fsorted]
        for start in range(0, len(didx), 512):
            d = didx[start:start + 512]
            # a front point <= a dominated one everywhere dominates it (they cannot be equal:
            # a copy of a front point is on the front)
            le = (f[None, :, :] <= w[d][:, None, :]).all(-1)
            dom_by[d] = labels[fsorted[le.argmax(axis=1)]]  # first in front order
    out = pts.assign(dominated=~mask, front_order=order, dominated_by=dom_by)
    rank = np.where(mask, order, len(pts) + np.argsort(np.argsort(v[:, 0], kind="stable")))
    out = out.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    out.attrs = {**attrs, "objectives": [o.to_dict() for o in objs]}
    return out


def front(objectives: Iterable[Any] | str = ("mult_adds", "top1"), **kwargs: Any) -> pd.DataFrame:
    """The front rows of :func:`pareto`, in order along the first objective."""
    p = pareto(objectives, **kwargs)
    out = p[~p["dominated"]].reset_index(drop=True)
    out.attrs = p.attrs
    return out


def config_point(alpha: Any, resolution: Any, objectives: Iterable[Any] | str = (),
                 **kwargs: Any) -> dict[str, Any]:
    """One config's figures as a plain dict (a latency it was not measured at is None);
    accuracy is labelled (``top1_estimated``, ``range``); far estimates raise unless
    ``allow_far=True``."""
    from costmodel.core.arch import check_alpha, check_resolution
    from costmodel.search import accuracy as acc

    a, r = check_alpha(alpha), check_resolution(resolution)
    if not kwargs.get("allow_far") and kwargs.get("variant", BASE_VARIANT) == BASE_VARIANT:
        acc.predict(a, r)  # raises the one-line 'far outside the published range' error
    frame = points(objectives, configs=[(a, r)], dropna=False, **kwargs)
    rec = frame.to_dict("records")[0]
    return {str(k): (None if isinstance(v, float) and math.isnan(v) else
                v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
