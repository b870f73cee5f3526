"""Pareto fronts and points at their edges: objectives and devices by name, the candidate
configs and what is left out (with the note that says so), row order, dominated_by on a large
grid against the definition, and every bad-input message in full.

Published figures (via data/reference/): TF-slim mobilenet_v1.md 2018-02 float top-1; TFLite
hosted models table, Pixel 3 CPU 4 threads (float32 and uint8), Pixel 3 GPU. Cost figures are the
engine's (checked against the paper in tests/test_engine.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from costmodel.core.engine import layer_table
from costmodel.errors import CostModelError
from costmodel.search import pareto as P

BASES = ["top1", "top5", "mult_adds", "params", "size_fp32", "size_bf16", "size_int8",
         "peak_activation"]
COLUMNS = ["label", "alpha", "resolution", "top1", "top5", "top1_estimated", "top1_source", "range",
           "mult_adds", "params", "size_fp32", "size_bf16", "size_int8", "peak_activation"]


# ------------------------------------------------------------------------------ objectives
def test_parse_objective_fields():
    o = P.parse_objective(" top1 ")
    assert o == P.Objective("top1", "top1", "ImageNet top-1", "%", "max", "accuracy", None)
    assert P.parse_objective(o) is o
    assert P.parse_objective("peak_activation").to_dict() == {
        "name": "peak_activation", "label": "peak activation memory, fp32", "unit": "bytes",
        "sense": "min", "kind": "cost", "device": None}
    lat = P.parse_objective("latency:pixel3_cpu4")
    assert lat == P.Objective("latency:pixel3_cpu4", "latency", "latency on pixel3_cpu4", "ms", "min",
                              "latency", "pixel3_cpu4")
    pred = P.parse_objective("latency_pred:pixel3_gpu")
    assert (pred.base, pred.label, pred.kind, pred.device) == (
        "latency_pred", "predicted latency on pixel3_gpu", "latency_pred", "pixel3_gpu")


ALLOWED = ("allowed: top1, top5, mult_adds, params, size_fp32, size_bf16, size_int8, "
           "peak_activation, "
           "latency:<device>, latency_pred:<device>")


@pytest.mark.parametrize("name, message", [
    ("", f"objective '' is unknown; {ALLOWED}"),
    ("\t", f"objective '\\t' is unknown; {ALLOWED}"),
    (None, f"objective None is unknown; {ALLOWED}"),
    ("flops", f"objective 'flops' is unknown; {ALLOWED}"),
    ("speed:pixel3_cpu4", f"objective 'speed:pixel3_cpu4' is unknown; {ALLOWED}"),
])
def test_unknown_objectives(name, message):
    with pytest.raises(CostModelError) as e:
        P.parse_objective(name)
    assert str(e.value) == message


def test_objective_without_a_device():
    with pytest.raises(CostModelError) as e:
        P.parse_objective("latency_pred:")
    msg = str(e.value)
    assert msg.startswith("objective 'latency_pred:' names no device; allowed: latency_pred:<device>, "
                          "devices: pixel3_cpu4, pixel3_gpu, ")


def test_parse_objectives():
    assert [o.name for o in P.parse_objectives("top1, mult_adds,,")] == ["top1", "mult_adds"]
    assert P.parse_objectives([]) == []
    with pytest.raises(CostModelError) as e:
        P.parse_objectives("params,top1,params")
    assert str(e.value) == "objective 'params' is given twice; allowed: distinct objectives"


def test_objectives_listing():
    base = P.objectives(include_devices=False)
    assert [o["name"] for o in base] == BASES
    assert [o["sense"] for o in base] == ["max", "max", "min", "min", "min", "min", "min", "min"]
    full = P.objectives()
    assert full[:8] == base
    names = [o["name"] for o in full]
    # one measured-latency objective per device, then one predicted-latency objective per device
    n = len(P.devices())
    assert len(full) == 8 + 2 * n
    assert names[8:8 + n] == [f"latency:{d['id']}" for d in P.devices()]
    assert names[8 + n:] == [f"latency_pred:{d['id']}" for d in P.devices()]


# -------------------------------------------------------------------------------- devices
def test_resolve_device():
    assert P.resolve_device("pixel3_cpu4") == P.DeviceSpec("pixel3", "tflite-cpu", 4, "float32")
    assert P.resolve_device(" pixel3_nnapi_uint8 ") == P.DeviceSpec("pixel3", "nnapi", None, "uint8")
    assert P.resolve_device("pixel2/tflite-cpu/1@uint8") == P.DeviceSpec("pixel2", "tflite-cpu", 1,
                                                                         "uint8")
    assert P.resolve_device("pixel3") == P.DeviceSpec("pixel3", None, None, "float32")
    for bad in ("iphone", "pixel3/TFLITE", 3):
        with pytest.raises(CostModelError) as e:
            P.resolve_device(bad)
        assert str(e.value).startswith(f"device {bad!r} is unknown; allowed: pixel3_cpu4, pixel3_gpu")


def test_device_ids_order():
    from costmodel.io.latency_data import DEVICE_ALIASES

    ids = P.device_ids()
    assert ids[:len(DEVICE_ALIASES)] == list(DEVICE_ALIASES)
    assert ids[-2:] == ["pixel3", "pixel2"]  # the published phones come last
    assert "reference-xeon-2c" in ids


def test_published_devices():
    d = {x["id"]: x for x in P.devices()}
    # TFLite table: Pixel 3 CPU 4 threads, float32, 16 configs
    want = {"id": "pixel3_cpu4", "device_id": "pixel3", "description": "Google Pixel 3 (published, TFLite)",
            "backend": "tflite-cpu", "threads": 4, "precision": "float32", "configs": 16,
            "published": True, "reference": False, "this_machine": False, "machine": "published",
            "fingerprint": ""}
    assert {k: d["pixel3_cpu4"][k] for k in want} == want
    # no thread count for the GPU: its id has none either
    assert d["pixel3_gpu"]["threads"] is None and d["pixel3_gpu"]["configs"] == 16
    assert d["pixel3_cpu4_uint8"]["precision"] == "uint8"
    assert d["pixel2_tflite_1thread"]["threads"] == 1
    assert P.devices() is not P.devices() and P.devices() == P.devices()  # copies


def test_load_latency_columns():
    t = P.load_latency("pixel3_cpu4_uint8")
    assert list(t.columns) == ["alpha", "resolution", "latency_ms", "device", "backend", "threads",
                               "precision", "published", "source"]
    assert set(t["device"]) == {"pixel3_cpu4_uint8"} and set(t["precision"]) == {"uint8"}
    # TFLite table: mobilenet_v1_0.25_128_quant on Pixel 3 CPU: 0.8 ms
    row = t[(t["alpha"] == 0.25) & (t["resolution"] == 128)]
    assert row["latency_ms"].tolist() == [0.8]
    t["latency_ms"] = 0.0  # a copy: the cached table is not changed
    assert P.load_latency("pixel3_cpu4_uint8")["latency_ms"].iloc[0] > 0


def test_predicted_latency_needs_the_model(monkeypatch):
    monkeypatch.setattr(P, "_latency_model", lambda: None)
    with pytest.raises(CostModelError) as e:
        P.points(["latency_pred:pixel3_cpu4"])
    assert str(e.value) == ("objective 'latency_pred:pixel3_cpu4' needs costmodel.latency.kernel "
                            "(fit_device), which this tree does not have; allowed: latency:pixel3_cpu4")
    assert [o["name"] for o in P.objectives()][-1].startswith("latency:")  # none predicted


# --------------------------------------------------------------------------------- points
def test_label():
    assert P._label(1.0, 224) == "1.0-224" and P._label(0.75, 160) == "0.75-160"
    assert P._label(2, 96) == "2.0-96" and P._label(1e-05, 8) == "1e-05-8"


def test_accuracy_edition():
    assert P._accuracy_edition("auto", []) == "tfslim_2018_02_float"
    assert P._accuracy_edition("tflite_float32", []) == "tflite_float32"
    uint8 = P.parse_objectives(["latency:pixel3_cpu4_uint8"])
    assert P._accuracy_edition("auto", uint8) == "tflite_uint8"
    assert P._accuracy_edition("auto", P.parse_objectives(["latency:pixel3_cpu4"])) == \
        "tfslim_2018_02_float"


def test_points_for_given_configs():
    pts = P.points(configs=[(0.5, 160), ("0.5", "160"), (0.6, 200)])
    assert list(pts.columns) == COLUMNS  # duplicates dropped, in the order given
    assert pts["label"].tolist() == ["0.5-160", "0.6-200"]
    assert pts["alpha"].tolist() == [0.5, 0.6] and pts["resolution"].tolist() == [160, 200]
    pub, est = pts.iloc[0], pts.iloc[1]
    # TF-slim: MobileNet_v1_0.50_160 59.1 / 81.9
    assert (pub["top1"], pub["top5"], pub["top1_estimated"], pub["range"]) == (59.1, 81.9, False,
                                                                                 "published")
    assert est["top1_estimated"] and est["range"] == "interpolated"
    assert est["top1_source"].startswith("estimate")
    t = layer_table(0.6, 200)
    assert est["mult_adds"] == t.totals["mult_adds"] and est["size_bf16"] == 2 * t.totals["params"]
    assert pts.attrs == {"objectives": [], "edition": "tfslim_2018_02_float", "notes": [],
                         "config": {"variant": "mobilenet_v1", "rounding": "int",
                                    "convention": "paper", "classes": 1000,
                                    "precision": None},
                         "far_left_out": {}}


def test_points_under_another_convention_and_variant():
    pts = P.points(["mult_adds"], configs=[(1.0, 224)], convention="fvcore", rounding="slim",
                   classes=10)
    t = layer_table(1.0, 224, convention="fvcore", rounding="slim", classes=10)
    assert pts["mult_adds"].iloc[0] == t.totals["mult_adds"] and pts["params"].iloc[0] == t.totals["params"]
    assert pts.attrs["config"] == {"variant": "mobilenet_v1", "rounding": "slim", "convention": "fvcore",
                                   "classes": 10, "precision": None}
    sh = P.points(["mult_adds"], configs=[(1.0, 224)], variant="shallow")
    # shallow: the five 14x14x512 pairs removed, 5 * 52,283,392 fewer mult-adds (paper Table 5)
    assert sh["mult_adds"].iloc[0] == 568_740_352 - 5 * 52_283_392
    assert np.isnan(sh["top1"].iloc[0]) and sh["top1_estimated"].iloc[0] == False  # noqa: E712
    assert sh["range"].iloc[0] == "" and sh["top1_source"].iloc[0] == ""


def test_points_notes_for_what_is_left_out():
    # 0.6-200 has no Pixel 3 latency: left out, and said so
    pts = P.points(["latency:pixel3_cpu4"], configs=[(1.0, 224), (0.6, 200)])
    assert pts["label"].tolist() == ["1.0-224"]
    assert pts.attrs["notes"] == ["1 configs without latency:pixel3_cpu4 left out"]
    kept = P.points(["latency:pixel3_cpu4"], configs=[(1.0, 224), (0.6, 200)], dropna=False)
    assert len(kept) == 2 and np.isnan(kept["latency:pixel3_cpu4"].iloc[1])
    far = P.points(["top1"], grid=True, alphas=[0.5, 1.6], resolutions=[160])
    note = ("1 configs far outside the published accuracy range left out (e.g. 1.6-160); pass "
            "allow_far=True (--allow-extrapolation) to keep them, labelled 'far'")
    assert far.attrs["notes"] == [note]
    assert far.attrs["far_left_out"] == {"count": 1, "example": "1.6-160", "note": note}
    # with a measured-latency objective the grid is the measured configs: the 16 published ones
    g = P.points(["latency:pixel3_gpu"], grid=True)
    assert len(g) == 16 and not g["top1_estimated"].any()


@pytest.mark.parametrize("kwargs, message", [
    ({"configs": []}, "empty config list; allowed: at least one (alpha, resolution)"),
    ({"grid": True, "alphas": []}, "empty alpha grid; allowed: at least one value"),
    ({"grid": True, "resolutions": []}, "empty resolution grid; allowed: at least one value"),
    ({"variant": "full_conv", "objectives": ["top5"]},
     "variant 'full_conv' has no published or estimated accuracy; allowed with top1/top5: mobilenet_v1"),
    ({"variant": "tiny"}, "variant 'tiny' is unknown; allowed: mobilenet_v1, full_conv, shallow"),
    ({"grid": True, "alphas": [3.0], "resolutions": [300]},
     "no configs left (1 configs far outside the published accuracy range left out (e.g. 3.0-300); "
     "pass allow_far=True (--allow-extrapolation) to keep them, labelled 'far'); allowed: a grid "
     "inside the published range or allow_far=True"),
])
def test_points_errors(kwargs, message):
    with pytest.raises(CostModelError) as e:
        P.points(**kwargs)
    assert str(e.value) == message


def test_cost_only_points_of_other_variants():
    # without accuracy objectives another variant is allowed (costs only)
    pts = P.points(["mult_adds"], configs=[(0.5, 128)], variant="full_conv")
    assert pts["mult_adds"].iloc[0] == layer_table(0.5, 128, variant="full_conv").totals["mult_adds"]


# --------------------------------------------------------------------------------- pareto
def test_pareto_row_order_and_attrs():
    frame = pd.DataFrame({"label": ["p", "q", "r", "s", "t"], "mult_adds": [40, 10, 30, 20, 25],
                          "top1": [50, 60, 55, 70, 65]})
    frame.attrs = {"edition": "x", "notes": ["n"]}
    out = P.pareto(["mult_adds", "top1"], frame=frame)
    # front: q (10, 60) and s (20, 70); then the dominated by mult-adds: t (25, 65), beaten by s
    # only (q has less top-1); r (30, 55) and p (40, 50), beaten by q first in front order
    assert out["label"].tolist() == ["q", "s", "t", "r", "p"]
    assert out["front_order"].tolist() == [0, 1, -1, -1, -1]
    assert out["dominated_by"].tolist() == ["", "", "s", "q", "q"]
    assert out.attrs["edition"] == "x" and out.attrs["notes"] == ["n"]
    assert [o["name"] for o in out.attrs["objectives"]] == ["mult_adds", "top1"]
    assert frame.attrs == {"edition": "x", "notes": ["n"]}  # the input is not changed
    f = P.front(["mult_adds", "top1"], frame=frame)
    assert f["label"].tolist() == ["q", "s"] and f.attrs["edition"] == "x"
    assert f.index.tolist() == [0, 1]


def test_front_order_ties_go_by_label():
    frame = pd.DataFrame({"label": ["z", "a", "m"], "mult_adds": [1, 1, 2], "top1": [5, 5, 6]})
    out = P.pareto(["mult_adds", "top1"], frame=frame)
    assert out["label"].tolist() == ["a", "z", "m"] and out["front_order"].tolist() == [0, 1, 2]
    # along the first objective, then the others: (1, 9) before (1, 5) is impossible on a
    # front; with top1 first (maximised, so ascending order puts the smaller first)
    out = P.pareto(["top1", "mult_adds"], frame=frame)
    assert out["label"].tolist() == ["a", "z", "m"]


def test_pareto_errors():
    frame = pd.DataFrame({"label": ["a"], "mult_adds": [1], "top1": [2]})
    with pytest.raises(CostModelError) as e:
        P.pareto(["params", "top1"], frame=frame)
    assert str(e.value) == ("objective 'params' is not a column of the frame; allowed: label, "
                            "mult_adds, top1")
    with pytest.raises(CostModelError) as e:
        P.pareto([], frame=frame)
    assert str(e.value) == "0 objectives given; allowed: 1 to 3 (x, y and optional z)"
    assert P.pareto(["top1"], frame=frame)["front_order"].tolist() == [0]


def test_dominated_by_on_the_grid_follows_the_definition():
    # the fine grid (31 alphas x 25 resolutions = 775 configs, more than one 512-row chunk of
    # dominated points): every dominated point names the first front point, in front order,
    # that is at least as good in both objectives
    out = P.pareto(["mult_adds", "top1"], grid=True)
    front = out[~out["dominated"]].sort_values("front_order")
    dom = out[out["dominated"]]
    assert len(out) == 775 and len(dom) > 512
    fx, fy, fl = front["mult_adds"].to_numpy(), front["top1"].to_numpy(), front["label"].to_numpy()
    for x, y, by in zip(dom["mult_adds"], dom["top1"], dom["dominated_by"]):
        first = np.flatnonzero((fx <= x) & (fy >= y))[0]
        assert by == fl[first]
    # dominated rows follow the front, by mult-adds
    assert (np.diff(dom["mult_adds"].to_numpy()) >= 0).all()
    assert out["dominated"].tolist() == [False] * len(front) + [True] * len(dom)


def test_pareto_mask_shapes_and_senses():
    with pytest.raises(CostModelError) as e:
        P.pareto_mask(np.zeros((1, 1, 1)), ["min"])
    assert str(e.value) == "values of shape (1, 1, 1) are not a table; allowed: (points, objectives)"
    with pytest.raises(CostModelError) as e:
        P.pareto_mask([[1, 2]], ["min", "best"])
    assert str(e.value) == "sense 'best' is unknown; allowed: min, max"
    with pytest.raises(CostModelError) as e:
        P.pareto_mask([[1, 2]], ["min", "min", "max"])
    assert str(e.value) == "3 senses for 2 objectives; allowed: one per objective"
    with pytest.raises(CostModelError) as e:
        P.pareto_mask([[1, np.inf]], ["min", "min"])
    assert str(e.value) == "objective values contain NaN or infinity; allowed: finite numbers"
    assert P.pareto_mask(np.zeros((0, 3)), ["min"] * 3).dtype == bool
    # four objectives: (1,1,1,2) and (1,1,2,1) trade off; (2,2,2,2) is dominated by both
    v = [[2, 2, 2, 2], [1, 1, 1, 2], [1, 1, 2, 1], [1, 1, 1, 2]]
    assert P.pareto_mask(v, ["min"] * 4).tolist() == [False, True, True, True]
    assert P.pareto_mask(v, ["max"] * 4).tolist() == [True, False, False, False]


def test_three_objectives_staircase():
    # all minimised. (0,1,9), (0,5,5), (0,9,1) trade off in (y, z); (1,6,6) is dominated by
    # (0,5,5); (1,4,8) is not: z 8 < 9 beats (0,1,9), y 4 < 5 beats (0,5,5); (2,9,1) is
    # dominated by (0,9,1); (2,0,10) has the least y, so nothing dominates it
    v = [[0, 1, 9], [0, 5, 5], [0, 9, 1], [1, 6, 6], [1, 4, 8], [2, 9, 1], [2, 0, 10]]
    assert P.pareto_mask(v, ["min"] * 3).tolist() == [True, True, True, False, True, False, True]


def test_config_point():
    p = P.config_point("1.0", "224", ["latency:pixel3_gpu"])
    # TFLite table: 1.0_224 on Pixel 3 GPU 6.5 ms; TF-slim top-1 70.9
    assert p["latency:pixel3_gpu"] == 6.5 and p["top1"] == 70.9 and p["label"] == "1.0-224"
    assert type(p["resolution"]) is int and type(p["top1_estimated"]) is bool
    # a far config of another variant: no accuracy check (it has none)
    q = P.config_point(1.6, 160, ["mult_adds"], variant="shallow")
    assert q["top1"] is None and q["mult_adds"] == layer_table(1.6, 160, variant="shallow").totals[
        "mult_adds"]
    with pytest.raises(CostModelError, match="alpha 0 is out of range"):
        P.config_point(0, 160)


def test_default_objectives_are_mult_adds_and_top1():
    out = P.pareto()
    assert [o["name"] for o in out.attrs["objectives"]] == ["mult_adds", "top1"]
    assert len(out) == 16 and (~out["dominated"]).sum() == 14  # see tests/test_pareto.py
    f = P.front()
    assert [o["name"] for o in f.attrs["objectives"]] == ["mult_adds", "top1"] and len(f) == 14


def _measure(device_id: str, configs: list[tuple[float, int]]) -> None:
    """Store a measured device (as `costmodel bench` does) in this test's user data folder."""
    from costmodel.io import latency_data

    path = latency_data.latency_path(device_id)
    for i, (a, r) in enumerate(configs):
        latency_data.append_row(path, {
            "device_id": device_id, "device": "test box", "backend": "onnxruntime",
            "device_type": "cpu", "precision": "float32", "threads": 1, "batch": 1,
            "channels_last": False, "alpha": a, "resolution": r, "variant": "mobilenet_v1",
            "rounding": "int", "classes": 1000, "spec": "mobilenet_v1", "median_ms": 1.0 + i,
            "min_ms": 1.0 + i, "iqr_ms": 0.1})


