"""Per-layer features, the roofline bound and hardware limits of a device (issue #4).

Every layer ``l`` of a configuration has two terms, taken from the engine's own counting
functions (vectorized like :mod:`costmodel.core.sweep`, so a whole grid costs one pass over the
layers): compute ``M_l`` (mult-adds, paper convention, times the batch; with ``pad`` > 1 counted
with channels rounded up to that multiple) and memory traffic ``B_l`` (bytes of its fp32
weights plus its input and output activations, times the batch).

The roofline *bound* of a configuration (:func:`roofline_bound_ms`) uses the hardware limits
measured on the device (``costmodel bench --roofline``: fp32 matmul GFLOP/s, copy GB/s):
``sum_l max(2 M_l / peak_flops, B_l / bandwidth)``, the time no backend can beat if layers run
one after another, so ``measured / bound`` says how far a backend is from the hardware limit.

:func:`baseline_k` is the ``latency = k * mult-adds`` baseline every latency score is set
beside, and :func:`_data_stamp` the version of a device's latency files that keys a cached fit.
The latency model itself (what ``latency predict``, ``calibrate`` and ``evaluate`` use) is the
per-kernel model of :mod:`costmodel.latency.kernel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.core.arch import check_alpha, check_resolution, get_description
from costmodel.core.conventions import get_convention
from costmodel.core.engine import count_layer, padded_mult_adds, traffic_bytes
from costmodel.core.kinds import LayerType
from costmodel.core.sweep import resolve_arrays
from costmodel.errors import CostModelError
from costmodel.io.files import files_stamp


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


def _data_stamp(device_id: str, data_dir: str | Path | None) -> tuple[Any, ...]:
    """Path, mtime and size of the files a device's latency is read from: the cache key of a
    fit, so a file `costmodel bench` rewrites is fitted again and an unchanged one is not."""
    from costmodel.io import latency_data

    files = (latency_data.latency_path(device_id, data_dir), Path(latency_data.PUBLISHED_CSV))
    return (device_id, None if data_dir is None else str(Path(data_dir).resolve()),
            *files_stamp(files))


def baseline_k(total_mult_adds: np.ndarray, measured_ms: np.ndarray) -> float:
    """k of ``T = k * mult-adds`` minimizing relative error: k = sum(x/y) / sum((x/y)^2)."""
    q = np.asarray(total_mult_adds, dtype=float) / np.asarray(measured_ms, dtype=float)
    return float(q.sum() / (q * q).sum())


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
