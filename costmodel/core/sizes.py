"""Model size per precision (issue #13): the bytes of the stored weights of a config.

- ``fp32``: parameters x 4 bytes, ``bf16``: parameters x 2 bytes (parameters under the counting
  convention, as ``costmodel table`` counts them).
- ``int8``: exactly what the static QDQ export (``costmodel export --precision int8``,
  :func:`costmodel.latency.runtimes.quantize_int8`: onnxruntime's ``quantize_static``, per-channel
  int8 weights, uint8 activations) stores as initializers, whatever the convention:

  ====================================  =========================================  ==============
  what                                  how many                                   bytes each
  ====================================  =========================================  ==============
  weights (conv, depthwise, FC)         the weight tensors' elements               1 (int8)
  per output channel of each weight     C = sum of output channels of the conv     4 + 1 + 4 + 4
  layer: weight scale, weight zero      and FC layers (BatchNorm is folded into    + 4 = 17
  point, bias, bias scale, bias zero    the convs, so every one has a bias)
  point                                 (fp32, int8, int32, fp32, int32)
  per quantized activation tensor:      A = the input, the output of every layer   4 + 1 = 5
  scale and zero point                  but the classifier, and the flattened
  (fp32, uint8)                         pooled vector: layers + 1
  ====================================  =========================================  ==============

  so ``size_int8 = W + 17 C + 5 A``; e.g. alpha 0.25 at 32x32 (1000 classes): W = 463,600,
  C = 3,736, A = 30: 527,262 bytes, the sum of the initializer bytes of that export
  (``tests/test_sizes.py`` exports it and compares). The bias scale and zero point are what
  onnxruntime's QDQ format writes beside each int32 bias (a DequantizeLinear's inputs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.core.arch import Description, get_description
from costmodel.core.conventions import get_convention
from costmodel.core.engine import count_layer
from costmodel.core.sweep import as_array, resolve_arrays
from costmodel.errors import CostModelError
from costmodel.io.latency_data import PRECISIONS

SIZE_PRECISIONS = tuple(PRECISIONS)  # the precision vocabulary's one home: fp32, bf16, int8
BYTES_PER_PARAM = {"fp32": 4, "bf16": 2}
INT8_PER_CHANNEL_BYTES = 4 + 1 + 4 + 4 + 4  # weight scale, zero point; bias, its scale, zero point
INT8_PER_ACTIVATION_BYTES = 4 + 1  # per-tensor scale (fp32) and zero point (uint8)


def check_size_precision(precision: Any) -> str:
    if precision not in SIZE_PRECISIONS:
        raise CostModelError(f"precision {precision!r} has no model size; allowed: "
                             f"{', '.join(SIZE_PRECISIONS)}")
    return str(precision)


def int8_parts(alphas: Iterable[Any] | Any, resolutions: Iterable[Any] | Any, *,
               variant: str = "mobilenet_v1", rounding: str = "int", classes: int = 1000,
               spec: str | Path | Mapping[str, Any] | Description | None = None
               ) -> dict[str, np.ndarray]:
    """The parts of the int8 size over an alpha x resolution grid, (A, R) arrays: ``weights``
    (W), ``channels`` (C), ``activations`` (A) and ``bytes`` (W + 17 C + 5 A)."""
    a = as_array(alphas, lambda v: v, np.float64)
    r = as_array(resolutions, lambda v: v, np.int64)
    layers = resolve_arrays(a[:, None], r[None, :], variant=variant, rounding=rounding,
                            classes=classes, desc=get_description(spec))
    shape = (a.size, r.size)
    weights = np.zeros(shape, dtype=np.int64)
    channels = np.zeros(shape, dtype=np.int64)
    exact = get_convention("paper")  # weight tensors only: no BatchNorm, no biases
    for layer in layers:
        w = count_layer(layer, exact).params
        if np.any(w):
            weights += w
            channels += np.where(np.asarray(w) > 0, layer.out_channels, 0)
    acts = np.full(shape, len(layers) + 1, dtype=np.int64)
    total = weights + INT8_PER_CHANNEL_BYTES * channels + INT8_PER_ACTIVATION_BYTES * acts
    return {"weights": weights, "channels": channels, "activations": acts, "bytes": total}
