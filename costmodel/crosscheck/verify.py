"""Cross-checks of the engine's counts against fvcore and the other counters, on real torch models.

One configuration is built as a torch model (:func:`costmodel.crosscheck.torch_model.build_model`, module
names equal to the layer table's row names) and counted by:

* fvcore ``FlopCountAnalysis(...).by_module()`` and ``parameter_count`` -- aligned with the layer
  table row by row. The engine's ``fvcore`` convention is designed to equal fvcore's defaults, so
  each row's *residual* (fvcore minus the engine under the fvcore convention) must be 0; the
  *difference* from the chosen convention is explained by that convention's terms.
* ``torch.utils.flop_counter.FlopCounterMode`` and, when installed, ptflops (both backends),
  thop and torchinfo -- totals only. Each tool's total is explained to the unit as a sum of
  terms (conv + FC weights, BatchNorm, ReLU, pooling, biases), every term a coefficient (the
  tool's counting rule, read from its source and documented in :data:`EXTERNAL_COUNTERS`) times a
  quantity computed from the engine's rows (activations, channels, weight mult-adds).

A row or a total agrees when its residual is 0. torch and the counters are imported here (the
counters inside the functions that run them, so a missing one is reported as skipped), never
by ``costmodel.cli``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from costmodel.core.arch import Description, Layer
from costmodel.core.conventions import Convention, get_convention
from costmodel.core.engine import Config, LayerTable, layer_table
from costmodel.core.kinds import WEIGHTED_KINDS, Kind, LayerType, shape_text
from costmodel.crosscheck.torch_model import CostModelNet, build_model, output_shape
from costmodel.errors import CostModelError

# A config is refused (one-line error) when building and counting it would need more than this.
MAX_MODEL_BYTES = 2 * 2**30  # fp32 weights + the largest input/output activation pair
MAX_MULT_ADDS = 20 * 10**9  # per forward pass; each counter runs at least one


# --------------------------------------------------------------------------------------------
# Quantities read from the engine's rows, and the terms a total is made of
# --------------------------------------------------------------------------------------------
def _elements(shape: tuple[int, ...]) -> int:
    """Number of elements of a (height, width, channels) shape."""
    return math.prod(int(d) for d in shape)


def _out(r: Mapping[str, Any]) -> int:
    return int(r["activations"])


def _adaptive_avg(lay: Layer) -> bool:
    return lay.kind == Kind.AVGPOOL and lay.kernel == 0


def _has_bn(lay: Layer) -> bool:  # a conv's own BatchNorm, or a BatchNorm layer
    return lay.kind == Kind.BN or (lay.kind in WEIGHTED_KINDS and lay.bn)


def _act(*names: str) -> Callable[[Layer], bool]:
    """An activation module of one of ``names``: a conv's, a linear layer's, or its own layer."""
    return lambda lay: lay.act in names and lay.kind in (*WEIGHTED_KINDS, Kind.FC, Kind.ACT)


def _other_pool(lay: Layer) -> bool:  # a windowed pool, or an adaptive max pool
    return lay.kind in (Kind.AVGPOOL, Kind.MAXPOOL) and not _adaptive_avg(lay)


def _lrn_window(r: Mapping[str, Any], lay: Layer) -> int:
    """Elements F.local_response_norm average-pools: the squared input padded by size - 1
    channels, (C + size - 1) x H x W."""
    if lay.kind != Kind.LRN:
        return 0
    size = int(dict(lay.spec.options).get("size", 5)) if lay.spec else 5
    h, w, c = (int(v) for v in r["out_shape"])
    return (c + size - 1) * h * w


def _when(test: Callable[[Layer], bool], value: Callable[[Mapping[str, Any]], int]
          ) -> Callable[[Mapping[str, Any], Layer], int]:
    return lambda r, lay: value(r) if test(lay) else 0


# name -> (label, value of one row and its layer). Every quantity is read from an engine row;
# the layer (the same resolved layer the row counts) says which modules it has (BN, bias, act).
QUANTITIES: dict[str, tuple[str, Callable[[Mapping[str, Any], Layer], int]]] = {
    "weight_macs": ("weight mult-adds", lambda r, _lay: int(r["weight_mult_adds"])),
    "bn_outputs": ("BN outputs", _when(_has_bn, _out)),
    "relu_outputs": ("ReLU outputs", _when(_act("relu"), _out)),
    "relu6_silu_outputs": ("ReLU6/SiLU outputs", _when(_act("relu6", "silu", "swish"), _out)),
    "gelu_outputs": ("GELU outputs", _when(_act("gelu"), _out)),
    "bn_channels": ("BN channels", _when(_has_bn, lambda r: int(r["out_channels"]))),
    "pool_inputs": ("pool inputs", _when(_adaptive_avg, lambda r: _elements(r["in_shape"]))),
    "pool_outputs": ("pool outputs", _when(_adaptive_avg, _out)),
    "other_pool_inputs": ("windowed/max pool inputs",
                          _when(_other_pool, lambda r: _elements(r["in_shape"]))),
    "window_avg_outputs": ("windowed avg pool outputs",
                           _when(lambda lay: lay.kind == Kind.AVGPOOL and lay.kernel > 0, _out)),
    "lrn_window": ("LRN window elements", _lrn_window),
    "lrn_outputs": ("LRN outputs", _when(lambda lay: lay.kind == Kind.LRN, _out)),
    "conv_bias_outputs": ("conv bias outputs",
                          _when(lambda lay: lay.kind in WEIGHTED_KINDS and lay.bias, _out)),
    "fc_outputs": ("FC outputs", _when(lambda lay: lay.kind == Kind.FC and lay.bias, _out)),
    "weight_params": ("weights", lambda r, _lay: int(r["weight_params"])),
    "fc_biases": ("FC biases", _when(lambda lay: lay.kind == Kind.FC and lay.bias,
                                     lambda r: int(r["out_channels"]))),
    "conv_biases": ("conv biases", _when(lambda lay: lay.kind in WEIGHTED_KINDS and lay.bias,
                                         lambda r: int(r["out_channels"]))),
}


def quantities(rows: Iterable[Mapping[str, Any]], layers: Sequence[Layer]) -> dict[str, int]:
    """Totals of every quantity over the rows (``layers``: the resolved layers the rows count,
    in the same order)."""
    pairs = list(zip(rows, layers, strict=True))
    return {q: sum(fn(r, lay) for r, lay in pairs) for q, (_, fn) in QUANTITIES.items()}


# Term categories of a total: key -> (label, the engine row field that holds the engine's count
# of that term, or None where no convention counts it).
MULT_ADD_TERMS: dict[str, tuple[str, str | None]] = {
    "weights": ("conv + FC weights", "weight_mult_adds"),
    "bn": ("BatchNorm", "norm_ops"),
    "relu": ("ReLU", None),
    "act": ("other activations", None),
    "pool": ("pooling", "pool_ops"),
    "lrn": ("LRN", None),
    "bias": ("bias adds", None),
}
PARAM_TERMS: dict[str, tuple[str, str | None]] = {
    "weights": ("conv + FC weights", "weight_params"),
    "bn": ("BatchNorm", "norm_params"),
    "bias": ("biases", "bias_params"),
}
TERMS = {"mult_adds": MULT_ADD_TERMS, "params": PARAM_TERMS}


@dataclass(frozen=True)
class Component:
    """``coef`` units per ``quantity`` counted under term ``term``."""

    term: str
    coef: int
    quantity: str


@dataclass(frozen=True)
class Profile:
    """What a counter counts: components of its mult-add (or FLOP) total and of its params."""

    mult_adds: tuple[Component, ...]
    params: tuple[Component, ...] | None  # None: the counter reports no parameters


def profile_from_convention(convention: Convention) -> Profile:
    """The components an engine convention counts (the convention's own documented rules)."""
    ma = (Component("weights", 1, "weight_macs"),
          Component("bn", convention.norm_ops_per_element, "bn_outputs"),
          Component("pool", convention.pool_ops_per_input, "pool_inputs"))
    p = (Component("weights", 1, "weight_params"),
         Component("bn", convention.norm_params_per_channel, "bn_channels"),
         Component("bias", int(convention.fc_bias), "fc_biases"),
         Component("bias", int(convention.conv_bias), "conv_biases"))
    return Profile(tuple(c for c in ma if c.coef), tuple(c for c in p if c.coef))


# The torch model's parameters (build_model): conv weights (bias=False), BatchNorm weight and
# bias (running statistics are buffers), FC weight and bias.
MODEL_PARAMS = (Component("weights", 1, "weight_params"), Component("bn", 2, "bn_channels"),
                Component("bias", 1, "fc_biases"), Component("bias", 1, "conv_biases"))


# --------------------------------------------------------------------------------------------
# The counters
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the counters: their stdout/stderr prints, Python warnings and log records."""
    sink = io.StringIO()
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), \
                contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


RunResult = tuple[int, int | None]  # (mult-adds or FLOPs, params or None)


def _run_flop_counter(model: nn.Module, x: torch.Tensor) -> RunResult:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops()), None


def _run_ptflops(backend: str) -> Callable[[nn.Module, torch.Tensor], RunResult]:
    def run(model: nn.Module, x: torch.Tensor) -> RunResult:
        from ptflops import get_model_complexity_info

        macs, params = get_model_complexity_info(
            model, tuple(x.shape[1:]), as_strings=False, print_per_layer_stat=False,
            backend=backend, ost=io.StringIO(), input_constructor=lambda _res: x)
        if macs is None or params is None:  # ptflops prints its traceback and returns None
            raise RuntimeError(f"ptflops ({backend} backend) failed on this model")
        return int(macs), int(params)

    return run


def _run_thop(model: nn.Module, x: torch.Tensor) -> RunResult:
    import thop

    ops, params = thop.profile(model, inputs=(x,), verbose=False)
    return int(round(float(ops))), int(round(float(params)))


def _run_torchinfo(model: nn.Module, x: torch.Tensor) -> RunResult:
    import torchinfo

    s = torchinfo.summary(model, input_data=x, verbose=0)
    return int(s.total_mult_adds), int(s.total_params)


@dataclass(frozen=True)
class CounterSpec:
    name: str
    package: str  # distribution that must be installed
    call: str  # what is called for the mult-add total, as shown in the report
    unit: str  # what one unit of its total is
    params_call: str
    profile: Profile
    run: Callable[[nn.Module, torch.Tensor], RunResult] | None  # None: fvcore (run separately)
    notes: str = ""


def _fvcore_spec() -> CounterSpec:
    # Derived from the convention, so the engine's fvcore convention is what is checked.
    return CounterSpec(
        "fvcore", "fvcore", "FlopCountAnalysis(model, x).total()", "MACs (1 per multiply-add)",
        "parameter_count(model)['']", profile_from_convention(get_convention("fvcore")), None,
        "conv/linear 1 per multiply-add without bias adds; aten::batch_norm 2 per output element "
        "(eval, affine); adaptive_avg_pool2d 1 per input element; ReLU and padding not counted")


# Counting rules of the other tools, read from their sources (versions in the report).
EXTERNAL_COUNTERS: dict[str, CounterSpec] = {
    "flop_counter": CounterSpec(
        "flop_counter", "torch", "torch.utils.flop_counter.FlopCounterMode().get_total_flops()",
        "FLOPs (2 per multiply-add)", "",
        Profile((Component("weights", 2, "weight_macs"),), None), _run_flop_counter,
        "counts aten convolution and addmm/mm only: 2 FLOPs per multiply-add, no bias, "
        "no BatchNorm, ReLU or pooling; reports no parameters"),
    "ptflops": CounterSpec(
        "ptflops", "ptflops", "get_model_complexity_info(model, backend='pytorch')",
        "MACs", "get_model_complexity_info(model, backend='pytorch')[1]",
        Profile((Component("weights", 1, "weight_macs"), Component("bn", 2, "bn_outputs"),
                 Component("relu", 2, "relu_outputs"), Component("act", 1, "relu6_silu_outputs"),
                 Component("act", 2, "gelu_outputs"), Component("pool", 2, "pool_inputs"),
                 Component("pool", 2, "other_pool_inputs"), Component("lrn", 1, "lrn_window"),
                 Component("lrn", 3, "lrn_outputs"),
                 Component("bias", 1, "fc_outputs"), Component("bias", 1, "conv_bias_outputs")),
                MODEL_PARAMS),
        _run_ptflops("pytorch"),
        "module hooks: conv MACs, BatchNorm 2 per element (affine), ReLU 1 per output, pooling "
        "1 per input, Linear MACs + bias; the patched functionals F.relu and "
        "F.adaptive_avg_pool2d that nn.ReLU / nn.AdaptiveAvgPool2d call count ReLU and pooling "
        "a second time (sovrasov/flops-counter.pytorch#139; count_functional=False turns it off); "
        "every pool (max, windowed, adaptive) the same 2 per input; GELU 2 per output (module + "
        "F.gelu), ReLU6 (F.hardtanh) and SiLU (F.silu only) 1; hard-swish, sigmoid, tanh 0; "
        "conv bias 1 per output; LRN: its F.avg_pool3d input (C + size - 1) x H x W plus 3 "
        "patched elementwise ops per output"),
    "ptflops-aten": CounterSpec(
        "ptflops-aten", "ptflops", "get_model_complexity_info(model, backend='aten')", "MACs",
        "get_model_complexity_info(model, backend='aten')[1]",
        Profile((Component("weights", 1, "weight_macs"), Component("bias", 1, "fc_outputs"),
                 Component("bias", 1, "conv_bias_outputs")), MODEL_PARAMS),
        _run_ptflops("aten"),
        "aten ops: convolution MACs + 1 per output of a conv with bias, addmm MACs + the bias "
        "add; everything else a zero-op"),
    "thop": CounterSpec(
        "thop", "thop", "thop.profile(model, inputs=(x,))", "ops (MACs for conv/linear)",
        "thop.profile(model, inputs=(x,))[1]",
        Profile((Component("weights", 1, "weight_macs"), Component("bn", 4, "bn_outputs"),
                 Component("pool", 1, "pool_inputs"), Component("pool", 1, "pool_outputs"),
                 Component("pool", 1, "window_avg_outputs")), MODEL_PARAMS),
        _run_thop,
        "conv/linear MACs without bias; BatchNorm calculate_norm = 2 per element, doubled "
        "again when affine (4 per element); adaptive avg pool (kernel adds + 1 divide) per "
        "output; windowed AvgPool2d 1 per output; ReLU, max pools and ZeroPad2d zero ops; "
        "modules without a rule (other activations, LRN, adds, concat) count 0"),
    "torchinfo": CounterSpec(
        "torchinfo", "torchinfo", "torchinfo.summary(model, input_data=x).total_mult_adds",
        "mult-adds", "torchinfo.summary(model, input_data=x).total_params",
        Profile((Component("weights", 1, "weight_macs"), Component("bn", 2, "bn_channels"),
                 Component("bias", 1, "fc_outputs"), Component("bias", 1, "conv_bias_outputs")),
                MODEL_PARAMS),
        _run_torchinfo,
        "per layer with parameters: Conv params x output pixels, any other layer params x "
        "batch, so BatchNorm adds its 2 parameters per channel once and Linear its bias; ReLU "
        "and pooling have no parameters and count 0; a conv bias adds 1 per output"),
}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _installed(package: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(package) is not None


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass
class LayerCheck:
    """One layer: the engine (chosen convention), fvcore, and the engine under the fvcore
    convention (what fvcore should give); shapes from the table and from a forward pass."""

    name: str
    type: LayerType
    out_shape: tuple[int, int, int]  # (height, width, channels), from the table
    model_shape: tuple[int, int, int] | None  # from the forward pass; None: not recorded
    engine_mult_adds: int
    fvcore_mult_adds: int
    expected_mult_adds: int
    engine_params: int
    fvcore_params: int
    expected_params: int

    @property
    def mult_adds_diff(self) -> int:
        return self.fvcore_mult_adds - self.engine_mult_adds

    @property
    def mult_adds_residual(self) -> int:
        return self.fvcore_mult_adds - self.expected_mult_adds

    @property
    def params_diff(self) -> int:
        return self.fvcore_params - self.engine_params

    @property
    def params_residual(self) -> int:
        return self.fvcore_params - self.expected_params

    @property
    def shape_ok(self) -> bool:
        return self.model_shape == self.out_shape

    @property
    def ok(self) -> bool:
        return self.shape_ok and self.mult_adds_residual == 0 and self.params_residual == 0

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(mult_adds_diff=self.mult_adds_diff, mult_adds_residual=self.mult_adds_residual,
                 params_diff=self.params_diff, params_residual=self.params_residual,
                 shape_ok=self.shape_ok, ok=self.ok)
        return d


@dataclass
class Term:
    """One term of a counter's total: what the counter counts and what the engine counts."""

    key: str
    label: str
    rule: str  # the counter's rule with the engine quantities, e.g. "2 x 5,042,688 BN outputs"
    counted: int  # by the counter (coefficients x engine quantities)
    engine: int  # by the engine under the chosen convention (its row terms)

    @property
    def difference(self) -> int:
        return self.counted - self.engine


@dataclass
class CounterCheck:
    """A counter's total, explained as engine terms: measured = sum(counted) + residual."""

    counter: str
    version: str | None
    call: str
    unit: str
    quantity: str  # "mult_adds" or "params"
    measured: int
    engine_total: int
    terms: list[Term]
    notes: str = ""

    @property
    def explained(self) -> int:
        return sum(t.counted for t in self.terms)

    @property
    def residual(self) -> int:
        return self.measured - self.explained

    @property
    def difference(self) -> int:
        return self.measured - self.engine_total

    @property
    def ok(self) -> bool:
        return self.residual == 0

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        d["terms"] = [dict(asdict(t), difference=t.difference) for t in self.terms]
        d.update(explained=self.explained, residual=self.residual, difference=self.difference,
                 ok=self.ok)
        return d


@dataclass
class Verification:
    config: Config
    model_classes: int  # classes of the built model (the convention's, e.g. 1001 for tfslim)
    layers: list[LayerCheck]
    counters: list[CounterCheck]
    skipped: dict[str, str] = field(default_factory=dict)  # counter -> why it did not run
    errors: dict[str, str] = field(default_factory=dict)  # counter -> what went wrong

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def agree(self) -> bool:
        return (not self.errors and all(r.ok for r in self.layers)
                and all(c.ok for c in self.counters))

    def counter(self, name: str, quantity: str = "mult_adds") -> CounterCheck:
        for c in self.counters:
            if c.counter == name and c.quantity == quantity:
                return c
        raise KeyError(f"{name} {quantity}")

    def mismatches(self) -> list[dict[str, Any]]:
        """One record per disagreeing layer, counter total or counter error."""
        out: list[dict[str, Any]] = []
        for r in self.layers:
            if r.ok:
                continue
            parts = []
            if r.mult_adds_residual:
                parts.append(f"mult-adds: fvcore {r.fvcore_mult_adds:,}, engine (fvcore "
                             f"convention) {r.expected_mult_adds:,}, residual {r.mult_adds_residual:,}")
            if r.params_residual:
                parts.append(f"params: fvcore {r.fvcore_params:,}, engine (fvcore convention) "
                             f"{r.expected_params:,}, residual {r.params_residual:,}")
            if not r.shape_ok:
                torch_shape = "?" if r.model_shape is None else shape_text(r.model_shape)
                parts.append(f"output shape: table {shape_text(r.out_shape)}, torch {torch_shape}")
            out.append({"config": self.label, "what": f"layer {r.name}", "detail": "; ".join(parts)})
        for c in self.counters:
            if not c.ok:
                out.append({"config": self.label, "what": f"{c.counter} {c.quantity}",
                            "detail": (f"measured {c.measured:,}, explained {c.explained:,}, "
                                       f"residual {c.residual:,}")})
        for name, err in self.errors.items():
            out.append({"config": self.label, "what": name, "detail": f"error: {err}"})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "model_classes": self.model_classes,
                "agree": self.agree, "layers": [r.record() for r in self.layers],
                "counters": [c.record() for c in self.counters], "skipped": self.skipped,
                "errors": self.errors, "mismatches": self.mismatches()}


