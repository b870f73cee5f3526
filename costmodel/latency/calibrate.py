"""``costmodel latency calibrate`` and ``costmodel latency evaluate --random`` (issue #10).

Calibrate measures this machine for one backend and thread count within a time budget, then
fits :mod:`costmodel.latency.kernel`'s model and scores it on configs it held out.

What it measures (:func:`plan`): a scrambled Sobol sequence over alpha 0.25..1.3, resolution
96..288 and the rounding rules ``int`` and ``divisible8``, after the four corners of that range,
so that any prefix of the plan (a budget cut anywhere) spreads over the whole range. Every other
point has its alpha snapped to a multiple of 1/8 or 1/4 (under ``int`` rounding: channel counts
that are multiples of 4 and 8, many of 16), the others keep alphas whose channel counts are not;
``divisible8`` gives multiples of 8 at any alpha. So the fit sees both sides of each alignment step
at every scale.

Time: before each config it estimates that config's cost (build + export + timing, a line in
mult-adds fitted to the configs measured so far, x1.5; a prior for the first) and stops when the
estimate would end past the budget less a reserve for the fit. Each finished row is written at
once, atomically (:func:`costmodel.io.latency_data.append_row`), so an interrupted or killed run
loses no finished row, and a second run resumes the plan where the first stopped (configs this
machine already measured for this device/backend/threads are skipped).

Any network (``spec``: a built-in's name or a description file; issue #11): its rows carry the
network (:func:`costmodel.core.arch.network_key`) and its model is fitted on them alone. Its plan
(:func:`network_plan`) keeps the same corners-then-Sobol order over alpha 0.25..1.3 and
the network's resolution range (96..288 scaled by its ``base_resolution / 224``, no lower
than the smallest resolution it resolves at), with alphas on a 1/256 grid of the ones it
allows (a description whose groups no longer divide the channels refuses some): every fourth
point takes the nearest alpha whose scaled channel counts are all multiples of 8 but not all of
16, every fourth the nearest with all multiples of 16, the others keep alphas that are mostly
neither. MobileNet-V1's plan is :func:`plan`, unchanged.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.errors import CostModelError
from costmodel.latency import kernel
from costmodel.latency.isolation import MeasureFn, isolated  # noqa: F401 (re-exported)
from costmodel.latency.isolation import prepare_parent as _prepare_parent

ALPHA_RANGE = (0.25, 1.3)
RESOLUTION_RANGE = (96, 288)
ROUNDINGS = ("int", "divisible8")
PLAN_SIZE = 4096
MIN_TIME_S = 0.2  # timed seconds per config (plus warm-up): more configs beat more passes
REPEATS = 5
WARMUP = 2
SAFETY = 1.5
PRIOR_MACS_PER_S = 5e9


def _snap(alpha: float, step: float) -> float:
    return float(min(max(round(alpha / step) * step, ALPHA_RANGE[0]), ALPHA_RANGE[1]))


def plan(n: int = PLAN_SIZE, seed: int = 0) -> list[tuple[float, int, str]]:
    """The calibration plan: (alpha, resolution, rounding), corners first (see module doc)."""
    from scipy.stats import qmc

    (alo, ahi), (rlo, rhi) = ALPHA_RANGE, RESOLUTION_RANGE
    # the cheapest config first (it pays the imports and shows the fixed cost per config), then
    # the most expensive: after these two the cost estimate spans every later one
    out = [(alo, rlo, "int"), (ahi, rhi, "divisible8"), (ahi, rlo, "int"), (alo, rhi, "divisible8")]
    pts = qmc.Sobol(d=3, scramble=True, seed=seed).random(1 << int(np.ceil(np.log2(max(n, 2)))))
    for i, (u, v, w) in enumerate(pts[: max(n - len(out), 0)]):
        alpha = alo + float(u) * (ahi - alo)
        alpha = {1: _snap(alpha, 0.125), 3: _snap(alpha, 0.25)}.get(i % 4, round(alpha, 4))
        out.append((alpha, int(round(rlo + float(v) * (rhi - rlo))), ROUNDINGS[int(w >= 0.5)]))
    return out[:n]


def random_configs(n: int, seed: int = 0, spec: Any = None) -> list[tuple[float, int, str]]:
    """``n`` test configs: alpha uniform in 0.25..1.3 (4 decimals), integer resolution uniform in
    96..288 (another network: its :func:`network_ranges`), rounding int or divisible8 with equal
    odds; seeded. An alpha the network refuses becomes the nearest one it allows (1/256 grid)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise CostModelError(f"random {n!r} is out of range; allowed: an integer >= 1")
    (alo, ahi), (rlo, rhi) = network_ranges(spec)
    rng = np.random.default_rng(seed)
    out = [(round(float(rng.uniform(alo, ahi)), 4), int(rng.integers(rlo, rhi + 1)),
            ROUNDINGS[int(rng.integers(2))]) for _ in range(n)]
    if _is_v1(spec):
        return out
    return [(a if _resolves(spec, a, rlo, rd) else _nearest(spec, a, rd), r, rd)
            for a, r, rd in out]


