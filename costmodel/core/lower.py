"""Lowering: validated entries -> typed layer specs in topological order (a DAG with explicit
producer indices) -> layers with concrete shapes at an alpha and a resolution.

:func:`expand` unrolls repeats, expands block macros (:mod:`costmodel.core.blocks`) and
composites (residual, concat, se, sequence) into primitive layers, each a :class:`LayerSpec`
whose ``inputs`` name its producers (-1: the network input; ``None``: the layer before it).
:func:`resolve_shapes` walks the specs once, with ints (one config) or numpy arrays that
broadcast (a grid), and returns :class:`Layer` rows; it refuses, naming the layer, what cannot
be built: groups that no longer divide the channels, a residual add or SE scale of unequal
shapes, a split of an odd width, an output smaller than 1x1, a linear layer on a spatial input.

What a builder reads from a :class:`Layer` (everything needed to build it, nothing to infer):
``kind``; ``kernel`` x ``kernel_w``, ``stride`` x ``stride_w``, ``padding`` (None: TF SAME),
``dilation``, ``groups``, ``ceil_mode``; ``in_channels``/``out_channels`` and the sizes;
``bn``, ``bias``, ``act`` (a conv's or linear layer's own BatchNorm, bias and activation; an
``act`` row's function); ``inputs`` (producers: -1 the network input; an add or SE scale has
two, a concat one per branch); ``option(...)``. A global/adaptive pool has kernel 0 and its
output size as ``out_size``; a split (``slice``) takes chunk ``option("part")`` of ``groups``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from costmodel.core.blocks import MACRO_FIELDS, expand_macro
from costmodel.core.kinds import FREE_KINDS, WEIGHTED_KINDS, Kind, LayerType, layer_type
from costmodel.core.rounding import (
    ROUNDING_RULES,
    any_true,
    elementwise_max,
    round_divisible8,
    round_int,
    same_out,
    torch_out,
)
from costmodel.errors import CostModelError

ROLE = "role"  # a LayerSpec option: the composite a layer was lowered from, where it matters
SE_ROLE = "SE"  # the layers of a squeeze-and-excitation (its pool, 1x1 convs and scale)


@dataclass(frozen=True)
class LayerSpec:
    """One layer of an expanded description, before alpha and resolution are applied.

    ``out``: base output channels (None: the input's for dw/pools, the classes for fc);
    ``scale``: True (alpha thins ``out``), False, or "grow" (widen above alpha 1, never thin);
    ``width``: how ``out`` follows another layer instead: ("tie", j) its channels, ("times", j,
    r) rounding(channels x r), ("squeeze", j, r, rule) an SE's squeeze width, ("classes",) the
    class count (a conv classifier).
    ``padding`` None is TF 'SAME' (out = ceil(in / stride)); else (ph, pw) torch-style.
    """

    name: str
    kind: Kind
    kernel: int
    stride: int
    out: int | None
    scale: bool | str = True
    kernel_w: int | None = None  # None: square
    stride_w: int | None = None  # None: as stride
    padding: tuple[int, int] | None = None
    dilation: int = 1
    groups: int = 1  # a grouped conv's groups, a shuffle's groups, a split's parts
    inputs: tuple[int, ...] | None = None
    width: tuple[Any, ...] = ()
    rounding: str | None = None  # this layer's own rule (None: the run's)
    bias: bool | None = None  # None: True for fc and for convs without BN
    bn: bool | None = None  # None: True for convs
    act: str | None = None  # None: relu for convs, else none
    ceil_mode: bool = False
    output: int | None = None  # an adaptive pool's output size (kernel 0; None: 1, global)
    options: tuple[tuple[str, Any], ...] = ()  # builder-only settings (dropout p, lrn, part)

    def __post_init__(self) -> None:
        conv = Kind(self.kind) in WEIGHTED_KINDS
        if self.bn is None:
            object.__setattr__(self, "bn", conv)
        if self.act is None:
            object.__setattr__(self, "act", "relu" if conv else "none")
        if self.bias is None:
            object.__setattr__(self, "bias", self.kind == Kind.FC or (conv and not self.bn))


@dataclass(frozen=True)
class Layer:
    """One layer with concrete shapes. Fields may be ints, or numpy arrays in a sweep.
    Sizes are (height, width); ``in_size``/``out_size`` are the heights (equal to the widths
    for square inputs and kernels). ``inputs``: producer indices, -1 the network input."""

    index: int
    name: str
    kind: Kind
    kernel: int
    stride: int
    in_channels: Any
    out_channels: Any
    in_size: Any
    out_size: Any
    kernel_w: Any = None
    stride_w: Any = None
    in_width: Any = None
    out_width: Any = None
    groups: Any = None
    inputs: tuple[int, ...] | None = None
    spec: LayerSpec | None = None

    def __post_init__(self) -> None:
        fill = {"kernel_w": self.kernel, "stride_w": self.stride, "in_width": self.in_size,
                "out_width": self.out_size, "inputs": (self.index - 1,),
                "groups": self.in_channels if self.kind == Kind.DW else 1}
        for name, value in fill.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    @property
    def type(self) -> LayerType:
        """The paper's Table 2 type (kind and kernel)."""
        return layer_type(self.kind, self.kernel, self.kernel_w)

    @property
    def bn(self) -> bool:
        return bool(self.spec.bn) if self.spec else self.kind in WEIGHTED_KINDS

    @property
    def bias(self) -> bool:
        return bool(self.spec.bias) if self.spec else self.kind == Kind.FC

    @property
    def act(self) -> str:
        return str(self.spec.act) if self.spec else ("relu" if self.kind in WEIGHTED_KINDS
                                                     else "none")

    @property
    def padding(self) -> tuple[int, int] | None:
        """(ph, pw) torch-style padding, or None: TF 'SAME' (out = ceil(in / stride))."""
        return self.spec.padding if self.spec else None

    @property
    def dilation(self) -> int:
        return self.spec.dilation if self.spec else 1

    @property
    def ceil_mode(self) -> bool:
        return self.spec.ceil_mode if self.spec else False

    def option(self, name: str, default: Any = None) -> Any:
        """A builder-only setting: dropout ``p``, LRN ``size``/``alpha``/``beta``/``k``, a
        split's ``part`` (of ``groups`` parts)."""
        return dict(self.spec.options).get(name, default) if self.spec else default

    @property
    def in_shape(self) -> tuple[Any, Any, Any]:
        """(height, width, channels) of the input."""
        return (self.in_size, self.in_width, self.in_channels)

    @property
    def out_shape(self) -> tuple[Any, Any, Any]:
        """(height, width, channels) of the output."""
        return (self.out_size, self.out_width, self.out_channels)

    @property
    def in_elements(self) -> Any:
        """Input activations (elements of one sample)."""
        return self.in_channels * self.in_size * self.in_width

    @property
    def out_elements(self) -> Any:
        """Output activations (elements of one sample): a row's ``activations``."""
        return self.out_channels * self.out_size * self.out_width


# --------------------------------------------------------------------------------------------
# Expansion: entries -> specs
# --------------------------------------------------------------------------------------------
@dataclass
class _Scope:
    prefix: str
    block_input: int  # the enclosing block's input node (-1: the network input)
    counters: dict[str, int] = field(default_factory=dict)


@dataclass
class _State:
    desc_name: str
    input_nominal: int
    drop: set[str]
    full_conv: bool
    specs: list[LayerSpec] = field(default_factory=list)
    nominal: list[int] = field(default_factory=list)  # channels at alpha 1 (macros' skip rule)
    names: dict[str, int] = field(default_factory=dict)

    def nom(self, j: int) -> int:
        return self.input_nominal if j < 0 else self.nominal[j]

    def alias(self, name: str, index: int) -> int:
        """A block's name, for ``from``, means its output layer."""
        if name in self.names:
            raise CostModelError(f"description {self.desc_name!r}: layer name {name!r} "
                                 f"repeats; allowed: unique layer names")
        self.names[name] = index
        return index

    def add(self, spec: LayerSpec, inputs: tuple[int, ...], nominal: int) -> int:
        i = len(self.specs)
        if spec.name in self.names:
            raise CostModelError(f"description {self.desc_name!r}: layer name {spec.name!r} "
                                 f"repeats; allowed: unique layer names")
        self.names[spec.name] = i
        chain = inputs == (i - 1,)
        self.specs.append(spec if chain else _replace(spec, inputs=inputs))
        self.nominal.append(nominal)
        return i


def _replace(spec: LayerSpec, **kw: Any) -> LayerSpec:
    from dataclasses import replace

    return replace(spec, **kw)


_LEGACY_BASE = {"conv": "conv", "avgpool": "avg_pool", "fc": "fc", "linear": "fc"}


def _name(scope: _Scope, base: str, explicit: str | None, copy: int, copies: int) -> str:
    if explicit:
        return scope.prefix + (explicit if copies == 1 else f"{explicit}_{copy + 1}")
    n = scope.counters[base] = scope.counters.get(base, 0) + 1
    if base in ("avg_pool", "fc"):
        return scope.prefix + (base if n == 1 else f"{base}{n}")
    if base == "sep":
        return scope.prefix + f"{n}"
    return scope.prefix + f"{base}{n}"


def expand_entries(entries: Sequence[Mapping[str, Any]], desc_name: str, input_channels: int,
                   drop: set[str], full_conv: bool) -> list[LayerSpec]:
    st = _State(desc_name, input_channels, drop, full_conv)
    _lower_list(entries, _Scope("", -1), -1, st)
    return st.specs


def _lower_list(entries: Sequence[Mapping[str, Any]], scope: _Scope, cur: int, st: _State) -> int:
    for e in entries:
        if e.get("group") in st.drop:
            continue
        copies = e.get("repeat", 1)
        for r in range(copies):
            cur = _lower_entry(e, r, copies, scope, cur, st)
    return cur


def _sources(e: Mapping[str, Any], st: _State, where: str) -> tuple[int, ...]:
    """The producers named in ``from`` (graph form): earlier layers by full name, or input."""
    names = [e["from"]] if isinstance(e["from"], str) else e["from"]
    out = []
    for n in names:
        if n != "input" and n not in st.names:
            raise CostModelError(f"layer {where}: from {n!r} names no earlier layer; allowed: "
                                 f"input or the name of a layer before it")
        out.append(-1 if n == "input" else st.names[n])
    return tuple(out)


_MERGE = {"add": Kind.ADD, "mul": Kind.MUL, "concat": Kind.CONCAT}


def _lower_entry(e: Mapping[str, Any], r: int, copies: int, scope: _Scope, cur: int,
                 st: _State) -> int:
    t = e["type"]
    if "from" in e:
        srcs = _sources(e, st, e.get("name") or f"{scope.prefix}{t}")
        if t in _MERGE and "branches" not in e:  # graph form: a layer reading several others
            name = _name(scope, t, e.get("name"), r, copies)
            spec = LayerSpec(name, _MERGE[t], 0, 1, None, False)
            out = st.add(spec, srcs, sum(st.nom(j) for j in srcs) if t == "concat"
                         else st.nom(srcs[0]))
            if e.get("act", "none") != "none":
                out = st.add(LayerSpec(name + "_act", Kind.ACT, 0, 1, None, False, act=e["act"]),
                             (out,), st.nom(out))
                st.names[name] = out  # the entry's name means its output: after the act
            return out
        cur = srcs[0]
    if t in MACRO_FIELDS:
        stride = e.get("stride", 1) if r == 0 else 1
        seq = expand_macro(e, t, stride, st.nom(cur))
        name = _name(scope, t, e.get("name"), r, copies)
        return st.alias(name, _composite(seq, name, scope, cur, st))
    if t in ("residual", "concat", "sequence", "se"):
        name = _name(scope, e.get("_label", t), e.get("name"), r, copies)
        return st.alias(name, _composite(e, name, scope, cur, st))
    return _primitive(e, t, r, copies, scope, cur, st)


def _composite(e: Mapping[str, Any], name: str, scope: _Scope, cur: int, st: _State) -> int:
    t = e["type"]
    inner = _Scope(name + ".", cur)
    if t == "sequence":
        return _lower_list(e["layers"], inner, cur, st)
    if t == "se":
        return _se(e, inner, scope.block_input, cur, st)
    if t == "residual":
        body = _lower_list(e["body"], inner, cur, st)
        short = _lower_list(e.get("shortcut", ()), inner, cur, st)
        out = st.add(LayerSpec(inner.prefix + "add", Kind.ADD, 0, 1, None, False),
                     (body, short), st.nom(body))
        if e.get("act", "none") != "none":
            out = st.add(LayerSpec(inner.prefix + "act", Kind.ACT, 0, 1, None, False,
                                   act=e["act"]), (out,), st.nom(out))
        return out
    branches = e["branches"]
    ends = []
    for i, b in enumerate(branches):
        start = cur
        if e.get("split"):
            start = st.add(LayerSpec(inner.prefix + f"split{i}", Kind.SLICE, 0, 1, None, False,
                                     groups=len(branches), options=(("part", i),)),
                           (cur,), st.nom(cur) // len(branches))
        ends.append(_lower_list(b, _Scope(inner.prefix + f"b{i}.", start), start, st))
    return st.add(LayerSpec(inner.prefix + "concat", Kind.CONCAT, 0, 1, None, False),
                  tuple(ends), sum(st.nom(j) for j in ends))


def _se(e: Mapping[str, Any], inner: _Scope, block_input: int, cur: int, st: _State) -> int:
    """Squeeze-and-excitation: global pool, 1x1 reduce (bias, act), 1x1 expand (bias, gate),
    then the input scaled by the gate."""
    basis = cur if e.get("of", "self") == "self" else block_input
    p = inner.prefix
    se = ((ROLE, SE_ROLE),)  # the breakdown's "SE" category (core.breakdown)
    pool = st.add(LayerSpec(p + "pool", Kind.AVGPOOL, 0, 1, None, False, options=se), (cur,),
                  st.nom(cur))
    sq = ("squeeze", basis, float(e.get("ratio", 0.25)), e.get("round", "int"))
    red = st.add(LayerSpec(p + "reduce", Kind.CONV, 1, 1, None, False, width=sq, bias=True,
                           bn=False, act=e.get("act", "relu"), options=se), (pool,),
                 _squeeze(st.nom(basis), sq[2], sq[3]))
    gate = st.add(LayerSpec(p + "expand", Kind.CONV, 1, 1, None, False, width=("tie", cur),
                            bias=True, bn=False, act=e.get("gate", "sigmoid"), options=se),
                  (red,), st.nom(cur))
    return st.add(LayerSpec(p + "scale", Kind.MUL, 0, 1, None, False, options=se), (cur, gate),
                  st.nom(cur))


def _pair(v: Any, default: int) -> tuple[int, int]:
    if v is None:
        return default, default
    return (int(v[0]), int(v[1])) if isinstance(v, list | tuple) else (int(v), int(v))


_SIMPLE = {"bn": Kind.BN, "act": Kind.ACT, "flatten": Kind.FLATTEN, "dropout": Kind.DROPOUT,
           "lrn": Kind.LRN, "shuffle": Kind.SHUFFLE, "slice": Kind.SLICE}


def _primitive(e: Mapping[str, Any], t: str, r: int, copies: int, scope: _Scope, cur: int,
               st: _State) -> int:
    scale = e.get("scale", True)
    if t == "separable" and not st.full_conv:
        k = e.get("kernel", 3)
        dw_name = _name(scope, "sep", e.get("name"), r, copies)
        base = dw_name[len(scope.prefix):]
        dw = st.add(LayerSpec(f"{scope.prefix}conv_dw_{base}" if not e.get("name") else
                              f"{dw_name}.dw", Kind.DW, k, e.get("stride", 1), None, scale,
                              act=e.get("act", "relu")), (cur,), st.nom(cur))
        pw_name = f"{scope.prefix}conv_pw_{base}" if not e.get("name") else f"{dw_name}.pw"
        return st.add(_conv_spec(e, pw_name, Kind.PW, 1, 1, scope), (dw,),
                      _nominal(e, st, scope))
    if t in ("conv", "separable", "dw", "pw"):
        return _conv(e, t, r, copies, scope, cur, st)
    if t in ("avgpool", "maxpool"):
        kind = Kind.AVGPOOL if t == "avgpool" else Kind.MAXPOOL
        name = _name(scope, _LEGACY_BASE.get(t, t), e.get("name"), r, copies)
        k = _pair(e.get("kernel"), 0)
        s = _pair(e.get("stride"), 0) if "stride" in e else k
        return st.add(LayerSpec(name, kind, k[0], max(s[0], 1), None, False,
                                kernel_w=k[1] if k[1] != k[0] else None,
                                stride_w=max(s[1], 1) if s[1] != s[0] else None,
                                padding=_padding(e, (0, 0)) if k[0] else None,
                                ceil_mode=e.get("ceil_mode", False),
                                output=e.get("output")), (cur,), st.nom(cur))
    if t in ("fc", "linear"):
        name = _name(scope, "fc", e.get("name"), r, copies)
        spec = LayerSpec(name, Kind.FC, 1, 1, e.get("out"), scale if "out" in e else False,
                         bias=e.get("bias"), bn=False, act=e.get("act", "none"),
                         rounding=e.get("rounding"))
        return st.add(spec, (cur,), e.get("out", 0))
    name = _name(scope, t, e.get("name"), r, copies)
    opts = tuple((k, e[k]) for k in ("p", "size", "alpha", "beta", "k", "part") if k in e)
    groups = e.get("parts", 1) if t == "slice" else e.get("groups", 1)
    spec = LayerSpec(name, _SIMPLE[t], 0, 1, None, False, groups=groups,
                     act=e.get("act", "relu") if t == "act" else None, options=opts)
    return st.add(spec, (cur,), st.nom(cur) // groups if t == "slice" else st.nom(cur))


def _padding(e: Mapping[str, Any], default: tuple[int, int] | None) -> tuple[int, int] | None:
    p = e.get("padding")
    if p is None:
        return default
    return None if p == "same" else _pair(p, 0)


def _nominal(e: Mapping[str, Any], st: _State, scope: _Scope) -> int:
    """A conv's or pw's width at alpha 1 (its ``out``, which the grammar requires), as
    :func:`_conv_spec` sets it: ``same`` and a macro's ``("x", ratio)`` follow the block's
    input; ``classes``, the class count, is not known before the shapes: 0, as an fc's
    without out."""
    out = e.get("out")
    if isinstance(out, int):
        return out
    if isinstance(out, tuple):
        return int(st.nom(scope.block_input) * out[1])
    return st.nom(scope.block_input) if out == "same" else 0


def _conv_spec(e: Mapping[str, Any], name: str, kind: Kind, k: Any, s: Any, scope: _Scope,
               groups: int = 1) -> LayerSpec:
    kh, kw = _pair(k, 3)
    sh, sw = _pair(s, 1)
    out = e.get("out")
    width: tuple[Any, ...] = ()
    if out == "same":
        out, width = None, ("tie", scope.block_input)
    elif out == "classes":  # a conv classifier (SqueezeNet): as wide as the class count
        out, width = None, ("classes",)
    elif isinstance(out, tuple):  # a macro's expansion: ("x", ratio) of the block's input
        width, out = ("times", scope.block_input, float(out[1])), None
    bn = e.get("bn", True)
    return LayerSpec(name, kind, kh, sh, out, e.get("scale", True),
                     kernel_w=kw if kw != kh else None, stride_w=sw if sw != sh else None,
                     padding=_padding(e, None), dilation=e.get("dilation", 1), groups=groups,
                     width=width, rounding=e.get("rounding"), bias=e.get("bias"), bn=bn,
                     act=e.get("act", "relu"))


def _conv(e: Mapping[str, Any], t: str, r: int, copies: int, scope: _Scope, cur: int,
          st: _State) -> int:
    groups = e.get("groups", 1)
    if t == "dw" or groups == "depthwise":
        kind, k, base, g = Kind.DW, e.get("kernel", 3), "sep", 1
    elif t == "pw":
        kind, k, base, g = Kind.PW, 1, "sep", groups
    else:  # conv, or separable under full_conv
        kind, k, base, g = Kind.CONV, e.get("kernel", 3), "conv", groups
    if g > 1:
        kind = Kind.GCONV
    n = _name(scope, base, e.get("name"), r, copies)
    if base == "sep" and not e.get("name"):
        n = f"{scope.prefix}conv_{'dw' if kind == Kind.DW else 'pw'}_{n[len(scope.prefix):]}"
    spec = _conv_spec(e, n, kind, k, e.get("stride", 1), scope, g)
    if kind == Kind.DW:
        spec = _replace(spec, out=None, width=())
    nominal = st.nom(cur) if kind == Kind.DW else _nominal(e, st, scope)
    return st.add(spec, (cur,), nominal)


# --------------------------------------------------------------------------------------------
# Shapes: specs -> layers at an alpha and a resolution
# --------------------------------------------------------------------------------------------
@dataclass
class _Ctx:
    alpha: Any
    resolution: Any
    rule: Callable[[Any, Any], Any]
    classes: int
    shapes: list[tuple[Any, Any, Any]]  # (channels, height, width) per layer
    input_shape: tuple[Any, Any, Any]

    def shape(self, j: int) -> tuple[Any, Any, Any]:
        return self.input_shape if j < 0 else self.shapes[j]

    def at(self, v: Any, bad: Any) -> Any:
        """``v`` (a value of the grid, or one number) at the first config where ``bad`` holds.
        ``bad`` may vary with alpha only, ``v`` with resolution only: both are read on the whole
        grid."""
        import numpy as np

        grid = np.broadcast_shapes(np.shape(self.alpha), np.shape(self.resolution), np.shape(bad))
        return np.broadcast_to(v, grid).flat[int(np.argmax(np.broadcast_to(bad, grid)))]

    def where(self, bad: Any) -> str:
        """'alpha A, resolution R' of the first config where ``bad`` holds."""
        return f"alpha {float(self.at(self.alpha, bad)):g}, resolution " \
               f"{int(self.at(self.resolution, bad))}"


def _refuse(bad: Any, ctx: _Ctx, message: str) -> None:
    """Raise ``message`` (with {where}) if ``bad`` holds for any config."""
    if any_true(bad):
        raise CostModelError(message.format(where=ctx.where(bad)))


def resolve_shapes(specs: Sequence[LayerSpec], alpha: Any, resolution: Any, rounding: str,
                   classes: int, input_channels: int, input_scale: bool = False) -> list[Layer]:
    """Shapes for every layer; alpha/resolution may be numpy arrays that broadcast."""
    rule = ROUNDING_RULES[rounding]
    c0: Any = rule(input_channels, alpha) if input_scale else input_channels
    ctx = _Ctx(alpha, resolution, rule, classes, [], (c0, resolution, resolution))
    layers: list[Layer] = []
    for i, sp in enumerate(specs):
        inputs = sp.inputs if sp.inputs is not None else (i - 1,)
        c, h, w = ctx.shape(inputs[0])
        out_c, out_h, out_w = _out_shape(sp, inputs, ctx)
        _refuse((out_h < 1) | (out_w < 1), ctx,
                f"layer {sp.name}: {{where}} gives it an output smaller than 1x1; allowed: a "
                f"resolution at which every layer's output is at least 1x1")
        if sp.kind == Kind.CONCAT:
            c = out_c
        g = c if sp.kind == Kind.DW else sp.groups
        layers.append(Layer(i, sp.name, sp.kind, sp.kernel, sp.stride, c, out_c, h, out_h,
                            sp.kernel_w or sp.kernel, sp.stride_w or sp.stride, w, out_w, g,
                            inputs, sp))
        ctx.shapes.append((out_c, out_h, out_w))
    return layers


def _spatial(sp: LayerSpec, h: Any, w: Any) -> tuple[Any, Any]:
    if sp.kind in (Kind.AVGPOOL, Kind.MAXPOOL) and sp.kernel == 0:  # global or adaptive
        o = sp.output or 1
        return h * 0 + o, w * 0 + o
    sh, sw = sp.stride, sp.stride_w or sp.stride
    if sp.padding is None:
        return same_out(h, sh), same_out(w, sw)
    kw = sp.kernel_w or sp.kernel
    return (torch_out(h, sp.kernel, sh, sp.padding[0], sp.dilation, sp.ceil_mode),
            torch_out(w, kw, sw, sp.padding[1], sp.dilation, sp.ceil_mode))


def _out_shape(sp: LayerSpec, inputs: tuple[int, ...], ctx: _Ctx) -> tuple[Any, Any, Any]:
    c, h, w = ctx.shape(inputs[0])
    kind = sp.kind
    if kind in WEIGHTED_KINDS:
        out_c = c if kind == Kind.DW else _width(sp, c, ctx)
        _refuse((c % sp.groups != 0) | (out_c % sp.groups != 0), ctx,
                f"layer {sp.name}: {sp.groups} groups do not divide its input and output "
                f"channels at {{where}}; allowed: an alpha and rounding that keep both multiples "
                f"of {sp.groups}")
        return (out_c, *_spatial(sp, h, w))
    if kind in (Kind.AVGPOOL, Kind.MAXPOOL):
        return (c, *_spatial(sp, h, w))
    if kind == Kind.FC:
        _refuse((h != 1) | (w != 1), ctx,
                f"layer {sp.name}: a linear layer needs a 1x1 input; {{where}} gives it a larger "
                f"one; allowed: a global or adaptive pool, or flatten, before it")
        return _width(sp, c, ctx), h, w
    if kind == Kind.FLATTEN:
        return c * h * w, h * 0 + 1, w * 0 + 1
    if kind in (Kind.SLICE, Kind.SHUFFLE):
        _refuse(c % sp.groups != 0, ctx,
                f"layer {sp.name}: {sp.groups} groups do not divide its channels at {{where}}; "
                f"allowed: an alpha and rounding that keep them a multiple of {sp.groups}")
        return (c // sp.groups if kind == Kind.SLICE else c), h, w
    if kind in (Kind.ADD, Kind.MUL, Kind.CONCAT):
        return _merge(sp, inputs, ctx)
    assert kind in (Kind.BN, *FREE_KINDS), kind
    return c, h, w


def _merge(sp: LayerSpec, inputs: tuple[int, ...], ctx: _Ctx) -> tuple[Any, Any, Any]:
    """Add (equal shapes), SE scale (a gate as wide as the input) or concat (equal sizes)."""
    shapes = [ctx.shape(j) for j in inputs]
    c, h, w = shapes[0]
    for other in shapes[1:]:
        oc, oh, ow = other
        if sp.kind == Kind.CONCAT:
            bad = (oh != h) | (ow != w)
            what = "concatenation of unequal sizes"
        elif sp.kind == Kind.MUL:
            bad = oc != c
            what = "SE scale of unequal widths"
        else:
            bad = (oc != c) | (oh != h) | (ow != w)
            what = "residual add of unequal shapes"
        if any_true(bad):
            raise CostModelError(
                f"layer {sp.name}: {what} at {ctx.where(bad)} ({_text(shapes, bad, ctx)}); "
                f"allowed: " + ("equal sizes (every branch's output as high and as wide)"
                                if sp.kind == Kind.CONCAT else "equal shapes (tie a body's last "
                                                               "width to its input with out: same)"))
    if sp.kind == Kind.CONCAT:
        return sum(s[0] for s in shapes), h, w
    return c, h, w


def _text(shapes: list[tuple[Any, Any, Any]], bad: Any, ctx: _Ctx) -> str:
    """The shapes (HxWxC) at the config the error names: the first where ``bad`` holds."""
    return " and ".join("x".join(str(ctx.at(v, bad)) for v in (h, w, c)) for c, h, w in shapes)


def _squeeze(basis: Any, ratio: float, rounding: str) -> Any:
    """An SE's squeeze width: int(basis x ratio), at least 1 ("int"), or made divisible by 8."""
    squeeze = round_int(basis, ratio)
    return elementwise_max(squeeze, 1) if rounding == "int" else round_divisible8(squeeze, 1)


def _width(sp: LayerSpec, c_in: Any, ctx: _Ctx) -> Any:
    """Output channels of a conv or linear layer."""
    rule = ROUNDING_RULES[sp.rounding] if sp.rounding else ctx.rule
    if sp.width == ("classes",):
        return ctx.classes
    if sp.width:
        basis = ctx.shape(sp.width[1])[0]
        if sp.width[0] == "tie":
            return basis
        if sp.width[0] == "times":
            return rule(basis, sp.width[2])
        return _squeeze(basis, sp.width[2], sp.width[3])
    if sp.out is None:
        return ctx.classes if sp.kind == Kind.FC else c_in
    if sp.scale is False:
        return sp.out
    a = elementwise_max(ctx.alpha, 1.0) if sp.scale == "grow" else ctx.alpha
    return rule(sp.out, a)
