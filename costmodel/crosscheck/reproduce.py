"""Reproduce every published cost figure: computed vs printed, agreement, and an explanation.

Agreement is judged at the printed precision (569 agrees with 568.74; 290 does not agree with
290.68). Each disagreement is explained by *computing* candidate explanations with the engine, in
order, and keeping the first that reproduces the printed figure:

1. the printed figure was truncated (or rounded up) instead of rounded;
2. it equals an alternative count: without the first conv layer, without the FC layer, under
   another counting convention or channel-rounding rule, or with Table 1's printed strides;
3. its digits are the computed digits transposed (e.g. 1.19 for 1.91);
4. it is within 0.05% of the count (an arithmetic slip in the source);
5. otherwise: unexplained, with the resolution whose count would print as the figure, if any.

No list of known exceptions is consulted: the explanations come out of the arithmetic.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from itertools import permutations
from typing import Any

from costmodel.core.arch import MOBILENET_V1, VARIANTS, resolve, same_out
from costmodel.core.breakdown import breakdown, printed_table2
from costmodel.core.engine import LayerTable, layer_table
from costmodel.core.kinds import (
    CONV_KINDS,
    FULLY_CONNECTED,
    parse_shape_text,
    shape_text,
)
from costmodel.io.reference import read_reference

SLIP_TOLERANCE = 5e-4  # 0.05%: below any one layer's share, above float noise

# The kind of each explanation (a Check's ``kind``; "" where the figure agrees).
TRUNCATED = "truncated"  # printed truncated instead of rounded
ROUNDED_UP = "rounded_up"  # printed rounded up instead of to nearest
OTHER_COUNT = "other_count"  # equals another count (a layer left out, another convention...)
TRANSPOSED = "transposed"  # its digits are the count's digits transposed
SLIP = "slip"  # within SLIP_TOLERANCE: an arithmetic slip in the source
COLUMN_SUM = "column_sum"  # a printed column does not sum to 100%
STRIDE = "stride"  # a printed stride contradicts the printed sizes
SIZE = "size"  # a printed size differs from the engine's
UNEXPLAINED = "unexplained"
EXPLANATION_KINDS = (TRUNCATED, ROUNDED_UP, OTHER_COUNT, TRANSPOSED, SLIP, COLUMN_SUM, STRIDE, SIZE,
                     UNEXPLAINED)
Explanation = tuple[str, str]  # (kind, sentence)


@dataclass
class Check:
    source: str  # e.g. "Table 6", "TF-slim"
    item: str  # e.g. "0.5 MobileNet-224"
    quantity: str  # e.g. "mult-adds (M)"
    computed: float
    published: str  # as printed
    agree: bool
    explanation: str = ""
    kind: str = ""  # one of EXPLANATION_KINDS where the figure disagrees

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decimals(printed: str) -> int:
    return len(printed.split(".")[1]) if "." in printed else 0


def agrees(computed: float, printed: str) -> bool:
    d = decimals(printed)
    return math.isclose(round(computed, d), float(printed), abs_tol=10 ** -(d + 3))


def _fmt(x: float, d: int) -> str:
    return f"{x:.{d}f}"


# ---------------------------------------------------------------------------------------------
# Explanations: each returns (kind, sentence) when it reproduces the printed figure, else None.
# ---------------------------------------------------------------------------------------------
def _rounding_direction(computed: float, printed: str) -> Explanation | None:
    d = decimals(printed)
    p = float(printed)
    scale = 10 ** d
    if math.isclose(math.floor(computed * scale) / scale, p, abs_tol=1e-9):
        return TRUNCATED, f"truncated, not rounded: the count is {_fmt(computed, d + 2)}"
    if math.isclose(math.ceil(computed * scale) / scale, p, abs_tol=1e-9):
        return ROUNDED_UP, f"rounded up, not to nearest: the count is {_fmt(computed, d + 2)}"
    return None


def _alternatives(computed: float, printed: str,
                  alternatives: dict[str, float]) -> Explanation | None:
    d = decimals(printed)
    for label, value in alternatives.items():
        if agrees(value, printed):
            return OTHER_COUNT, (f"equals the count {label} ({_fmt(value, d + 2)}); "
                                 f"the full count is {_fmt(computed, d + 2)}")
    return None


def _transposed(computed: float, printed: str) -> Explanation | None:
    d = decimals(printed)
    mine = _fmt(computed, d)
    digits = [c for c in printed if c.isdigit()]
    if sorted(digits) != sorted(c for c in mine if c.isdigit()) or mine == printed:
        return None
    for perm in set(permutations(digits)):
        it = iter(perm)
        candidate = "".join(next(it) if c.isdigit() else c for c in printed)
        if candidate == mine:
            return TRANSPOSED, f"digits transposed: the count gives {mine}, printed {printed}"
    return None


def _slip(computed: float, printed: str) -> Explanation | None:
    rel = abs(computed - float(printed)) / abs(computed) if computed else math.inf
    if rel <= SLIP_TOLERANCE:
        return SLIP, (f"within {100 * rel:.3f}% of the count "
                      f"{_fmt(computed, decimals(printed) + 2)}: "
                      f"an arithmetic slip or intermediate rounding in the source")
    return None


def classify(computed: float, printed: str, alternatives: dict[str, float] | None = None,
             nearest: Callable[[str], str | None] | None = None) -> Explanation:
    """The first explanation that reproduces the printed figure: (kind, sentence). ``nearest``
    gives a lead for an unexplained figure (still of kind UNEXPLAINED)."""
    for fn in (
        lambda: _rounding_direction(computed, printed),
        lambda: _alternatives(computed, printed, alternatives or {}),
        lambda: _transposed(computed, printed),
        lambda: _slip(computed, printed),
    ):
        found = fn()
        if found:
            return found
    lead = nearest(printed) if nearest else None
    return UNEXPLAINED, lead or f"unexplained: the count is {_fmt(computed, decimals(printed) + 2)}"


def explain(computed: float, printed: str, alternatives: dict[str, float] | None = None,
            nearest: Callable[[str], str | None] | None = None) -> str:
    """The sentence of :func:`classify`."""
    return classify(computed, printed, alternatives, nearest)[1]


def check(source: str, item: str, quantity: str, computed: float, printed: str,
          alternatives: dict[str, float] | None = None,
          nearest: Callable[[str], str | None] | None = None) -> Check:
    if agrees(computed, printed):
        return Check(source, item, quantity, computed, printed, True)
    kind, why = classify(computed, printed, alternatives, nearest)
    return Check(source, item, quantity, computed, printed, False, why, kind)


# ---------------------------------------------------------------------------------------------
# Alternative counts, all computed by the engine
# ---------------------------------------------------------------------------------------------
def _table1_as_printed() -> dict[str, Any]:
    """MobileNet-V1 with the strides exactly as Table 1 prints them (last depthwise s2)."""
    desc = copy.deepcopy(MOBILENET_V1)
    seps = [e for e in desc["layers"] if e["type"] == "separable"]
    seps[-1]["stride"] = 2
    desc["name"] = "mobilenet_v1_table1_as_printed"
    return desc


def _network_alternatives(t: LayerTable, quantity: str) -> dict[str, float]:
    key = "mult_adds" if quantity.startswith("mult") else "params"
    c = t.config
    total = t.totals[key]
    rows = t.rows
    alts = {
        "without the first conv layer": total - rows[0][key],
        "without the FC layer": total - sum(r[key] for r in rows if r["type"] == FULLY_CONNECTED),
    }
    knobs: dict[str, Any] = {"variant": c.variant, "rounding": c.rounding, "convention": c.convention,
             "classes": c.classes}
    for conv in ("paper", "tfslim", "fvcore"):
        if conv != c.convention:
            alts[f"under the {conv} convention"] = layer_table(
                c.alpha, c.resolution, **{**knobs, "convention": conv}).totals[key]
    for rule in ("int", "slim", "divisible8"):
        if rule != c.rounding:
            alts[f"with {rule} channel rounding"] = layer_table(
                c.alpha, c.resolution, **{**knobs, "rounding": rule}).totals[key]
    if c.variant == "mobilenet_v1":
        alts["with Table 1's printed strides (last depthwise s2)"] = layer_table(
            c.alpha, c.resolution, rounding=c.rounding, convention=c.convention,
            classes=c.classes, spec=_table1_as_printed()).totals[key]
    return {k: v / 1e6 for k, v in alts.items()}


def _nearest_resolution(t: LayerTable, quantity: str) -> Callable[[str], str | None]:
    """Which resolution would print as the figure? (a lead for an unexplained number)"""
    key = "mult_adds" if quantity.startswith("mult") else "params"
    c = t.config

    def find(printed: str) -> str | None:
        if key == "params":
            return None  # params do not depend on resolution
        from costmodel.core.sweep import sweep

        res = list(range(32, 513))
        s = sweep([c.alpha], res, variant=c.variant, rounding=c.rounding,
                  convention=c.convention, classes=c.classes)
        counts = [float(v) / 1e6 for v in s.mult_adds[0]]
        hits = [r for r, v in zip(res, counts) if agrees(v, printed)]
        if hits:
            near = min(hits, key=lambda r: abs(r - c.resolution))
            return (f"unexplained: the count is {t.totals[key] / 1e6:.2f}; {printed} would need "
                    f"resolution {near} (not {c.resolution})")
        p = float(printed)
        below = [(r, v) for r, v in zip(res, counts) if v < p]
        above = [(r, v) for r, v in zip(res, counts) if v > p]
        if below and above:
            (r0, v0), (r1, v1) = below[-1], above[0]
            return (f"unexplained: the count is {t.totals[key] / 1e6:.2f}, and no resolution at "
                    f"this alpha gives {printed} (resolution {r0}: {v0:.2f}, {r1}: {v1:.2f})")
        return None

    return find


def _network_checks(source: str, item: str, t: LayerTable, printed_ma: str | None,
                    printed_p: str | None) -> list[Check]:
    out = []
    for quantity, printed, key in (("mult-adds (M)", printed_ma, "mult_adds"),
                                   ("params (M)", printed_p, "params")):
        if not printed:
            continue
        computed = t.totals[key] / 1e6
        if agrees(computed, printed):
            out.append(Check(source, item, quantity, computed, printed, True))
        else:
            out.append(check(source, item, quantity, computed, printed,
                             _network_alternatives(t, quantity), _nearest_resolution(t, quantity)))
    return out


# ---------------------------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------------------------
def table1_checks() -> list[Check]:
    """Table 1 row by row: filter shapes and input sizes, and whether each printed stride agrees
    with the printed input sizes of that row and the next."""
    printed = [r for r in read_reference("paper_table1_body.csv") if r["type"] in ("conv", "conv_dw")]
    # Unroll the "5x" rows in print order: (dw, pw) x repeat.
    unrolled: list[dict[str, str]] = []
    i = 0
    while i < len(printed):
        r = printed[i]
        if int(r["repeat"]) > 1 and r["type"] == "conv_dw":
            unrolled += [r, printed[i + 1]] * int(r["repeat"])
            i += 2
        else:
            unrolled.append(r)
            i += 1
    layers = [lay for lay in resolve() if lay.kind in CONV_KINDS]
    out = []
    for n, (r, lay) in enumerate(zip(unrolled, layers)):
        item = f"row {r['row']} ({lay.name})"
        shape = parse_shape_text(r["input_size"])
        same = shape == lay.in_shape
        out.append(Check("Table 1", item, "input size", float(lay.in_size), str(shape[0]), same,
                         "" if same else f"the engine gives {shape_text(lay.in_shape)}",
                         "" if same else SIZE))
        # Stride implied by the printed sizes: ceil(in / s) = next row's input size.
        this_in = shape[0]
        nxt = unrolled[n + 1] if n + 1 < len(unrolled) else None
        if nxt is None:
            continue
        next_in = parse_shape_text(nxt["input_size"])[0]
        implied = [s for s in (1, 2) if same_out(this_in, s) == next_in]
        ok = str(lay.stride) == r["stride"]
        why = ""
        if not ok:
            why = (f"printed s{r['stride']} but Table 1's own sizes ({this_in}x{this_in} in, "
                   f"{next_in}x{next_in} next) imply stride {implied[0] if implied else '?'}; "
                   f"the engine uses stride {lay.stride}")
        out.append(Check("Table 1", item, "stride", float(lay.stride), r["stride"], ok, why,
                         "" if ok else STRIDE))
    return out


def table2_checks() -> list[Check]:
    rows = {r["type"]: r for r in breakdown()}
    out = []
    printed_rows = printed_table2()
    for t, r in printed_rows:
        for quantity, col in (("% mult-adds", "mult_adds_pct"), ("% params", "params_pct")):
            out.append(check("Table 2", r["layer_type"], quantity, rows[t][col], r[col]))
    # The printed columns should each sum to 100%.
    for quantity, col in (("% mult-adds", "mult_adds_pct"), ("% params", "params_pct")):
        printed_sum = sum(float(r[col]) for _, r in printed_rows)
        computed_sum = sum(v[col] for v in rows.values())
        printed = f"{printed_sum:.2f}"
        ok = agrees(computed_sum, printed)
        why = ""
        if not ok:
            fixed = sum(rows[t][col] if not agrees(rows[t][col], r[col]) else float(r[col])
                        for t, r in printed_rows)
            why = (f"the printed column sums to {printed}%, not 100%; with the disagreeing "
                   f"entries replaced by the counts it sums to {fixed:.2f}%")
        out.append(Check("Table 2", "column sum", quantity, computed_sum, printed, ok, why,
                         "" if ok else COLUMN_SUM))
    return out


def _single_layer_spec(kind: str) -> dict[str, Any]:
    """Table 3's layer: D_K=3, M=N=512, D_F=14, as a one-layer description."""
    return {"name": f"table3_{kind}", "input_channels": 512, "input_scale": True,
            "base_resolution": 14, "layers": [{"type": kind, "kernel": 3, "stride": 1, "out": 512}]}