def _is_v1(spec: Any) -> bool:
    from costmodel.core.arch import network_key

    return network_key(spec) == "mobilenet_v1"


def _resolves(spec: Any, alpha: float, resolution: int, rounding: str) -> bool:
    from costmodel.core.arch import get_description
    from costmodel.core.sweep import resolves

    return resolves(get_description(spec), [alpha], resolution, rounding)


def network_ranges(spec: Any = None) -> tuple[tuple[float, float], tuple[int, int]]:
    """The alpha and resolution range a network is calibrated over: MobileNet-V1's 0.25..1.3 x
    96..288; another network's resolutions scaled by its ``base_resolution / 224`` and no lower
    than the smallest resolution it resolves at (e.g. Inception V3: 128..384)."""
    if _is_v1(spec):
        return ALPHA_RANGE, RESOLUTION_RANGE
    from costmodel.core.arch import get_description
    from costmodel.core.sweep import resolution_span

    desc = get_description(spec)
    rlo, rhi, lo = resolution_span(desc, *RESOLUTION_RANGE, "divisible8")
    if lo is None:
        raise CostModelError(f"network {desc.name!r} resolves at no resolution "
                             f"in {rlo}..{rhi}; allowed: a network that takes images of "
                             f"{rlo}..{rhi} px")
    return ALPHA_RANGE, (lo, rhi)


ALPHA_STEP = 256  # a network's planned alphas are multiples of 1/256


def _alpha_grid() -> np.ndarray:
    lo, hi = ALPHA_RANGE  # the range's ends are on it too (1.3 is not a multiple of 1/256)
    return np.unique(np.r_[lo, np.arange(np.ceil(lo * ALPHA_STEP),
                                         np.floor(hi * ALPHA_STEP) + 1) / ALPHA_STEP, hi])


def _grid_alignment(spec: Any, rounding: str) -> np.ndarray:
    """Per alpha of :func:`_alpha_grid`: the smallest gcd(channels, 16) over the network's
    scaled layers (1, 2, 4, 8 or 16), 0 where the network refuses the alpha."""
    from costmodel.core.arch import network_key

    if spec is None or isinstance(spec, str | Path):
        return _grid_alignment_cached(network_key(spec), None if spec is None else str(spec),
                                      rounding)
    return _grid_alignment_of(spec, rounding)  # a description given as data: not cached


@lru_cache(maxsize=32)
def _grid_alignment_cached(key: str, spec: str | None, rounding: str) -> np.ndarray:
    return _grid_alignment_of(spec, rounding)


def _grid_alignment_of(spec: Any, rounding: str) -> np.ndarray:
    grid = _alpha_grid()
    res = network_ranges(spec)[1][0]
    try:
        return np.asarray(kernel.worst_alignment(grid, np.full(grid.size, res), rounding,
                                                 spec=spec))
    except CostModelError:  # some alpha refused: one at a time
        out = np.zeros(grid.size, dtype=np.int64)
        for i, a in enumerate(grid):
            with suppress(CostModelError):
                out[i] = kernel.worst_alignment([a], [res], rounding, spec=spec)[0]
        return out


