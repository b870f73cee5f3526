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
    AVGPOOL = "avgpool"  # global average pool
    FC = "fc"  # fully connected


CONV_KINDS = (Kind.CONV, Kind.DW, Kind.PW)  # the kinds followed by BatchNorm + ReLU


class LayerType(NamedTuple):
    """The Table 2 type of a layer: its kind and kernel; build it with :func:`layer_type`."""

    kind: Kind
    kernel: int

    @property
    def is_conv(self) -> bool:
        return self.kind in CONV_KINDS

    def __str__(self) -> str:  # the paper's name, so a type written to a CSV file reads back
        return type_name(self)


def layer_type(kind: Kind | str, kernel: int) -> LayerType:
    """The canonical type of a layer of ``kind`` with a ``kernel`` x ``kernel`` kernel."""
    k = Kind(kind)
    if k == Kind.PW or (k == Kind.CONV and kernel == 1):
        return LayerType(Kind.PW, 1)
    if k in (Kind.AVGPOOL, Kind.FC):
        return LayerType(k, 0)
    return LayerType(k, int(kernel))


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
    return {
        Kind.CONV: f"Conv {k}x{k}",
        Kind.PW: "Conv 1x1",
        Kind.DW: f"Conv DW {k}x{k}",
        Kind.AVGPOOL: "Avg Pool",
        Kind.FC: "FC",
    }[t.kind]


def parse_type_name(name: str) -> LayerType:
    """Read a type name as written by :func:`type_name` (or Table 2's "Fully Connected")."""
    s = " ".join(str(name).split())
    fixed = {"Avg Pool": AVG_POOL, "FC": FULLY_CONNECTED, "Fully Connected": FULLY_CONNECTED}
    if s in fixed:
        return fixed[s]
    words = s.split(" ")
    kind = Kind.DW if words[1:2] == ["DW"] else Kind.CONV
    size = words[-1].split("x")
    if words[0] == "Conv" and len(size) == 2 and size[0] == size[1] and size[0].isdigit() \
            and len(words) == (3 if kind is Kind.DW else 2) and int(size[0]) >= 1:
        return layer_type(kind, int(size[0]))
    raise CostModelError(f"layer type {name!r} is unknown; allowed: Conv KxK, Conv DW KxK, "
                         f"Conv 1x1, Avg Pool, FC, Fully Connected")


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