def test_measured_latency_on_two_devices_keeps_their_common_configs():
    # the box measured 1.0-224 and 0.5-160 (published) and 0.3-100 (not); Pixel 3 has the 16
    # published configs: in common 0.5-160 and 1.0-224; 14 published configs are left out
    _measure("box-cpu", [(1.0, 224), (0.3, 100), (0.5, 160)])
    pts = P.points(["latency:box-cpu", "latency:pixel3_cpu4"])
    assert pts["label"].tolist() == ["0.5-160", "1.0-224"]  # published configs come sorted
    assert pts.attrs["notes"] == ["14 published configs have no latency on box-cpu, pixel3_cpu4: "
                                  "left out"]
    # on the grid: every config both measured, sorted
    g = P.points(["latency:box-cpu", "latency:pixel3_cpu4"], grid=True)
    assert g["label"].tolist() == ["0.5-160", "1.0-224"]
    assert g["latency:box-cpu"].tolist() == [3.0, 1.0] and g["latency:pixel3_cpu4"].tolist() == [4.4, 24.0]
    # a device that measured no published config leaves nothing
    _measure("odd-cpu", [(0.3, 100)])
    with pytest.raises(CostModelError) as e:
        P.points(["latency:odd-cpu"])
    assert str(e.value) == ("no configs have every requested objective; allowed: objectives measured "
                            "on common configs (see `costmodel pareto --list`)")


