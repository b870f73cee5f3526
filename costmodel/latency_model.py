"""A latency model fitted per layer type on measured latency (issue #4).

Every layer ``l`` of a configuration has three terms, taken from the engine's own counting
functions (vectorized like :mod:`costmodel.sweep`, so a whole grid costs one pass over the layers):

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
:func:`costmodel.latency_data.latency_table`); ``pad`` > 1 counts the compute term with channels
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

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from costmodel.arch import (
    ROUNDING_RULES,
    check_alpha,
    check_choice,
    check_resolution,
    expand,
    get_description,
    min_alpha,
    resolve_shapes,
)
from costmodel.conventions import get_convention
from costmodel.engine import BYTES_FP32, count_layer, layer_type
from costmodel.errors import CostModelError

if TYPE_CHECKING:
    import pandas as pd

FORMS = ("roofline", "sum")
STATS = ("median", "min", "cpu")  # which measured figure a model fits: median_ms, min_ms, cpu_ms
SPLITS = ("paper", "loo", "random")
TYPES = ("Conv 3x3", "Conv DW 3x3", "Conv 1x1", "Avg Pool", "FC")
PAPER_CONFIGS = {(a, r) for a in (0.25, 0.5, 0.75, 1.0) for r in (128, 160, 192, 224)}
WITHIN = 0.10


# ------------------------------------------------------------------------------------------
# Per-layer features, vectorized over a list of configs
# ------------------------------------------------------------------------------------------
@dataclass
class LayerFeatures:
    """Per-layer terms of N configs: arrays of shape (L, N); ``types`` has L entries."""

    names: list[str]
    types: list[str]
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
    check_choice("rounding", rounding, list(ROUNDING_RULES))
    conv = get_convention("paper")
    desc = get_description(spec)
    specs = expand(desc, variant)
    layers = resolve_shapes(specs, a, r, rounding, classes + conv.extra_classes,
                            desc.input_channels, desc.input_scale)
    zeros = np.zeros(a.shape, dtype=np.float64)
    ma, by, exact = [], [], []
    for layer in layers:
        if (np.asarray(layer.out_channels) < 1).any():
            raise CostModelError(f"alpha {a.min():g} gives layer {layer.name} 0 channels under "
                                 f"rounding {rounding!r}; allowed: alpha >= "
                                 f"{min_alpha(specs, rounding):.6g}")
        c = count_layer(layer, conv)
        if pad > 1:
            padded = dataclasses.replace(layer, in_channels=-(-layer.in_channels // pad) * pad,
                                         out_channels=-(-layer.out_channels // pad) * pad)
            compute = count_layer(padded, conv).mult_adds
        else:
            compute = c.mult_adds
        acts = (layer.in_channels * layer.in_size * layer.in_size
                + layer.out_channels * layer.out_size * layer.out_size)
        ma.append(zeros + compute * batch)
        exact.append(zeros + c.mult_adds * batch)
        by.append(zeros + (c.params + acts * batch) * BYTES_FP32)
    return LayerFeatures([lay.name for lay in layers], [layer_type(lay) for lay in layers],
                         np.vstack(ma), np.vstack(by), a, r,
                         np.vstack(exact) if pad > 1 else None)


# ------------------------------------------------------------------------------------------
# The model
# ------------------------------------------------------------------------------------------
@dataclass
class LatencyModel:
    """Fitted coefficients per layer type, in seconds: ``a`` per mult-add, ``b`` per byte,
    ``c`` per layer. ``predict*`` return milliseconds."""

    form: str
    coef: dict[str, dict[str, float]]
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


def _type_masks(f: LayerFeatures, types: Sequence[str]) -> dict[str, np.ndarray]:
    tarr = np.asarray(f.types)
    return {t: tarr == t for t in types}


def _predict(form: str, coef: Mapping[str, Mapping[str, float]], f: LayerFeatures) -> np.ndarray:
    """Seconds per config: one broadcast over the (L, N) layer arrays."""
    missing = sorted(set(f.types) - set(coef))
    if missing:
        raise CostModelError(f"layer type {missing[0]!r} was not in the fitted data; allowed "
                             f"types: {', '.join(coef)}")
    a = np.asarray([coef[t]["a"] for t in f.types])[:, None]
    b = np.asarray([coef[t]["b"] for t in f.types])[:, None]
    c = np.asarray([coef[t]["c"] for t in f.types])[:, None]
    comp, mem = a * f.mult_adds, b * f.bytes
    per_layer = np.maximum(comp, mem) if form == "roofline" else comp + mem
    return (per_layer + c).sum(axis=0)


def _design(f: LayerFeatures, types: Sequence[str]) -> np.ndarray:
    """Columns [M_t, B_t, N_t] per type for the linear (sum) form: shape (N, 3 * len(types))."""
    masks = _type_masks(f, types)
    cols = []
    for t in types:
        m = masks[t]
        cols += [f.mult_adds[m].sum(axis=0), f.bytes[m].sum(axis=0),
                 np.full(f.mult_adds.shape[1], float(m.sum()))]
    return np.column_stack(cols)


def _unpack(theta: np.ndarray, types: Sequence[str]) -> dict[str, dict[str, float]]:
    return {t: {"a": float(theta[3 * i]), "b": float(theta[3 * i + 1]),
                "c": float(theta[3 * i + 2])} for i, t in enumerate(types)}


def fit(f: LayerFeatures, measured_ms: Sequence[float] | np.ndarray, *, form: str = "roofline",
        variant: str = "mobilenet_v1", rounding: str = "int", classes: int = 1000,
        spec: Any = None, batch: int = 1, pad: int = 1) -> LatencyModel:
    """Fit the per-type coefficients to measured milliseconds (minimizing relative error)."""
    from scipy.optimize import least_squares, nnls

    check_choice("form", form, FORMS)
    y = np.asarray(measured_ms, dtype=float) / 1e3
    if y.shape != (f.mult_adds.shape[1],) or y.size < 2:
        raise CostModelError(f"need one measured latency per config and at least 2 configs, got "
                             f"{y.size}; allowed: >= 2 measured configs")
    if not np.all(np.isfinite(y)) or (y <= 0).any():
        raise CostModelError("measured latency must be finite and > 0; allowed: positive times")
    types = [t for t in TYPES if t in f.types] + sorted(set(f.types) - set(TYPES))
    x = _design(f, types)
    scale = x.max(axis=0)
    scale[scale == 0] = 1.0
    w = 1.0 / y
    theta_s, _ = nnls((x / scale) * w[:, None], y * w)
    theta = theta_s / scale
    coef = _unpack(theta, types)
    if form == "roofline":
        # Start each rate from the linear fit; a zero there becomes a small positive value.
        start = theta.copy()
        for i in range(len(types)):
            for j in (0, 1):
                k = 3 * i + j
                if start[k] <= 0:
                    col = x[:, k]
                    start[k] = 1e-3 * float(np.median(y / np.maximum(col, 1))) if col.any() else 1e-15
        ref = np.maximum(start, 1e-15)
        fixed_scale = max(float(np.min(y)) / max(len(f.types), 1), 1e-9)
        ref[2::3] = fixed_scale

        def params(z: np.ndarray) -> dict[str, dict[str, float]]:
            th = np.empty_like(z)
            th[0::3] = np.exp(z[0::3]) * ref[0::3]
            th[1::3] = np.exp(z[1::3]) * ref[1::3]
            th[2::3] = z[2::3] * ref[2::3]  # fixed costs: >= 0 (bounds), may reach 0
            return _unpack(th, types)

        def resid(z: np.ndarray) -> np.ndarray:
            return _predict("roofline", params(z), f) * w - 1.0

        z0 = np.zeros_like(start)
        z0[0::3] = np.log(np.maximum(start[0::3], 1e-15) / ref[0::3])
        z0[1::3] = np.log(np.maximum(start[1::3], 1e-15) / ref[1::3])
        z0[2::3] = start[2::3] / ref[2::3]
        lo = np.full_like(z0, -40.0)
        hi = np.full_like(z0, 40.0)
        lo[2::3] = 0.0
        hi[2::3] = np.inf
        z0 = np.clip(z0, lo + 1e-9, np.minimum(hi, 1e6) - 1e-9)
        best = None
        # Starts: the linear fit, and every rate made faster/slower (one side of each max binding).
        for shift in ((0.0, 0.0), (0.0, -1.0), (-1.0, 0.0)):
            z = z0.copy()
            z[0::3] += shift[0]
            z[1::3] += shift[1]
            res = least_squares(resid, z, method="trf", x_scale="jac", max_nfev=400,
                                bounds=(lo, hi))
            if best is None or res.cost < best.cost:
                best = res
        assert best is not None
        coef = params(best.x)
    return LatencyModel(form, coef, variant, rounding, classes, spec, batch,
                        meta={"n_train": int(y.size), "types": types}, pad=pad)


# ------------------------------------------------------------------------------------------
# Measured data -> model, evaluation, roofline bounds
# ------------------------------------------------------------------------------------------
def measured_configs(device_id: str, *, backend: str | None = None, threads: int | None = None,
                     batch: int = 1, variant: str = "mobilenet_v1", precision: str = "float32",
                     stat: str = "median", across: str = "median",
                     data_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per measured (alpha, resolution) of a device/backend (least disturbed of repeated
    measurements), with the columns of latency_data.latency_table, rounding/classes, and ``y_ms``:
    the figure ``stat`` names (median_ms, min_ms or cpu_ms)."""
    from costmodel import latency_data

    check_choice("stat", stat, STATS)
    frame = latency_data.latency_table(device_id, backend=backend, threads=threads, batch=batch,
                                       precision=precision, variant=variant, across=across,
                                       data_dir=data_dir)
    col = f"{stat}_ms"
    if col not in frame or frame[col].isna().all():
        raise CostModelError(f"stat {stat!r} has no data for device {device_id!r} (published "
                             f"figures are medians only); allowed: median")
    full = latency_data.load_latency(device_id, data_dir=data_dir)
    frame["rounding"] = str(full["rounding"].iloc[0])
    frame["classes"] = int(full["classes"].iloc[0])
    frame["y_ms"] = frame[col]
    return frame.sort_values(["alpha", "resolution"]).reset_index(drop=True)


