"""Depthwise separable vs standard convolution per layer (costmodel.core.reduction)."""

from __future__ import annotations

import pytest

from costmodel.core.engine import layer_table
from costmodel.core.kinds import CONV3X3
from costmodel.core.reduction import REDUCTION_COLUMNS, separable_reduction
from costmodel.errors import CostModelError


def test_table3_layer_matches_the_paper() -> None:
    # MobileNet 1.0-224, the 14x14x512 -> 512 pair (conv_dw_7 + conv_pw_7): the paper's Table 3
    # (D_K=3, M=N=512, D_F=14). Standard: 3*3*512*512*14*14 = 462,422,016 (printed 462M);
    # separable: 3*3*512*14*14 + 512*512*14*14 = 903,168 + 51,380,224 = 52,283,392 (52.3M).
    # Params: 3*3*512*512 = 2,359,296 (2.36M); 3*3*512 + 512*512 = 266,752 (0.27M).
    rows = {r["name"]: r for r in separable_reduction(1.0, 224)}
    r = rows["conv_dw_7 + conv_pw_7"]
    assert (r["in_channels"], r["out_channels"], r["out_size"], r["kernel"]) == (512, 512, 14, 3)
    assert r["standard_mult_adds"] == 462_422_016
    assert r["separable_mult_adds"] == 52_283_392
    assert r["standard_params"] == 2_359_296
    assert r["separable_params"] == 266_752
    # eq. (5): 1/N + 1/D_K^2 = 1/512 + 1/9
    assert r["closed_form_ratio"] == pytest.approx(1 / 512 + 1 / 9, rel=1e-15)
    assert r["mult_adds_ratio"] == pytest.approx(52_283_392 / 462_422_016, rel=1e-15)


@pytest.mark.parametrize("alpha,resolution,rounding", [
    (1.0, 224, "int"), (0.5, 160, "int"), (0.37, 131, "slim"), (1.3, 300, "divisible8")])
def test_paper_convention_ratio_is_the_closed_form(alpha: float, resolution: int, rounding: str) -> None:
    rows = separable_reduction(alpha, resolution, rounding=rounding)
    assert len(rows) == 13  # Table 1: 13 depthwise separable pairs
    for r in rows:
        # (K*K*M*F*F + M*N*F*F) / (K*K*M*N*F*F) = 1/N + 1/K^2, exactly, whatever M and F are
        assert r["mult_adds_ratio"] == pytest.approx(r["closed_form_ratio"], rel=1e-12)
        # params: (K*K*M + M*N) / (K*K*M*N) is the same expression
        assert r["params_ratio"] == pytest.approx(r["closed_form_ratio"], rel=1e-12)
        assert set(r) == set(REDUCTION_COLUMNS)


@pytest.mark.parametrize("alpha,resolution", [(1.0, 224), (0.75, 192), (0.25, 128)])
def test_standard_side_equals_the_full_conv_variant(alpha: float, resolution: int) -> None:
    # The paper's Table 4 "Conv MobileNet" is the same network with every pair replaced by a
    # standard conv; the engine's full_conv variant names them conv2..conv14.
    rows = separable_reduction(alpha, resolution)
    full = [r for r in layer_table(alpha, resolution, variant="full_conv").rows
            if r["name"] != "conv1" and r["type"] == CONV3X3]
    assert [r["standard_mult_adds"] for r in rows] == [r["mult_adds"] for r in full]
    assert [r["standard_params"] for r in rows] == [r["params"] for r in full]
    sep = {r["name"]: r for r in layer_table(alpha, resolution).rows}
    for r in rows:
        dw, pw = r["name"].split(" + ")
        assert r["separable_mult_adds"] == sep[dw]["mult_adds"] + sep[pw]["mult_adds"]


def test_fvcore_convention_counts_batchnorm_on_both_sides() -> None:
    # fvcore counts 2 ops per BN output element. 1.0-224 conv_dw_2 + conv_pw_2: M=64, N=128,
    # stride 2, D_F=56. Separable: 3*3*64*56*56 + 2*64*56*56 + 64*128*56*56 + 2*128*56*56
    # = 1,806,336 + 401,408 + 25,690,112 + 802,816 = 28,700,672.
    # Standard: 3*3*64*128*56*56 + 2*128*56*56 = 231,211,008 + 802,816 = 232,013,824.
    r = separable_reduction(1.0, 224, convention="fvcore")[1]
    assert r["name"] == "conv_dw_2 + conv_pw_2"
    assert r["separable_mult_adds"] == 28_700_672
    assert r["standard_mult_adds"] == 232_013_824
    assert r["mult_adds_ratio"] > r["closed_form_ratio"]


def test_variants() -> None:
    assert len(separable_reduction(1.0, 224, variant="shallow")) == 8  # 13 - the five 14x14x512
    assert separable_reduction(1.0, 224, variant="full_conv") == []


@pytest.mark.parametrize("alpha", [0, -1, float("nan"), "abc", 0.01])
def test_bad_alpha_is_a_clear_error(alpha: object) -> None:
    with pytest.raises(CostModelError, match="alpha"):
        separable_reduction(alpha, 224)  # type: ignore[arg-type]


@pytest.mark.parametrize("model, pairs", [
    ("mobilenet_v2", 17),  # Table 2: 1 + 2 + 3 + 4 + 3 + 3 + 1 bottlenecks, one dw + project each
    ("mobilenet_v3_large", 15),  # Table 1: 15 bnecks
    ("efficientnet_b0", 16),  # Table 1: 1 + 2 + 2 + 3 + 3 + 4 + 1 MBConv blocks
    ("shufflenet_v2", 19),  # 3 stride-2 units with 2 depthwise branches, 13 stride-1 units with 1
    ("resnet18", 0),  # no depthwise convs
])
def test_pairs_found_wherever_they_occur(model: str, pairs: int) -> None:
    rows = separable_reduction(1.0, 224, spec=model)
    assert len(rows) == pairs
    for r in rows:  # the paper convention's ratio is eq. 5's closed form, pair by pair
        assert r["mult_adds_ratio"] == pytest.approx(r["closed_form_ratio"], rel=1e-12)


def test_se_between_the_pair_is_on_neither_side() -> None:
    from costmodel.core.engine import layer_table

    rows = {r["name"]: r for r in separable_reduction(1.0, 224, spec="mobilenet_v3_large")}
    t = {r["name"]: r for r in layer_table(spec="mobilenet_v3_large").rows}
    # ir3 (k5, SE): dw 5x5 on 72 channels at 28x28 -> SE -> 1x1 to 40
    r = rows["ir3.conv_dw + ir3.conv_pwl"]
    assert r["separable_mult_adds"] == t["ir3.conv_dw"]["mult_adds"] + t["ir3.conv_pwl"]["mult_adds"]
    assert r["separable_mult_adds"] == 25 * 72 * 28 * 28 + 72 * 40 * 28 * 28
    assert (r["kernel"], r["in_channels"], r["out_channels"], r["out_size"]) == (5, 72, 40, 28)


def test_breakdown_pairs_command() -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "costmodel", "breakdown", "--pairs", "--model",
                        "mobilenet_v2", "--format", "json"], capture_output=True, text=True,
                       timeout=120)
    import json

    pairs = json.loads(r.stdout)["pairs"]
    assert r.returncode == 0 and len(pairs) == 17 and pairs[0]["name"] == "ir1.conv_dw + ir1.conv_pwl"
    # 32 -> 16 at 112x112, k 3: 1/16 + 1/9
    assert pairs[0]["closed_form_ratio"] == pytest.approx(1 / 16 + 1 / 9)
