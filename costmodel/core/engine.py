"""The layer-table engine: shapes -> one counting function per layer kind -> rows + totals.

Counting functions are pure functions of a :class:`~costmodel.core.arch.Layer` and a
:class:`~costmodel.core.conventions.Convention`. They use only ``+ * //`` so the same functions count
one config (Python ints) and a whole alpha x resolution grid (numpy arrays, see
:mod:`costmodel.core.sweep`); the sweep, formula and latency model call :func:`count_layer`
rather than counting themselves. Memory terms (activations, peak activation, bytes) are
:func:`activation_bytes`, :func:`input_bytes`, :func:`peak_activation_bytes` and
:func:`traffic_bytes`, also fed ints or arrays.

Rows hold numbers and tuples: ``type`` is a :class:`~costmodel.core.kinds.LayerType`,
``in_shape``/``out_shape`` are ``(height, width, channels)``. Strings are made in
:mod:`costmodel.report.formatting`.

The single-config path is pure Python (no numpy, no pandas) so ``costmodel table`` starts fast;
``LayerTable.to_frame()`` imports pandas only when asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costmodel.core.arch import Description, Layer, elementwise_max, get_description, resolve
from costmodel.core.conventions import Convention, get_convention
from costmodel.core.kinds import FREE_KINDS, Kind, LayerType
from costmodel.core.lower import ROLE

if TYPE_CHECKING:
    import pandas as pd

BYTES_FP32 = 4


@dataclass(frozen=True)
class Count:
    """What one layer costs. ``mult_adds``/``params`` are the convention's totals; the other
    fields are the terms they are made of, kept for reconciliation with other counters."""

    weight_mult_adds: Any = 0  # multiply-adds of conv / FC weights
    norm_ops: Any = 0  # BatchNorm ops counted by the convention
    pool_ops: Any = 0  # pooling ops counted by the convention
    weight_params: Any = 0  # conv / FC weights
    norm_params: Any = 0  # BatchNorm vectors counted by the convention
    bias_params: Any = 0  # biases counted by the convention

    @property
    def mult_adds(self) -> Any:
        return self.weight_mult_adds + self.norm_ops + self.pool_ops

    @property
    def params(self) -> Any:
        return self.weight_params + self.norm_params + self.bias_params


CountFn = Callable[[Layer, Convention], Count]
KIND_COUNTERS: dict[Kind, CountFn] = {}  # the counting registry: one function per layer kind


def register(*kinds: Kind) -> Callable[[CountFn], CountFn]:
    """Register the counting function of one or more layer kinds; a kind registers once."""

    def deco(fn: CountFn) -> CountFn:
        for kind in kinds:
            if kind in KIND_COUNTERS:
                raise RuntimeError(f"counter for {kind!r} registered twice")
            KIND_COUNTERS[kind] = fn
        return fn

    return deco


@register(Kind.CONV, Kind.DW, Kind.PW, Kind.GCONV)
def _conv(layer: Layer, convention: Convention) -> Count:
    # Weights: k_h*k_w*(C_in/groups)*C_out; each used once per output pixel. A depthwise filter
    # sees one input channel (groups = C_in). Paper eq. (1)-(4): D_K*D_K*M*D_F*D_F for
    # depthwise, M*N*D_F*D_F for pointwise. Dense convs are written without division so they
    # also count symbolically. The conv's own BatchNorm and bias count as the convention says.
    if layer.kind == Kind.DW:
        cin_per_group = 1
    elif layer.kind == Kind.GCONV:
        cin_per_group = layer.in_channels // layer.groups
    else:
        cin_per_group = layer.in_channels
    weights = layer.kernel * layer.kernel_w * cin_per_group * layer.out_channels
    pixels = layer.out_size * layer.out_width
    bn = int(layer.bn)
    return Count(
        weight_mult_adds=weights * pixels,
        norm_ops=convention.norm_ops_per_element * layer.out_elements * bn,
        weight_params=weights,
        norm_params=convention.norm_params_per_channel * layer.out_channels * bn,
        bias_params=layer.out_channels * int(convention.conv_bias and layer.bias),
    )


@register(Kind.AVGPOOL, Kind.MAXPOOL)
def _pool(layer: Layer, convention: Convention) -> Count:
    # Only the global/adaptive average pool counts (fvcore's adaptive_avg_pool2d handle: 1 per
    # input element); windowed pools and max pools count nothing under every convention.
    adaptive_avg = int(layer.kind == Kind.AVGPOOL and layer.kernel == 0)
    return Count(pool_ops=convention.pool_ops_per_input * layer.in_elements * adaptive_avg)


@register(Kind.FC)
def _fc(layer: Layer, convention: Convention) -> Count:
    weights = layer.in_channels * layer.out_channels
    return Count(weight_mult_adds=weights, weight_params=weights,
                 bias_params=layer.out_channels * int(convention.fc_bias and layer.bias))


@register(Kind.BN)
def _bn(layer: Layer, convention: Convention) -> Count:
    return Count(norm_ops=convention.norm_ops_per_element * layer.out_elements,
                 norm_params=convention.norm_params_per_channel * layer.out_channels)


@register(*FREE_KINDS)
def _free(layer: Layer, convention: Convention) -> Count:
    # Activations, adds, SE scales, concat, split, shuffle, flatten, dropout, LRN: no weights,
    # and none of them counted by the paper or fvcore (fvcore skips these ops).
    return Count()


def count_layer(layer: Layer, convention: Convention) -> Count:
    try:
        counter = KIND_COUNTERS[layer.kind]
    except KeyError:  # never count an unknown kind as zero in silence
        raise NotImplementedError(f"no counting function for layer kind {layer.kind!r}") from None
    return counter(layer, convention)


def padded_mult_adds(layer: Layer, convention: Convention, multiple: int,
                     keep_input: Any = False) -> Any:
    """Mult-adds of ``layer`` counted with its channel counts rounded up to a multiple of
    ``multiple`` (what a kernel working on ``multiple``-wide vector registers computes); the
    input channels stay as they are where ``keep_input`` (a bool, or a bool array over a grid)."""
    import dataclasses

    def up(c: Any) -> Any:
        return -(-c // multiple) * multiple

    cin = up(layer.in_channels) + (layer.in_channels - up(layer.in_channels)) * keep_input
    padded = dataclasses.replace(layer, in_channels=cin, out_channels=up(layer.out_channels))
    return count_layer(padded, convention).mult_adds


# --------------------------------------------------------------------------------------------
# Memory terms (fp32): one definition each, for ints (one config) or numpy arrays (a grid)
# --------------------------------------------------------------------------------------------
def activation_bytes(layer: Layer) -> Any:
    """Bytes of a layer's output activations (one sample)."""
    return layer.out_elements * BYTES_FP32