def table3_checks() -> list[Check]:
    from costmodel.core.arch import rho_to_resolution

    configs = {  # modification -> (layer type, alpha, resolution); rows are cumulative
        "Convolution": ("conv", 1.0, 14),
        "Depthwise Separable Conv": ("separable", 1.0, 14),
        "alpha=0.75": ("separable", 0.75, 14),
        "rho=0.714": ("separable", 0.75, rho_to_resolution(0.714, base=14)),
    }
    out = []
    for r in read_reference("paper_table3_layer.csv"):
        kind, alpha, res = configs[r["modification"]]
        t = layer_table(alpha, res, spec=_single_layer_spec(kind))
        item = f"{r['modification']} (D_F={res})"
        out += _network_checks("Table 3", item, t, r["mult_adds_M"], r["params_M"])
    return out


def paper_table_checks() -> list[Check]:
    out = []
    for r in read_reference("paper_tables.csv"):
        if r["variant"] not in VARIANTS:
            continue  # other networks (GoogleNet, VGG...) have no description here
        t = layer_table(float(r["alpha"]), int(r["resolution"]), variant=r["variant"])
        out += _network_checks(f"Table {r['table']}", r["model"], t, r["mult_adds_M"], r["params_M"])
    return out


def tfslim_checks() -> list[Check]:
    out = []
    for r in read_reference("tfslim_mobilenet_v1.csv"):
        t = layer_table(float(r["alpha"]), int(r["resolution"]), rounding="slim", convention="tfslim")
        out += _network_checks("TF-slim", r["model"], t, r["macs_M"], r["params_M"])
    return out


