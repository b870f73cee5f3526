"""Predicted latency of any alpha/resolution/rounding on a device: the rows `costmodel latency
predict` prints, joined here (the fitted model, the measured figure of the same statistic where a
config was measured, the roofline bound where the device's hardware limits are stored), so the
command line only parses and renders (issues #10, #12).

The cached path (a model already fitted for the current data) imports neither pandas nor scipy:
the model, its training figures and its device type come from the on-disk cache of
:func:`costmodel.latency.kernel.fit_device`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from costmodel.errors import CostModelError
from costmodel.latency import kernel


@dataclass
class Prediction:
    model: kernel.KernelModel
    rows: list[dict[str, Any]]
    limits: dict[str, Any] | None
    extrapolated: list[str] = field(default_factory=list)  # reasons, when allowed

    @property
    def stat_label(self) -> str:
        return kernel.STAT_LABELS[self.model.stat]


def predict(device_id: str, alphas: Sequence[Any], resolutions: Sequence[Any], *,
            rounding: str | None = None, backend: str | None = None, threads: int | None = None,
            batch: int = 1, variant: str = "mobilenet_v1", precision: str = "float32",
            stat: str = kernel.DEFAULT_STAT, data_dir: Any = None,
            allow_extrapolation: bool = False, spec: Any = None) -> Prediction:
    """One row per (alpha, resolution) of the grid ``alphas`` x ``resolutions``: predicted ms,
    the ``k * mult-adds`` baseline, the measured figure (same statistic) where measured, and the
    roofline bound. ``rounding`` None: the device's own when all its configs share one (the
    published phones: slim), else int. A config outside the calibrated range raises
    CostModelError with the reason unless ``allow_extrapolation``. ``spec``: the network (a
    built-in's name or a description file; None: MobileNet-V1), fitted on its own rows only."""
    from costmodel.latency.model import hardware_limits, roofline_bound_ms

    model = kernel.fit_device(device_id, backend=backend, threads=threads, batch=batch,
                              variant=variant, precision=precision, stat=stat, data_dir=data_dir,
                              spec=spec)
    if rounding is None:  # the device's own rounding when it has one (published: slim)
        seen = {m[2] for m in model.meta.get("measured", [])}
        rounding = seen.pop() if len(seen) == 1 else "int"
    aa, rr = (g.ravel() for g in np.meshgrid(np.asarray(alphas, dtype=float),
                                             np.asarray(resolutions, dtype=int), indexing="ij"))
    d = model.design(aa, rr, rounding)
    reasons = [w for w in model.outside(d, aa, rr) if w]
    if reasons and not allow_extrapolation:
        raise CostModelError(f"{device_id} {model.meta.get('backend')}: {reasons[0]}; allowed: "
                             f"a config inside the calibrated range, or --allow-extrapolation")
    pred = model.predict_design(d)
    base = model.meta["k_baseline"] * d.mult_adds
    known = {(round(a, 6), int(r), rd): y for a, r, rd, y in model.meta.get("measured", [])}
    meta = model.meta
    limits = None if meta.get("published") else hardware_limits(
        device_id, meta.get("threads"), meta.get("device_type", "cpu"), data_dir)
    bound = (roofline_bound_ms(aa, rr, peak_gflops=limits["peak_gflops"],
                               bandwidth_gbs=limits["bandwidth_gbs"], variant=variant,
                               rounding=rounding, classes=model.classes, batch=batch, spec=spec)
             if limits else np.full(aa.shape, np.nan))
    rows = []
    for i in range(aa.size):
        m = known.get((round(float(aa[i]), 6), int(rr[i]), rounding))
        b = float(bound[i]) if bound[i] == bound[i] else None
        rows.append({"alpha": float(aa[i]), "resolution": int(rr[i]), "rounding": rounding,
                     "mult_adds_m": mult_adds_m(aa[i], rr[i], rounding, variant, spec),
                     "predicted_ms": float(pred[i]),
                     "baseline_ms": float(base[i]), "measured_ms": m, "roofline_ms": b,
                     "vs_roofline": (m / b) if m and b else None, "stat": model.stat})
    return Prediction(model, rows, limits, reasons)


def mult_adds_m(alpha: Any, resolution: Any, rounding: str, variant: str,
                spec: Any = None) -> float:
    """Mult-adds (millions) of a config as the engine counts them for `costmodel table` (paper
    convention, 1000 classes, one image). Not the kernel model's design sum, which counts the
    network its device was measured with (1001 classes for TF-slim's published figures) times
    the batch: that sum serves only its ``k * mult-adds`` baseline."""
    from costmodel.core.engine import layer_table

    t = layer_table(float(alpha), int(resolution), variant=variant, rounding=rounding, spec=spec)
    return float(t.totals["mult_adds"]) / 1e6


ALIGNED = 8  # a channel count that is a multiple of this runs the fast kernels everywhere


def aligned_alternatives(model: kernel.KernelModel, alpha: float, resolution: int,
                         rounding: str = "int", *, span: float = 0.25) -> list[dict[str, Any]]:
    """For a config with a channel count that is not a multiple of 8: the same alpha under
    ``divisible8`` rounding and the nearest alpha (1/256 steps, within ``span``) whose channels
    are all multiples of 8 under this rounding, each with its predicted latency, mult-adds and
    whether it is faster. Only the channel counts alpha scales count (not the image's 3 input
    channels, nor the classifier's classes), and an alternative is never this config itself
    (nor another name of the same network: the same channels at this resolution). [] when the
    config's channels are aligned already, or when the model cannot predict it (outside its
    calibrated range)."""
    here = model.design([alpha], [resolution], [rounding])
    if (here.scaled_channels() % ALIGNED == 0).all() or any(model.outside(here, [alpha],
                                                                          [resolution])):
        return []
    grid = np.arange(max(np.ceil((alpha - span) * 256), 1), np.floor((alpha + span) * 256) + 1) / 256
    lo, hi = model.alpha_range
    grid = grid[(grid >= lo - 1e-9) & (grid <= hi + 1e-9)]
    cands: list[tuple[float, str]] = []
    if rounding != "divisible8":
        cands.append((float(alpha), "divisible8"))
    if grid.size:
        d = model.design(grid, np.full(grid.size, resolution), rounding)
        ok = np.flatnonzero((d.scaled_channels() % ALIGNED == 0).all(axis=0))
        if ok.size:
            cands.append((float(grid[ok[np.argmin(np.abs(grid[ok] - alpha))]]), rounding))
    if not cands:
        return []
    a = [c[0] for c in cands]
    d = model.design(a, [resolution] * len(a), [c[1] for c in cands])
    same = (d.channels == here.channels).all(axis=0)  # this config's own network
    keep = [w is None and not same[i] for i, w in enumerate(model.outside(d, a, [resolution] * len(a)))]
    pred, this = model.predict_design(d), float(model.predict_design(here)[0])
    this_ma = mult_adds_m(alpha, resolution, rounding, model.variant, model.spec)
    return [{"alpha": a[i], "resolution": int(resolution), "rounding": cands[i][1],
             "predicted_ms": float(pred[i]),
             "mult_adds_m": mult_adds_m(a[i], resolution, cands[i][1], model.variant,
                                        model.spec),
             "faster": bool(pred[i] < this), "this_ms": this, "this_mult_adds_m": this_ma}
            for i in range(len(cands)) if keep[i]]


def alignment_note(label: str, rounding: str, alts: Sequence[dict[str, Any]]) -> str:
    """One line: this config's predicted latency beside its aligned alternatives'."""
    if not alts:
        return ""
    parts = [f"{a['alpha']:g}-{a['resolution']} ({a['rounding']}) {a['predicted_ms']:.2f} ms "
             f"at {a['mult_adds_m']:.0f} M mult-adds" for a in alts]
    faster = any(a["faster"] and a["mult_adds_m"] >= alts[0]["this_mult_adds_m"] for a in alts)
    return (f"{label} ({rounding}) has channel counts that are not multiples of {ALIGNED}: "
            f"predicted {alts[0]['this_ms']:.2f} ms at {alts[0]['this_mult_adds_m']:.0f} M "
            f"mult-adds; aligned: " + ", ".join(parts)
            + ("; a config with more mult-adds runs faster" if faster else ""))
