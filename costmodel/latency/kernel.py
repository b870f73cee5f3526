"""A per-kernel latency model that holds at any alpha, resolution and rounding (issue #10).

Why per kernel path: a runtime does not run every layer shape the same way. Measured on this
project's machine (Intel Xeon, AVX-512, onnxruntime 1.32, 1 thread; ``onnxruntime`` session
profiling of the whole network, see README "Alignment steps"): onnxruntime's NCHWc transformer
runs a conv in a blocked layout (16 channels per block on AVX-512, 8 on AVX2, output channels
padded up to the block) only when its input channel count is a multiple of 4; every other conv
falls back to the plain NCHW kernels (a depthwise conv about 3.5x slower per mult-add), and each
switch between the two layouts costs a reorder of the whole activation. So 0.9875-200 under
``--rounding int`` (channels 31, 63, 126, ...) runs at 20 ms where 1.0-200 runs at 10 ms.
torch eager shows no such step.

The model, per layer ``l`` of a config (shapes from the engine's own resolver):

* a *group* ``g = (layer type, path)``: ``path`` is ``blocked`` when the layer's input channel
  count is a multiple of ``align`` (or below it: the image input), else ``plain``; pooling and FC
  layers have one path;
* terms: compute ``M_l`` (mult-adds; on the blocked path with channels padded up to ``block``),
  memory ``B_l`` (weight + input + output bytes, fp32), a cost per channel row, a fixed cost
  per layer, and ``T_l``, the work of a part-filled last block of output channels (a kernel's
  remainder path): on the blocked path the padded mult-adds again where the output channels
  are not a multiple of ``block``, on the plain path the mult-adds of the ``C_out mod block``
  remainder channels. Measured on the Intel Xeon of the README (onnxruntime 1.32 int8, 1
  thread): fresh ``divisible8`` configs with 20-28 layers of 8 (mod 16) channels ran 11-17%
  slower than the model without ``T`` predicted; with both parts, 78.8% of 80 fresh configs
  within +/-10% became 100% (97.5% on a second calibration; fp32: 100% both ways);
* a layout conversion wherever the path changes between consecutive conv layers (and after the
  last blocked conv): its bytes, in and out separately, and a count.

``time = sum_g (a_g * sum M + b_g * sum B + c_g * sum rows + d_g * count + t_g * sum T)
+ r_in * B_in + r_out * B_out + r_c * n + s * M_spill``, linear in its coefficients (all >= 0),
fitted by ``scipy.optimize.nnls`` on relative error. ``M_spill`` is the mult-adds of the layers
whose working set (weight + input + output bytes, counted in fp32) exceeds the rule's
``cache``: such a layer streams from beyond the core's cache and runs slower per mult-add.
Measured on the Intel Xeon of the README (2 MiB L2 per core, torch 2.13 bf16, 1 thread), the
largest configs ran 5-9% slower than the model without it; cross-validation chose a 4 MiB fp32
working set (2 MiB in bf16) on each of three calibrations (torch bf16 twice, onnxruntime int8).
The rule ``(align, block, cache)`` is a choice among :data:`ALIGNS` x :data:`BLOCKS` x
:data:`CACHES`, made by k-fold cross-validation on the training configs only
(:func:`select_rule`); ``align 1`` puts every layer on one path, which is the plain per-type
model, so a backend without steps (torch eager) is served by the same selection, and ``cache 0``
leaves the spill term out (ties go to the rule without it). Fitting is one small least-squares
problem, so a whole selection takes about a second and a prediction is a matrix product.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

import numpy as np

from costmodel.core.arch import (
    ROUNDING_RULES,
    check_alpha,
    check_choice,
    check_resolution,
    get_description,
    network_key,
    network_option,
)
from costmodel.core.conventions import get_convention
from costmodel.core.engine import count_layer, input_bytes, padded_mult_adds, traffic_bytes
from costmodel.core.kinds import CONV_KINDS, Kind, LayerType, parse_type_name, type_name
from costmodel.core.sweep import resolve_arrays
from costmodel.errors import CostModelError
from costmodel.latency.model import baseline_k
from costmodel.latency.stats import DEFAULT_STAT, STAT_LABELS, STATS  # noqa: F401 (re-exported)

ALIGNS = (1, 4, 8, 16)  # input-channel multiple that puts a conv on the blocked path
BLOCKS = (1, 8, 16)  # channel multiple the blocked path computes (pads) to
SPLIT_KINDS = CONV_KINDS  # kinds whose kernel path depends on channel alignment
REORDER = ("reorder in bytes", "reorder out bytes", "reorders")
SPILL = "mult-adds beyond cache"  # mult-adds of layers whose working set exceeds the rule's cache
MIB = 1 << 20
CACHES = (0, 2 * MIB, 4 * MIB, 8 * MIB)  # fp32 working-set bytes beyond which a layer spills
# mult-adds, bytes, channel x rows (one kernel row each), layers, and the work of a part-filled
# last block of output channels (a kernel's remainder path; see the module docstring)
TERMS = ("M", "B", "C", "N", "T")
PATHS = ("blocked", "plain", "all")  # kernel paths: split kinds take one of the first two


class Col(NamedTuple):
    """A column of the design: one term of a (layer type, kernel path) group, or a layout
    conversion (``type`` None, ``term`` one of :data:`REORDER`). Text only in files and
    messages: :func:`column_name` / :func:`parse_column`, as ``Conv DW 3x3|blocked|M``."""

    type: LayerType | None
    path: str
    term: str

    @property
    def group(self) -> str:
        """The group's name: ``Conv DW 3x3|blocked``, or the layout conversion's."""
        return self.term if self.type is None else f"{type_name(self.type)}|{self.path}"


def column_name(c: Col) -> str:
    """A column as stored in a fitted model's JSON: ``Conv DW 3x3|blocked|M``, ``reorders``."""
    return c.term if c.type is None else f"{c.group}|{c.term}"


def parse_column(name: str) -> Col:
    """Read :func:`column_name`'s text back (ValueError or CostModelError if it is not one)."""
    if name in REORDER or name == SPILL:
        return Col(None, "", name)
    t, path, term = str(name).split("|")
    if path not in PATHS or term not in TERMS:
        raise ValueError(f"column {name!r} is not a column of the latency model")
    return Col(parse_type_name(t), path, term)
