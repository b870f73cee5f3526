"""reproduce's Tables 8-10 comparison networks (from the built-in descriptions) and the transfer
tasks of Tables 10-14 (heads solved for). Expected values from closed-form working written here
or from the published figures with their sources."""

from __future__ import annotations

import pytest

from costmodel.crosscheck import reproduce as R


@pytest.fixture(scope="module")
def nets():
    return {(c.item.split(" (")[0], c.quantity.split(" ")[0]): c for c in R.comparison_checks()}


@pytest.fixture(scope="module")
def transfer():
    return R.transfer_checks()


def test_significant_figures_rule():
    assert R.significant("15300") == 3 and R.significant("1700") == 2 and R.significant("60") == 1
    assert R.significant("138") is None and R.significant("6.8") is None
    assert R.round_significant(15346.63, 3) == 15300 and R.round_significant(1665.3, 2) == 1700


def test_vgg16_prints_its_conv_layers_to_3_figures(nets):
    # conv MACs at 224, 3x3 convs (9 x C_in x C_out per pixel) of the five stages:
    conv = 9 * (224**2 * (3 * 64 + 64 * 64) + 112**2 * (64 * 128 + 128**2)
                + 56**2 * (128 * 256 + 2 * 256**2) + 28**2 * (256 * 512 + 2 * 512**2)
                + 14**2 * 3 * 512**2)
    fc = 7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000
    assert conv == 15_346_630_656
    c = nets[("VGG 16", "mult-adds")]
    assert not c.agree and c.kind == R.OTHER_COUNT and "without the FC layers" in c.explanation
    assert c.computed == pytest.approx((conv + fc) / 1e6)
    assert nets[("VGG 16", "params")].agree  # 138.34 M weights; printed 138


def test_squeezenet_flops_and_biases(nets):
    ma, p = nets[("Squeezenet", "mult-adds")], nets[("Squeezenet", "params")]
    # 1700 = 2 FLOPs per multiply-add of 832.67 M (at 227), to 2 figures
    assert ma.kind == R.OTHER_COUNT and "FLOPs" in ma.explanation
    assert round(2 * ma.computed, -2) == 1700
    # 1.25 M = the parameters with conv biases: torchvision's squeezenet1_0 num_params 1,248,424
    assert p.kind == R.OTHER_COUNT and "fvcore convention" in p.explanation
    assert "1.2484" in p.explanation


def test_alexnet_agrees_and_the_others_are_reported(nets):
    assert nets[("AlexNet", "mult-adds")].agree and nets[("AlexNet", "params")].agree
    for key in (("GoogleNet", "mult-adds"), ("GoogleNet", "params"), ("Inception V3", "params")):
        assert nets[key].kind == R.UNEXPLAINED and nets[key].explanation.startswith("unexplained")
    assert "would need input 298x298" in nets[("Inception V3", "mult-adds")].explanation
    assert len(nets) == 10  # 5 networks x (mult-adds, params)


def test_head_range_closed_form():
    # MobileNet-V1 1.0 body params 4,209,088 - 1,024,000 = 3,185,088; 3.3 M (2 decimals: 3.25 to
    # 3.35 M) needs 63.4 < k <= 161.05, so 64..161 (the Stanford Dogs' 120 classes inside)
    assert R.head_range(3_185_088, 1024, "3.3", 1e6) == (64, 161)
    # PlaNet's 13 M: 12.5 to 13.5 M -> 9,096.6 < k <= 10,073.2
    assert R.head_range(3_185_088, 1024, "13", 1e6) == (9097, 10073)
    assert R.head_range(3_185_088, 1024, "3.1", 1e6)[0] > R.head_range(3_185_088, 1024, "3.1",
                                                                         1e6)[1]


def test_transfer_heads(transfer):
    by = {(c.source, c.item, c.quantity.split(" ")[0]): c for c in transfer}
    dogs = by[("Table 10", "1.0 MobileNet-224 (Stanford Dogs)", "params")]
    assert dogs.agree and "64..161" in dogs.explanation and "ImageNet" in dogs.explanation
    assert by[("Table 10", "1.0 MobileNet-224 (Stanford Dogs)", "mult-adds")].agree  # 569 again
    planet = by[("Table 11", "PlaNet MobileNet (text of section 4.4)", "params")]
    assert planet.agree and "9097..10073" in planet.explanation
    # Table 14 prints 166 for 0.75 MobileNet-128: the count at 160, a head the params allow
    twice = [c for c in transfer if c.item.startswith("0.75 MobileNet-128 (face")
             and c.quantity.startswith("mult") and not c.agree]
    assert [c.kind for c in twice] == [R.OTHER_COUNT]
    assert "input 160x160, not 128x128" in twice[0].explanation
    assert not any(c.source == "Table 13" for c in transfer)  # detectors: no head to solve
    assert all(c.kind in (R.OTHER_COUNT, R.UNEXPLAINED) for c in transfer if not c.agree)
