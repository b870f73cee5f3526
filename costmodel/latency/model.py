"""A latency model fitted per layer type on measured latency (issue #4).

Every layer ``l`` of a configuration has three terms, taken from the engine's own counting
functions (vectorized like :mod:`costmodel.core.sweep`, so a whole grid costs one pass over the layers):

* compute ``M_l``: its mult-adds (paper convention: conv/FC weights) times the batch;
* memory traffic ``B_l``: bytes of its weights (fp32) plus its input and output activations
  (fp32, times the batch): what a layer must at least read and write once;
* a fixed cost (one launch / dispatch of the layer).

Each layer type ``t`` (Conv 3x3, Conv DW 3x3, Conv 1x1, Avg Pool, FC) has its own coefficients,
so e.g. a depthwise conv may reach a far lower share of peak than a 1x1 conv. Two forms:

* ``roofline`` (default): ``T = sum_l max(a_t * M_l, b_t * B_l) + c_t`` -- each layer is bound
  either by compute (``1/a_t`` is the type's effective mult-adds/s) or by memory (``1/b_t`` its
  effective bytes/s), plus a fixed cost. Fitted with ``scipy.optimize.least_squares`` (log
  parameters, so every rate stays positive) from the ``sum`` fit as a start.
* ``sum``: ``T = sum_l a_t * M_l + b_t * B_l + c_t``: linear, fitted with ``scipy.optimize.nnls``.

Options: ``stat`` picks the measured figure fitted (``median`` per pass, ``min``, or ``cpu``: process
CPU time per call); ``across`` how a config's repeated passes combine (``median``/``min``, see
:func:`costmodel.io.latency_data.latency_table`); ``pad`` > 1 counts the compute term with channels
rounded up to that multiple (16 = AVX-512 fp32 lanes), which captures kernels that waste lanes on
widths like 12 or 20 (alpha 0.375, 0.625).

Both minimize *relative* error (rows scaled by 1/measured), the quantity the +/-10% target is
about. The fixed costs of all types are summed over the same layer count in every config of one
variant, so only their total is determined by such data; nnls picks one split and predictions do
not depend on which.

Held-out evaluation (:func:`evaluate`) fits on some configurations and predicts the others; it
reports the share within +/-10% of measured beside a baseline ``T = k * mult-adds`` fitted on the
same training set. Split ``paper`` holds out the 16 paper configs (alpha 0.25..1 x 128..224) and
trains on the rest of the measured grid; ``loo`` predicts each config from all the others;
``random`` holds out a seeded fraction.

The roofline *bound* of a configuration (:func:`roofline_bound_ms`) uses the hardware limits
measured on the device (``costmodel bench --roofline``: fp32 matmul GFLOP/s, copy GB/s):
``sum_l max(2 M_l / peak_flops, B_l / bandwidth)``, the time no backend can beat if layers run
one after another, so ``measured / bound`` says how far a backend is from the hardware limit.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from costmodel.core.arch import (
    check_alpha,
    check_choice,
    check_resolution,
    get_description,
)
from costmodel.core.conventions import get_convention
from costmodel.core.engine import count_layer, padded_mult_adds, traffic_bytes
from costmodel.core.kinds import MOBILENET_TYPES, LayerType, type_name
from costmodel.core.sweep import resolve_arrays
from costmodel.errors import CostModelError
from costmodel.io.files import files_stamp
from costmodel.io.grids import PAPER_CONFIGS

if TYPE_CHECKING:
    import pandas as pd

FORMS = ("roofline", "sum")
STATS = ("median", "min", "cpu")  # which measured figure a model fits: median_ms, min_ms, cpu_ms
SPLITS = ("paper", "loo", "random")
WITHIN = 0.10
AUTO = "auto"  # form/stat/pad chosen by leave-one-out on the training configs (select_settings)
PADS = (1, 8, 16)  # candidate channel multiples of the compute term: exact, AVX2, AVX-512 fp32


# ------------------------------------------------------------------------------------------
# Per-layer features, vectorized over a list of configs
# ------------------------------------------------------------------------------------------
@dataclass
class LayerFeatures:
    """Per-layer terms of N configs: arrays of shape (L, N); ``types`` has L entries."""

    names: list[str]
    types: list[LayerType]
    mult_adds: np.ndarray
    bytes: np.ndarray
    alphas: np.ndarray
    resolutions: np.ndarray
    exact_mult_adds: np.ndarray | None = None  # (L, N) when ``mult_adds`` are channel-padded

    @property
    def total_mult_adds(self) -> np.ndarray:
        """Total (unpadded) mult-adds per config: what the baseline scales."""
        ma = self.mult_adds if self.exact_mult_adds is None else self.exact_mult_adds
        return ma.sum(axis=0)

    def subset(self, idx: np.ndarray) -> LayerFeatures:
        """The same layers for the configs ``idx``."""
        return LayerFeatures(self.names, self.types, self.mult_adds[:, idx], self.bytes[:, idx],
                             self.alphas[idx], self.resolutions[idx],
                             None if self.exact_mult_adds is None else self.exact_mult_adds[:, idx])


def layer_features(alphas: Sequence[Any] | np.ndarray, resolutions: Sequence[Any] | np.ndarray, *,
                   variant: str = "mobilenet_v1", rounding: str = "int", classes: int = 1000,
                   spec: Any = None, batch: int = 1, pad: int = 1) -> LayerFeatures:
    """Mult-adds and bytes of every layer for each (alphas[i], resolutions[i]) pair, counted by
    the engine's counting functions (paper convention) on numpy arrays.

    ``pad`` > 1: the compute term counts each layer with its channel counts rounded up to a
    multiple of ``pad`` (what a kernel that works on ``pad``-wide vector registers computes;
    e.g. 16 fp32 lanes of AVX-512), still with the engine's counting function; bytes stay exact."""
    if isinstance(pad, bool) or not isinstance(pad, int | np.integer) or pad < 1:
        raise CostModelError(f"pad {pad!r} is out of range; allowed: an integer >= 1")
    a = np.asarray([check_alpha(v) for v in np.atleast_1d(alphas)], dtype=np.float64)
    r = np.asarray([check_resolution(v) for v in np.atleast_1d(resolutions)], dtype=np.int64)
    if a.shape != r.shape or a.size == 0:
        raise CostModelError(f"need one resolution per alpha, got {a.size} alphas and {r.size} "
                             f"resolutions; allowed: equal, non-empty lists")
    conv = get_convention("paper")
    layers = resolve_arrays(a, r, variant=variant, rounding=rounding,
                            classes=classes + conv.extra_classes, desc=get_description(spec))
    zeros = np.zeros(a.shape, dtype=np.float64)
    ma, by, exact = [], [], []
    for layer in layers:
        c = count_layer(layer, conv)
        compute = padded_mult_adds(layer, conv, pad) if pad > 1 else c.mult_adds
        ma.append(zeros + compute * batch)
        exact.append(zeros + c.mult_adds * batch)
        by.append(zeros + traffic_bytes(layer, c.params, batch))
    return LayerFeatures([lay.name for lay in layers], [lay.type for lay in layers],
                         np.vstack(ma), np.vstack(by), a, r,
                         np.vstack(exact) if pad > 1 else None)


