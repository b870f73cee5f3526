"""costmodel.crosscheck.verify and `costmodel verify`: the engine against fvcore (per layer) and the other
counters (totals explained as engine terms), on real torch models."""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="torch is not installed: pip install 'costmodel[torch]'")
pytest.importorskip("fvcore", reason="fvcore is not installed: pip install 'costmodel[torch]'")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from costmodel.cli import main  # noqa: E402
from costmodel.core import conventions  # noqa: E402
from costmodel.core.arch import get_description, resolve  # noqa: E402
from costmodel.core.engine import layer_table  # noqa: E402
from costmodel.crosscheck import verify as V  # noqa: E402
from costmodel.crosscheck.torch_model import CostModelNet, build_model  # noqa: E402
from costmodel.errors import CostModelError  # noqa: E402
from costmodel.io.grids import PAPER_CONFIGS  # noqa: E402
from costmodel.report.formatting import shape_label  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------------
# 1.0 MobileNet-224 in closed form (paper Table 1 shapes, TF SAME padding: 224 -> 112 -> 56 ->
# 28 -> 14 -> 7). dw: 3*3*C*H^2, pw: Cin*Cout*H^2.
CONV1 = 3 * 3 * 3 * 32 * 112**2  # 10,838,016
DW = 9 * (32 * 112**2 + 64 * 56**2 + 128 * 56**2 + 128 * 28**2 + 256 * 28**2 + 256 * 14**2
          + 5 * 512 * 14**2 + 512 * 7**2 + 1024 * 7**2)  # 17,385,984
PW = (32 * 64 * 112**2 + 64 * 128 * 56**2 + 128 * 128 * 56**2 + 128 * 256 * 28**2
      + 256 * 256 * 28**2 + 256 * 512 * 14**2 + 5 * 512 * 512 * 14**2 + 512 * 1024 * 7**2
      + 1024 * 1024 * 7**2)  # 539,492,352
FC = 1024 * 1000
WEIGHT_MACS = CONV1 + DW + PW + FC  # 568,740,352
# BatchNorm (and ReLU) outputs: every conv layer's output, by spatial size
BN_OUT = (112**2 * (32 + 32 + 64) + 56**2 * (64 + 128 + 128 + 128) + 28**2 * (128 + 256 + 256 + 256)
          + 14**2 * (256 + 512 + 10 * 512) + 7**2 * (512 + 1024 + 1024 + 1024))  # 5,042,688
BN_CH = (32 + 32 + 64 + 64 + 128 + 128 + 128 + 128 + 256 + 256 + 256 + 256 + 512 + 10 * 512
         + 512 + 1024 + 1024 + 1024)  # 10,944
POOL_IN = 7 * 7 * 1024  # 50,176
POOL_OUT = 1024
FC_OUT = 1000
WEIGHT_PARAMS = (3 * 3 * 3 * 32 + 9 * (32 + 64 + 128 + 128 + 256 + 256 + 5 * 512 + 512 + 1024)
                 + 32 * 64 + 64 * 128 + 128 * 128 + 128 * 256 + 256 * 256 + 256 * 512
                 + 5 * 512 * 512 + 512 * 1024 + 1024 * 1024 + 1024 * 1000)  # 4,209,088
TORCH_PARAMS = WEIGHT_PARAMS + 2 * BN_CH + FC_OUT  # + BN weight & bias, FC bias

# What each counter gives at 1.0-224 (counting rules: costmodel.crosscheck.verify.EXTERNAL_COUNTERS)
EXPECTED_224 = {
    "fvcore": WEIGHT_MACS + 2 * BN_OUT + POOL_IN,
    "flop_counter": 2 * WEIGHT_MACS,
    "ptflops": WEIGHT_MACS + 2 * BN_OUT + 2 * BN_OUT + 2 * POOL_IN + FC_OUT,  # ReLU/pool twice
    "ptflops-aten": WEIGHT_MACS + FC_OUT,
    "thop": WEIGHT_MACS + 4 * BN_OUT + POOL_IN + POOL_OUT,
    "torchinfo": WEIGHT_MACS + 2 * BN_CH + FC_OUT,
}
PACKAGE = {"fvcore": "fvcore", "flop_counter": "torch", "ptflops": "ptflops",
           "ptflops-aten": "ptflops", "thop": "thop", "torchinfo": "torchinfo"}


