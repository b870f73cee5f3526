"""Channel rounding rules and spatial output sizes: one named function each, array-friendly
(numpy arrays broadcast), so one config (ints) and a whole grid (arrays) use the same code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _floor(x: Any) -> Any:
    if hasattr(x, "dtype"):
        import numpy as np

        return np.floor(x).astype(np.int64)
    return int(x)


def elementwise_max(a: Any, b: Any) -> Any:
    if hasattr(a, "dtype") or hasattr(b, "dtype"):
        import numpy as np

        return np.maximum(a, b)
    return max(a, b)


def any_true(x: Any) -> bool:
    """True if a bool, or any element of a bool array, is true."""
    return bool(x.any()) if hasattr(x, "any") else bool(x)


def round_int(c: Any, alpha: Any) -> Any:
    """int(c * alpha): the paper's and Keras's rule."""
    return _floor(c * alpha)


def round_slim(c: Any, alpha: Any) -> Any:
    """max(int(c * alpha), 8): TF-slim's rule (min_depth=8)."""
    return elementwise_max(_floor(c * alpha), 8)


def round_divisible8(c: Any, alpha: Any) -> Any:
    """timm/torchvision make_divisible(c * alpha, 8) with round_limit 0.9 and min 8."""
    v = c * alpha
    new = elementwise_max(_floor(v + 4) // 8 * 8, 8)
    return new + 8 * (new < 0.9 * v)


ROUNDING_RULES: dict[str, Callable[[Any, Any], Any]] = {
    "int": round_int,
    "slim": round_slim,
    "divisible8": round_divisible8,
}


def same_out(size: Any, stride: int) -> Any:
    """TF 'SAME' padding: ceil(size / stride), exact in integers (and on int arrays). The one
    home of this rule: the engine's shapes, the torch builder's padding and reproduce use it."""
    return -(-size // stride)


def torch_out(size: Any, kernel: int, stride: int, padding: int, dilation: int = 1,
              ceil_mode: bool = False) -> Any:
    """torch's Conv2d/MaxPool2d/AvgPool2d output size:
    floor((in + 2p - d(k-1) - 1) / s) + 1, or with ``ceil_mode`` the ceiling, less one where the
    last window would start in the right padding (torch's rule)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    return out - ((out - 1) * stride >= size + padding)
