"""Layer kinds and layer types: the one home of these names, as values (no display strings).

- :class:`Kind` is what a layer *is* after a description is expanded: a standard (dense) conv,
  a depthwise conv, a pointwise (1x1) conv, the global average pool, the fully connected layer.
  The counting registry (:mod:`costmodel.core.engine`) has one function per kind.
- :class:`LayerType` is the paper's Table 2 grouping: a kind together with its kernel
  (``Conv DW 3x3`` and ``Conv DW 5x5`` are different types). Rows, breakdowns, the latency model
  and plots key by it. A dense 1x1 conv is the paper's "Conv 1x1", the same type as a
  pointwise layer; pooling and FC types carry kernel 0 (their kernel is not part of the type).

Rows and results hold these values and shape tuples ``(height, width, channels)``, never text.
Text is made in :mod:`costmodel.report.formatting`, with the one vocabulary defined at the end of
this module, which is also the vocabulary of the published tables and the stored data files
(Table 1 prints sizes as "112x112x32", Table 2 names types "Conv DW 3x3", "Fully Connected"):
:func:`type_name` / :func:`parse_type_name` and :func:`shape_text` / :func:`parse_shape_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, NamedTuple

from costmodel.errors import CostModelError


class Kind(StrEnum):
    """A layer's kind after expansion (a ``str`` enum: ``Kind.DW == "dw"``)."""

    CONV = "conv"  # standard (dense) kxk conv
    DW = "dw"  # depthwise kxk conv
    PW = "pw"  # pointwise 1x1 conv
    AVGPOOL = "avgpool"  # average pool: global/adaptive (kernel 0) or windowed (kernel k)
    FC = "fc"  # fully connected (linear)
    GCONV = "gconv"  # grouped conv: 1 < groups, not depthwise
    MAXPOOL = "maxpool"  # max pool: windowed (kernel k) or adaptive (kernel 0)
    BN = "bn"  # a BatchNorm on its own (a conv's own BatchNorm is part of the conv's row)
    ACT = "act"  # an activation on its own (a conv's own activation is part of its row)
    ADD = "add"  # residual add of equal shapes
    MUL = "mul"  # squeeze-and-excitation scale: a tensor times a per-channel gate
    CONCAT = "concat"  # channel concatenation of branches
    SLICE = "slice"  # one channel chunk of a split (ShuffleNetV2)
    SHUFFLE = "shuffle"  # channel shuffle
    FLATTEN = "flatten"
    DROPOUT = "dropout"
    LRN = "lrn"  # local response normalisation (AlexNet, GoogLeNet as published)


CONV_KINDS = (Kind.CONV, Kind.DW, Kind.PW)  # MobileNet-V1's convs, each with BatchNorm + ReLU
WEIGHTED_KINDS = (Kind.CONV, Kind.DW, Kind.PW, Kind.GCONV)  # all convs (each may carry BN + act)
POOL_KINDS = (Kind.AVGPOOL, Kind.MAXPOOL)
# Kinds that cost nothing under every convention (no weights; fvcore counts none of them).
FREE_KINDS = (Kind.ACT, Kind.ADD, Kind.MUL, Kind.CONCAT, Kind.SLICE, Kind.SHUFFLE, Kind.FLATTEN,
              Kind.DROPOUT, Kind.LRN)


class LayerType(NamedTuple):
    """The Table 2 type of a layer: its kind and kernel; build it with :func:`layer_type`.
    ``kernel_w`` is 0 for a square kernel, else the kernel's width (Inception's 1x7)."""

    kind: Kind
    kernel: int
    kernel_w: int = 0

    @property
    def is_conv(self) -> bool:
        return self.kind in CONV_KINDS

    def __str__(self) -> str:  # the paper's name, so a type written to a CSV file reads back
        return type_name(self)


def layer_type(kind: Kind | str, kernel: int, kernel_w: int | None = None) -> LayerType:
    """The canonical type of a layer of ``kind`` with a ``kernel`` x ``kernel_w`` kernel
    (square when ``kernel_w`` is None). Pools keep their window (0: global/adaptive); kinds
    without a kernel carry 0."""
    k = Kind(kind)
    w = int(kernel) if kernel_w is None else int(kernel_w)
    if k == Kind.PW or (k == Kind.CONV and kernel == 1 and w == 1):
        return LayerType(Kind.PW, 1)
    if k in (Kind.FC, Kind.BN, *FREE_KINDS):
        return LayerType(k, 0)
    return LayerType(k, int(kernel), 0 if w == int(kernel) else w)