def test_predicted_latency_outside_the_calibrated_range_is_left_out_and_said():
    # Pixel 3's published configs span alpha 0.25..1.0: 1.5 is outside, so it has no prediction
    pts = P.points(["latency_pred:pixel3_cpu4"], configs=[(1.0, 224), (1.5, 224)], allow_far=True)
    assert pts["label"].tolist() == ["1.0-224"]
    assert pts.attrs["notes"][0].startswith("1 configs outside the calibrated range of pixel3_cpu4 "
                                            "have no latency_pred:pixel3_cpu4 (e.g. ")
    assert pts.attrs["notes"][1] == "1 configs without latency_pred:pixel3_cpu4 left out"
    assert pts["latency_pred:pixel3_cpu4"].iloc[0] > 0


# ------------------------------------------------------------- found by mutation testing
# (scripts/mutation.py pareto: each test below fails for a mutant that survived the tests above)
def test_another_variant_has_every_accuracy_column_empty():
    pts = P.points(["mult_adds"], configs=[(0.5, 128), (1.0, 224)], variant="shallow")
    assert list(pts.columns) == COLUMNS
    assert pts["top1"].isna().all() and pts["top5"].isna().all()
    assert pts["top1_estimated"].dtype == bool and not pts["top1_estimated"].any()
    assert pts["top1_source"].tolist() == ["", ""] and pts["range"].tolist() == ["", ""]


