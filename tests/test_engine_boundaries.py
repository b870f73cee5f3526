"""The engine's rows, one layer kind at a time, under each convention, worked by hand.

NET at resolution 8, alpha 1, 10 classes (TF SAME padding, 8 -> 4):
  0 conv1     Conv 5x5 s2  8x8x3  -> 4x4x8:  weights 5*5*3*8 = 600, MACs 600 * 16 = 9,600
  1 conv_dw_1 Conv DW 3x3  4x4x8  -> 4x4x8:  weights 3*3*8 = 72,    MACs 72 * 16 = 1,152
  2 conv_pw_1 Conv 1x1     4x4x8  -> 4x4x16: weights 8*16 = 128,    MACs 128 * 16 = 2,048
  3 avg_pool  Avg Pool     4x4x16 -> 1x1x16: 256 inputs
  4 fc        FC           16 -> 10:         weights 160, MACs 160
paper convention: mult-adds 9,600 + 1,152 + 2,048 + 160 = 12,960; params 600 + 72 + 128 + 160 = 960.
"""

from __future__ import annotations

import pytest

from costmodel.core.arch import Layer
from costmodel.core.conventions import CONVENTIONS, Convention, get_convention
from costmodel.core.engine import (
    BYTES_FP32,
    COLUMNS,
    KIND_COUNTERS,
    Config,
    Count,
    count_layer,
    layer_table,
    register,
)
from costmodel.core.kinds import (
    AVG_POOL,
    CONV1X1,
    DW3X3,
    FULLY_CONNECTED,
    Kind,
    LayerType,
    type_name,
)
from costmodel.errors import CostModelError

NET = {"name": "net", "layers": [{"type": "conv", "kernel": 5, "stride": 2, "out": 8},
                                 {"type": "separable", "out": 16}, {"type": "avgpool"},
                                 {"type": "fc"}]}


def table(convention: str = "paper", **kw):
    return layer_table(1.0, 8, spec=NET, classes=10, convention=convention, **kw)


def test_rows_under_the_paper_convention():
    t = table()
    assert [r["name"] for r in t.rows] == ["conv1", "conv_dw_1", "conv_pw_1", "avg_pool", "fc"]
    assert [r["index"] for r in t.rows] == [0, 1, 2, 3, 4]
    assert [r["type"] for r in t.rows] == [LayerType(Kind.CONV, 5), DW3X3, CONV1X1, AVG_POOL,
                                           FULLY_CONNECTED]
    assert [r["kernel"] for r in t.rows] == [5, 3, 1, 0, 1]
    assert [r["stride"] for r in t.rows] == [2, 1, 1, 1, 1]
    assert [r["in_shape"] for r in t.rows] == [(8, 8, 3), (4, 4, 8), (4, 4, 8), (4, 4, 16), (1, 1, 16)]
    assert [r["out_shape"] for r in t.rows] == [(4, 4, 8), (4, 4, 8), (4, 4, 16), (1, 1, 16),
                                                (1, 1, 10)]
    assert [r["in_channels"] for r in t.rows] == [3, 8, 8, 16, 16]
    assert [r["out_channels"] for r in t.rows] == [8, 8, 16, 16, 10]
    assert [r["mult_adds"] for r in t.rows] == [9600, 1152, 2048, 0, 160]
    assert [r["params"] for r in t.rows] == [600, 72, 128, 0, 160]
    # output elements: 4*4*8 = 128, 128, 4*4*16 = 256, 16, 10; fp32 bytes are 4x
    assert [r["activations"] for r in t.rows] == [128, 128, 256, 16, 10]
    assert [r["activation_bytes"] for r in t.rows] == [512, 512, 1024, 64, 40]
    assert [r["weight_bytes"] for r in t.rows] == [2400, 288, 512, 0, 640]
    assert [r["weight_mult_adds"] for r in t.rows] == [9600, 1152, 2048, 0, 160]
    assert [r["weight_params"] for r in t.rows] == [600, 72, 128, 0, 160]
    for k in ("norm_ops", "pool_ops", "norm_params", "bias_params"):
        assert [r[k] for r in t.rows] == [0] * 5, k
    # shares: 9,600 / 12,960 = 74.07...%, 600 / 960 = 62.5%
    assert t.rows[0]["mult_adds_pct"] == pytest.approx(100 * 9600 / 12960)
    assert t.rows[0]["params_pct"] == 62.5 and t.rows[4]["params_pct"] == 100 * 160 / 960
    assert t.rows[3]["mult_adds_pct"] == 0.0
    assert list(t.rows[0]) == list(COLUMNS)


