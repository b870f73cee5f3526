"""Real torch models built from the same resolved layer list the engine counts.

Module names equal the layer table's row names (``conv1``, ``conv_dw_1``, ``conv_pw_1``, ...,
``avg_pool``, ``fc``), so per-layer counts from fvcore and friends align with the table by name.
Convolutions use TF 'SAME' padding (out = ceil(in / stride)); where SAME needs asymmetric padding
(even kernels, or stride 2 on some sizes) an explicit ZeroPad2d does it, so forward shapes always
equal the table's. torch is imported here and only here (and by the modules that need a model).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from costmodel.core.arch import Description, Layer, get_description, resolve, same_out
from costmodel.core.kinds import CONV_KINDS, Kind
from costmodel.errors import CostModelError


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF 'SAME': total pad so that out = ceil(size / stride); the extra pixel goes after."""
    out = same_out(size, stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _conv_block(layer: Layer) -> nn.Sequential:
    before, after = _same_padding(layer.in_size, layer.kernel, layer.stride)
    parts: list[tuple[str, nn.Module]] = []
    if before != after:
        parts.append(("pad", nn.ZeroPad2d((before, after, before, after))))
        padding = 0
    else:
        padding = before
    parts += [
        ("conv", nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel, layer.stride,
                           padding=padding, groups=layer.groups, bias=False)),
        ("bn", nn.BatchNorm2d(layer.out_channels)),
        ("relu", nn.ReLU(inplace=True)),
    ]
    return nn.Sequential(OrderedDict(parts))


def _unbuildable(layer: Layer) -> str | None:
    """Why this builder cannot build ``layer`` (it builds MobileNet-style chains: SAME-padded
    square convs + BN + ReLU, the global average pool, the linear classifier), or None."""
    sp = layer.spec
    if layer.kind not in (*CONV_KINDS, Kind.AVGPOOL, Kind.FC):
        return f"kind {layer.kind.value!r}"
    if layer.inputs != (layer.index - 1,):
        return "an input other than the layer before it"
    if layer.kind == Kind.AVGPOOL and layer.kernel != 0 or sp is not None and sp.output:
        return "a windowed or adaptive pool"
    if layer.kind in CONV_KINDS and sp is not None and (
            sp.padding is not None or sp.dilation != 1 or sp.kernel_w not in (None, sp.kernel)
            or sp.stride_w not in (None, sp.stride) or not sp.bn or sp.bias or sp.act != "relu"):
        return "torch padding, dilation, a non-square kernel, a bias or no BN/ReLU"
    if layer.kind == Kind.FC and (layer.act != "none" or not layer.bias):
        return "an activation or no bias"
    return None


def _check_buildable(layers: list[Layer], name: str) -> None:
    for layer in layers:
        why = _unbuildable(layer)
        if why:
            raise CostModelError(f"the torch builder cannot build layer {layer.name} of {name} "
                                 f"({why}) yet; allowed: chains of conv, dw, pw (SAME padding, "
                                 f"BN, ReLU), the global avgpool and fc")


def _module_for(layer: Layer) -> nn.Module:
    if layer.kind in CONV_KINDS:
        return _conv_block(layer)
    if layer.kind == Kind.AVGPOOL:
        return nn.Sequential(OrderedDict(pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(1)))
    if layer.kind == Kind.FC:
        return nn.Linear(layer.in_channels, layer.out_channels)
    raise NotImplementedError(f"no torch module for layer kind {layer.kind!r}")


class CostModelNet(nn.Sequential):
    """An nn.Sequential whose children are named after the layer table's rows."""

    def __init__(self, layers: list[Layer], config: dict[str, Any]) -> None:
        super().__init__(OrderedDict((layer.name, _module_for(layer)) for layer in layers))
        self.layers = layers
        self.config = config

    def example_input(self, batch: int = 1) -> torch.Tensor:
        first = self.layers[0]
        return torch.randn(batch, first.in_channels, first.in_size, first.in_size)


def build_model(alpha: float = 1.0, resolution: int = 224, *, variant: str = "mobilenet_v1",
                rounding: str = "int", classes: int = 1000,
                spec: str | Path | Mapping[str, Any] | Description | None = None,
                fold_bn: bool = False, seed: int | None = 0) -> CostModelNet:
    """Build the network of one configuration (eval mode). Raises CostModelError on bad input."""
    desc = get_description(spec)
    layers = resolve(desc, variant, alpha, resolution, rounding, classes)
    _check_buildable(layers, desc.name)
    config = {"alpha": float(alpha), "resolution": int(resolution), "variant": variant,
              "rounding": rounding, "classes": classes, "spec": desc.name}
    if seed is None:
        model = CostModelNet(layers, config)
    else:
        # Seeded weights without touching the caller's global random state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = CostModelNet(layers, config)
    model.eval()
    return fold_batchnorm(model) if fold_bn else model


@torch.no_grad()
def fold_batchnorm(model: CostModelNet) -> CostModelNet:
    """A copy in which each conv absorbs its BatchNorm (eval statistics): w' = w * g / s,
    b' = beta - mean * g / s with s = sqrt(var + eps); the BN becomes Identity."""
    folded = copy.deepcopy(model).eval()
    for block in folded.children():
        if not isinstance(getattr(block, "bn", None), nn.BatchNorm2d):  # none, or folded already
            continue
        conv: nn.Conv2d = block.conv  # type: ignore[assignment]
        bn: nn.BatchNorm2d = block.bn  # type: ignore[assignment]
        assert bn.running_var is not None and bn.running_mean is not None
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,  # type: ignore[arg-type]
                          conv.stride, conv.padding, groups=conv.groups, bias=True,  # type: ignore[arg-type]
                          device=conv.weight.device, dtype=conv.weight.dtype)
        fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
        assert fused.bias is not None
        fused.bias.copy_(bn.bias - bn.running_mean * scale)
        block.conv = fused
        block.bn = nn.Identity()
    return folded