# ------------------------------------------------------------------------------------------
# The model
# ------------------------------------------------------------------------------------------
@dataclass
class LatencyModel:
    """Fitted coefficients per layer type (keyed by :class:`~costmodel.core.kinds.LayerType`), in
    seconds: ``a`` per mult-add, ``b`` per byte, ``c`` per layer. ``predict*`` return
    milliseconds."""

    form: str
    coef: dict[LayerType, dict[str, float]]
    variant: str = "mobilenet_v1"
    rounding: str = "int"
    classes: int = 1000
    spec: Any = None
    batch: int = 1
    meta: dict[str, Any] = field(default_factory=dict)
    pad: int = 1  # channel multiple of the compute term (see layer_features)

    def predict_features(self, f: LayerFeatures) -> np.ndarray:
        return _predict(self.form, self.coef, f) * 1e3

    def predict_configs(self, alphas: Sequence[Any], resolutions: Sequence[Any]) -> np.ndarray:
        """Predicted ms for each (alphas[i], resolutions[i])."""
        return self.predict_features(self.features(alphas, resolutions))

    def predict(self, alpha: Any, resolution: Any) -> float:
        return float(self.predict_configs([alpha], [resolution])[0])

    def predict_grid(self, alphas: Sequence[Any], resolutions: Sequence[Any]) -> np.ndarray:
        """(A, R) array of predicted ms over a grid."""
        aa, rr = np.meshgrid(np.asarray(alphas, dtype=float), np.asarray(resolutions), indexing="ij")
        return self.predict_configs(aa.ravel(), rr.ravel()).reshape(aa.shape)

    def features(self, alphas: Sequence[Any], resolutions: Sequence[Any]) -> LayerFeatures:
        return layer_features(alphas, resolutions, variant=self.variant, rounding=self.rounding,
                              classes=self.classes, spec=self.spec, batch=self.batch, pad=self.pad)

    def rates(self) -> list[dict[str, Any]]:
        """Readable coefficients: effective GMAC/s, GB/s and fixed microseconds per layer type.
        Effective means as fitted: where a type's time hardly varies with a term the rate can be
        far from any hardware figure (the sum over layers is what the data pins down)."""
        out = []
        for t, c in self.coef.items():
            out.append({"type": t,  # None: the term is zero (never binds)
                        "gmacs": (1e-9 / c["a"]) if c["a"] > 0 else None,
                        "gbs": (1e-9 / c["b"]) if c["b"] > 0 else None,
                        "fixed_us": c["c"] * 1e6})
        return out


def _type_masks(f: LayerFeatures, types: Sequence[LayerType]) -> dict[LayerType, np.ndarray]:
    return {t: np.asarray([x == t for x in f.types], dtype=bool) for t in types}