def _nearest(spec: Any, alpha: float, rounding: str, want: int | None = None) -> float:
    """The grid alpha nearest ``alpha`` that the network allows; ``want`` 8: whose channels are
    all multiples of 8 and not all of 16 (any multiple of 8 where none is), 16: all of 16; where
    the network has no such alpha (EfficientNet's squeeze-excite widths 4, 6, 10, ...: none is
    a multiple of 8), the best aligned it has."""
    grid, al = _alpha_grid(), _grid_alignment(spec, rounding)
    ok = al > 0
    if want is not None and ok.any():
        best = int(al.max())
        ok = (al == 8) if want == 8 and (al == 8).any() else al >= min(want, best)
    if not ok.any():
        from costmodel.core.arch import get_description

        raise CostModelError(f"network {get_description(spec).name!r} allows no alpha in "
                             f"{ALPHA_RANGE[0]}..{ALPHA_RANGE[1]} under rounding {rounding!r}; "
                             f"allowed: a network whose channels can be thinned")
    cand = grid[ok]
    return float(cand[np.argmin(np.abs(cand - alpha))])


def network_plan(spec: Any, n: int = PLAN_SIZE, seed: int = 0) -> list[tuple[float, int, str]]:
    """The calibration plan of any network (module doc): :func:`plan` for MobileNet-V1."""
    if _is_v1(spec):
        return plan(n, seed)
    from scipy.stats import qmc

    (alo, ahi), (rlo, rhi) = network_ranges(spec)
    corners = [(alo, rlo, "int"), (ahi, rhi, "divisible8"), (ahi, rlo, "int"),
               (alo, rhi, "divisible8")]
    out = [(_nearest(spec, a, rd), r, rd) for a, r, rd in corners]
    pts = qmc.Sobol(d=3, scramble=True, seed=seed).random(1 << int(np.ceil(np.log2(max(n, 2)))))
    for i, (u, v, w) in enumerate(pts[: max(n - len(out), 0)]):
        rd = ROUNDINGS[int(w >= 0.5)]
        alpha = _nearest(spec, alo + float(u) * (ahi - alo), rd, {1: 8, 3: 16}.get(i % 4))
        out.append((alpha, int(round(rlo + float(v) * (rhi - rlo))), rd))
    return out[:n]


def _options(backend: str, threads: int, rounding: str, precision: str = "fp32",
             spec: Any = None) -> Any:
    from costmodel.latency.bench import BenchOptions

    return BenchOptions(backend=backend, threads=threads, repeats=REPEATS, min_time=MIN_TIME_S,
                        warmup=WARMUP, rounding=rounding, precision=precision,
                        spec=spec).checked()


def _mult_adds(alpha: float, resolution: int, rounding: str, spec: Any = None) -> float:
    """A config's mult-adds, as the engine counts them (what a measurement's time scales with)."""
    from costmodel.core.engine import layer_table

    return float(layer_table(alpha, resolution, rounding=rounding, spec=spec).totals["mult_adds"])