# ---------------------------------------------------------------------------------------------
# Tables 8-10: the comparison networks, from the built-in descriptions
# ---------------------------------------------------------------------------------------------
COMPARISON_MODELS = {"GoogleNet": "googlenet", "VGG 16": "vgg16", "Squeezenet": "squeezenet1_0",
                     "AlexNet": "alexnet", "Inception V3": "inception_v3"}


def significant(printed: str) -> int | None:
    """Significant figures of a whole number printed with trailing zeros ("15300": 3), else
    None (the figure is read at its decimals)."""
    if "." in printed or not printed.endswith("0"):
        return None
    return len(printed.rstrip("0"))


def round_significant(x: float, n: int) -> float:
    return float(f"{x:.{n}g}")


def floor_significant(x: float, n: int) -> float:
    """``x`` cut (not rounded) to ``n`` significant figures: 5713.2 -> 5000 for n = 1."""
    if x <= 0:
        return x
    step = 10 ** (math.floor(math.log10(x)) - n + 1)
    return math.floor(x / step + 1e-9) * step


def _yaml(path: Any) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def _builtin_yaml(name: str) -> dict[str, Any]:
    from costmodel.io.paths import MODELS_DIR

    return _yaml(MODELS_DIR / f"{name}.yaml")


GOOGLENET_PAPER = "googlenet_paper.yaml"  # data/reference: GoogLeNet as Szegedy et al. print it
GOOGLENET_TABLE1 = "googlenet_table1.csv"  # data/reference: that paper's Table 1, per-row columns


def googlenet_paper() -> dict[str, Any]:
    """GoogLeNet as its paper prints it (data/reference/googlenet_paper.yaml): 5x5 convs in the
    third branch, conv + bias without BatchNorm, LRN (torchvision, whose form the built-in
    follows, has 3x3 there, BatchNorm and no LRN)."""
    from costmodel.io.paths import REFERENCE_DIR

    return _yaml(REFERENCE_DIR / GOOGLENET_PAPER)


SEPARABLE_STEM = ("with the first layer a 7x7 separable conv of depth multiplier 8 (TF-slim "
                  "inception_v2.py's Conv2d_1a_7x7)")


def googlenet_separable_stem() -> dict[str, Any]:
    """The paper's layout with its first layer as TF-slim builds the 7x7/2 stem of the next
    Inception (tensorflow/models research/slim/nets/inception_v2.py, Conv2d_1a_7x7, commit
    0231a2e0): a separable conv, a 7x7 depthwise conv of depth multiplier min(int(64 / 3), 8)
    = 8 (3 -> 24 channels) and a 1x1 conv to 64. 7*7*3*8 + 24*64 = 2,712 weights where the
    dense 7x7 conv has 9,408."""
    desc = googlenet_paper()
    stem = {"type": "sequence", "name": "conv1", "layers": [
        {"type": "conv", "name": "depthwise", "kernel": 7, "stride": 2, "padding": 3, "groups": 3,
         "out": 24, "act": "none"},
        {"type": "conv", "name": "pointwise", "kernel": 1, "out": 64}]}
    layers = [stem if e.get("name") == "conv1" else e for e in desc["layers"]]
    return {**desc, "name": "googlenet_paper_separable_stem", "layers": layers}


