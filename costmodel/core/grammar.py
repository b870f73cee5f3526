"""The layer-entry grammar: validate a description's ``layers`` (and ``blocks`` templates) into
normalized entries, in bounded time and memory, before anything is expanded.

Each entry is a mapping ``{type: ..., <fields>}`` or a timm block string (``ir_r2_k3_s2_e6_c24``,
see :mod:`costmodel.core.blocks`). Validation walks the entries once: a template referenced many
times, or a YAML alias, is validated once (memoized) and shared, never copied, so a hostile file
cannot blow up here. The walk also computes how many layers the description expands to (repeats
multiplied out), so :func:`costmodel.core.lower.expand` refuses an oversized description before
expanding a single repeat. Limits: :data:`MAX_DEPTH` nesting levels, :data:`MAX_LAYERS` layers.
The grammar itself is documented in :mod:`costmodel.core.arch` and README "Architecture
descriptions".
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from costmodel.core.blocks import MACRO_FIELDS, MACRO_SIZES, check_macro, parse_block_string
from costmodel.core.rounding import ROUNDING_RULES
from costmodel.errors import CostModelError

MAX_DEPTH = 16  # nesting levels of composites and templates
MAX_LAYERS = 20_000  # layers of the expanded description (repeats multiplied out)

ACTIVATIONS = ("relu", "relu6", "hswish", "silu", "swish", "sigmoid", "hsigmoid", "tanh", "gelu",
               "none")
COMMON_FIELDS = ("type", "repeat", "group", "scale", "name", "from")
MAX_FROM = 64  # producers one entry may name
_CONV = ("kernel", "stride", "out", "groups", "dilation", "padding", "bias", "bn", "act", "rounding")
_POOL = ("kernel", "stride", "padding", "ceil_mode", "output")
PRIMITIVE_FIELDS: dict[str, tuple[str, ...]] = {
    "conv": _CONV,
    "separable": ("kernel", "stride", "out", "act", "rounding"),
    "dw": ("kernel", "stride", "dilation", "padding", "bias", "bn", "act"),
    "pw": ("stride", "out", "groups", "bias", "bn", "act", "rounding"),
    "avgpool": _POOL,
    "maxpool": _POOL,
    "fc": ("out", "bias", "act", "rounding"),
    "linear": ("out", "bias", "act", "rounding"),
    "bn": (),
    "act": ("act",),
    "flatten": (),
    "dropout": ("p",),
    "lrn": ("size", "alpha", "beta", "k"),
    "shuffle": ("groups",),
    "add": ("act",),  # graph form: the sum of the layers named in `from`
    "mul": (),  # graph form: `from: [x, gate]`, x scaled by a per-channel gate
    "slice": ("part", "parts"),  # graph form: chunk `part` of `parts` of the channels
}
MULTI_INPUT = ("add", "mul", "concat")  # ops that read several layers (graph form: `from`)
COMPOSITE_FIELDS: dict[str, tuple[str, ...]] = {
    "residual": ("body", "shortcut", "act"),
    "concat": ("branches", "split"),
    "sequence": ("layers",),
    "se": ("ratio", "of", "round", "act", "gate"),
}
OUT_TYPES = ("conv", "separable", "pw")  # types that need `out` (fc/linear: default classes)
SE_OF = ("self", "block")  # the channels an SE squeezes by its ratio: its own input, the block's
SE_ROUND = ("int", "divisible8")


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlist = _REPR.maxdict = _REPR.maxtuple = 8
_REPR.maxlevel = 3


def short(value: Any) -> str:
    """repr, bounded in length and depth (a hostile value stays a short message)."""
    return _REPR.repr(value)


@dataclass
class Walk:
    """State of one validation walk: templates, memo of validated nodes, the template stack."""

    source: str
    templates: Mapping[str, Any]
    defaults: Mapping[str, Mapping[str, Any]]
    memo: dict[Any, tuple[Any, int]] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)
    keep: list[Any] = field(default_factory=list)  # memoized raw objects stay alive (ids unique)


def all_types(templates: Mapping[str, Any] = {}) -> list[str]:  # noqa: B006 (read only)
    return [*PRIMITIVE_FIELDS, *COMPOSITE_FIELDS, *MACRO_FIELDS, *templates]


def field_error(where: str, name: str, value: Any, allowed: str) -> CostModelError:
    return CostModelError(f"{where}: field '{name}' is {short(value)}; allowed: {allowed}")


def pos_int(entry: Mapping[str, Any], name: str, where: str, default: int | None,
            minimum: int = 1) -> int | None:
    if name not in entry:
        return default
    v = entry[name]
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise field_error(where, name, v, f"an integer >= {minimum}")
    return v


def _int_or_pair(entry: Mapping[str, Any], name: str, where: str, minimum: int) -> None:
    """An integer >= minimum, or a pair [height, width] of them."""
    if name not in entry:
        return
    v = entry[name]
    values = v if isinstance(v, list | tuple) and len(v) == 2 else [v]
    if not all(isinstance(x, int) and not isinstance(x, bool) and x >= minimum for x in values):
        raise field_error(where, name, v, f"an integer >= {minimum}, or a pair [height, width] "
                                          f"of them")


def _check_bool(entry: Mapping[str, Any], name: str, where: str) -> None:
    if name in entry and not isinstance(entry[name], bool):
        raise field_error(where, name, entry[name], "true or false")


def _check_choice(entry: Mapping[str, Any], name: str, where: str, allowed: tuple[str, ...]) -> None:
    if name in entry and entry[name] not in allowed:
        raise field_error(where, name, entry[name], ", ".join(allowed))


def _check_number(entry: Mapping[str, Any], name: str, where: str, low: float, high: float) -> None:
    v = entry.get(name)
    if name in entry and (isinstance(v, bool) or not isinstance(v, int | float)
                          or not low < v <= high):
        raise field_error(where, name, v, f"a number > {low:g} and <= {high:g}")


def check_fields(entry: Mapping[str, Any], t: str, where: str, allowed: tuple[str, ...]) -> None:
    """Unknown fields, and the fields every entry shares (repeat, group, scale, name)."""
    for key in entry:
        if key not in allowed and key not in COMMON_FIELDS:
            if key == "out" and t in ("dw", "avgpool", "maxpool"):
                raise CostModelError(f"{where}: type {t!r} takes no field 'out' (its width "
                                     f"follows its input or the class count)")
            raise CostModelError(f"{where}: unknown field {short(key)}; allowed: "
                                 f"{', '.join(sorted((*COMMON_FIELDS, *allowed)))}")
    pos_int(entry, "repeat", where, 1, minimum=0)
    if "scale" in entry and not (isinstance(entry["scale"], bool) or entry["scale"] == "grow"):
        raise field_error(where, "scale", entry["scale"], "true, false or grow")
    for name in ("group", "name"):
        if name in entry and not isinstance(entry[name], str):
            raise field_error(where, name, entry[name], "a string")
    _check_from(entry, t, where)


def _check_from(entry: Mapping[str, Any], t: str, where: str) -> None:
    """``from``: the producers of an entry (graph form), names of earlier layers or ``input``."""
    if "from" not in entry:
        if t in ("add", "mul"):
            raise CostModelError(f"{where}: type {t!r} needs field 'from' (the layers it reads)")
        return
    v = entry["from"]
    names = [v] if isinstance(v, str) else v
    if not isinstance(names, list) or not names or len(names) > MAX_FROM or not all(
            isinstance(n, str) for n in names):
        raise field_error(where, "from", v, f"a layer name or a list of 1 to {MAX_FROM} names "
                                            f"of earlier layers (or input)")
    if len(names) > 1 and t not in MULTI_INPUT:
        raise field_error(where, "from", v, f"one name (only {', '.join(MULTI_INPUT)} read "
                                            f"several layers)")
    if t in MULTI_INPUT and t != "concat" and len(names) < 2:
        raise field_error(where, "from", v, "at least 2 names")
    if entry.get("repeat", 1) != 1:
        raise CostModelError(f"{where}: an entry with 'from' takes no 'repeat' (each copy would "
                             f"read the same layers)")


def _check_out(entry: Mapping[str, Any], t: str, where: str) -> None:
    if "out" not in entry:
        if t in OUT_TYPES and entry.get("groups") != "depthwise":
            raise CostModelError(f"{where}: type {t!r} needs field 'out' (output channels)")
        return
    if entry["out"] not in ("same", "classes"):
        pos_int(entry, "out", where, None)


def check_primitive(entry: Mapping[str, Any], t: str, where: str) -> None:
    """Field values of a primitive op (conv, pools, fc, ...)."""
    _check_out(entry, t, where)
    for name in ("kernel", "stride"):
        _int_or_pair(entry, name, where, 1)
    pos_int(entry, "dilation", where, 1)
    pos_int(entry, "size", where, 1)
    pos_int(entry, "output", where, 1)
    pos_int(entry, "parts", where, 1)
    pos_int(entry, "part", where, 0, minimum=0)
    if entry.get("part", 0) >= entry.get("parts", 1) and t == "slice":
        raise field_error(where, "part", entry.get("part"), f"0 to {entry.get('parts', 1) - 1}")
    if "groups" in entry and entry["groups"] != "depthwise":
        pos_int(entry, "groups", where, 1)
    if "padding" in entry and entry["padding"] != "same":
        _int_or_pair(entry, "padding", where, 0)
    for name in ("bias", "bn", "ceil_mode"):
        _check_bool(entry, name, where)
    _check_choice(entry, "act", where, ACTIVATIONS)
    _check_choice(entry, "rounding", where, tuple(ROUNDING_RULES))
    _check_number(entry, "p", where, -1e-12, 1.0)
    for name in ("alpha", "beta", "k"):
        _check_number(entry, name, where, -1e9, 1e9)
    if t in ("avgpool", "maxpool") and "output" in entry and "kernel" in entry:
        raise CostModelError(f"{where}: a pool takes 'kernel' (a window) or 'output' (adaptive "
                             f"to that size), not both")
    if t == "maxpool" and "kernel" not in entry and "output" not in entry:
        raise CostModelError(f"{where}: type 'maxpool' needs field 'kernel' (or 'output' for an "
                             f"adaptive pool)")


def check_se(entry: Mapping[str, Any], where: str) -> None:
    _check_number(entry, "ratio", where, 0.0, 1.0)
    _check_choice(entry, "of", where, SE_OF)
    _check_choice(entry, "round", where, SE_ROUND)
    _check_choice(entry, "act", where, ACTIVATIONS)
    _check_choice(entry, "gate", where, ACTIVATIONS)


def walk_list(raw: Any, where: str, walk: Walk, depth: int, *, allow_empty: bool = False
              ) -> tuple[tuple[Any, ...], int]:
    """Validate a list of entries; returns (normalized entries, expanded layer count)."""
    if not isinstance(raw, list) or (not raw and not allow_empty):
        what = "a list" if allow_empty else "a non-empty list"
        raise CostModelError(f"{where} is {short(raw)}; allowed: {what} of layer entries")
    out, total = [], 0
    for i, item in enumerate(raw):
        entry, size = walk_entry(item, f"{where}[{i}]", walk, depth)
        out.append(entry)
        total += size
        if total > MAX_LAYERS:
            raise too_large(walk.source, total)
    return tuple(out), total


def too_large(source: str, n: int) -> CostModelError:
    return CostModelError(f"{source}: the description expands to {n} or more layers (repeats "
                          f"multiplied out); allowed: at most {MAX_LAYERS}")


def walk_entry(raw: Any, where: str, walk: Walk, depth: int) -> tuple[dict[str, Any], int]:
    """Validate one entry (memoized on the object, so aliases and templates are walked once)."""
    if depth > MAX_DEPTH:
        raise CostModelError(f"{where}: nesting is deeper than {MAX_DEPTH} levels; allowed: at "
                             f"most {MAX_DEPTH}")
    key = (id(raw), tuple(walk.stack))
    if key in walk.memo:
        return walk.memo[key]
    if isinstance(raw, str):
        raw = parse_block_string(raw, where)
    if not isinstance(raw, Mapping):
        raise CostModelError(f"{where} is {short(raw)}; allowed: a mapping with a 'type', or a timm "
                             f"block string such as 'ir_r2_k3_s2_e6_c24'")
    t = raw.get("type")
    if not isinstance(t, str) or t not in all_types(walk.templates):
        raise field_error(where, "type", t, ", ".join(all_types(walk.templates)))
    entry = {**walk.defaults.get(t, {}), **raw}
    if t in walk.templates:
        result = _walk_template(entry, t, where, walk, depth)
    else:
        result = _walk_builtin_type(entry, t, where, walk, depth)
    n = result[1] * pos_int(entry, "repeat", where, 1, minimum=0)  # type: ignore[operator]
    if n > MAX_LAYERS:
        raise too_large(walk.source, n)
    walk.memo[key] = (result[0], n)
    walk.keep.append(raw)
    return result[0], n


def _walk_builtin_type(entry: dict[str, Any], t: str, where: str, walk: Walk, depth: int
                       ) -> tuple[dict[str, Any], int]:
    if t in PRIMITIVE_FIELDS:
        check_fields(entry, t, where, PRIMITIVE_FIELDS[t])
        check_primitive(entry, t, where)
        return entry, 2 if t == "separable" else 1
    if t in MACRO_FIELDS:
        check_fields(entry, t, where, MACRO_FIELDS[t])
        check_macro(entry, t, where)
        check_primitive({k: v for k, v in entry.items() if k in ("kernel", "stride", "act", "out",
                                                                  "rounding")}, t, where)
        for name in ("se_of", "se_round", "se_act", "se_gate"):
            check_se({name[3:]: entry[name]} if name in entry else {}, where)
        return entry, MACRO_SIZES[t]
    check_fields(entry, t, where, COMPOSITE_FIELDS[t])
    if t == "se":
        check_se(entry, where)
        return entry, 4
    if t == "sequence":
        layers, n = walk_list(entry.get("layers"), f"{where}: layers", walk, depth + 1)
        return {**entry, "layers": layers}, n
    if t == "residual":
        _check_choice(entry, "act", where, ACTIVATIONS)
        body, n = walk_list(entry.get("body"), f"{where}: body", walk, depth + 1)
        short, m = walk_list(entry.get("shortcut", []), f"{where}: shortcut", walk, depth + 1,
                             allow_empty=True)
        return {**entry, "body": body, "shortcut": short}, n + m + 2
    _check_bool(entry, "split", where)
    branches = entry.get("branches")
    if branches is None and "from" in entry:  # graph form: the concatenation of named layers
        if len(entry["from"]) < 2 or isinstance(entry["from"], str):
            raise field_error(where, "from", entry["from"], "at least 2 names")
        return entry, 1
    if not isinstance(branches, list) or len(branches) < 2:
        raise field_error(where, "branches", branches, "a list of at least 2 layer lists")
    out, total = [], 1 + len(branches)
    for i, b in enumerate(branches):
        lst, n = walk_list(b, f"{where}: branches[{i}]", walk, depth + 1, allow_empty=True)
        out.append(lst)
        total += n
    return {**entry, "branches": tuple(out)}, total


def _walk_template(entry: dict[str, Any], t: str, where: str, walk: Walk, depth: int
                   ) -> tuple[dict[str, Any], int]:
    """A reference to a ``blocks`` template: its parameters substituted, then validated."""
    if t in walk.stack:
        cycle = " -> ".join([*walk.stack[walk.stack.index(t):], t])
        raise CostModelError(f"{where}: block template {t!r} refers to itself ({cycle}); "
                             f"allowed: templates without cycles")
    tmpl = walk.templates[t]
    params = tmpl.get("params", {})
    for key in entry:
        if key not in params and key not in COMMON_FIELDS:
            raise CostModelError(f"{where}: unknown field {short(key)} of block template {t!r}; "
                                 f"allowed: {', '.join(sorted((*COMMON_FIELDS, *params)))}")
    values = {**params, **{k: v for k, v in entry.items() if k in params}}
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise CostModelError(f"{where}: block template {t!r} needs field(s) {', '.join(missing)}")
    frozen = tuple((k, id(v) if isinstance(v, list | Mapping) else v) for k, v in values.items())
    walk.keep.append(values)
    memo_key = ("template", t, frozen, tuple(walk.stack))
    if memo_key not in walk.memo:  # the same template with the same values is walked once
        layers = substitute(tmpl["layers"], values, f"{where} ({t})")
        walk.stack.append(t)
        try:
            walk.memo[memo_key] = walk_list(layers, f"{where} ({t}): layers", walk, depth + 1)
        finally:
            walk.stack.pop()
    body, n = walk.memo[memo_key]
    seq: dict[str, Any] = {"type": "sequence", "layers": body, "_label": t,
                           **{k: entry[k] for k in ("repeat", "group", "name") if k in entry}}
    return seq, n


def substitute(raw: Any, values: Mapping[str, Any], where: str, depth: int = 0,
               memo: dict[int, Any] | None = None) -> Any:
    """A template's layers with each string "$param" replaced by its value (a shared object,
    e.g. a YAML alias, is substituted once and stays shared)."""
    memo = {} if memo is None else memo
    if depth > MAX_DEPTH * 4:
        raise CostModelError(f"{where}: nesting is deeper than {MAX_DEPTH} levels; allowed: at "
                             f"most {MAX_DEPTH}")
    if isinstance(raw, str) and raw.startswith("$"):
        if raw[1:] not in values:
            raise CostModelError(f"{where}: {short(raw)} names no parameter; allowed: "
                                 f"{', '.join('$' + k for k in values)}")
        return values[raw[1:]]
    if not isinstance(raw, list | Mapping):
        return raw
    if id(raw) not in memo:
        if isinstance(raw, list):
            memo[id(raw)] = [substitute(x, values, where, depth + 1, memo) for x in raw]
        else:
            memo[id(raw)] = {k: substitute(v, values, where, depth + 1, memo)
                             for k, v in raw.items()}
    return memo[id(raw)]


def check_templates(raw: Any, source: str) -> dict[str, Any]:
    """The ``blocks`` field: {name: {params: {name: default or null}, layers: [...]}}."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise field_error(source, "blocks", raw, "a mapping of name -> {params, layers}")
    builtin = all_types()
    for name, tmpl in raw.items():
        where = f"{source}: blocks: {name}"
        if name in builtin:
            raise CostModelError(f"{where}: the name is a built-in type; choose another")
        if not isinstance(tmpl, Mapping) or set(tmpl) - {"params", "layers"} or "layers" not in tmpl:
            raise CostModelError(f"{where} is {short(tmpl)}; allowed: {{params: {{...}}, "
                                 f"layers: [...]}}")
        params = tmpl.get("params", {}) or {}
        if not isinstance(params, Mapping) or any(k in COMMON_FIELDS for k in params):
            raise field_error(where, "params", params, "a mapping of parameter -> default (null: "
                              "required), none named " + ", ".join(COMMON_FIELDS))
    return {str(k): {"params": dict(v.get("params", {}) or {}), "layers": v["layers"]}
            for k, v in raw.items()}


def check_defaults(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    """The ``defaults`` field: {type: {field: value}} applied under every entry of that type."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(v, Mapping) for v in raw.values()):
        raise field_error(source, "defaults", raw, "a mapping of type -> {field: value}")
    for t in raw:
        if t not in [*PRIMITIVE_FIELDS, *COMPOSITE_FIELDS, *MACRO_FIELDS]:
            raise field_error(f"{source}: defaults", "type", t,
                              ", ".join([*PRIMITIVE_FIELDS, *COMPOSITE_FIELDS, *MACRO_FIELDS]))
    return {str(k): dict(v) for k, v in raw.items()}
