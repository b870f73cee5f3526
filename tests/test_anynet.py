"""Any network: the extended grammar (torch-style padding, dilation, non-square kernels, groups,
pools, composites, block macros, templates), its lowering to a DAG of typed layers, the counts,
and bounded refusal of bad or hostile descriptions.

Expected values are worked by hand beside each assertion from the output-size rule
out = floor((in + 2p - d(k-1) - 1) / s) + 1 (torch; ceil_mode takes the ceiling) and the conv
count k_h*k_w*(C_in/groups)*C_out*H_out*W_out.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest

from costmodel.core.arch import expand, get_description, parse_description, resolve
from costmodel.core.engine import layer_table, peak_activation_bytes
from costmodel.core.grammar import MAX_DEPTH, MAX_LAYERS
from costmodel.core.kinds import Kind, LayerType
from costmodel.core.sweep import sweep
from costmodel.errors import CostModelError

PRIMS = {"name": "prims", "layers": [
    {"type": "conv", "kernel": 3, "stride": 2, "padding": 0, "out": 8},
    {"type": "conv", "kernel": [1, 3], "padding": [0, 1], "out": 8},
    {"type": "conv", "kernel": 3, "dilation": 2, "padding": 2, "groups": 2, "out": 8},
    {"type": "maxpool", "kernel": 3, "stride": 2, "ceil_mode": True},
    {"type": "avgpool", "output": 2},
    {"type": "flatten"},
    {"type": "fc"},
]}


def test_primitive_ops_shapes_and_counts():
    t = layer_table(1.0, 17, spec=PRIMS, classes=10)
    shapes = [(r["in_shape"], r["out_shape"]) for r in t.rows]
    assert shapes == [
        ((17, 17, 3), (8, 8, 8)),  # floor((17 - 3) / 2) + 1 = 8
        ((8, 8, 8), (8, 8, 8)),  # 1x3, padding (0, 1): floor((8 + 2 - 3) / 1) + 1 = 8 wide
        ((8, 8, 8), (8, 8, 8)),  # dilation 2, padding 2: floor((8 + 4 - 4 - 1) / 1) + 1 = 8
        ((8, 8, 8), (4, 4, 8)),  # ceil((8 - 3) / 2) + 1 = 4 (3 without ceil_mode)
        ((4, 4, 8), (2, 2, 8)),  # adaptive to 2x2
        ((2, 2, 8), (1, 1, 32)),  # flatten: 8 * 2 * 2
        ((1, 1, 32), (1, 1, 10)),
    ]
    assert [r["type"] for r in t.rows] == [
        LayerType(Kind.CONV, 3), LayerType(Kind.CONV, 1, 3), LayerType(Kind.GCONV, 3),
        LayerType(Kind.MAXPOOL, 3), LayerType(Kind.AVGPOOL, 0), LayerType(Kind.FLATTEN, 0),
        LayerType(Kind.FC, 0)]
    # paper: 9*3*8 * 64 = 13,824; 1*3*8*8 * 64 = 12,288; grouped 9*(8/2)*8 * 64 = 18,432; fc 320
    assert [r["mult_adds"] for r in t.rows] == [13824, 12288, 18432, 0, 0, 0, 320]
    assert t.totals["params"] == 216 + 192 + 288 + 320
    fv = layer_table(1.0, 17, spec=PRIMS, classes=10, convention="fvcore")
    # + BN 2 * 512 on each conv, the adaptive pool 1 * 4*4*8 = 128 inputs (max pool: none)
    assert fv.totals["mult_adds"] == 44864 + 3 * 1024 + 128
    # + BN 2 * 8 per conv, fc bias 10
    assert fv.totals["params"] == 1016 + 48 + 10
    assert resolve(get_description(PRIMS), resolution=17, classes=10)[3].out_size == 4
    no_ceil = {**PRIMS, "layers": [*PRIMS["layers"][:3], {"type": "maxpool", "kernel": 3,
                                                          "stride": 2}]}
    assert resolve(get_description(no_ceil), resolution=17)[3].out_size == 3


def test_resolution_too_small_is_refused_naming_the_layer():
    with pytest.raises(CostModelError) as e:
        layer_table(1.0, 2, spec=PRIMS)
    assert str(e.value) == ("layer conv1: alpha 1, resolution 2 gives it an output smaller than "
                            "1x1; allowed: a resolution at which every layer's output is at "
                            "least 1x1")


def test_groups_that_no_longer_divide_are_refused():
    spec = {"layers": [{"type": "conv", "out": 8}, {"type": "conv", "groups": 4, "out": 16}]}
    assert layer_table(0.5, 8, spec=spec).rows[1]["in_channels"] == 4  # 4 and 8 divide by 4
    with pytest.raises(CostModelError) as e:
        layer_table(0.75, 8, spec=spec)  # int(8 * 0.75) = 6 input channels
    assert str(e.value) == ("layer conv2: 4 groups do not divide its input and output channels at "
                            "alpha 0.75, resolution 8; allowed: an alpha and rounding that keep "
                            "both multiples of 4")


RES = {"layers": [{"type": "conv", "out": 8},
                  {"type": "residual", "body": [{"type": "conv", "out": 8},
                                                {"type": "conv", "out": 8}]}]}


def test_residual_dag_and_peak():
    layers = resolve(get_description(RES), resolution=8)
    assert [lay.name for lay in layers] == ["conv1", "residual1.conv1", "residual1.conv2",
                                            "residual1.add"]
    assert [lay.inputs for lay in layers] == [(-1,), (0,), (1,), (2, 0)]
    # live: conv1 192 in + 512; r.conv1 512 + 512; r.conv2 512 + 512 + conv1's 512 (held for the
    # add); add 512 + 512 + 512. A chain rule (input + output) would say 1,024.
    assert peak_activation_bytes(layers) == 1536 * 4
    bad = {"layers": [{"type": "conv", "out": 8},
                      {"type": "residual", "body": [{"type": "conv", "out": 16}]}]}
    with pytest.raises(CostModelError) as e:
        resolve(get_description(bad), resolution=8)
    assert str(e.value) == ("layer residual1.add: residual add of unequal shapes at alpha 1, "
                            "resolution 8 (8x8x16 and 8x8x8); allowed: equal shapes (tie a body's "
                            "last width to its input with out: same)")
    tied = {"layers": [{"type": "conv", "out": 10},
                       {"type": "residual", "body": [{"type": "conv", "out": 4},
                                                     {"type": "conv", "out": "same"}]}]}
    # int(10 * 0.3) = 3: the tied conv follows its block's input (3), not int(4 * 0.3) = 1
    assert resolve(get_description(tied), alpha=0.3, resolution=8)[2].out_channels == 3


def test_sweep_of_a_dag_equals_each_config():
    spec = {"layers": [{"type": "conv", "kernel": 3, "stride": 2, "padding": 1, "out": 16},
                       "ir_r2_k3_s2_e6_c24_se0.25", {"type": "shuffle_unit", "out": 48},
                       {"type": "avgpool"}, {"type": "fc"}]}
    s = sweep([0.5, 1.0], [96, 131], spec=spec, convention="fvcore")
    for i, a in enumerate([0.5, 1.0]):
        for j, r in enumerate([96, 131]):
            t = layer_table(a, r, spec=spec, convention="fvcore")
            assert s.mult_adds[i, j] == t.totals["mult_adds"]
            assert s.params[i, j] == t.totals["params"]
            assert s.peak_activation_bytes[i, j] == t.totals["peak_activation_bytes"]


def test_se_squeeze_widths():
    def se_width(**se):
        spec = {"input_channels": 16, "layers": [{"type": "ir", "expand": 4, "out": 16, "se": 0.25,
                                                  **se}]}
        return next(x.out_channels for x in resolve(get_description(spec), resolution=8)
                    if x.name.endswith("se.reduce"))

    # expanded 16 * 4 = 64: a quarter of it is 16; of the block's input 16 it is 4; torchvision's
    # make_divisible(4, 8) = 8
    assert se_width() == 16
    assert se_width(se_of="block") == 4
    assert se_width(se_of="block", se_round="divisible8") == 8


def test_scale_grow_never_thins():
    spec = {"layers": [{"type": "conv", "out": 1280, "kernel": 1, "scale": "grow"}]}
    assert resolve(get_description(spec), alpha=0.5, resolution=4)[0].out_channels == 1280
    # make_divisible(1280 * 1.4, 8) = 1792
    assert resolve(get_description(spec), alpha=1.4, resolution=4,
                   rounding="divisible8")[0].out_channels == 1792


def test_timm_block_string_and_macro_stride():
    d = get_description({"input_channels": 16, "layers": ["ir_r2_k5_s2_e6_c24_se0.25_nre"]})
    specs = expand(d)
    # first copy: stride 2 (no skip), second: stride 1 and 24 -> 24 (a residual add)
    dws = [s for s in specs if s.kind == Kind.DW]
    assert [(s.kernel, s.stride, s.act) for s in dws] == [(5, 2, "relu"), (5, 1, "relu")]
    assert [s.name for s in specs if s.kind == Kind.ADD] == ["ir2.add"]
    with pytest.raises(CostModelError) as e:
        get_description({"layers": ["ir_r1_k3_x2_c8"]})
    assert str(e.value) == ("description: layers[0]: block string 'ir_r1_k3_x2_c8' has unknown "
                            "option 'x2'; allowed: <ir|ds|dsa|cn>_r<N>_k<K>_s<S>_e<E>_c<C>"
                            "[_se<R>][_nre|_nr6|_nhs|_nsw][_noskip], e.g. ir_r2_k3_s2_e6_c24")


def test_templates_with_parameters():
    spec = {"blocks": {"pair": {"params": {"w": None, "k": 3},
                                "layers": [{"type": "conv", "kernel": "$k", "out": "$w"},
                                           {"type": "conv", "out": "$w"}]}},
            "layers": [{"type": "pair", "w": 8}, {"type": "pair", "w": 16, "k": 5}]}
    layers = resolve(get_description(spec), resolution=8)
    assert [(x.name, x.kernel, x.out_channels) for x in layers] == [
        ("pair1.conv1", 3, 8), ("pair1.conv2", 3, 8), ("pair2.conv1", 5, 16), ("pair2.conv2", 3, 16)]
    with pytest.raises(CostModelError, match=r"block template 'pair' needs field\(s\) w$"):
        get_description({**spec, "layers": [{"type": "pair"}]})


# ----------------------------------------------------------------------- bounded bad input
def _bounded(fn, seconds=10.0, megabytes=20):
    """Run fn, expecting a CostModelError, within a time and memory bound; return its message.
    Expanding any of these descriptions would take minutes and gigabytes (10^8 layers); the
    bounds leave room for a loaded machine (tracemalloc slows Python down several times)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(CostModelError) as e:
            fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - t0 < seconds and peak < megabytes * 2 ** 20
    return str(e.value)


