"""costmodel: an analytical cost model and design-space explorer for convolutional networks.

Public API (imported lazily, so ``import costmodel`` stays cheap):

- ``layer_table(alpha, resolution, *, variant, rounding, convention, classes, spec)``: per-layer
  mult-adds and parameters of one configuration (:mod:`costmodel.core.engine`).
- ``sweep(alphas, resolutions, ...)``: totals over a grid, vectorized (:mod:`costmodel.core.sweep`).
- ``breakdown(...)``: shares per layer type vs the paper's Table 2 (:mod:`costmodel.core.breakdown`).
- ``reproduce()``: every published cost figure, computed vs printed (:mod:`costmodel.crosscheck.reproduce`).
- ``symbolic_totals(...)``: the closed-form polynomial in alpha and rho (:mod:`costmodel.core.formula`).
- ``build_model(...)``: the torch model of a configuration (:mod:`costmodel.crosscheck.torch_model`).

Architecture: subpackages in layers, lowest first; a module imports only from its own layer or
lower ones (``tests/test_layers.py`` checks every import, lazy ones too):

- ``errors``: the one exception type;
- ``io``: data paths (``paths``), the one atomic writer and data-version key (``files``), the
  paper's 16-config grid (``grids``), published reference figures, stored latency measurements;
- ``core``: layer kinds and types (``kinds``), the architecture description (``arch``),
  conventions, the counting engine (one registry; activations and bytes too), sweep, formula,
  reduction, breakdown;
- ``crosscheck``: the torch builder, verify (fvcore and other counters), reproduce;
- ``latency``: bench, device fingerprint, the latency models, stored layer-time profiles read
  back with typed layer types (``profiles``);
- ``search``: accuracy, pareto, recommend;
- ``report``: formatting (where typed values become text) and plots;
- ``cli``: the command line (argument tables and thin commands).

Rows hold numbers and tuples (a layer's type is a :class:`costmodel.core.kinds.LayerType`, a
shape is ``(height, width, channels)``); strings are made in :mod:`costmodel.report.formatting`.
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