# MobileNet-V1's five types (Table 2), in network order.
CONV3X3 = LayerType(Kind.CONV, 3)
DW3X3 = LayerType(Kind.DW, 3)
CONV1X1 = LayerType(Kind.PW, 1)
AVG_POOL = LayerType(Kind.AVGPOOL, 0)
FULLY_CONNECTED = LayerType(Kind.FC, 0)
MOBILENET_TYPES = (CONV3X3, DW3X3, CONV1X1, AVG_POOL, FULLY_CONNECTED)
OTHER = "other"  # a per-type time profile's row for the time outside every layer


# --------------------------------------------------------------------------------------------
# The vocabulary of published tables and stored files (formatting shows values with it)
# --------------------------------------------------------------------------------------------
def type_name(t: LayerType) -> str:
    """The paper's Table 2 name of a type: ``Conv 3x3``, ``Conv DW 3x3``, ``Conv 1x1``,
    ``Avg Pool``, ``FC`` (Table 2 prints "Fully Connected"; :func:`parse_type_name` reads both)."""
    k = t.kernel
    size = f"{k}x{t.kernel_w or k}"
    if t.kind in (Kind.AVGPOOL, Kind.MAXPOOL):
        name = "Avg Pool" if t.kind == Kind.AVGPOOL else "Max Pool"
        return name if k == 0 else f"{name} {size}"
    return {
        Kind.CONV: f"Conv {size}",
        Kind.PW: "Conv 1x1",
        Kind.DW: f"Conv DW {size}",
        Kind.GCONV: f"Conv Group {size}",
        Kind.FC: "FC",
        Kind.BN: "BatchNorm",
        Kind.ACT: "Activation",
        Kind.ADD: "Add",
        Kind.MUL: "SE Scale",
        Kind.CONCAT: "Concat",
        Kind.SLICE: "Split",
        Kind.SHUFFLE: "Shuffle",
        Kind.FLATTEN: "Flatten",
        Kind.DROPOUT: "Dropout",
        Kind.LRN: "LRN",
    }[t.kind]


def parse_type_name(name: str) -> LayerType:
    """Read a type name as written by :func:`type_name` (or Table 2's "Fully Connected")."""
    s = " ".join(str(name).split())
    fixed = {"Avg Pool": AVG_POOL, "FC": FULLY_CONNECTED, "Fully Connected": FULLY_CONNECTED,
             "Max Pool": LayerType(Kind.MAXPOOL, 0)}
    fixed.update({type_name(LayerType(k, 0)): LayerType(k, 0) for k in (Kind.BN, *FREE_KINDS)})
    if s in fixed:
        return fixed[s]
    words = s.split(" ")
    prefixes = {("Conv",): Kind.CONV, ("Conv", "DW"): Kind.DW, ("Conv", "Group"): Kind.GCONV,
                ("Avg", "Pool"): Kind.AVGPOOL, ("Max", "Pool"): Kind.MAXPOOL}
    kind = prefixes.get(tuple(words[:-1]))
    size = words[-1].split("x")
    if kind is not None and len(size) == 2 and all(p.isdigit() and int(p) >= 1 for p in size):
        return layer_type(kind, int(size[0]), int(size[1]))
    others = ", ".join(type_name(LayerType(k, 0)) for k in (Kind.BN, *FREE_KINDS))
    raise CostModelError(f"layer type {name!r} is unknown; allowed: Conv KxK, Conv DW KxK, "
                         f"Conv Group KxK, Conv 1x1, Avg Pool [KxK], Max Pool [KxK], FC, "
                         f"Fully Connected, {others}")


def shape_text(shape: Sequence[Any]) -> str:
    """A (height, width, channels) shape as Table 1 prints it: "112x112x32"."""
    return "x".join(str(v) for v in shape)


def parse_shape_text(text: str) -> tuple[int, ...]:
    """Read "112x112x32" back as (112, 112, 32)."""
    try:
        return tuple(int(p) for p in str(text).split("x"))
    except ValueError:
        raise CostModelError(f"shape {text!r} is not valid; allowed: sizes joined by 'x', "
                             f"as 112x112x32") from None