def test_closed_form_is_the_papers_figure():
    # MobileNets paper, Table 8 / Table 1: 1.0 MobileNet-224 has 569 M mult-adds, 4.2 M params
    assert round(WEIGHT_MACS / 1e6) == 569
    assert round(WEIGHT_PARAMS / 1e6, 1) == 4.2


@functools.cache
def _model(alpha: float, resolution: int, classes: int = 1000) -> CostModelNet:
    return build_model(alpha, resolution, classes=classes)


@functools.cache
def _verify(alpha: float, resolution: int, convention: str = "paper",
            counters: tuple[str, ...] = ()) -> V.Verification:
    classes = 1000 + conventions.get_convention(convention).extra_classes
    return V.verify(alpha, resolution, convention=convention, counters=list(counters),
                    model=_model(alpha, resolution, classes))


ALL = tuple(V.EXTERNAL_COUNTERS)


# ------------------------------------------------------------------------ fvcore, per layer
@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict]:
    """`costmodel verify --grid` run once (fvcore only): exit status and its JSON."""
    out = tmp_path_factory.mktemp("grid") / "grid.json"
    rc = main(["verify", "--grid", "--counters", "none", "--format", "json", "-o", str(out)])
    return rc, json.loads(out.read_text())


@pytest.mark.parametrize("alpha,resolution", list(PAPER_CONFIGS))
def test_fvcore_agrees_per_layer_on_the_16_paper_configs(grid, alpha, resolution):
    _, obj = grid
    (v,) = [c for c in obj["configs"]
            if (c["config"]["alpha"], c["config"]["resolution"]) == (alpha, resolution)]
    t = layer_table(alpha, resolution)
    fv = layer_table(alpha, resolution, convention="fvcore")
    assert [r["name"] for r in v["layers"]] == [r["name"] for r in t.rows]
    for r, row, frow in zip(v["layers"], t.rows, fv.rows):
        assert r["engine_mult_adds"] == row["mult_adds"] and r["engine_params"] == row["params"]
        assert r["fvcore_mult_adds"] == frow["mult_adds"], r["name"]
        assert r["fvcore_params"] == frow["params"], r["name"]
        assert r["model_shape"] == shape_label(row["out_shape"]), r["name"]  # JSON: as shown
    # nothing fvcore counts falls outside the table's rows
    (ma,) = [c for c in v["counters"] if c["quantity"] == "mult_adds"]
    (pa,) = [c for c in v["counters"] if c["quantity"] == "params"]
    assert sum(r["fvcore_mult_adds"] for r in v["layers"]) == ma["measured"] == fv.totals["mult_adds"]
    assert sum(r["fvcore_params"] for r in v["layers"]) == pa["measured"] == fv.totals["params"]
    assert v["agree"] is True


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alpha=st.integers(10, 150).map(lambda k: k / 100),
       resolution=st.integers(8, 72),
       rounding=st.sampled_from(["int", "slim", "divisible8"]),
       variant=st.sampled_from(["mobilenet_v1", "full_conv", "shallow"]),
       convention=st.sampled_from(list(conventions.CONVENTIONS)),
       classes=st.integers(1, 50))
def test_fvcore_agrees_per_layer_on_random_configs(alpha, resolution, rounding, variant,
                                                   convention, classes):
    v = V.verify(alpha, resolution, variant=variant, rounding=rounding, convention=convention,
                 classes=classes, counters=[])
    assert v.mismatches() == []
    fv = layer_table(alpha, resolution, variant=variant, rounding=rounding, convention="fvcore",
                     classes=classes + conventions.get_convention(convention).extra_classes)
    assert [r.fvcore_mult_adds for r in v.layers] == [r["mult_adds"] for r in fv.rows]
    assert [r.fvcore_params for r in v.layers] == [r["params"] for r in fv.rows]


# ------------------------------------------------------------------- every counter, totals
@pytest.mark.parametrize("name", list(EXPECTED_224))
def test_each_counter_at_224_in_closed_form(name):
    pytest.importorskip(PACKAGE[name], reason=f"{PACKAGE[name]} is not installed")
    v = _verify(1.0, 224, "paper", ALL)
    c = v.counter(name)
    assert c.measured == EXPECTED_224[name]
    assert c.residual == 0
    if name != "flop_counter":  # FlopCounterMode reports no parameters
        assert v.counter(name, "params").measured == TORCH_PARAMS == 4_231_976