def _aux_head(channels: int, size: int, pool: int, mid: int, k5: bool, fc: int) -> dict[str, Any]:
    """An auxiliary classifier (a training-time side head) as a one-input description: average
    pool ``pool``/3, 1x1 conv to ``mid``, then either a 5x5 conv to 768 (Inception V3) or an FC
    to ``fc`` (GoogLeNet), then the 1000-way FC."""
    layers: list[dict[str, Any]] = [{"type": "avgpool", "kernel": pool, "stride": 3},
                                    {"type": "conv", "kernel": 1, "out": mid}]
    if k5:
        layers += [{"type": "conv", "kernel": 5, "out": 768}, {"type": "avgpool"}]
    layers += [{"type": "flatten"}]
    if fc:
        layers += [{"type": "linear", "out": fc, "act": "relu"}]
    return {"name": "aux_head", "input_channels": channels, "base_resolution": size,
            "layers": [*layers, {"type": "fc"}]}


def aux_heads(name: str, key: str) -> float:
    """The count (M) of a network's auxiliary classifiers, from their papers: GoogLeNet's two
    (Szegedy et al. 2014, section 5: 5x5/3 average pool, 1x1 conv 128, FC 1024, FC 1000; on
    4a's 14x14x512 and 4d's 14x14x528 outputs) and Inception V3's one (torchvision InceptionAux:
    5x5/3 pool on Mixed_6e's 17x17x768, 1x1 conv 128, 5x5 conv 768, FC 1000)."""
    heads = {"googlenet": [_aux_head(512, 14, 5, 128, False, 1024),
                           _aux_head(528, 14, 5, 128, False, 1024)],
             "inception_v3": [_aux_head(768, 17, 5, 128, True, 0)]}[name]
    return sum(float(layer_table(1.0, h["base_resolution"], spec=h, rounding="int").totals[key])
               for h in heads) / 1e6


def shufflenet_v2_official() -> dict[str, Any]:
    """ShuffleNetV2 1x as the authors' code builds it (megvii-model/ShuffleNet-Series,
    ShuffleV2Block: a stride-2 unit's left branch keeps its ``inp`` channels and the right
    branch makes ``oup - inp``): stage 2's first unit splits 116 as 24 | 92, where torchvision
    (the built-in) splits 58 | 58; the later stages' first units split in halves either way."""
    desc = _builtin_yaml("shufflenet_v2")
    dw = {"type": "conv", "kernel": 3, "stride": 2, "groups": "depthwise", "act": "none"}
    first = {"type": "sequence", "name": "stage2_unit1", "layers": [
        {"type": "concat", "branches": [
            [dw, {"type": "conv", "kernel": 1, "out": 24, "act": "relu"}],
            [{"type": "conv", "kernel": 1, "out": 58, "act": "relu"}, dw,
             {"type": "conv", "kernel": 1, "out": 116 - 24, "act": "relu"}]]},
        {"type": "shuffle", "groups": 2}]}
    layers = []
    for e in desc["layers"]:
        if e.get("type") == "shuffle_unit" and e.get("out") == 116:
            layers += [first, {**e, "stride": 1, "repeat": e["repeat"] - 1}]
        else:
            layers.append(e)
    return {**desc, "name": "shufflenet_v2_official", "layers": layers}