def test_huge_repeat_refused_before_expanding():
    msg = _bounded(lambda: get_description({"layers": [{"type": "separable", "out": 8,
                                                        "repeat": 100_000_000}]}))
    assert msg == (f"description: the description expands to 200000000 or more layers (repeats "
                   f"multiplied out); allowed: at most {MAX_LAYERS}")
    # inside a timm string, and at the limit itself: 20,000 convs pass, 20,001 do not
    # a macro counts its largest expansion (ir: 8 layers with SE and residual add)
    assert "800000000 or more" in _bounded(lambda: get_description(
        {"layers": ["ir_r100000000_k3_s1_e1_c8"]}))
    assert get_description({"layers": [{"type": "conv", "out": 8, "repeat": MAX_LAYERS}]}).size \
        == MAX_LAYERS
    with pytest.raises(CostModelError, match="expands to 20001 or more layers"):
        get_description({"layers": [{"type": "conv", "out": 8, "repeat": MAX_LAYERS + 1}]})


def test_template_bomb_and_yaml_alias_bomb(tmp_path):
    # ten references per level, eight levels: 10^8 layers if expanded; refused from the sizes
    blocks = {"t0": {"layers": [{"type": "conv", "out": 8}]}}
    for i in range(1, 9):
        blocks[f"t{i}"] = {"layers": [{"type": f"t{i - 1}"}] * 10}
    msg = _bounded(lambda: get_description({"blocks": blocks, "layers": [{"type": "t8"}]}))
    assert "expands to" in msg and f"at most {MAX_LAYERS}" in msg
    lines = ["layers:", "  - &l0 {type: sequence, layers: [{type: conv, out: 8}]}"]
    lines += [f"  - &l{i} {{type: sequence, layers: [{', '.join([f'*l{i - 1}'] * 10)}]}}"
              for i in range(1, 9)]
    p = tmp_path / "bomb.yaml"
    p.write_text("\n".join(lines) + "\n")
    assert "expands to" in _bounded(lambda: get_description(p), seconds=30)


def test_cycle_depth_unknown_op_and_fields():
    cyc = {"blocks": {"a": {"layers": [{"type": "b"}]}, "b": {"layers": [{"type": "a"}]}},
           "layers": [{"type": "a"}]}
    assert _bounded(lambda: get_description(cyc)).endswith(
        "block template 'a' refers to itself (a -> b -> a); allowed: templates without cycles")
    deep: dict = {"type": "conv", "out": 8}
    for _ in range(MAX_DEPTH + 2):
        deep = {"type": "sequence", "layers": [deep]}
    assert f"nesting is deeper than {MAX_DEPTH} levels" in _bounded(
        lambda: get_description({"layers": [deep]}))
    assert _bounded(lambda: get_description({"layers": [{"type": "lstm"}]})).startswith(
        "description: layers[0]: field 'type' is 'lstm'; allowed: conv, separable, dw, pw,")
    assert _bounded(lambda: get_description({"layers": [{"type": "maxpool", "kernel": 3,
                                                         "window": 2}]})) == (
        "description: layers[0]: unknown field 'window'; allowed: ceil_mode, from, group, kernel, name, "
        "output, padding, repeat, scale, stride, type")
    selfref: dict = {"type": "sequence"}
    selfref["layers"] = [selfref]
    assert "nesting is deeper" in _bounded(lambda: get_description({"layers": [selfref]}))


