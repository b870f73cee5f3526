"""Search (sweep, pareto, recommend) for any built-in network: its own base resolution, rounding
and published accuracy; no accuracy objective where none is cited; nothing from mobilenet_v1."""

from __future__ import annotations

import json

import pytest
from test_cli import run_cli

from costmodel.core.arch import BUILTIN_NAMES, get_description
from costmodel.core.engine import layer_table
from costmodel.errors import CostModelError
from costmodel.search.accuracy import network_accuracy
from costmodel.search.pareto import pareto, points
from costmodel.search.recommend import recommend

OTHERS = [n for n in BUILTIN_NAMES if n != "mobilenet_v1"]
NO_TOP1 = """name: plain_net
base_resolution: 160
layers:
  - {type: conv, kernel: 3, stride: 2, out: 16}
  - {type: separable, out: 32}
  - {type: avgpool}
  - {type: fc}
"""


@pytest.fixture
def plain_spec(tmp_path):
    p = tmp_path / "plain_net.yaml"
    p.write_text(NO_TOP1)
    return str(p)


# --- the published accuracy of each network ------------------------------------------------
def test_mobilenet_v2_has_its_22_tfslim_checkpoints():
    acc = network_accuracy("mobilenet_v2")
    # TF-slim mobilenet/README.md: alpha {0.35, 0.5, 0.75, 1.0} x res {96..224 step 32} = 20,
    # plus 1.3-224 and 1.4-224 = 22
    assert len(acc) == 22
    assert {a for a, _ in acc} == {0.35, 0.5, 0.75, 1.0, 1.3, 1.4}
    assert (acc[(0.35, 96)]["top1"], acc[(0.35, 96)]["top5"]) == (45.5, 70.4)  # README row
    assert (acc[(1.4, 224)]["top1"], acc[(1.4, 224)]["top5"]) == (75.0, 92.5)
    assert "mobilenet_v2_1.4_224" in acc[(1.4, 224)]["source"]


def test_mobilenet_v3_float_checkpoints_only():
    # TF-slim README: v3-large 1.0 75.2, 0.75 73.3 (float); the uint8 and minimalistic
    # checkpoints are other models and stay out
    assert {k: v["top1"] for k, v in network_accuracy("mobilenet_v3_large").items()} == \
        {(1.0, 224): 75.2, (0.75, 224): 73.3}
    assert {k: v["top1"] for k, v in network_accuracy("mobilenet_v3_small").items()} == \
        {(1.0, 224): 67.5, (0.75, 224): 65.4}


@pytest.mark.parametrize("name,key,top1", [
    ("resnet18", (1.0, 224), 69.758),  # torchvision ResNet18_Weights.IMAGENET1K_V1 acc@1
    ("alexnet", (1.0, 227), 57.2),  # MobileNets paper Table 9, at AlexNet's 227
    ("inception_v3", (1.0, 299), 77.294),  # torchvision Inception_V3_Weights acc@1
])
def test_other_networks_have_their_cited_alpha1_figure_only(name, key, top1):
    acc = network_accuracy(name)
    assert list(acc) == [key] and acc[key]["top1"] == top1 and acc[key]["top5"] is None


def test_a_spec_citing_no_top1_has_no_accuracy(plain_spec):
    assert network_accuracy(plain_spec) == {}


# --- pareto: every built-in ------------------------------------------------------------------
@pytest.mark.parametrize("name", OTHERS)
def test_pareto_top1_uses_the_networks_published_configs_and_own_rounding(name):
    desc = get_description(name)
    f = pareto(["mult_adds", "top1"], spec=name)
    acc = network_accuracy(name)
    assert sorted(zip(f["alpha"], f["resolution"])) == sorted(acc)
    assert not f["top1_estimated"].any()
    assert all("estimate" not in s for s in f["top1_source"])
    assert f.attrs["config"]["rounding"] == desc.rounding and f.attrs["edition"] == "published"
    for rec in f.to_dict("records"):  # costs are the network's own, at its own rounding
        t = layer_table(rec["alpha"], rec["resolution"], spec=name, rounding=desc.rounding)
        assert rec["mult_adds"] == t.totals["mult_adds"]
        assert rec["top1"] == acc[(rec["alpha"], rec["resolution"])]["top1"]


