"""Architecture descriptions at their edges: range limits (alpha <= 64, 1 <= resolution <= 8192),
rounding rules at their thresholds, scalar and array inputs, every description error with its
exact one-line message, and the layer lists that descriptions expand to.

Expected values are worked by hand next to each assertion; the rounding rules are the published
ones: int(c * alpha) (paper, Keras), max(int(c * alpha), 8) (TF-slim min_depth=8) and
torchvision's _make_divisible(v, 8): max(8, int(v + 4) // 8 * 8), plus 8 when that is below
0.9 * v.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from costmodel.core.arch import (
    MOBILENET_V1,
    ROUNDING_RULES,
    Description,
    LayerSpec,
    check_alpha,
    check_choice,
    check_resolution,
    expand,
    get_description,
    load_description,
    min_alpha,
    parse_description,
    resolve,
    resolve_shapes,
    rho_to_resolution,
    round_divisible8,
    round_int,
    round_slim,
    same_out,
)
from costmodel.errors import CostModelError


# ---------------------------------------------------------------------------- range limits
@pytest.mark.parametrize("alpha, expected", [(64, 64.0), ("0.5", 0.5), (1e-9, 1e-9)])
def test_alpha_accepted_up_to_64(alpha, expected):
    a = check_alpha(alpha)
    assert a == expected and isinstance(a, float)


@pytest.mark.parametrize("alpha, message", [
    # a percent typed for alpha (up to 150): 64.5 / 100 = 0.645, 150 / 100 = 1.5
    (64.5, "alpha 64.5 is out of range (a percent? did you mean 0.645?); allowed: 0 < alpha <= 64"),
    (150, "alpha 150 is out of range (a percent? did you mean 1.5?); allowed: 0 < alpha <= 64"),
    (151, "alpha 151 is out of range; allowed: 0 < alpha <= 64"),
    (0, "alpha 0 is out of range; allowed: a finite number > 0"),
    (-0.5, "alpha -0.5 is out of range; allowed: a finite number > 0"),
    (float("inf"), "alpha inf is out of range; allowed: a finite number > 0"),
    (None, "alpha None is not a number; allowed: a finite number > 0"),
    ("x", "alpha 'x' is not a number; allowed: a finite number > 0"),
])
def test_alpha_refused(alpha, message):
    with pytest.raises(CostModelError) as e:
        check_alpha(alpha)
    assert str(e.value) == message


@pytest.mark.parametrize("res, expected", [(1, 1), (8192, 8192), (" 160 ", 160), (160.0, 160),
                                           (np.int64(96), 96)])
def test_resolution_accepted_from_1_to_8192(res, expected):
    r = check_resolution(res)
    assert r == expected and type(r) is int


@pytest.mark.parametrize("res, message", [
    (8193, "resolution 8193 is out of range; allowed: 1 to 8192"),
    (0, "resolution 0 is out of range; allowed: 1 to 8192"),
    (-5, "resolution -5 is out of range; allowed: 1 to 8192"),
    (True, "resolution True is not an integer; allowed: an integer >= 1"),
    ("1.5", "resolution '1.5' is not an integer; allowed: an integer >= 1"),
    (None, "resolution None is not an integer; allowed: an integer >= 1"),
    (float("inf"), "resolution inf is not an integer; allowed: an integer >= 1"),
    (float("nan"), "resolution nan is not an integer; allowed: an integer >= 1"),
    (127.5, "resolution 127.5 is not an integer; allowed: an integer >= 1"),
])
def test_resolution_refused(res, message):
    with pytest.raises(CostModelError) as e:
        check_resolution(res)
    assert str(e.value) == message


def test_rho():
    # round(base * rho): 224 * 0.5 = 112; a spec's base 128 * 0.5 = 64; 224 * 0.0022 = 0.49 -> 0
    assert rho_to_resolution(0.5) == 112 and rho_to_resolution("0.5", base=128) == 64
    assert rho_to_resolution(0.003) == 1  # 224 * 0.003 = 0.672 -> 1, the smallest resolution
    with pytest.raises(CostModelError) as e:
        rho_to_resolution(0.0022)
    # the smallest rho that rounds to 1: 0.5 / 224 = 0.00223214... (4 significant digits)
    assert str(e.value) == "rho 0.0022 gives resolution 0; allowed: rho >= 0.002232"
    with pytest.raises(CostModelError, match=r"allowed: rho >= 0.00025$"):  # 0.5 / 2000
        rho_to_resolution(0.0002, base=2000)  # 2000 * 0.0002 = 0.4 -> 0
    for bad, message in [(0, "rho 0 is out of range; allowed: a finite number > 0"),
                         (-1, "rho -1 is out of range; allowed: a finite number > 0"),
                         (float("nan"), "rho nan is out of range; allowed: a finite number > 0"),
                         (None, "rho None is not a number; allowed: a number > 0")]:
        with pytest.raises(CostModelError) as e:
            rho_to_resolution(bad)
        assert str(e.value) == message
    # rho below 16 is a multiplier: 224 * 15.99 = 3581.76 -> 3582; from 16 on it is pixels typed as rho
    assert rho_to_resolution(15.99) == 3582
    with pytest.raises(CostModelError) as e:
        rho_to_resolution(16, base=128)
    assert str(e.value) == ("rho 16 is out of range: rho is a fraction of the base resolution 128 "
                            "(resolution = round(128 * rho)), not pixels; allowed: 0 < rho < 16 "
                            "(for 16 px give resolution 16)")
    with pytest.raises(CostModelError, match="resolution 10000 is out of range"):
        rho_to_resolution(10, base=1000)  # 1000 * 10 = 10,000 > 8192


def test_check_choice():
    assert check_choice("rounding", "int", ["int", "slim"]) == "int"
    with pytest.raises(CostModelError) as e:
        check_choice("rounding", "up", ["int", "slim"])
    assert str(e.value) == "rounding 'up' is unknown; allowed: int, slim"


# ---------------------------------------------------------------------------- rounding rules
def test_rounding_thresholds():
    # int: 32 * 0.999 = 31.968 -> 31 (floor, not round)
    assert round_int(32, 0.999) == 31 and type(round_int(32, 0.999)) is int
    # slim: max(int(32 * 0.25) = 8, 8) = 8; max(int(32 * 0.2) = 6, 8) = 8; int(64 * 0.2) = 12
    assert round_slim(32, 0.25) == 8 and round_slim(32, 0.2) == 8 and round_slim(64, 0.2) == 12
    # make_divisible(35): int(39) // 8 * 8 = 32, and 32 >= 0.9 * 35 = 31.5: 32
    assert round_divisible8(35, 1.0) == 32
    # make_divisible(36): int(40) // 8 * 8 = 40
    assert round_divisible8(36, 1.0) == 40
    # make_divisible(3.2): int(7.2) // 8 * 8 = 0 -> max(0, 8) = 8; 8 >= 2.88: 8
    assert round_divisible8(32, 0.1) == 8
    # make_divisible(19): int(23) // 8 * 8 = 16 < 0.9 * 19 = 17.1: 16 + 8 = 24
    assert round_divisible8(19, 1.0) == 24
    assert ROUNDING_RULES["int"](32, 0.35) == 11 and ROUNDING_RULES["divisible8"](32, 0.35) == 16
    assert ROUNDING_RULES["slim"](32, 0.1) == 8


def test_rounding_rules_on_arrays():
    alphas = np.array([0.1, 0.35, 1.0])
    # int: 3.2 -> 3, 11.2 -> 11, 32; slim: 8, 11, 32; divisible8: 8, 16 (see above), 32
    for rule, want in [(round_int, [3, 11, 32]), (round_slim, [8, 11, 32]),
                       (round_divisible8, [8, 16, 32])]:
        got = rule(32, alphas)
        assert got.tolist() == want and got.dtype.kind == "i", rule.__name__
    assert same_out(np.array([224, 225, 7]), 2).tolist() == [112, 113, 4]
    assert same_out(7, 3) == 3 and same_out(6, 3) == 2 and same_out(1, 2) == 1


# ---------------------------------------------------------------------- description errors
LAYER = {"type": "conv", "out": 8}


@pytest.mark.parametrize("raw, message", [
    ([LAYER], "d: top level must be a mapping with a 'layers' list, got list"),
    ({"layers": [LAYER], "extra": 1}, "d: unknown top-level field 'extra'; allowed: base_resolution, "
                                      "blocks, defaults, input_channels, input_scale, layers, name, "
                                      "published, rounding, source, variants"),
    ({"layers": []}, "d: field 'layers' is []; allowed: a non-empty list"),
    ({"name": "x"}, "d: field 'layers' is None; allowed: a non-empty list"),
    ({"layers": [3]}, "d: layers[0] is 3; allowed: a mapping with a 'type', or a timm block string "
                      "such as 'ir_r2_k3_s2_e6_c24'"),
    ({"layers": [LAYER, {"type": "fc", "size": 3}]},
     "d: layers[1]: unknown field 'size'; allowed: act, bias, from, group, name, out, repeat, rounding, "
     "scale, type"),
    ({"layers": [{"type": "pool"}]},
     "d: layers[0]: field 'type' is 'pool'; allowed: conv, separable, dw, pw, avgpool, maxpool, fc, "
     "linear, bn, act, flatten, dropout, lrn, shuffle, add, mul, slice, residual, concat, sequence, "
     "se, ir, ds, cn, basic, bottleneck, fire, shuffle_unit"),
    ({"layers": [{"type": "conv", "out": 8, "kernel": 0}]},
     "d: layers[0]: field 'kernel' is 0; allowed: an integer >= 1, or a pair [height, width] of them"),
    ({"layers": [{"type": "conv", "out": 8, "stride": True}]},
     "d: layers[0]: field 'stride' is True; allowed: an integer >= 1, or a pair [height, width] of them"),
    ({"layers": [{"type": "conv", "out": 8, "repeat": -1}]},
     "d: layers[0]: field 'repeat' is -1; allowed: an integer >= 0"),
    ({"layers": [{"type": "conv", "out": 0}]}, "d: layers[0]: field 'out' is 0; allowed: an integer >= 1"),
    ({"layers": [{"type": "pw"}]}, "d: layers[0]: type 'pw' needs field 'out' (output channels)"),
    ({"layers": [{"type": "separable"}]},
     "d: layers[0]: type 'separable' needs field 'out' (output channels)"),
    ({"layers": [{"type": "dw", "out": 8}]},
     "d: layers[0]: type 'dw' takes no field 'out' (its width follows its input or the class count)"),
    ({"layers": [{"type": "conv", "out": 8, "scale": 1}]},
     "d: layers[0]: field 'scale' is 1; allowed: true, false or grow"),
    ({"layers": [{"type": "conv", "out": 8, "group": 1}]},
     "d: layers[0]: field 'group' is 1; allowed: a string"),
    ({"layers": [LAYER], "variants": [1]},
     "d: field 'variants' is [1]; allowed: a mapping of name -> {drop_groups: [...]}"),
    ({"layers": [LAYER], "variants": {"full_conv": {}}},
     "d: variant name 'full_conv' is built in; choose another"),
    ({"layers": [LAYER], "variants": {"v": {"keep": []}}},
     "d: variants: field 'v' is {'keep': []}; allowed: {drop_groups: [group, ...]}"),
    ({"layers": [LAYER], "variants": {"v": [1]}},
     "d: variants: field 'v' is [1]; allowed: {drop_groups: [group, ...]}"),
    ({"layers": [{"type": "conv", "out": 8, "group": "a"}], "variants": {"v": {"drop_groups": ["b"]}}},
     "d: variant 'v' drops group 'b', which no layer has; groups: ['a']"),
    ({"layers": [LAYER], "input_scale": "yes"}, "d: field 'input_scale' is 'yes'; allowed: true or false"),
    ({"layers": [LAYER], "input_channels": 0}, "d: field 'input_channels' is 0; allowed: an integer >= 1"),
    ({"layers": [LAYER], "base_resolution": 1.5},
     "d: field 'base_resolution' is 1.5; allowed: an integer >= 1"),
    ({"layers": [LAYER], "rounding": "x"}, "d: field 'rounding' is 'x'; allowed: int, slim, divisible8"),
    ({"layers": [LAYER], "published": 5},
     "d: field 'published' is 5; allowed: a list of {figure, value, source, ...}"),
    ({"layers": [LAYER], "published": [5]},
     "d: field 'published' is [5]; allowed: a list of {figure, value, source, ...}"),
    ({"layers": [LAYER], "published": [{"figure": "params", "value": 1}]},  # no source
     "d: field 'published' is [{'figure': 'params', 'value': 1}]; allowed: a list of {figure, "
     "value, source, ...}"),
    ({"layers": [LAYER], "published": [{"figure": "params", "value": True, "source": "s"}]},
     "d: field 'published' is [{'figure': 'params', 'source': 's', 'value': True}]; allowed: a list "
     "of {figure, value, source, ...}"),
    ({"layers": [LAYER], "published": [{"figure": "params", "value": "1", "source": "s"}]},
     "d: field 'published' is [{'figure': 'params', 'source': 's', 'value': '1'}]; allowed: a list "
     "of {figure, value, source, ...}"),
    ({"layers": [LAYER], "source": 5}, "d: field 'source' is 5; allowed: a string"),
])
def test_description_errors(raw, message):
    with pytest.raises(CostModelError) as e:
        parse_description(raw, "d")
    assert str(e.value) == message


def test_description_defaults_and_fields():
    d = parse_description({"layers": [LAYER]})
    assert (d.name, d.input_channels, d.base_resolution, d.input_scale) == ("custom", 3, 224, False)
    assert d.variants == {} and d.layers == ({"type": "conv", "out": 8},)
    d = parse_description({"name": 7, "input_channels": 512, "base_resolution": 14, "input_scale": True,
                           "layers": [{"type": "separable", "out": 8, "repeat": 0, "group": "g"}],
                           "variants": {"v": {"drop_groups": ["g"]}, "w": {}}})
    assert (d.name, d.input_channels, d.base_resolution, d.input_scale) == ("7", 512, 14, True)
    assert d.variants == {"v": {"drop_groups": ["g"]}, "w": {}}
    assert parse_description({"layers": [LAYER], "variants": None}).variants == {}
    # rounding, source and published: defaults, and carried as given; size: layers expanded
    assert (d.rounding, d.source, d.published, d.size) == ("int", "", (), 0)
    pub = {"figure": "params", "value": 1.5, "source": "s", "convention": "fvcore"}
    bare = {"figure": "params", "value": 2, "source": "s"}  # the three needed keys, no more
    d = parse_description({"layers": [{"type": "separable", "out": 8, "repeat": 3}],
                           "rounding": "slim", "source": "Table 1", "published": [pub, bare]})
    assert (d.rounding, d.source, d.published, d.size) == ("slim", "Table 1", (pub, bare), 6)
    with pytest.raises(CostModelError, match=r"^description: field 'layers'"):
        parse_description({"layers": None})  # the default source name


def test_get_description_sources(tmp_path):
    builtin = get_description()
    assert builtin.name == "mobilenet_v1" and builtin.base_resolution == 224
    assert get_description("mobilenet_v1") == builtin
    assert get_description(builtin) is builtin
    assert get_description({"layers": [LAYER]}).name == "custom"
    p = tmp_path / "net.YML"  # suffixes are case-insensitive
    p.write_text("name: n\nlayers:\n  - {type: conv, out: 8}\n")
    assert get_description(p).name == "n" and get_description(str(p)).layers == ({"type": "conv",
                                                                                  "out": 8},)
    assert MOBILENET_V1["name"] == "mobilenet_v1"


def test_load_description_errors(tmp_path):
    missing = tmp_path / "none.json"
    with pytest.raises(CostModelError) as e:
        load_description(missing)
    assert str(e.value) == (f"spec file {str(missing)!r} does not exist or is not a file; "
                            "allowed: a readable .json, .yaml or .yml file")
    with pytest.raises(CostModelError, match="does not exist or is not a file"):
        load_description(tmp_path)  # a directory
    bad = tmp_path / "latin.json"
    bad.write_bytes(b'{"name": "\xe9"}')
    with pytest.raises(CostModelError, match=r"cannot be read as UTF-8 text"):
        load_description(bad)
    j = tmp_path / "bad.json"
    j.write_text('{\n  "layers": [,]\n}')
    with pytest.raises(CostModelError) as e:
        load_description(j)
    assert str(e.value).startswith(f"spec file {str(j)!r}: invalid JSON at line 2, column 14: ")
    y = tmp_path / "bad.yaml"
    y.write_text("layers:\n  - {type: conv, out: 8\n")
    with pytest.raises(CostModelError) as e:
        load_description(y)
    assert str(e.value).startswith(f"spec file {str(y)!r}: invalid YAML at line 3, column 1: ")
    t = tmp_path / "net.txt"
    t.write_text("{}")
    with pytest.raises(CostModelError) as e:
        load_description(t)
    assert str(e.value) == f"spec file {str(t)!r} has suffix '.txt'; allowed: .json, .yaml, .yml"
    ok = tmp_path / "ok.JSON"
    ok.write_text(json.dumps({"layers": [LAYER]}))
    assert load_description(ok).layers == ({"type": "conv", "out": 8},)
    # the file's path is the source named in its field errors
    f = tmp_path / "f.json"
    f.write_text(json.dumps({"layers": [{"type": "conv"}]}))
    with pytest.raises(CostModelError) as e:
        load_description(f)
    assert str(e.value) == f"{f}: layers[0]: type 'conv' needs field 'out' (output channels)"


# ------------------------------------------------------------------------- expanded layers
SPEC = {"name": "mine", "layers": [
    {"type": "conv", "kernel": 5, "stride": 2, "out": 16, "scale": False},
    {"type": "dw", "stride": 2}, {"type": "pw", "stride": 2, "out": 24},
    {"type": "separable", "kernel": 5, "out": 32, "repeat": 2, "group": "mid"},
    {"type": "separable", "out": 40, "repeat": 0},
    {"type": "avgpool"}, {"type": "fc"}],
    "variants": {"short": {"drop_groups": ["mid"]}}}


def test_expand_names_kinds_and_variants():
    d = get_description(SPEC)
    specs = expand(d)
    assert specs == [
        LayerSpec("conv1", "conv", 5, 2, 16, False), LayerSpec("conv_dw_1", "dw", 3, 2, None, True),
        LayerSpec("conv_pw_2", "pw", 1, 2, 24, True),
        LayerSpec("conv_dw_3", "dw", 5, 1, None, True), LayerSpec("conv_pw_3", "pw", 1, 1, 32, True),
        LayerSpec("conv_dw_4", "dw", 5, 1, None, True), LayerSpec("conv_pw_4", "pw", 1, 1, 32, True),
        LayerSpec("avg_pool", "avgpool", 0, 1, None, False), LayerSpec("fc", "fc", 1, 1, None, False)]
    assert expand(d, "mine") == expand(d, "base") == expand(d, "mobilenet_v1") == specs
    assert [s.name for s in expand(d, "short")] == ["conv1", "conv_dw_1", "conv_pw_2", "avg_pool", "fc"]
    # full_conv: each separable pair becomes one kxk conv with the pair's stride and width
    assert expand(d, "full_conv")[3:5] == [LayerSpec("conv2", "conv", 5, 1, 32, True),
                                           LayerSpec("conv3", "conv", 5, 1, 32, True)]
    with pytest.raises(CostModelError) as e:
        expand(d, "long")
    assert str(e.value) == "variant 'long' is unknown; allowed: mobilenet_v1, full_conv, short"


def test_expand_names_repeated_ops_and_refuses_repeated_names():
    # a second pool or fc is numbered (VGG has three linear layers); explicit names must differ
    d = get_description({"name": "two", "layers": [LAYER, {"type": "avgpool"}, {"type": "fc"},
                                                   {"type": "fc"}]})
    assert [s.name for s in expand(d)] == ["conv1", "avg_pool", "fc", "fc2"]
    d = get_description({"name": "two", "layers": [{**LAYER, "name": "a"}, {**LAYER, "name": "a"}]})
    with pytest.raises(CostModelError) as e:
        expand(d)
    assert str(e.value) == "description 'two': layer name 'a' repeats; allowed: unique layer names"


def test_resolve_shapes_of_a_spec():
    layers = resolve(get_description(SPEC), alpha=0.5, resolution=33, classes=7)
    # conv1 unscaled (scale: false): 16 channels, ceil(33/2) = 17; dw s2: 16 ch, ceil(17/2) = 9;
    # pw s2: int(24 * 0.5) = 12, ceil(9/2) = 5; pairs: int(32 * 0.5) = 16 at 5; pool 1; fc 7
    assert [(x.in_channels, x.out_channels, x.in_size, x.out_size) for x in layers] == [
        (3, 16, 33, 17), (16, 16, 17, 9), (16, 12, 9, 5), (12, 12, 5, 5), (12, 16, 5, 5),
        (16, 16, 5, 5), (16, 16, 5, 5), (16, 16, 5, 1), (16, 7, 1, 1)]
    assert [x.index for x in layers] == list(range(9))
    assert [x.groups for x in layers] == [1, 16, 1, 12, 1, 16, 1, 1, 1]
    assert (layers[0].kernel, layers[0].stride, layers[2].stride) == (5, 2, 2)


def test_input_scale_and_array_shapes():
    frag = get_description({"input_channels": 512, "input_scale": True,
                            "layers": [{"type": "separable", "out": 512}]})
    # alpha 0.75 thins the input too: 384 -> dw 384 -> pw 384
    assert [(x.in_channels, x.out_channels) for x in resolve(frag, alpha=0.75, resolution=14)] == [
        (384, 384), (384, 384)]
    specs = expand(get_description(SPEC))
    arr = resolve_shapes(specs, np.array([0.5, 1.0]), np.array([33, 64]), "int", 7, 3)
    assert arr[2].out_channels.tolist() == [12, 24] and arr[2].out_size.tolist() == [5, 8]
    assert arr[-1].out_size.tolist() == [1, 1] and arr[-1].out_channels == 7
    assert arr[0].in_channels == 3  # input_scale defaults to false: the 3 input channels stay


def test_min_alpha():
    specs = expand(get_description())
    # the narrowest scaled layer is conv1 (32): 1/32 keeps one channel under int rounding
    assert min_alpha(specs, "int") == 1 / 32
    assert min_alpha(specs, "slim") == 0.0 and min_alpha(specs, "divisible8") == 0.0
    unscaled = expand(get_description({"layers": [{"type": "conv", "out": 8, "scale": False}]}))
    assert min_alpha(unscaled, "int") == 0.0
    with pytest.raises(CostModelError) as e:
        resolve(alpha=1 / 33)  # int(32 / 33) = 0 channels in conv1
    assert str(e.value) == (f"alpha {1 / 33!r} gives layer conv1 0 channels under rounding 'int'; "
                            "allowed: alpha >= 0.03125")
    assert resolve(alpha=1 / 32)[0].out_channels == 1


@pytest.mark.parametrize("classes", [0, True, 2.0, "10"])
def test_resolve_classes(classes):
    with pytest.raises(CostModelError) as e:
        resolve(classes=classes)
    assert str(e.value) == f"classes {classes!r} is out of range; allowed: an integer >= 1"


def test_resolve_default_description():
    layers = resolve()
    assert len(layers) == 1 + 2 * 13 + 2 and layers[-1].out_channels == 1000
    assert resolve(None, classes=1)[-1].out_channels == 1
    assert isinstance(get_description(), Description)


# -------------------------------------------------------------- found by mutation testing
def test_load_description_errors_name_the_file(tmp_path):
    """Every file error names the file (str(p) -> str(None) survived), and a YAML error without
    a position (the reader's: a control character) still gives its reason."""
    ctl = tmp_path / "ctl.yaml"
    ctl.write_text("layers:\n  - {type: conv, out: 8}\x07\n")
    with pytest.raises(CostModelError) as e:
        load_description(ctl)
    # 32 characters before the BEL: "layers:\n" (8) + "  - {type: conv, out: 8}" (24)
    assert str(e.value) == (f"spec file {str(ctl)!r}: invalid YAML: unacceptable character "
                            "#x0007: special characters are not allowed in \"<unicode string>\", "
                            "position 32")
    y = tmp_path / "bad.yaml"
    y.write_text("layers:\n  - {type: conv, out: 8\n")
    with pytest.raises(CostModelError) as e:
        load_description(y)  # the problem alone, not yaml's multi-line str(exc)
    assert str(e.value) == (f"spec file {str(y)!r}: invalid YAML at line 3, column 1: expected "
                            "',' or '}', but got '<stream end>'")
    bad = tmp_path / "latin.json"
    bad.write_bytes(b'{"name": "\xe9"}')
    with pytest.raises(CostModelError) as e:
        load_description(bad)
    assert str(e.value).startswith(f"spec file {str(bad)!r} cannot be read as UTF-8 text: ")
    from costmodel.core.arch import MAX_SPEC_BYTES

    big = tmp_path / "big.json"
    big.write_text(" " * (MAX_SPEC_BYTES + 1))
    with pytest.raises(CostModelError) as e:
        load_description(big)
    assert str(e.value) == (f"spec file {str(big)!r} is {MAX_SPEC_BYTES + 1} bytes; allowed: at "
                            f"most {MAX_SPEC_BYTES} bytes")


def test_load_description_too_deep_for_the_reader(tmp_path):
    """JSON nested past the interpreter's recursion limit is refused in one line, naming the
    file (json.loads raises RecursionError: 200,000 levels, 400 kB, under MAX_SPEC_BYTES)."""
    deep = tmp_path / "deep.json"
    deep.write_text('{"layers": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(CostModelError) as e:
        load_description(deep)
    assert str(e.value) == (f"spec file {str(deep)!r}: nesting is too deep to read; allowed: at "
                            "most 16 levels of blocks")


def test_builtin_description_by_name():
    from costmodel.core.arch import BUILTIN_NAMES, builtin_description

    assert builtin_description("mobilenet_v1") == get_description()
    assert builtin_description("resnet18").name == "resnet18"
    with pytest.raises(CostModelError) as e:
        builtin_description("vgg17")
    assert str(e.value) == f"model 'vgg17' is unknown; allowed: {', '.join(BUILTIN_NAMES)}"


def test_resolve_defaults_resolution_224_and_the_descriptions_rounding():
    # conv1 (3x3, stride 2, TF SAME) at the default resolution 224: ceil(224 / 2) = 112
    first = resolve()[0]
    assert (first.in_size, first.out_size) == (224, 112)
    # rounding=None: the description's own rule. divisible8 of 20 * 0.5 = 10:
    # max(8, int(10 + 4) // 8 * 8) = 8, below 0.9 * 10, so 8 + 8 = 16; int rounding gives 10
    d = get_description({"rounding": "divisible8", "layers": [{"type": "conv", "out": 20}]})
    assert resolve(d, alpha=0.5, rounding=None)[0].out_channels == 16
    assert resolve(d, alpha=0.5)[0].out_channels == 10


def test_network_key_is_the_name_and_a_digest_of_each_part_of_the_content(tmp_path):
    """network_key: sha1 of the JSON of [input_channels, base_resolution, input_scale, layers,
    variants, rounding] (sorted keys), its first 8 hex digits after the name; each part changes
    it, the name alone and key order do not enter the digest."""
    import hashlib

    from costmodel.core.arch import network_key, network_option

    base = {"name": "n", "layers": [{"type": "conv", "out": 8, "group": "g"}]}
    body = json.dumps([3, 224, False, [{"type": "conv", "out": 8, "group": "g"}], {}, "int"],
                      sort_keys=True)
    assert network_key(base) == "n-" + hashlib.sha1(body.encode()).hexdigest()[:8]
    assert network_key({"layers": base["layers"], "name": "n"}) == network_key(base)
    assert network_key({**base, "name": "m"}).endswith(network_key(base)[1:])
    edits = [{"input_channels": 1}, {"base_resolution": 96}, {"input_scale": True},
             {"layers": [{"type": "conv", "out": 9, "group": "g"}]}, {"rounding": "slim"},
             {"variants": {"v": {"drop_groups": ["g"]}}}]
    keys = {network_key({**base, **e}) for e in edits} | {network_key(base)}
    assert len(keys) == len(edits) + 1
    p = tmp_path / "n.json"
    p.write_text(json.dumps(base))
    assert network_key(p) == network_key(str(p)) == network_key(base)  # a file: its content
    assert network_key(None) == network_key("mobilenet_v1") == "mobilenet_v1"
    assert network_key("resnet18") == "resnet18"
    assert network_option() == network_option("mobilenet_v1") == "--model mobilenet_v1"
    assert network_option("resnet18") == "--model resnet18"
    assert network_option(p) == network_option(str(p)) == f"--spec {p}"
    assert network_option(base) == ""


def test_expand_refuses_a_hand_built_description_over_the_size_limit():
    from dataclasses import replace

    from costmodel.core.grammar import MAX_LAYERS

    big = replace(get_description({"name": "big", "layers": [LAYER]}), size=MAX_LAYERS + 1)
    with pytest.raises(CostModelError) as e:
        expand(big)
    assert str(e.value) == (f"big: the description expands to {MAX_LAYERS + 1} or more layers "
                            f"(repeats multiplied out); allowed: at most {MAX_LAYERS}")
    assert len(expand(replace(big, size=MAX_LAYERS))) == 1  # the limit itself passes


def test_canonical_variant_names_a_networks_own_layers_once():
    """The network's own layer list has one stored name (BASE_VARIANT) however it is asked for,
    so `bench --model mobilenet_v2 --variant mobilenet_v2` stores rows that every reader (which
    defaults to mobilenet_v1) finds; other variants keep their names."""
    import argparse

    from costmodel.cli._common import config_kwargs
    from costmodel.core.arch import BASE_VARIANT, canonical_variant

    d = get_description(SPEC)  # its name is "mine"
    assert BASE_VARIANT == "mobilenet_v1"
    for asked in ("mine", "base", "mobilenet_v1"):
        assert canonical_variant(d, asked) == BASE_VARIANT
    assert canonical_variant(d, "short") == "short"
    assert canonical_variant(d, "full_conv") == "full_conv"
    with pytest.raises(CostModelError, match="variant 'long' is unknown; allowed: mobilenet_v1, "
                                             "full_conv, short"):
        canonical_variant(d, "long")
    args = argparse.Namespace(spec="mobilenet_v2", variant="mobilenet_v2", rounding=None,
                              convention="paper", classes="1000")
    assert config_kwargs(args)["variant"] == BASE_VARIANT
    args.variant = "full_conv"
    assert config_kwargs(args)["variant"] == "full_conv"
