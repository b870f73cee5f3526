"""Depthwise separable vs standard convolution, layer by layer (paper Section 3.1, eq. 5).

For each depthwise + pointwise pair of a configuration, the standard convolution it replaces is
the dense ``D_K x D_K`` conv with the pair's input, output width and stride (the paper's Table 4
"Conv MobileNet" layer). Both are counted by the engine's own counting functions
(:func:`costmodel.core.engine.count_layer`), so the ratio follows the chosen convention; under the
paper's convention it equals the closed form ``1/N + 1/D_K^2`` exactly::

    (D_K*D_K*M*D_F*D_F + M*N*D_F*D_F) / (D_K*D_K*M*N*D_F*D_F) = 1/N + 1/D_K^2

A pair is found wherever one occurs, not only in MobileNet-V1's chain: a depthwise conv whose
output reaches a dense 1x1 conv (stride 1) through nothing but activations, BatchNorm and a
squeeze-and-excitation scale (inverted residuals, MBConv, ShuffleNetV2 branches). The SE's own
cost is on neither side.

Nothing here counts; it only pairs layers and divides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from costmodel.core.arch import Description, Layer, get_description, resolve
from costmodel.core.conventions import Convention, get_convention
from costmodel.core.engine import count_layer
from costmodel.core.kinds import CONV1X1, Kind

REDUCTION_COLUMNS = (
    "name", "standard_name", "kernel", "stride", "in_channels", "out_channels", "out_size",
    "separable_mult_adds", "standard_mult_adds", "mult_adds_ratio", "closed_form_ratio",
    "separable_params", "standard_params", "params_ratio",
)


def _standard_equivalent(dw: Layer, pw: Layer, index: int) -> Layer:
    """The dense conv that a dw+pw pair replaces: same input, kernel, stride and output."""
    return Layer(index=index, name=f"standard({dw.name}+{pw.name})", kind=Kind.CONV,
                 kernel=dw.kernel, stride=dw.stride, in_channels=dw.in_channels,
                 out_channels=pw.out_channels, in_size=dw.in_size, out_size=pw.out_size,
                 kernel_w=dw.kernel_w, stride_w=dw.stride_w, in_width=dw.in_width,
                 out_width=pw.out_width, inputs=dw.inputs)


_PASS = (Kind.ACT, Kind.BN, Kind.MUL)  # ops between a depthwise conv and its pointwise one


def separable_pairs(layers: Sequence[Layer]) -> list[tuple[Layer, Layer]]:
    """(depthwise, pointwise) pairs: each depthwise conv with the dense 1x1 conv (stride 1) its
    output reaches through activations, BatchNorm or an SE scale only (an SE's squeeze branch
    is stepped over: its pool reads the tensor, its scale carries the main path on)."""
    consumers: dict[int, list[Layer]] = {}
    for lay in layers:
        for j in dict.fromkeys(lay.inputs or ()):
            consumers.setdefault(j, []).append(lay)
    pairs = []
    for dw in (lay for lay in layers if lay.kind == Kind.DW):
        cur = dw
        while True:
            nxt = [c for c in consumers.get(cur.index, []) if c.kind != Kind.AVGPOOL
                   or consumers.get(cur.index, []) == [c]]
            if len(nxt) != 1:
                break
            cur = nxt[0]
            if cur.type == CONV1X1 and cur.stride == 1 and cur.kind != Kind.GCONV:
                pairs.append((dw, cur))
                break
            if cur.kind not in _PASS:
                break
    return pairs


def separable_reduction(alpha: float = 1.0, resolution: int = 224, *, variant: str = "mobilenet_v1",
                        rounding: str | None = None, convention: str | Convention = "paper",
                        classes: int = 1000,
                        spec: str | Path | Mapping[str, Any] | Description | None = None,
                        ) -> list[dict[str, Any]]:
    """One row per depthwise separable pair: its cost, the standard conv's cost and their ratios.

    Raises CostModelError on bad input (same rules as :func:`costmodel.core.engine.layer_table`).
    A variant without separable pairs (``full_conv``) gives an empty list.
    """
    counting = get_convention(convention)
    desc = get_description(spec)
    layers = resolve(desc, variant, alpha, resolution, rounding, classes + counting.extra_classes)
    rows: list[dict[str, Any]] = []
    for dw, pw in separable_pairs(layers):
        std = _standard_equivalent(dw, pw, dw.index)
        c_dw, c_pw, c_std = count_layer(dw, counting), count_layer(pw, counting), count_layer(std, counting)
        sep_ma = c_dw.mult_adds + c_pw.mult_adds
        sep_p = c_dw.params + c_pw.params
        rows.append({
            "name": f"{dw.name} + {pw.name}",
            "standard_name": f"conv {dw.kernel}x{dw.kernel}",
            "kernel": dw.kernel,
            "stride": dw.stride,
            "in_channels": dw.in_channels,
            "out_channels": pw.out_channels,
            "out_size": pw.out_size,
            "separable_mult_adds": sep_ma,
            "standard_mult_adds": c_std.mult_adds,
            "mult_adds_ratio": sep_ma / c_std.mult_adds,
            "closed_form_ratio": 1 / pw.out_channels + 1 / dw.kernel ** 2,
            "separable_params": sep_p,
            "standard_params": c_std.params,
            "params_ratio": sep_p / c_std.params,
        })
    return rows