def test_pareto_mobilenet_v2_is_counted_with_divisible8_not_int():
    f = points(["mult_adds"], spec="mobilenet_v2", configs=[(0.35, 224)])
    d8 = layer_table(0.35, 224, spec="mobilenet_v2", rounding="divisible8").totals["mult_adds"]
    i = layer_table(0.35, 224, spec="mobilenet_v2", rounding="int").totals["mult_adds"]
    assert d8 != i and f["mult_adds"].iloc[0] == d8


def test_default_configs_are_scaled_to_the_base_resolution():
    f = points(["mult_adds", "params"], spec="inception_v3")
    # 128, 160, 192, 224 x 299/224 = 170.9, 213.6, 256.3, 299 -> 171, 214, 256, 299
    assert sorted(set(f["resolution"])) == [171, 214, 256, 299]
    assert sorted(set(f["alpha"])) == [0.25, 0.5, 0.75, 1.0]
    g = points(["mult_adds"], spec="inception_v3", grid=True)
    # 128..224 step 4 scaled: first 128*299/224 = 170.86 -> 171, last 299
    assert min(g["resolution"]) == 171 and max(g["resolution"]) == 299


def test_cost_objectives_leave_top1_empty_where_unpublished():
    f = points(["mult_adds"], spec="resnet18")
    pub = f[(f["alpha"] == 1.0) & (f["resolution"] == 224)]
    assert pub["top1"].tolist() == [69.758]
    assert f.drop(pub.index)["top1"].isna().all()


def test_grid_with_top1_says_the_grid_is_not_used():
    f = points(["mult_adds", "top1"], spec="mobilenet_v2", grid=True)
    assert len(f) == 22 and any("--grid is not used" in n for n in f.attrs["notes"])


def test_explicit_unpublished_config_is_left_out_of_a_top1_objective():
    f = points(["top1"], spec="resnet18", configs=[(1.0, 224), (0.5, 224)])
    assert f["label"].tolist() == ["1.0-224"]
    assert any("1 configs without published top1" in n for n in f.attrs["notes"])
    with pytest.raises(CostModelError, match="allowed: configs where resnet18 publishes top1: "
                                              "1.0-224$"):
        points(["top1"], spec="resnet18", configs=[(0.5, 224)])


@pytest.mark.parametrize("kwargs,match", [
    ({"objectives": ["mult_adds", "top5"], "spec": "resnet18"},
     "network 'resnet18' has no published top5.*allowed for resnet18: top1, mult_adds"),
    # the published phones' latency is mobilenet_v1's: another network's is refused, naming
    # the command that measures it (issue #11: any network's own latency is measured here)
    ({"objectives": ["mult_adds", "latency:pixel3_cpu4"], "spec": "mobilenet_v2"},
     "no latency rows of network 'mobilenet_v2' for device 'pixel3'.*calibrate --model "
     "mobilenet_v2"),
    ({"objectives": ["mult_adds", "latency_pred:pixel3_cpu4"], "spec": "resnet18"},
     "no latency rows of network 'resnet18' for device 'pixel3'.*calibrate --model resnet18"),
    ({"objectives": ["mult_adds", "top1"], "spec": "mobilenet_v2", "accuracy": "tflite_uint8"},
     "edition 'tflite_uint8' is mobilenet_v1's"),
    ({"objectives": ["mult_adds", "top1"], "spec": "mobilenet_v2", "precision": "int8"},
     "no published int8 accuracy"),
])
def test_refusals_are_one_line(kwargs, match):
    with pytest.raises(CostModelError, match=match) as exc:
        points(**kwargs)
    assert "\n" not in str(exc.value)