def test_estimates_come_from_the_requested_edition():
    from costmodel.search import accuracy as acc

    pts = P.points(["top1"], grid=True, accuracy="tflite_uint8",
                   alphas=[0.5, 0.6, 1.0], resolutions=[160, 176])
    est = pts[pts["top1_estimated"]]
    assert est["label"].tolist() == ["0.5-176", "0.6-160", "0.6-176", "1.0-176"]
    a, r = est["alpha"].to_numpy(), est["resolution"].to_numpy()
    # a quantized edition's estimate: the float fit less the uint8 edition's published
    # float-to-quant drop (issue 13), not the default float edition's estimate itself
    float_t1, _ = acc.predict(a, r, metric="top1", allow_far=True)
    float_t5, _ = acc.predict(a, r, metric="top5", allow_far=True)
    t1 = float_t1 - acc.quant_drop(a, r, "tflite_uint8", "top1")
    t5 = float_t5 - acc.quant_drop(a, r, "tflite_uint8", "top5")
    assert est["top1"].tolist() == t1.tolist() and est["top5"].tolist() == t5.tolist()
    assert (np.abs(t1 - float_t1) > 0.01).all()
    assert set(est["top1_source"]) == {acc.estimate_source("tflite_uint8")}
    assert "tflite_uint8" in est["top1_source"].iloc[0]
    # top-5 is the share with the label among the first five guesses: never below top-1
    assert (pts["top5"] > pts["top1"]).all()