def test_hostile_file_is_one_line_exit_2(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    r = subprocess.run([sys.executable, "-m", "costmodel", "table", "--spec", str(p)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("costmodel: error: spec file ")
    big = {"layers": [{"type": "conv", "out": 8, "repeat": 100_000_000}]}
    q = tmp_path / "big.json"
    q.write_text(__import__("json").dumps(big))
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "costmodel", "table", "--spec", str(q)],
                       capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - t0 < 30 and r.returncode == 2
    assert r.stderr == (f"costmodel: error: {q}: the description expands to 100000000 or more "
                        f"layers (repeats multiplied out); allowed: at most {MAX_LAYERS}\n")


PAIR = ", or a pair [height, width] of them"  # kernel, stride and padding take pairs


def test_parse_description_still_rejects_bad_values():
    with pytest.raises(CostModelError, match=r"field 'padding' is -1; allowed: an integer >= 0"):
        parse_description({"layers": [{"type": "conv", "out": 8, "padding": -1}]})
    with pytest.raises(CostModelError, match=r"field 'act' is 'gelu2'; allowed: relu, relu6,"):
        parse_description({"layers": [{"type": "conv", "out": 8, "act": "gelu2"}]})
    with pytest.raises(CostModelError, match=r"a pool takes 'kernel' \(a window\) or 'output'"):
        parse_description({"layers": [{"type": "avgpool", "kernel": 2, "output": 1}]})
    assert np.all(sweep([1.0], [17], spec=PRIMS, classes=10).mult_adds == 44864)


def test_graph_form_equals_the_composite_form():
    """`from` names the producers (what `costmodel import` writes from a traced graph): a
    residual block written as a graph counts and peaks exactly as the `residual` composite."""
    graph = {"layers": [{"type": "conv", "out": 8, "name": "a"},
                        {"type": "conv", "out": 8, "name": "b"},
                        {"type": "conv", "out": 8, "name": "c"},
                        {"type": "add", "from": ["c", "a"], "act": "relu", "name": "sum"},
                        {"type": "slice", "from": "sum", "part": 1, "parts": 2, "name": "half"},
                        {"type": "concat", "from": ["half", "a", "input"], "name": "cat"}]}
    composite = {"layers": [{"type": "conv", "out": 8},
                            {"type": "residual", "body": [{"type": "conv", "out": 8},
                                                          {"type": "conv", "out": 8}],
                             "act": "relu"}]}
    g = layer_table(0.5, 16, spec=graph, convention="fvcore")
    c = layer_table(0.5, 16, spec=composite, convention="fvcore")
    assert g.totals["mult_adds"] == c.totals["mult_adds"] and g.totals["params"] == c.totals["params"]
    layers = resolve(get_description(graph), alpha=0.5, resolution=16)
    assert [x.inputs for x in layers] == [(-1,), (0,), (1,), (2, 0), (3,), (4,), (5, 0, -1)]
    # alpha 0.5: 4 channels; the slice keeps half of the sum (2), the concat 2 + 4 + 3 inputs
    assert [x.out_channels for x in layers] == [4, 4, 4, 4, 4, 2, 9]
    assert peak_activation_bytes(layers[:5]) == peak_activation_bytes(
        resolve(get_description(composite), alpha=0.5, resolution=16))


@pytest.mark.parametrize("layers, message", [
    ([{"type": "conv", "out": 8, "from": "x"}],
     "layer conv: from 'x' names no earlier layer; allowed: input or the name of a layer before it"),
    ([{"type": "conv", "out": 8, "name": "a", "from": "b"}, {"type": "conv", "out": 8, "name": "b"}],
     "layer a: from 'b' names no earlier layer; allowed: input or the name of a layer before it"),
    ([{"type": "conv", "out": 8, "name": "a"}, {"type": "add", "from": ["a"]}],
     "description: layers[1]: field 'from' is ['a']; allowed: at least 2 names"),
    ([{"type": "add"}], "description: layers[0]: type 'add' needs field 'from' (the layers it reads)"),
    ([{"type": "conv", "out": 8, "from": ["input", "input"]}],
     "description: layers[0]: field 'from' is ['input', 'input']; allowed: one name (only add, mul, "
     "concat read several layers)"),
    ([{"type": "conv", "out": 8, "from": "input", "repeat": 2}],
     "description: layers[0]: an entry with 'from' takes no 'repeat' (each copy would read the "
     "same layers)"),
])
def test_graph_form_errors(layers, message):
    with pytest.raises(CostModelError) as e:
        expand(get_description({"layers": layers}))
    assert str(e.value) == message


def test_spec_file_size_limit_is_inclusive(tmp_path):
    """A file of exactly MAX_SPEC_BYTES is read; one byte more is refused unread, naming its size
    (a `>` moved to `>=` survived mutation testing)."""
    from costmodel.core.arch import MAX_SPEC_BYTES, load_description

    body = '{"layers": [{"type": "conv", "kernel": 3, "stride": 2, "out": 8}, {"type": "fc"}]}'
    at_limit = tmp_path / "at.json"
    at_limit.write_text(body + " " * (MAX_SPEC_BYTES - len(body)))
    assert at_limit.stat().st_size == MAX_SPEC_BYTES
    assert len(expand(load_description(at_limit))) == 2
    over = tmp_path / "over.json"
    over.write_text(body + " " * (MAX_SPEC_BYTES - len(body) + 1))
    with pytest.raises(CostModelError, match=f"is {MAX_SPEC_BYTES + 1} bytes; allowed: at most "
                                             f"{MAX_SPEC_BYTES} bytes"):
        load_description(over)


# -------------------------------------------------------------- found by mutation testing
ALLOWED_STRING = ("allowed: <ir|ds|dsa|cn>_r<N>_k<K>_s<S>_e<E>_c<C>[_se<R>][_nre|_nr6|_nhs|_nsw]"
                  "[_noskip], e.g. ir_r2_k3_s2_e6_c24")


def test_timm_block_strings_parse_to_entries():
    from costmodel.core.blocks import parse_block_string as parse

    # e and se are numbers (timm's e6 and se0.25), r k s c integers
    assert parse("ir_r2_k3_s2_e6_c24", "w") == {"type": "ir", "repeat": 2, "kernel": 3,
                                                 "stride": 2, "expand": 6.0, "out": 24}
    assert parse("dsa_r1_k5_s1_e1_c16_se0.25_nhs_noskip", "w") == {
        "type": "ds", "pw_act": True, "repeat": 1, "kernel": 5, "stride": 1, "out": 16, "se": 0.25,
        "act": "hswish", "skip": False}
    assert parse("ds_c8", "w") == {"type": "ds", "out": 8}  # no pw_act, no expand
    # cn drops an expansion; each n<act> names one activation
    assert parse("cn_r1_k3_s1_e4_c8_nr6", "w") == {"type": "cn", "repeat": 1, "kernel": 3,
                                                    "stride": 1, "out": 8, "act": "relu6"}
    assert [parse(f"ir_c8_n{a}", "w")["act"] for a in ("re", "r6", "hs", "sw")] == [
        "relu", "relu6", "hswish", "swish"]
    # at most 200 characters: "ir_r1_c8" (8) + 48 x "_nre" (192) = 200 is read
    assert parse("ir_r1_c8" + "_nre" * 48, "w") == {"type": "ir", "repeat": 1, "out": 8,
                                                     "act": "relu"}


@pytest.mark.parametrize("text, message", [
    ("ds_r1_k3_s1_e6_c8", "block string 'ds_r1_k3_s1_e6_c8': a ds block has no expansion; "
                          + ALLOWED_STRING),
    ("xx_r1", "block string 'xx_r1' has unknown block type 'xx'; " + ALLOWED_STRING),
    ("ir_c8_n", "block string 'ir_c8_n' has unknown option 'n'; " + ALLOWED_STRING),
    ("ir_c8_nxx", "block string 'ir_c8_nxx' has unknown option 'nxx'; " + ALLOWED_STRING),
    ("ir_r01_c8" + "_nre" * 48, "block string 'ir_r01_c8_nre_nre_nre_nre_nre_nre_nre_nre_nre_nre_"
                                "nre_nre_nr'... is 201 characters long; allowed: at most 200"),
])
def test_timm_block_string_errors(text, message):
    from costmodel.core.blocks import parse_block_string

    with pytest.raises(CostModelError) as e:
        parse_block_string(text, "w")
    assert str(e.value) == "w: " + message


@pytest.mark.parametrize("entry, message", [
    ({"type": "ir"}, "type 'ir' needs field 'out' (channels)"),
    ({"type": "fire", "squeeze": 8, "expand1": 8}, "type 'fire' needs field 'expand3' (channels)"),
    ({"type": "bottleneck", "out": 8, "mid": 0}, "field 'mid' is 0; allowed: an integer >= 1"),
    ({"type": "bottleneck", "out": 8, "mid": True}, "field 'mid' is True; allowed: an integer >= 1"),
    ({"type": "fire", "squeeze": 1.5, "expand1": 8, "expand3": 8},
     "field 'squeeze' is 1.5; allowed: an integer >= 1"),
    ({"type": "ir", "out": 8, "expand": 0}, "field 'expand' is 0; allowed: a number > 0 and <= 10000"),
    ({"type": "ir", "out": 8, "expand": 10001},
     "field 'expand' is 10001; allowed: a number > 0 and <= 10000"),
    ({"type": "ir", "out": 8, "expand": True},
     "field 'expand' is True; allowed: a number > 0 and <= 10000"),
    ({"type": "ir", "out": 8, "se": 1.01}, "field 'se' is 1.01; allowed: a number > 0 and <= 1"),
    ({"type": "ir", "out": 8, "se": 0}, "field 'se' is 0; allowed: a number > 0 and <= 1"),
    ({"type": "ir", "out": 8, "se": "a"}, "field 'se' is 'a'; allowed: a number > 0 and <= 1"),
    ({"type": "ir", "out": 8, "skip": "yes"}, "field 'skip' is 'yes'; allowed: true or false"),
    ({"type": "ds", "out": 8, "pw_act": 1}, "field 'pw_act' is 1; allowed: true or false"),
])
def test_macro_field_errors(entry, message):
    with pytest.raises(CostModelError) as e:
        get_description({"layers": [entry]})
    assert str(e.value) == "description: layers[0]: " + message


def test_macro_fields_at_their_limits_are_read():
    # expand up to 10^4, se up to 1, widths from 1
    for entry in ({"type": "ir", "out": 8, "expand": 10_000, "se": 1.0, "skip": False},
                  {"type": "fire", "squeeze": 1, "expand1": 1, "expand3": 1},
                  {"type": "bottleneck", "out": 8, "mid": 1}):
        assert get_description({"layers": [entry]}).layers == (entry,)


def _rows(layers, input_channels=16):
    d = get_description({"input_channels": input_channels, "layers": layers})
    return [(x.name, str(x.kind), x.kernel, x.stride, x.in_channels, x.out_channels, x.spec.act,
             x.spec.bn, x.spec.bias, x.inputs) for x in resolve(d, resolution=8)]


def test_ir_macro_expands_as_documented():
    # 1x1 expand to 6 x 16 = 96 (hswish), 3x3 dw, SE squeezing its own input 96 x 0.25 = 24
    # (se_act, se_gate), 1x1 projection without activation, add (stride 1, 16 -> 16)
    assert _rows([{"type": "ir", "out": 16, "se": 0.25, "se_act": "silu",
                   "se_gate": "hsigmoid", "act": "hswish"}]) == [
        ("ir1.conv_pw", "conv", 1, 1, 16, 96, "hswish", True, False, (-1,)),
        ("ir1.conv_dw", "dw", 3, 1, 96, 96, "hswish", True, False, (0,)),
        ("ir1.se.pool", "avgpool", 0, 1, 96, 96, "none", False, False, (1,)),
        ("ir1.se.reduce", "conv", 1, 1, 96, 24, "silu", False, True, (2,)),
        ("ir1.se.expand", "conv", 1, 1, 24, 96, "hsigmoid", False, True, (3,)),
        ("ir1.se.scale", "mul", 0, 1, 96, 96, "none", False, False, (1, 4)),
        ("ir1.conv_pwl", "conv", 1, 1, 96, 16, "none", True, False, (5,)),
        ("ir1.add", "add", 0, 1, 16, 16, "none", False, False, (6, -1))]
    # stride 2: no add; expand 1: no expansion conv
    assert [r[0] for r in _rows([{"type": "ir", "out": 24, "stride": 2}])] == [
        "ir1.conv_pw", "ir1.conv_dw", "ir1.conv_pwl"]
    assert [r[0] for r in _rows([{"type": "ir", "out": 16, "expand": 1}])] == [
        "ir1.conv_dw", "ir1.conv_pwl", "ir1.add"]
    # the macro's rounding reaches its expansion: 10 x 1.5 = 15 -> divisible8: 16; int: 15
    assert _rows([{"type": "ir", "out": 10, "expand": 1.5, "rounding": "divisible8"}],
                 input_channels=10)[0][5] == 16
    assert _rows([{"type": "ir", "out": 10, "expand": 1.5}], input_channels=10)[0][5] == 15


def test_ds_cn_basic_bottleneck_macros_expand_as_documented():
    # ds: dw, 1x1 without activation (dsa: with), add unless noskip
    assert _rows(["dsa_r1_k5_s1_c16_noskip"]) == [
        ("ds1.conv_dw", "dw", 5, 1, 16, 16, "relu", True, False, (-1,)),
        ("ds1.conv_pwl", "conv", 1, 1, 16, 16, "relu", True, False, (0,))]
    assert [r[6] for r in _rows([{"type": "ds", "out": 16}])] == ["relu", "none", "none"]
    assert _rows(["cn_r1_k3_s2_c8_nhs"]) == [
        ("cn1.conv", "conv", 3, 2, 16, 8, "hswish", True, False, (-1,))]
    # basic: 3x3 (stride) + 3x3, a 1x1 stride-2 downsample where the shape changes, add, ReLU
    assert _rows([{"type": "basic", "out": 32, "stride": 2}]) == [
        ("basic1.conv1", "conv", 3, 2, 16, 32, "relu", True, False, (-1,)),
        ("basic1.conv2", "conv", 3, 1, 32, 32, "none", True, False, (0,)),
        ("basic1.downsample", "conv", 1, 2, 16, 32, "none", True, False, (-1,)),
        ("basic1.add", "add", 0, 1, 32, 32, "none", False, False, (1, 2)),
        ("basic1.act", "act", 0, 1, 32, 32, "relu", False, False, (3,))]
    # bottleneck: mid defaults to out // 4, at least 1 (out 7: 1); identity shortcut
    assert _rows([{"type": "bottleneck", "out": 7}], input_channels=7) == [
        ("bottleneck1.conv1", "conv", 1, 1, 7, 1, "relu", True, False, (-1,)),
        ("bottleneck1.conv2", "conv", 3, 1, 1, 1, "relu", True, False, (0,)),
        ("bottleneck1.conv3", "conv", 1, 1, 1, 7, "none", True, False, (1,)),
        ("bottleneck1.add", "add", 0, 1, 7, 7, "none", False, False, (2, -1)),
        ("bottleneck1.act", "act", 0, 1, 7, 7, "relu", False, False, (3,))]
    # an explicit mid replaces out // 4 (8 // 4 = 2)
    assert [r[5] for r in _rows([{"type": "bottleneck", "out": 8, "mid": 3}])][:3] == [3, 3, 8]


def test_fire_and_shuffle_unit_macros_expand_as_documented():
    # fire: 1x1 squeeze, then 1x1 and 3x3 expands concatenated; bias and ReLU, no BN
    assert _rows([{"type": "fire", "squeeze": 4, "expand1": 8, "expand3": 8}]) == [
        ("fire1.squeeze", "conv", 1, 1, 16, 4, "relu", False, True, (-1,)),
        ("fire1.concat1.b0.expand1x1", "conv", 1, 1, 4, 8, "relu", False, True, (0,)),
        ("fire1.concat1.b1.expand3x3", "conv", 3, 1, 4, 8, "relu", False, True, (0,)),
        ("fire1.concat1.concat", "concat", 0, 1, 16, 16, "none", False, False, (1, 2))]
    # shuffle unit, stride 2: (3x3 dw -> 1x1) | (1x1 -> 3x3 dw -> 1x1), each 16 / 2 wide
    assert _rows([{"type": "shuffle_unit", "out": 16, "stride": 2}]) == [
        ("shuffle_unit1.concat1.b0.conv_dw", "dw", 3, 2, 16, 16, "none", True, False, (-1,)),
        ("shuffle_unit1.concat1.b0.conv1", "conv", 1, 1, 16, 8, "relu", True, False, (0,)),
        ("shuffle_unit1.concat1.b1.conv1", "conv", 1, 1, 16, 8, "relu", True, False, (-1,)),
        ("shuffle_unit1.concat1.b1.conv_dw", "dw", 3, 2, 8, 8, "none", True, False, (2,)),
        ("shuffle_unit1.concat1.b1.conv2", "conv", 1, 1, 8, 8, "relu", True, False, (3,)),
        ("shuffle_unit1.concat1.concat", "concat", 0, 1, 16, 16, "none", False, False, (1, 4)),
        ("shuffle_unit1.shuffle1", "shuffle", 0, 1, 16, 16, "none", False, False, (5,))]
    # stride 1: the channels split in halves, one passes, the other goes 1x1 -> dw -> 1x1
    assert _rows([{"type": "shuffle_unit", "out": 16}]) == [
        ("shuffle_unit1.concat1.split0", "slice", 0, 1, 16, 8, "none", False, False, (-1,)),
        ("shuffle_unit1.concat1.split1", "slice", 0, 1, 16, 8, "none", False, False, (-1,)),
        ("shuffle_unit1.concat1.b1.conv1", "conv", 1, 1, 8, 8, "relu", True, False, (1,)),
        ("shuffle_unit1.concat1.b1.conv_dw", "dw", 3, 1, 8, 8, "none", True, False, (2,)),
        ("shuffle_unit1.concat1.b1.conv2", "conv", 1, 1, 8, 8, "relu", True, False, (3,)),
        ("shuffle_unit1.concat1.concat", "concat", 0, 1, 16, 16, "none", False, False, (0, 4)),
        ("shuffle_unit1.shuffle1", "shuffle", 0, 1, 16, 16, "none", False, False, (5,))]


FROM = "a layer name or a list of 1 to 64 names of earlier layers (or input)"
ACTS = "relu, relu6, hswish, silu, swish, sigmoid, hsigmoid, tanh, gelu, none"


@pytest.mark.parametrize("entry, message", [
    ({"type": "conv", "out": 8, "bias": "yes"},
     ": field 'bias' is 'yes'; allowed: true or false"),
    ({"type": "concat", "split": "yes", "branches": [[], []]},
     ": field 'split' is 'yes'; allowed: true or false"),
    ({"type": "conv", "out": 8, "from": 5},
     ": field 'from' is 5; allowed: " + FROM),
    ({"type": "concat", "from": ["a"] * 65},
     ": field 'from' is ['a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', ...]; allowed: " + FROM),
    ({"type": "conv", "out": 8, "from": []},
     ": field 'from' is []; allowed: " + FROM),
    ({"type": "conv", "out": 8, "from": ["a", "b"]},
     ": field 'from' is ['a', 'b']; allowed: one name (only add, mul, concat read several layers)"),
    ({"type": "add", "from": ["a"]},
     ": field 'from' is ['a']; allowed: at least 2 names"),
    ({"type": "concat", "from": "a"},
     ": field 'from' is 'a'; allowed: at least 2 names"),
    ({"type": "concat", "from": ["a"]},
     ": field 'from' is ['a']; allowed: at least 2 names"),
    ({"type": "conv", "out": 8, "from": "input", "repeat": 2},
     ": an entry with 'from' takes no 'repeat' (each copy would read the same layers)"),
    ({"type": "add"},
     ": type 'add' needs field 'from' (the layers it reads)"),
    ({"type": "se", "ratio": 0},
     ": field 'ratio' is 0; allowed: a number > 0 and <= 1"),
    ({"type": "se", "ratio": 1.5},
     ": field 'ratio' is 1.5; allowed: a number > 0 and <= 1"),
    ({"type": "se", "of": "x"},
     ": field 'of' is 'x'; allowed: self, block"),
    ({"type": "se", "round": "x"},
     ": field 'round' is 'x'; allowed: int, divisible8"),
    ({"type": "se", "act": "x"},
     ": field 'act' is 'x'; allowed: " + ACTS),
    ({"type": "se", "gate": "x"},
     ": field 'gate' is 'x'; allowed: " + ACTS),
    ({"type": "ir", "out": 8, "se": 0.25, "se_of": "x"},
     ": field 'of' is 'x'; allowed: self, block"),
    ({"type": "ir", "out": 8, "se": 0.25, "se_round": "x"},
     ": field 'round' is 'x'; allowed: int, divisible8"),
    ({"type": "ir", "out": 8, "se": 0.25, "se_act": "x"},
     ": field 'act' is 'x'; allowed: " + ACTS),
    ({"type": "ir", "out": 8, "se": 0.25, "se_gate": "x"},
     ": field 'gate' is 'x'; allowed: " + ACTS),
    ({"type": "ir", "out": 8, "kernel": 0},  # its depthwise conv's kernel: a pair is allowed
     ": field 'kernel' is 0; allowed: an integer >= 1" + PAIR),
    ({"type": "ir", "out": 8, "act": "x"},
     ": field 'act' is 'x'; allowed: " + ACTS),
    ({"type": "residual", "act": "x", "body": [{"type": "bn"}]},
     ": field 'act' is 'x'; allowed: " + ACTS),
    ({"type": "residual", "body": []},
     ': body is []; allowed: a non-empty list of layer entries'),
    ({"type": "conv", "out": 8, "padding": -1},
     ": field 'padding' is -1; allowed: an integer >= 0" + PAIR),
    ({"type": "conv", "out": 8, "padding": [1]},
     ": field 'padding' is [1]; allowed: an integer >= 0" + PAIR),
    ({"type": "conv", "out": 8, "kernel": [3, 0]},
     ": field 'kernel' is [3, 0]; allowed: an integer >= 1" + PAIR),
    ({"type": "conv", "out": 8, "kernel": True},
     ": field 'kernel' is True; allowed: an integer >= 1" + PAIR),
    ({"type": "conv", "out": 8, "stride": [2, True]},
     ": field 'stride' is [2, True]; allowed: an integer >= 1" + PAIR),
    ({"type": "slice", "part": 2, "parts": 2},
     ": field 'part' is 2; allowed: 0 to 1"),
    ({"type": "slice", "part": -1},
     ": field 'part' is -1; allowed: an integer >= 0"),
    ({"type": "slice", "parts": 0},
     ": field 'parts' is 0; allowed: an integer >= 1"),
    ({"type": "conv", "out": 8, "groups": 0},
     ": field 'groups' is 0; allowed: an integer >= 1"),
    ({"type": "conv", "out": 8, "dilation": 0},
     ": field 'dilation' is 0; allowed: an integer >= 1"),
    ({"type": "lrn", "size": 0},
     ": field 'size' is 0; allowed: an integer >= 1"),
    ({"type": "avgpool", "output": 0},
     ": field 'output' is 0; allowed: an integer >= 1"),
    ({"type": "dropout", "p": 1.5},
     ": field 'p' is 1.5; allowed: a number > -1e-12 and <= 1"),
    ({"type": "dropout", "p": -0.1},
     ": field 'p' is -0.1; allowed: a number > -1e-12 and <= 1"),
    ({"type": "dropout", "p": True},
     ": field 'p' is True; allowed: a number > -1e-12 and <= 1"),
    ({"type": "lrn", "alpha": 10000000000.0},
     ": field 'alpha' is 10000000000.0; allowed: a number > -1e+09 and <= 1e+09"),
    ({"type": "lrn", "beta": "x"},
     ": field 'beta' is 'x'; allowed: a number > -1e+09 and <= 1e+09"),
    ({"type": "lrn", "k": -10000000000.0},
     ": field 'k' is -10000000000.0; allowed: a number > -1e+09 and <= 1e+09"),
    ({"type": "maxpool", "kernel": 2, "ceil_mode": "x"},
     ": field 'ceil_mode' is 'x'; allowed: true or false"),
    ({"type": "conv", "out": 8, "bn": 1},
     ": field 'bn' is 1; allowed: true or false"),
    ({"type": "conv", "out": 8, "rounding": "x"},
     ": field 'rounding' is 'x'; allowed: int, slim, divisible8"),
    ({"type": "maxpool"},
     ": type 'maxpool' needs field 'kernel' (or 'output' for an adaptive pool)"),
    ({"type": "maxpool", "output": 2, "kernel": 2},
     ": a pool takes 'kernel' (a window) or 'output' (adaptive to that size), not both"),
    ({"type": "conv", "out": 8, "scale": "x"},
     ": field 'scale' is 'x'; allowed: true, false or grow"),
    ({"type": "conv", "out": 8, "group": 5},
     ": field 'group' is 5; allowed: a string"),
    ({"type": "conv", "out": 8, "name": 5},
     ": field 'name' is 5; allowed: a string"),
    ({"type": "conv", "out": 8, "repeat": -1},
     ": field 'repeat' is -1; allowed: an integer >= 0"),
    ({"type": "dw", "out": 8},
     ": type 'dw' takes no field 'out' (its width follows its input or the class count)"),
    ({"type": "avgpool", "out": 8},
     ": type 'avgpool' takes no field 'out' (its width follows its input or the class count)"),
    ({"type": "pw"},
     ": type 'pw' needs field 'out' (output channels)"),
    ({"type": "separable"},
     ": type 'separable' needs field 'out' (output channels)"),
    ({"type": "conv", "out": 0},
     ": field 'out' is 0; allowed: an integer >= 1"),
    ({"type": "conv", "out": "x"},
     ": field 'out' is 'x'; allowed: an integer >= 1"),
    ({"type": "concat", "branches": [[]]},
     ": field 'branches' is [[]]; allowed: a list of at least 2 layer lists"),
    ({"type": "sequence", "layers": None},
     ': layers is None; allowed: a non-empty list of layer entries'),
    ({"type": "sequence", "layers": []},
     ': layers is []; allowed: a non-empty list of layer entries'),
    (5,
     " is 5; allowed: a mapping with a 'type', or a timm block string such as "
     "'ir_r2_k3_s2_e6_c24'"),
    ({"type": 5},
     ": field 'type' is 5; allowed: conv, separable, dw, pw, avgpool, maxpool, fc, linear, bn, act, "
     "flatten, dropout, lrn, shuffle, add, mul, slice, residual, concat, sequence, se, ir, ds, cn, "
     "basic, bottleneck, fire, shuffle_unit"),
])
def test_field_errors_name_the_field_value_and_what_is_allowed(entry, message):
    """Every check of the entry grammar, with its exact one-line message (the field's name,
    value and what is allowed; found by mutation testing: checks of a name or message
    mutated survived)."""
    with pytest.raises(CostModelError) as e:
        get_description({"layers": [entry]})
    assert str(e.value) == "description: layers[0]" + message


@pytest.mark.parametrize("entry", [
    {"type": "conv", "out": 8, "padding": "same"}, {"type": "conv", "out": 8, "padding": [1, 2]},
    {"type": "conv", "out": 8, "padding": 0}, {"type": "conv", "out": 8, "kernel": [3, 5]},
    {"type": "dropout", "p": 0}, {"type": "dropout", "p": 1.0}, {"type": "se", "ratio": 1.0},
    {"type": "lrn", "alpha": 1e9, "beta": -1e9 + 1, "k": 2, "size": 1},
    {"type": "concat", "from": ["a"] * 64}, {"type": "concat", "from": ["a", "b"]},
    {"type": "slice", "part": 1, "parts": 2}, {"type": "conv", "out": 8, "groups": "depthwise"},
    {"type": "pw", "groups": "depthwise"}, {"type": "conv", "out": "same"},
    {"type": "conv", "out": "classes"}, {"type": "conv", "out": 8, "repeat": 0},
    {"type": "conv", "out": 8, "scale": "grow"}, {"type": "avgpool", "output": 1},
    {"type": "residual", "body": [{"type": "bn"}], "shortcut": [], "act": "relu"},
    {"type": "se", "of": "block", "round": "divisible8", "act": "silu", "gate": "hsigmoid"},
    {"type": "maxpool", "kernel": 2, "ceil_mode": True},
])
def test_fields_at_their_limits_are_read(entry):
    # read unchanged (a composite's layer lists become tuples)
    assert get_description({"layers": [entry]}).layers == (
        {k: tuple(v) if k in ("body", "shortcut") else v for k, v in entry.items()},)


TYPES = ("conv, separable, dw, pw, avgpool, maxpool, fc, linear, bn, act, flatten, dropout, lrn, "
         "shuffle, add, mul, slice, residual, concat, sequence, se, ir, ds, cn, basic, bottleneck, "
         "fire, shuffle_unit")
_T = {"layers": [{"type": "conv", "out": "$w"}], "params": {"w": 8}}
_BN = [{"type": "bn"}]


@pytest.mark.parametrize("raw, message", [
    ({"blocks": 5}, "field 'blocks' is 5; allowed: a mapping of name -> {params, layers}"),
    ({"blocks": {"conv": _T}}, "blocks: conv: the name is a built-in type; choose another"),
    ({"blocks": {"t": {"layers": [], "x": 1}}},
     "blocks: t is {'layers': [], 'x': 1}; allowed: {params: {...}, layers: [...]}"),
    ({"blocks": {"t": {"params": {}}}},
     "blocks: t is {'params': {}}; allowed: {params: {...}, layers: [...]}"),
    ({"blocks": {"t": 5}}, "blocks: t is 5; allowed: {params: {...}, layers: [...]}"),
    ({"blocks": {"t": {"params": {"repeat": 1}, "layers": _BN}}},
     "blocks: t: field 'params' is {'repeat': 1}; allowed: a mapping of parameter -> default "
     "(null: required), none named type, repeat, group, scale, name, from"),
    ({"blocks": {"t": {"params": [1], "layers": _BN}}},
     "blocks: t: field 'params' is [1]; allowed: a mapping of parameter -> default "
     "(null: required), none named type, repeat, group, scale, name, from"),
    ({"blocks": {"t": _T}, "layers": [{"type": "t", "x": 1}]},
     "layers[0]: unknown field 'x' of block template 't'; allowed: from, group, name, repeat, "
     "scale, type, w"),
    ({"blocks": {"t": {"layers": [{"type": "conv", "out": "$y"}], "params": {"w": 8}}},
      "layers": [{"type": "t"}]}, "layers[0] (t): '$y' names no parameter; allowed: $w"),
    ({"defaults": 5}, "field 'defaults' is 5; allowed: a mapping of type -> {field: value}"),
    ({"defaults": {"conv": 5}},
     "field 'defaults' is {'conv': 5}; allowed: a mapping of type -> {field: value}"),
    ({"defaults": {"lstm": {}}}, "defaults: field 'type' is 'lstm'; allowed: " + TYPES),
    # two entries of 15,000 layers each: the list's running total, not one entry, is too large
    ({"layers": [{"type": "conv", "out": 8, "repeat": 15_000}] * 2},
     "the description expands to 30000 or more layers (repeats multiplied out); allowed: at most "
     "20000"),
])
def test_template_defaults_and_size_errors(raw, message):
    with pytest.raises(CostModelError) as e:
        get_description({"layers": _BN, **raw})
    assert str(e.value) == "description: " + message


def test_template_params_null_and_defaults_under_each_entry():
    d = get_description({"blocks": {"t": {"layers": [{"type": "conv", "out": "$w"}],
                                          "params": None}}, "layers": _BN})
    assert d.layers == ({"type": "bn"},)
    d = get_description({"defaults": {"conv": {"act": "relu6"}},
                         "layers": [{"type": "conv", "out": 8},
                                    {"type": "conv", "out": 8, "act": "none"}]})
    assert [e["act"] for e in d.layers] == ["relu6", "none"]  # an entry's own field wins


def test_named_repeats_and_act_rows():
    # a named entry repeated: name_1, name_2, ... (conv, simple ops, dw, separable's pair);
    # an act row is relu unless it names its function
    d = get_description({"layers": [
        {"type": "conv", "out": 8, "name": "c", "repeat": 2}, {"type": "bn", "name": "b", "repeat": 2},
        {"type": "act"}, {"type": "act", "act": "silu"}, {"type": "dw", "name": "d", "repeat": 2},
        {"type": "separable", "out": 8, "name": "s", "repeat": 2}]})
    assert [(s.name, str(s.kind), s.act, s.kernel) for s in expand(d)] == [
        ("c_1", "conv", "relu", 3), ("c_2", "conv", "relu", 3), ("b_1", "bn", "none", 0),
        ("b_2", "bn", "none", 0), ("act1", "act", "relu", 0), ("act2", "act", "silu", 0),
        ("d_1", "dw", "relu", 3), ("d_2", "dw", "relu", 3), ("s_1.dw", "dw", "relu", 3),
        ("s_1.pw", "pw", "relu", 1), ("s_2.dw", "dw", "relu", 3), ("s_2.pw", "pw", "relu", 1)]


def test_a_hand_built_conv_spec_without_out_keeps_its_input_width():
    # LayerSpec's out None: the input's channels (3 here), for a weighted layer other than fc
    from costmodel.core.arch import LayerSpec, resolve_shapes

    rows = resolve_shapes([LayerSpec("p", Kind.PW, 1, 1, None, True)], 1.0, 8, "int", 10, 3)
    assert [(x.name, x.in_channels, x.out_channels) for x in rows] == [("p", 3, 3)]


def test_template_errors_name_the_template_and_its_group_is_dropped_by_a_variant():
    with pytest.raises(CostModelError) as e:
        get_description({"blocks": {"t": {"layers": [{"type": "conv"}]}}, "layers": [{"type": "t"}]})
    assert str(e.value) == ("description: layers[0] (t): layers[0]: type 'conv' needs field 'out' "
                            "(output channels)")
    # a template entry keeps its group and name: a variant drops it whole
    d = get_description({"blocks": {"t": {"layers": [{"type": "conv", "out": 8}]}},
                         "layers": [{"type": "bn"}, {"type": "t", "group": "g", "name": "tt"}],
                         "variants": {"v": {"drop_groups": ["g"]}}})
    assert [s.name for s in expand(d)] == ["bn1", "tt.conv1"]
    assert [s.name for s in expand(d, "v")] == ["bn1"]


def test_graph_form_reads_a_block_by_name_and_rows_carry_stride_groups_bias():
    # `from` a block's name reads its output layer (blk.conv2, index 2); the add's act row, the
    # simple ops and the pools have stride 1 and groups 1 (a dw: its channels); fc bias: false
    # is kept (the default is true, fc2)
    d = get_description({"layers": [
        {"type": "conv", "out": 8, "name": "a"},
        {"type": "sequence", "name": "blk", "layers": [{"type": "conv", "out": 8},
                                                      {"type": "conv", "out": 8}]},
        {"type": "add", "from": ["a", "blk"], "act": "relu", "name": "s"},
        {"type": "separable", "out": 8, "name": "sp"}, {"type": "bn"}, {"type": "shuffle"},
        {"type": "avgpool"}, {"type": "fc", "bias": False, "out": 10, "scale": False},
        {"type": "fc"}]})
    assert [(x.name, str(x.kind), x.stride, x.groups, x.inputs, x.bias)
            for x in resolve(d, resolution=8)] == [
        ("a", "conv", 1, 1, (-1,), False), ("blk.conv1", "conv", 1, 1, (0,), False),
        ("blk.conv2", "conv", 1, 1, (1,), False), ("s", "add", 1, 1, (0, 2), False),
        ("s_act", "act", 1, 1, (3,), False), ("sp.dw", "dw", 1, 8, (4,), False),
        ("sp.pw", "pw", 1, 1, (5,), False), ("bn1", "bn", 1, 1, (6,), False),
        ("shuffle1", "shuffle", 1, 1, (7,), False), ("avg_pool", "avgpool", 1, 1, (8,), False),
        ("fc", "fc", 1, 1, (9,), False), ("fc2", "fc", 1, 1, (10,), True)]


def test_a_hand_built_layer_fills_its_groups():
    from costmodel.core.lower import Layer

    # groups left out: a depthwise layer's is its channel count, any other layer's 1
    assert Layer(0, "d", Kind.DW, 3, 1, 32, 32, 8, 8).groups == 32
    assert Layer(0, "c", Kind.CONV, 3, 1, 32, 32, 8, 8).groups == 1


def test_nesting_limit_is_inclusive():
    # a conv inside MAX_DEPTH sequences sits at depth MAX_DEPTH (the top level is depth 0): read;
    # one level more is refused, naming the path
    def wrapped(k):
        entry = {"type": "conv", "out": 8}
        for _ in range(k):
            entry = {"type": "sequence", "layers": [entry]}
        return entry

    assert get_description({"layers": [wrapped(MAX_DEPTH)]}).size == 1
    with pytest.raises(CostModelError) as e:
        get_description({"layers": [wrapped(MAX_DEPTH + 1)]})
    assert str(e.value) == ("description: " + "layers[0]: " * (MAX_DEPTH + 2)
                            + f"nesting is deeper than {MAX_DEPTH} levels; allowed: at most "
                              f"{MAX_DEPTH}")


# ------------------------------------ found by mutation testing: lowering (core/lower.py)
def test_fc_out_scale_rounding_and_act():
    # at alpha 0.5: an fc's out is thinned like a conv's (int(100 * 0.5) = 50) unless scale is
    # false (10); its own rounding wins (divisible8: 10 * 0.5 = 5 -> max(floor(5 + 4) // 8 * 8,
    # 8) = 8, int would give 5); act defaults to none; an fc without out is as wide as the classes
    d = get_description({"input_channels": 16, "layers": [
        {"type": "avgpool"}, {"type": "fc", "out": 100}, {"type": "fc", "out": 10, "scale": False},
        {"type": "fc", "out": 10, "rounding": "divisible8"}, {"type": "fc", "out": 20, "act": "relu"},
        {"type": "linear"}]})
    rows = resolve(d, alpha=0.5, resolution=8, classes=7)
    assert [(x.name, x.in_channels, x.out_channels, x.act) for x in rows] == [
        ("avg_pool", 16, 16, "none"), ("fc", 16, 50, "none"), ("fc2", 50, 10, "none"),
        ("fc3", 10, 8, "none"), ("fc4", 8, 10, "relu"), ("fc5", 10, 7, "none")]


def test_a_block_fed_from_any_layer_reads_its_width_at_alpha_1():
    # a macro's residual add needs its input as wide as its out at alpha 1 (stride 1): the width
    # of the layer it reads, whatever kind: a separable's dw (16, the input's), an SE's expand
    # (16) and reduce (int(64 * 0.25) = 16; divisible8: int(64 * 0.1) = 6 -> 8), an fc's out
    def adds(layers, input_channels=16):
        d = get_description({"input_channels": input_channels, "layers": layers})
        return [s.name for s in expand(d) if s.kind == Kind.ADD]

    ir = {"type": "ir", "expand": 1, "name": "blk"}
    assert adds([{"type": "separable", "out": 8, "name": "s"},
                 {**ir, "out": 16, "from": "s.dw"}]) == ["blk.add"]
    assert adds([{"type": "se"}, {**ir, "out": 16, "from": "se1.expand"}]) == ["blk.add"]
    assert adds([{"type": "se"}, {**ir, "out": 16, "from": "se1.reduce"}],
                input_channels=64) == ["blk.add"]
    assert adds([{"type": "se", "ratio": 0.1, "round": "divisible8"},
                 {**ir, "out": 8, "from": "se1.reduce"}], input_channels=64) == ["blk.add"]
    assert adds([{"type": "avgpool"}, {"type": "fc", "out": 16}, {**ir, "out": 16}]) == ["blk.add"]
    # an SE's pool (16, its input's); a reduce with int rounding: int(48 * 0.25) = 12 (not 16, as
    # divisible8 would give); a graph-form concat (8 + 8 = 16); a shuffle keeps its width (16 in
    # 2 groups, not 16 / 2: only a slice takes a part)
    assert adds([{"type": "se"}, {**ir, "out": 16, "from": "se1.pool"}]) == ["blk.add"]
    assert adds([{"type": "se"}, {**ir, "out": 12, "from": "se1.reduce"}],
                input_channels=48) == ["blk.add"]
    assert adds([{"type": "conv", "out": 8, "name": "a"}, {"type": "conv", "out": 8, "name": "b"},
                 {"type": "concat", "from": ["a", "b"]}, {**ir, "out": 16}]) == ["blk.add"]
    assert adds([{"type": "shuffle", "groups": 2}, {**ir, "out": 16}]) == ["blk.add"]
    # out: same is the block's input width (16 here, not the 32 before it)
    assert adds([{"type": "residual", "body": [{"type": "conv", "out": 32},
                                               {"type": "conv", "out": "same"},
                                               {**ir, "out": 16}]}]) == ["residual1.blk.add",
                                                                         "residual1.add"]
    assert adds([{"type": "residual", "body": [{"type": "conv", "out": 32},
                                               {"type": "separable", "out": "same"},
                                               {**ir, "out": 16}]}]) == ["residual1.blk.add",
                                                                         "residual1.add"]
    # a classifier's width (out: classes; an fc without out) is unknown before the shapes: no
    # block after it is taken as as wide (here 10 classes, and the block in 16 or 1 wide; an add
    # would be refused)
    d = get_description({"input_channels": 16, "layers": [
        {"type": "separable", "out": "classes"}, {**ir, "out": 16}]})
    assert [(x.name, x.out_channels) for x in resolve(d, resolution=8, classes=10)] == [
        ("conv_dw_1", 16), ("conv_pw_1", 10), ("blk.conv_dw", 10), ("blk.conv_pwl", 16)]
    assert adds([{"type": "avgpool"}, {"type": "fc"}, {**ir, "out": 1}]) == []
    # a width that differs: no add (the reduce is 16 wide, not 15)
    assert adds([{"type": "se"}, {**ir, "out": 15, "from": "se1.reduce"}], input_channels=64) == []


def test_separable_act_reaches_both_halves_and_named_blocks_prefix_their_layers():
    d = get_description({"input_channels": 16, "layers": [
        {"type": "separable", "out": 8, "act": "hswish"},
        {"type": "ir", "out": 8, "expand": 1, "name": "blk"}]})
    assert [(s.name, str(s.kind), s.act) for s in expand(d)] == [
        ("conv_dw_1", "dw", "hswish"), ("conv_pw_1", "pw", "hswish"),
        ("blk.conv_dw", "dw", "relu"), ("blk.conv_pwl", "conv", "none"), ("blk.add", "add", "none")]


def test_simple_rows_pools_and_conv_bias():
    # a max pool is named maxpool<n>; a 3x1 window with stride (2, 1) and padding (1, 0) on 8x8:
    # floor((8 + 2 - 3) / 2) + 1 = 4 high, floor((8 - 1) / 1) + 1 = 8 wide; LRN keeps its
    # settings; a slice without parts is one part (all 16 channels); a simple op `from` an
    # earlier layer reads it (bn1 <- maxpool1, index 0); a conv's bias: true with BN is kept,
    # false without BN is kept (the defaults are the other way round)
    d = get_description({"input_channels": 16, "layers": [
        {"type": "maxpool", "kernel": [3, 1], "stride": [2, 1], "padding": [1, 0]},
        {"type": "lrn", "size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2}, {"type": "slice"},
        {"type": "bn", "from": "maxpool1"}, {"type": "conv", "out": 8, "bias": True},
        {"type": "conv", "out": 8, "bias": False, "bn": False}]})
    rows = resolve(d, resolution=8)
    assert [(x.name, x.stride, x.stride_w, x.in_shape, x.out_shape, x.inputs, x.bias)
            for x in rows] == [
        ("maxpool1", 2, 1, (8, 8, 16), (4, 8, 16), (-1,), False),
        ("lrn1", 1, 1, (4, 8, 16), (4, 8, 16), (0,), False),
        ("slice1", 1, 1, (4, 8, 16), (4, 8, 16), (1,), False),
        ("bn1", 1, 1, (4, 8, 16), (4, 8, 16), (0,), False),
        ("conv1", 1, 1, (4, 8, 16), (4, 8, 8), (3,), True),
        ("conv2", 1, 1, (4, 8, 8), (4, 8, 8), (4,), False)]
    assert [rows[1].option(k) for k in ("size", "alpha", "beta", "k")] == [5, 1e-4, 0.75, 2]
    # a slice keeps which part it takes: the second half of 16 channels, 8 wide
    d = get_description({"input_channels": 16, "layers": [{"type": "slice", "part": 1, "parts": 2}]})
    [row] = resolve(d, resolution=8)
    assert (row.option("part"), row.groups, row.out_channels) == (1, 2, 8)


@pytest.mark.parametrize("layers, message", [
    # only the width differs: 1x3 unpadded, 8 - 3 + 1 = 6 wide
    ([{"type": "residual", "body": [{"type": "conv", "kernel": [1, 3], "padding": 0,
                                     "out": "same"}]}],
     "layer residual1.add: residual add of unequal shapes at alpha 1, resolution 8 (8x6x16 and "
     "8x8x16); allowed: equal shapes (tie a body's last width to its input with out: same)"),
    ([{"type": "concat", "branches": [[{"type": "conv", "stride": 2, "out": 8}],
                                      [{"type": "conv", "out": 8}]]}],
     "layer concat1.concat: concatenation of unequal sizes at alpha 1, resolution 8 (4x4x8 and "
     "8x8x8); allowed: equal sizes (every branch's output as high and as wide)"),
])
def test_merge_errors_name_the_shapes(layers, message):
    with pytest.raises(CostModelError) as e:
        layer_table(1.0, 8, spec={"input_channels": 16, "layers": layers})
    assert str(e.value) == message


def test_grid_errors_name_the_first_bad_config_and_its_shapes():
    # a sweep refuses naming the first (alpha, resolution) that fails and the shapes there: the
    # body's last conv keeps 16 channels, its input is thinned to int(16 * 0.5) = 8 at alpha 0.5
    spec = {"input_channels": 16, "layers": [
        {"type": "conv", "out": 16},
        {"type": "residual", "body": [{"type": "conv", "out": 16, "scale": False}]}]}
    for resolutions in ([8], [8, 9]):
        with pytest.raises(CostModelError) as e:
            sweep([1.0, 0.5], resolutions, spec=spec)
        assert str(e.value) == (
            "layer residual1.add: residual add of unequal shapes at alpha 0.5, resolution 8 "
            "(8x8x16 and 8x8x8); allowed: equal shapes (tie a body's last width to its input "
            "with out: same)")
    # a check that depends on alpha only (groups of a shuffle: int(8 * 0.75) = 6 is no multiple
    # of 4), on a grid of two resolutions, and on one resolution with several alphas
    spec = {"input_channels": 16, "layers": [{"type": "conv", "out": 8},
                                             {"type": "shuffle", "groups": 4}]}
    message = ("layer shuffle1: 4 groups do not divide its channels at alpha 0.75, resolution 9; "
               "allowed: an alpha and rounding that keep them a multiple of 4")
    with pytest.raises(CostModelError) as e:
        sweep([0.5, 0.75], [9, 10], spec=spec)
    assert str(e.value) == message
    from costmodel.core.lower import resolve_shapes

    with pytest.raises(CostModelError) as e:
        resolve_shapes(expand(get_description(spec)), np.array([0.5, 0.75]), 9, "int", 10, 16)
    assert str(e.value) == message


def test_graph_form_composites_and_named_repeats_feed_and_name_their_layers():
    # s reads a (index 0), not b: its dw's producer is 0; a named pool and a named composite
    # repeated (q_1, q_2) keep their names; dropout keeps p; a concat with both `from` and
    # branches runs its branches from a (a composite, not a graph-form merge of a)
    d = get_description({"input_channels": 16, "layers": [
        {"type": "conv", "out": 8, "name": "a"}, {"type": "conv", "out": 8, "name": "b"},
        {"type": "separable", "out": 8, "name": "s", "from": "a"},
        {"type": "maxpool", "kernel": 2, "name": "mp"}, {"type": "dropout", "p": 0.2},
        {"type": "sequence", "name": "q", "repeat": 2, "layers": [{"type": "conv", "out": 8}]},
        {"type": "concat", "from": "a", "branches": [[{"type": "bn"}], [{"type": "bn"}]]}]})
    rows = resolve(d, resolution=8)
    assert [(x.name, str(x.kind), x.inputs, x.out_shape) for x in rows] == [
        ("a", "conv", (-1,), (8, 8, 8)), ("b", "conv", (0,), (8, 8, 8)),
        ("s.dw", "dw", (0,), (8, 8, 8)), ("s.pw", "pw", (2,), (8, 8, 8)),
        ("mp", "maxpool", (3,), (4, 4, 8)),  # floor((8 - 2) / 2) + 1 = 4
        ("dropout1", "dropout", (4,), (4, 4, 8)), ("q_1.conv1", "conv", (5,), (4, 4, 8)),
        ("q_2.conv1", "conv", (6,), (4, 4, 8)), ("concat1.b0.bn1", "bn", (0,), (8, 8, 8)),
        ("concat1.b1.bn1", "bn", (0,), (8, 8, 8)), ("concat1.concat", "concat", (8, 9), (8, 8, 16))]
    assert rows[5].option("p") == 0.2 and rows[5].option("size", 3) == 3  # a default if unset
    # a named fc keeps its name (not head_1: it is not repeated)
    d = get_description({"input_channels": 16, "layers": [{"type": "avgpool"},
                                                          {"type": "fc", "name": "head"}]})
    assert [s.name for s in expand(d)] == ["avg_pool", "head"]
    # a block's name that repeats a layer's (its own layers' names are new) is refused
    with pytest.raises(CostModelError) as e:
        expand(get_description({"layers": [
            {"type": "conv", "out": 8, "name": "b"},
            {"type": "sequence", "name": "b", "layers": [{"type": "conv", "out": 8}]}]}))
    assert str(e.value) == "description 'custom': layer name 'b' repeats; allowed: unique layer names"


def test_hand_built_layer_reads_the_layer_before_and_a_split_does_not_bound_alpha():
    from costmodel.core.arch import min_alpha
    from costmodel.core.lower import Layer

    assert Layer(3, "c", Kind.CONV, 3, 1, 8, 8, 8, 8).inputs == (2,)
    # min_alpha (int rounding) = 1 / the narrowest scaled out: 1 / 4; a split's parts and an
    # SE's layers have no out of their own (they follow their input)
    d = get_description({"input_channels": 16, "layers": [
        {"type": "conv", "out": 16}, {"type": "se"},
        {"type": "concat", "split": True, "branches": [[{"type": "conv", "out": 8}],
                                                       [{"type": "conv", "out": 4}]]}]})
    assert min_alpha(expand(d), "int") == 0.25


def test_a_sweep_too_small_for_a_layer_is_one_line_naming_the_first_config(capsys, tmp_path):
    # the output size depends on the resolution only, the grid also spans alphas: 3x3 stride 2
    # unpadded at resolution 2: floor((2 - 3) / 2) + 1 = 0 (at 17: 8); the first failing config
    # in alpha-major order is (0.5, 2)
    spec = {"layers": [{"type": "conv", "kernel": 3, "stride": 2, "padding": 0, "out": 8},
                       {"type": "avgpool"}, {"type": "fc"}]}
    message = ("layer conv1: alpha 0.5, resolution 2 gives it an output smaller than 1x1; "
               "allowed: a resolution at which every layer's output is at least 1x1")
    with pytest.raises(CostModelError) as e:
        sweep([0.5, 1.0], [17, 2], spec=spec)
    assert str(e.value) == message
    from costmodel.cli import main

    path = tmp_path / "net.json"
    path.write_text(json.dumps(spec))
    rc = main(["sweep", "--spec", str(path), "--alpha", "0.5,1.0", "--resolution", "2,17"])
    out, err = capsys.readouterr()
    assert (rc, out, err) == (2, "", f"costmodel: error: {message}\n")


# ------------------------------------ found by mutation testing: the grammar (core/grammar.py)
@pytest.mark.parametrize("raw, message", [
    ({"layers": [{"type": "mul"}]},
     "layers[0]: type 'mul' needs field 'from' (the layers it reads)"),
    # an entry's repeat is checked with its common fields, before its own (out here)
    ({"layers": [{"type": "conv", "out": 0, "repeat": -1}]},
     "layers[0]: field 'repeat' is -1; allowed: an integer >= 0"),
    ({"layers": [{"type": "maxpool", "kernel": 2, "out": 8}]},
     "layers[0]: type 'maxpool' takes no field 'out' (its width follows its input or the class "
     "count)"),
    ({"blocks": {"t": {"params": {"a": None, "b": None}, "layers": [{"type": "conv", "out": "$a"}]}},
      "layers": [{"type": "t"}]}, "layers[0]: block template 't' needs field(s) a, b"),
    ({"blocks": {"t": {"params": {"w": 8, "x": 1}, "layers": [{"type": "conv", "out": "$y"}]}},
      "layers": [{"type": "t"}]}, "layers[0] (t): '$y' names no parameter; allowed: $w, $x"),
    # parts defaults to 1: part 0 only
    ({"layers": [{"type": "slice", "part": 1}]}, "layers[0]: field 'part' is 1; allowed: 0 to 0"),
    # the bounds of an LRN setting: > -1e9 (open) and <= 1e9 (closed)
    ({"layers": [{"type": "lrn", "alpha": -1e9}]},
     "layers[0]: field 'alpha' is -1000000000.0; allowed: a number > -1e+09 and <= 1e+09"),
    ({"layers": [{"type": "lrn", "k": 1e9 + 1}]},
     "layers[0]: field 'k' is 1000000001.0; allowed: a number > -1e+09 and <= 1e+09"),
])
def test_grammar_messages_found_by_mutation_testing(raw, message):
    with pytest.raises(CostModelError) as e:
        get_description(raw)
    assert str(e.value) == "description: " + message


def _nested(value, n):
    for _ in range(n):
        value = [value]
    return value


def test_template_values_repeat_nesting_and_sharing():
    # an adaptive max pool needs no kernel
    assert get_description({"layers": [{"type": "maxpool", "output": 2}]}).size == 1
    # a template's list values are its own per reference (not the first reference's); a
    # repeated reference expands its copies (t3, t4)
    tmpl = {"t": {"params": {"k": None}, "layers": [{"type": "conv", "out": 8, "kernel": "$k"}]}}
    d = get_description({"blocks": tmpl, "layers": [{"type": "t", "k": [1, 3]},
                                                    {"type": "t", "k": [3, 1]},
                                                    {"type": "t", "k": 3, "repeat": 2}]})
    assert [(s.name, s.kernel, s.kernel_w) for s in expand(d)] == [
        ("t1.conv1", 1, 3), ("t2.conv1", 3, 1), ("t3.conv1", 3, None), ("t4.conv1", 3, None)]
    # a template's layers nest from depth 1 (the reference at 0): a conv inside 15 sequences sits
    # at depth 16, read; inside 16, refused
    def wrapped(k):
        entry = {"type": "conv", "out": 8}
        for _ in range(k):
            entry = {"type": "sequence", "layers": [entry]}
        return entry

    def with_template(k):
        return {"blocks": {"t": {"layers": [wrapped(k)]}}, "layers": [{"type": "t"}]}

    assert get_description(with_template(MAX_DEPTH - 1)).size == 1
    with pytest.raises(CostModelError, match=f"nesting is deeper than {MAX_DEPTH} levels"):
        get_description(with_template(MAX_DEPTH))
    # substituting walks at most 4 x 16 = 64 levels: the layers list is level 0, the entry 1,
    # its kernel 2, so a value inside 62 lists sits at 64 (then the kernel is refused as a
    # kernel), inside 63 at 65 (refused as too deep)
    def kernel_in(n):
        return {"blocks": {"t": {"layers": [{"type": "conv", "out": 8, "kernel": _nested(3, n)}]}},
                "layers": [{"type": "t"}]}

    with pytest.raises(CostModelError) as e:
        get_description(kernel_in(4 * MAX_DEPTH - 2))
    assert str(e.value).startswith("description: layers[0] (t): layers[0]: field 'kernel' is ")
    with pytest.raises(CostModelError) as e:
        get_description(kernel_in(4 * MAX_DEPTH - 1))
    assert str(e.value) == (f"description: layers[0] (t): nesting is deeper than {MAX_DEPTH} "
                            f"levels; allowed: at most {MAX_DEPTH}")
    # one object used twice in a template stays one object (substituted and validated once), and
    # two references with equal values share the validated layers (ints parsed apart, as from a
    # file, are equal but not the same object)
    shared = {"type": "conv", "out": "$w"}
    d = get_description({"blocks": {"t": {"params": {"w": 8}, "layers": [shared, shared]}},
                         "layers": [{"type": "t", "w": int("1000")}, {"type": "t", "w": int("1000")}]})
    first, second = d.layers
    assert first["layers"][0] is first["layers"][1]
    assert first["layers"] is second["layers"]
    # ... also under two fields of one entry (a residual's body and shortcut)
    d = get_description({"blocks": {"t": {"params": {"w": 8}, "layers": [
        {"type": "residual", "body": [shared], "shortcut": [shared]}]}}, "layers": [{"type": "t"}]})
    [res] = d.layers[0]["layers"]
    assert res["body"][0] is res["shortcut"][0]


def _net(*entries):
    """A stem, the entries, a pooled classifier: 3 layer nodes besides the entries."""
    return {"name": "n", "layers": [{"type": "conv", "out": 8, "stride": 2}, *entries,
                                    {"type": "avgpool"}, {"type": "fc"}]}


@pytest.mark.parametrize("field, value, allowed", [
    ("stride", 0, "an integer >= 1, or a pair [height, width] of them"),
    ("out", 0, "an integer >= 1"),
    ("rounding", "x", "int, slim, divisible8"),
])
def test_a_macros_conv_fields_are_checked_as_a_convs(field, value, allowed):
    """A macro's kernel/stride/act/out/rounding go through the primitive checks (grammar
    survivors _walk_builtin_type 47 51 53 54: a field left out of that check passed)."""
    entry = {"type": "ir", "out": 8, field: value}
    with pytest.raises(CostModelError) as e:
        parse_description(_net(entry))
    assert str(e.value) == f"description: layers[1]: field {field!r} is {value!r}; allowed: {allowed}"


def test_a_concat_counts_its_branches_nodes_and_nests_like_a_sequence():
    """The size of a description counts every node: a concat is 1 node, plus 1 per branch,
    plus its branches' nodes (2 + 3 pw layers): 1 + 2 + 2 + 3 = 8 beside the 3 of _net
    (survivor _walk_builtin_type 230: only the last branch's nodes counted). Its branches nest
    one level, as a sequence's layers do: MAX_DEPTH (16) levels of either are read, one more is
    refused (survivor 227: a branch counted two levels)."""
    pw = {"type": "pw", "out": 4}
    cat = {"type": "concat", "branches": [[pw, pw], [pw, pw, pw]]}
    assert parse_description(_net()).size == 3
    assert parse_description(_net(cat)).size == 3 + 8

    def nest(k: int, kind: str) -> dict:
        e = pw
        for _ in range(k):
            e = {"type": "sequence", "layers": [e]} if kind == "sequence" else \
                {"type": "concat", "branches": [[e], [pw]]}
        return e

    for kind in ("sequence", "concat"):
        parse_description(_net(nest(MAX_DEPTH, kind)))
        with pytest.raises(CostModelError, match=f"nesting is deeper than {MAX_DEPTH} levels"):
            parse_description(_net(nest(MAX_DEPTH + 1, kind)))
