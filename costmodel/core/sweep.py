"""Vectorized sweeps: totals and per-type breakdown over an alpha x resolution grid.

The grid is counted with the engine's own counting functions, fed numpy arrays instead of ints:
channels are an (A, 1) column (they depend on alpha only), spatial sizes a (1, R) row (they
depend on resolution only), so every layer's cost is one broadcast (A, R) array and the whole
grid costs one pass over the ~30 layers, not one pass per config.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from costmodel.core.arch import (
    ROUNDING_RULES,
    Description,
    Layer,
    check_alpha,
    check_choice,
    check_resolution,
    expand,
    get_description,
    min_alpha,
    resolve_shapes,
)
from costmodel.core.conventions import Convention, get_convention
from costmodel.core.engine import BYTES_FP32, category, count_layer, live_per_layer
from costmodel.core.kinds import LayerType, type_name
from costmodel.errors import CostModelError

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class SweepResult:
    alphas: np.ndarray  # (A,)
    resolutions: np.ndarray  # (R,)
    mult_adds: np.ndarray  # (A, R) int64
    params: np.ndarray  # (A, R) int64 (constant along R)
    activations: np.ndarray  # (A, R) output activations summed over layers
    peak_activation_bytes: np.ndarray  # (A, R)
    by_type: dict[LayerType, dict[str, np.ndarray]]  # type -> {"mult_adds", "params": (A,R)}
    config: dict[str, Any]
    # breakdown category (engine.category: the type, or "SE") -> {"mult_adds", "params": (A,R)}
    by_category: dict[LayerType | str, dict[str, np.ndarray]]

    @property
    def weight_bytes(self) -> np.ndarray:
        return self.params * BYTES_FP32

    def __len__(self) -> int:
        return int(self.mult_adds.size)

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per (alpha, resolution), per-category columns
        ``mult_adds[<type>]`` and ``params[<type>]``: the breakdown's categories (a
        squeeze-and-excitation's layers under "SE", as in ``costmodel breakdown``)."""
        import pandas as pd

        a, r = np.meshgrid(self.alphas, self.resolutions, indexing="ij")
        cols: dict[str, Any] = {
            "alpha": a.ravel(), "resolution": r.ravel(),
            "mult_adds": self.mult_adds.ravel(), "params": self.params.ravel(),
            "weight_bytes": self.weight_bytes.ravel(), "activations": self.activations.ravel(),
            "peak_activation_bytes": self.peak_activation_bytes.ravel(),
        }
        for t, d in self.by_category.items():
            name = type_name(t) if isinstance(t, LayerType) else t
            cols[f"mult_adds[{name}]"] = d["mult_adds"].ravel()
            cols[f"params[{name}]"] = d["params"].ravel()
        return pd.DataFrame(cols)


def _zero_sums(shape: tuple[int, int]) -> dict[str, np.ndarray]:
    return {"mult_adds": np.zeros(shape, dtype=np.int64), "params": np.zeros(shape, dtype=np.int64)}


def resolve_arrays(alphas: np.ndarray, resolutions: np.ndarray, *, variant: str,
                   rounding: str | None,
                   classes: int, desc: Description) -> list[Layer]:
    """Shapes of every layer for validated alpha/resolution arrays that broadcast (a grid, or
    pairs), with the same 0-channel check as the single-config path (rounding None: the
    description's own rule)."""
    rounding = desc.rounding if rounding is None else rounding
    check_choice("rounding", rounding, list(ROUNDING_RULES))
    specs = expand(desc, variant)
    layers = resolve_shapes(specs, alphas, resolutions, rounding, classes, desc.input_channels,
                            desc.input_scale)
    shape = np.broadcast_shapes(np.shape(alphas), np.shape(resolutions))
    for layer in layers:
        ch = np.broadcast_to(layer.out_channels, shape)
        if (ch < 1).any():
            bad = np.broadcast_to(alphas, shape)[ch < 1].min()
            raise CostModelError(
                f"alpha {bad:g} gives layer {layer.name} 0 channels under rounding {rounding!r}; "
                f"allowed: alpha >= {min_alpha(specs, rounding):.6g}")
    return layers