def test_configs_are_keyed_by_alpha_to_6_places():
    # 0.6234561 and 0.6234564 both round to 0.623456 (and differ at 7 places): one config
    pts = P.points(["mult_adds"], configs=[(0.6234561, 224), (0.6234564, 224)])
    assert pts["label"].tolist() == ["0.623456-224"]
    # a measured alpha of 0.5000004 (float noise in a CSV) is the published 0.5
    _measure("noisy-cpu", [(0.5000004, 224), (1.0, 224)])
    pts = P.points(["top1", "latency:noisy-cpu"])
    assert pts["label"].tolist() == ["0.5-224", "1.0-224"]
    assert pts["latency:noisy-cpu"].tolist() == [1.0, 2.0]  # _measure: 1.0 + i ms
    assert pts.attrs["notes"] == ["14 published configs have no latency on noisy-cpu: left out"]


def test_no_note_when_every_published_config_has_a_latency():
    # the TFLite table has all 16 published configs on Pixel 3 CPU: none left out, no note
    pts = P.points(["top1", "latency:pixel3_cpu4"])
    assert len(pts) == 16 and pts.attrs["notes"] == []
    # one fewer: 15 of 16 measured, 1 left out, said
    _measure("fifteen-cpu", [c for c in P.points(["top1"])[["alpha", "resolution"]]
                             .itertuples(index=False, name=None)][1:])
    pts = P.points(["top1", "latency:fifteen-cpu"])
    assert len(pts) == 15
    assert pts.attrs["notes"] == ["1 published configs have no latency on fifteen-cpu: left out"]


