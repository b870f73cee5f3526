"""costmodel: an analytical cost model and design-space explorer for MobileNet-style networks.

Public API (imported lazily, so ``import costmodel`` stays cheap):

- ``layer_table(alpha, resolution, *, variant, rounding, convention, classes, spec)``: per-layer
  mult-adds and parameters of one configuration (:mod:`costmodel.core.engine`).
- ``sweep(alphas, resolutions, ...)``: totals over a grid, vectorized (:mod:`costmodel.core.sweep`).
- ``breakdown(...)``: shares per layer type vs the paper's Table 2 (:mod:`costmodel.core.breakdown`).
- ``reproduce()``: every published cost figure, computed vs printed (:mod:`costmodel.crosscheck.reproduce`).
- ``symbolic_totals(...)``: the closed-form polynomial in alpha and rho (:mod:`costmodel.core.formula`).
- ``build_model(...)``: the torch model of a configuration (:mod:`costmodel.crosscheck.torch_model`).

Architecture: subpackages in layers, lowest first; a module imports only from its own layer or
lower ones (``tests/test_layers.py`` checks it):

- ``errors``: the one exception type;
- ``io``: data paths, published reference figures, stored latency measurements;
- ``core``: the architecture description (``arch``), conventions, the counting engine, sweep,
  formula, reduction, breakdown;
- ``crosscheck``: the torch builder, verify (fvcore and other counters), reproduce;
- ``latency``: bench and the latency model;
- ``search``: accuracy, pareto, recommend;
- ``report``: formatting and plots;
- ``cli``: the command line (argument tables and thin commands).

``dashboard/`` sits above all of them and reads the public API.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "layer_table": "costmodel.core.engine",
    "LayerTable": "costmodel.core.engine",
    "sweep": "costmodel.core.sweep",
    "breakdown": "costmodel.core.breakdown",
    "reproduce": "costmodel.crosscheck.reproduce",
    "symbolic_totals": "costmodel.core.formula",
    "build_model": "costmodel.crosscheck.torch_model",
    "CostModelError": "costmodel.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'costmodel' has no attribute {name!r}")


__all__ = list(_LAZY)