def test_totals_and_peak_activation():
    t = table()
    assert t.totals["mult_adds"] == 12_960 and t.totals["params"] == 960
    assert t.totals["activations"] == 128 + 128 + 256 + 16 + 10
    assert t.totals["weight_bytes"] == 960 * BYTES_FP32 == 3840
    assert t.totals["activation_bytes"] == 538 * 4
    # largest live input + output: conv1 8*8*3 + 128 = 320; dw 256; pw 128 + 256 = 384 (the
    # largest); pool 256 + 16; fc 16 + 10 -> 384 * 4 bytes
    assert t.totals["peak_activation_bytes"] == 384 * 4
    assert set(t.totals) == {"mult_adds", "params", "activations", "weight_bytes", "activation_bytes",
                             "weight_mult_adds", "norm_ops", "pool_ops", "weight_params", "norm_params",
                             "bias_params", "peak_activation_bytes"}


def test_rows_under_the_fvcore_convention():
    t = table("fvcore")
    # BN 2 per output element and 2 vectors per channel on every conv; the pool 1 per input
    # element (4*4*16 = 256); the FC bias (10) as parameters
    assert [r["norm_ops"] for r in t.rows] == [256, 256, 512, 0, 0]
    assert [r["pool_ops"] for r in t.rows] == [0, 0, 0, 256, 0]
    assert [r["norm_params"] for r in t.rows] == [16, 16, 32, 0, 0]
    assert [r["bias_params"] for r in t.rows] == [0, 0, 0, 0, 10]
    assert [r["mult_adds"] for r in t.rows] == [9856, 1408, 2560, 256, 160]
    assert [r["params"] for r in t.rows] == [616, 88, 160, 0, 170]
    assert t.totals["mult_adds"] == 12_960 + 1024 + 256 and t.totals["params"] == 960 + 64 + 10
    assert t.config.convention == "fvcore"


def test_rows_under_the_tfslim_convention():
    t = table("tfslim")
    # 11-way logits (a background class): fc 16*11 = 176 weights + 11 biases; BN 3 per channel
    assert t.rows[-1]["out_channels"] == 11 and t.rows[-1]["out_shape"] == (1, 1, 11)
    assert [r["params"] for r in t.rows] == [600 + 24, 72 + 24, 128 + 48, 0, 176 + 11]
    assert t.totals["mult_adds"] == 12_960 + 16  # logits MACs 176 instead of 160
    assert t.config.classes == 10  # the config keeps the requested class count


def test_config_and_serialisation():
    t = table(rounding="slim")
    assert t.config == Config(1.0, 8, "mobilenet_v1", "slim", "paper", 10, "net")
    assert isinstance(t.config.alpha, float) and t.config.label == "1-8"
    assert Config(0.75, 160).label == "0.75-160" and Config().label == "1-224"
    d = t.to_dict()
    assert d["config"] == {"alpha": 1.0, "resolution": 8, "variant": "mobilenet_v1", "rounding": "slim",
                           "convention": "paper", "classes": 10, "spec": "net"}
    assert d["layers"] is t.rows and d["totals"] is t.totals
    df = t.to_frame()
    assert list(df.index) == [0, 1, 2, 3, 4] and df.index.name == "index"
    assert list(df.columns) == list(COLUMNS[1:])
    assert df.loc[2, "type"] == CONV1X1 and int(df.loc[0, "mult_adds"]) == 9600


