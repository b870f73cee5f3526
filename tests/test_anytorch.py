"""The torch builder on any network: every op kind of the grammar (a hand-written network that
holds each one), every built-in description present, at alpha 1.0, 0.75 and 0.5: module names
equal the table's rows, forward output shapes equal the table's, and fvcore agrees per layer
(0 mismatches) with the engine's fvcore convention. Small resolutions keep it quick: what is
checked (names, shapes, per-layer counts) does not depend on the size."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: pip install 'costmodel[torch]'")
pytest.importorskip("fvcore", reason="fvcore is not installed: pip install 'costmodel[torch]'")

from costmodel.core import arch  # noqa: E402
from costmodel.core.engine import layer_table  # noqa: E402
from costmodel.crosscheck import verify as V  # noqa: E402
from costmodel.crosscheck.torch_model import build_model, output_shape  # noqa: E402
from costmodel.errors import CostModelError  # noqa: E402

# Every op of the grammar at least once: a non-square strided conv with torch padding, a grouped
# dilated conv (TF SAME), max pool with ceil_mode, windowed avg pool, a residual with its own BN
# and act, a 3-way concat (a pool branch too), SE, shuffle, a split concat with a depthwise conv
# and a grouped 1x1, LRN, a standalone activation, adaptive avg pool to 2x2, flatten, dropout,
# a hidden linear with an activation, BatchNorm on a flat tensor, the classifier.
EVERY_OP = {
    "name": "every_op",
    "layers": [
        {"type": "conv", "kernel": [3, 5], "stride": [2, 1], "out": 16, "padding": [1, 2]},
        {"type": "conv", "kernel": 3, "dilation": 2, "out": 16, "groups": 4},
        {"type": "maxpool", "kernel": 3, "stride": 2, "ceil_mode": True},
        {"type": "avgpool", "kernel": 3, "stride": 1, "padding": 1},
        {"type": "residual", "body": [{"type": "conv", "out": "same", "kernel": 3, "bn": False},
                                      {"type": "bn"}], "act": "relu"},
        {"type": "concat", "branches": [
            [{"type": "pw", "out": 8}],
            [{"type": "conv", "kernel": 3, "out": 8, "act": "hswish"}],
            [{"type": "maxpool", "kernel": 3, "stride": 1, "padding": 1}]]},
        {"type": "se", "ratio": 0.25},
        {"type": "shuffle", "groups": 2},
        {"type": "concat", "split": True, "branches": [
            [], [{"type": "dw", "kernel": 3, "padding": 1, "act": "relu6"},
                 {"type": "pw", "out": 16, "groups": 2, "act": "gelu"}]]},
        {"type": "lrn", "size": 5},
        {"type": "act", "act": "silu"},
        {"type": "maxpool", "kernel": 2, "stride": 2},
        {"type": "avgpool", "output": 2},
        {"type": "flatten"},
        {"type": "dropout", "p": 0.2},
        {"type": "linear", "out": 32, "act": "relu"},
        {"type": "bn"},
        {"type": "fc"},
    ],
}
KINDS = {"conv", "gconv", "dw", "pw", "maxpool", "avgpool", "bn", "add", "act", "concat", "mul",
         "shuffle", "slice", "lrn", "flatten", "dropout", "fc"}
BUILTINS = getattr(arch, "BUILTIN_NAMES", ("mobilenet_v1",))
ALPHAS = (1.0, 0.75, 0.5)
# The smallest convenient input for each network: every layer at least 1x1 (Inception V3's
# stem of 3 valid 3x3 convs and 2 valid pools needs 75, torchvision's minimum).
RESOLUTION = {"inception_v3": 75, "googlenet": 64, "alexnet": 64}


def _shapes(model) -> dict[str, tuple[int, int, int]]:
    out: dict[str, tuple[int, int, int]] = {}
    hooks = [m.register_forward_hook(lambda _m, _i, y, n=n: out.__setitem__(n, output_shape(y)))
             for n, m in model.named_layers()]
    with torch.no_grad():
        model(model.example_input())
    for h in hooks:
        h.remove()
    return out


def _check_names_and_shapes(alpha: float, resolution: int, spec, classes: int = 10) -> int:
    t = layer_table(alpha, resolution, spec=spec, classes=classes, rounding=None)
    model = build_model(alpha, resolution, spec=spec, classes=classes, rounding=None)
    assert [n for n, _ in model.named_layers()] == [r["name"] for r in t.rows]
    assert _shapes(model) == {r["name"]: tuple(int(v) for v in r["out_shape"]) for r in t.rows}
    return len(t.rows)


def test_every_op_network_holds_every_kind():
    layers = arch.resolve(arch.get_description(EVERY_OP), "mobilenet_v1", 1.0, 37, "int", 10)
    assert {str(lay.kind) for lay in layers} == KINDS


@pytest.mark.parametrize("alpha,resolution", [(1.0, 37), (0.75, 64), (0.5, 50)])
def test_every_op_names_and_shapes(alpha, resolution):
    _check_names_and_shapes(alpha, resolution, EVERY_OP)


def test_every_op_spot_shapes():
    # at 37: conv1 (3x5, stride (2, 1), padding (1, 2)): h = (37 + 2 - 3) // 2 + 1 = 19,
    # w = (37 + 4 - 5) // 1 + 1 = 37; the dilated grouped conv keeps 19x37 (SAME, stride 1);
    # the ceil-mode 3/2 max pool: ceil((19 - 3) / 2) + 1 = 9, ceil((37 - 3) / 2) + 1 = 18;
    # concat: 8 + 8 + 16 channels = 32; adaptive pool to 2x2 x 32 -> flatten 128.
    model = build_model(1.0, 37, spec=EVERY_OP, classes=10)
    s = _shapes(model)
    assert s["conv1"] == (19, 37, 16) and s["conv2"] == (19, 37, 16)
    assert s["maxpool1"] == (9, 18, 16) and s["concat1.concat"] == (9, 18, 32)
    assert s["concat2.split1"] == (9, 18, 16) and s["flatten1"] == (1, 1, 128)
    assert s["fc2"] == (1, 1, 10)
    assert model.conv2.conv.dilation == (2, 2) and model.conv2.conv.groups == 4
    assert model.conv2.conv.padding == (2, 2)  # SAME with dilation 2: (3 - 1) * 2 / 2 each side


@pytest.mark.parametrize("alpha,resolution", [(1.0, 37), (0.5, 64)])
def test_every_op_agrees_with_every_counter(alpha, resolution):
    v = V.verify(alpha, resolution, spec=EVERY_OP, classes=10)
    assert not v.errors and not v.skipped
    assert v.mismatches() == [] and v.agree
    assert len(v.layers) == _check_names_and_shapes(alpha, resolution, EVERY_OP)


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("alpha", ALPHAS)
def test_builtin_names_shapes_and_fvcore_per_layer(name, alpha):
    r = RESOLUTION.get(name, 64)
    desc = arch.get_description(name)
    v = V.verify(alpha, r, spec=desc, classes=10, rounding=desc.rounding, counters=[])
    assert [m for m in v.mismatches()] == []
    assert all(x.shape_ok and x.mult_adds_residual == 0 and x.params_residual == 0
               for x in v.layers)
    assert len(v.layers) == len(layer_table(alpha, r, spec=desc, classes=10,
                                            rounding=desc.rounding).rows)


def test_a_one_mac_residual_still_fails_on_a_dag(monkeypatch):
    # the engine one MAC short on the residual add of a DAG: verify must name that layer
    from costmodel.core import engine

    real = engine.KIND_COUNTERS[engine.Kind.ADD]

    def one_more(layer, convention):
        c = real(layer, convention)
        return engine.Count(weight_mult_adds=c.weight_mult_adds + 1)

    monkeypatch.setitem(engine.KIND_COUNTERS, engine.Kind.ADD, one_more)
    v = V.verify(1.0, 37, spec=EVERY_OP, classes=10, counters=[])
    bad = [m["what"] for m in v.mismatches()]
    assert "layer residual1.add" in bad and not v.agree


def test_a_layer_name_that_prefixes_another_is_refused():
    spec = {"layers": [{"type": "conv", "out": 8, "name": "a"},
                       {"type": "pw", "out": 8, "name": "a.b"},
                       {"type": "avgpool"}, {"type": "fc"}]}
    with pytest.raises(CostModelError, match="prefix"):
        build_model(1.0, 16, spec=spec, classes=10)
    # a block named like a layer is refused earlier, by the description (a block's name means
    # its output layer in `from`)
    same = {"layers": [{"type": "conv", "out": 8, "name": "a"},
                       {"type": "sequence", "name": "a", "layers": [{"type": "pw", "out": 8}]},
                       {"type": "avgpool"}, {"type": "fc"}]}
    with pytest.raises(CostModelError, match="layer name 'a' repeats; allowed: unique layer names"):
        build_model(1.0, 16, spec=same, classes=10)
