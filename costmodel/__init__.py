"""costmodel: an analytical cost model and design-space explorer for MobileNet-style networks.

Public API (imported lazily, so ``import costmodel`` stays cheap):

- ``layer_table(alpha, resolution, *, variant, rounding, convention, classes, spec)``: per-layer
  mult-adds and parameters of one configuration (:mod:`costmodel.engine`).
- ``sweep(alphas, resolutions, ...)``: totals over a grid, vectorized (:mod:`costmodel.sweep`).
- ``breakdown(...)``: shares per layer type vs the paper's Table 2 (:mod:`costmodel.breakdown`).
- ``reproduce()``: every published cost figure, computed vs printed (:mod:`costmodel.reproduce`).
- ``symbolic_totals(...)``: the closed-form polynomial in alpha and rho (:mod:`costmodel.formula`).
- ``build_model(...)``: the torch model of a configuration (:mod:`costmodel.torch_model`).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "layer_table": "costmodel.engine",
    "LayerTable": "costmodel.engine",
    "sweep": "costmodel.sweep",
    "breakdown": "costmodel.breakdown",
    "reproduce": "costmodel.reproduce",
    "symbolic_totals": "costmodel.formula",
    "build_model": "costmodel.torch_model",
    "CostModelError": "costmodel.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'costmodel' has no attribute {name!r}")


__all__ = list(_LAZY)