def test_front_order_of_three_objectives_follows_the_first_then_the_second():
    # all minimised. p (10, 1, 9) and q (10, 2, 5) tie in mult-adds and trade params for peak
    # activation; r (20, 0.5, 1) has the least params and peak; s (30, 3, 10) is dominated by
    # p. Front order: mult-adds ascending (p, q before r), the tie broken by params (p before q)
    frame = pd.DataFrame({"label": ["s", "r", "q", "p"], "mult_adds": [30, 20, 10, 10],
                          "params": [3, 0.5, 2, 1], "peak_activation": [10, 1, 5, 9]})
    out = P.pareto(["mult_adds", "params", "peak_activation"], frame=frame)
    assert out["label"].tolist() == ["p", "q", "r", "s"]
    assert out["front_order"].tolist() == [0, 1, 2, -1]
    assert out["dominated_by"].tolist() == ["", "", "", "p"]


def test_front_has_its_objectives_and_no_index_column():
    f = P.front(["params", "top1"])
    p = P.pareto(["params", "top1"])
    assert [o["name"] for o in f.attrs["objectives"]] == ["params", "top1"]
    assert f["label"].tolist() == p.loc[~p["dominated"], "label"].tolist()
    # params do not depend on resolution: each alpha's best top-1 (at 224) is on the front
    assert f["label"].tolist() == ["0.25-224", "0.5-224", "0.75-224", "1.0-224"]
    assert list(f.columns) == list(p.columns) == [*COLUMNS, "dominated", "front_order",
                                                  "dominated_by"]
    assert list(f.index) == list(range(len(f))) and list(p.index) == list(range(len(p)))