def test_issue_figures_at_224():
    # issue #3 reports what the tools print at 1.0-224: ptflops 589.0M, thop 588.96M,
    # torchinfo 568.76M; fvcore "about 578.9M"
    for pkg in ("ptflops", "thop", "torchinfo"):
        pytest.importorskip(pkg, reason=f"{pkg} is not installed")
    v = _verify(1.0, 224, "paper", ALL)
    assert round(v.counter("ptflops").measured / 1e6, 1) == 589.0
    assert round(v.counter("thop").measured / 1e6, 2) == 588.96
    assert round(v.counter("torchinfo").measured / 1e6, 2) == 568.76
    assert round(v.counter("fvcore").measured / 1e6, 1) == 578.9


@pytest.mark.parametrize("convention", list(conventions.CONVENTIONS))
def test_reconciliation_identities_under_each_convention(convention):
    v = _verify(1.0, 224, convention, ALL)
    assert not v.errors
    ran = {c.counter for c in v.counters}
    assert ran == {"fvcore", *ALL} - set(v.skipped)
    for c in v.counters:
        # the engine's terms add up to its total; the counter's to its measurement
        assert sum(t.engine for t in c.terms) == c.engine_total
        assert c.measured == c.engine_total + sum(t.difference for t in c.terms), c.counter
        assert c.residual == 0
    fv, fvp = v.counter("fvcore"), v.counter("fvcore", "params")
    extra = conventions.get_convention(convention).extra_classes  # tfslim: 1001-way FC
    assert v.model_classes == 1000 + extra
    if convention == "fvcore":
        assert fv.difference == fvp.difference == 0
    if convention == "paper":
        assert fv.difference == 2 * BN_OUT + POOL_IN
        assert fvp.difference == 2 * BN_CH + FC_OUT
    if convention == "tfslim":  # TF-slim counts BN as 3 vectors per channel, torch has 2
        assert fv.difference == 2 * BN_OUT + POOL_IN
        assert fvp.difference == (2 - 3) * BN_CH
        assert fv.measured == EXPECTED_224["fvcore"] + 1024 * extra


def test_the_terms_are_read_from_the_rows():
    v = _verify(1.0, 224, "paper", ALL)
    thop = {t.key: t for t in v.counter("thop").terms}
    assert thop["bn"].counted == 4 * BN_OUT
    assert thop["bn"].rule == f"4 x {BN_OUT:,} BN outputs"
    assert thop["pool"].rule == f"1 x {POOL_IN:,} pool inputs + 1 x {POOL_OUT:,} pool outputs"
    layers = resolve(get_description(), "mobilenet_v1", 1.0, 224, "int", 1000)
    assert V.quantities(layer_table(1.0, 224).rows, layers) == {
        "weight_macs": WEIGHT_MACS, "bn_outputs": BN_OUT, "relu_outputs": BN_OUT,
        "relu6_silu_outputs": 0, "gelu_outputs": 0,
        "bn_channels": BN_CH, "pool_inputs": POOL_IN, "pool_outputs": POOL_OUT,
        "other_pool_inputs": 0, "window_avg_outputs": 0, "lrn_window": 0, "lrn_outputs": 0,
        "conv_bias_outputs": 0, "fc_outputs": FC_OUT, "weight_params": WEIGHT_PARAMS,
        "fc_biases": FC_OUT, "conv_biases": 0}


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alpha=st.integers(20, 120).map(lambda k: k / 100), resolution=st.integers(9, 48),
       rounding=st.sampled_from(["int", "slim", "divisible8"]),
       variant=st.sampled_from(["mobilenet_v1", "full_conv", "shallow"]))
def test_every_counter_reconciles_on_random_configs(alpha, resolution, rounding, variant):
    v = V.verify(alpha, resolution, variant=variant, rounding=rounding)
    assert not v.errors
    assert v.mismatches() == []


# ------------------------------------------------------------------- shapes, models, misc
# Even and large kernels, stride 3 and a strided 1x1: asymmetric SAME padding (ZeroPad2d) in
# most blocks, which every counter must count as 0.
ODD_SPEC = {"name": "odd", "layers": [
    {"type": "conv", "kernel": 2, "stride": 2, "out": 24},
    {"type": "separable", "kernel": 5, "stride": 3, "out": 40},
    {"type": "dw", "kernel": 4, "stride": 2},
    {"type": "pw", "stride": 2, "out": 56, "scale": False},
    {"type": "avgpool"}, {"type": "fc"}]}
# A body fragment: no pooling, no FC, alpha thins the input too.
FRAGMENT = {"name": "fragment", "input_channels": 512, "input_scale": True,
            "layers": [{"type": "separable", "out": 512}, {"type": "conv", "kernel": 2,
                                                            "stride": 2, "out": 64}]}


