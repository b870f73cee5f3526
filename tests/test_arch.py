"""Architecture description: rounding rules, variants, spec files and their errors."""

from __future__ import annotations

import json

import pytest

from costmodel.core.arch import (
    expand,
    get_description,
    load_description,
    resolve,
    rho_to_resolution,
    round_divisible8,
    round_int,
    round_slim,
)
from costmodel.core.engine import layer_table
from costmodel.errors import CostModelError


def test_rounding_rules_closed_form():
    assert round_int(32, 0.35) == 11  # int(11.2)
    assert round_slim(32, 0.1) == 8  # max(int(3.2), 8)
    assert round_slim(64, 0.5) == 32
    # make_divisible(11.2, 8): int(11.2 + 4) // 8 * 8 = 8 < 0.9 * 11.2 = 10.08, so + 8 = 16
    assert round_divisible8(32, 0.35) == 16
    # make_divisible(1024 * 0.35 = 358.4): int(362.4) // 8 * 8 = 360 >= 322.56 -> 360
    assert round_divisible8(1024, 0.35) == 360
    # the rules agree at the paper's alphas (1, 0.75, 0.5, 0.25) for every base width >= 32
    for a in (1.0, 0.75, 0.5, 0.25):
        for c in (32, 64, 128, 256, 512, 1024):
            assert round_int(c, a) == round_slim(c, a) == round_divisible8(c, a)


def test_same_padding_sizes():
    sizes = [lay.out_size for lay in resolve(alpha=1.0, resolution=225)]
    # ceil(225/2)=113, ceil(113/2)=57, ceil(57/2)=29, ceil(29/2)=15, ceil(15/2)=8
    assert [s for s in dict.fromkeys(sizes)] == [113, 57, 29, 15, 8, 1]


def test_variants_layer_lists():
    d = get_description()
    assert len(expand(d)) == 1 + 2 * 13 + 2  # conv1, 13 separable pairs, pool, fc
    assert len(expand(d, "full_conv")) == 1 + 13 + 2
    assert len(expand(d, "shallow")) == 1 + 2 * 8 + 2
    assert resolve()[-4].stride == 1  # Table 1's printed "s2" on the last dw is a typo


def test_rho():
    assert rho_to_resolution(0.714) == 160  # round(224 * 0.714) = round(159.94)
    assert rho_to_resolution(1) == 224
    with pytest.raises(CostModelError, match="rho"):
        rho_to_resolution("x")


def test_user_spec_json_and_yaml(tmp_path):
    spec = {"name": "tiny", "layers": [
        {"type": "conv", "kernel": 3, "stride": 2, "out": 16},
        {"type": "separable", "stride": 2, "out": 32, "repeat": 2, "group": "mid"},
        {"type": "avgpool"}, {"type": "fc"}], "variants": {"short": {"drop_groups": ["mid"]}}}
    pj = tmp_path / "tiny.json"
    pj.write_text(json.dumps(spec))
    py = tmp_path / "tiny.yaml"
    py.write_text("name: tiny\nlayers:\n  - {type: conv, kernel: 3, stride: 2, out: 16}\n"
                  "  - {type: separable, stride: 2, out: 32, repeat: 2, group: mid}\n"
                  "  - {type: avgpool}\n  - {type: fc}\nvariants:\n  short: {drop_groups: [mid]}\n")
    a = layer_table(1.0, 32, spec=str(pj), classes=10)
    b = layer_table(1.0, 32, spec=str(py), classes=10)
    assert a.rows == b.rows
    # conv 3*3*3*16*16*16=110,592; dw1 9*16*8*8=9,216; pw1 16*32*64=32,768;
    # dw2 9*32*4*4=4,608; pw2 32*32*16=16,384; fc 32*10=320
    assert a.totals["mult_adds"] == 110_592 + 9_216 + 32_768 + 4_608 + 16_384 + 320
    short = layer_table(1.0, 32, spec=str(pj), classes=10, variant="short")
    assert short.totals["mult_adds"] == 110_592 + 16 * 10


@pytest.mark.parametrize("content,suffix,match", [
    ('{"layers": [', ".json", r"invalid JSON at line 1"),
    ("layers:\n  - {type: conv, out: 8\n", ".yaml", r"invalid YAML at line \d"),
    ('{"layers": [{"type": "conv", "out": 8}, {"type": "bogus"}]}', ".json",
     r"layers\[1\]: field 'type' is 'bogus'"),
    ('{"layers": [{"type": "conv", "out": -1}]}', ".json", r"layers\[0\]: field 'out' is -1"),
    ('{"layers": [{"type": "conv"}]}', ".json", r"layers\[0\]: type 'conv' needs field 'out'"),
    ('{"layers": [{"type": "conv", "out": 8, "stride": "2"}]}', ".json", r"field 'stride' is '2'"),
    ('{"layerz": []}', ".json", r"unknown top-level field 'layerz'"),
    ("[1, 2]", ".json", r"top level must be a mapping"),
    ("layers: []", ".txt", r"suffix '.txt'"),
])
def test_malformed_spec_files(tmp_path, content, suffix, match):
    p = tmp_path / f"bad{suffix}"
    p.write_text(content)
    with pytest.raises(CostModelError, match=match):
        load_description(p)


@pytest.mark.parametrize("kwargs,match", [
    ({"alpha": 0}, "alpha 0 is out of range"),
    ({"alpha": -1}, "alpha -1 is out of range"),
    ({"alpha": float("nan")}, "alpha nan is out of range"),
    ({"alpha": float("inf")}, "alpha inf is out of range"),
    ({"alpha": "abc"}, "alpha 'abc' is not a number"),
    ({"alpha": 0.01}, r"0 channels .* alpha >= 0.03125"),  # int(32 * 0.01) = 0; 1/32 = 0.03125
    ({"resolution": 0}, "resolution 0 is out of range"),
    ({"resolution": 100.5}, "resolution 100.5 is not an integer"),
    ({"resolution": "big"}, "resolution 'big' is not an integer"),
    ({"variant": "tiny"}, "variant 'tiny' is unknown; allowed: mobilenet_v1, full_conv, shallow"),
    ({"rounding": "up"}, "rounding 'up' is unknown; allowed: int, slim, divisible8"),
    ({"convention": "x"}, "convention 'x' is unknown; allowed: paper, fvcore, tfslim"),
    ({"classes": 0}, "classes 0 is out of range"),
])
def test_bad_input_messages(kwargs, match):
    with pytest.raises(CostModelError, match=match) as info:
        layer_table(**kwargs)
    assert "\n" not in str(info.value)


def test_small_alpha_ok_with_slim_rounding():
    # slim keeps at least 8 channels, so alpha=0.01 is valid there
    t = layer_table(0.01, 224, rounding="slim")
    assert min(r["out_channels"] for r in t.rows) == 8


def test_example_spec_in_readme_loads():
    from pathlib import Path

    spec = Path(__file__).resolve().parents[1] / "examples" / "tiny_net.yaml"
    full = layer_table(1.0, 128, spec=str(spec), classes=10)
    short = layer_table(1.0, 128, spec=str(spec), classes=10, variant="no_middle")
    # dropping the two "middle" pairs removes exactly their rows
    assert len(full.rows) - len(short.rows) == 4
    assert full.config.spec == "tiny_net"