class _CostEstimate:
    """Seconds a config will take: ``c0 + c1 * mult-adds`` over the configs measured so far."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, float]] = []

    def add(self, mult_adds: float, seconds: float) -> None:
        self.seen.append((mult_adds, seconds))

    def __call__(self, mult_adds: float) -> float:
        """Until 3 configs of different size are measured: the slowest so far (1 s before any)
        plus 25 calls at 5 GMAC/s, a prior; then the fitted line. Times SAFETY. The first
        config of a run also pays one-time costs (imports, the first export): it is left out
        once there are two others."""
        seen = self.seen[1:] if len(self.seen) >= 3 else self.seen
        m, s = (np.asarray(v, dtype=float) for v in zip(*seen, strict=True)) \
            if seen else (np.zeros(0), np.zeros(0))
        if len(seen) < 3 or np.ptp(m) == 0:
            c0 = float(s.max()) if s.size else 1.0
            return SAFETY * (c0 + 25 * mult_adds / PRIOR_MACS_PER_S)
        c1, c0 = np.polyfit(m, s, 1)
        return SAFETY * max(float(c0 + max(c1, 0.0) * mult_adds), float(s.min()))


@dataclass
class Calibration:
    device_id: str
    backend: str
    threads: int
    path: Path
    budget_s: float
    precision: str = "fp32"  # short name (fp32, bf16, int8): rows of one precision, one fit
    spec: Any = None  # the network (a built-in's name or a file; None: MobileNet-V1): one fit
    elapsed_s: float = 0.0
    measured: list[dict[str, Any]] = field(default_factory=list)  # rows measured now
    skipped: int = 0  # planned configs already in the file (resumed)
    stopped: str = ""  # why the loop ended
    held_out: kernel.HeldOut | None = None
    model: kernel.KernelModel | None = None



def _isolated_default(backend: str, data_dir: Any, precision: str, children: int,
                      fn: Callable[..., dict[str, Any]] | None = None) -> MeasureFn:
    """The measurement calibrate and measure_random use unless given one: ``fn`` (default
    :func:`_default_measure`) in forked children (:func:`isolated`), the parent prepared once."""
    _prepare_parent(backend, data_dir, precision)
    return isolated(partial(fn or _default_measure, data_dir=data_dir), children)


def _default_measure(alpha: float, resolution: int, opts: Any,
                     data_dir: Any = None) -> dict[str, Any]:
    from costmodel.latency.bench import measure

    return measure(alpha, resolution, opts, data_dir=data_dir)


def _measure_with_layers(alpha: float, resolution: int, opts: Any,
                         data_dir: Any = None) -> dict[str, Any]:
    from costmodel.latency.layer_times import measure_with_layers

    return measure_with_layers(alpha, resolution, opts, data_dir=data_dir)


def calibrate(*, budget_s: float = 300.0, backend: str = "onnxruntime", threads: int = 1,
              device_id: str, path: Path, fingerprint: str = "", data_dir: Any = None,
              seed: int = 0, measure: MeasureFn | None = None, progress: bool = True,
              clock: Callable[[], float] = time.monotonic,
              reserve_s: float | None = None, precision: str = "fp32",
              spec: Any = None, layer_times: bool = False, children: int = 1) -> Calibration:
    """Measure planned configs until the budget (less ``reserve_s`` for the fit, default 5% of
    it, at most 15 s) is spent, writing each row to ``path`` at once (:func:`finish` then scores
    and fits). ``fingerprint``: this machine's (resume skips only its rows); ``data_dir``: the
    user data folder the rows' fingerprint is read from; ``precision``: what is measured and
    fitted (fp32, bf16, int8: separate rows and a separate fit per precision, never mixed);
    ``spec``: the network measured (its own plan, rows and fit; None: MobileNet-V1);
    ``layer_times``: also read each config's per-layer times from the runtime
    (:mod:`costmodel.latency.layer_times`; MobileNet-V1 in fp32 on onnxruntime or torch), stored
    beside the rows, so the fit may choose the per-layer form (it costs calibration time);
    ``children``: forked children per config, the median one's row kept (:func:`isolated`)."""
    from tqdm import tqdm

    from costmodel.io import latency_data
    from costmodel.latency.bench import planned_row_key

    if not (isinstance(budget_s, int | float) and 0 < budget_s <= 86400):
        raise CostModelError(f"budget-s {budget_s!r} is out of range; allowed: 0 < seconds <= 86400")
    start = clock()
    reserve = min(0.05 * budget_s, 15.0) if reserve_s is None else reserve_s
    from costmodel.latency import layer_times as lt

    per_layer = layer_times and spec is None
    measure = measure or _isolated_default(backend, data_dir, precision, children,
                                           _measure_with_layers if per_layer else _default_measure)
    have = latency_data.measured_counts(path)
    in_file = {k for k, v in have.items() if v}  # resumed: measured before this run
    cal = Calibration(device_id, backend, threads, path, float(budget_s), precision, spec=spec)
    estimate = _CostEstimate()
    bar = tqdm(total=round(float(budget_s), 1), unit="s", desc="calibrate", file=sys.stderr,
               disable=not progress, dynamic_ncols=True,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s {postfix}")
    try:
        for alpha, res, rounding in network_plan(spec, seed=seed):
            opts = _options(backend, threads, rounding, precision, spec)
            key = planned_row_key(alpha, res, opts, device_id, fingerprint)
            if have.get(key, 0):
                cal.skipped += key in in_file  # a repeat of this run's plan is not a resume
                continue
            madds = _mult_adds(alpha, res, rounding, spec)
            if clock() - start + estimate(madds) > budget_s - reserve:
                cal.stopped = "budget"
                break
            t0 = clock()
            row = {**measure(alpha, res, opts), "device_id": device_id}
            layers = row.pop("_layers", None)
            latency_data.append_row(path, row)
            if layers is not None:  # after its row: a kill in between loses only these
                lt.append(path, {**layers, "device_id": device_id})
            have[key] = 1  # the plan may repeat a config
            cal.measured.append(row)
            estimate.add(madds, clock() - t0)
            bar.set_postfix_str(f"{len(cal.measured)} configs, last {alpha:g}-{res} {rounding}")
            bar.update(round(clock() - start, 1) - bar.n)
        else:
            cal.stopped = "plan done"
    finally:
        bar.close()
    cal.elapsed_s = clock() - start
    return cal


def finish(cal: Calibration, *, stat: str, data_dir: Any, seed: int = 0) -> Calibration:
    """The held-out score of the device's configs for this backend/threads, and the fit on all
    (cached for later predictions)."""
    from costmodel.io.latency_data import stored_precision

    stored = stored_precision(cal.precision)
    m = kernel.measured(cal.device_id, backend=cal.backend, threads=cal.threads, stat=stat,
                        precision=stored, data_dir=data_dir, spec=cal.spec)
    cal.held_out = kernel.held_out(m, stat=stat, seed=seed, spec=cal.spec)
    cal.model = kernel.fit_device(cal.device_id, backend=cal.backend, threads=cal.threads,
                                  precision=stored, stat=stat, data_dir=data_dir, spec=cal.spec)
    return cal


def measure_random(n: int, *, backend: str, threads: int, seed: int = 0,
                   measure: MeasureFn | None = None, progress: bool = True,
                   data_dir: Any = None, precision: str = "fp32",
                   spec: Any = None, children: int = 1) -> list[dict[str, Any]]:
    """Measure ``n`` fresh random configs of the network ``spec`` now (:func:`random_configs`),
    each in ``children`` forked children (:func:`isolated`); nothing is saved."""
    from tqdm import tqdm

    measure = measure or _isolated_default(backend, data_dir, precision, children)
    return [measure(alpha, res, _options(backend, threads, rounding, precision, spec))
            for alpha, res, rounding in tqdm(random_configs(n, seed, spec), desc="evaluate",
                                             unit="config", file=sys.stderr,
                                             disable=not progress, dynamic_ncols=True)]


def score_measured(model: kernel.KernelModel, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Score ``model`` on measured rows, against the statistic it was fitted to: ``within``
    (share within +/-10%), |error| median and IQR (percent), per-config ``rows``."""
    a = [float(r["alpha"]) for r in rows]
    res = [int(r["resolution"]) for r in rows]
    rd = [str(r["rounding"]) for r in rows]
    within, out, err = kernel.score(model, a, res, rd, [float(r[f"{model.stat}_ms"]) for r in rows])
    for row, why in zip(out, model.outside(model.design(a, res, rd), a, res), strict=True):
        row["outside"] = why
    q1, med, q3 = np.quantile(err, [0.25, 0.5, 0.75])
    return {"within": within, "n": len(out), "abs_error_median_pct": 100 * float(med),
            "abs_error_iqr_pct": [100 * float(q1), 100 * float(q3)],
            "baseline_within": float(np.mean([abs(x["baseline_error_pct"]) <= 100 * kernel.WITHIN
                                              for x in out])),
            "stat": model.stat, "rows": out}


def evaluate_random(model: kernel.KernelModel, n: int, *, backend: str, threads: int,
                    seed: int = 0, measure: MeasureFn | None = None,
                    progress: bool = True, data_dir: Any = None) -> dict[str, Any]:
    """Measure ``n`` fresh random configs now, at the precision ``model`` was fitted on, and
    score ``model`` on them. Nothing is saved."""
    from costmodel.io.latency_data import precision_name

    rows = measure_random(n, backend=backend, threads=threads, seed=seed, measure=measure,
                          progress=progress, data_dir=data_dir,
                          precision=precision_name(str(model.meta.get("precision", "float32"))),
                          spec=model.spec)
    return {**score_measured(model, rows), "seed": seed}