# --------------------------------------------------------------------------------------------
# Reconciliation
# --------------------------------------------------------------------------------------------
def _rule(components: Sequence[Component], q: Mapping[str, int]) -> str:
    if not components:
        return "not counted"
    shown = [c for c in components if q[c.quantity]] or list(components[:1])  # none in this net
    return " + ".join(f"{c.coef} x {q[c.quantity]:,} {QUANTITIES[c.quantity][0]}" for c in shown)


def reconcile(spec: CounterSpec, quantity: str, measured: int, table: LayerTable,
              layers: Sequence[Layer], version: str | None = None) -> CounterCheck:
    """Explain a counter's measured total as terms computed from the table's rows. The engine
    column of each term is the table's own term field (its convention)."""
    profile = spec.profile.mult_adds if quantity == "mult_adds" else spec.profile.params
    assert profile is not None
    q = quantities(table.rows, layers)
    terms = []
    for key, (label, field_name) in TERMS[quantity].items():
        comps = [c for c in profile if c.term == key]
        counted = sum(c.coef * q[c.quantity] for c in comps)
        engine = table.totals[field_name] if field_name else 0
        if counted or engine:
            terms.append(Term(key, label, _rule(comps, q), counted, engine))
    ma = quantity == "mult_adds"
    return CounterCheck(spec.name, version, spec.call if ma else spec.params_call,
                        spec.unit if ma else "parameters", quantity,
                        int(measured), int(table.totals[quantity]), terms, spec.notes)