def _predict(form: str, coef: Mapping[LayerType, Mapping[str, float]],
             f: LayerFeatures) -> np.ndarray:
    """Seconds per config: one broadcast over the (L, N) layer arrays."""
    missing = sorted(map(type_name, set(f.types) - set(coef)))
    if missing:
        raise CostModelError(f"layer type {missing[0]!r} was not in the fitted data; allowed "
                             f"types: {', '.join(map(type_name, coef))}")
    a = np.asarray([coef[t]["a"] for t in f.types])[:, None]
    b = np.asarray([coef[t]["b"] for t in f.types])[:, None]
    c = np.asarray([coef[t]["c"] for t in f.types])[:, None]
    comp, mem = a * f.mult_adds, b * f.bytes
    per_layer = np.maximum(comp, mem) if form == "roofline" else comp + mem
    return (per_layer + c).sum(axis=0)


def _design(f: LayerFeatures, types: Sequence[LayerType]) -> np.ndarray:
    """Columns [M_t, B_t, N_t] per type for the linear (sum) form: shape (N, 3 * len(types))."""
    masks = _type_masks(f, types)
    cols = []
    for t in types:
        m = masks[t]
        cols += [f.mult_adds[m].sum(axis=0), f.bytes[m].sum(axis=0),
                 np.full(f.mult_adds.shape[1], float(m.sum()))]
    return np.column_stack(cols)


def _unpack(theta: np.ndarray, types: Sequence[LayerType]) -> dict[LayerType, dict[str, float]]:
    return {t: {"a": float(theta[3 * i]), "b": float(theta[3 * i + 1]),
                "c": float(theta[3 * i + 2])} for i, t in enumerate(types)}


def fit(f: LayerFeatures, measured_ms: Sequence[float] | np.ndarray, *, form: str = "roofline",
        variant: str = "mobilenet_v1", rounding: str = "int", classes: int = 1000,
        spec: Any = None, batch: int = 1, pad: int = 1,
        start: Mapping[LayerType, Mapping[str, float]] | None = None) -> LatencyModel:
    """Fit the per-type coefficients to measured milliseconds (minimizing relative error).

    ``start`` (roofline form): coefficients of an earlier fit on nearly the same data (e.g. the
    fit on all training configs when one is left out); the optimizer then starts from them alone
    instead of from the three cold starts, which is what makes leave-one-out model selection
    cheap. Without it the result does not depend on any earlier fit."""
    from scipy.optimize import nnls

    check_choice("form", form, FORMS)
    y = np.asarray(measured_ms, dtype=float) / 1e3
    if y.shape != (f.mult_adds.shape[1],) or y.size < 2:
        raise CostModelError(f"need one measured latency per config and at least 2 configs, got "
                             f"{y.size}; allowed: >= 2 measured configs")
    if not np.all(np.isfinite(y)) or (y <= 0).any():
        raise CostModelError("measured latency must be finite and > 0; allowed: positive times")
    # MobileNet's types in network order, then any other type by its name
    types = ([t for t in MOBILENET_TYPES if t in f.types]
             + sorted(set(f.types) - set(MOBILENET_TYPES), key=type_name))
    x = _design(f, types)
    scale = x.max(axis=0)
    scale[scale == 0] = 1.0
    w = 1.0 / y
    theta_s, _ = nnls((x / scale) * w[:, None], y * w)
    theta = theta_s / scale
    coef = _unpack(theta, types)
    if form == "roofline":
        coef = _fit_roofline(f, types, x, theta, y, w, start)
    return LatencyModel(form, coef, variant, rounding, classes, spec, batch,
                        meta={"n_train": int(y.size), "types": types}, pad=pad)


