"""Architecture descriptions: MobileNet-V1 Table 1 as data, variants, user spec files.

This is the one source of truth. The engine (costs), the torch builder and the dashboard all
read the layers that :func:`resolve` returns; nothing else in the package knows MobileNet's layer
list.

Description grammar (the same for the built-in network and for a user's JSON/YAML file)::

    name: my_net                 # optional, a label
    input_channels: 3            # optional, default 3
    input_scale: false           # optional: whether alpha thins the input channels too (a body
                                 #   fragment, e.g. the paper's Table 3 single layer)
    base_resolution: 224         # optional, default 224: the resolution that rho=1 means
    layers:                      # in order; each entry is one of
      - {type: conv, kernel: 3, stride: 2, out: 32}        # standard conv + BN + ReLU
      - {type: separable, stride: 1, out: 64}              # depthwise kxk (kernel, default 3)
                                                           #   + pointwise 1x1 to `out`
      - {type: dw, kernel: 3, stride: 1}                   # depthwise conv alone
      - {type: pw, out: 128}                               # pointwise 1x1 conv alone
      - {type: avgpool}                                    # global average pool
      - {type: fc}                                         # fully connected to `classes`
    variants:                    # optional: named edits of the layer list
      shallow: {drop_groups: [middle]}

Every layer entry may also carry ``repeat`` (default 1, 0 allowed), ``group`` (a label that a
variant can drop) and ``scale`` (default true: whether alpha thins its ``out`` channels).
The variant ``full_conv`` exists for every description: each separable pair becomes one
standard kxk conv with the pair's stride and output width (the paper's Table 4).

Spatial sizes follow TF 'SAME' padding: out = ceil(in / stride).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costmodel.core.kinds import Kind, LayerType, layer_type
from costmodel.errors import CostModelError

# MobileNet-V1, the paper's Table 1 (arXiv 1704.04861), typed in once as data.
# Each separable entry is one "Conv dw / s" row followed by its "Conv / s1" 1x1 row.
# NB: Table 1 prints the last depthwise layer as "Conv dw / s2", but its input and output are
# both 7x7x1024, so its stride is 1 (a typo in the table; Keras and TF-slim use stride 1 too).
MOBILENET_V1: dict[str, Any] = {
    "name": "mobilenet_v1",
    "input_channels": 3,
    "base_resolution": 224,
    "layers": [
        # type,       kernel, stride, out
        {"type": "conv", "kernel": 3, "stride": 2, "out": 32},
        {"type": "separable", "kernel": 3, "stride": 1, "out": 64},
        {"type": "separable", "kernel": 3, "stride": 2, "out": 128},
        {"type": "separable", "kernel": 3, "stride": 1, "out": 128},
        {"type": "separable", "kernel": 3, "stride": 2, "out": 256},
        {"type": "separable", "kernel": 3, "stride": 1, "out": 256},
        {"type": "separable", "kernel": 3, "stride": 2, "out": 512},
        # Table 1's "5x" rows: the five 14x14x512 pairs that Table 5's shallow net removes.
        {"type": "separable", "kernel": 3, "stride": 1, "out": 512, "repeat": 5, "group": "14x14x512"},
        {"type": "separable", "kernel": 3, "stride": 2, "out": 1024},
        {"type": "separable", "kernel": 3, "stride": 1, "out": 1024},  # printed s2: see NB above
        {"type": "avgpool"},
        {"type": "fc"},
    ],
    "variants": {"shallow": {"drop_groups": ["14x14x512"]}},
}

BUILTIN_DESCRIPTIONS: dict[str, dict[str, Any]] = {"mobilenet_v1": MOBILENET_V1}
GENERIC_VARIANTS = ("full_conv",)

_ENTRY_TYPES = ("conv", "separable", "dw", "pw", "avgpool", "fc")


# --------------------------------------------------------------------------------------------
# Channel rounding rules: one named function each, array-friendly (numpy arrays broadcast).
# --------------------------------------------------------------------------------------------
def _floor(x: Any) -> Any:
    if hasattr(x, "dtype"):
        import numpy as np

        return np.floor(x).astype(np.int64)
    return int(x)


def elementwise_max(a: Any, b: int) -> Any:
    if hasattr(a, "dtype"):
        import numpy as np

        return np.maximum(a, b)
    return max(a, b)


def round_int(c: int, alpha: Any) -> Any:
    """int(c * alpha): the paper's and Keras's rule."""
    return _floor(c * alpha)


def round_slim(c: int, alpha: Any) -> Any:
    """max(int(c * alpha), 8): TF-slim's rule (min_depth=8)."""
    return elementwise_max(_floor(c * alpha), 8)


