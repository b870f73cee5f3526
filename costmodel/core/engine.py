"""The layer-table engine: shapes -> one counting function per layer kind -> rows + totals.

Counting functions are pure functions of a :class:`~costmodel.core.arch.Layer` and a
:class:`~costmodel.core.conventions.Convention`. They use only ``+ * //`` so the same functions count
one config (Python ints) and a whole alpha x resolution grid (numpy arrays, see
:mod:`costmodel.core.sweep`). Nothing outside this module counts.

The single-config path is pure Python (no numpy, no pandas) so ``costmodel table`` starts fast;
``LayerTable.to_frame()`` imports pandas only when asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costmodel.core.arch import Description, Layer, get_description, resolve
from costmodel.core.conventions import Convention, get_convention

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


Counter = Callable[[Layer, Convention], Count]
COUNTERS: dict[str, Counter] = {}


def register(kind: str) -> Callable[[Counter], Counter]:
    """Register the counting function of one layer kind; a kind registers once."""

    def deco(fn: Counter) -> Counter:
        if kind in COUNTERS:
            raise RuntimeError(f"counter for {kind!r} registered twice")
        COUNTERS[kind] = fn
        return fn

    return deco


def _conv(layer: Layer, conv: Convention) -> Count:
    # Weights: k*k*(C_in/groups)*C_out; each used once per output pixel. A depthwise filter sees
    # one input channel (groups = C_in). Paper eq. (1)-(4): D_K*D_K*M*D_F*D_F for depthwise,
    # M*N*D_F*D_F for pointwise. Written without division so it also counts symbolically.
    cin_per_group = 1 if layer.kind == "dw" else layer.in_channels
    weights = layer.kernel * layer.kernel * cin_per_group * layer.out_channels
    pixels = layer.out_size * layer.out_size
    out_elems = layer.out_channels * pixels
    return Count(
        weight_mult_adds=weights * pixels,
        norm_ops=conv.norm_ops_per_element * out_elems,
        weight_params=weights,
        norm_params=conv.norm_params_per_channel * layer.out_channels,
    )


register("conv")(_conv)
register("dw")(_conv)
register("pw")(_conv)


@register("avgpool")
def _avgpool(layer: Layer, conv: Convention) -> Count:
    return Count(pool_ops=conv.pool_ops_per_input * layer.in_channels * layer.in_size * layer.in_size)


@register("fc")
def _fc(layer: Layer, conv: Convention) -> Count:
    weights = layer.in_channels * layer.out_channels
    return Count(weight_mult_adds=weights, weight_params=weights,
                 bias_params=layer.out_channels * int(conv.fc_bias))


def count_layer(layer: Layer, convention: Convention) -> Count:
    try:
        counter = COUNTERS[layer.kind]
    except KeyError:  # never count an unknown kind as zero in silence
        raise NotImplementedError(f"no counting function for layer kind {layer.kind!r}") from None
    return counter(layer, convention)


def layer_type(layer: Layer) -> str:
    """The paper's Table 2 type name of a layer."""
    k = layer.kernel
    return {
        "conv": f"Conv {k}x{k}",
        "pw": "Conv 1x1",
        "dw": f"Conv DW {k}x{k}",
        "avgpool": "Avg Pool",
        "fc": "FC",
    }[layer.kind]


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

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(COLUMNS)).set_index("index")

    def to_dict(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "layers": self.rows, "totals": self.totals}

    def by_type(self) -> dict[str, dict[str, int]]:
        """Mult-adds and params summed per layer type, in first-seen order."""
        out: dict[str, dict[str, int]] = {}
        for r in self.rows:
            t = out.setdefault(r["type"], {"mult_adds": 0, "params": 0})
            t["mult_adds"] += r["mult_adds"]
            t["params"] += r["params"]
        return out


def layer_table(alpha: float = 1.0, resolution: int = 224, *, variant: str = "mobilenet_v1",
                rounding: str = "int", convention: str | Convention = "paper", classes: int = 1000,
                spec: str | Path | Mapping[str, Any] | Description | None = None) -> LayerTable:
    """Per-layer cost table of one configuration. Raises CostModelError on bad input."""
    conv = get_convention(convention)
    desc = get_description(spec)
    layers = resolve(desc, variant, alpha, resolution, rounding, classes + conv.extra_classes)
    counts = [count_layer(layer, conv) for layer in layers]
    total_ma = sum(c.mult_adds for c in counts)
    total_p = sum(c.params for c in counts)
    rows = []
    for layer, c in zip(layers, counts):
        acts = layer.out_channels * layer.out_size * layer.out_size
        rows.append({
            "index": layer.index,
            "name": layer.name,
            "type": layer_type(layer),
            "kernel": layer.kernel,
            "stride": layer.stride,
            "in_shape": f"{layer.in_size}x{layer.in_size}x{layer.in_channels}",
            "out_shape": f"{layer.out_size}x{layer.out_size}x{layer.out_channels}",
            "in_channels": layer.in_channels,
            "out_channels": layer.out_channels,
            "mult_adds": c.mult_adds,
            "params": c.params,
            "activations": acts,
            "weight_bytes": c.params * BYTES_FP32,
            "activation_bytes": acts * BYTES_FP32,
            "mult_adds_pct": 100.0 * c.mult_adds / total_ma if total_ma else 0.0,
            "params_pct": 100.0 * c.params / total_p if total_p else 0.0,
            "weight_mult_adds": c.weight_mult_adds,
            "norm_ops": c.norm_ops,
            "pool_ops": c.pool_ops,
            "weight_params": c.weight_params,
            "norm_params": c.norm_params,
            "bias_params": c.bias_params,
        })
    totals = {k: sum(r[k] for r in rows) for k in TOTAL_KEYS}
    # Peak activation memory (fp32): the largest input + output pair live at once, layer by layer.
    totals["peak_activation_bytes"] = max(
        (layer.in_channels * layer.in_size ** 2 + layer.out_channels * layer.out_size ** 2)
        for layer in layers) * BYTES_FP32
    config = Config(float(alpha), int(resolution), variant, rounding, conv.name, classes,
                    desc.name)
    return LayerTable(config, rows, totals)