def _initial_rates(x: np.ndarray, theta: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Start each rate from the linear fit; a zero there becomes a small positive value."""
    init = theta.copy()
    for i in range(k):
        for j in (0, 1):
            q = 3 * i + j
            if init[q] <= 0:
                col = x[:, q]
                init[q] = 1e-3 * float(np.median(y / np.maximum(col, 1))) if col.any() else 1e-15
    return init


def _to_z(th: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Coefficients [a, b, c] per type as the solver's variables: log rates over ``ref``,
    fixed costs over ``ref``."""
    z = np.zeros_like(th)
    z[0::3] = np.log(np.maximum(th[0::3], 1e-15) / ref[0::3])
    z[1::3] = np.log(np.maximum(th[1::3], 1e-15) / ref[1::3])
    z[2::3] = th[2::3] / ref[2::3]
    return z


def _start_points(types: Sequence[LayerType],
                  start: Mapping[LayerType, Mapping[str, float]] | None,
                  init: np.ndarray, ref: np.ndarray, lo: np.ndarray,
                  hi: np.ndarray) -> list[np.ndarray]:
    """The solver's start points: ``start``'s coefficients when it has every type; else the
    linear fit, and every rate made faster/slower (one side of each max binding)."""
    if start is not None and all(t in start for t in types):
        th0 = np.asarray([start[t][c] for t in types for c in ("a", "b", "c")], dtype=float)
        return [np.clip(_to_z(th0, ref), lo + 1e-9, np.minimum(hi, 1e6) - 1e-9)]
    z0 = np.clip(_to_z(init, ref), lo + 1e-9, np.minimum(hi, 1e6) - 1e-9)
    starts = []
    for shift in ((0.0, 0.0), (0.0, -1.0), (-1.0, 0.0)):
        z = z0.copy()
        z[0::3] += shift[0]
        z[1::3] += shift[1]
        starts.append(z)
    return starts


def _fit_roofline(f: LayerFeatures, types: Sequence[LayerType], x: np.ndarray,
                  theta: np.ndarray, y: np.ndarray, w: np.ndarray,
                  start: Mapping[LayerType, Mapping[str, float]] | None,
                  ) -> dict[LayerType, dict[str, float]]:
    """The roofline form by ``scipy.optimize.least_squares`` on log rates (fixed costs linear,
    >= 0), with the exact Jacobian: d pred / d log a_t is the sum of a_t * M_l over the layers of
    type t that are compute-bound (likewise for b_t, memory-bound), d pred / d c_t the layer
    count of type t."""
    from scipy.optimize import least_squares

    k = len(types)
    ti = np.asarray([types.index(t) for t in f.types])
    onehot = (ti[None, :] == np.arange(k)[:, None]).astype(np.float64)  # (K, L)
    counts = onehot.sum(axis=1)
    m_l, b_l = f.mult_adds, f.bytes
    init = _initial_rates(x, theta, y, k)
    ref = np.maximum(init, 1e-15)
    fixed_scale = max(float(np.min(y)) / max(len(f.types), 1), 1e-9)
    ref[2::3] = fixed_scale

    def unpack(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (np.exp(z[0::3]) * ref[0::3], np.exp(z[1::3]) * ref[1::3],
                z[2::3] * ref[2::3])  # fixed costs: >= 0 (bounds), may reach 0

    def terms(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, b, c = unpack(z)
        return a[ti][:, None] * m_l, b[ti][:, None] * b_l, c

    def resid(z: np.ndarray) -> np.ndarray:
        comp, mem, c = terms(z)
        return (np.maximum(comp, mem).sum(axis=0) + counts @ c) * w - 1.0

    def jac(z: np.ndarray) -> np.ndarray:
        comp, mem, _ = terms(z)
        bound = comp >= mem
        out = np.empty((w.size, 3 * k))
        out[:, 0::3] = (onehot @ np.where(bound, comp, 0.0)).T * w[:, None]
        out[:, 1::3] = (onehot @ np.where(bound, 0.0, mem)).T * w[:, None]
        out[:, 2::3] = (counts * ref[2::3])[None, :] * w[:, None]
        return out

    lo = np.full(3 * k, -40.0)
    hi = np.full(3 * k, 40.0)
    lo[2::3] = 0.0
    hi[2::3] = np.inf
    starts = _start_points(types, start, init, ref, lo, hi)
    best = None
    for z in starts:
        res = least_squares(resid, z, jac=jac, method="trf", x_scale="jac", max_nfev=400,
                            bounds=(lo, hi))
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    a, b, c = unpack(best.x)
    return {t: {"a": float(a[i]), "b": float(b[i]), "c": float(c[i])} for i, t in enumerate(types)}


# ------------------------------------------------------------------------------------------
# Measured data -> model, evaluation, roofline bounds
# ------------------------------------------------------------------------------------------
def measured_configs(device_id: str, *, backend: str | None = None, threads: int | None = None,
                     batch: int = 1, variant: str = "mobilenet_v1", precision: str = "float32",
                     stat: str = "median", across: str = "median",
                     data_dir: str | Path | None = None, spec: Any = None) -> pd.DataFrame:
    """One row per measured (alpha, resolution) of a device/backend (least disturbed of repeated
    measurements), with the columns of latency_data.latency_table, rounding/classes, and ``y_ms``:
    the figure ``stat`` names (median_ms, min_ms or cpu_ms). ``spec``: the network whose rows
    are read (None: MobileNet-V1; no other network's rows are mixed in)."""
    from costmodel.core.arch import network_key, network_option
    from costmodel.io import latency_data

    check_choice("stat", stat, STATS)
    frame = latency_data.latency_table(device_id, backend=backend, threads=threads, batch=batch,
                                       precision=precision, variant=variant, across=across,
                                       data_dir=data_dir, network=network_key(spec),
                                       measure_with=network_option(spec))
    col = f"{stat}_ms"
    if col not in frame or frame[col].isna().all():
        raise CostModelError(f"stat {stat!r} has no data for device {device_id!r} (published "
                             f"figures are medians only); allowed: median")
    full = latency_data.load_latency(device_id, data_dir=data_dir)
    frame["rounding"] = str(full["rounding"].iloc[0])
    frame["classes"] = int(full["classes"].iloc[0])
    frame["y_ms"] = frame[col]
    return frame.sort_values(["alpha", "resolution"]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# Model selection: stat, pad and form by leave-one-out on the training configs only
# ------------------------------------------------------------------------------------------
@dataclass
class Selection:
    """The fit settings chosen by leave-one-out on the configs a model is trained on.

    ``within``/``mape``: the inner leave-one-out share within +/-10% and mean |relative error|
    of the chosen settings over the ``n`` training configs; ``scores``: every candidate's."""

    form: str
    stat: str
    pad: int
    within: float
    mape: float
    n: int
    scores: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        return {"form": self.form, "stat": self.stat, "pad": self.pad,
                "inner_within": self.within, "inner_mape": self.mape, "n_inner": self.n}


def check_setting(name: str, value: Any) -> Any:
    """``form``/``stat``/``pad`` as given (``auto``: chosen by :func:`select_settings`)."""
    if value == AUTO:
        return AUTO
    if name == "form":
        return check_choice("form", value, FORMS)
    if name == "stat":
        return check_choice("stat", value, STATS)
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise CostModelError(f"pad {value!r} is out of range; allowed: an integer >= 1 or "
                             f"'{AUTO}'")
    return int(value)


def auto_stats(frame: pd.DataFrame, threads: Any) -> list[str]:
    """The measured figures a selection may fit: those present (finite, > 0) for every config,
    ``cpu`` only at one thread (process CPU time sums the threads' time: it is a latency only
    when one thread does the work; at 2 threads it is about twice the wall time)."""
    out = []
    for s in STATS:
        col = frame.get(f"{s}_ms")
        if col is None:
            continue
        v = col.to_numpy(dtype=float)
        if not (np.isfinite(v).all() and (v > 0).all()):
            continue
        if s == "cpu" and _num(threads) != 1:
            continue
        out.append(s)
    return out


def loo_predictions(f: LayerFeatures, measured_ms: np.ndarray, *, form: str) -> np.ndarray:
    """Leave-one-out predictions (ms) over the configs of ``f``: config i predicted by a fit on
    all the others. Roofline fits start from the fit on all of ``f`` (see :func:`fit`'s
    ``start``; a cold fit agrees to about 1e-5 relative on this project's data)."""
    y = np.asarray(measured_ms, dtype=float)
    n = y.size
    full = fit(f, y, form=form) if form == "roofline" else None
    out = np.empty(n)
    idx = np.arange(n)
    for i in range(n):
        train = np.delete(idx, i)
        m = fit(f.subset(train), y[train], form=form,
                start=None if full is None else full.coef)
        out[i] = m.predict_features(f.subset(idx[i:i + 1]))[0]
    return out


def select_settings(alphas: Sequence[Any] | np.ndarray, resolutions: Sequence[Any] | np.ndarray,
                    measured: Mapping[str, Sequence[float] | np.ndarray], *,
                    forms: Sequence[str] = FORMS, pads: Sequence[int] = PADS,
                    variant: str = "mobilenet_v1", rounding: str = "int", classes: int = 1000,
                    spec: Any = None, batch: int = 1) -> Selection:
    """Choose (form, stat, pad) by leave-one-out over the configs given -- and only those: a
    held-out evaluation passes its training configs, so the choice never sees held-out data.

    ``measured``: {stat: measured ms per config} for the stats allowed (see :func:`auto_stats`).
    Candidates: every form x stat x pad; each is scored by the share of its leave-one-out
    predictions within +/-10% of that stat's measured figure (the target quantity), ties broken
    by the lower mean |relative error|, then by the order of the candidates (form, stat and pad
    in the order given: the plain model first).

    Why these candidates (the priors; the data decide among them):

    * ``stat``: ``median`` is the typical run; ``min`` is the standard robust statistic for
      timing on a shared, noisy machine -- interference only ever adds time, so the fastest run
      is the least disturbed estimate of the work itself (the advice of Python's ``timeit``
      and of benchmarking practice); ``cpu`` (process CPU time, one thread only) leaves out time
      the process spent descheduled.
    * ``pad``: a vectorized fp32 kernel works on whole SIMD registers, so a layer with channels
      not a multiple of the lane count computes as if padded up: 8 lanes for AVX2 (256-bit),
      16 for AVX-512 (512-bit); 1 is the exact mult-add count.
    * ``form``: ``roofline`` (each layer bound by compute or memory) or the linear ``sum``.
    """
    a = np.asarray(alphas, dtype=float)
    r = np.asarray(resolutions)
    if not measured:
        raise CostModelError("no measured figure to select from; allowed: median, min or cpu")
    for s in measured:
        check_choice("stat", s, STATS)
    forms = [check_choice("form", x, FORMS) for x in forms]
    pads = [check_setting("pad", p) for p in pads]
    if a.size < 3:
        raise CostModelError(f"model selection needs at least 3 configs to leave one out, got "
                             f"{a.size}; allowed: explicit form, stat and pad")
    scores: list[dict[str, Any]] = []
    for pad in pads:
        f = layer_features(a, r, variant=variant, rounding=rounding, classes=classes, spec=spec,
                           batch=batch, pad=pad)
        for form in forms:
            for stat, ys in measured.items():
                y = np.asarray(ys, dtype=float)
                err = np.abs(loo_predictions(f, y, form=form) / y - 1)
                scores.append({"form": form, "stat": stat, "pad": pad,
                               "within": float((err <= WITHIN + 1e-12).mean()),
                               "mape": float(err.mean())})
    order = {(x, s, p): i for i, (x, s, p) in enumerate(
        (x, s, p) for x in forms for s in measured for p in pads)}
    best = min(scores, key=lambda c: (-c["within"], round(c["mape"], 9),
                                      order[(c["form"], c["stat"], c["pad"])]))
    return Selection(best["form"], best["stat"], best["pad"], best["within"], best["mape"],
                     int(a.size), scores)


def _select_or_fixed(a: np.ndarray, r: np.ndarray, ys: Mapping[str, np.ndarray],
                     form: Any, stat: Any, pad: Any, **kw: Any) -> Selection | None:
    """A Selection over the ``auto`` settings (the others fixed), or None when none is auto."""
    if AUTO not in (form, stat, pad):
        return None
    return select_settings(a, r, ys if stat == AUTO else {stat: ys[stat]},
                           forms=FORMS if form == AUTO else (form,),
                           pads=PADS if pad == AUTO else (pad,), **kw)


def _data_stamp(device_id: str, data_dir: str | Path | None) -> tuple[Any, ...]:
    """Path, mtime and size of the files a device's latency is read from: the cache key of a
    fit, so a file `costmodel bench` rewrites is fitted again and an unchanged one is not."""
    from costmodel.io import latency_data

    files = (latency_data.latency_path(device_id, data_dir), Path(latency_data.PUBLISHED_CSV))
    return (device_id, None if data_dir is None else str(Path(data_dir).resolve()),
            *files_stamp(files))


def fit_device(device_id: str, *, backend: str | None = None, threads: int | None = None,
               batch: int = 1, form: str = AUTO, variant: str = "mobilenet_v1",
               precision: str = "float32", stat: str = AUTO, pad: int | str = AUTO,
               across: str = "median", data_dir: str | Path | None = None) -> LatencyModel:
    """Fit on every measured config of one device/backend/threads/batch.

    ``form``, ``stat`` and ``pad`` default to ``auto``: chosen by leave-one-out over the
    device's configs (:func:`select_settings`; ``meta["selection"]`` says what was chosen and its
    leave-one-out score). The result is cached per version of the data files (path, mtime,
    size), so only the first call per data version pays for the selection."""
    from costmodel.io import latency_data

    check_device_id = latency_data.check_device_id
    check_device_id(device_id)
    key = (_data_stamp(device_id, data_dir), backend, threads, batch, check_setting("form", form),
           variant, precision, check_setting("stat", stat), check_setting("pad", pad), across)
    return copy.deepcopy(_fit_device_cached(*key))


@lru_cache(maxsize=32)
def _fit_device_cached(stamp: tuple[Any, ...], backend: str | None, threads: int | None,
                       batch: int, form: str, variant: str, precision: str, stat: str,
                       pad: Any, across: str) -> LatencyModel:
    device_id, data_dir = stamp[0], stamp[1]
    data = measured_configs(device_id, backend=backend, threads=threads, batch=batch,
                            variant=variant, precision=precision,
                            stat="median" if stat == AUTO else stat, across=across,
                            data_dir=data_dir)
    rounding, classes = str(data["rounding"].iloc[0]), int(data["classes"].iloc[0])
    a, r = data["alpha"].to_numpy(float), data["resolution"].to_numpy(int)
    thr = _num(data["threads"].iloc[0])
    stats = auto_stats(data, thr) if stat == AUTO else [stat]
    ys = {s: data[f"{s}_ms"].to_numpy(float) for s in stats}
    kw: dict[str, Any] = {"variant": variant, "rounding": rounding, "classes": classes, "batch": batch}
    sel = _select_or_fixed(a, r, ys, form, stat, pad, **kw)
    if sel is not None:
        form, stat, pad = sel.form, sel.stat, sel.pad
    y = ys[stat]
    f = layer_features(a, r, pad=pad, **kw)
    model = fit(f, y, form=form, pad=pad, **kw)
    model.meta.update(device_id=device_id, backend=str(data["backend"].iloc[0]),
                      threads=thr, precision=precision, stat=stat, pad=pad, across=across,
                      published=bool(data["published"].iloc[0]),
                      k_baseline=baseline_k(f.total_mult_adds, y),
                      selection=None if sel is None else sel.summary())
    return model


def _num(x: Any) -> Any:
    """A plain int (or None) from a pandas/numpy scalar thread count."""
    try:
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else int(x)
    except (TypeError, ValueError):
        return None


def baseline_k(total_mult_adds: np.ndarray, measured_ms: np.ndarray) -> float:
    """k of ``T = k * mult-adds`` minimizing relative error: k = sum(x/y) / sum((x/y)^2)."""
    q = np.asarray(total_mult_adds, dtype=float) / np.asarray(measured_ms, dtype=float)
    return float(q.sum() / (q * q).sum())


@dataclass
class Evaluation:
    device_id: str
    backend: str
    threads: Any
    form: str  # the form used, or "auto" when folds chose different ones
    split: str
    stat: str  # likewise
    n_train: int
    n_test: int
    within: float  # share of test predictions within +/-10%
    baseline_within: float
    mape: float  # mean |pred - meas| / meas, model
    baseline_mape: float
    max_err: float
    rows: list[dict[str, Any]]  # per test config: alpha, resolution, measured_ms, predicted_ms, ...
    pad: Any = 1  # likewise
    # One per fit (fold) whose settings were chosen on its training configs: form, stat, pad,
    # inner_within, inner_mape, n_inner; empty when all settings were given.
    selections: list[dict[str, Any]] = field(default_factory=list)

    def selected(self) -> list[dict[str, Any]]:
        """Distinct selected settings with how many folds chose each, most frequent first;
        inner scores averaged over those folds."""
        groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        for s in self.selections:
            groups.setdefault((s["form"], s["stat"], s["pad"]), []).append(s)
        out = [{"form": k[0], "stat": k[1], "pad": k[2], "folds": len(v),
                "inner_within": float(np.mean([s["inner_within"] for s in v])),
                "inner_mape": float(np.mean([s["inner_mape"] for s in v])),
                "n_inner": int(v[0]["n_inner"])} for k, v in groups.items()]
        return sorted(out, key=lambda d: -d["folds"])

    def summary(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("device_id", "backend", "threads", "form", "split",
                                             "stat", "pad", "n_train", "n_test", "within",
                                             "baseline_within", "mape", "baseline_mape",
                                             "max_err")}
        out["selected"] = self.selected()
        return out


def _splits(alphas: np.ndarray, res: np.ndarray, split: str, *, test_fraction: float,
            seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    n = alphas.size
    idx = np.arange(n)
    if split == "paper":
        test = np.asarray([(round(float(a), 6), int(r)) in PAPER_CONFIGS
                           for a, r in zip(alphas, res, strict=True)])
        if test.all() or not test.any():
            raise CostModelError(f"split 'paper' needs measured configs both inside and outside "
                                 f"the 16 paper configs (found {int(test.sum())} of {n} inside); "
                                 f"allowed: --split loo or random")
        return [(idx[~test], idx[test])]
    if split == "loo":
        return [(np.delete(idx, i), idx[i:i + 1]) for i in range(n)]
    if not 0 < test_fraction < 1:
        raise CostModelError(f"test fraction {test_fraction!r} is out of range; allowed: 0 < f < 1")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    k = min(max(1, round(n * test_fraction)), n - 2)
    return [(np.sort(perm[k:]), np.sort(perm[:k]))]


def _held_out(a: np.ndarray, r: np.ndarray, ys: Mapping[str, np.ndarray],
              splits: Sequence[tuple[np.ndarray, np.ndarray]], form: str, stat: str, pad: Any,
              kw: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                           list[tuple[str, str, int]], list[dict[str, Any]]]:
    """Fit on each split's training configs and predict its test configs: the measured figure
    used, the prediction and the mult-adds baseline per config (NaN where never tested), the
    (form, stat, pad) used per split and the summaries of the ones chosen by selection."""
    feats: dict[int, LayerFeatures] = {}
    y_used, pred, base = (np.full(a.shape, np.nan) for _ in range(3))
    used: list[tuple[str, str, int]] = []
    selections: list[dict[str, Any]] = []
    for train, test in splits:
        sel = _select_or_fixed(a[train], r[train], {s: v[train] for s, v in ys.items()},
                               form, stat, pad, **kw)
        form_i, stat_i, pad_i = ((sel.form, sel.stat, sel.pad) if sel is not None
                                 else (form, stat, int(pad)))
        if sel is not None:
            selections.append(sel.summary())
        used.append((form_i, stat_i, pad_i))
        if pad_i not in feats:
            feats[pad_i] = layer_features(a, r, pad=pad_i, **kw)
        f, y = feats[pad_i], ys[stat_i]
        model = fit(f.subset(train), y[train], form=form_i, pad=pad_i, **kw)
        pred[test] = model.predict_features(f.subset(test))
        base[test] = baseline_k(f.total_mult_adds[train], y[train]) * f.total_mult_adds[test]
        y_used[test] = y[test]
    return y_used, pred, base, used, selections


def evaluate(device_id: str, *, backend: str | None = None, threads: int | None = None,
             batch: int = 1, form: str = AUTO, split: str | None = None,
             variant: str = "mobilenet_v1", precision: str = "float32", stat: str = AUTO,
             pad: int | str = AUTO, across: str = "median", test_fraction: float = 0.3,
             seed: int = 0, data_dir: str | Path | None = None, spec: Any = None) -> Evaluation:
    """Held-out evaluation. ``split`` defaults to ``paper`` when the device has configs outside
    the paper's 16, else ``loo``.

    Nested: settings given as ``auto`` are chosen per fit by :func:`select_settings` on that
    fit's training configs alone (leave-one-out inside them); the held-out configs are only
    predicted, then compared with the measured figure of the chosen stat. The baseline
    ``k * mult-adds`` is fitted on the same training figures."""
    form, stat, pad = (check_setting("form", form), check_setting("stat", stat),
                       check_setting("pad", pad))
    data = measured_configs(device_id, backend=backend, threads=threads, batch=batch,
                            variant=variant, precision=precision,
                            stat="median" if stat == AUTO else stat, across=across,
                            data_dir=data_dir, spec=spec)
    a = data["alpha"].to_numpy(float)
    r = data["resolution"].to_numpy(int)
    thr = _num(data["threads"].iloc[0])
    stats = auto_stats(data, thr) if stat == AUTO else [stat]
    if not stats:
        raise CostModelError(f"device {device_id!r} has no measured figure for every config; "
                             f"allowed: --stat median, min or cpu where measured")
    ys = {s: data[f"{s}_ms"].to_numpy(float) for s in stats}
    if split is None:
        inside = sum((round(float(x), 6), int(z)) in PAPER_CONFIGS for x, z in zip(a, r, strict=True))
        split = "paper" if 0 < inside < len(a) - 4 else "loo"
    check_choice("split", split, SPLITS)
    rounding, classes = str(data["rounding"].iloc[0]), int(data["classes"].iloc[0])
    kw: dict[str, Any] = {"variant": variant, "rounding": rounding, "classes": classes,
                          "batch": batch, "spec": spec}
    splits = list(_splits(a, r, split, test_fraction=test_fraction, seed=seed))
    y_used, pred, base, used, selections = _held_out(a, r, ys, splits, form, stat, pad, kw)
    n_train = max((int(train.size) for train, _ in splits), default=0)
    tested = ~np.isnan(pred)
    err = (pred - y_used) / y_used
    berr = (base - y_used) / y_used
    per_row = {int(i): u for (_, test), u in zip(splits, used, strict=True) for i in test}
    rows = [{"alpha": float(a[i]), "resolution": int(r[i]), "measured_ms": float(y_used[i]),
             "predicted_ms": float(pred[i]), "error_pct": 100 * float(err[i]),
             "baseline_ms": float(base[i]), "baseline_error_pct": 100 * float(berr[i]),
             "form": per_row[int(i)][0], "stat": per_row[int(i)][1], "pad": per_row[int(i)][2]}
            for i in np.flatnonzero(tested)]
    abs_err, abs_base = np.abs(err[tested]), np.abs(berr[tested])

    def one(j: int) -> Any:
        vals = {u[j] for u in used}
        return vals.pop() if len(vals) == 1 else AUTO

    return Evaluation(device_id, str(data["backend"].iloc[0]), thr, one(0), split, one(1),
                      n_train, int(tested.sum()), float((abs_err <= WITHIN).mean()),
                      float((abs_base <= WITHIN).mean()), float(abs_err.mean()),
                      float(abs_base.mean()), float(abs_err.max()), rows, pad=one(2),
                      selections=selections)


def roofline_bound_ms(alphas: Sequence[Any], resolutions: Sequence[Any], *, peak_gflops: float,
                      bandwidth_gbs: float, variant: str = "mobilenet_v1", rounding: str = "int",
                      classes: int = 1000, spec: Any = None, batch: int = 1) -> np.ndarray:
    """Per config: sum over layers of max(2 * mult-adds / peak, bytes / bandwidth), in ms."""
    if not (peak_gflops > 0 and bandwidth_gbs > 0):
        raise CostModelError(f"peak {peak_gflops!r} GFLOP/s and bandwidth {bandwidth_gbs!r} GB/s "
                             f"must be > 0; allowed: positive numbers")
    f = layer_features(alphas, resolutions, variant=variant, rounding=rounding, classes=classes,
                       spec=spec, batch=batch)
    t = np.maximum(2 * f.mult_adds / (peak_gflops * 1e9), f.bytes / (bandwidth_gbs * 1e9))
    return t.sum(axis=0) * 1e3


def hardware_limits(device_id: str, threads: Any, device_type: str = "cpu",
                    data_dir: str | Path | None = None) -> dict[str, Any] | None:
    """The stored limits of a device for a thread count, or None if never measured."""
    from costmodel.io import latency_data

    if device_id not in latency_data.device_ids(data_dir) or device_id in latency_data.PUBLISHED_NAMES:
        return None
    limits = latency_data.load_hardware(device_id, data_dir)["limits"]
    try:
        return limits.get(f"{device_type}:{int(threads)}")
    except (TypeError, ValueError):
        return None