WITHIN = 0.10
FOLDS = 5
ALIGNMENT_CLASSES = (1, 2, 4, 8, 16)  # gcd(channels, 16): how a channel count is aligned


def alignment(channels: np.ndarray) -> np.ndarray:
    """gcd(channel count, 16) of each entry: 1, 2, 4, 8 or 16."""
    return np.gcd(np.asarray(channels, dtype=np.int64), 16)


def worst_alignment(alphas: Any, resolutions: Any, roundings: Any, **kw: Any) -> np.ndarray:
    """Per config: the smallest gcd(channel count, 16) over its layers (1, 2, 4, 8 or 16);
    4 or more means every conv runs on onnxruntime's blocked (NCHWc) kernels."""
    d = design(alphas, resolutions, roundings, **kw)
    return np.asarray(alignment(d.scaled_channels()).min(axis=0))


@dataclass(frozen=True)
class Rule:
    """The layout rule (``align``, ``block``: see the module docstring) and ``cache``: the
    working set (a layer's weight + input + output bytes, fp32) beyond which a layer's
    mult-adds also count in the :data:`SPILL` column (0: no such column term)."""

    align: int = 1
    block: int = 1
    cache: int = 0

    @property
    def label(self) -> str:
        spill = f", cache {self.cache / MIB:g} MiB" if self.cache else ""
        return f"align {self.align}, block {self.block}{spill}"


RULES = tuple(Rule(a, b, c) for a in ALIGNS for b in BLOCKS for c in CACHES)


def _check_roundings(roundings: Any, n: int) -> np.ndarray:
    rd = np.asarray([roundings] * n if isinstance(roundings, str) else list(roundings), dtype=object)
    if rd.shape != (n,):
        raise CostModelError(f"need one rounding per config, got {rd.size} for {n} configs; "
                             f"allowed: one rounding, or one per config")
    for v in set(rd.tolist()):
        check_choice("rounding", v, list(ROUNDING_RULES))
    return rd


@dataclass
class Design:
    """The model's columns for N configs: ``x`` (N, K) and the channel count of every layer
    (L, N), which bounds the calibrated range."""

    x: np.ndarray
    columns: list[Col]
    channels: np.ndarray
    mult_adds: np.ndarray  # (N,) exact total mult-adds (for the k * mult-adds baseline)
    scaled: np.ndarray | None = None  # (L,) True where a layer's channels follow alpha (not FC)
    per_layer: np.ndarray | None = None  # (L, N, K): each layer's share of x (design(layers=True))

    def scaled_channels(self) -> np.ndarray:
        """The channel counts of the layers alpha scales (every layer but the classifier)."""
        return self.channels if self.scaled is None else self.channels[self.scaled]


def _columns(types: Sequence[LayerType], kinds: Sequence[str]) -> list[Col]:
    groups: list[tuple[LayerType, str]] = []
    for t, k in zip(types, kinds, strict=True):
        for path in (PATHS[:2] if k in SPLIT_KINDS else PATHS[2:]):
            if (t, path) not in groups:
                groups.append((t, path))
    return ([Col(t, path, term) for t, path in groups for term in TERMS]
            + [Col(None, "", r) for r in REORDER] + [Col(None, "", SPILL)])


def design(alphas: Any, resolutions: Any, roundings: Any, *, rule: Rule = Rule(),
           variant: str = "mobilenet_v1", classes: int = 1000, spec: Any = None,
           batch: int = 1, layers: bool = False) -> Design:
    """The model's columns for each (alphas[i], resolutions[i], roundings[i]); with ``layers``
    also each layer's share of them (``per_layer``, what a per-layer model is fitted on)."""
    a = np.asarray([check_alpha(v) for v in np.atleast_1d(alphas)], dtype=np.float64)
    r = np.asarray([check_resolution(v) for v in np.atleast_1d(resolutions)], dtype=np.int64)
    if a.shape != r.shape or a.size == 0:
        raise CostModelError(f"need one resolution per alpha, got {a.size} alphas and {r.size} "
                             f"resolutions; allowed: equal, non-empty lists")
    rd = _check_roundings(roundings, a.size)
    conv = get_convention("paper")
    desc = get_description(spec)
    parts: dict[str, tuple[np.ndarray, list[Col], np.ndarray, np.ndarray, np.ndarray | None]] = {}
    scaled = None
    for rounding in dict.fromkeys(rd.tolist()):
        idx = np.flatnonzero(rd == rounding)
        lays = resolve_arrays(a[idx], r[idx], variant=variant, rounding=rounding,
                              classes=classes + conv.extra_classes, desc=desc)
        x, cols, ch, ma, per = _design_one(lays, idx.size, rule, conv, batch, layers)
        scaled = np.asarray([lay.kind != Kind.FC for lay in lays])
        parts[rounding] = (idx, cols, x, np.vstack([ch, ma[None, :]]), per)
    first = next(iter(parts.values()))
    cols = first[1]
    x = np.zeros((a.size, len(cols)))
    extra = np.zeros((first[3].shape[0], a.size))
    per_layer = None if first[4] is None else np.zeros((first[4].shape[0], a.size, len(cols)))
    for idx, _, xs, ex, per in parts.values():
        x[idx], extra[:, idx] = xs, ex
        if per_layer is not None and per is not None:
            per_layer[:, idx] = per
    return Design(x, cols, extra[:-1], extra[-1], scaled, per_layer)


