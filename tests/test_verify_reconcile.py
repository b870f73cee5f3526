"""costmodel.crosscheck.verify, quick: the reconciliation logic on a network small enough to work
out by hand, and the agreement rule (a residual of exactly 1 is a mismatch). Runs in seconds, so
the mutation run (scripts/mutation.sh) can use it; tests/test_verify.py covers the 16 paper configs.

TINY at resolution 8, alpha 1, 10 classes (TF SAME padding: 8 -> 4):
  conv1     3x3 s2, 8x8x3 -> 4x4x8:  weights 3*3*3*8 = 216, MACs 216 * 4*4 = 3,456
  conv_dw_1 3x3 s1, 4x4x8 -> 4x4x8:  weights 3*3*8 = 72,    MACs 72 * 16 = 1,152
  conv_pw_1 1x1,    4x4x8 -> 4x4x16: weights 8*16 = 128,    MACs 128 * 16 = 2,048
  avg_pool          4x4x16 -> 1x1x16: 256 inputs, 16 outputs
  fc                16 -> 10:        weights 160, MACs 160, 10 outputs, 10 biases
Quantities: weight MACs 3,456 + 1,152 + 2,048 + 160 = 6,816; BN (= ReLU) outputs
4*4*8 + 4*4*8 + 4*4*16 = 512; BN channels 8 + 8 + 16 = 32; weights 216 + 72 + 128 + 160 = 576.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import warnings

import pytest

pytest.importorskip("torch", reason="torch is not installed: pip install 'costmodel[torch]'")
pytest.importorskip("fvcore", reason="fvcore is not installed: pip install 'costmodel[torch]'")

from costmodel.core.arch import get_description, resolve  # noqa: E402
from costmodel.core.conventions import get_convention  # noqa: E402
from costmodel.core.engine import Config, layer_table  # noqa: E402
from costmodel.core.kinds import CONV3X3, Kind  # noqa: E402
from costmodel.crosscheck import verify as V  # noqa: E402
from costmodel.crosscheck.torch_model import build_model  # noqa: E402
from costmodel.errors import CostModelError  # noqa: E402
from costmodel.io.grids import PAPER_CONFIGS  # noqa: E402

TINY = {"name": "tiny", "layers": [{"type": "conv", "kernel": 3, "stride": 2, "out": 8},
                                   {"type": "separable", "stride": 1, "out": 16},
                                   {"type": "avgpool"}, {"type": "fc"}]}
WEIGHT_MACS = 3456 + 1152 + 2048 + 160  # 6,816
BN_OUT = 128 + 128 + 256  # 512
BN_CH = 8 + 8 + 16  # 32
POOL_IN, POOL_OUT, FC_OUT = 4 * 4 * 16, 16, 10
WEIGHT_PARAMS = 216 + 72 + 128 + 160  # 576
QUANTITIES = {"weight_macs": WEIGHT_MACS, "bn_outputs": BN_OUT, "relu_outputs": BN_OUT,
              "relu6_silu_outputs": 0, "gelu_outputs": 0,
              "bn_channels": BN_CH, "pool_inputs": POOL_IN, "pool_outputs": POOL_OUT,
              "other_pool_inputs": 0, "window_avg_outputs": 0, "lrn_window": 0, "lrn_outputs": 0,
              "conv_bias_outputs": 0, "fc_outputs": FC_OUT, "weight_params": WEIGHT_PARAMS,
              "fc_biases": FC_OUT, "conv_biases": 0}
# Each counter's total by its documented rule (verify.EXTERNAL_COUNTERS notes):
EXPECTED = {
    "fvcore": WEIGHT_MACS + 2 * BN_OUT + POOL_IN,  # 8,096
    "flop_counter": 2 * WEIGHT_MACS,  # 13,632
    "ptflops": WEIGHT_MACS + 2 * BN_OUT + 2 * BN_OUT + 2 * POOL_IN + FC_OUT,  # 9,386
    "ptflops-aten": WEIGHT_MACS + FC_OUT,  # 6,826
    "thop": WEIGHT_MACS + 4 * BN_OUT + POOL_IN + POOL_OUT,  # 9,136
    "torchinfo": WEIGHT_MACS + 2 * BN_CH + FC_OUT,  # 6,890
}
MODEL_PARAMS = WEIGHT_PARAMS + 2 * BN_CH + FC_OUT  # BN weight + bias, FC bias: 650


def table(convention: str = "paper", classes: int = 10):
    return layer_table(1.0, 8, spec=TINY, classes=classes, convention=convention)


LAYERS = resolve(get_description(TINY), "mobilenet_v1", 1.0, 8, "int", 10)


def test_closed_form():
    assert EXPECTED == {"fvcore": 8096, "flop_counter": 13632, "ptflops": 9386,
                        "ptflops-aten": 6826, "thop": 9136, "torchinfo": 6890}
    assert MODEL_PARAMS == 650


def test_quantities_are_read_from_the_rows():
    assert V.quantities(table().rows, LAYERS) == QUANTITIES
    # the same network under another convention has the same quantities (they are shapes)
    assert V.quantities(table("fvcore").rows, LAYERS) == QUANTITIES


def test_row_helpers():
    assert [V._has_bn(lay) for lay in LAYERS] == [True, True, True, False, False]
    assert [V._adaptive_avg(lay) for lay in LAYERS] == [False, False, False, True, False]
    assert V._elements((4, 4, 16)) == 256 and V._elements((1, 1, 10)) == 10


# ------------------------------------------------------------------------ the agreement rule
def layer(fv_ma: int = 100, exp_ma: int = 100, fv_p: int = 10, exp_p: int = 10,
          model_shape: tuple[int, int, int] | None = (4, 4, 8)) -> V.LayerCheck:
    return V.LayerCheck("conv1", CONV3X3, (4, 4, 8), model_shape, 90, fv_ma, exp_ma, 7, fv_p, exp_p)


def test_a_layer_agrees_only_with_zero_residuals():
    ok = layer()
    assert ok.ok and ok.shape_ok
    assert ok.mult_adds_diff == 100 - 90 and ok.params_diff == 10 - 7
    assert ok.mult_adds_residual == 0 and ok.params_residual == 0


@pytest.mark.parametrize("kwargs, what, residual", [
    ({"fv_ma": 101}, "mult_adds_residual", 1), ({"fv_ma": 99}, "mult_adds_residual", -1),
    ({"fv_p": 11}, "params_residual", 1), ({"fv_p": 9}, "params_residual", -1),
])
def test_a_one_mac_residual_is_a_mismatch(kwargs, what, residual):
    r = layer(**kwargs)
    assert getattr(r, what) == residual
    assert not r.ok
    v = V.Verification(Config(), 1000, [r], [])
    assert not v.agree
    [m] = v.mismatches()
    assert m["what"] == "layer conv1" and m["config"] == "1-224"
    assert m["detail"].endswith(f"residual {residual}")


def test_layer_mismatch_details():
    r = layer(fv_ma=1_234_567, fv_p=12, model_shape=(5, 5, 8))
    assert not r.shape_ok
    [m] = V.Verification(Config(0.5, 160), 1000, [r], []).mismatches()
    assert m["config"] == "0.5-160"
    assert m["detail"] == ("mult-adds: fvcore 1,234,567, engine (fvcore convention) 100, residual "
                           "1,234,467; params: fvcore 12, engine (fvcore convention) 10, residual 2; "
                           "output shape: table 4x4x8, torch 5x5x8")
    rec = r.record()
    assert rec["mult_adds_residual"] == 1_234_467 and rec["params_residual"] == 2
    assert rec["mult_adds_diff"] == 1_234_567 - 90 and rec["params_diff"] == 12 - 7
    assert rec["shape_ok"] is False and rec["ok"] is False and rec["name"] == "conv1"


def test_only_the_shape_can_fail():
    r = layer(model_shape=None)
    assert not r.ok and r.mult_adds_residual == 0
    [m] = V.Verification(Config(), 1000, [r], []).mismatches()
    assert m["detail"] == "output shape: table 4x4x8, torch ?"


@pytest.mark.parametrize("offset", [1, -1])
def test_a_counter_total_one_off_is_a_mismatch(offset):
    spec = V.EXTERNAL_COUNTERS["thop"]
    good = V.reconcile(spec, "mult_adds", EXPECTED["thop"], table(), LAYERS)
    assert good.residual == 0 and good.ok
    bad = V.reconcile(spec, "mult_adds", EXPECTED["thop"] + offset, table(), LAYERS)
    assert bad.residual == offset and not bad.ok
    v = V.Verification(Config(), 10, [layer()], [good, bad])
    assert not v.agree
    [m] = v.mismatches()
    assert m == {"config": "1-224", "what": "thop mult_adds",
                 "detail": f"measured {EXPECTED['thop'] + offset:,}, explained 9,136, "
                           f"residual {offset}"}
    assert V.Verification(Config(), 10, [layer()], [good]).agree


def test_an_error_is_a_mismatch():
    v = V.Verification(Config(), 10, [layer()], [], errors={"thop": "RuntimeError: x"})
    assert not v.agree
    assert v.mismatches() == [{"config": "1-224", "what": "thop", "detail": "error: RuntimeError: x"}]


# ------------------------------------------------------------------------------ reconcile
def test_reconcile_thop_against_the_paper_table():
    c = V.reconcile(V.EXTERNAL_COUNTERS["thop"], "mult_adds", 9136, table(), LAYERS, "9.9")
    assert (c.counter, c.version, c.quantity, c.unit) == ("thop", "9.9", "mult_adds",
                                                          "ops (MACs for conv/linear)")
    assert c.call == "thop.profile(model, inputs=(x,))"
    assert c.measured == 9136 and c.engine_total == WEIGHT_MACS  # paper: weights only
    assert c.explained == 9136 and c.difference == 9136 - WEIGHT_MACS
    terms = {t.key: t for t in c.terms}
    assert list(terms) == ["weights", "bn", "pool"]  # ReLU and bias: neither side counts them
    assert (terms["weights"].counted, terms["weights"].engine) == (WEIGHT_MACS, WEIGHT_MACS)
    assert (terms["bn"].counted, terms["bn"].engine) == (4 * BN_OUT, 0)
    assert (terms["pool"].counted, terms["pool"].engine) == (POOL_IN + POOL_OUT, 0)
    assert terms["bn"].difference == 2048 and terms["weights"].difference == 0
    assert terms["bn"].rule == "4 x 512 BN outputs"
    assert terms["pool"].rule == "1 x 256 pool inputs + 1 x 16 pool outputs"
    assert terms["bn"].label == "BatchNorm" and terms["pool"].label == "pooling"
    assert V.not_counted(c) == ["ReLU", "other activations", "LRN", "bias adds"]
    rec = c.record()
    assert rec["explained"] == 9136 and rec["residual"] == 0 and rec["ok"] is True
    assert rec["difference"] == 9136 - 6816
    assert rec["terms"][1] == {"key": "bn", "label": "BatchNorm", "rule": "4 x 512 BN outputs",
                               "counted": 2048, "engine": 0, "difference": 2048}


def test_reconcile_params_and_engine_terms_under_fvcore():
    # the fvcore convention counts BN 2 per output and per channel, pooling 1 per input, FC bias
    t = table("fvcore")
    c = V.reconcile(V.EXTERNAL_COUNTERS["thop"], "params", MODEL_PARAMS, t, LAYERS)
    assert (c.unit, c.call) == ("parameters", "thop.profile(model, inputs=(x,))[1]")
    assert c.engine_total == MODEL_PARAMS and c.residual == 0 and c.difference == 0
    assert [(x.key, x.counted, x.engine) for x in c.terms] == [
        ("weights", 576, 576), ("bn", 64, 64), ("bias", 10, 10)]
    assert V.not_counted(c) == []
    fc = V.reconcile(V.EXTERNAL_COUNTERS["flop_counter"], "mult_adds", 2 * WEIGHT_MACS, t, LAYERS)
    # flop_counter counts no BN or pooling; the engine (fvcore convention) does
    assert [(x.key, x.counted, x.engine, x.rule) for x in fc.terms] == [
        ("weights", 13632, 6816, "2 x 6,816 weight mult-adds"),
        ("bn", 0, 1024, "not counted"), ("pool", 0, 256, "not counted")]
    assert fc.engine_total == WEIGHT_MACS + 2 * BN_OUT + POOL_IN
    assert fc.difference == 13632 - 8096 and fc.residual == 0


def test_profile_from_each_convention():
    p = V.profile_from_convention(get_convention("paper"))
    assert p.mult_adds == (V.Component("weights", 1, "weight_macs"),)
    assert p.params == (V.Component("weights", 1, "weight_params"),)
    p = V.profile_from_convention(get_convention("fvcore"))
    assert p.mult_adds == (V.Component("weights", 1, "weight_macs"), V.Component("bn", 2, "bn_outputs"),
                           V.Component("pool", 1, "pool_inputs"))
    assert p.params == (V.Component("weights", 1, "weight_params"),
                        V.Component("bn", 2, "bn_channels"), V.Component("bias", 1, "fc_biases"),
                        V.Component("bias", 1, "conv_biases"))
    p = V.profile_from_convention(get_convention("tfslim"))
    assert p.params == (V.Component("weights", 1, "weight_params"),
                        V.Component("bn", 3, "bn_channels"), V.Component("bias", 1, "fc_biases"),
                        V.Component("bias", 1, "conv_biases"))


def test_counter_names_and_fvcore_spec():
    assert list(V.EXTERNAL_COUNTERS) == ["flop_counter", "ptflops", "ptflops-aten", "thop",
                                         "torchinfo"]
    fv = V._fvcore_spec()
    assert fv.name == "fvcore" and fv.run is None
    assert fv.profile == V.profile_from_convention(get_convention("fvcore"))
    assert fv.params_call == "parameter_count(model)['']"


def test_paper_grid():
    # Table 7's alphas (1.0, 0.75, 0.5, 0.25) x Table 8's resolutions (224, 192, 160, 128),
    # alpha-major: the order verify --grid and its reports list them in
    g = list(PAPER_CONFIGS)
    assert len(g) == 16 and len(set(g)) == 16
    assert g[:5] == [(1.0, 224), (1.0, 192), (1.0, 160), (1.0, 128), (0.75, 224)]
    assert g[-1] == (0.25, 128)


def test_versions_and_installed():
    assert V._version("costmodel-no-such-package") is None
    assert V._version("torch") == __import__("torch").__version__
    assert V._installed("torch") and not V._installed("costmodel_no_such_module")


def test_quiet_silences_and_restores(capsys):
    before = logging.root.manager.disable
    with V.quiet():
        print("hidden")
        sys.stderr.write("hidden too\n")
        warnings.warn("not shown", UserWarning, stacklevel=1)
        assert logging.root.manager.disable == logging.CRITICAL
    assert logging.root.manager.disable == before
    out, err = capsys.readouterr()
    assert out == "" and err == ""


# ----------------------------------------------------------------------------- check_size
def test_check_size_boundaries(monkeypatch):
    t = table()
    # need = 576 weights * 4 B + the largest live pair, conv_pw_1: (128 + 256) * 4 B = 2,304 + 1,536
    need = 576 * 4 + (128 + 256) * 4
    assert t.totals["peak_activation_bytes"] == (128 + 256) * 4
    monkeypatch.setattr(V, "MAX_MODEL_BYTES", need)
    monkeypatch.setattr(V, "MAX_MULT_ADDS", WEIGHT_MACS)
    V.check_size(t)  # exactly at both limits: allowed
    monkeypatch.setattr(V, "MAX_MODEL_BYTES", need - 1)
    with pytest.raises(CostModelError, match="config alpha=1 resolution=8 is too large"):
        V.check_size(t)
    monkeypatch.setattr(V, "MAX_MODEL_BYTES", need)
    monkeypatch.setattr(V, "MAX_MULT_ADDS", WEIGHT_MACS - 1)
    with pytest.raises(CostModelError, match="too large"):
        V.check_size(t)


def test_check_size_figures():
    # one 1x1 conv, 1024 -> 1024 channels (unscaled) at 1024 x 1024: weights 2^20 (4 MiB fp32),
    # input and output 2^30 elements each: (2^31 * 4 B = 8 GiB) + 4 MiB = 8.004 GiB; mult-adds
    # 2^20 weights * 2^20 pixels = 2^40 = 1,099,511,627,776 = 1099.5 G
    big = {"input_channels": 1024, "layers": [{"type": "pw", "out": 1024, "scale": False}]}
    t = layer_table(1.0, 1024, spec=big)
    assert t.totals["weight_mult_adds"] == 2**40
    with pytest.raises(CostModelError) as e:
        V.check_size(t)
    assert str(e.value) == ("config alpha=1 resolution=1024 is too large to build and count (8.0 GiB "
                            "fp32, 1099.5 G mult-adds); allowed: up to 2 GiB and 20 G mult-adds "
                            "(a smaller alpha or resolution)")


def test_check_size_message():
    # 8.0-2048: far past 2 GiB and 20 G mult-adds
    with pytest.raises(CostModelError) as e:
        V.check_size(layer_table(8.0, 2048))
    msg = str(e.value)
    assert msg.startswith("config alpha=8 resolution=2048 is too large to build and count (")
    assert "allowed: up to 2 GiB and 20 G mult-adds (a smaller alpha or resolution)" in msg


# ------------------------------------------------------------------------ verify, end to end
@pytest.fixture(scope="module")
def tiny_all():
    return V.verify(1.0, 8, spec=TINY, classes=10)


def test_verify_tiny_every_counter_in_closed_form(tiny_all):
    v = tiny_all
    assert not v.errors and v.agree and v.mismatches() == []
    assert v.model_classes == 10 and v.label == "1-8"
    for name, total in EXPECTED.items():
        if name in v.skipped:
            continue
        c = v.counter(name)
        assert c.measured == total, name
        assert c.residual == 0 and c.engine_total == WEIGHT_MACS
    for name in ("fvcore", "ptflops", "ptflops-aten", "thop", "torchinfo"):
        if name not in v.skipped:
            assert v.counter(name, "params").measured == MODEL_PARAMS
    with pytest.raises(KeyError) as e:
        v.counter("flop_counter", "params")  # reports no parameters
    assert e.value.args == ("flop_counter params",)
    d = v.to_dict()
    assert set(d) == {"config", "model_classes", "agree", "layers", "counters", "skipped", "errors",
                      "mismatches"}
    assert len(d["counters"]) == len(v.counters) and d["skipped"] == v.skipped and d["errors"] == {}
    assert d["agree"] is True and d["mismatches"] == [] and d["model_classes"] == 10
    assert d["config"]["resolution"] == 8 and len(d["layers"]) == 5


def test_verify_tiny_per_layer(tiny_all):
    rows = {r.name: r for r in tiny_all.layers}
    assert list(rows) == ["conv1", "conv_dw_1", "conv_pw_1", "avg_pool", "fc"]
    assert [r.model_shape for r in rows.values()] == [(4, 4, 8), (4, 4, 8), (4, 4, 16), (1, 1, 16),
                                                      (1, 1, 10)]
    conv1 = rows["conv1"]
    # paper engine: weights only; fvcore adds BN 2 per output (2 * 128)
    assert (conv1.engine_mult_adds, conv1.fvcore_mult_adds, conv1.expected_mult_adds) == (
        3456, 3456 + 256, 3456 + 256)
    assert (conv1.engine_params, conv1.fvcore_params, conv1.expected_params) == (216, 216 + 16, 232)
    pool = rows["avg_pool"]
    assert (pool.engine_mult_adds, pool.fvcore_mult_adds) == (0, 256)
    fc = rows["fc"]
    assert (fc.engine_mult_adds, fc.fvcore_mult_adds, fc.engine_params, fc.fvcore_params) == (
        160, 160, 160, 170)


def test_verify_tfslim_builds_the_background_class():
    v = V.verify(1.0, 8, spec=TINY, classes=10, convention="tfslim", counters=[])
    # tfslim: one extra logit, BN 3 vectors per channel; fvcore (torch model) has 2
    assert v.model_classes == 11 and v.agree
    fvp = v.counter("fvcore", "params")
    assert fvp.measured == WEIGHT_PARAMS + 16 + 2 * BN_CH + 11  # fc 16*11 = 176 weights
    assert fvp.engine_total == WEIGHT_PARAMS + 16 + 3 * BN_CH + 11
    assert [c.counter for c in v.counters] == ["fvcore", "fvcore"]


def test_verify_reuses_a_matching_model_and_refuses_another():
    model = build_model(1.0, 8, spec=TINY, classes=10)
    v = V.verify(1.0, 8, spec=TINY, classes=10, counters=[], model=model)
    assert v.agree
    with pytest.raises(ValueError, match="does not match"):
        V.verify(1.0, 16, spec=TINY, classes=10, counters=[], model=model)
    with pytest.raises(ValueError, match="does not match"):
        V.verify(1.0, 8, spec=TINY, classes=10, counters=[], convention="tfslim", model=model)


def test_verify_bad_input_and_missing_tools(monkeypatch):
    with pytest.raises(CostModelError) as e:
        V.verify(1.0, 8, spec=TINY, counters=["bogus"])
    assert str(e.value) == ("counter 'bogus' is unknown; allowed: flop_counter, ptflops, ptflops-aten, "
                            "thop, torchinfo")
    real = V._installed
    monkeypatch.setattr(V, "_installed", lambda pkg: pkg != "thop" and real(pkg))
    v = V.verify(1.0, 8, spec=TINY, classes=10, counters=["thop"])
    assert v.skipped == {"thop": "thop is not installed (pip install thop)"} and v.agree
    monkeypatch.setattr(V, "_installed", lambda pkg: False)
    with pytest.raises(CostModelError) as e:
        V.verify(1.0, 8, spec=TINY, counters=[])
    assert str(e.value) == ("costmodel verify needs fvcore, which is not installed; allowed: install "
                            "it with pip install 'costmodel[torch]'")


def test_a_failing_counter_is_reported_in_one_line(monkeypatch):
    def boom(model, x):
        raise RuntimeError("first line\n   second   line " + "x" * 400)

    monkeypatch.setitem(V.EXTERNAL_COUNTERS, "flop_counter",
                        dataclasses.replace(V.EXTERNAL_COUNTERS["flop_counter"], run=boom))
    v = V.verify(1.0, 8, spec=TINY, classes=10, counters=["flop_counter", "thop"])
    err = v.errors["flop_counter"]
    assert err.startswith("RuntimeError: first line second line xxx") and len(err) == 300
    assert not v.agree
    # the other counter still ran and reconciled
    assert "thop" in v.skipped or v.counter("thop").residual == 0


def test_ptflops_returning_none_is_an_error(monkeypatch):
    # ptflops prints its own traceback and returns (None, None) when it fails
    ptflops = pytest.importorskip("ptflops", reason="ptflops is not installed")
    monkeypatch.setattr(ptflops, "get_model_complexity_info", lambda *a, **k: (None, None))
    v = V.verify(1.0, 8, spec=TINY, classes=10, counters=["ptflops", "ptflops-aten"])
    assert v.errors == {
        "ptflops": "RuntimeError: ptflops (pytorch backend) failed on this model",
        "ptflops-aten": "RuntimeError: ptflops (aten backend) failed on this model"}
    assert [c.counter for c in v.counters] == ["fvcore", "fvcore"] and not v.agree


def test_verify_defaults():
    # the documented defaults (verify at 224 runs in tests/test_verify.py; here only the signature)
    import inspect

    p = inspect.signature(V.verify).parameters
    assert {k: p[k].default for k in ("alpha", "resolution", "variant", "rounding", "convention",
                                      "classes", "spec", "counters", "model")} == {
        "alpha": 1.0, "resolution": 224, "variant": "mobilenet_v1", "rounding": "int",
        "convention": "paper", "classes": 1000, "spec": None, "counters": None, "model": None}
    q = inspect.signature(V.reconcile).parameters
    assert q["version"].default is None


def test_verify_default_classes_and_another_variant():
    # no classes given: a 1000-way FC (16 * 1000 weights); the shallow variant drops the five
    # 14x14x512 pairs: conv1 + 8 pairs + pool + FC = 19 layers
    v = V.verify(1.0, 8, spec=TINY, counters=[])
    assert v.model_classes == 1000 and v.layers[-1].engine_params == 16 * 1000 and v.agree
    s = V.verify(0.25, 32, variant="shallow", counters=[])
    assert len(s.layers) == 19 and s.agree and s.config.variant == "shallow"


def test_an_agreeing_layer_before_a_bad_one_is_skipped_not_the_end():
    v = V.Verification(Config(), 1000, [layer(), layer(fv_ma=101)], [])
    assert [m["detail"] for m in v.mismatches()] == [
        "mult-adds: fvcore 101, engine (fvcore convention) 100, residual 1"]


def test_layer_predicates():
    assert [V._act("relu")(lay) for lay in LAYERS] == [True, True, True, False, False]
    assert [V._other_pool(lay) for lay in LAYERS] == [False] * 5
    assert [lay.kind == Kind.FC for lay in LAYERS] == [False, False, False, False, True]


@pytest.mark.parametrize("name", ["flop_counter", "ptflops", "ptflops-aten", "thop", "torchinfo"])
def test_each_counter_run_directly(name):
    # the counters' run functions called here (not only through verify), on TINY's model
    spec = V.EXTERNAL_COUNTERS[name]
    pytest.importorskip(spec.package.replace("-", "_"), reason=f"{spec.package} is not installed")
    run = {"flop_counter": V._run_flop_counter, "ptflops": V._run_ptflops("pytorch"),
           "ptflops-aten": V._run_ptflops("aten"), "thop": V._run_thop,
           "torchinfo": V._run_torchinfo}[name]
    model = build_model(1.0, 8, spec=TINY, classes=10).eval()
    with __import__("torch").no_grad(), V.quiet():
        total, params = run(model, model.example_input(1))
    assert total == EXPECTED[name]
    assert params == (None if name == "flop_counter" else MODEL_PARAMS)


def test_verify_records_versions_calls_and_names(tiny_all):
    from importlib import metadata

    v = tiny_all
    assert [r.name for r in v.layers] == ["conv1", "conv_dw_1", "conv_pw_1", "avg_pool", "fc"]
    fv_spec = V._fvcore_spec()
    for c in v.counters:
        spec = fv_spec if c.counter == "fvcore" else V.EXTERNAL_COUNTERS[c.counter]
        assert c.version == metadata.version(spec.package), c.counter
        assert c.notes == spec.notes and c.notes
        assert c.call == (spec.call if c.quantity == "mult_adds" else spec.params_call)
    fv, fvp = v.counter("fvcore"), v.counter("fvcore", "params")
    assert (fv.call, fv.unit) == ("FlopCountAnalysis(model, x).total()", "MACs (1 per multiply-add)")
    assert (fvp.call, fvp.unit) == ("parameter_count(model)['']", "parameters")
    assert fv.notes == ("conv/linear 1 per multiply-add without bias adds; aten::batch_norm 2 per "
                        "output element (eval, affine); adaptive_avg_pool2d 1 per input element; "
                        "ReLU and padding not counted")
    assert fv_spec.package == "fvcore" and fv_spec.name == "fvcore" and fv.version
    assert fv.version == metadata.version("fvcore")


def test_a_skipped_counter_does_not_stop_the_next(monkeypatch):
    real = V._installed
    monkeypatch.setattr(V, "_installed", lambda pkg: pkg != "thop" and real(pkg))
    v = V.verify(1.0, 8, spec=TINY, classes=10, counters=["thop", "torchinfo"])
    assert "thop" in v.skipped and v.counter("torchinfo").measured == EXPECTED["torchinfo"]
    assert v.counter("torchinfo", "params").measured == MODEL_PARAMS