def round_divisible8(c: int, alpha: Any) -> Any:
    """timm/torchvision make_divisible(c * alpha, 8) with round_limit 0.9 and min 8."""
    v = c * alpha
    new = elementwise_max(_floor(v + 4) // 8 * 8, 8)
    return new + 8 * (new < 0.9 * v)


ROUNDING_RULES: dict[str, Callable[[int, Any], Any]] = {
    "int": round_int,
    "slim": round_slim,
    "divisible8": round_divisible8,
}


def same_out(size: Any, stride: int) -> Any:
    """TF 'SAME' padding: ceil(size / stride), exact in integers (and on int arrays). The one
    home of this rule: the engine's shapes, the torch builder's padding and reproduce use it."""
    return -(-size // stride)


# --------------------------------------------------------------------------------------------
# Description -> expanded layer specs (structure only, no alpha/resolution yet)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerSpec:
    """One layer of an expanded description, before alpha and resolution are applied."""

    name: str
    kind: Kind
    kernel: int
    stride: int
    out: int | None  # base output channels (None: same as input for dw/avgpool, classes for fc)
    scale: bool


@dataclass(frozen=True)
class Description:
    name: str
    input_channels: int
    base_resolution: int
    input_scale: bool
    layers: tuple[dict[str, Any], ...]
    variants: Mapping[str, Mapping[str, Any]]


def _field_error(where: str, field: str, value: Any, allowed: str) -> CostModelError:
    return CostModelError(f"{where}: field '{field}' is {value!r}; allowed: {allowed}")


def _pos_int(entry: Mapping[str, Any], field: str, where: str, default: int | None,
             minimum: int = 1) -> int | None:
    if field not in entry:
        return default
    v = entry[field]
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise _field_error(where, field, v, f"an integer >= {minimum}")
    return v


_ENTRY_FIELDS = ("type", "kernel", "stride", "out", "repeat", "group", "scale")


def _parse_entry(entry: Any, where: str) -> dict[str, Any]:
    """One validated layer entry of a description."""
    if not isinstance(entry, Mapping):
        raise CostModelError(f"{where} is {entry!r}; allowed: a mapping with a 'type'")
    for key in entry:
        if key not in _ENTRY_FIELDS:
            raise CostModelError(f"{where}: unknown field {key!r}; allowed: "
                                 f"{', '.join(sorted(_ENTRY_FIELDS))}")
    t = entry.get("type")
    if t not in _ENTRY_TYPES:
        raise _field_error(where, "type", t, ", ".join(_ENTRY_TYPES))
    _pos_int(entry, "kernel", where, 3)
    _pos_int(entry, "stride", where, 1)
    _pos_int(entry, "repeat", where, 1, minimum=0)
    if t in ("conv", "separable", "pw"):
        if "out" not in entry:
            raise CostModelError(f"{where}: type {t!r} needs field 'out' (output channels)")
        _pos_int(entry, "out", where, None)
    elif "out" in entry:
        raise CostModelError(f"{where}: type {t!r} takes no field 'out' "
                             f"(its width follows its input or the class count)")
    if "scale" in entry and not isinstance(entry["scale"], bool):
        raise _field_error(where, "scale", entry["scale"], "true or false")
    if "group" in entry and not isinstance(entry["group"], str):
        raise _field_error(where, "group", entry["group"], "a string")
    return dict(entry)


def parse_description(raw: Any, source: str = "description") -> Description:
    """Validate a description (a dict in the grammar above) and return it, or raise with the field."""
    if not isinstance(raw, Mapping):
        raise CostModelError(f"{source}: top level must be a mapping with a 'layers' list, "
                             f"got {type(raw).__name__}")
    known = {"name", "input_channels", "input_scale", "base_resolution", "layers", "variants"}
    for key in raw:
        if key not in known:
            raise CostModelError(f"{source}: unknown top-level field {key!r}; allowed: "
                                 f"{', '.join(sorted(known))}")
    layers = raw.get("layers")
    if not isinstance(layers, list) or not layers:
        raise CostModelError(f"{source}: field 'layers' is {layers!r}; allowed: a non-empty list")
    out_layers = [_parse_entry(entry, f"{source}: layers[{i}]") for i, entry in enumerate(layers)]
    variants = raw.get("variants", {}) or {}
    if not isinstance(variants, Mapping):
        raise _field_error(source, "variants", variants, "a mapping of name -> {drop_groups: [...]}")
    groups = {e.get("group") for e in out_layers}
    for vname, v in variants.items():
        if vname in GENERIC_VARIANTS:
            raise CostModelError(f"{source}: variant name {vname!r} is built in; choose another")
        if not isinstance(v, Mapping) or set(v) - {"drop_groups"}:
            raise _field_error(f"{source}: variants", str(vname), v, "{drop_groups: [group, ...]}")
        for g in v.get("drop_groups", []):
            if g not in groups:
                raise CostModelError(f"{source}: variant {vname!r} drops group {g!r}, which no "
                                     f"layer has; groups: {sorted(x for x in groups if x)}")
    name = raw.get("name", "custom")
    input_scale = raw.get("input_scale", False)
    if not isinstance(input_scale, bool):
        raise _field_error(source, "input_scale", input_scale, "true or false")
    return Description(
        name=str(name),
        input_channels=_pos_int(raw, "input_channels", source, 3) or 3,
        base_resolution=_pos_int(raw, "base_resolution", source, 224) or 224,
        input_scale=input_scale,
        layers=tuple(out_layers),
        variants={str(k): dict(v) for k, v in variants.items()},
    )


def load_description(path: str | Path) -> Description:
    """Read a JSON or YAML description file; errors name the file, line or field."""
    p = Path(path)
    if not p.is_file():
        raise CostModelError(f"spec file {str(p)!r} does not exist or is not a file; "
                             f"allowed: a readable .json, .yaml or .yml file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CostModelError(f"spec file {str(p)!r} cannot be read as UTF-8 text: {exc}") from None
    suffix = p.suffix.lower()
    if suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CostModelError(f"spec file {str(p)!r}: invalid JSON at line {exc.lineno}, "
                                 f"column {exc.colno}: {exc.msg}") from None
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise CostModelError(f"spec file {str(p)!r}: invalid YAML{where}: {problem}") from None
    else:
        raise CostModelError(f"spec file {str(p)!r} has suffix {suffix!r}; allowed: .json, .yaml, .yml")
    return parse_description(raw, source=str(p))


def get_description(spec: str | Path | Mapping[str, Any] | Description | None = None) -> Description:
    """The built-in MobileNet-V1 (None), a built-in by name, a file path, or a dict."""
    if spec is None:
        return parse_description(MOBILENET_V1, "mobilenet_v1")
    if isinstance(spec, Description):
        return spec
    if isinstance(spec, Mapping):
        return parse_description(spec)
    if str(spec) in BUILTIN_DESCRIPTIONS:
        return parse_description(BUILTIN_DESCRIPTIONS[str(spec)], str(spec))
    return load_description(spec)


VARIANTS = ("mobilenet_v1", "full_conv", "shallow")


def expand(desc: Description, variant: str = "mobilenet_v1") -> list[LayerSpec]:
    """Unroll repeats and apply a variant; returns the named layer list."""
    base_names = ("mobilenet_v1", "base", desc.name)
    allowed = ["mobilenet_v1", *GENERIC_VARIANTS, *desc.variants]
    if variant not in allowed and variant not in base_names:
        raise CostModelError(f"variant {variant!r} is unknown; allowed: {', '.join(allowed)}")
    drop = set(desc.variants.get(variant, {}).get("drop_groups", []))
    full_conv = variant == "full_conv"
    specs: list[LayerSpec] = []
    n_conv = n_sep = 0
    for entry in desc.layers:
        if entry.get("group") in drop:
            continue
        t = entry["type"]
        k = entry.get("kernel", 3)
        s = entry.get("stride", 1)
        scale = entry.get("scale", True)
        for _ in range(entry.get("repeat", 1)):
            if t == "conv" or (t == "separable" and full_conv):
                n_conv += 1
                specs.append(LayerSpec(f"conv{n_conv}", Kind.CONV, k, s, entry["out"], scale))
            elif t == "separable":
                n_sep += 1
                specs.append(LayerSpec(f"conv_dw_{n_sep}", Kind.DW, k, s, None, scale))
                specs.append(LayerSpec(f"conv_pw_{n_sep}", Kind.PW, 1, 1, entry["out"], scale))
            elif t == "dw":
                n_sep += 1
                specs.append(LayerSpec(f"conv_dw_{n_sep}", Kind.DW, k, s, None, scale))
            elif t == "pw":
                n_sep += 1
                specs.append(LayerSpec(f"conv_pw_{n_sep}", Kind.PW, 1, s, entry["out"], scale))
            elif t == "avgpool":
                specs.append(LayerSpec("avg_pool", Kind.AVGPOOL, 0, 1, None, False))
            elif t == "fc":
                specs.append(LayerSpec("fc", Kind.FC, 1, 1, None, False))
    names = [sp.name for sp in specs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise CostModelError(f"description {desc.name!r}: layer names {sorted(dup)} repeat; "
                             f"allowed: at most one avgpool and one fc")
    return specs


# --------------------------------------------------------------------------------------------
# Resolution of a config: concrete shapes per layer
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layer:
    """One layer with concrete shapes. Fields may be ints, or numpy arrays in a sweep."""

    index: int
    name: str
    kind: Kind
    kernel: int
    stride: int
    in_channels: Any
    out_channels: Any
    in_size: Any  # spatial height = width (square inputs)
    out_size: Any

    @property
    def groups(self) -> Any:
        return self.in_channels if self.kind == Kind.DW else 1

    @property
    def type(self) -> LayerType:
        """The paper's Table 2 type (kind and kernel)."""
        return layer_type(self.kind, self.kernel)

    @property
    def in_shape(self) -> tuple[Any, Any, Any]:
        """(height, width, channels) of the input."""
        return (self.in_size, self.in_size, self.in_channels)

    @property
    def out_shape(self) -> tuple[Any, Any, Any]:
        """(height, width, channels) of the output."""
        return (self.out_size, self.out_size, self.out_channels)

    @property
    def in_elements(self) -> Any:
        """Input activations (elements of one sample)."""
        return self.in_channels * self.in_size * self.in_size

    @property
    def out_elements(self) -> Any:
        """Output activations (elements of one sample): a row's ``activations``."""
        return self.out_channels * self.out_size * self.out_size


def resolve_shapes(specs: Sequence[LayerSpec], alpha: Any, resolution: Any, rounding: str,
                   classes: int, input_channels: int, input_scale: bool = False) -> list[Layer]:
    """Shapes for every layer; alpha/resolution may be numpy arrays that broadcast."""
    rule = ROUNDING_RULES[rounding]
    layers: list[Layer] = []
    c: Any = rule(input_channels, alpha) if input_scale else input_channels
    h: Any = resolution
    for i, sp in enumerate(specs):
        if sp.kind in (Kind.CONV, Kind.PW):
            assert sp.out is not None
            out_c = rule(sp.out, alpha) if sp.scale else sp.out
            out_h = same_out(h, sp.stride)
        elif sp.kind == Kind.DW:
            out_c, out_h = c, same_out(h, sp.stride)
        elif sp.kind == Kind.AVGPOOL:
            out_c, out_h = c, h * 0 + 1  # global pool: 1x1 (keeps array shape in a sweep)
        else:  # fc
            out_c, out_h = classes, h * 0 + 1
        layers.append(Layer(i, sp.name, sp.kind, sp.kernel, sp.stride, c, out_c, h, out_h))
        c, h = out_c, out_h
    return layers


def check_alpha(alpha: Any) -> float:
    """alpha must be a finite float > 0."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise CostModelError(f"alpha {alpha!r} is not a number; allowed: a finite number > 0") from None
    if not math.isfinite(a) or a <= 0:
        raise CostModelError(f"alpha {alpha!r} is out of range; allowed: a finite number > 0")
    if a > 64:
        hint = f" (a percent? did you mean {a / 100:g}?)" if a <= 150 else ""
        raise CostModelError(f"alpha {alpha!r} is out of range{hint}; allowed: 0 < alpha <= 64")
    return a


def check_resolution(resolution: Any) -> int:
    """resolution must be a positive integer (whole-valued floats are accepted)."""
    if isinstance(resolution, bool):
        raise CostModelError(f"resolution {resolution!r} is not an integer; allowed: an integer >= 1")
    if isinstance(resolution, str):
        try:
            resolution = int(resolution.strip())
        except ValueError:
            raise CostModelError(f"resolution {resolution!r} is not an integer; "
                                 f"allowed: an integer >= 1") from None
    try:
        f = float(resolution)
    except (TypeError, ValueError):
        raise CostModelError(f"resolution {resolution!r} is not an integer; "
                             f"allowed: an integer >= 1") from None
    if not math.isfinite(f) or f != int(f):
        raise CostModelError(f"resolution {resolution!r} is not an integer; allowed: an integer >= 1")
    if f < 1 or f > 8192:
        raise CostModelError(f"resolution {resolution!r} is out of range; allowed: 1 to 8192")
    return int(f)


RHO_MAX = 16  # a larger rho is a pixel count typed as rho (--rho 160), not a multiplier


def rho_to_resolution(rho: Any, base: int = 224) -> int:
    """--rho P means resolution round(base * P); base is the description's base_resolution."""
    try:
        p = float(rho)
    except (TypeError, ValueError):
        raise CostModelError(f"rho {rho!r} is not a number; allowed: a number > 0") from None
    if not math.isfinite(p) or p <= 0:
        raise CostModelError(f"rho {rho!r} is out of range; allowed: a finite number > 0")
    if p >= RHO_MAX:
        raise CostModelError(f"rho {rho!r} is out of range: rho is a fraction of the base "
                             f"resolution {base} (resolution = round({base} * rho)), not pixels; "
                             f"allowed: 0 < rho < {RHO_MAX} (for {p:g} px give resolution "
                             f"{p:g})")
    r = round(base * p)
    if r < 1:
        raise CostModelError(f"rho {rho!r} gives resolution {r}; allowed: rho >= {0.5 / base:.4g}")
    return check_resolution(r)


def check_choice(kind: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise CostModelError(f"{kind} {value!r} is unknown; allowed: {', '.join(allowed)}")
    return str(value)


def min_alpha(specs: Sequence[LayerSpec], rounding: str) -> float:
    """The smallest alpha for which every scaled layer keeps at least one channel."""
    widths = [sp.out for sp in specs if sp.out is not None and sp.scale]
    if not widths or rounding != "int":
        return 0.0
    return 1.0 / min(widths)


def resolve(desc: Description | None = None, variant: str = "mobilenet_v1", alpha: Any = 1.0,
            resolution: Any = 224, rounding: str = "int", classes: int = 1000) -> list[Layer]:
    """Validated shapes of one configuration."""
    desc = desc or get_description()
    a = check_alpha(alpha)
    r = check_resolution(resolution)
    check_choice("rounding", rounding, list(ROUNDING_RULES))
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise CostModelError(f"classes {classes!r} is out of range; allowed: an integer >= 1")
    specs = expand(desc, variant)
    layers = resolve_shapes(specs, a, r, rounding, classes, desc.input_channels, desc.input_scale)
    for layer in layers:
        if layer.out_channels < 1:
            raise CostModelError(
                f"alpha {alpha!r} gives layer {layer.name} 0 channels under rounding "
                f"{rounding!r}; allowed: alpha >= {min_alpha(specs, rounding):.6g}")
    return layers