def resnet_v1(name: str) -> dict[str, Any]:
    """A torchvision ResNet (v1.5: a downsampling bottleneck's stride on its 3x3 conv) as He et
    al. built it (v1: the stride on the first 1x1 conv), for the papers' FLOPs."""
    desc = _builtin_yaml(name)
    layers = []
    for e in desc["layers"]:
        if e.get("type") == "bottleneck" and e.get("stride", 1) == 2:
            out, mid = e["out"], e.get("mid", e["out"] // 4)
            conv = {"type": "conv", "act": "relu"}
            first = {"type": "residual", "act": "relu", "body": [
                {**conv, "kernel": 1, "stride": 2, "out": mid},
                {**conv, "kernel": 3, "out": mid},
                {**conv, "kernel": 1, "out": out, "act": "none"}],
                "shortcut": [{**conv, "kernel": 1, "stride": 2, "out": out, "act": "none"}]}
            layers += [first, {**e, "stride": 1, "repeat": e.get("repeat", 1) - 1}]
        else:
            layers.append(e)
    return {**desc, "name": f"{name}_v1", "layers": layers}


def table1_column_total(column: str) -> float:
    """The sum of one column of GoogLeNet's Table 1 (Szegedy et al. 2014) as printed."""
    return sum(float(r[column]) for r in read_reference(GOOGLENET_TABLE1))


def _comparison_alternatives(name: str, res: int, key: str) -> dict[str, float]:
    """Counts (M) a printed figure may be: other input sizes, the fvcore convention (biases,
    BatchNorm), without the FC layers, FLOPs, and each family's other published form, computed:
    GoogLeNet as its paper prints it (5x5 branch, LRN, no BN), with its auxiliary classifiers,
    and its Table 1's column totals as printed; Inception V3 with its auxiliary classifier and
    with TF-slim's 1001 classes; ShuffleNetV2 as its authors' code builds it; ResNet v1."""
    def total(r: int = res, **kw: Any) -> float:
        kw.setdefault("spec", name)
        return float(layer_table(1.0, r, rounding=None, **kw).totals[key]) / 1e6

    t = layer_table(1.0, res, spec=name, rounding=None)
    fc = sum(r[key] for r in t.rows if r["type"] == FULLY_CONNECTED) / 1e6
    alts = {f"at input {r}x{r}": total(r) for r in (224, 227, 299)
            if r != res and key == "mult_adds"}  # params do not depend on the input size
    alts["under the fvcore convention (biases and BatchNorm counted)"] = total(convention="fvcore")
    alts["without the FC layers"] = total() - fc
    if key == "mult_adds":
        alts["counted as FLOPs (2 per multiply-add)"] = 2 * total()
    if name == "googlenet":
        paper = total(spec=googlenet_paper())
        alts["of GoogLeNet as its paper prints it (5x5 branch, LRN, no BN; the built-in is "
             "torchvision's 3x3 form)"] = paper
        alts["of the paper's layout under the fvcore convention (conv biases)"] = \
            total(spec=googlenet_paper(), convention="fvcore")
        alts["of the paper's layout with its two auxiliary classifiers (training only)"] = \
            paper + aux_heads(name, key)
        alts["of the paper's layout with its Table 1's separable first layer (TF-slim "
             "inception_v2.py's Conv2d_1a_7x7)"] = total(spec=googlenet_separable_stem())
        alts["of TF-slim's inception_v1 (this 3x3 layout, whose SAME padding gives the same "
             "sizes at 224; the tfslim convention: 1001-way logits, BatchNorm as 3 vectors)"] = \
            total(convention="tfslim")
        column, scale = ("ops_M", 1.0) if key == "mult_adds" else ("params_K", 1e-3)
        alts["summed from Szegedy et al.'s Table 1 column as printed, row by row "
             f"({table1_column_total(column):g}{column[-1]})"] = \
            table1_column_total(column) * scale
    if name == "inception_v3":
        alts["with the auxiliary classifier (torchvision's aux_logits=True)"] = \
            total() + aux_heads(name, key)
        alts["with TF-slim's 1001 classes"] = total(classes=1001)
        alts["of TF-slim's inception_v3 (this layout; the tfslim convention: 1001-way logits "
             "with bias, BatchNorm as beta and moving mean and variance)"] = \
            total(convention="tfslim")
    if name == "shufflenet_v2":
        alts["of the authors' code (stage 2's first unit split 24 | 92, not torchvision's "
             "58 | 58)"] = total(spec=shufflenet_v2_official())
    if name in ("resnet50",):
        alts["of ResNet v1 (a downsampling bottleneck's stride on its first 1x1, not "
             "torchvision's v1.5 3x3)"] = total(spec=resnet_v1(name))
    return alts


INPUT_SIZES = range(128, 513)  # the input sizes an unexplained mult-add figure is scanned over


def _counts_over_inputs(spec: str | dict[str, Any], alpha: float = 1.0,
                        convention: str = "paper") -> tuple[float, ...]:
    """A description's mult-adds (M) at each of :data:`INPUT_SIZES` (one vectorised sweep)."""
    from costmodel.core.sweep import sweep

    s = sweep([alpha], list(INPUT_SIZES), spec=spec, convention=convention)
    return tuple(float(v) / 1e6 for v in s.mult_adds[0])


@functools.cache
def _input_counts(name: str) -> tuple[float, ...]:
    """A built-in's mult-adds (M) at alpha 1 at each of :data:`INPUT_SIZES`."""
    return _counts_over_inputs(name)


def _nearest_input(name: str, res: int) -> Callable[[str], str | None]:
    """A lead for an unexplained mult-add figure: the input size whose count prints as it."""
    def find(printed: str) -> str | None:
        sizes, counts = list(INPUT_SIZES), _input_counts(name)
        n = significant(printed)
        hits = [r for r, v in zip(sizes, counts)
                if (round_significant(v, n) == float(printed) if n else agrees(v, printed))]
        if not hits:
            return None
        near = min(hits, key=lambda r: abs(r - res))
        return (f"unexplained: the count is {counts[sizes.index(res)]:.2f}; {printed} would "
                f"need input {near}x{near} (not {res}x{res})")

    return find


def _gap_text(counts: tuple[float, ...], printed: str) -> str:
    """Where no input size gives a mult-add figure: the two neighbouring sizes whose counts step
    over it (pools and strides make the count jump between sizes); "" outside the scan."""
    p = float(printed)
    pairs = list(zip(INPUT_SIZES, counts))
    below = [(r, v) for r, v in pairs if v < p]
    above = [(r, v) for r, v in pairs if v > p]
    if not below or not above:
        return ""
    (r0, v0), (r1, v1) = below[-1], above[0]
    return (f"; no input size from {INPUT_SIZES[0]} to {INPUT_SIZES[-1]} gives it (input "
            f"{r0}x{r0}: {v0:.2f}, {r1}x{r1}: {v1:.2f})")


def _input_gap(name: str, printed: str) -> str:
    """:func:`_gap_text` for a built-in at alpha 1."""
    return _gap_text(_input_counts(name), printed)


def _input_text(counts: tuple[float, ...], res: int, printed: str) -> str:
    """The input sizes whose count prints as a mult-add figure (at its decimals), or where none
    does, the sizes whose counts step over it."""
    hits = [r for r, v in zip(INPUT_SIZES, counts) if agrees(v, printed)]
    if not hits:
        return _gap_text(counts, printed)
    span = f"{hits[0]}x{hits[0]}" + (f" to {hits[-1]}x{hits[-1]}" if len(hits) > 1 else "")
    return f"; {printed} would be the count at input {span} (not {res}x{res})"


def _bracket(computed: float, printed: str, alternatives: dict[str, float]) -> str:
    """An unexplained figure's nearest computed neighbours: the full count and every alternative
    tried, the closest below and above the printed figure."""
    p = float(printed)
    d = max(decimals(printed), 2)
    tried = {"the full count": computed, **alternatives}
    below = [(v, k) for k, v in tried.items() if v < p]
    above = [(v, k) for k, v in tried.items() if v > p]
    parts = []
    if below:  # the first tried of equal counts (the full count before its alternatives)
        v, k = max(below, key=lambda x: x[0])
        parts.append(f"{_fmt(v, d)} {k} below")
    if above:
        v, k = min(above, key=lambda x: x[0])
        parts.append(f"{_fmt(v, d)} {k} above")
    return f"unexplained: no count tried gives {printed}; nearest: " + ", ".join(parts)


def _head_lead(t: LayerTable, printed: str) -> str:
    """The head sizes (outputs of the last FC) whose params count prints as ``printed``; each
    output costs the FC's inputs, plus its bias where the convention counts one."""
    last = t.rows[-1]
    per = int(last["params"]) // int(last["out_channels"])
    body = t.totals["params"] - int(last["params"])
    lo, hi = head_range(body, per, printed, 1e6)
    if lo > hi:
        return f"; no head size gives it (the body alone is {body / 1e6:.3f})"
    return (f"; a head of {lo}..{hi} outputs would give it (body {body / 1e6:.3f} + "
            f"{per} per output)")


def _comparison_check(source: str, item: str, quantity: str, computed: float, printed: str,
                      alternatives: dict[str, float],
                      nearest: Callable[[str], str | None] | None = None,
                      more: Callable[[str], str] | None = None) -> Check:
    """A check at the printed precision: decimals, or significant figures for a whole number
    printed with trailing zeros (15300 is 15,346.6 to 3 figures). In order: an alternative
    count that prints as the figure; the count cut (not rounded) to those figures; an
    alternative cut to them; the decimal explanations of :func:`classify`; an input-size lead;
    else the nearest counts tried and ``more``'s lead (for params, the head size that would give
    the figure; for mult-adds, the input sizes whose counts step over it)."""
    n = significant(printed)
    if n is not None and round_significant(computed, n) == float(printed):
        return Check(source, item, quantity, computed, printed, True)
    raw = alternatives
    if n is not None:
        alternatives = {f"{label} (to {n} significant figures)": round_significant(v, n)
                        for label, v in raw.items()}
    other = _alternatives(computed, printed, alternatives)  # a counting rule before a rounding
    if other and not agrees(computed, printed):
        return Check(source, item, quantity, computed, printed, False, other[1], other[0])
    if n is not None:
        figs = "figure" if n == 1 else "figures"
        if floor_significant(computed, n) == float(printed):
            return Check(source, item, quantity, computed, printed, False,
                         f"cut to {n} significant {figs}, not rounded: the count is "
                         f"{computed:.2f}", TRUNCATED)
        for label, v in raw.items():
            if floor_significant(v, n) == float(printed):
                return Check(source, item, quantity, computed, printed, False,
                             f"equals the count {label} ({v:.2f}) cut to {n} significant "
                             f"{figs}, not rounded; the full count is {computed:.2f}",
                             OTHER_COUNT)

    def lead(p: str) -> str | None:
        found = nearest(p) if nearest else None
        return found or _bracket(computed, p, raw) + (more(p) if more else "")

    return check(source, item, quantity, computed, printed, alternatives, lead)


def comparison_checks() -> list[Check]:
    """Tables 8, 9 and 10's other networks: GoogleNet, VGG 16 (Table 8), SqueezeNet, AlexNet
    (Table 9, at 227) and Inception V3 (Table 10, at 299), each from its built-in description
    under the paper convention; each disagreement explained by a computed alternative count."""
    rows = [r for r in read_reference("paper_tables.csv") if r["model"] in COMPARISON_MODELS]
    rows += [{"table": r["table"], "model": r["model"], "resolution": r["resolution"],
              "mult_adds_M": r["mult_adds"], "params_M": r["params_M"]}
             for r in read_reference("paper_tables_10_14.csv")
             if r["table"] == "10" and r["model"] in COMPARISON_MODELS]
    out = []
    for r in rows:
        name, res = COMPARISON_MODELS[r["model"]], int(r["resolution"])
        t = layer_table(1.0, res, spec=name, rounding=None)
        for quantity, key, printed in (("mult-adds (M)", "mult_adds", r["mult_adds_M"]),
                                       ("params (M)", "params", r["params_M"])):
            out.append(_comparison_check(
                f"Table {r['table']}", f"{r['model']} ({name}, {res}x{res})", quantity,
                t.totals[key] / 1e6, printed, _comparison_alternatives(name, res, key),
                _nearest_input(name, res) if key == "mult_adds" else None,
                functools.partial(_input_gap, name) if key == "mult_adds"
                else functools.partial(_head_lead, t)))
    return out


def googlenet_table1_checks() -> list[Check]:
    """GoogLeNet's own Table 1 (Szegedy et al. 2014, data/reference/googlenet_table1.csv) row by
    row against the paper's layout (data/reference/googlenet_paper.yaml): ops (M) and params
    (K) of each row's layers, then each column's total. Where a printed entry disagrees, the
    alternatives are, in order, the row's layers with the first layer separable
    (:func:`googlenet_separable_stem`, which changes row 1 only), the count in units of 1024
    (the params column's K) and, for ops, the row's printed params times its output pixels
    (what the row's own figures imply)."""
    t = layer_table(1.0, 224, spec=googlenet_paper(), rounding=None)
    sep = layer_table(1.0, 224, spec=googlenet_separable_stem(), rounding=None)
    out = []
    for r in read_reference(GOOGLENET_TABLE1):
        prefixes = r["layers"].split()
        rows = [x for x in t.rows if x["name"].split(".")[0] in prefixes]
        sep_rows = [x for x in sep.rows if x["name"].split(".")[0] in prefixes]
        item = f"row {r['row']} ({r['type']}, {r['layers'].replace(' ', '+')})"
        ops = sum(x["mult_adds"] for x in rows) / 1e6
        sep_ops = sum(x["mult_adds"] for x in sep_rows) / 1e6
        pixels = rows[-1]["out_shape"][0] * rows[-1]["out_shape"][1]
        alts = {SEPARABLE_STEM: sep_ops} if sep_ops != ops else {}
        out.append(check("GoogLeNet T1", item, "ops (M)", ops, r["ops_M"], {
            **alts, f"as the row's printed params x its {pixels} output pixels":
                float(r["params_K"]) * 1e3 * pixels / 1e6}))
        params = sum(x["params"] for x in rows)
        sep_params = sum(x["params"] for x in sep_rows)
        alts = {SEPARABLE_STEM: sep_params / 1e3} if sep_params != params else {}
        out.append(check("GoogLeNet T1", item, "params (K)", params / 1e3, r["params_K"], {
            **alts, "in units of 1024 (K = 1024)": params / 1024,
            "in units of 1024, cut to the printed digits":
                math.floor(params / 1024 * 10 ** decimals(r["params_K"]))
                / 10 ** decimals(r["params_K"])}))
    for quantity, key, col, scale in (("ops (M)", "mult_adds", "ops_M", 1e6),
                                      ("params (K)", "params", "params_K", 1e3)):
        printed = f"{table1_column_total(col):g}"
        computed = t.totals[key] / scale
        mine = [c for c in out if c.quantity == quantity]
        # rows whose printed entry no rounding, unit or layout explains as the count of its layers
        wrong = [c for c in mine if not c.agree and c.kind not in (TRUNCATED, ROUNDED_UP)
                 and not (c.kind == OTHER_COUNT and ("1024" in c.explanation
                                                     or SEPARABLE_STEM in c.explanation))]
        fixed = float(printed) + sum(c.computed - float(c.published) for c in wrong)
        ok = agrees(computed, printed)
        one = len(wrong) == 1
        why = "" if ok else (
            f"the printed column sums to {printed}; the layout's count is {computed:.1f}, "
            f"{sep.totals[key] / scale:.1f} with row 1's separable first layer; {len(wrong)} of "
            f"{len(mine)} rows {'is' if one else 'are'} not the count of {'its' if one else 'their'}"
            f" layers ({', '.join(c.item.split(' (')[0] for c in wrong)}); with "
            f"{'it' if one else 'those'} replaced by the count{'' if one else 's'} it sums to "
            f"{fixed:.1f}")
        out.append(Check("GoogLeNet T1", "column total", quantity, computed, printed, ok, why,
                         "" if ok else COLUMN_SUM))
    return out


def last_layer_kept(name: str | dict[str, Any]) -> dict[str, Any]:
    """A MobileNetV3 description (a built-in's name, or a description) whose last 1x1 layer
    (the 1280- or 1024-wide head) is not thinned below alpha 1 (``scale: grow``): TF-slim's
    ``finegrain_classification_mode`` (mobilenet_v3.py: "keep the last layer large even for
    small multipliers"), as MobileNetV2 always does."""
    desc = _builtin_yaml(name) if isinstance(name, str) else name
    layers = [dict(e) if isinstance(e, dict) else e for e in desc["layers"]]
    head = [e for e in layers if isinstance(e, dict) and e.get("type") == "linear"][-1]
    head["scale"] = "grow"
    return {**desc, "name": f"{desc['name']}_last_layer_kept", "layers": layers}


def minimalistic(name: str) -> dict[str, Any]:
    """TF-slim's minimalistic MobileNetV3 (tensorflow/models research/slim/nets/mobilenet/
    mobilenet_v3.py, V3_LARGE_MINIMALISTIC and V3_SMALL_MINIMALISTIC, commit 03cdc5fe) from the
    built-in of the same family: the same widths, expansions and strides, but every depthwise
    kernel 3x3, no squeeze-excite and ReLU throughout (the stem and the last 1x1 layer too),
    as its README says: "no squeeze-and-excite units, hard-swish, and 5x5 convolutions"."""
    desc = _builtin_yaml(name)
    layers: list[Any] = []
    for e in desc["layers"]:
        if isinstance(e, str):  # a timm block string: drop the SE, the ReLU override, the 5x5
            e = e.replace("_k5", "_k3").replace("_se0.25", "").replace("_nre", "")
        elif e.get("act") == "hswish":
            e = {**e, "act": "relu"}
        layers.append(e)
    relu = {"act": "relu"}
    return {**desc, "name": f"{name}_minimalistic", "layers": layers,
            "defaults": {"ir": relu, "ds": relu, "cn": relu}}


TFSLIM_V3_FAMILIES = ("mobilenet_v3_large", "mobilenet_v3_small",
                      "mobilenet_v3_large_minimalistic", "mobilenet_v3_small_minimalistic")


def _v3_spec(family: str) -> str | dict[str, Any]:
    """A TF-slim MobileNetV3 family's description: the built-in, or its minimalistic form."""
    base = family.removesuffix("_minimalistic")
    return minimalistic(base) if base != family else base


def _fixed_lead(text: str) -> Callable[[str], str]:
    """A lead already worked out for its figure."""
    return lambda _printed: text


def tfslim_v3_checks() -> list[Check]:
    """The TF-slim MobileNetV3 checkpoints (data/reference/tfslim_mobilenet_v3.csv, float rows
    of the two built-in families and their minimalistic forms, :func:`minimalistic`) under the
    tfslim convention (1001 logits, BN as 3 vectors); the width rule is the built-ins' own,
    TF-slim's ``_make_divisible(v, 8)`` (min 8, never below 90%), expansions from the thinned
    input. A disagreement is tried against the paper convention and TF-slim's finegrain mode
    (the last 1x1 layer kept at full width); one nothing explains is given the input sizes
    whose count would print as it (mult-adds) or the head size (params)."""
    out = []
    for r in read_reference("tfslim_mobilenet_v3.csv"):
        name = r["family"]
        if name not in TFSLIM_V3_FAMILIES or r["precision"] != "float32":
            continue
        spec = _v3_spec(name)
        a, res = float(r["depth_multiplier"]), int(r["resolution"])
        t = layer_table(a, res, spec=spec, convention="tfslim")
        for quantity, key, printed in (("mult-adds (M)", "mult_adds", r["macs_M"]),
                                       ("params (M)", "params", r["params_M"])):
            alts = {
                "under the paper convention": layer_table(a, res, spec=spec).totals[key] / 1e6,
                "with the last 1x1 layer kept at full width (TF-slim's finegrain mode)":
                    layer_table(a, res, spec=last_layer_kept(spec),
                                convention="tfslim").totals[key] / 1e6}
            computed = t.totals[key] / 1e6
            other = None if agrees(computed, printed) else _alternatives(computed, printed, alts)
            if other:  # a counting rule before a rounding (the row's params decide: 4.0)
                out.append(Check("TF-slim v3", r["checkpoint"], quantity, computed, printed,
                                 False, other[1], other[0]))
                continue
            lead = None
            if not agrees(computed, printed):  # the nearest counts, then what would give it
                lead = _bracket(computed, printed, alts) + (
                    _input_text(_counts_over_inputs(spec, a, "tfslim"), res, printed)
                    if key == "mult_adds" else _head_lead(t, printed))
            out.append(check("TF-slim v3", r["checkpoint"], quantity, computed, printed, alts,
                             _fixed_lead(lead) if lead else None))
    return out


def _published_networks() -> list[tuple[str, dict[str, Any]]]:
    """The built-ins' own published paper-convention figures (each description's ``published``
    list), except those of MobileNet-V1 and of the MobileNets paper's comparison networks,
    which the other sections check."""
    from costmodel.core.arch import BUILTIN_NAMES

    out = []
    for name in BUILTIN_NAMES:
        if name == "mobilenet_v1" or name in COMPARISON_MODELS.values():
            continue
        for p in _builtin_yaml(name).get("published", []):
            if p.get("convention") == "paper" and p["figure"] in ("mult_adds", "params"):
                out.append((name, p))
    return out


def network_checks() -> list[Check]:
    """Each built-in's published mult-adds and params (its own paper, e.g. ShuffleNetV2's Table
    5, ResNet's Table 1), at the figure's resolution, under the paper convention; a disagreement
    explained like the comparison networks' (the family's other published form included)."""
    out = []
    for name, p in _published_networks():
        res = int(p.get("resolution", 224))
        key = p["figure"]
        t = layer_table(1.0, res, spec=name, rounding=None)
        printed = f"{p['value'] / 1e6:g}"
        quantity = "mult-adds (M)" if key == "mult_adds" else "params (M)"
        out.append(_comparison_check(
            "published", f"{name} ({res}x{res}): {p['source'].split(',')[0]}", quantity,
            t.totals[key] / 1e6, printed, _comparison_alternatives(name, res, key),
            _nearest_input(name, res) if key == "mult_adds" else None,
            functools.partial(_input_gap, name) if key == "mult_adds"
            else functools.partial(_head_lead, t)))
    return out


# ---------------------------------------------------------------------------------------------
# Tables 10-14 and section 4.4: transfer tasks, whose heads are task-specific
# ---------------------------------------------------------------------------------------------
UNITS = {"M": 1e6, "B": 1e9}


def head_range(body: float, per_output: int, printed: str, unit: float) -> tuple[int, int]:
    """The head sizes k >= 1 for which body + per_output x k prints as ``printed`` (at its
    decimals, or its significant figures for a whole number with trailing zeros); (lo, hi),
    empty when lo > hi."""
    n = significant(printed)
    p = float(printed)
    half = 0.5 * 10 ** (len(printed.split(".")[0]) - n) if n else 0.5 * 10 ** -decimals(printed)
    lo = math.ceil(((p - half) * unit - body) / per_output)
    hi = math.floor(((p + half) * unit - body) / per_output - 1e-9)
    return max(lo, 1), hi


def _head_sizes(alpha: float, res: int, key: str, printed: str, unit: float
                ) -> tuple[float, int, tuple[int, int]]:
    """(body count, FC inputs, head sizes whose count prints as ``printed``) of MobileNet-V1."""
    t = layer_table(alpha, res, classes=1)
    fc_in = int(t.rows[-1]["in_channels"])
    body = t.totals[key] - fc_in  # the count without the 1-output FC layer
    return body, fc_in, head_range(body, fc_in, printed, unit)


def _fits(lo: int, hi: int, other: tuple[int, int]) -> bool:
    """A head range is consistent: it shares a size with the row's other figure, or one of the
    two holds 1000 (that figure is the ImageNet count, printed again)."""
    return lo <= hi and (max(lo, other[0]) <= min(hi, other[1]) or lo <= 1000 <= hi
                         or other[0] <= 1000 <= other[1])


def _head_text(lo: int, hi: int, other: tuple[int, int]) -> str:
    shared = max(lo, other[0]) <= min(hi, other[1])
    text = f"implies a head of {lo}..{hi} outputs"
    if lo <= 1000 <= hi:
        text += " (1000 included: the ImageNet count)"
    elif other[0] <= 1000 <= other[1]:
        return text + "; the row's other figure is the ImageNet count (1000 outputs)"
    implied = f"{other[0]}..{other[1]}" if other[0] <= other[1] else "no head size"
    return text + ("; the row's other figure agrees" if shared else
                   f"; the row's other figure implies {implied}")


def transfer_checks() -> list[Check]:
    """Each MobileNet classification or embedding row of Tables 10, 11 (section 4.4's PlaNet
    text), 12 and 14. The head is task-specific (classes, or an embedding size), so each figure
    is solved for the head sizes k whose count prints as it: body (the engine's count without
    the FC layer) + 1024 alpha x k weights and multiply-adds. A figure no k gives is checked at
    the paper's other input sizes. Table 13's detectors have no such head and are not solved."""
    out = []
    for r in read_reference("paper_tables_10_14.csv"):
        if r["variant"] != "mobilenet_v1" or not r["alpha"] or r["table"] == "13":
            continue
        a, res = float(r["alpha"]), int(r["resolution"])
        task = r["note"].split(";")[0].split("(")[0].split(":")[0].strip()
        item = f"{r['model']} ({task})"
        figs = [("mult-adds", r["mult_adds"], UNITS[r["mult_adds_unit"]], "mult_adds"),
                ("params", r["params_M"], 1e6, "params")]
        solved = [_head_sizes(a, res, key, printed, unit) for _, printed, unit, key in figs]
        for n, (label, printed, unit, key) in enumerate(figs):
            body, fc_in, (lo, hi) = solved[n]
            other = solved[1 - n][2]
            quantity = f"{label} ({'M' if unit == 1e6 else 'B'}), head size"
            if _fits(lo, hi, other):
                out.append(Check(f"Table {r['table']}", item, quantity,
                                 (body + fc_in * lo) / unit, printed, True,
                                 _head_text(lo, hi, other), ""))
                continue
            why = (f"unexplained: {_head_text(lo, hi, other)}" if lo <= hi else
                   f"unexplained: no head size gives it at {res}x{res}: the body alone is "
                   f"{body / unit:.4g}, each output adds {fc_in / unit:.3g}")
            kind = UNEXPLAINED
            for r2 in (224, 192, 160, 128):
                lo2, hi2 = _head_sizes(a, r2, key, printed, unit)[2]
                if r2 != res and key == "mult_adds" and _fits(lo2, hi2, other):
                    why = (f"the count at input {r2}x{r2}, not {res}x{res}: "
                           f"{_head_text(lo2, hi2, other)}")
                    kind = OTHER_COUNT
                    break
            out.append(Check(f"Table {r['table']}", item, quantity,
                             (body + fc_in * (lo if lo <= hi else 1)) / unit, printed, False,
                             why, kind))
    return out


SECTIONS: dict[str, Callable[[], list[Check]]] = {
    "table1": table1_checks,
    "table2": table2_checks,
    "table3": table3_checks,
    "tables4-9": paper_table_checks,
    "tables8-10-networks": comparison_checks,
    "googlenet-table1": googlenet_table1_checks,
    "networks-published": network_checks,
    "transfer": transfer_checks,
    "tfslim": tfslim_checks,
    "tfslim-v3": tfslim_v3_checks,
}


def reproduce(sections: Iterable[str] | None = None) -> list[Check]:
    """Every check of the chosen sections (all by default), in table order."""
    from costmodel.core.arch import check_choice

    names = list(sections) if sections else list(SECTIONS)
    for n in names:
        check_choice("section", n, list(SECTIONS))
    return [c for n in names for c in SECTIONS[n]()]