def test_by_type_sums_in_first_seen_order():
    spec = {"layers": [{"type": "separable", "out": 8, "repeat": 2}, {"type": "avgpool"},
                       {"type": "fc"}]}
    t = layer_table(1.0, 4, spec=spec, classes=2)
    # input 4x4x3: dw 9*3*16 = 432, pw 3*8*16 = 384; dw 9*8*16 = 1,152, pw 8*8*16 = 1,024; fc 8*2 = 16
    assert t.by_type() == {DW3X3: {"mult_adds": 432 + 1152, "params": 27 + 72},
                           CONV1X1: {"mult_adds": 384 + 1024, "params": 24 + 64},
                           AVG_POOL: {"mult_adds": 0, "params": 0},
                           FULLY_CONNECTED: {"mult_adds": 16, "params": 16}}
    assert list(t.by_type()) == [DW3X3, CONV1X1, AVG_POOL, FULLY_CONNECTED]
    # a linear layer on a spatial input is refused, not counted as if pooled
    with pytest.raises(CostModelError, match=r"^layer fc: a linear layer needs a 1x1 input; "
                                             r"alpha 1, resolution 4 gives it a larger one"):
        layer_table(1.0, 4, spec={"layers": spec["layers"][:1] + [{"type": "fc"}]})


def test_empty_totals_give_zero_shares():
    # a single avgpool counts nothing under the paper convention: shares are 0, not a division error
    t = layer_table(1.0, 4, spec={"layers": [{"type": "avgpool"}]})
    assert t.totals["mult_adds"] == 0 and t.totals["params"] == 0
    assert t.rows[0]["mult_adds_pct"] == 0.0 and t.rows[0]["params_pct"] == 0.0


def test_count_and_layer_type_by_kind():
    conv = Convention("c", "test", norm_ops_per_element=2, norm_params_per_channel=3,
                      pool_ops_per_input=5, fc_bias=True)
    dw = Layer(0, "d", "dw", 3, 2, 8, 8, 9, 5)
    c = count_layer(dw, conv)
    # 3*3*1*8 = 72 weights x 5*5 pixels = 1,800; BN 2 x 8*25 = 400; BN params 3 x 8 = 24
    assert c == Count(weight_mult_adds=1800, norm_ops=400, weight_params=72, norm_params=24)
    assert (c.mult_adds, c.params) == (2200, 96)
    pool = count_layer(Layer(1, "p", "avgpool", 0, 1, 16, 16, 4, 1), conv)
    assert pool == Count(pool_ops=5 * 16 * 4 * 4) and pool.mult_adds == 1280
    fc = count_layer(Layer(2, "f", "fc", 1, 1, 16, 10, 1, 1), conv)
    assert fc == Count(weight_mult_adds=160, weight_params=160, bias_params=10)
    assert fc.params == 170
    std = count_layer(Layer(3, "c", "conv", 3, 1, 4, 6, 2, 2), get_convention("paper"))
    assert std == Count(weight_mult_adds=3 * 3 * 4 * 6 * 4, weight_params=216)
    kinds = ("conv", "pw", "dw", "avgpool", "fc", "maxpool", "gconv")
    # a pool keeps its window (kernel 0: the global pool); pointwise and FC carry no kernel
    assert [type_name(Layer(0, "x", k, 7, 1, 1, 1, 1, 1).type) for k in kinds] \
        == ["Conv 7x7", "Conv 1x1", "Conv DW 7x7", "Avg Pool 7x7", "FC", "Max Pool 7x7",
            "Conv Group 7x7"]
    assert type_name(Layer(0, "x", "avgpool", 0, 1, 1, 1, 1, 1).type) == "Avg Pool"
    assert type_name(Layer(0, "x", "conv", 1, 1, 1, 1, 1, 1, kernel_w=7).type) == "Conv 1x7"


def test_unknown_kind_and_double_registration():
    with pytest.raises(NotImplementedError) as e:
        count_layer(Layer(0, "x", "lstm", 1, 1, 1, 1, 1, 1), get_convention("paper"))
    assert str(e.value) == "no counting function for layer kind 'lstm'"
    with pytest.raises(RuntimeError) as e:
        register("conv")(lambda layer, conv: Count())
    assert str(e.value) == "counter for 'conv' registered twice"
    try:
        fn = register("test-kind")(lambda layer, conv: Count(pool_ops=7))
        assert KIND_COUNTERS["test-kind"] is fn
        assert count_layer(Layer(0, "x", "test-kind", 1, 1, 1, 1, 1, 1), CONVENTIONS["paper"]).pool_ops == 7
    finally:
        KIND_COUNTERS.pop("test-kind", None)


