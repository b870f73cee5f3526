"""Real torch models built from the same resolved layer list the engine counts: any lowered
description (a DAG of typed layers with producer indices), at any alpha, resolution and rounding.

Module names equal the layer table's row names (``conv1``, ``conv_dw_1``, ..., ``avg_pool``,
``fc``; a composite's rows such as ``layer1.block1.conv1`` are nested modules of that path), so
per-layer counts from fvcore and friends align with the table by name
(:meth:`CostModelNet.named_layers`). The forward pass follows each layer's producer indices.

Every kind has its module: convs (grouped, depthwise, dilated, non-square) with their own
BatchNorm, bias and activation; BatchNorm, activations, windowed/adaptive/global pools (ceil
mode too), residual add, SE scale, concat, split chunks, channel shuffle, flatten, dropout,
linear, LRN. TF 'SAME' padding (out = ceil(in / stride)) is padded explicitly where it is
asymmetric (a ZeroPad2d child ``pad``), torch padding is the layer's own, so forward shapes
always equal the table's. torch is imported here and only here (and by the modules that need a
model).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from costmodel.core.arch import Description, Layer, get_description, resolve, same_out
from costmodel.core.kinds import POOL_KINDS, WEIGHTED_KINDS, Kind
from costmodel.errors import CostModelError


def _same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF 'SAME': total pad so that out = ceil(size / stride); the extra pixel goes after."""
    out = same_out(size, stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _padding(layer: Layer) -> tuple[tuple[int, int], nn.Module | None]:
    """(symmetric padding for the op, or a ZeroPad2d child where TF SAME is asymmetric)."""
    sp = layer.spec
    if sp is not None and sp.padding is not None:
        return (int(sp.padding[0]), int(sp.padding[1])), None
    d = sp.dilation if sp is not None else 1
    top, bottom = _same_padding(layer.in_size, layer.kernel, layer.stride, d)
    left, right = _same_padding(layer.in_width, layer.kernel_w, layer.stride_w, d)
    if top == bottom and left == right:
        return (top, left), None
    return (0, 0), nn.ZeroPad2d((left, right, top, bottom))


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "hswish": nn.Hardswish, "silu": nn.SiLU,
    "swish": nn.SiLU, "sigmoid": nn.Sigmoid, "hsigmoid": nn.Hardsigmoid, "tanh": nn.Tanh,
    "gelu": nn.GELU,
}


def activation(name: str) -> nn.Module | None:
    """The torch module of a grammar activation (None for ``none``)."""
    if name == "none":
        return None
    cls = _ACTIVATIONS[name]
    return cls(inplace=True) if cls in (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU,
                                        nn.Hardsigmoid) else cls()


class _Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class _Scale(nn.Module):  # squeeze-and-excitation: the input times its per-channel gate
    def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        return x * gate


class _Concat(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, 1)


class _Chunk(nn.Module):
    """One of ``parts`` equal channel chunks (ShuffleNetV2's split)."""

    def __init__(self, parts: int, part: int) -> None:
        super().__init__()
        self.parts, self.part = parts, part

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.parts, 1)[self.part]