@pytest.mark.parametrize("spec,alpha,resolution", [(ODD_SPEC, 0.7, 45), (FRAGMENT, 0.5, 14)])
def test_user_descriptions_agree_with_every_counter(spec, alpha, resolution):
    v = V.verify(alpha, resolution, spec=spec, classes=10)
    assert not v.errors and v.mismatches() == []
    assert [r.name for r in v.layers] == [r["name"] for r in layer_table(
        alpha, resolution, spec=spec, classes=10).rows]
    if spec is FRAGMENT:  # no pooling or FC: those terms are absent
        assert {t.key for t in v.counter("fvcore").terms} == {"weights", "bn"}
        assert V.not_counted(v.counter("fvcore")) == ["ReLU", "other activations", "pooling", "LRN",
                                                      "bias adds"]


def test_a_wrong_forward_shape_is_a_mismatch():
    model = build_model(0.25, 64)
    model.conv_dw_2.conv.stride = (1, 1)  # the table says stride 2
    v = V.verify(0.25, 64, counters=[], model=model)
    assert not v.agree
    bad = {r.name for r in v.layers if not r.shape_ok}
    assert "conv_dw_2" in bad and "conv_pw_13" in bad
    # SAME at 32, stride 2: pad (0, 1) then a valid 3x3 conv; at stride 1 that gives 33 - 2 = 31
    assert v.layers[3].model_shape == (31, 31, 16) and v.layers[3].out_shape == (16, 16, 16)
    assert any("output shape: table 16x16x16, torch 31x31x16" in m["detail"]
               for m in v.mismatches())


def test_a_model_of_another_config_is_refused():
    with pytest.raises(ValueError, match="does not match"):
        V.verify(0.5, 64, counters=[], model=_model(0.25, 64))


def test_a_counter_that_is_not_installed_is_skipped(monkeypatch):
    real = V._installed
    monkeypatch.setattr(V, "_installed", lambda pkg: pkg != "thop" and real(pkg))
    v = V.verify(0.25, 32, counters=["thop"])
    assert "not installed" in v.skipped["thop"]
    assert [c.counter for c in v.counters] == ["fvcore", "fvcore"]
    assert v.agree


def test_a_counter_that_fails_is_an_error_not_agreement(monkeypatch):
    def boom(model, x):
        raise RuntimeError("counter exploded")

    pytest.importorskip("thop", reason="thop is not installed")
    monkeypatch.setitem(V.EXTERNAL_COUNTERS, "thop",
                        dataclasses.replace(V.EXTERNAL_COUNTERS["thop"], run=boom))
    v = V.verify(0.25, 32, counters=["thop"])
    assert v.errors == {"thop": "RuntimeError: counter exploded"}
    assert not v.agree


def test_a_broken_convention_is_a_mismatch(monkeypatch):
    broken = dataclasses.replace(conventions.CONVENTIONS["fvcore"], norm_ops_per_element=1)
    monkeypatch.setitem(conventions.CONVENTIONS, "fvcore", broken)
    v = V.verify(0.25, 32, counters=[])
    assert not v.agree
    conv1 = v.layers[0]
    # conv1 at 32: 16x16x8 outputs; fvcore counts BN 2 per output, the broken convention 1
    assert conv1.mult_adds_residual == 16 * 16 * 8
    assert v.counter("fvcore").residual == sum(r.mult_adds_residual for r in v.layers)


def test_counters_print_nothing(capfd):
    V.verify(0.25, 32)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_unknown_counter_is_a_costmodel_error():
    with pytest.raises(CostModelError, match="counter 'bogus' is unknown"):
        V.verify(0.25, 32, counters=["bogus"])


def test_too_large_a_config_is_refused_before_building():
    with pytest.raises(CostModelError, match="too large"):
        V.verify(8.0, 2048)