def input_bytes(layer: Layer, batch: int = 1) -> Any:
    """Bytes of a layer's input activations (``batch`` samples)."""
    return layer.in_elements * batch * BYTES_FP32


def live_elements(layer: Layer) -> Any:
    """Activations a layer reads and writes: its input and its output (one sample)."""
    return layer.in_elements + layer.out_elements


def live_per_layer(layers: Sequence[Layer]) -> list[Any]:
    """Activations live while each layer runs, in topological order: its inputs and output plus
    every earlier tensor (the network input included) that a later layer still reads. On a
    chain this is the layer's input + output."""
    if not layers:
        raise ValueError("peak activation of no layers")
    last_use: dict[int, int] = {}
    for layer in layers:
        for j in layer.inputs or ():
            last_use[j] = max(last_use.get(j, -1), layer.index)
    elements = {-1: layers[0].in_elements, **{lay.index: lay.out_elements for lay in layers}}
    live: list[Any] = []
    held: list[int] = []
    for layer in layers:
        ins = tuple(dict.fromkeys(layer.inputs or ()))
        own = [elements.get(j, layer.in_elements) for j in ins]
        others = [elements[j] for j in held if j not in ins]
        live.append(sum(own + others, layer.out_elements))
        held = [j for j in (*held, *ins) if last_use.get(j, -2) > layer.index]
        held = [*dict.fromkeys(held), *([layer.index] if layer.index in last_use else [])]
    return live


def peak_activation_bytes(layers: Iterable[Layer]) -> Any:
    """Peak activation memory: the most activations live at once, layer by layer over the
    topological order (elementwise over a grid when the layers hold arrays)."""
    peak: Any = None
    for live in live_per_layer(list(layers)):
        peak = live if peak is None else elementwise_max(peak, live)
    return peak * BYTES_FP32


def traffic_bytes(layer: Layer, params: Any, batch: int = 1) -> Any:
    """Bytes a layer moves once: its weights (``params``) plus ``batch`` inputs and outputs."""
    return (params + live_elements(layer) * batch) * BYTES_FP32


# Columns of a row, in order. Presentation (headers, which columns show) lives in formatting.
COLUMNS = (
    "index", "name", "type", "kernel", "stride", "in_shape", "out_shape", "in_channels",
    "out_channels", "mult_adds", "params", "activations", "weight_bytes", "activation_bytes",
    "mult_adds_pct", "params_pct", "weight_mult_adds", "norm_ops", "pool_ops", "weight_params",
    "norm_params", "bias_params",
)
TOTAL_KEYS = ("mult_adds", "params", "activations", "weight_bytes", "activation_bytes",
              "weight_mult_adds", "norm_ops", "pool_ops", "weight_params", "norm_params",
              "bias_params")