REFERENCE_BASE = 224  # the base resolution MobileNet-V1's ranges and defaults are written for


def scaled_resolutions(values: Iterable[int], base: int) -> list[int]:
    """``values`` (written for base 224) at the network's base resolution, unique, sorted."""
    return sorted({max(1, round(v * base / REFERENCE_BASE)) for v in values})


def resolves(desc: Description, alphas: Iterable[float], resolution: int, rounding: str) -> bool:
    """Does the network resolve (every shape and group check passes) at each of ``alphas`` at
    ``resolution`` under ``rounding``? One vectorised pass for all the alphas."""
    a = np.atleast_1d(np.asarray(list(alphas), dtype=np.float64))
    try:
        resolve_arrays(a, np.full(a.size, resolution, dtype=np.int64), variant="mobilenet_v1",
                       rounding=rounding, classes=1000, desc=desc)
    except CostModelError:
        return False
    return True


def least_resolution(desc: Description, lo: int, hi: int, rounding: str) -> int | None:
    """The smallest resolution in ``lo..hi`` at which the network resolves at alpha 1 under
    ``rounding`` (windowed pools and unpadded convs need a least size); None if none does."""
    return next((r for r in range(lo, hi + 1) if resolves(desc, [1.0], r, rounding)), None)


def resolution_span(desc: Description, lo: int, hi: int, rounding: str
                    ) -> tuple[int, int, int | None]:
    """A range ``lo..hi`` written for base 224 at the network's base resolution, as (low, high),
    and the least resolution in it at which the network resolves (None if none does)."""
    scaled = scaled_resolutions((lo, hi), desc.base_resolution)
    return scaled[0], scaled[-1], least_resolution(desc, scaled[0], scaled[-1], rounding)


def as_array(values: Iterable[Any] | Any, check: Any, dtype: Any) -> np.ndarray:
    """One value or an iterable of them as a 1-D array of ``dtype``, each passed through
    ``check`` (which raises CostModelError on a bad one); an empty grid is refused."""
    vals = [values] if np.isscalar(values) or isinstance(values, str) else list(values)
    if not vals:
        raise CostModelError("empty grid; allowed: at least one alpha and one resolution")
    return np.asarray([check(v) for v in vals], dtype=dtype)


def sweep(alphas: Iterable[Any] | Any, resolutions: Iterable[Any] | Any, *,
          variant: str = "mobilenet_v1", rounding: str | None = None,
          convention: str | Convention = "paper", classes: int = 1000,
          spec: str | Path | Mapping[str, Any] | Description | None = None) -> SweepResult:
    """Count every (alpha, resolution) pair of the grid at once. Same rules as layer_table."""
    counting = get_convention(convention)
    desc = get_description(spec)
    rounding = desc.rounding if rounding is None else rounding
    a = as_array(alphas, check_alpha, np.float64)
    r = as_array(resolutions, check_resolution, np.int64)
    layers = resolve_arrays(a[:, None], r[None, :], variant=variant, rounding=rounding,
                            classes=classes + counting.extra_classes, desc=desc)
    shape = (a.size, r.size)
    zeros = np.zeros(shape, dtype=np.int64)
    mult_adds = zeros.copy()
    params = zeros.copy()
    acts = zeros.copy()
    peak = zeros.copy()
    by_type: dict[LayerType, dict[str, np.ndarray]] = {}
    by_category: dict[LayerType | str, dict[str, np.ndarray]] = {}
    for layer, live in zip(layers, live_per_layer(layers)):
        c = count_layer(layer, counting)
        ma = zeros + c.mult_adds
        p = zeros + c.params
        mult_adds += ma
        params += p
        acts += layer.out_elements
        np.maximum(peak, live, out=peak)
        for sums in (by_type.setdefault(layer.type, _zero_sums(shape)),
                     by_category.setdefault(category(layer), _zero_sums(shape))):
            sums["mult_adds"] += ma
            sums["params"] += p
    config = {"variant": variant, "rounding": rounding, "convention": counting.name,
              "classes": classes, "spec": desc.name}
    return SweepResult(a, r, mult_adds, params, acts, peak * BYTES_FP32, by_type, config,
                       by_category)