def not_counted(check: CounterCheck) -> list[str]:
    """Term labels that neither the counter nor the engine counts."""
    present = {t.key for t in check.terms}
    return [label for key, (label, _) in TERMS[check.quantity].items() if key not in present]


# --------------------------------------------------------------------------------------------
# Running one configuration
# --------------------------------------------------------------------------------------------
def check_size(table: LayerTable) -> None:
    """Refuse configs too large to build and count here, with a one-line error."""
    need = table.totals["weight_params"] * 4 + table.totals["peak_activation_bytes"]
    if need > MAX_MODEL_BYTES or table.totals["weight_mult_adds"] > MAX_MULT_ADDS:
        c = table.config
        raise CostModelError(
            f"config alpha={c.alpha:g} resolution={c.resolution} is too large to build and count "
            f"({need / 2**30:.1f} GiB fp32, {table.totals['weight_mult_adds'] / 1e9:.1f} G "
            f"mult-adds); allowed: up to {MAX_MODEL_BYTES / 2**30:g} GiB and "
            f"{MAX_MULT_ADDS / 1e9:g} G mult-adds (a smaller alpha or resolution)")


@contextlib.contextmanager
def record_shapes(model: CostModelNet) -> Iterator[dict[str, tuple[int, int, int]]]:
    """Record the output shape (height, width, channels) of every layer in the forward passes
    run inside the block (fvcore's trace runs one, so no extra pass is needed)."""
    shapes: dict[str, tuple[int, int, int]] = {}

    def hook(name: str) -> Callable[[nn.Module, Any, torch.Tensor], None]:
        def record(_m: nn.Module, _i: Any, out: torch.Tensor) -> None:
            shapes[name] = output_shape(out)
        return record

    handles = [child.register_forward_hook(hook(name)) for name, child in model.named_layers()]
    try:
        yield shapes
    finally:
        for h in handles:
            h.remove()