# ------------------------------------------------------------------------------------ CLI
def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["verify", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_agrees_exit_0(capsys):
    rc, out, err = _run(capsys, "--alpha", "0.25", "--resolution", "64")
    assert rc == 0, out
    assert "result: agree -- 0.25-64: 29 layers" in out
    for name in ("fvcore", "flop_counter"):
        assert f"\n{name} " in out
    assert err == ""


def test_cli_forced_mismatch_exit_1(capsys, monkeypatch):
    broken = dataclasses.replace(conventions.CONVENTIONS["fvcore"], pool_ops_per_input=2)
    monkeypatch.setitem(conventions.CONVENTIONS, "fvcore", broken)
    rc, out, _ = _run(capsys, "--alpha", "0.25", "--resolution", "64", "--counters", "none")
    assert rc == 1
    assert "result: MISMATCH -- 0.25-64" in out
    mism = out[out.index("mismatches:"):]
    # only avg_pool and the fvcore total disagree: pool input 2x2x256 = 1,024 counted twice
    assert "layer avg_pool" in mism and "residual -1,024" in mism
    assert "layer conv1" not in mism


@pytest.mark.parametrize("argv,message", [
    (["--alpha", "0"], "alpha '0' is out of range"),
    (["--alphas", "1,,2"], "alpha '1,,2' is not a valid list or range"),
    (["--resolutions", "224,x"], "resolution '224,x' is not a valid list or range"),
    (["--counters", "bogus"], "counter 'bogus' is unknown"),
    (["--format", "xml"], "format 'xml' is unknown"),
    (["--convention", "nope"], "convention 'nope' is unknown"),
    (["--alpha", "64", "--resolution", "4096"], "too large to build and count"),
])
def test_cli_bad_input_exit_2(capsys, tmp_path, argv, message):
    target = tmp_path / "out.txt"
    rc, out, err = _run(capsys, *argv, "-o", str(target))
    assert rc == 2
    assert out == ""
    assert err.startswith("costmodel: error: ") and message in err and err.count("\n") == 1
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_cli_formats(capsys, tmp_path):
    rc, out, _ = _run(capsys, "--alpha", "0.25", "--resolution", "32", "--format", "csv",
                      "--counters", "flop_counter")
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    layers = [r for r in rows if r["layer"] != "total"]
    assert len(layers) == 2 * 29  # mult-adds and params per layer
    assert {r["counter"] for r in rows if r["layer"] == "total"} == {"fvcore", "flop_counter"}
    assert all(r["residual"] == "0" and r["agree"] == "True" for r in rows)

    rc, out, _ = _run(capsys, "--alpha", "0.25", "--resolution", "32", "--format", "json",
                      "--counters", "none")
    obj = json.loads(out)
    assert rc == 0 and obj["agree"] is True and obj["mismatches"] == []
    assert obj["configs"][0]["config"]["alpha"] == 0.25
    assert len(obj["configs"][0]["layers"]) == 29

    target = tmp_path / "v.md"
    rc, out, _ = _run(capsys, "--alpha", "0.25", "--resolution", "32", "--format", "markdown",
                      "--counters", "none", "-o", str(target))
    text = target.read_text()
    assert rc == 0 and out == ""
    assert "| layer | output | torch |" in text and "| avg_pool |" in text


def test_cli_grid_runs_the_16_paper_configs(grid):
    rc, obj = grid
    assert rc == 0 and obj["agree"] is True and obj["mismatches"] == []
    got = [(c["config"]["alpha"], c["config"]["resolution"]) for c in obj["configs"]]
    assert got == list(PAPER_CONFIGS)
    assert len(got) == 16


def test_grid_plus_lists():
    from costmodel.cli import build_parser
    from costmodel.cli.verify import configs_from_args

    parse = build_parser().parse_args
    pairs = configs_from_args(parse(["verify", "--grid", "--alphas", "0.6,1.0",
                                     "--resolutions", "100"]))
    assert len(pairs) == 5 * 5  # (4 paper + 0.6) alphas x (4 paper + 100) resolutions
    assert set(PAPER_CONFIGS) < set(pairs) and (0.6, 100) in pairs
    assert configs_from_args(parse(["verify", "--alphas", "0.5,0.5", "--rho", "0.5"])) == [(0.5, 112)]
    assert configs_from_args(parse(["verify"])) == [(1.0, 224)]


def test_cli_text_grid_summary(capsys):
    rc, out, _ = _run(capsys, "--alphas", "0.25,0.5", "--resolutions", "32",
                      "--counters", "flop_counter")
    assert rc == 0
    lines = out.splitlines()
    assert any(line.startswith("0.25-32 ") for line in lines)
    assert any(line.startswith("0.5-32 ") for line in lines)
    assert "result: agree -- 2 configs" in out


def test_cli_import_loads_no_torch_or_counters():
    code = ("import sys, costmodel.cli; costmodel.cli.build_parser(); "
            "bad = [m for m in ('torch', 'fvcore', 'ptflops', 'thop', 'torchinfo') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