@dataclass(frozen=True)
class Config:
    alpha: float = 1.0
    resolution: int = 224
    variant: str = "mobilenet_v1"
    rounding: str = "int"
    convention: str = "paper"
    classes: int = 1000
    spec: str = "mobilenet_v1"

    @property
    def label(self) -> str:
        return f"{self.alpha:g}-{self.resolution}"


@dataclass
class LayerTable:
    config: Config
    rows: list[dict[str, Any]]
    totals: dict[str, int] = field(default_factory=dict)
    # row index -> the breakdown category where it is not the row's type: "SE" for a
    # squeeze-and-excitation's pool, 1x1 convs and scale (lower.SE_ROLE)
    categories: dict[int, str] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(COLUMNS)).set_index("index")

    def to_dict(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "layers": self.rows, "totals": self.totals}

    def by_type(self) -> dict[LayerType, dict[str, int]]:
        """Mult-adds and params summed per layer type, in first-seen order."""
        return self._summed(lambda r: r["type"])

    def by_category(self) -> dict[LayerType | str, dict[str, int]]:
        """Mult-adds and params summed per breakdown category, in first-seen order: the layer
        type, except a squeeze-and-excitation's layers, which sum under "SE"."""
        return self._summed(lambda r: self.categories.get(r["index"], r["type"]))

    def _summed(self, key: Callable[[dict[str, Any]], Any]) -> dict[Any, dict[str, int]]:
        out: dict[Any, dict[str, int]] = {}
        for r in self.rows:
            t = out.setdefault(key(r), {"mult_adds": 0, "params": 0})
            t["mult_adds"] += r["mult_adds"]
            t["params"] += r["params"]
        return out


def layer_table(alpha: float = 1.0, resolution: int = 224, *, variant: str = "mobilenet_v1",
                rounding: str | None = None, convention: str | Convention = "paper",
                classes: int = 1000,
                spec: str | Path | Mapping[str, Any] | Description | None = None) -> LayerTable:
    """Per-layer cost table of one configuration (rounding None: the network's own rule, int
    for MobileNet-V1). Raises CostModelError on bad input."""
    counting = get_convention(convention)
    desc = get_description(spec)
    rounding = desc.rounding if rounding is None else rounding
    layers = resolve(desc, variant, alpha, resolution, rounding, classes + counting.extra_classes)
    rows = _rows(layers, [count_layer(layer, counting) for layer in layers])
    totals = {k: sum(r[k] for r in rows) for k in TOTAL_KEYS}
    totals["peak_activation_bytes"] = peak_activation_bytes(layers)
    config = Config(float(alpha), int(resolution), variant, rounding, counting.name, classes,
                    desc.name)
    categories = {layer.index: c for layer in layers if isinstance(c := category(layer), str)}
    return LayerTable(config, rows, totals, categories)


def category(layer: Layer) -> LayerType | str:
    """A layer's breakdown category: its type, except a squeeze-and-excitation's layers (pool,
    1x1 convs, scale), which share their role's name ("SE"). The one rule behind
    LayerTable.by_category, the breakdown and ``sweep --by-type``."""
    role = layer.option(ROLE)
    return layer.type if role is None else str(role)


def _rows(layers: list[Layer], counts: list[Count]) -> list[dict[str, Any]]:
    total_ma = sum(c.mult_adds for c in counts)
    total_p = sum(c.params for c in counts)
    rows = []
    for layer, c in zip(layers, counts):
        rows.append({
            "index": layer.index,
            "name": layer.name,
            "type": layer.type,
            "kernel": layer.kernel,
            "stride": layer.stride,
            "in_shape": layer.in_shape,
            "out_shape": layer.out_shape,
            "in_channels": layer.in_channels,
            "out_channels": layer.out_channels,
            "mult_adds": c.mult_adds,
            "params": c.params,
            "activations": layer.out_elements,
            "weight_bytes": c.params * BYTES_FP32,
            "activation_bytes": activation_bytes(layer),
            "mult_adds_pct": 100.0 * c.mult_adds / total_ma if total_ma else 0.0,
            "params_pct": 100.0 * c.params / total_p if total_p else 0.0,
            "weight_mult_adds": c.weight_mult_adds,
            "norm_ops": c.norm_ops,
            "pool_ops": c.pool_ops,
            "weight_params": c.weight_params,
            "norm_params": c.norm_params,
            "bias_params": c.bias_params,
        })
    return rows
