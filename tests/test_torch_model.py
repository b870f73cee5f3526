"""The torch builder: names line up with the table, forward shapes equal the table's, BN folding
gives the same outputs. (Per-layer counts against fvcore are in test_verify.py.)"""

from __future__ import annotations

import functools

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: pip install 'costmodel[torch]'")
from torch import nn  # noqa: E402

from costmodel.core.arch import get_description, resolve  # noqa: E402
from costmodel.core.engine import layer_table  # noqa: E402
from costmodel.crosscheck.torch_model import (  # noqa: E402
    CostModelNet,
    build_model,
    fold_batchnorm,
    output_shape,
)
from costmodel.errors import CostModelError  # noqa: E402

# A description with what MobileNet-V1 lacks: even and large kernels, stride 3, a strided 1x1
# and an unscaled layer, so asymmetric TF-SAME padding is exercised.
ODD_SPEC = {
    "name": "odd",
    "layers": [
        {"type": "conv", "kernel": 2, "stride": 2, "out": 24},
        {"type": "separable", "kernel": 5, "stride": 3, "out": 40},
        {"type": "dw", "kernel": 4, "stride": 2},
        {"type": "pw", "stride": 2, "out": 56, "scale": False},
        {"type": "avgpool"},
        {"type": "fc"},
    ],
}


@functools.cache
def _model(alpha: float, resolution: int, variant: str = "mobilenet_v1", rounding: str = "int",
           classes: int = 1000) -> CostModelNet:
    return build_model(alpha, resolution, variant=variant, rounding=rounding, classes=classes)