def _design_one(layers: Sequence[Any], n: int, rule: Rule, conv: Any, batch: int,
                keep: bool = False) -> tuple[np.ndarray, list[Col], np.ndarray, np.ndarray,
                                             np.ndarray | None]:
    cols = _columns([lay.type for lay in layers], [lay.kind for lay in layers])
    pos = {c: i for i, c in enumerate(cols)}
    x = np.zeros((n, len(cols)))
    zeros = np.zeros(n)
    prev_blocked: np.ndarray | None = None
    channels, total = [], zeros.copy()
    per: list[np.ndarray] = []
    for lay in layers:
        before = x.copy() if keep else x
        c = count_layer(lay, conv)
        cin = zeros + lay.in_channels
        in_bytes = zeros + input_bytes(lay, batch)
        traffic = traffic_bytes(lay, c.params, batch)
        total += c.mult_adds * batch
        channels.append(zeros + lay.out_channels)
        t = lay.type
        rows = zeros + lay.out_channels * lay.out_size * batch
        nchw_in = np.zeros(n, dtype=bool)  # blocked, reading the plain layout directly
        if lay.kind in SPLIT_KINDS:
            if lay.kind != Kind.DW:  # a full conv with few input channels reads NCHW as it is
                nchw_in = (cin < max(rule.block, rule.align)) & (rule.align > 1)
            blocked = (cin % rule.align == 0) | nchw_in
            padded = (padded_mult_adds(lay, conv, rule.block, keep_input=nchw_in) * batch
                      if rule.block > 1 else None)
            for path, mask in (("blocked", blocked), ("plain", ~blocked)):
                m = c.mult_adds * batch if path == "plain" or padded is None else padded
                x[:, pos[Col(t, path, "M")]] += np.where(mask, m, 0.0)
                x[:, pos[Col(t, path, "B")]] += np.where(mask, traffic, 0.0)
                x[:, pos[Col(t, path, "C")]] += np.where(mask, rows, 0.0)
                x[:, pos[Col(t, path, "N")]] += mask
            if padded is not None:  # the part-filled last block of the output channels
                cout = zeros + lay.out_channels
                part = blocked & (cout % rule.block != 0)  # blocked: the padded work
                x[:, pos[Col(t, "blocked", "T")]] += np.where(part, padded, 0.0)
                # plain: the remainder channels' own mult-adds (a scalar remainder loop)
                x[:, pos[Col(t, "plain", "T")]] += np.where(
                    ~blocked, c.mult_adds * batch * (cout % rule.block) / cout, 0.0)
        else:
            blocked = np.zeros(n, dtype=bool)
            x[:, pos[Col(t, "all", "M")]] += c.mult_adds * batch
            x[:, pos[Col(t, "all", "B")]] += traffic
            x[:, pos[Col(t, "all", "C")]] += rows
            x[:, pos[Col(t, "all", "N")]] += 1
        if rule.cache:
            x[:, pos[Col(None, "", SPILL)]] += np.where(traffic > rule.cache,
                                                        c.mult_adds * batch, 0.0)
        if prev_blocked is not None:
            into, out_of = blocked & ~prev_blocked & ~nchw_in, prev_blocked & ~blocked
            x[:, pos[Col(None, "", REORDER[0])]] += np.where(into, in_bytes, 0.0)
            x[:, pos[Col(None, "", REORDER[1])]] += np.where(out_of, in_bytes, 0.0)
            x[:, pos[Col(None, "", REORDER[2])]] += into | out_of
        prev_blocked = blocked
        if keep:
            per.append(x - before)
    return x, cols, np.vstack(channels), total, (np.stack(per) if keep else None)


# ------------------------------------------------------------------------------------------
# Fit, predict, select
# ------------------------------------------------------------------------------------------
def fit_theta(x: np.ndarray, y_ms: np.ndarray) -> np.ndarray:
    """Non-negative coefficients (ms per unit of each column) minimizing the relative error."""
    y = np.asarray(y_ms, dtype=float)
    return _wnnls(x, y, 1.0 / y)


def _wnnls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Non-negative least squares of ``w * (x @ theta - y)`` (columns scaled for conditioning)."""
    from scipy.optimize import nnls

    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    theta, _ = nnls((x / scale) * w[:, None], y * w, maxiter=50 * max(x.shape[1], 1))
    return np.asarray(theta / scale)


MIN_PATH_OBS = 12  # fewer configs on a layer's kernel path: that path takes the pooled fit


def fit_layers(per_layer: np.ndarray, layer_ms: np.ndarray, columns: Sequence[Col]) -> np.ndarray:
    """One model per layer, fitted on the runtime's own time of that layer (``layer_ms``, (N, L),
    configs whose layer times were read: :mod:`costmodel.latency.layer_times`), relative error.
    A layer's kernel path (group) seen in fewer than :data:`MIN_PATH_OBS` configs, and one never
    seen, takes the pooled fit of every layer's times (one coefficient per column: the group
    model fitted on layer times). Returns theta (L, K)."""
    n_layers, n, k = per_layer.shape
    y = np.maximum(np.asarray(layer_ms, dtype=float), 1e-4)  # (N, L)
    w = 1.0 / y
    pooled = _wnnls(per_layer.reshape(-1, k), y.T.reshape(-1), w.T.reshape(-1))
    groups = [c.group for c in columns]
    group_ids = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    gid = np.asarray([group_ids[g] for g in groups])
    theta = np.tile(pooled, (n_layers, 1))
    for li in range(n_layers):
        x = per_layer[li]
        used = (x != 0).any(axis=0)
        if not used.any():
            continue
        rich = np.zeros(k, dtype=bool)
        for g in np.unique(gid[used]):
            cols = gid == g
            if int((x[:, cols] != 0).any(axis=1).sum()) >= MIN_PATH_OBS:
                rich |= cols & used
        if not rich.any():
            continue
        sparse = used & ~rich
        resid = y[:, li] - x[:, sparse] @ pooled[sparse]
        theta[li, rich] = _wnnls(x[:, rich], resid, w[:, li])
    return theta


def layer_sum(per_layer: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Sum over layers of each layer's predicted ms: (N,)."""
    return np.asarray(np.einsum("lnk,lk->n", per_layer, theta))


def fit_layer_model(per_layer: np.ndarray, y_ms: np.ndarray, layer_ms: np.ndarray,
                    has: np.ndarray, columns: Sequence[Col]) -> tuple[np.ndarray, list[float]]:
    """The per-layer model: :func:`fit_layers` on the configs with layer times (``has``), then
    the whole-network figure as ``scale * sum of layers + offset`` (non-negative, relative error,
    every config): the time outside the layers and the profiler's own cost."""
    theta = fit_layers(per_layer[:, has], layer_ms[has], columns)
    s = layer_sum(per_layer, theta)
    y = np.asarray(y_ms, dtype=float)
    so = _wnnls(np.column_stack([s, np.ones_like(s)]), y, 1.0 / y)
    return theta, [float(so[0]), float(so[1])]