def test_dominated_by_with_more_than_1023_dominated_points():
    # 61 alphas x 49 resolutions = 2,989 configs: over two 512-row chunks of dominated points
    alphas = [round(0.25 + 0.0125 * i, 4) for i in range(61)]
    out = P.pareto(["mult_adds", "top1"], grid=True, alphas=alphas,
                   resolutions=range(128, 225, 2))
    dom = out[out["dominated"]]
    assert len(out) == 61 * 49 and len(dom) > 1023
    front = out[~out["dominated"]].sort_values("front_order")
    fx, fy = front["mult_adds"].to_numpy(), front["top1"].to_numpy()
    x, y = dom["mult_adds"].to_numpy()[:, None], dom["top1"].to_numpy()[:, None]
    first = ((fx[None, :] <= x) & (fy[None, :] >= y)).argmax(axis=1)
    assert dom["dominated_by"].tolist() == front["label"].to_numpy()[first].tolist()


def test_four_objectives_a_dominated_row_stays_dominated():
    # all minimised, rows in lexicographic order: (0,0,0,0) dominates (2,2,2,2); (1,-1,5,5)
    # does not (5 > 2), and must not undo what the first row found
    v = [[0, 0, 0, 0], [1, -1, 5, 5], [2, 2, 2, 2]]
    assert P.pareto_mask(v, ["min"] * 4).tolist() == [True, True, False]


def test_three_objectives_a_covered_step_and_the_next():
    # all minimised. (0,1,10) and (1,5,3) are on the front; (2,1,8) covers the (y=1, z=10) step
    # but not (5, 3); (3,6,4) is dominated by (1,5,3) only
    v = [[0, 1, 10], [1, 5, 3], [2, 1, 8], [3, 6, 4]]
    assert P.pareto_mask(v, ["min"] * 3).tolist() == [True, True, True, False]


def test_a_missing_value_is_refused():
    with pytest.raises(CostModelError) as e:
        P.pareto_mask([[1.0, 2.0], [None, 3.0]], ["min", "max"])
    assert str(e.value) == "objective values contain NaN or infinity; allowed: finite numbers"


def test_device_names_are_everything_after_the_first_colon():
    with pytest.raises(CostModelError) as e:
        P.parse_objective("latency:pixel3_cpu4:x")
    assert str(e.value).startswith("device 'pixel3_cpu4:x' is unknown; allowed: pixel3_cpu4, ")
    with pytest.raises(CostModelError) as e:
        P.resolve_device(["pixel3_cpu4"])  # not a string: the same one-line refusal
    assert str(e.value).startswith("device ['pixel3_cpu4'] is unknown; allowed: pixel3_cpu4, ")