def test_top5_is_available_where_published():
    f = points(["mult_adds", "top5"], spec="mobilenet_v2")
    assert len(f) == 22 and f["top5"].notna().all()


# --- CLI -------------------------------------------------------------------------------------
def test_cli_pareto_top1_refused_for_a_spec_without_accuracy(capsys, plain_spec):
    rc, out, err = run_cli(capsys, "pareto", "--spec", plain_spec, "--y", "top1")
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "network 'plain_net' has no published top1" in err
    assert "allowed for plain_net: mult_adds, params" in err
    rc, out, _ = run_cli(capsys, "pareto", "--spec", plain_spec, "--y", "params", "--format",
                         "json")
    pts = json.loads(out)["points"]
    # base 160: 128, 160, 192, 224 x 160/224 -> 91.4, 114.3, 137.1, 160 -> 91, 114, 137, 160
    assert rc == 0 and sorted({p["resolution"] for p in pts}) == [91, 114, 137, 160]
    assert all(p["top1"] is None for p in pts)


def test_cli_recommend_min_top1_refused_for_a_spec_without_accuracy(capsys, plain_spec):
    rc, out, err = run_cli(capsys, "recommend", "--spec", plain_spec, "--min-top1", "50")
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "--min-top1" in err and "'plain_net' has no published top-1" in err
    rc, _, err = run_cli(capsys, "recommend", "--spec", plain_spec, "--max-params-m", "1")
    assert rc == 2 and "ranks configs by top-1" in err


def test_cli_pareto_json_has_no_mobilenet_v1_estimator(capsys):
    rc, out, _ = run_cli(capsys, "pareto", "--model", "resnet18", "--format", "json")
    doc = json.loads(out)
    assert rc == 0 and doc["estimator"] is None and doc["edition"] == "published"
    assert [p["label"] for p in doc["points"]] == ["1.0-224"]
    assert doc["config"]["spec"] == "resnet18"


@pytest.mark.parametrize("top1,rc,best", [("75.0", 0, "1.4-224"), ("75.05", 1, None)])
def test_cli_recommend_min_top1_boundary_on_mobilenet_v2(capsys, top1, rc, best):
    # the most accurate published MobileNetV2 is 1.4-224 at 75.0% (TF-slim README):
    # --min-top1 75.0 admits it (>=), 75.05 admits nothing
    code, out, _ = run_cli(capsys, "recommend", "--model", "mobilenet_v2", "--min-top1", top1,
                           "--format", "json")
    doc = json.loads(out)
    assert code == rc and (doc["best"] or {}).get("label") == best


def test_recommend_mult_adds_boundary_on_mobilenet_v3_large():
    ma = layer_table(0.75, 224, spec="mobilenet_v3_large",
                     rounding="divisible8").totals["mult_adds"] / 1e6
    res = recommend(max_mult_adds_m=ma, spec="mobilenet_v3_large")
    assert res["status"] == "ok" and res["best"]["label"] == "0.75-224"
    assert res["best"]["top1"] == 73.3  # TF-slim README v3-large_224_0.75_float
    below = recommend(max_mult_adds_m=ma * (1 - 1e-9), spec="mobilenet_v3_large")
    assert below["status"] == "none_fits"


def test_cli_sweep_default_resolutions_follow_the_base(capsys):
    rc, out, _ = run_cli(capsys, "sweep", "--model", "inception_v3", "--alpha", "1", "--format",
                         "json")
    assert rc == 0 and [r["resolution"] for r in json.loads(out)["rows"]] == [171, 214, 256, 299]
    rc, out, _ = run_cli(capsys, "sweep", "--alpha", "1", "--format", "json")
    assert [r["resolution"] for r in json.loads(out)["rows"]] == [128, 160, 192, 224]