class _Shuffle(nn.Module):
    """Channel shuffle in ``groups`` groups (view, transpose, view)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def _conv_block(layer: Layer) -> nn.Sequential:
    """pad (where SAME is asymmetric), conv, its BatchNorm, its activation (child named after
    the activation: ``relu``, ``hswish``, ...)."""
    padding, pad = _padding(layer)
    sp = layer.spec
    parts: list[tuple[str, nn.Module]] = [("pad", pad)] if pad is not None else []
    parts.append(("conv", nn.Conv2d(
        int(layer.in_channels), int(layer.out_channels), (layer.kernel, layer.kernel_w),
        (layer.stride, layer.stride_w), padding=padding, dilation=sp.dilation if sp else 1,
        groups=int(layer.groups), bias=layer.bias)))
    if layer.bn:
        parts.append(("bn", nn.BatchNorm2d(int(layer.out_channels))))
    act = activation(layer.act)
    if act is not None:
        parts.append((layer.act, act))
    return nn.Sequential(OrderedDict(parts))


def _pool(layer: Layer, flatten: bool) -> nn.Module:
    """A pool; ``flatten``: a global pool that only linear layers read, made (N, C)."""
    sp = layer.spec
    avg = layer.kind == Kind.AVGPOOL
    if layer.kernel == 0:
        size = (sp.output if sp is not None else None) or 1
        pool = nn.AdaptiveAvgPool2d(size) if avg else nn.AdaptiveMaxPool2d(size)
        return nn.Sequential(OrderedDict(pool=pool, flatten=nn.Flatten(1))) if flatten else pool
    padding, pad = _padding(layer)
    ceil = bool(sp.ceil_mode) if sp is not None else False
    kernel, stride = (layer.kernel, layer.kernel_w), (layer.stride, layer.stride_w)
    op: nn.Module = (nn.AvgPool2d(kernel, stride, padding, ceil_mode=ceil) if avg
                     else nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil))
    return op if pad is None else nn.Sequential(OrderedDict(pad=pad, pool=op))


def _options(layer: Layer) -> dict[str, Any]:
    return dict(layer.spec.options) if layer.spec is not None else {}


def _module_for(layer: Layer, flat: bool, flatten: bool) -> nn.Module:
    """The module of one layer; ``flat``: its input is a flattened (N, C) tensor; ``flatten``:
    it is a global pool read only by linear layers (its output is made flat)."""
    kind = layer.kind
    if kind in WEIGHTED_KINDS:
        return _conv_block(layer)
    if kind in (Kind.AVGPOOL, Kind.MAXPOOL):
        return _pool(layer, flatten)
    if kind == Kind.FC:  # nn.Linear; flatten before it on a (N, C, 1, 1) input, act after
        fc = nn.Linear(int(layer.in_channels), int(layer.out_channels), bias=layer.bias)
        act = activation(layer.act)
        if flat and act is None:
            return fc
        parts = ([] if flat else [("flatten", nn.Flatten(1))]) + [("linear", fc)]
        return nn.Sequential(OrderedDict(parts + ([(layer.act, act)] if act else [])))
    opts = _options(layer)
    bn = nn.BatchNorm1d if flat else nn.BatchNorm2d
    simple: dict[Kind, Any] = {
        Kind.BN: lambda: bn(int(layer.out_channels)),
        Kind.ACT: lambda: activation(layer.act) or nn.Identity(),
        Kind.ADD: _Add, Kind.MUL: _Scale, Kind.CONCAT: _Concat,
        Kind.SLICE: lambda: _Chunk(int(layer.groups), int(opts.get("part", 0))),
        Kind.SHUFFLE: lambda: _Shuffle(int(layer.groups)),
        Kind.FLATTEN: lambda: nn.Flatten(1),
        Kind.DROPOUT: lambda: nn.Dropout(float(opts.get("p", 0.5))),
        Kind.LRN: lambda: nn.LocalResponseNorm(int(opts.get("size", 5)),
                                               float(opts.get("alpha", 1e-4)),
                                               float(opts.get("beta", 0.75)),
                                               float(opts.get("k", 1.0))),
    }
    if kind not in simple:
        raise NotImplementedError(f"no torch module for layer kind {kind!r}")
    return simple[kind]()


def _attach(root: nn.Module, name: str, module: nn.Module) -> None:
    """Register ``module`` under the dotted ``name``, making plain containers for the path."""
    *path, leaf = name.split(".")
    parent = root
    for i, part in enumerate(path):
        child = parent._modules.get(part)
        if child is None:
            child = nn.Module()
            parent.add_module(part, child)
        elif type(child) is not nn.Module:
            raise CostModelError(f"layer {name!r}: {'.'.join(path[:i + 1])!r} is a layer too; "
                                 f"allowed: layer names that are not the prefix of another's")
        parent = child
    if leaf in parent._modules:
        raise CostModelError(f"layer {name!r} is also a composite's prefix; allowed: layer names "
                             f"that are not the prefix of another's")
    parent.add_module(leaf, module)


class CostModelNet(nn.Module):
    """A network whose layers are modules named after the layer table's rows (dotted names are
    nested modules), run in the table's topological order along its producer indices."""

    def __init__(self, layers: list[Layer], config: dict[str, Any]) -> None:
        super().__init__()
        self.layers = layers
        self.config = config
        last_use: dict[int, int] = {}
        readers: dict[int, set[Kind]] = {}
        for layer in layers:
            for j in layer.inputs or ():
                last_use[j] = layer.index
                readers.setdefault(j, set()).add(layer.kind)
        flat: dict[int, bool] = {-1: False}  # whether a layer's output is (N, C)
        for layer in layers:
            src = flat[(layer.inputs or (-1,))[0]]
            flatten = (layer.kind in POOL_KINDS and layer.kernel == 0
                       and layer.out_size == layer.out_width == 1
                       and readers.get(layer.index) == {Kind.FC})
            _attach(self, layer.name, _module_for(layer, src, flatten))
            flat[layer.index] = flatten or layer.kind in (Kind.FC, Kind.FLATTEN) or (
                src and layer.kind in (Kind.BN, Kind.ACT, Kind.DROPOUT))
        # per layer: (producer indices, tensors no longer needed after it)
        self._plan = [(tuple(layer.inputs or ()),
                       tuple(j for j in dict.fromkeys(layer.inputs or ())
                             if last_use.get(j) == layer.index))
                      for layer in layers]

    def named_layers(self) -> Iterator[tuple[str, nn.Module]]:
        """(row name, module) for every layer, in the table's order."""
        for layer in self.layers:
            yield layer.name, self.get_submodule(layer.name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: dict[int, torch.Tensor] = {-1: x}
        y = x
        for i, ((_, module), (inputs, done)) in enumerate(zip(self.named_layers(), self._plan)):
            y = module(*(outs[j] for j in inputs))
            for j in done:  # free what no later layer reads
                del outs[j]
            outs[i] = y
        return y

    def example_input(self, batch: int = 1) -> torch.Tensor:
        first = self.layers[0]
        return torch.randn(batch, int(first.in_channels), int(first.in_size),
                           int(first.in_width))


def output_shape(y: torch.Tensor) -> tuple[int, int, int]:
    """A layer's output (one sample) as the table writes it, (height, width, channels); a
    flattened (N, C) output is (1, 1, C)."""
    s = [int(d) for d in y.shape[1:]]
    return (s[1], s[2], s[0]) if len(s) == 3 else (1, 1, s[0])


def build_model(alpha: float = 1.0, resolution: int = 224, *, variant: str = "mobilenet_v1",
                rounding: str | None = "int", classes: int = 1000,
                spec: str | Path | Mapping[str, Any] | Description | None = None,
                fold_bn: bool = False, seed: int | None = 0) -> CostModelNet:
    """Build the network of one configuration (eval mode; rounding None: the description's
    own rule). Raises CostModelError on bad input."""
    desc = get_description(spec)
    rounding = desc.rounding if rounding is None else rounding
    layers = resolve(desc, variant, alpha, resolution, rounding, classes)
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
    b' = beta - mean * g / s (+ the conv's own bias folded the same way) with
    s = sqrt(var + eps); the BN becomes Identity. Standalone BatchNorm layers stay."""
    folded = copy.deepcopy(model).eval()
    for _, block in folded.named_layers():
        if not isinstance(getattr(block, "bn", None), nn.BatchNorm2d):  # none, or folded already
            continue
        conv: nn.Conv2d = block.conv  # type: ignore[assignment]
        bn: nn.BatchNorm2d = block.bn  # type: ignore[assignment]
        assert bn.running_var is not None and bn.running_mean is not None
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,  # type: ignore[arg-type]
                          conv.stride, conv.padding, conv.dilation, groups=conv.groups,  # type: ignore[arg-type]
                          bias=True, device=conv.weight.device, dtype=conv.weight.dtype)
        fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
        assert fused.bias is not None
        own = conv.bias if conv.bias is not None else torch.zeros_like(bn.bias)
        fused.bias.copy_(bn.bias + (own - bn.running_mean) * scale)
        block.conv = fused
        block.bn = nn.Identity()
    return folded