def test_latency_of_another_variant_is_that_variants():
    # the reference machine measured MobileNet-V1 only: the shallow variant has no latency
    with pytest.raises(CostModelError) as e:
        P.points(["mult_adds", "latency:reference-xeon-2c"], variant="shallow")
    assert str(e.value).startswith("no latency rows for device 'reference-xeon-2c' ")
    assert "variant 'shallow'" in str(e.value)


def test_config_point_far_outside_says_so():
    with pytest.raises(CostModelError) as e:
        P.config_point(0.1, 96)
    assert str(e.value).startswith("alpha 0.1, resolution 96 is far outside the published range")


def test_left_out_notes_name_every_latency_objective():
    # 0.3-200 was measured on neither phone: left out, one note naming both objectives
    pts = P.points(["latency:pixel3_cpu4", "latency:pixel2_tf"], configs=[(1.0, 224), (0.3, 200)])
    assert pts["label"].tolist() == ["1.0-224"]
    assert pts.attrs["notes"] == ["1 configs without latency:pixel3_cpu4, latency:pixel2_tf left out"]
    # nothing left: the error gives every note, in order
    with pytest.raises(CostModelError) as e:
        P.points(["latency:pixel3_cpu4"], configs=[(0.1, 96), (0.3, 200)])
    assert str(e.value) == (
        "no configs left (1 configs far outside the published accuracy range left out (e.g. "
        "0.1-96); pass allow_far=True (--allow-extrapolation) to keep them, labelled 'far'; "
        "1 configs without latency:pixel3_cpu4 left out); allowed: a grid inside the published "
        "range or allow_far=True")


class _StubModel:
    """A latency model with a closed form (alpha * resolution / 100 ms) that records what it
    was asked, in place of costmodel.latency.kernel (whose fit takes seconds)."""

    def __init__(self, calls: list[dict[str, object]]) -> None:
        self.calls = calls

    def fit_device(self, device_id: str, **kw: object) -> _StubModel:
        self.calls.append({"device_id": device_id, **kw})
        return self

    def design(self, a: np.ndarray, r: np.ndarray, rounding: str) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append({"rounding": rounding, "dtypes": (a.dtype, r.dtype)})
        return a, r

    def outside(self, d: object, a: np.ndarray, r: np.ndarray) -> list[str | None]:
        return [None if x <= 1.0 else f"alpha {x:g} above 1" for x in a]

    def predict_design(self, d: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return d[0] * d[1] / 100


def test_predicted_latency_asks_the_model_for_the_config_as_given(monkeypatch):
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(P, "_latency_model", lambda: _StubModel(calls))
    pts = P.points(["mult_adds", "latency_pred:pixel3_cpu4"], configs=[(0.5, 160), (1.0, 224)],
                   variant="shallow", rounding="slim")
    # 0.5 * 160 / 100 = 0.8 ms, 1.0 * 224 / 100 = 2.24 ms
    assert pts["latency_pred:pixel3_cpu4"].tolist() == pytest.approx([0.8, 2.24], abs=1e-12)
    spec = P.resolve_device("pixel3_cpu4")
    assert calls == [{"device_id": spec.device_id, "backend": spec.backend,
                      "threads": spec.threads, "precision": spec.precision, "variant": "shallow",
                      "spec": None},  # the network: None, mobilenet_v1
                     {"rounding": "slim", "dtypes": (np.dtype(np.float64), np.dtype(np.int64))}]


def test_predicted_latency_needs_a_model_that_fits(monkeypatch):
    monkeypatch.setattr(P, "_latency_model", lambda: object())  # a module without fit_device
    with pytest.raises(CostModelError) as e:
        P.points(["latency_pred:pixel3_cpu4"])
    assert "needs costmodel.latency.kernel (fit_device)" in str(e.value)


def test_dominated_rows_tied_in_the_first_objective_keep_the_frames_order():
    # f (0, 100) dominates the other 24 rows; their mult-adds take 3 values in a shuffled
    # order: they follow f by mult-adds, rows of equal mult-adds in the frame's order
    ma = [2, 1, 3, 1, 2, 3, 3, 1, 2, 2, 1, 3, 1, 2, 3, 1, 2, 3, 3, 1, 2, 1, 3, 2]
    labels = [f"d{i:02d}" for i in range(len(ma))]
    frame = pd.DataFrame({"label": ["f", *labels], "mult_adds": [0, *ma],
                          "top1": [100, *range(50, 50 + len(ma))]})
    out = P.pareto(["mult_adds", "top1"], frame=frame)
    want = ["f"] + [lab for m in (1, 2, 3) for lab, x in zip(labels, ma) if x == m]
    assert out["label"].tolist() == want