def cv_layer_errors(per_layer: np.ndarray, y: np.ndarray, layer_ms: np.ndarray, has: np.ndarray,
                    columns: Sequence[Col], *, folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """:func:`cv_errors` of the per-layer model (same folds)."""
    err = np.empty(y.size)
    for test in _folds(y.size, folds, seed):
        train = np.setdiff1d(np.arange(y.size), test)
        theta, (sc, off) = fit_layer_model(per_layer[:, train], y[train], layer_ms[train],
                                           has[train], columns)
        err[test] = (sc * layer_sum(per_layer[:, test], theta) + off) / y[test] - 1
    return err


def _folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    return [np.sort(perm[i::k]) for i in range(min(k, n))]


def cv_errors(x: np.ndarray, y: np.ndarray, *, folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """Relative error of each config predicted by the fit on the other folds."""
    err = np.empty(y.size)
    for test in _folds(y.size, folds, seed):
        train = np.setdiff1d(np.arange(y.size), test)
        err[test] = x[test] @ fit_theta(x[train], y[train]) / y[test] - 1
    return err


@dataclass
class RuleChoice:
    """The layout rule chosen by cross-validation (:func:`select_rule`), with its scores."""

    rule: Rule
    within: float  # inner cross-validated share within +/-10%
    mape: float
    n: int
    scores: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"align": self.rule.align, "block": self.rule.block, "cache": self.rule.cache,
                "inner_within": self.within,
                "inner_mape": self.mape, "n_inner": self.n}


def select_rule(alphas: Any, resolutions: Any, roundings: Any, y_ms: Any, *,
                rules: Sequence[Rule] = RULES, folds: int = FOLDS, seed: int = 0,
                **kw: Any) -> RuleChoice:
    """Choose the rule by ``folds``-fold cross-validation over the configs given, and only those
    (a held-out evaluation passes its training configs). Score: share within +/-10%, then the
    lower mean |relative error|, then the simpler rule (smaller align, then block)."""
    y = np.asarray(y_ms, dtype=float)
    if y.size < 2 * folds:
        raise CostModelError(f"rule selection needs at least {2 * folds} measured configs, got "
                             f"{y.size}; allowed: more measurements (a longer --budget-s)")
    scores = []
    for rule in rules:
        err = np.abs(cv_errors(design(alphas, resolutions, roundings, rule=rule, **kw).x, y,
                               folds=folds, seed=seed))
        scores.append({"align": rule.align, "block": rule.block, "cache": rule.cache,
                       "within": float((err <= WITHIN + 1e-12).mean()), "mape": float(err.mean())})
    rule, best = min(zip(rules, scores, strict=True),
                     key=lambda p: (-p[1]["within"], round(p[1]["mape"], 9), p[0].cache,
                                    p[0].align, p[0].block))
    return RuleChoice(rule, best["within"], best["mape"], int(y.size), scores)


# ------------------------------------------------------------------------------------------
# The fitted model
# ------------------------------------------------------------------------------------------


@dataclass
class KernelModel:
    """A fitted per-kernel model: ``theta`` (ms per unit of each column of :func:`design`),
    the rule, and the calibrated range it may predict without extrapolating."""

    rule: Rule
    columns: list[Col]
    theta: np.ndarray
    stat: str = DEFAULT_STAT
    variant: str = "mobilenet_v1"
    classes: int = 1000
    batch: int = 1
    alpha_range: tuple[float, float] = (0.0, float("inf"))
    resolution_range: tuple[int, int] = (1, 10**9)
    channel_lo: list[int] = field(default_factory=list)  # per layer, over the training configs
    channel_hi: list[int] = field(default_factory=list)
    untrained: list[Col] = field(default_factory=list)  # columns no training config used
    alignments: list[int] = field(default_factory=lambda: list(ALIGNMENT_CLASSES))
    meta: dict[str, Any] = field(default_factory=dict)
    spec: str | None = None  # the network: a built-in's name or a description file (None: V1)
    # the per-layer form (fit_layer_model): theta per layer (L, K), and [scale, offset]
    layer_theta: np.ndarray | None = None
    layer_map: list[float] = field(default_factory=lambda: [1.0, 0.0])

    @property
    def network(self) -> str:
        """The network's key (:func:`costmodel.core.arch.network_key`): what its rows carry."""
        return network_key(self.spec)

    @property
    def form(self) -> str:
        return "per-layer" if self.layer_theta is not None else "per-group"

    def design(self, alphas: Any, resolutions: Any, roundings: Any = "int") -> Design:
        return design(alphas, resolutions, roundings, rule=self.rule, variant=self.variant,
                      classes=self.classes, batch=self.batch, spec=self.spec,
                      layers=self.layer_theta is not None)

    def predict_design(self, d: Design) -> np.ndarray:
        if d.columns != self.columns:
            raise CostModelError(f"the model was fitted on other layers ({len(self.columns)} "
                                 f"columns, got {len(d.columns)}); allowed: network "
                                 f"{self.network!r} variant {self.variant!r}")
        if self.layer_theta is None:
            return np.asarray(d.x @ self.theta, dtype=np.float64)
        if d.per_layer is None or d.per_layer.shape[0] != self.layer_theta.shape[0]:
            raise CostModelError("a per-layer model needs the design's per-layer columns "
                                 "(design(..., layers=True)); allowed: KernelModel.design")
        sc, off = self.layer_map
        return sc * layer_sum(d.per_layer, self.layer_theta) + off

    def predict_configs(self, alphas: Any, resolutions: Any, roundings: Any = "int") -> np.ndarray:
        """Predicted ms of ``stat`` for each (alphas[i], resolutions[i], roundings[i])."""
        a = np.atleast_1d(np.asarray(alphas, dtype=float))
        r = np.atleast_1d(np.asarray(resolutions))
        rd = _check_roundings(roundings, a.size)
        step = 2048  # the per-layer design is (layers x configs x columns): in slices
        return np.concatenate([self.predict_design(self.design(a[i:i + step], r[i:i + step],
                                                               rd[i:i + step]))
                               for i in range(0, a.size, step)]) if a.size else np.zeros(0)

    def predict(self, alpha: Any, resolution: Any, rounding: str = "int") -> float:
        return float(self.predict_configs([alpha], [resolution], rounding)[0])

    def outside(self, d: Design, alphas: Any, resolutions: Any) -> list[str | None]:
        """Per config: why it is outside the calibrated range (one line), or None."""
        a = np.atleast_1d(np.asarray(alphas, dtype=float))
        r = np.atleast_1d(np.asarray(resolutions))
        lo, hi = np.asarray(self.channel_lo)[:, None], np.asarray(self.channel_hi)[:, None]
        ch_bad = np.asarray(((d.channels < lo) | (d.channels > hi)).any(axis=0))
        pos = [self.columns.index(c) for c in self.untrained]
        new_path = (d.x[:, pos] != 0).any(axis=1) if pos else np.zeros(a.size, dtype=bool)
        out: list[str | None] = []
        (alo, ahi), (rlo, rhi) = self.alpha_range, self.resolution_range
        for i in range(a.size):
            if not alo - 1e-9 <= a[i] <= ahi + 1e-9:
                out.append(f"alpha {a[i]:g} is outside the calibrated range {alo:g}..{ahi:g}")
            elif not rlo <= r[i] <= rhi:
                out.append(f"resolution {int(r[i])} is outside the calibrated range {rlo}..{rhi}")
            elif ch_bad[i]:
                j = int(np.flatnonzero((d.channels[:, i] < lo[:, 0]) | (d.channels[:, i] > hi[:, 0]))[0])
                out.append(f"alpha {a[i]:g} gives layer {j} {int(d.channels[j, i])} channels, "
                           f"outside the calibrated {int(lo[j, 0])}..{int(hi[j, 0])}")
            elif not np.isin(alignment(d.channels[:, i]), self.alignments).all():
                bad = d.channels[~np.isin(alignment(d.channels[:, i]), self.alignments), i]
                out.append(f"alpha {a[i]:g} gives a layer {int(bad[0])} channels (gcd with 16: "
                           f"{int(alignment(bad[:1])[0])}); the calibrated configs had only "
                           f"channel counts with gcd {', '.join(map(str, self.alignments))}")
            elif new_path[i]:
                col = self.untrained[int(np.flatnonzero(d.x[i, pos] != 0)[0])]
                out.append(f"alpha {a[i]:g} puts a layer on a kernel path no calibrated config "
                           f"used ({col.group})")
            else:
                out.append(None)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"rule": [self.rule.align, self.rule.block, self.rule.cache],
                "columns": [column_name(c) for c in self.columns],
                "theta": [float(v) for v in self.theta], "stat": self.stat,
                "variant": self.variant, "classes": self.classes, "batch": self.batch,
                "alpha_range": list(self.alpha_range),
                "resolution_range": list(self.resolution_range),
                "channel_lo": self.channel_lo, "channel_hi": self.channel_hi,
                "untrained": [column_name(c) for c in self.untrained],
                "alignments": self.alignments, "meta": self.meta, "spec": self.spec,
                "layer_theta": None if self.layer_theta is None else self.layer_theta.tolist(),
                "layer_map": list(self.layer_map)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KernelModel:
        return cls(Rule(*d["rule"]), [parse_column(c) for c in d["columns"]],
                   np.asarray(d["theta"], dtype=float),
                   d["stat"], d["variant"], int(d["classes"]), int(d["batch"]),
                   (float(d["alpha_range"][0]), float(d["alpha_range"][1])),
                   (int(d["resolution_range"][0]), int(d["resolution_range"][1])),
                   [int(v) for v in d["channel_lo"]], [int(v) for v in d["channel_hi"]],
                   [parse_column(c) for c in d["untrained"]], [int(v) for v in d["alignments"]],
                   dict(d.get("meta", {})), d.get("spec"),
                   None if d.get("layer_theta") is None else np.asarray(d["layer_theta"], float),
                   [float(v) for v in d.get("layer_map", [1.0, 0.0])])

    def terms(self) -> list[dict[str, Any]]:
        """Readable coefficients per group (layer type | kernel path, or a layout conversion):
        effective GMAC/s and GB/s (None: the term is zero), us per channel row, fixed us, and
        the GMAC/s of the extra cost of part-filled output blocks (``tail_gmacs``)."""
        out: dict[str, dict[str, Any]] = {}
        for c, v in zip(self.columns, self.theta, strict=True):
            group, term = c.group, c.term
            if c.type is None:  # a layout conversion column: bytes into / out of blocked, or a count
                group, term = {REORDER[0]: ("layout conversion into blocked", "B"),
                               REORDER[1]: ("layout conversion out of blocked", "B"),
                               SPILL: (f"layers beyond the cache (working set > "
                                       f"{self.rule.cache / MIB:g} MiB fp32), extra", "M")}.get(
                                   c.term, ("layout conversions", "N"))
            row = out.setdefault(group, {"group": group, "gmacs": None, "gbs": None,
                                         "row_us": None, "fixed_us": None, "tail_gmacs": None})
            if term in ("M", "B", "T"):
                row[{"M": "gmacs", "B": "gbs", "T": "tail_gmacs"}[term]] = (1e-6 / v if v > 0
                                                                          else None)
            else:
                row["row_us" if term == "C" else "fixed_us"] = float(v) * 1e3
        return list(out.values())


def fit_model(alphas: Any, resolutions: Any, roundings: Any, y_ms: Any, *,
              rule: Rule | None = None, stat: str = DEFAULT_STAT, variant: str = "mobilenet_v1",
              classes: int = 1000, batch: int = 1, seed: int = 0,
              spec: str | None = None, layer_ms: Any = None,
              form: str | None = None) -> KernelModel:
    """Select the rule (unless given) by cross-validation on these configs, then fit on all.
    ``spec``: the network the configs are of (a built-in's name or a description file; None:
    MobileNet-V1): the design is built from its layers.

    ``layer_ms`` (N, L), NaN rows where a config's layer times were not read: with those of at
    least ``2 * FOLDS`` configs, the per-layer form (:func:`fit_layer_model`) is a candidate
    too, and cross-validation on these configs (the same folds) picks the form with more
    configs within +/-10% (then the lower mean error); ``form`` forces one."""
    check_choice("stat", stat, STATS)
    kw: dict[str, Any] = {"variant": variant, "classes": classes, "batch": batch, "spec": spec}
    y = np.asarray(y_ms, dtype=float)
    if y.size < 2 or not (np.isfinite(y).all() and (y > 0).all()):
        raise CostModelError(f"need at least 2 measured configs with finite times > 0, got "
                             f"{y.size}; allowed: measure more (costmodel latency calibrate)")
    sel = None
    if rule is None:
        sel = select_rule(alphas, resolutions, roundings, y, seed=seed, **kw)
        rule = sel.rule
    d = design(alphas, resolutions, roundings, rule=rule, layers=layer_ms is not None, **kw)
    layer_theta, layer_map, forms = None, [1.0, 0.0], None
    if layer_ms is not None:
        lm = np.asarray(layer_ms, dtype=float)
        has = np.isfinite(lm).all(axis=1)
        if d.per_layer is None or lm.shape != (y.size, d.per_layer.shape[0]):
            raise CostModelError(f"layer times of shape {lm.shape} do not match {y.size} configs "
                                 f"of {0 if d.per_layer is None else d.per_layer.shape[0]} "
                                 f"layers; allowed: one row per config, one column per layer")
        if form is None and int(has.sum()) >= 2 * FOLDS:
            scores = {}
            for name, e in (("per-group", cv_errors(d.x, y, seed=seed)),
                            ("per-layer", cv_layer_errors(d.per_layer, y, lm, has, d.columns,
                                                          seed=seed))):
                e = np.abs(e)
                scores[name] = (float((e <= WITHIN + 1e-12).mean()), float(e.mean()))
            form = min(scores, key=lambda f: (-scores[f][0], round(scores[f][1], 9)))
            forms = {f: {"inner_within": v[0], "inner_mape": v[1]} for f, v in scores.items()}
        if form == "per-layer" and has.any():
            layer_theta, layer_map = fit_layer_model(d.per_layer, y, lm, has, d.columns)
    a = np.atleast_1d(np.asarray(alphas, dtype=float))
    r = np.atleast_1d(np.asarray(resolutions, dtype=int))
    # channel range per layer: what was measured, and what the alpha range's ends give under
    # any rounding rule (alpha 1.3 under int and under divisible8 are both inside)
    ends = []
    for x in (a.min(), a.max()):
        for rd in ROUNDING_RULES:
            # a network with groups may refuse an end under a rounding it was not measured in
            with suppress(CostModelError):
                ends.append(design([x], [int(r.min())], [rd], rule=rule, **kw).channels)
    ch = np.hstack([d.channels, *ends])
    return KernelModel(rule, d.columns, fit_theta(d.x, y), stat, variant, classes, batch,
                       (float(a.min()), float(a.max())), (int(r.min()), int(r.max())),
                       [int(v) for v in ch.min(axis=1)], [int(v) for v in ch.max(axis=1)],
                       # a path no config used is untrained (outside() refuses it); a remainder
                       # term (T) no config used is not: its path is calibrated, and the model
                       # knows no extra cost for a part-filled block there (its coefficient 0)
                       [c for c, used in zip(d.columns, (d.x != 0).any(axis=0), strict=True)
                        if not used and c.term != "T"],
                       sorted(int(v) for v in np.unique(alignment(d.channels))),
                       meta={"n_train": int(y.size),
                             "selection": None if sel is None else sel.summary(),
                             "k_baseline": baseline_k(d.mult_adds, y),
                             "forms": forms}, spec=spec,
                       layer_theta=layer_theta, layer_map=layer_map)


# ------------------------------------------------------------------------------------------
# A device's measurements -> model (cached on disk per data version), held-out error
# ------------------------------------------------------------------------------------------
@dataclass
class Measured:
    """One figure per measured (alpha, resolution, rounding) of a device/backend/threads."""

    alphas: np.ndarray
    resolutions: np.ndarray
    roundings: np.ndarray
    y_ms: np.ndarray
    backend: str
    threads: Any
    classes: int
    published: bool
    device_type: str = "cpu"
    imported: bool = False  # measured elsewhere (costmodel latency import)
    layer_ms: np.ndarray | None = None  # (N, L) the runtime's own layer times; NaN: not read


def measured(device_id: str, *, backend: str | None = None, threads: int | None = None,
             batch: int = 1, variant: str = "mobilenet_v1", precision: str = "float32",
             stat: str = DEFAULT_STAT, data_dir: Any = None, spec: str | None = None) -> Measured:
    """The device's configs of one network (``spec``, None: MobileNet-V1; rows of other networks
    are never read), every rounding; repeated passes combined by their median."""
    from costmodel.io import latency_data

    check_choice("stat", stat, STATS)
    frame = latency_data.latency_table(device_id, backend=backend, threads=threads, batch=batch,
                                       precision=precision, variant=variant, data_dir=data_dir,
                                       rounding=None, network=network_key(spec),
                                       measure_with=network_option(spec))
    col = f"{stat}_ms"
    y = frame[col].to_numpy(dtype=float) if col in frame else np.full(len(frame), np.nan)
    if not (np.isfinite(y) & (y > 0)).all():
        raise CostModelError(f"stat {stat!r} is not measured for every config of device "
                             f"{device_id!r}; allowed: median" + ("" if stat == "median" else
                                                                  ", or re-measure"))
    full = latency_data.load_latency(device_id, data_dir=data_dir)
    thr = frame["threads"].iloc[0]
    out = Measured(frame["alpha"].to_numpy(float), frame["resolution"].to_numpy(int),
                   frame["rounding"].to_numpy(object), y, str(frame["backend"].iloc[0]),
                   None if thr is None or thr != thr else int(thr),
                   int(full["classes"].iloc[0]), bool(frame["published"].iloc[0]),
                   str(full["device_type"].iloc[0]),
                   bool(full["fingerprint"].map(latency_data.is_imported).all()))
    if network_key(spec) == "mobilenet_v1":  # layer times are read for MobileNet-V1 only
        out.layer_ms = _layer_times(device_id, out, batch=batch, variant=variant,
                                    precision=precision, data_dir=data_dir)
    return out


def _layer_times(device_id: str, m: Measured, *, batch: int, variant: str, precision: str,
                 data_dir: Any) -> np.ndarray | None:
    """(N, L) layer times of ``m``'s configs read beside the device's CSV (NaN rows: none read
    for that config), or None when none of its configs has any, or their layers are not the
    model's."""
    from costmodel.io import latency_data
    from costmodel.latency import layer_times

    if m.published or m.imported:
        return None
    got = layer_times.load(latency_data.latency_path(device_id, data_dir), backend=m.backend,
                           threads=m.threads, batch=batch, precision=precision, variant=variant,
                           spec="mobilenet_v1")
    if not got:
        return None
    names = next(iter(got.values()))[0]
    out = np.full((m.y_ms.size, len(names)), np.nan)
    for i, key in enumerate(zip(np.round(m.alphas, 6).tolist(), m.resolutions.tolist(),
                                m.roundings.tolist(), strict=True)):
        hit = got.get((float(key[0]), int(key[1]), str(key[2])))
        if hit is not None and hit[0] == names:
            out[i] = hit[1]
    return out if np.isfinite(out).all(axis=1).any() else None


@dataclass
class HeldOut:
    """A held-out score: the fit (rule chosen on the training configs only) predicts the rest."""

    within: float
    n_train: int
    n_test: int
    abs_err_median: float
    abs_err_q1: float
    abs_err_q3: float
    rule: Rule
    rows: list[dict[str, Any]]
    selection: dict[str, Any] | None = None  # the rule's inner score (RuleChoice.summary)

    def line(self) -> str:
        return (f"held-out error on {self.n_test} of its own configs (fit on {self.n_train}, "
                f"{self.rule.label} chosen on those only): {100 * self.within:.1f}% within "
                f"+/-10%; |error| median {100 * self.abs_err_median:.1f}%, IQR "
                f"{100 * self.abs_err_q1:.1f}-{100 * self.abs_err_q3:.1f}%")


def score(model: KernelModel, alphas: Any, resolutions: Any, roundings: Any,
          measured_ms: Any) -> tuple[float, list[dict[str, Any]], np.ndarray]:
    """Share of configs predicted within +/-10% of measured, per-config rows, |errors|."""
    a = np.atleast_1d(np.asarray(alphas, dtype=float))
    r = np.atleast_1d(np.asarray(resolutions, dtype=int))
    rd = _check_roundings(roundings, a.size)
    y = np.asarray(measured_ms, dtype=float)
    d = model.design(a, r, rd)
    pred = model.predict_design(d)
    base = model.meta.get("k_baseline", float("nan")) * d.mult_adds
    err = pred / y - 1
    rows = [{"alpha": float(a[i]), "resolution": int(r[i]), "rounding": str(rd[i]),
             "measured_ms": float(y[i]), "predicted_ms": float(pred[i]),
             "error_pct": 100 * float(err[i]), "baseline_ms": float(base[i]),
             "baseline_error_pct": 100 * float(base[i] / y[i] - 1)} for i in range(a.size)]
    e = np.abs(err)
    return float((e <= WITHIN + 1e-12).mean()), rows, e


def held_out_on(m: Measured, train: np.ndarray, test: np.ndarray, **kw: Any) -> HeldOut:
    """Select the rule (and form) and fit on the configs ``train`` (indices into ``m``) alone,
    then score the configs ``test``. ``kw``: stat, variant, batch, spec (the network)."""
    model = fit_model(m.alphas[train], m.resolutions[train], m.roundings[train], m.y_ms[train],
                      classes=m.classes,
                      layer_ms=None if m.layer_ms is None else m.layer_ms[train], **kw)
    within, rows, e = score(model, m.alphas[test], m.resolutions[test], m.roundings[test],
                            m.y_ms[test])
    q1, med, q3 = np.quantile(e, [0.25, 0.5, 0.75])
    return HeldOut(within, int(train.size), int(test.size), float(med), float(q1), float(q3),
                   model.rule, rows, model.meta.get("selection"))


def held_out(m: Measured, *, test_fraction: float = 0.25, seed: int = 0, **kw: Any) -> HeldOut:
    """Hold out a seeded ``test_fraction`` of the configs; select and fit on the rest."""
    if not 0 < test_fraction < 1:
        raise CostModelError(f"test fraction {test_fraction!r} is out of range; "
                             f"allowed: 0 < f < 1")
    n = m.y_ms.size
    k = max(1, round(n * test_fraction))
    if n - k < 2 * FOLDS:
        raise CostModelError(f"a held-out score needs at least {2 * FOLDS + 1} measured configs, "
                             f"got {n}; allowed: a longer --budget-s")
    perm = np.random.default_rng(seed).permutation(n)
    return held_out_on(m, np.sort(perm[k:]), np.sort(perm[:k]), **kw)


SPLITS = ("paper", "loo", "random")
LOO_MAX_CONFIGS = 120  # one selection and fit per config: beyond this, --split random


def is_paper_config(alphas: Any, resolutions: Any) -> np.ndarray:
    """Per config: is (alpha, resolution) one of the paper's 16 (any rounding: at alpha
    0.25..1 every channel count is a multiple of 8, so the roundings agree)."""
    from costmodel.io.grids import PAPER_CONFIGS

    return np.asarray([(round(float(a), 6), int(r)) in PAPER_CONFIGS
                       for a, r in zip(np.atleast_1d(alphas), np.atleast_1d(resolutions),
                                       strict=True)], dtype=bool)


def default_split(m: Measured) -> str:
    """``paper`` when some measured configs are paper configs and enough others remain to
    select a rule on (2 * FOLDS), else ``loo``."""
    return "paper" if _paper_split_fits(is_paper_config(m.alphas, m.resolutions)) else "loo"


def _paper_split_fits(test: np.ndarray) -> bool:
    """Some configs are paper configs (``test``) and enough others remain to select a rule on."""
    inside = int(test.sum())
    return inside > 0 and test.size - inside >= 2 * FOLDS


@dataclass
class SplitScore:
    """A held-out evaluation of the per-kernel model on stored measurements: one
    :class:`HeldOut` per fit (one for ``paper`` and ``random``, one per config for ``loo``),
    each fit's rule chosen on its own training configs only."""

    split: str
    folds: list[HeldOut]
    spec: str = "mobilenet_v1"

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        """Every fold's rows, sorted once (within, summary and the CLI read them)."""
        rows = [{**r, "spec": self.spec} for h in self.folds for r in h.rows]
        return sorted(rows, key=lambda r: (r["alpha"], r["resolution"], r["rounding"]))

    @property
    def n_train(self) -> int:
        return max(h.n_train for h in self.folds)

    @property
    def n_test(self) -> int:
        return sum(h.n_test for h in self.folds)

    def _errors(self, key: str) -> np.ndarray:
        return np.abs(np.asarray([r[key] for r in self.rows], dtype=float)) / 100

    @property
    def within(self) -> float:
        return float((self._errors("error_pct") <= WITHIN + 1e-12).mean())

    @property
    def baseline_within(self) -> float:
        return float((self._errors("baseline_error_pct") <= WITHIN + 1e-12).mean())

    def selected(self) -> list[dict[str, Any]]:
        """Distinct rules the fits chose, with how many fits chose each (most first) and their
        inner cross-validated scores averaged over those fits."""
        groups: dict[Rule, list[dict[str, Any]]] = {}
        for h in self.folds:
            sel = h.selection or {"align": h.rule.align, "block": h.rule.block,
                                  "cache": h.rule.cache}
            groups.setdefault(h.rule, []).append(sel)
        out = [{"align": k.align, "block": k.block, "cache": k.cache, "label": k.label,
                "folds": len(v),
                "inner_within": float(np.mean([s.get("inner_within", np.nan) for s in v])),
                "inner_mape": float(np.mean([s.get("inner_mape", np.nan) for s in v])),
                "n_inner": int(v[0].get("n_inner", 0))} for k, v in groups.items()]
        return sorted(out, key=lambda d: -d["folds"])

    def summary(self) -> dict[str, Any]:
        e, b = self._errors("error_pct"), self._errors("baseline_error_pct")
        q1, med, q3 = np.quantile(e, [0.25, 0.5, 0.75])
        return {"split": self.split, "spec": self.spec, "n_train": self.n_train,
                "n_test": self.n_test, "fits": len(self.folds), "within": self.within,
                "baseline_within": self.baseline_within, "mape": float(e.mean()),
                "baseline_mape": float(b.mean()), "max_err": float(e.max()),
                "abs_err_median": float(med), "abs_err_iqr": [float(q1), float(q3)],
                "selected": self.selected()}


def evaluate_split(m: Measured, split: str | None = None, *, test_fraction: float = 0.3,
                   seed: int = 0, **kw: Any) -> SplitScore:
    """Score the per-kernel model on a device's stored measurements ``m`` by held-out splits,
    nested like :func:`held_out` (each fit selects its rule on its training configs only):
    ``paper`` tests the measured paper configs (:func:`is_paper_config`) after fitting on the
    others; ``random`` holds out a seeded ``test_fraction`` (:func:`held_out`); ``loo`` predicts
    each config from all the others (at most :data:`LOO_MAX_CONFIGS` configs). ``split`` None:
    :func:`default_split`. ``kw``: stat, variant, batch, spec."""
    split = default_split(m) if split is None else check_choice("split", split, list(SPLITS))
    n = m.y_ms.size
    spec = network_key(kw.get("spec"))
    if split == "random":
        return SplitScore(split, [held_out(m, test_fraction=test_fraction, seed=seed, **kw)], spec)
    idx = np.arange(n)
    if split == "paper":
        test = is_paper_config(m.alphas, m.resolutions)
        if not _paper_split_fits(test):
            raise CostModelError(f"split 'paper' needs measured paper configs and at least "
                                 f"{2 * FOLDS} others to fit on (found {int(test.sum())} of {n} "
                                 f"inside); allowed: --split loo or random")
        return SplitScore(split, [held_out_on(m, idx[~test], idx[test], **kw)], spec)
    if n - 1 < 2 * FOLDS:
        raise CostModelError(f"split 'loo' needs at least {2 * FOLDS + 1} measured configs, got "
                             f"{n}; allowed: measure more (costmodel latency calibrate)")
    if n > LOO_MAX_CONFIGS:
        raise CostModelError(f"split 'loo' fits once per config: {n} configs is more than "
                             f"{LOO_MAX_CONFIGS}; allowed: --split random or paper")
    return SplitScore(split, [held_out_on(m, np.delete(idx, i), idx[i:i + 1], **kw)
                              for i in range(n)], spec)


MODEL_VERSION = 8  # bump when the design or the fit changes: old cached fits are then ignored


def _cache_dir(data_dir: Any) -> Any:
    """``<user data folder>/cache``: fitted models, keyed by the data version."""
    from costmodel.io.paths import user_data_dir

    return user_data_dir(data_dir) / "cache"


def fit_device(device_id: str, *, backend: str | None = None, threads: int | None = None,
               batch: int = 1, variant: str = "mobilenet_v1", precision: str = "float32",
               stat: str = DEFAULT_STAT, data_dir: Any = None,
               spec: str | None = None) -> KernelModel:
    """The model fitted on every measured config of one device/backend/threads/precision and
    network (``spec``: a built-in's name or a description file; None: MobileNet-V1), the rule
    chosen by cross-validation on them. Cached on disk (``<user data folder>/cache``) and in memory per
    data version (:func:`costmodel.io.files.files_stamp` of the device's files), so only the
    first call after new measurements fits."""
    from costmodel.latency.model import _data_stamp

    check_choice("stat", stat, STATS)
    from costmodel.io import latency_data
    from costmodel.latency import layer_times

    layers = layer_times.stamp(latency_data.latency_path(device_id, data_dir))
    key: tuple[Any, ...] = (MODEL_VERSION, _data_stamp(device_id, data_dir), backend, threads,
                            batch, variant, precision, stat, layers)
    if spec is not None and network_key(spec) != "mobilenet_v1":  # V1's key (and cache) as before
        key += (network_key(spec), str(spec))
    return _fit_cached(key, str(_cache_dir(data_dir)))


@lru_cache(maxsize=32)
def _fit_cached(key: tuple[Any, ...], cache_dir: str) -> KernelModel:
    import hashlib
    import json
    from pathlib import Path

    from costmodel.io.files import write_text_atomic

    path = Path(cache_dir) / f"latency-model-{hashlib.sha1(repr(key).encode()).hexdigest()[:20]}.json"
    try:
        return KernelModel.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cached fit for this data version (or an unreadable one): fit
    _, stamp, backend, threads, batch, variant, precision, stat = key[:8]
    spec = key[10] if len(key) > 9 else None
    device_id, data_dir = stamp[0], stamp[1]
    m = measured(device_id, backend=backend, threads=threads, batch=batch, variant=variant,
                 precision=precision, stat=stat, data_dir=data_dir, spec=spec)
    model = fit_model(m.alphas, m.resolutions, m.roundings, m.y_ms, stat=stat, variant=variant,
                      classes=m.classes, batch=batch, spec=spec, layer_ms=m.layer_ms)
    if m.published or m.imported:  # figures from elsewhere: their kernels' alignment steps are
        model.alignments = list(ALIGNMENT_CLASSES)  # not known, so alignment is not refused
    model.meta.update(device_id=device_id, backend=m.backend, threads=m.threads,
                      precision=precision, published=m.published, device_type=m.device_type,
                      imported=m.imported,
                      measured=[[float(a), int(r), str(rd), float(y)] for a, r, rd, y in
                                zip(m.alphas, m.resolutions, m.roundings, m.y_ms, strict=True)])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(model.to_json()) + "\n")
    except OSError:
        pass  # a read-only cache folder only costs the next call a fit
    return model
