"""Architecture descriptions: any classification CNN as data; MobileNet-V1 Table 1 built in.

This is the one source of truth. The engine (costs), the torch builder and the dashboard all
read the layers that :func:`resolve` returns; nothing else in the package knows a network's
layer list. Validation: :mod:`costmodel.core.grammar`; block macros and timm block strings:
:mod:`costmodel.core.blocks`; lowering to a DAG of typed layers: :mod:`costmodel.core.lower`.

Description grammar (the same for the built-in networks and for a user's JSON/YAML file)::

    name: my_net                 # optional, a label
    input_channels: 3            # optional, default 3
    input_scale: false           # optional: whether alpha thins the input channels too (a body
                                 #   fragment, e.g. the paper's Table 3 single layer)
    base_resolution: 224         # optional, default 224: the resolution that rho=1 means
    rounding: int                # optional: the family's own rule, what --rounding means by
                                 #   default (int, slim, divisible8)
    source: "..."                # optional: the paper table the description is typed in from
    published: [{figure: params, value: 3504872, source: "...", convention: fvcore}, ...]
    defaults: {ir: {act: relu6}} # optional: fields applied to every entry of a type
    blocks:                      # optional: named templates, used as {type: inception, c1: 64}
      inception: {params: {c1: null, pool: 32}, layers: [... "$c1" ...]}
    layers:                      # in order; each entry is one of the types below
    variants:                    # optional: named edits of the layer list
      shallow: {drop_groups: [middle]}

Primitive ops (a conv is conv + BatchNorm + activation in one row)::

    {type: conv, kernel: 3, stride: 2, out: 32}   # kernel/stride: k or [kh, kw]; groups: g or
        # depthwise; dilation: d; padding: same (default, TF SAME: out = ceil(in / stride)) or
        # p or [ph, pw] (torch: out = floor((in + 2p - d(k-1) - 1) / s) + 1); bias (default: no
        # BN); bn (default true); act (default relu): relu, relu6, hswish, silu, swish, sigmoid,
        # hsigmoid, tanh, gelu, none; rounding: a rule for this layer only;
        # out: channels, `same` (the enclosing block's input width) or
        # `classes` (a conv classifier)
    {type: separable, stride: 1, out: 64}         # depthwise kxk + pointwise 1x1 to `out`
    {type: dw, kernel: 3, stride: 1}              # depthwise conv alone
    {type: pw, out: 128}                          # pointwise 1x1 conv alone
    {type: avgpool}                               # global average pool; with kernel (stride,
                                                  #   padding, ceil_mode) a windowed pool; with
                                                  #   output: n an adaptive pool to n x n
    {type: maxpool, kernel: 3, stride: 2}         # max pool (padding default 0, ceil_mode)
    {type: fc}                                    # linear to `classes`; `out` for a hidden
                                                  #   linear layer (thinned by alpha), act, bias
    {type: linear, out: 4096}                     # the same as fc
    {type: bn} {type: act, act: relu} {type: flatten} {type: dropout, p: 0.5}
    {type: lrn, size: 5} {type: shuffle, groups: 2}

Composites::

    {type: residual, body: [...], shortcut: [...], act: relu}  # add of equal shapes (empty
                                                  #   shortcut: the identity), then act
    {type: concat, branches: [[...], [...]], split: false}    # channel concat; split: each
                                                  #   branch gets its own chunk of the channels
    {type: se, ratio: 0.25, of: self, round: int, act: relu, gate: sigmoid}
                                                  # squeeze-excite; of: block squeezes by the
                                                  #   enclosing block's input width
    {type: sequence, layers: [...]}               # a named group (a block's scope)

Graph form (what ``costmodel import`` writes from a traced graph): any entry may name its
producers in ``from`` (earlier layers' or blocks' names, or ``input``; default: the entry
before it); ``{type: add, from: [a, b], act: relu}``, ``{type: mul, from: [x, gate]}``,
``{type: concat, from: [a, b, c]}`` and ``{type: slice, from: a, part: 0, parts: 2}`` read
them. A block's name means its output layer.

Block macros (:mod:`costmodel.core.blocks`): ``ir`` (MBConv), ``ds``, ``cn``, ``basic``,
``bottleneck``, ``fire``, ``shuffle_unit``; a timm block string (``ir_r2_k3_s2_e6_c24``) is an
``ir``/``ds``/``cn`` entry. For a macro, ``stride`` applies to the first of its ``repeat`` copies.

Every entry may also carry ``repeat`` (default 1, 0 allowed), ``group`` (a label that a
variant can drop), ``name`` and ``scale`` (default true: alpha thins its ``out``; false: never;
``grow``: widened above alpha 1, never thinned, MobileNetV2's last 1x1 conv).
The variant ``full_conv`` exists for every description: each separable pair becomes one
standard kxk conv with the pair's stride and output width (the paper's Table 4).
Limits (checked before anything is expanded): nesting depth ``grammar.MAX_DEPTH``, expanded
size ``grammar.MAX_LAYERS`` layers, file size :data:`MAX_SPEC_BYTES`.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costmodel.core.grammar import (
    MAX_DEPTH,
    MAX_LAYERS,
    Walk,
    check_defaults,
    check_templates,
    field_error,
    pos_int,
    too_large,
    walk_list,
)
from costmodel.core.lower import Layer as Layer
from costmodel.core.lower import LayerSpec as LayerSpec
from costmodel.core.lower import expand_entries
from costmodel.core.lower import resolve_shapes as resolve_shapes
from costmodel.core.rounding import ROUNDING_RULES as ROUNDING_RULES
from costmodel.core.rounding import elementwise_max as elementwise_max
from costmodel.core.rounding import round_divisible8 as round_divisible8
from costmodel.core.rounding import round_int as round_int
from costmodel.core.rounding import round_slim as round_slim
from costmodel.core.rounding import same_out as same_out
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
    "source": "Howard et al., MobileNets, arXiv 1704.04861, Table 1",
    "published": [
        {"figure": "mult_adds", "value": 569_000_000, "convention": "paper", "resolution": 224,
         "source": "MobileNets paper, arXiv 1704.04861, Tables 1 and 8 (569 M mult-adds)"},
        {"figure": "params", "value": 4_200_000, "convention": "paper", "resolution": 224,
         "source": "MobileNets paper, arXiv 1704.04861, Tables 1 and 8 (4.2 M params)"},
        {"figure": "top1", "value": 70.6, "resolution": 224,
         "source": "MobileNets paper, arXiv 1704.04861, Table 8 (70.6%)"},
    ],
}

BUILTIN_DESCRIPTIONS: dict[str, dict[str, Any]] = {"mobilenet_v1": MOBILENET_V1}
# The built-in networks: MobileNet-V1 above, the others typed in once as YAML files in
# costmodel/models/ (io.paths.MODELS_DIR), each citing its paper's table in `source`.
BUILTIN_NAMES = ("mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
                 "efficientnet_b0", "resnet18", "resnet50", "shufflenet_v2", "squeezenet1_0",
                 "alexnet", "vgg16", "googlenet", "inception_v3")
GENERIC_VARIANTS = ("full_conv",)
MAX_SPEC_BYTES = 4_000_000  # a description file larger than this is refused unread
TOP_FIELDS = ("name", "input_channels", "input_scale", "base_resolution", "layers", "variants",
              "rounding", "source", "published", "blocks", "defaults")


# --------------------------------------------------------------------------------------------
# Description -> expanded layer specs (structure only, no alpha/resolution yet)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Description:
    name: str
    input_channels: int
    base_resolution: int
    input_scale: bool
    layers: tuple[dict[str, Any], ...]
    variants: Mapping[str, Mapping[str, Any]]
    rounding: str = "int"  # the family's own rule: what --rounding means when not given
    source: str = ""  # the paper table (or page) the description is typed in from
    published: tuple[Mapping[str, Any], ...] = ()  # cited figures: {figure, value, source, ...}
    size: int = field(default=0, compare=False)  # layers after expansion (repeats multiplied)


def _check_top(raw: Mapping[str, Any], source: str) -> None:
    for key in raw:
        if key not in TOP_FIELDS:
            raise CostModelError(f"{source}: unknown top-level field {key!r}; allowed: "
                                 f"{', '.join(sorted(TOP_FIELDS))}")
    for key in ("input_scale",):
        if key in raw and not isinstance(raw[key], bool):
            raise field_error(source, key, raw[key], "true or false")
    if "rounding" in raw and raw["rounding"] not in ROUNDING_RULES:
        raise field_error(source, "rounding", raw["rounding"], ", ".join(ROUNDING_RULES))
    pub = raw.get("published", [])
    if not isinstance(pub, list) or not all(
            isinstance(p, Mapping) and {"figure", "value", "source"} <= set(p)
            and isinstance(p["value"], int | float) and not isinstance(p["value"], bool)
            for p in pub):
        raise field_error(source, "published", pub, "a list of {figure, value, source, ...}")
    if not isinstance(raw.get("source", ""), str):
        raise field_error(source, "source", raw["source"], "a string")


def _check_variants(raw: Mapping[str, Any], layers: Sequence[Mapping[str, Any]], source: str
                    ) -> dict[str, dict[str, Any]]:
    variants = raw.get("variants", {}) or {}
    if not isinstance(variants, Mapping):
        raise field_error(source, "variants", variants, "a mapping of name -> {drop_groups: [...]}")
    groups = {e.get("group") for e in layers}
    for vname, v in variants.items():
        if vname in GENERIC_VARIANTS:
            raise CostModelError(f"{source}: variant name {vname!r} is built in; choose another")
        if not isinstance(v, Mapping) or set(v) - {"drop_groups"}:
            raise field_error(f"{source}: variants", str(vname), v, "{drop_groups: [group, ...]}")
        for g in v.get("drop_groups", []):
            if g not in groups:
                raise CostModelError(f"{source}: variant {vname!r} drops group {g!r}, which no "
                                     f"layer has; groups: {sorted(x for x in groups if x)}")
    return {str(k): dict(v) for k, v in variants.items()}


def parse_description(raw: Any, source: str = "description") -> Description:
    """Validate a description (a dict in the grammar above) and return it, or raise with the
    field. Bounded: nesting deeper than grammar.MAX_DEPTH, or more than grammar.MAX_LAYERS
    layers once repeats are multiplied out, is refused before anything is expanded."""
    if not isinstance(raw, Mapping):
        raise CostModelError(f"{source}: top level must be a mapping with a 'layers' list, "
                             f"got {type(raw).__name__}")
    _check_top(raw, source)
    layers = raw.get("layers")
    if not isinstance(layers, list) or not layers:
        raise CostModelError(f"{source}: field 'layers' is {layers!r}; allowed: a non-empty list")
    walk = Walk(source, check_templates(raw.get("blocks"), source),
                check_defaults(raw.get("defaults"), source))
    out_layers, size = walk_list(layers, f"{source}: layers", walk, 0)
    return Description(
        name=str(raw.get("name", "custom")),
        input_channels=pos_int(raw, "input_channels", source, 3) or 3,
        base_resolution=pos_int(raw, "base_resolution", source, 224) or 224,
        input_scale=raw.get("input_scale", False),
        layers=out_layers,
        variants=_check_variants(raw, out_layers, source),
        rounding=raw.get("rounding", "int"),
        source=raw.get("source", ""),
        published=tuple(dict(p) for p in raw.get("published", [])),
        size=size,
    )


def load_description(path: str | Path) -> Description:
    """Read a JSON or YAML description file; errors name the file, line or field."""
    p = Path(path)
    if not p.is_file():
        raise CostModelError(f"spec file {str(p)!r} does not exist or is not a file; "
                             f"allowed: a readable .json, .yaml or .yml file")
    size = p.stat().st_size
    if size > MAX_SPEC_BYTES:
        raise CostModelError(f"spec file {str(p)!r} is {size} bytes; allowed: at most "
                             f"{MAX_SPEC_BYTES} bytes")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CostModelError(f"spec file {str(p)!r} cannot be read as UTF-8 text: {exc}") from None
    try:
        raw = _parse_text(text, p)
    except RecursionError:
        raise CostModelError(f"spec file {str(p)!r}: nesting is too deep to read; allowed: at "
                             f"most {MAX_DEPTH} levels of blocks") from None
    return parse_description(raw, source=str(p))


def _parse_text(text: str, p: Path) -> Any:
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
    return raw


def get_description(spec: str | Path | Mapping[str, Any] | Description | None = None) -> Description:
    """The built-in MobileNet-V1 (None), a built-in by name (BUILTIN_NAMES), a file path, or a
    dict."""
    if spec is None:
        return parse_description(MOBILENET_V1, "mobilenet_v1")
    if isinstance(spec, Description):
        return spec
    if isinstance(spec, Mapping):
        return parse_description(spec)
    if str(spec) in BUILTIN_DESCRIPTIONS:
        return parse_description(BUILTIN_DESCRIPTIONS[str(spec)], str(spec))
    if str(spec) in BUILTIN_NAMES:
        return builtin_description(str(spec))
    return load_description(spec)


def network_key(spec: Any = None) -> str:
    """The name a network's latency rows and fits carry (the ``spec`` column of a latency row):
    a built-in's name (None: ``mobilenet_v1``); a user's description (a file or a mapping): its
    name and an 8-hex digest of its content, ``custom-1a2b3c4d``, so two files of one name, or an
    edited file, are never mixed with each other or with a built-in."""
    if spec is None:
        return "mobilenet_v1"
    if isinstance(spec, str | Path) and str(spec) in BUILTIN_NAMES:
        return str(spec)
    import hashlib

    d = get_description(spec)
    body = json.dumps([d.input_channels, d.base_resolution, d.input_scale, list(d.layers),
                       dict(d.variants), d.rounding], sort_keys=True, default=str)
    return f"{d.name}-{hashlib.sha1(body.encode()).hexdigest()[:8]}"


def network_option(spec: Any = None) -> str:
    """The command-line option that names a network: ``--model NAME`` or ``--spec FILE``
    (empty for a description given as data)."""
    if spec is None or (isinstance(spec, str | Path) and str(spec) in BUILTIN_NAMES):
        return f"--model {spec or 'mobilenet_v1'}"
    return f"--spec {spec}" if isinstance(spec, str | Path) else ""


def builtin_description(name: str) -> Description:
    """A built-in network by name; an unknown name is refused listing the names."""
    check_choice("model", name, BUILTIN_NAMES)
    if name in BUILTIN_DESCRIPTIONS:
        return parse_description(BUILTIN_DESCRIPTIONS[name], name)
    return _shipped_description(name)


@functools.cache
def _shipped_description(name: str) -> Description:
    """A shipped YAML description, read once per process with libyaml where available (the
    files are ours: no need for the pure-Python reader's error positions)."""
    import yaml

    from costmodel.io.paths import MODELS_DIR

    path = MODELS_DIR / f"{name}.yaml"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return parse_description(yaml.load(path.read_text(encoding="utf-8"), Loader=loader), str(path))


VARIANTS = ("mobilenet_v1", "full_conv", "shallow")


BASE_VARIANT = "mobilenet_v1"  # the name of every network's own, unedited layer list


def canonical_variant(desc: Description, variant: str) -> str:
    """The one name of a variant: a network's own layer list is BASE_VARIANT, whether asked for
    as ``mobilenet_v1``, ``base`` or the network's own name (so rows stored under it are found
    by every reader); other variants keep their names. Unknown names raise CostModelError."""
    allowed = [BASE_VARIANT, *GENERIC_VARIANTS, *desc.variants]
    if variant in (BASE_VARIANT, "base", desc.name):
        return BASE_VARIANT
    if variant not in allowed:
        raise CostModelError(f"variant {variant!r} is unknown; allowed: {', '.join(allowed)}")
    return variant


def expand(desc: Description, variant: str = "mobilenet_v1") -> list[LayerSpec]:
    """Unroll repeats, expand blocks and apply a variant; returns the named layer specs in
    topological order (see costmodel.core.lower)."""
    variant = canonical_variant(desc, variant)
    if desc.size > MAX_LAYERS:  # a Description built by hand, not by parse_description
        raise too_large(desc.name, desc.size)
    drop = set(desc.variants.get(variant, {}).get("drop_groups", []))
    return expand_entries(desc.layers, desc.name, desc.input_channels, drop,
                          variant == "full_conv")


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
    widths = [sp.out for sp in specs if sp.out is not None and sp.scale is True]
    if not widths or rounding != "int":
        return 0.0
    return 1.0 / min(widths)


def resolve(desc: Description | None = None, variant: str = "mobilenet_v1", alpha: Any = 1.0,
            resolution: Any = 224, rounding: str | None = "int", classes: int = 1000
            ) -> list[Layer]:
    """Validated shapes of one configuration (rounding None: the description's own rule)."""
    desc = desc or get_description()
    a = check_alpha(alpha)
    r = check_resolution(resolution)
    rounding = desc.rounding if rounding is None else rounding
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