def test_conventions_by_name_and_object():
    fv = get_convention("fvcore")
    assert (fv.norm_ops_per_element, fv.norm_params_per_channel, fv.pool_ops_per_input, fv.fc_bias,
            fv.extra_classes) == (2, 2, 1, True, 0)
    sl = get_convention("tfslim")
    assert (sl.norm_ops_per_element, sl.norm_params_per_channel, sl.pool_ops_per_input, sl.fc_bias,
            sl.extra_classes) == (0, 3, 0, True, 1)
    pa = get_convention("paper")
    assert (pa.norm_ops_per_element, pa.norm_params_per_channel, pa.pool_ops_per_input, pa.fc_bias,
            pa.extra_classes) == (0, 0, 0, False, 0)
    assert get_convention(fv) is fv
    with pytest.raises(CostModelError) as e:
        get_convention("keras")
    assert str(e.value) == "convention 'keras' is unknown; allowed: paper, fvcore, tfslim"


def test_layer_table_defaults_are_the_papers_network():
    # 1.0 MobileNet-224, paper convention: 568,740,352 mult-adds and 4,209,088 params (Table 1
    # recount, tests/test_engine.py), 1000 classes, int rounding, base variant
    t = layer_table()
    assert t.config == Config(1.0, 224, "mobilenet_v1", "int", "paper", 1000, "mobilenet_v1")
    assert (t.totals["mult_adds"], t.totals["params"]) == (568_740_352, 4_209_088)
    assert t.rows[-1]["out_channels"] == 1000


def test_padded_mult_adds():
    import numpy as np

    from costmodel.core.engine import padded_mult_adds

    paper = get_convention("paper")  # mult-adds are the weights' only
    pw = Layer(2, "conv_pw_1", "pw", 1, 1, 8, 16, 4, 4)
    # exact: 8*16 weights x 4*4 pixels = 2,048; padded to 16: 16*16*16 = 4,096; to 3: in 8 -> 9,
    # out 16 -> 18: 9*18*16 = 2,592; input kept: 8*16*16 = 2,048
    assert padded_mult_adds(pw, paper, 1) == 2048
    assert padded_mult_adds(pw, paper, 16) == 4096 and padded_mult_adds(pw, paper, 3) == 2592
    assert padded_mult_adds(pw, paper, 16, keep_input=True) == 2048
    got = padded_mult_adds(pw, paper, 16, keep_input=np.array([True, False]))
    assert got.tolist() == [2048, 4096]


def test_memory_terms():
    from costmodel.core.engine import (
        activation_bytes,
        input_bytes,
        live_elements,
        peak_activation_bytes,
        traffic_bytes,
    )

    pw = Layer(2, "conv_pw_1", "pw", 1, 1, 8, 16, 4, 4)
    # output 4*4*16 = 256 elements = 1,024 B; live input + output 128 + 256 = 384
    assert activation_bytes(pw) == 1024 and live_elements(pw) == 384
    # input 4*4*8 = 128 elements = 512 B; batch 3: 1,536 B
    assert input_bytes(pw) == 512 and input_bytes(pw, batch=3) == 1536
    # weights 8*16 = 128 plus the live pair once, fp32: (128 + 384) * 4 = 2,048; batch 3:
    # (128 + 3 * 384) * 4 = 5,120
    assert traffic_bytes(pw, 128) == 2048 and traffic_bytes(pw, 128, batch=3) == 5120
    conv = Layer(0, "conv1", "conv", 3, 2, 3, 8, 8, 4)  # 8*8*3 + 4*4*8 = 320 live
    assert peak_activation_bytes([conv, pw]) == 384 * 4
    assert peak_activation_bytes([conv]) == 320 * 4
    with pytest.raises(ValueError) as e:
        peak_activation_bytes([])
    assert str(e.value) == "peak activation of no layers"
