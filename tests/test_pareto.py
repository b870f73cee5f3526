"""Pareto fronts: hand-built point sets, the published fronts, objectives, devices, CLI (issue #5).

Published figures: TF-slim = tensorflow/models research/slim/nets/mobilenet_v1.md (2018-02
float top-1 and MACs); TFLite = tensorflow/lite/g3doc/guide/hosted_models.md (Pixel 3 CPU,
4 threads, float32), both via data/reference/.
"""

from __future__ import annotations

import csv
import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.cli import main
from costmodel.core.engine import layer_table
from costmodel.errors import CostModelError
from costmodel.io import latency_data
from costmodel.search import pareto as P


def brute_force_mask(v: np.ndarray, senses: list[str]) -> np.ndarray:
    """The definition, O(n^2): a dominated iff some b is >= as good everywhere and better once."""
    w = v * np.array([1 if s == "min" else -1 for s in senses])
    return np.array([not any((w[j] <= w[i]).all() and (w[j] < w[i]).any()
                             for j in range(len(w)) if j != i) for i in range(len(w))])


# ------------------------------------------------------------------------------------------
# Hand-built point sets
# ------------------------------------------------------------------------------------------
def test_single_point_and_empty():
    assert P.pareto_mask([[3.0, 4.0]], ["min", "max"]).tolist() == [True]
    assert P.pareto_mask(np.zeros((0, 2)), ["min", "min"]).tolist() == []


def test_duplicates_stay_together():
    # two identical points do not dominate each other; (2, 2) is dominated by both
    v = [[1, 1], [1, 1], [2, 2]]
    assert P.pareto_mask(v, ["min", "min"]).tolist() == [True, True, False]
    # duplicates that are dominated go together
    v = [[2, 2], [1, 1], [2, 2]]
    assert P.pareto_mask(v, ["min", "min"]).tolist() == [False, True, False]


def test_ties_in_one_objective():
    # same x, worse y -> dominated; same y, worse x -> dominated
    assert P.pareto_mask([[1, 5], [1, 3]], ["min", "min"]).tolist() == [False, True]
    assert P.pareto_mask([[2, 3], [1, 3]], ["min", "min"]).tolist() == [False, True]
    # maximize y: (1, 10) and (2, 20) trade off; (3, 15) is beaten by (2, 20) in both
    assert P.pareto_mask([[1, 10], [2, 20], [3, 15]], ["min", "max"]).tolist() == [True, True, False]
    # a tie in x with a better y is still a trade-off-free win
    assert P.pareto_mask([[5, 70.0], [5, 70.1]], ["min", "max"]).tolist() == [False, True]


def test_three_objectives():
    # (3,3,3) is dominated by (2,2,1); (1,1,5) and (2,2,1) trade off in z
    v = [[1, 1, 5], [2, 2, 1], [3, 3, 3]]
    assert P.pareto_mask(v, ["min"] * 3).tolist() == [True, True, False]
    # equal in the first two, better in the third -> dominates
    v = [[1, 1, 2], [1, 1, 1], [1, 1, 1]]
    assert P.pareto_mask(v, ["min"] * 3).tolist() == [False, True, True]


def test_one_objective():
    assert P.pareto_mask([[3], [1], [1], [2]], ["min"]).tolist() == [False, True, True, False]
    assert P.pareto_mask([3, 1, 3], ["max"]).tolist() == [True, False, True]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.tuples(
    st.lists(st.lists(st.integers(0, 4), min_size=k, max_size=k), min_size=1, max_size=40),
    st.lists(st.sampled_from(["min", "max"]), min_size=k, max_size=k))))
def test_matches_the_definition(case):
    rows, senses = case  # small integers: ties and duplicates are frequent
    v = np.array(rows, dtype=float)
    assert P.pareto_mask(v, senses).tolist() == brute_force_mask(v, senses).tolist()


