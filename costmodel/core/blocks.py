"""Block macros: named blocks that expand to primitive ops (documented in README,
"Architecture descriptions"), and timm's block strings.

=============  ===================================================================================
``ir``         inverted residual / MBConv (MobileNetV2/V3, EfficientNet): 1x1 expand conv to
               ``expand`` x the block's input channels (skipped when expand is 1), kxk depthwise
               conv with ``stride``, optional squeeze-excite (``se`` ratio), 1x1 projection to
               ``out`` (BN, no activation); a residual add when stride is 1 and the input and
               output widths are equal (unless ``skip: false``).
``ds``         depthwise-separable block (timm ``ds``): kxk depthwise, optional SE, 1x1 to ``out``
               (no activation after it unless ``pw_act: true``); residual as ``ir``.
``cn``         conv + BN + activation (timm ``cn``).
``basic``      ResNet basic block: 3x3 conv (stride) + 3x3 conv to ``out``; the shortcut is a
               1x1 conv + BN where the stride or width changes; add, then ReLU.
``bottleneck`` ResNet bottleneck (torchvision's v1.5, stride on the 3x3): 1x1 to ``mid`` (default
               out / 4), 3x3 (stride), 1x1 to ``out``; shortcut as ``basic``; add, then ReLU.
``fire``       SqueezeNet fire: 1x1 ``squeeze`` conv, then the concatenation of a 1x1 (``expand1``)
               and a 3x3 (``expand3``) conv; convs with bias and ReLU, no BN.
``shuffle``    (the op) channel shuffle; ``shuffle_unit`` is ShuffleNetV2's unit: stride 1 splits
               the channels in halves, one passes, the other goes 1x1 -> 3x3 dw -> 1x1; stride 2
               runs both branches (3x3 dw -> 1x1 | 1x1 -> 3x3 dw -> 1x1) on the whole input;
               concatenate, then shuffle in 2 groups. Each branch is ``out`` / 2 wide.
=============  ===================================================================================

For a macro, ``stride`` applies to the first of its ``repeat`` copies, the others have stride 1
(timm's block strings and torchvision's setting tables mean the same).

A timm block string ``<type>_r<repeat>_k<kernel>_s<stride>_e<expand>_c<out>[_se<ratio>][_n<act>]
[_noskip]`` is one ``ir``, ``ds``, ``dsa`` (``ds`` with ``pw_act``) or ``cn`` entry; ``n<act>`` is
``nre`` (ReLU), ``nr6`` (ReLU6), ``nhs`` (hard-swish) or ``nsw`` (swish/SiLU).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from costmodel.errors import CostModelError

_SE = ("se", "se_of", "se_round", "se_act", "se_gate")
MACRO_FIELDS: dict[str, tuple[str, ...]] = {
    "ir": ("kernel", "stride", "out", "expand", "act", "skip", "rounding", *_SE),
    "ds": ("kernel", "stride", "out", "act", "skip", "pw_act", *_SE),
    "cn": ("kernel", "stride", "out", "act"),
    "basic": ("stride", "out"),
    "bottleneck": ("stride", "out", "mid"),
    "fire": ("squeeze", "expand1", "expand3"),
    "shuffle_unit": ("stride", "out"),
}
# Upper bound of the layers one copy of a macro lowers to (for the size check before expanding).
MACRO_SIZES = {"ir": 8, "ds": 7, "cn": 1, "basic": 5, "bottleneck": 6, "fire": 4,
               "shuffle_unit": 9}
MACRO_NEEDS = {"fire": ("squeeze", "expand1", "expand3")}  # others need `out`

_TIMM_TYPES = {"ir": "ir", "ds": "ds", "dsa": "ds", "cn": "cn"}
_TIMM_ACTS = {"re": "relu", "r6": "relu6", "hs": "hswish", "sw": "swish"}
MAX_BLOCK_STRING = 200  # characters of a timm block string
_TIMM_NUM = re.compile(r"^(se|r|k|s|e|c)(\d+(?:\.\d+)?)$")


def parse_block_string(text: str, where: str) -> dict[str, Any]:
    """A timm block string as an entry, e.g. ``ir_r2_k3_s2_e6_c24`` ->
    ``{type: ir, repeat: 2, kernel: 3, stride: 2, expand: 6, out: 24}``."""
    allowed = ("allowed: <ir|ds|dsa|cn>_r<N>_k<K>_s<S>_e<E>_c<C>[_se<R>][_nre|_nr6|_nhs|_nsw]"
               "[_noskip], e.g. ir_r2_k3_s2_e6_c24")
    if len(text) > MAX_BLOCK_STRING:
        raise CostModelError(f"{where}: block string {text[:60]!r}... is {len(text)} characters "
                             f"long; allowed: at most {MAX_BLOCK_STRING}")
    parts = text.split("_")
    if parts[0] not in _TIMM_TYPES:
        raise CostModelError(f"{where}: block string {text[:60]!r} has unknown block type "
                             f"{parts[0][:20]!r}; {allowed}")
    entry: dict[str, Any] = {"type": _TIMM_TYPES[parts[0]]}
    if parts[0] == "dsa":
        entry["pw_act"] = True
    names = {"r": "repeat", "k": "kernel", "s": "stride", "e": "expand", "c": "out", "se": "se"}
    for p in parts[1:]:
        m = _TIMM_NUM.match(p)
        if m:
            v = float(m.group(2))
            entry[names[m.group(1)]] = v if m.group(1) in ("se", "e") else int(v)
        elif p == "noskip":
            entry["skip"] = False
        elif p.startswith("n") and p[1:] in _TIMM_ACTS:
            entry["act"] = _TIMM_ACTS[p[1:]]
        else:
            raise CostModelError(f"{where}: block string {text[:60]!r} has unknown option "
                                 f"{p[:20]!r}; {allowed}")
    if entry["type"] == "cn":
        entry.pop("expand", None)
    elif entry["type"] == "ds" and entry.pop("expand", 1) != 1:
        raise CostModelError(f"{where}: block string {text!r}: a ds block has no expansion; "
                             f"{allowed}")
    return entry


def check_macro(entry: Mapping[str, Any], t: str, where: str) -> None:
    """Fields a macro needs, and its numbers (expand > 0, se in (0, 1], widths >= 1)."""
    for name in MACRO_NEEDS.get(t, ("out",)):
        if name not in entry:
            raise CostModelError(f"{where}: type {t!r} needs field {name!r} (channels)")
    for name in ("squeeze", "expand1", "expand3", "mid"):
        v = entry.get(name, 1)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise CostModelError(f"{where}: field {name!r} is {v!r}; allowed: an integer >= 1")
    for name, high in (("expand", 1e4), ("se", 1.0)):
        v = entry.get(name, 1)
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= high:
            raise CostModelError(f"{where}: field {name!r} is {v!r}; allowed: a number > 0 and "
                                 f"<= {high:g}")
    for name in ("skip", "pw_act"):
        if name in entry and not isinstance(entry[name], bool):
            raise CostModelError(f"{where}: field {name!r} is {entry[name]!r}; allowed: true or "
                                 f"false")


def _se(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    if not entry.get("se"):
        return []
    se = {"type": "se", "name": "se", "ratio": entry["se"]}
    for k in ("of", "round", "act", "gate"):
        if f"se_{k}" in entry:
            se[k] = entry[f"se_{k}"]
    return [se]


def _conv(name: str, kernel: int, out: Any, act: str, stride: int = 1, **kw: Any) -> dict[str, Any]:
    return {"type": "conv", "name": name, "kernel": kernel, "stride": stride, "out": out,
            "act": act, **kw}


def _dw(name: str, kernel: int, stride: int, act: str) -> dict[str, Any]:
    return {"type": "conv", "name": name, "kernel": kernel, "stride": stride,
            "groups": "depthwise", "act": act}


def _block(body: list[dict[str, Any]], residual: bool, act: str = "none",
           shortcut: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if residual:
        return {"type": "residual", "body": body, "shortcut": shortcut or [], "act": act}
    return {"type": "sequence", "layers": body}


def expand_macro(entry: Mapping[str, Any], t: str, stride: int, in_nominal: int) -> dict[str, Any]:
    """One copy of a macro as a ``sequence`` or ``residual`` entry of primitive ops.
    ``in_nominal``: the block's input channels at alpha 1 (decides where a residual add goes)."""
    k, out, act = entry.get("kernel", 3), entry.get("out", 0), entry.get("act", "relu")
    keep = stride == 1 and in_nominal == out and entry.get("skip", True)
    if t == "cn":
        return {"type": "sequence", "layers": [_conv("conv", k, out, act, stride)]}
    if t in ("ir", "ds"):
        e = entry.get("expand", 6) if t == "ir" else 1
        rnd = {"rounding": entry["rounding"]} if "rounding" in entry else {}
        body = [_conv("conv_pw", 1, ("x", e), act, **rnd)] if e != 1 else []
        body += [_dw("conv_dw", k, stride, act), *_se(entry),
                 _conv("conv_pwl", 1, out, act if entry.get("pw_act") else "none")]
        return _block(body, bool(keep))
    if t in ("basic", "bottleneck"):
        if t == "basic":
            body = [_conv("conv1", 3, out, "relu", stride), _conv("conv2", 3, out, "none")]
        else:
            mid = entry.get("mid", max(1, out // 4))
            body = [_conv("conv1", 1, mid, "relu"), _conv("conv2", 3, mid, "relu", stride),
                    _conv("conv3", 1, out, "none")]
        short = [] if stride == 1 and in_nominal == out else \
            [_conv("downsample", 1, out, "none", stride)]
        return _block(body, True, "relu", short)
    if t == "fire":
        e1 = _conv("expand1x1", 1, entry["expand1"], "relu", bn=False, bias=True)
        e3 = _conv("expand3x3", 3, entry["expand3"], "relu", padding=1, bn=False, bias=True)
        return {"type": "sequence", "layers": [
            _conv("squeeze", 1, entry["squeeze"], "relu", bn=False, bias=True),
            {"type": "concat", "branches": [[e1], [e3]]}]}
    half = max(1, out // 2)
    branch2 = [_conv("conv1", 1, half, "relu"), _dw("conv_dw", 3, stride, "none"),
               _conv("conv2", 1, half, "relu")]
    if stride == 1:
        cat = {"type": "concat", "split": True, "branches": [[], branch2]}
    else:
        branch1 = [_dw("conv_dw", 3, stride, "none"), _conv("conv1", 1, half, "relu")]
        cat = {"type": "concat", "branches": [branch1, branch2]}
    return {"type": "sequence", "layers": [cat, {"type": "shuffle", "groups": 2}]}