def _check_model(model: CostModelNet, table: LayerTable, classes: int) -> None:
    c = table.config
    want = {"alpha": c.alpha, "resolution": c.resolution, "variant": c.variant,
            "rounding": c.rounding, "classes": classes}
    got = {k: model.config.get(k) for k in want}
    if got != want or [n for n, _ in model.named_layers()] != [r["name"] for r in table.rows]:
        raise ValueError(f"model {got} does not match the table's config {want}")


def verify(alpha: float = 1.0, resolution: int = 224, *, variant: str = "mobilenet_v1",
           rounding: str = "int", convention: str | Convention = "paper", classes: int = 1000,
           spec: str | Path | Mapping[str, Any] | Description | None = None,
           counters: Sequence[str] | None = None, model: CostModelNet | None = None) -> Verification:
    """Count one configuration with fvcore (per layer) and the other counters (totals), and
    reconcile each with the engine's table under ``convention``.

    ``counters``: the counters besides fvcore to run (default: all in :data:`EXTERNAL_COUNTERS`); one
    that is not installed is listed in ``skipped``. ``model``: a model already built for this
    configuration (with the convention's class count), reused instead of building one.
    Raises CostModelError on bad input; a counter that fails is reported in ``errors``.
    """
    counting = get_convention(convention)
    names = list(EXTERNAL_COUNTERS) if counters is None else list(counters)
    for n in names:
        if n not in EXTERNAL_COUNTERS:
            raise CostModelError(f"counter {n!r} is unknown; allowed: {', '.join(EXTERNAL_COUNTERS)}")
    table = layer_table(alpha, resolution, variant=variant, rounding=rounding, convention=counting,
                        classes=classes, spec=spec)
    check_size(table)
    model_classes = classes + counting.extra_classes
    # What fvcore should give, per layer: the engine under the fvcore convention, same network.
    expected = layer_table(alpha, resolution, variant=variant, rounding=rounding,
                           convention="fvcore", classes=model_classes, spec=spec)
    if not _installed("fvcore"):
        raise CostModelError("costmodel verify needs fvcore, which is not installed; "
                             "allowed: install it with pip install 'costmodel[torch]'")
    with quiet():  # importing fvcore warns about torch.jit.script
        from fvcore.nn import FlopCountAnalysis, parameter_count

    if model is None:
        model = build_model(alpha, resolution, variant=variant, rounding=rounding,
                            classes=model_classes, spec=spec)
    else:
        _check_model(model, table, model_classes)
    model.eval()
    x = model.example_input(1)

    fv_by_module, fv_total, fv_params, shapes = _run_fvcore(model, x, FlopCountAnalysis,
                                                             parameter_count)
    layers = [
        LayerCheck(r["name"], r["type"], r["out_shape"], shapes.get(r["name"]),
                   int(r["mult_adds"]), int(fv_by_module.get(r["name"], 0)),
                   int(want["mult_adds"]), int(r["params"]), int(fv_params.get(r["name"], 0)),
                   int(want["params"]))
        for r, want in zip(table.rows, expected.rows)
    ]
    fv = _fvcore_spec()
    fv_version = _version("fvcore")
    checks = [reconcile(fv, "mult_adds", fv_total, table, model.layers, fv_version),
              reconcile(fv, "params", int(fv_params[""]), table, model.layers, fv_version)]
    more, skipped, errors = _run_counters(names, model, x, table)
    checks += more
    return Verification(table.config, model_classes, layers, checks, skipped, errors)