def fit_device(device_id: str, *, backend: str | None = None, threads: int | None = None,
               batch: int = 1, form: str = "roofline", variant: str = "mobilenet_v1",
               precision: str = "float32", stat: str = "median", pad: int = 1,
               across: str = "median", data_dir: str | Path | None = None) -> LatencyModel:
    """Fit on every measured config of one device/backend/threads/batch."""
    data = measured_configs(device_id, backend=backend, threads=threads, batch=batch,
                            variant=variant, precision=precision, stat=stat, across=across,
                            data_dir=data_dir)
    rounding, classes = str(data["rounding"].iloc[0]), int(data["classes"].iloc[0])
    f = layer_features(data["alpha"].to_numpy(float), data["resolution"].to_numpy(int),
                       variant=variant, rounding=rounding, classes=classes, batch=batch, pad=pad)
    model = fit(f, data["y_ms"].to_numpy(float), form=form, variant=variant, rounding=rounding,
                classes=classes, batch=batch, pad=pad)
    model.meta.update(device_id=device_id, backend=str(data["backend"].iloc[0]),
                      threads=_num(data["threads"].iloc[0]), precision=precision, stat=stat,
                      published=bool(data["published"].iloc[0]),
                      k_baseline=baseline_k(f.total_mult_adds, data["y_ms"].to_numpy(float)))
    return model