def _shapes(model: CostModelNet, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Each layer's output shape in the forward pass, (height, width, channels) of one sample
    (a flattened output (1, C) reads (1, 1, C))."""
    out: dict[str, tuple[int, ...]] = {}
    hooks = [child.register_forward_hook(
        lambda _m, _i, y, name=name: out.__setitem__(name, output_shape(y)))
        for name, child in model.named_layers()]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return out


def _table_shape(row: dict) -> tuple[int, ...]:
    return tuple(int(v) for v in row["out_shape"])


CONFIGS = [
    (1.0, 224, "mobilenet_v1", "int"),
    (0.75, 193, "mobilenet_v1", "int"),  # odd: SAME gives ceil(193/2) = 97
    (0.5, 97, "full_conv", "slim"),
    (0.35, 128, "shallow", "divisible8"),
    (0.25, 33, "mobilenet_v1", "slim"),
    (1.3, 17, "full_conv", "divisible8"),
]


@pytest.mark.parametrize("alpha,resolution,variant,rounding", CONFIGS)
def test_children_are_named_like_the_table_rows(alpha, resolution, variant, rounding):
    model = _model(alpha, resolution, variant, rounding)
    t = layer_table(alpha, resolution, variant=variant, rounding=rounding)
    assert [n for n, _ in model.named_layers()] == [r["name"] for r in t.rows]


@pytest.mark.parametrize("alpha,resolution,variant,rounding", CONFIGS)
def test_forward_shapes_equal_the_table(alpha, resolution, variant, rounding):
    model = _model(alpha, resolution, variant, rounding)
    t = layer_table(alpha, resolution, variant=variant, rounding=rounding)
    shapes = _shapes(model, model.example_input(2)[:1])
    assert shapes == {r["name"]: _table_shape(r) for r in t.rows}


def test_forward_shapes_with_even_kernels_stride3_and_strided_pointwise():
    model = build_model(0.5, 31, spec=ODD_SPEC, classes=7)
    t = layer_table(0.5, 31, spec=ODD_SPEC, classes=7)
    shapes = _shapes(model, model.example_input())
    assert shapes == {r["name"]: _table_shape(r) for r in t.rows}
    # ceil(31/2) = 16, ceil(16/3) = 6, ceil(6/2) = 3, ceil(3/2) = 2; the 1x1 keeps 56 (scale off)
    assert shapes["conv_pw_3"] == (2, 2, 56)
    assert shapes["fc"] == (1, 1, 7)
    # a kernel-2 stride-2 conv at 31 needs total pad (16-1)*2 + 2 - 31 = 1: the pad goes after
    assert tuple(model.conv1.pad.padding) == (0, 1, 0, 1)


@pytest.mark.parametrize("alpha,resolution,variant,rounding", CONFIGS)
def test_layers_are_the_resolved_layers(alpha, resolution, variant, rounding):
    """Conv weights (out, in/groups, k, k) with depthwise as groups = channels, no conv bias,
    BN per output channel, FC in x classes with bias."""
    model = _model(alpha, resolution, variant, rounding)
    layers = resolve(get_description(), variant, alpha, resolution, rounding, 1000)
    for layer in layers:
        block = getattr(model, layer.name)
        if layer.kind in ("conv", "dw", "pw"):
            assert block.conv.weight.shape == (layer.out_channels,
                                               layer.in_channels // layer.groups,
                                               layer.kernel, layer.kernel)
            assert block.conv.groups == layer.groups
            assert block.conv.bias is None
            assert block.bn.num_features == layer.out_channels
            assert isinstance(block.relu, nn.ReLU)
        elif layer.kind == "fc":
            assert block.weight.shape == (layer.out_channels, layer.in_channels)
            assert block.bias is not None
    assert not model.training


def test_depthwise_layers_are_grouped_convs():
    dw = _model(1.0, 224).conv_dw_13.conv
    assert dw.groups == dw.in_channels == dw.out_channels == 1024


def test_seed_makes_weights_reproducible():
    a = build_model(0.25, 64, seed=3)
    b = build_model(0.25, 64, seed=3)
    c = build_model(0.25, 64, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.conv1.conv.weight, c.conv1.conv.weight)


@pytest.mark.parametrize("kwargs", [{"alpha": 0}, {"resolution": 0}, {"variant": "nope"},
                                    {"rounding": "floor"}, {"classes": 0}])
def test_bad_input_is_a_costmodel_error(kwargs):
    with pytest.raises(CostModelError):
        build_model(**kwargs)


# ------------------------------------------------------------------------------ BN folding
def _randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BatchNorm statistics (a fresh BN is nearly the identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
    return model


@pytest.mark.parametrize("alpha,resolution,variant,rounding",
                         [(1.0, 224, "mobilenet_v1", "int"), (0.5, 97, "full_conv", "slim"),
                          (0.35, 128, "shallow", "divisible8")])
def test_folded_model_gives_the_same_outputs(alpha, resolution, variant, rounding):
    model = _randomize_bn(build_model(alpha, resolution, variant=variant, rounding=rounding))
    folded = fold_batchnorm(model)
    x = model.example_input(2)
    with torch.no_grad():
        y, yf = model(x), folded(x)
    assert y.abs().max() > 0
    torch.testing.assert_close(yf, y, rtol=1e-4, atol=1e-4 * float(y.abs().max()))
    # folded in float64, the algebra is exact up to float64 rounding
    model64 = model.double()
    with torch.no_grad():
        x64 = x[:1].double()
        y64, yf64 = model64(x64), fold_batchnorm(model64)(x64)
    torch.testing.assert_close(yf64, y64, rtol=1e-10, atol=1e-10 * float(y64.abs().max()))


def test_folding_removes_batchnorm_and_leaves_the_original_alone():
    model = _randomize_bn(build_model(0.25, 64))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 27  # 1 + 13 x 2
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert [n for n, _ in folded.named_children()] == [n for n, _ in model.named_children()]
    conv = folded.conv_pw_5.conv
    bn = model.conv_pw_5.bn
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    torch.testing.assert_close(conv.weight, model.conv_pw_5.conv.weight * s.reshape(-1, 1, 1, 1))
    torch.testing.assert_close(conv.bias, bn.bias - bn.running_mean * s)


def test_folding_twice_is_the_same_as_once():
    folded = fold_batchnorm(_randomize_bn(build_model(0.25, 40)))
    again = fold_batchnorm(folded)
    x = folded.example_input()
    with torch.no_grad():
        assert torch.equal(again(x), folded(x))


def test_build_model_fold_bn_equals_fold_batchnorm():
    x = build_model(0.5, 48).example_input()
    with torch.no_grad():
        a = build_model(0.5, 48, fold_bn=True)(x)
        b = fold_batchnorm(build_model(0.5, 48))(x)
    assert torch.equal(a, b)