def _run_fvcore(model: CostModelNet, x: torch.Tensor, flop_count_analysis: Any,
                parameter_count: Any) -> tuple[dict[str, int], int, dict[str, int],
                                                dict[str, tuple[int, int, int]]]:
    """fvcore on the model: mult-adds per module, the total, parameters per module, and the
    output shape of every layer (recorded in fvcore's own trace, else one more forward)."""
    with torch.no_grad(), quiet():
        analysis = flop_count_analysis(model, x)
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        with record_shapes(model) as shapes:
            by_module = analysis.by_module()  # traces the model: one forward pass
        if not shapes:
            with record_shapes(model) as shapes:
                model(x)
        return by_module, int(analysis.total()), parameter_count(model), shapes


def _run_counters(names: Sequence[str], model: CostModelNet, x: torch.Tensor, table: LayerTable
                  ) -> tuple[list[CounterCheck], dict[str, str], dict[str, str]]:
    """The other counters' totals reconciled with the table: (checks, skipped, errors)."""
    checks: list[CounterCheck] = []
    skipped: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in names:
        cs = EXTERNAL_COUNTERS[name]
        if not _installed(cs.package):
            skipped[name] = f"{cs.package} is not installed (pip install {cs.package})"
            continue
        assert cs.run is not None
        try:
            with torch.no_grad(), quiet():
                ma, params = cs.run(copy.deepcopy(model), x)
        except Exception as exc:  # a counter's own failure is a finding, not a crash
            errors[name] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]
            continue
        version = _version(cs.package)
        checks.append(reconcile(cs, "mult_adds", ma, table, model.layers, version))
        if params is not None:
            checks.append(reconcile(cs, "params", params, table, model.layers, version))
    return checks, skipped, errors