def _num(x: Any) -> Any:
    """A plain int (or None) from a pandas/numpy scalar thread count."""
    try:
        return None if x is None or x != x else int(x)
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
    form: str
    split: str
    stat: str
    n_train: int
    n_test: int
    within: float  # share of test predictions within +/-10%
    baseline_within: float
    mape: float  # mean |pred - meas| / meas, model
    baseline_mape: float
    max_err: float
    rows: list[dict[str, Any]]  # per test config: alpha, resolution, measured_ms, predicted_ms, ...

    def summary(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("device_id", "backend", "threads", "form", "split",
                                              "stat", "n_train", "n_test", "within",
                                              "baseline_within",
                                              "mape", "baseline_mape", "max_err")}


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


def evaluate(device_id: str, *, backend: str | None = None, threads: int | None = None,
             batch: int = 1, form: str = "roofline", split: str | None = None,
             variant: str = "mobilenet_v1", precision: str = "float32", stat: str = "median",
             pad: int = 1, across: str = "median", test_fraction: float = 0.3, seed: int = 0,
             data_dir: str | Path | None = None) -> Evaluation:
    """Held-out evaluation. ``split`` defaults to ``paper`` when the device has configs outside
    the paper's 16, else ``loo``."""
    check_choice("form", form, FORMS)
    data = measured_configs(device_id, backend=backend, threads=threads, batch=batch,
                            variant=variant, precision=precision, stat=stat, across=across,
                            data_dir=data_dir)
    a = data["alpha"].to_numpy(float)
    r = data["resolution"].to_numpy(int)
    y = data["y_ms"].to_numpy(float)
    if split is None:
        inside = sum((round(float(x), 6), int(z)) in PAPER_CONFIGS for x, z in zip(a, r, strict=True))
        split = "paper" if 0 < inside < len(a) - 4 else "loo"
    check_choice("split", split, SPLITS)
    rounding, classes = str(data["rounding"].iloc[0]), int(data["classes"].iloc[0])
    f = layer_features(a, r, variant=variant, rounding=rounding, classes=classes, batch=batch,
                       pad=pad)
    pred = np.full(y.shape, np.nan)
    base = np.full(y.shape, np.nan)
    n_train = 0
    for train, test in _splits(a, r, split, test_fraction=test_fraction, seed=seed):
        model = fit(f.subset(train), y[train], form=form, variant=variant, rounding=rounding,
                    classes=classes, batch=batch, pad=pad)
        pred[test] = model.predict_features(f.subset(test))
        base[test] = baseline_k(f.total_mult_adds[train], y[train]) * f.total_mult_adds[test]
        n_train = max(n_train, int(train.size))
    tested = ~np.isnan(pred)
    err = (pred - y) / y
    berr = (base - y) / y
    rows = [{"alpha": float(a[i]), "resolution": int(r[i]), "measured_ms": float(y[i]),
             "predicted_ms": float(pred[i]), "error_pct": 100 * float(err[i]),
             "baseline_ms": float(base[i]), "baseline_error_pct": 100 * float(berr[i])}
            for i in np.flatnonzero(tested)]
    e, be = np.abs(err[tested]), np.abs(berr[tested])
    return Evaluation(device_id, str(data["backend"].iloc[0]), _num(data["threads"].iloc[0]), form,
                      split, stat, n_train, int(tested.sum()), float((e <= WITHIN).mean()),
                      float((be <= WITHIN).mean()), float(e.mean()), float(be.mean()),
                      float(e.max()), rows)


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
    from costmodel import latency_data

    if device_id not in latency_data.device_ids(data_dir) or device_id in latency_data.PUBLISHED_NAMES:
        return None
    limits = latency_data.load_hardware(device_id, data_dir)["limits"]
    try:
        return limits.get(f"{device_type}:{int(threads)}")
    except (TypeError, ValueError):
        return None
