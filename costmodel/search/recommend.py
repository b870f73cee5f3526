"""Budgeted recommendation: the most accurate config that meets every budget, and why.

``recommend(max_latency_ms=None, device=None, max_params_m=None, max_mult_adds_m=None,
max_size_mb=None, max_peak_activation_mb=None, min_top1=None, *, grid=False, ...) -> dict``

Candidates are :func:`costmodel.search.pareto.points` (the 16 published configs, or the fine grid
with ``grid=True``; with a ``device``, the configs that device has a latency for). Among the
configs meeting every budget, the best has the highest top-1; ties go to fewer mult-adds, then
fewer parameters, then lower latency, then the smaller alpha. The runner-up is the next one in
that order.

The answer says which budget *binds*: a budget binds when relaxing it alone would let a more
accurate config in (the first such config and the value it needs are given). When only relaxing
several budgets together helps, they bind jointly. When nothing fits, the answer names the
closest config (the smallest worst-case ratio of need to budget) and what it needs.

Units: latency in ms, params and mult-adds in millions, sizes in MB (10^6 bytes; fp32 model
size = 4 bytes per parameter, as the TFLite table's size_MB), top-1 in %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from costmodel.errors import CostModelError


@dataclass(frozen=True)
class Budget:
    name: str  # keyword, e.g. "max_params_m"
    column: str  # points column, e.g. "params"
    scale: float  # column value / scale = value in the budget's unit
    unit: str
    upper: bool  # True: value <= limit; False: value >= limit (min_top1)
    flag: str  # the CLI option

    def meets(self, value: Any, limit: float) -> Any:
        """Whether ``value`` (in the points column's unit: a number or an array) meets the
        ``limit`` (in the budget's unit). The one feasibility rule (recommend, the explorer):
        a value equal to the limit meets it, within BUDGET_TOLERANCE of float noise."""
        v = value / self.scale
        return v <= limit + BUDGET_TOLERANCE if self.upper else v >= limit - BUDGET_TOLERANCE

    def ratio(self, value: Any, limit: float) -> Any:
        """Need over budget (> 1: broken), in the direction of the budget."""
        v = value / self.scale
        return v / limit if self.upper else limit / np.maximum(v, 1e-300)


BUDGET_TOLERANCE = 1e-12  # a budget's unit; a limit typed as the value itself still admits it
BUDGETS: dict[str, Budget] = {b.name: b for b in (
    Budget("max_latency_ms", "latency", 1.0, "ms", True, "--max-latency-ms"),
    Budget("max_params_m", "params", 1e6, "M params", True, "--max-params-m"),
    Budget("max_mult_adds_m", "mult_adds", 1e6, "M mult-adds", True, "--max-mult-adds-m"),
    Budget("max_size_mb", "size_fp32", 1e6, "MB fp32", True, "--max-size-mb"),
    Budget("max_peak_activation_mb", "peak_activation", 1e6, "MB", True,
           "--max-peak-activation-mb"),
    Budget("min_top1", "top1", 1.0, "% top-1", False, "--min-top1"),
)}


def check_budget(name: str, value: Any) -> float | None:
    """A budget is None (not set) or a finite number > 0 (min_top1: a percentage, 1 to 100; a
    value below 1 is a fraction typed for a percentage)."""
    if value is None:
        return None
    allowed = "a percentage >= 1 and <= 100" if name == "min_top1" else "a finite number > 0"
    if isinstance(value, bool):
        raise CostModelError(f"{name} {value!r} is not a number; allowed: {allowed}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise CostModelError(f"{name} {value!r} is not a number; allowed: {allowed}") from None
    if name == "min_top1" and 0 < v < 1:  # 0.7 meant as a fraction: top-1 is in percent
        raise CostModelError(f"{name} {value!r} is out of range: top-1 is a percentage (did you "
                             f"mean {100 * v:g}?); allowed: {allowed}")
    if not math.isfinite(v) or v <= 0 or (name == "min_top1" and v > 100):
        raise CostModelError(f"{name} {value!r} is out of range; allowed: {allowed}")
    return v


def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:,.0f}"


def _record(frame: Any, i: int, lat_col: str | None) -> dict[str, Any]:
    rec = frame.iloc[i].to_dict()
    out = {k: (None if isinstance(v, float) and math.isnan(v) else
               v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
    if lat_col is not None:
        out["latency_ms"] = out.get(lat_col)
        out["latency_predicted"] = lat_col.startswith("latency_pred:")
    return out


class _Candidates:
    """The candidate points under the active budgets: each budget's column in its unit, which
    points meet it, the feasible points, and the ranking."""

    def __init__(self, frame: Any, lat_col: str | None, active: dict[str, float],
                 precision: str = "fp32") -> None:
        self.frame, self.lat_col, self.active = frame, lat_col, active
        self.precision = precision  # the model size a size budget reads (size_<precision>)
        self.n = n = len(frame)
        self.ok = {k: BUDGETS[k].meets(self.raw(k), lim) for k, lim in active.items()}
        self.feasible = np.ones(n, dtype=bool)
        for m in self.ok.values():
            self.feasible &= m
        # Ranking: top-1 high first; ties: fewer mult-adds, params, lower latency, smaller alpha.
        lat = frame[lat_col].to_numpy(np.float64) if lat_col else np.zeros(n)
        self.order = np.lexsort((frame["resolution"].to_numpy(), frame["alpha"].to_numpy(), lat,
                                 frame["params"].to_numpy(), frame["mult_adds"].to_numpy(),
                                 -frame["top1"].to_numpy(np.float64)))
        self.rank = np.empty(n, dtype=np.int64)
        self.rank[self.order] = np.arange(n)

    def raw(self, k: str) -> np.ndarray:
        """A budget's points column, in the column's own unit."""
        from costmodel.search.pareto import SIZE_COLUMNS

        col = (self.lat_col if BUDGETS[k].column == "latency" else SIZE_COLUMNS[self.precision]
               if k == "max_size_mb" else BUDGETS[k].column)
        return self.frame[col].to_numpy(np.float64)

    def unit(self, k: str) -> str:
        """A budget's unit as shown (the size budget names its precision)."""
        return f"MB {self.precision}" if k == "max_size_mb" else BUDGETS[k].unit

    def value(self, k: str) -> np.ndarray:
        """A budget's points column, in the budget's unit."""
        return self.raw(k) / BUDGETS[k].scale

    def record(self, i: int) -> dict[str, Any]:
        return _record(self.frame, i, self.lat_col)

    def nearest(self, idx: np.ndarray) -> int:
        """Of the points ``idx``, the one whose worst need-to-budget ratio is smallest."""
        worst = np.zeros(len(idx))
        for k, lim in self.active.items():
            worst = np.maximum(worst, BUDGETS[k].ratio(self.raw(k)[idx], lim))
        return int(idx[np.lexsort((self.rank[idx], worst))[0]])


def recommend(max_latency_ms: Any = None, device: str | None = None, max_params_m: Any = None,
              max_mult_adds_m: Any = None, max_size_mb: Any = None,
              max_peak_activation_mb: Any = None, min_top1: Any = None, *, grid: bool = False,
              predicted_latency: bool = False, precision: str | None = None,
              **points_kwargs: Any) -> dict[str, Any]:
    """The best config meeting every budget, the runner-up, and why. Plain dict:

    status ``ok`` or ``none_fits``; best, runner_up (point dicts: label, alpha, resolution, top1,
    top1_estimated, top1_source, mult_adds, params, ..., latency_ms) or None; binding (list of
    {budget, limit, unit, next, needs}: relaxing that budget alone to ``needs`` admits the more
    accurate config ``next``); jointly_binding (budget names, when only relaxing
    several together helps); slack ({budget: {limit, value, used_pct}} for the best); closest
    and needs ({budget: value needed}) when nothing fits; reason (one paragraph);
    budgets; considered; feasible; notes.

    ``predicted_latency=True`` reads the device's latency from costmodel.latency.kernel (the
    ``latency_pred:<device>`` objective) instead of measurements, so every grid config is a
    candidate; points then carry ``latency_predicted`` True.

    ``precision`` (fp32, bf16, int8; default: the device's, else fp32) chooses the model size a
    ``max_size_mb`` budget reads (``size_<precision>``), the accuracy (int8: the quantized
    edition, published or estimated from the float-to-quant drop) and the device's precision
    when its name does not say (``<device>@<precision>``; one that says otherwise is refused).
    """
    limits = {name: check_budget(name, v) for name, v in (
        ("max_latency_ms", max_latency_ms), ("max_params_m", max_params_m),
        ("max_mult_adds_m", max_mult_adds_m), ("max_size_mb", max_size_mb),
        ("max_peak_activation_mb", max_peak_activation_mb), ("min_top1", min_top1))}
    active = {k: v for k, v in limits.items() if v is not None}
    _check_network_accuracy(points_kwargs.get("spec"), "min_top1" in active)
    device, precision = _with_precision(device, precision)
    c = _candidates(active, device, predicted_latency, grid, {**points_kwargs,
                                                                "precision": precision})
    base = {"budgets": active, "device": device, "precision": c.precision,
            "latency_predicted": bool(c.lat_col and predicted_latency),
            "considered": c.n, "feasible": int(c.feasible.sum()),
            "notes": list(c.frame.attrs["notes"]), "edition": c.frame.attrs["edition"],
            "binding": [], "jointly_binding": [], "slack": {}, "closest": None, "needs": {},
            "runner_up": None, "best": None, "alignment": []}
    if not c.feasible.any():
        return {**base, **_none_fits(c)}
    fidx = c.order[c.feasible[c.order]]
    bi = int(fidx[0])
    best = c.record(bi)
    runner = c.record(int(fidx[1])) if len(fidx) > 1 else None
    binding, jointly, why = _binding(c, bi)
    alignment: list[dict[str, Any]] = []
    if device:
        try:
            alignment = _alignment(best, device, c.frame.attrs["config"])
        except CostModelError as exc:  # e.g. too few measured configs to fit a model
            base["notes"].append(f"channel alignment of {best['label']} not checked: {exc}")
    if alignment:
        from costmodel.latency.predict import alignment_note

        base["notes"].append(alignment_note(best["label"], c.frame.attrs["config"]["rounding"],
                                            alignment))
    return {**base, "status": "ok", "best": best, "runner_up": runner, "binding": binding,
            "jointly_binding": jointly, "slack": _slack(c, bi),
            "reason": f"{_headline(c, best, runner)} {why}", "alignment": alignment}


def _check_network_accuracy(spec: Any, min_top1: bool) -> None:
    """recommend ranks by top-1: a network that publishes none is refused in one line."""
    from costmodel.search.accuracy import network_accuracy

    if spec is None or spec == "mobilenet_v1" or network_accuracy(spec):
        return
    from costmodel.core.arch import get_description
    from costmodel.search.networks import network_objectives

    name = get_description(spec).name
    what = "--min-top1 (min_top1)" if min_top1 else "recommend (it ranks configs by top-1)"
    raise CostModelError(f"{what}: network {name!r} has no published top-1 accuracy (none cited, "
                         f"and none is estimated); allowed for {name}: "
                         f"{', '.join(network_objectives(spec))} (costmodel pareto)")


def _candidates(active: dict[str, float], device: str | None, predicted_latency: bool,
                grid: bool, points_kwargs: dict[str, Any]) -> _Candidates:
    """The points to choose from: top-1, and the device's latency when a device is given."""
    from costmodel.search.pareto import parse_objective, points

    if device is not None and not (isinstance(device, str) and device.strip()):
        raise CostModelError(f"device {device!r} is unknown; allowed: a device id "
                             f"(see `costmodel pareto --list`)")
    if "max_latency_ms" in active and device is None:
        from costmodel.search.pareto import device_ids

        raise CostModelError(f"max_latency_ms needs a device; allowed: {', '.join(device_ids())}")
    lat_col = None
    objs: list[str] = ["top1"]
    if device is not None:
        kind = "latency_pred" if predicted_latency else "latency"
        lat_col = parse_objective(f"{kind}:{device}").name
        objs.append(lat_col)
    return _Candidates(points(objs, grid=grid, **points_kwargs), lat_col, active,
                       points_kwargs.get("precision") or "fp32")


def _with_precision(device: str | None, precision: str | None) -> tuple[str | None, str | None]:
    """(device name, precision): ``--precision`` fills a device name that names none (a name
    that names another is refused), and a device's own precision is the default one."""
    from dataclasses import replace

    from costmodel.io.latency_data import DEVICE_ALIASES, PRECISIONS, precision_name
    from costmodel.search.pareto import check_precision, resolve_device

    precision = check_precision(precision)
    if not device or not isinstance(device, str):
        return device, precision
    spec = resolve_device(device)
    own = precision_name(spec.precision)
    if precision is None:
        return device, own if own in PRECISIONS else None
    if "@" in DEVICE_ALIASES.get(device.strip(), device):
        if own != precision:
            raise CostModelError(f"device {device!r} is at precision {own}, --precision is "
                                 f"{precision}; allowed: --precision {own} or none, or a device "
                                 f"name without @")
        return device, precision
    return replace(spec, precision=PRECISIONS[precision]).name(), precision


def _none_fits(c: _Candidates) -> dict[str, Any]:
    """Nothing fits: the closest config (smallest worst-case ratio of need to budget) and what
    it needs."""
    ci = c.nearest(np.arange(c.n))
    closest = c.record(ci)
    needs = {k: float(c.value(k)[ci]) for k in c.active if not c.ok[k][ci]}
    need_txt = ", ".join(f"{k} {'>=' if BUDGETS[k].upper else '<='} {_fmt(v)} "
                         f"(budget {_fmt(c.active[k])})" for k, v in needs.items())
    reason = (f"No config meets every budget ({c.n} considered). The closest is "
              f"{closest['label']} (top-1 {closest['top1']:.1f}%"
              f"{', estimated' if closest['top1_estimated'] else ''}); it needs {need_txt}.")
    return {"status": "none_fits", "closest": closest, "needs": needs, "reason": reason}


def _slack(c: _Candidates, bi: int) -> dict[str, dict[str, float]]:
    """How much of each budget the best config uses."""
    slack: dict[str, dict[str, float]] = {}
    for k, lim in c.active.items():
        v = float(c.value(k)[bi])
        slack[k] = {"limit": lim, "value": v,
                    "used_pct": 100.0 * v / lim if BUDGETS[k].upper else 100.0 * lim / v}
    return slack


def _binding(c: _Candidates, bi: int) -> tuple[list[dict[str, Any]], list[str], str]:
    """Which budgets bind the best config ``bi``: (binding, jointly binding, the sentence)."""
    top1 = c.frame["top1"].to_numpy(np.float64)
    better = top1 > top1[bi]  # more accurate configs: each violates some budget
    binding: list[dict[str, Any]] = []
    for k, lim in c.active.items():
        others = np.ones(c.n, dtype=bool)
        for k2, m in c.ok.items():
            if k2 != k:
                others &= m
        cand = np.flatnonzero(better & others)
        if len(cand):
            # the smallest relaxation of this budget that admits a more accurate config
            need = c.value(k)[cand]
            j = int(cand[np.lexsort((c.rank[cand], need if BUDGETS[k].upper else -need))[0]])
            nxt = c.record(j)
            binding.append({"budget": k, "limit": lim, "unit": c.unit(k),
                            "needs": float(c.value(k)[j]),
                            "next": {"label": nxt["label"], "top1": nxt["top1"],
                                     "top1_estimated": nxt["top1_estimated"]}})
    if binding:
        return binding, [], " ".join(
            f"{b['budget']} {_fmt(b['limit'])} {b['unit']} binds: {b['next']['label']} "
            f"({b['next']['top1']:.1f}%) needs {_fmt(b['needs'])}." for b in binding)
    if not better.any():
        return [], [], "No budget binds: the most accurate config considered meets every budget."
    # the more accurate config needing the least relaxation (worst ratio need / budget)
    j = c.nearest(np.flatnonzero(better))
    jointly = [k for k in c.active if not c.ok[k][j]]
    nxt = c.record(j)
    return [], jointly, (f"{' and '.join(jointly)} bind jointly: the nearest more accurate "
                         f"config, {nxt['label']} ({nxt['top1']:.1f}%), needs "
                         + ", ".join(f"{k} {_fmt(float(c.value(k)[j]))}" for k in jointly) + ".")


def _headline(c: _Candidates, best: dict[str, Any], runner: dict[str, Any] | None) -> str:
    est = " (estimated)" if best["top1_estimated"] else ""
    head = f"Best: {best['label']} with top-1 {best['top1']:.1f}%{est}"
    if runner is not None:
        head += (f"; runner-up {runner['label']} ({runner['top1']:.1f}%"
                 f"{', estimated' if runner['top1_estimated'] else ''})")
    return head + f". {int(c.feasible.sum())} of {c.n} configs meet every budget."


def _alignment(best: dict[str, Any], device: str, config: dict[str, Any]) -> list[dict[str, Any]]:
    """The best config's aligned alternatives (same alpha under divisible8, nearest alpha with
    channels that are multiples of 8) with their predicted latency on ``device``: latency is
    not monotone in alpha, and a config slowed by its channel alignment shows as such."""
    from costmodel.latency import kernel
    from costmodel.latency.predict import aligned_alternatives
    from costmodel.search.pareto import resolve_device

    spec = resolve_device(device)
    model = kernel.fit_device(spec.device_id, backend=spec.backend, threads=spec.threads,
                              precision=spec.precision, variant=config["variant"],
                              spec=config.get("network"))
    return aligned_alternatives(model, float(best["alpha"]), int(best["resolution"]),
                                config["rounding"])