def test_front_order_and_dominated_by_on_a_frame():
    import pandas as pd

    frame = pd.DataFrame({"label": ["a", "b", "c", "d", "e"],
                          "mult_adds": [30, 10, 20, 20, 10],
                          "top1": [70, 50, 60, 55, 50]})
    out = P.pareto(["mult_adds", "top1"], frame=frame)
    # front: b and e (duplicates at 10, 50), c (20, 60), a (30, 70); d is beaten by c
    assert out["label"].tolist()[:4] == ["b", "e", "c", "a"]
    assert out["front_order"].tolist() == [0, 1, 2, 3, -1]
    assert out.set_index("label").loc["d", "dominated_by"] == "c"
    assert out["dominated"].tolist() == [False, False, False, False, True]


def test_bad_values():
    with pytest.raises(CostModelError, match="NaN"):
        P.pareto_mask([[1, np.nan]], ["min", "min"])
    with pytest.raises(CostModelError, match="sense"):
        P.pareto_mask([[1, 2]], ["min", "up"])
    with pytest.raises(CostModelError, match="one per objective"):
        P.pareto_mask([[1, 2]], ["min"])


# ------------------------------------------------------------------------------------------
# The published fronts
# ------------------------------------------------------------------------------------------
# Worked by hand from the TF-slim table (MACs in millions, 2018-02 top-1), sorted by MACs:
#   0.25_128 14 41.5 | 0.25_160 21 45.5 | 0.25_192 34 47.7 | 0.25_224 41 49.8 | 0.50_128 49 56.3
#   0.50_160 77 59.1 | 0.75_128 104 62.1 | 0.50_192 110 61.7 | 0.50_224 150 63.3 | 0.75_160 162 65.3
#   1.0_128 186 65.2 | 0.75_192 233 67.2 | 1.0_160 291 68.0 | 0.75_224 317 68.4 | 1.0_192 418 70.0
#   1.0_224 569 70.9
# Top-1 rises with MACs except twice: 0.50_192 (110, 61.7) is beaten by 0.75_128 (104, 62.1) and
# 1.0_128 (186, 65.2) by 0.75_160 (162, 65.3). The front is the other 14, in MACs order:
PUBLISHED_FRONT = ["0.25-128", "0.25-160", "0.25-192", "0.25-224", "0.5-128", "0.5-160",
                   "0.75-128", "0.5-224", "0.75-160", "0.75-192", "1.0-160", "0.75-224",
                   "1.0-192", "1.0-224"]
PUBLISHED_DOMINATED = {"0.5-192": "0.75-128", "1.0-128": "0.75-160"}


def _label(alpha: str, res: str) -> str:
    a = f"{float(alpha):g}"
    return f"{a if '.' in a else a + '.0'}-{res}"


def test_published_front_from_the_printed_table(data_dir):
    with (data_dir / "reference" / "tfslim_mobilenet_v1.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    v = np.array([[float(r["macs_M"]), float(r["top1_2018"])] for r in rows])
    mask = P.pareto_mask(v, ["min", "max"])
    labels = [_label(r["alpha"], r["resolution"]) for r in rows]
    front = sorted((x[0], lab) for x, lab, m in zip(v, labels, mask) if m)
    assert [lab for _, lab in front] == PUBLISHED_FRONT


def test_published_front_from_the_library():
    # the library counts mult-adds with the engine (0.75 rows: 325 not 317, 0.25_192: 30.2 not
    # 34; see data/reference/SOURCES.md); the order, and so the front, is the same
    out = P.pareto(["mult_adds", "top1"])
    assert len(out) == 16
    front = out[~out["dominated"]]
    assert front["label"].tolist() == PUBLISHED_FRONT
    dom = out[out["dominated"]].set_index("label")["dominated_by"].to_dict()
    assert dom == PUBLISHED_DOMINATED
    assert not out["top1_estimated"].any() and set(out["range"]) == {"published"}
    # the other objective order gives the same front, ordered by top-1
    f2 = P.front(["top1", "mult_adds"])
    assert f2["label"].tolist() == PUBLISHED_FRONT  # top-1 rises along this front too


def test_published_phone_latency_front():
    # TFLite, Pixel 3 CPU 4 threads, float32 (ms, top-1 from TF-slim 2018): 0.25_224 (3.3 ms,
    # 49.8) is beaten by 0.50_128 (3.0, 56.3); 0.50_192 (6.0, 61.7) by 0.75_128 (5.5, 62.1);
    # 1.0_128 (9.0, 65.2) by 0.75_160 (8.2, 65.3). Everything else is on the front.
    out = P.pareto(["latency:pixel3_cpu4", "top1"])
    dom = out[out["dominated"]].set_index("label")["dominated_by"].to_dict()
    assert dom == {"0.25-224": "0.5-128", "0.5-192": "0.75-128", "1.0-128": "0.75-160"}
    lat = out.set_index("label")["latency:pixel3_cpu4"]
    assert lat["1.0-224"] == 24.0  # TFLite table: 1.0_224 on Pixel 3 CPU, 24.0 ms


def test_uint8_phone_uses_quantized_accuracy():
    out = P.points(["latency:pixel3_cpu4_uint8", "top1"])
    assert out.attrs["edition"] == "tflite_uint8"
    # TFLite table: mobilenet_v1_1.0_224_quant top-1 70.0, Pixel 3 CPU 13 ms
    row = out.set_index("label").loc["1.0-224"]
    assert row["top1"] == 70.0 and row["latency:pixel3_cpu4_uint8"] == 13.0


# ------------------------------------------------------------------------------------------
# Grid
# ------------------------------------------------------------------------------------------
def test_grid_points_are_engine_counts_and_labelled_estimates():
    pts = P.points(["mult_adds", "top1"], grid=True)
    assert len(pts) == len(P.DEFAULT_GRID_ALPHAS) * len(P.DEFAULT_GRID_RESOLUTIONS)
    pub = pts[~pts["top1_estimated"]]
    assert sorted(pub["label"]) == sorted(PUBLISHED_FRONT + list(PUBLISHED_DOMINATED))
    assert pts.loc[pts["top1_estimated"], "top1_source"].str.startswith("estimate").all()
    assert set(pts.loc[pts["top1_estimated"], "range"]) == {"interpolated"}
    for a, r in [(0.375, 132), (0.8, 200), (1.0, 224)]:
        row = pts[(pts["alpha"] == a) & (pts["resolution"] == r)].iloc[0]
        t = layer_table(a, r)
        assert row["mult_adds"] == t.totals["mult_adds"] and row["params"] == t.totals["params"]
        assert row["size_fp32"] == 4 * t.totals["params"] and row["size_bf16"] == 2 * t.totals["params"]
        assert row["peak_activation"] == t.totals["peak_activation_bytes"]


def test_int8_size_is_the_qdq_export_at_1_0_224():
    # int8 weights (1 byte each) + 17 bytes per output channel of the 27 convs and the FC
    # (weight scale fp32 + zero point int8 + bias int32 + bias scale fp32 + bias zero point
    # int32) + 5 bytes per quantized activation tensor (input, 28 layer outputs, flatten).
    # Output channels at alpha 1.0: 32+32+64+64+4*128+4*256+512+5*(512+512)+512+3*1024 = 10,944
    # for the convs, + 1000 for the FC = 11,944.
    row = P.points(["size_int8"], configs=[(1.0, 224)]).iloc[0]
    assert row["size_int8"] == layer_table(1.0, 224).totals["params"] + 17 * 11_944 + 5 * 30


def test_grid_front_is_monotone():
    f = P.front(["mult_adds", "top1"], grid=True)
    assert (np.diff(f["mult_adds"].to_numpy()) >= 0).all()
    assert (np.diff(f["top1"].to_numpy()) > 0).all()
    assert len(f) > 16


def test_custom_grid_and_far_points():
    pts = P.points(["top1"], grid=True, alphas=[0.5, 1.25, 1.6], resolutions=[160])
    assert pts["label"].tolist() == ["0.5-160", "1.25-160"]  # 1.6 is far: left out, noted
    assert "far" in pts.attrs["notes"][0]
    kept = P.points(["top1"], grid=True, alphas=[0.5, 1.25, 1.6], resolutions=[160], allow_far=True)
    assert kept.set_index("label")["range"].to_dict() == {
        "0.5-160": "published", "1.25-160": "extrapolated", "1.6-160": "far"}
    with pytest.raises(CostModelError, match="no configs left"):
        P.points(["top1"], grid=True, alphas=[2.0], resolutions=[320])


def test_three_objectives_on_the_published_configs():
    # adding params as a third objective: 0.50_192 (110M MA, 61.7%, 1.32M params) was beaten by
    # 0.75_128 (104-107M, 62.1%) but has fewer params (0.75: 2.57M), so it rejoins the front;
    # 1.0_128 (186M, 65.2%, 4.21M) is beaten by 0.75_160 (166M, 65.3%, 2.57M) in all three.
    out = P.pareto(["mult_adds", "top1", "params"])
    dom = out[out["dominated"]].set_index("label")["dominated_by"].to_dict()
    assert dom == {"1.0-128": "0.75-160"}
    assert out.attrs["objectives"][2]["name"] == "params"


def test_predicted_latency_objective():
    from costmodel.latency import kernel as lm
    out = P.points(["latency_pred:pixel3_cpu4", "top1"], grid=True, alphas=[0.3, 0.6, 0.9],
                   resolutions=[140, 200])
    assert len(out) == 6  # a prediction everywhere inside the range, not only where measured
    model = lm.fit_device("pixel3", backend="tflite-cpu", threads=4)
    want = model.predict_configs(out["alpha"].to_numpy(), out["resolution"].to_numpy(), "int")
    np.testing.assert_allclose(out["latency_pred:pixel3_cpu4"], want, rtol=1e-9)
    # outside the published range (alpha 0.25..1, resolution 128..224): no prediction, said so
    far = P.points(["latency_pred:pixel3_cpu4", "top1"], grid=True, alphas=[0.5, 1.2],
                   resolutions=[160], allow_far=True)
    assert far["alpha"].tolist() == [0.5]
    assert any("alpha 1.2 is outside the calibrated range 0.25..1" in n
               for n in far.attrs["notes"])


def test_objectives_and_devices_listing():
    names = [o["name"] for o in P.objectives()]
    for n in ("top1", "top5", "mult_adds", "params", "size_fp32", "size_int8", "peak_activation",
              "latency:pixel3_cpu4", "latency:pixel3_gpu", "latency:pixel2_tflite_1thread"):
        assert n in names
    senses = {o["name"]: o["sense"] for o in P.objectives()}
    assert senses["top1"] == "max" and senses["mult_adds"] == "min"
    ids = {d["id"] for d in P.devices()}
    assert {"pixel3_cpu4", "pixel3_gpu", "pixel3_nnapi", "pixel2_tflite_1thread",
            "pixel3_cpu4_uint8"} <= ids


def test_load_latency_published():
    t = P.load_latency("pixel3_gpu")
    assert {"alpha", "resolution", "latency_ms", "published", "source"} <= set(t.columns)
    assert t["published"].all() and len(t) == 16
    # TFLite table: mobilenet_v1_0.50_160 on Pixel 3 GPU 2.0 ms
    assert t[(t["alpha"] == 0.5) & (t["resolution"] == 160)]["latency_ms"].iloc[0] == 2.0


def test_measured_device_file(user_data):
    # a device CSV as `costmodel bench` writes it (latency_data.append_row) into the user data
    # folder (COSTMODEL_DATA_DIR, set for every test by conftest), read back by id
    path = latency_data.latency_path("test-box-cpu")
    assert path == user_data / "latency" / "test-box-cpu.csv"
    configs = [(0.5, 160), (0.75, 160), (1.0, 160), (1.0, 224)]
    for (a, r), ms in zip(configs, [2.0, 3.0, 4.0, 8.0]):
        latency_data.append_row(path, {
            "device_id": "test-box-cpu", "device": "test box", "backend": "onnxruntime",
            "device_type": "cpu", "precision": "float32", "threads": 1, "batch": 1,
            "channels_last": False, "alpha": a, "resolution": r, "variant": "mobilenet_v1",
            "rounding": "int", "classes": 1000, "spec": "mobilenet_v1", "median_ms": ms,
            "min_ms": ms, "iqr_ms": 0.1})
    assert "test-box-cpu" in P.device_ids()
    assert "test-box-cpu/onnxruntime/1" in {d["id"] for d in P.devices()}
    out = P.pareto(["latency:test-box-cpu", "top1"])
    # published configs with a measurement: 0.5-160, 0.75-160, 1.0-160, 1.0-224, all on the
    # front (top-1 59.1 < 65.3 < 68.0 < 70.9 rises with latency 2 < 3 < 4 < 8)
    assert out["label"].tolist() == ["0.5-160", "0.75-160", "1.0-160", "1.0-224"]
    assert not out["dominated"].any()
    assert "12 published configs have no latency" in out.attrs["notes"][0]
    same = P.pareto(["latency:test-box-cpu/onnxruntime/1", "top1"])
    assert same["latency:test-box-cpu/onnxruntime/1"].tolist() == [2.0, 3.0, 4.0, 8.0]
    # a re-measured file is read again (the cache follows the file's mtime and size)
    latency_data.append_row(path, {
        "device_id": "test-box-cpu", "device": "test box", "backend": "onnxruntime",
        "device_type": "cpu", "precision": "float32", "threads": 1, "batch": 1,
        "channels_last": False, "alpha": 0.25, "resolution": 128, "variant": "mobilenet_v1",
        "rounding": "int", "classes": 1000, "spec": "mobilenet_v1", "median_ms": 0.5,
        "min_ms": 0.5, "iqr_ms": 0.01})
    assert len(P.points(["latency:test-box-cpu"])) == 5


def test_config_point_for_a_slider():
    p = P.config_point(0.6, 200, ["latency:pixel3_cpu4"])
    assert p["top1_estimated"] is True and p["range"] == "interpolated"
    assert p["latency:pixel3_cpu4"] is None  # not measured there
    assert p["mult_adds"] == layer_table(0.6, 200).totals["mult_adds"]
    q = P.config_point(1.0, 224, ["latency:pixel3_cpu4"])
    assert q["top1"] == 70.9 and q["latency:pixel3_cpu4"] == 24.0 and not q["top1_estimated"]
    with pytest.raises(CostModelError, match="far outside"):
        P.config_point(1.5, 300)
    assert P.config_point(1.5, 300, allow_far=True)["range"] == "far"


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("objs,match", [
    (["mult_adds", "accuracy"], "objective 'accuracy' is unknown"),
    (["latency:nope", "top1"], "device 'nope' is unknown"),
    (["latency:", "top1"], "names no device"),
    (["top1", "top1"], "given twice"),
    (["top1", "params", "mult_adds", "size_fp32"], "allowed: 1 to 3"),
    ([7, "top1"], "objective 7 is unknown"),
])
def test_bad_objectives(objs, match):
    with pytest.raises(CostModelError, match=match) as exc:
        P.pareto(objs)
    assert "\n" not in str(exc.value) and "allowed" in str(exc.value)


@pytest.mark.parametrize("kwargs,match", [
    ({"grid": True, "alphas": []}, "empty alpha grid"),
    ({"grid": True, "alphas": [-0.5]}, "alpha -0.5 is out of range"),
    ({"grid": True, "resolutions": ["big"]}, "resolution 'big' is not an integer"),
    ({"accuracy": "tfslim_2020"}, "accuracy edition 'tfslim_2020' is unknown"),
    ({"variant": "full_conv"}, "no published or estimated accuracy"),
    ({"rounding": "ceil"}, "rounding 'ceil' is unknown"),
])
def test_bad_points_arguments(kwargs, match):
    with pytest.raises(CostModelError, match=match):
        P.pareto(["mult_adds", "top1"], **kwargs)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------
def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_text_and_formats(capsys):
    rc, out, err = run_cli(capsys, "pareto", "--x", "mult_adds", "--y", "top1")
    assert rc == 0 and err == ""
    assert "14 of 16 configs on the front" in out and "dominated by 0.75-128" in out
    rc, out, _ = run_cli(capsys, "pareto", "--format", "csv")
    rows = list(csv.DictReader(out.splitlines()))
    assert [r["label"] for r in rows if r["dominated"] == "False"] == PUBLISHED_FRONT
    rc, out, _ = run_cli(capsys, "pareto", "--x", "latency:pixel3_cpu4", "--format", "json")
    doc = json.loads(out)
    assert doc["front_size"] == 13 and doc["estimator"]["loo_rmse"] < 0.3
    rc, out, _ = run_cli(capsys, "pareto", "--x", "size_int8", "--y", "top1", "--z",
                         "latency:pixel3_cpu4", "--format", "markdown")
    assert rc == 0 and out.startswith("**Pareto front") and "| config |" in out


def test_cli_grid_marks_estimates(capsys):
    rc, out, _ = run_cli(capsys, "pareto", "--grid", "--grid-alphas", "0.5:1.0:0.125",
                         "--grid-resolutions", "160:224:32")
    assert rc == 0
    assert "estimate" in out and "published" in out and "LOO RMSE" in out
    rc, out, _ = run_cli(capsys, "pareto", "--grid", "--format", "csv", "--show", "all")
    rows = list(csv.DictReader(out.splitlines()))
    assert len(rows) == len(P.DEFAULT_GRID_ALPHAS) * len(P.DEFAULT_GRID_RESOLUTIONS)
    assert {r["top1_estimated"] for r in rows} == {"True", "False"}


def test_cli_list(capsys):
    rc, out, _ = run_cli(capsys, "pareto", "--list")
    assert rc == 0 and "latency:pixel3_cpu4" in out and "pixel3_nnapi" in out


@pytest.mark.parametrize("argv", [
    ["pareto", "--x", "flops"],
    ["pareto", "--x", "latency:iphone"],
    ["pareto", "--format", "latex"],
    ["pareto", "--grid", "--grid-alphas", "1:0.5:0.1"],
    ["pareto", "--grid", "--grid-alphas", "2:3:0.5"],
    ["pareto", "--show", "some"],
    ["pareto", "--accuracy", "imagenet"],
    ["pareto", "--convention", "mine"],
])
def test_cli_bad_input_exit_2(capsys, tmp_path, argv):
    out_file = tmp_path / "out.txt"
    rc, out, err = run_cli(capsys, *argv, "-o", str(out_file))
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "error" in err and "Traceback" not in err
    assert not out_file.exists()


def test_cli_does_not_load_pandas_before_run():
    import subprocess
    import sys

    code = ("import sys; import costmodel.cli as c; c.build_parser(); "
            "print(any(m in sys.modules for m in ('pandas', 'torch', 'dash')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_all_pairs_of_cost_objectives_run():
    costs = ["top1", "mult_adds", "params", "size_fp32", "size_int8", "peak_activation"]
    for x, y in itertools.combinations(costs, 2):
        out = P.pareto([x, y])
        assert (~out["dominated"]).sum() >= 1
