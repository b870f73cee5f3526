"""The per-layer form of the latency model: layer times read from the runtime (issue #10).

Expected values come from constructed data (known per-layer costs the fit must recover) or
closed-form working beside them; nothing here measures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_latency_kernel import _Constant  # the 1.5 s-per-config cost estimate

from costmodel.io import latency_data
from costmodel.latency import calibrate, kernel, layer_times

DEV = "synthetic-cpu"
RULE = kernel.Rule(4, 16)


# ------------------------------------------------------------------------------------------
# Reading an onnxruntime profile
# ------------------------------------------------------------------------------------------
def _node(name: str, us: float) -> dict[str, Any]:
    return {"cat": "Node", "name": f"{name}_kernel_time", "dur": us}


RUN_END = {"cat": "Session", "name": "model_run", "dur": 1000}


def test_nodes_attributed_to_layers_closed_form() -> None:
    names = ["conv1", "conv_dw_1", "avg_pool", "fc"]
    events = [{"cat": "Session", "name": "session_initialization", "dur": 5},
              # run 1 (a warm-up, left out below)
              _node("/conv1/relu/Relu_output_0_nchwc", 50), _node("ReorderOutput_token_3", 50),
              _node("/conv_dw_1/conv/Conv", 200), _node("/avg_pool/pool/GlobalAveragePool", 10),
              _node("/avg_pool/flatten/Flatten", 5), _node("/fc/Gemm", 30), RUN_END,
              # runs 2..4: the reorder goes to the next layer (conv_dw_1); a node after the last
              # named one goes to the last layer
              _node("/conv1/relu/Relu_output_0_nchwc", 100), _node("ReorderOutput_token_3", 40),
              _node("/conv_dw_1/conv/Conv", 200), _node("/avg_pool/pool/GlobalAveragePool", 10),
              _node("/fc/Gemm", 30), _node("Trailing", 2), RUN_END,
              _node("/conv1/relu/Relu_output_0_nchwc", 120), _node("ReorderOutput_token_3", 60),
              _node("/conv_dw_1/conv/Conv", 220), _node("/avg_pool/pool/GlobalAveragePool", 12),
              _node("/fc/Gemm", 34), RUN_END,
              _node("/conv1/relu/Relu_output_0_nchwc", 110), _node("ReorderOutput_token_3", 50),
              _node("/conv_dw_1/conv/Conv", 210), _node("/avg_pool/pool/GlobalAveragePool", 11),
              _node("/fc/Gemm", 32), RUN_END]
    ms = layer_times.attribute_nodes(events, names, skip_runs=1)
    # the fastest of runs 2..4 (us): conv1 100,120,110 -> 100; conv_dw_1 240,280,260 -> 240;
    # avg_pool 10,12,11 -> 10; fc 32 (30 + 2 trailing), 34, 32 -> 32
    assert ms == pytest.approx([0.100, 0.240, 0.010, 0.032])
    # with the warm-up: conv1 50,100,120,110 -> 50
    assert layer_times.attribute_nodes(events, names)[0] == pytest.approx(0.050)
    assert layer_times.attribute_nodes([], names) == [0.0] * 4


# ------------------------------------------------------------------------------------------
# The per-layer fit on constructed data
# ------------------------------------------------------------------------------------------
def _configs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cfg = calibrate.random_configs(n, seed)
    return (np.asarray([c[0] for c in cfg]), np.asarray([c[1] for c in cfg]),
            np.asarray([c[2] for c in cfg], dtype=object))


def _truth(a: Any, r: Any, rd: Any) -> tuple[np.ndarray, np.ndarray]:
    """Known costs the per-group form cannot hold: every layer's compute rate is its own
    (layer l runs at (1 + l / 4) x the group's ms per mult-add), a plain depthwise conv 4x
    slower than a blocked one, 3 us per layer, conversions at 2 GB/s. Layer times, and whole
    networks at 1.1 x their layers + 0.05 ms (time outside the layers)."""
    d = kernel.design(a, r, rd, rule=RULE, layers=True)
    assert d.per_layer is not None
    per = {"Conv 3x3|blocked|M": 1 / 40e6, "Conv DW 3x3|blocked|M": 1 / 8e6,
           "Conv DW 3x3|plain|M": 1 / 2e6, "Conv 1x1|blocked|M": 1 / 50e6,
           "Conv 1x1|plain|M": 1 / 33e6, "FC|all|M": 1 / 20e6, "Avg Pool|all|B": 1 / 4e6,
           "Conv 1x1|blocked|N": 0.003, "Conv 1x1|plain|N": 0.003,
           "Conv DW 3x3|blocked|N": 0.003, "Conv DW 3x3|plain|N": 0.003,
           "reorder in bytes": 1 / 2e6, "reorder out bytes": 1 / 2e6}
    base = np.zeros(len(d.columns))
    for c, v in per.items():
        base[d.columns.index(kernel.parse_column(c))] = v
    is_m = np.asarray([c.term == "M" for c in d.columns])
    theta = np.stack([np.where(is_m, base * (1 + li / 4), base)
                      for li in range(d.per_layer.shape[0])])
    layer_ms = np.einsum("lnk,lk->nl", d.per_layer, theta)
    return layer_ms, 1.1 * layer_ms.sum(axis=1) + 0.05


def test_per_layer_fit_recovers_per_layer_costs() -> None:
    a, r, rd = _configs(120, seed=1)
    lm, y = _truth(a, r, rd)
    model = kernel.fit_model(a, r, rd, y, rule=RULE, layer_ms=lm, form="per-layer")
    assert model.form == "per-layer"
    assert model.layer_map[0] == pytest.approx(1.1, rel=1e-3)
    assert model.layer_map[1] == pytest.approx(0.05, abs=1e-3)
    ta, tr, trd = _configs(40, seed=2)  # held out
    _, ty = _truth(ta, tr, trd)
    assert np.abs(model.predict_configs(ta, tr, trd) / ty - 1).max() < 0.01
    # the per-group form, on the same totals, cannot hold layer-specific rates
    group = kernel.fit_model(a, r, rd, y, rule=RULE)
    assert group.form == "per-group"
    assert np.abs(group.predict_configs(ta, tr, trd) / ty - 1).max() > 0.02


def test_cross_validation_picks_the_form_and_never_sees_held_out_data() -> None:
    a, r, rd = _configs(80, seed=3)
    lm, y = _truth(a, r, rd)
    model = kernel.fit_model(a, r, rd, y, layer_ms=lm)
    assert model.form == "per-layer"
    forms = model.meta["forms"]
    assert forms["per-layer"]["inner_mape"] < forms["per-group"]["inner_mape"]
    # held out: the test configs' layer times and totals are poisoned; the fit (form and
    # rule chosen on the training configs only) is the same, so only the score changes
    m = kernel.Measured(a, r, rd, y, "onnxruntime", 1, 1000, False, layer_ms=lm)
    ho = kernel.held_out(m, seed=0)
    n_test = round(80 * 0.25)
    test = np.random.default_rng(0).permutation(80)[:n_test]
    lm2, y2 = lm.copy(), y.copy()
    lm2[test], y2[test] = 100.0, y[test] * 5
    ho2 = kernel.held_out(kernel.Measured(a, r, rd, y2, "onnxruntime", 1, 1000, False,
                                          layer_ms=lm2), seed=0)
    assert ho.rule == ho2.rule and ho.within == 1.0 and ho2.within == 0.0
    # configs without layer times (NaN rows) take part in the whole-network map only
    lm3 = lm.copy()
    lm3[::4] = np.nan
    m3 = kernel.fit_model(a, r, rd, y, rule=RULE, layer_ms=lm3, form="per-layer")
    assert m3.form == "per-layer" and m3.layer_map[0] == pytest.approx(1.1, rel=0.02)
    assert np.median(np.abs(m3.predict_configs(a, r, rd) / y - 1)) < 0.01
    with pytest.raises(kernel.CostModelError, match="layer times of shape"):
        kernel.fit_model(a, r, rd, y, rule=RULE, layer_ms=lm[:, :3])


def test_stored_fit_round_trips_and_an_older_one_still_loads() -> None:
    a, r, rd = _configs(60, seed=4)
    lm, y = _truth(a, r, rd)
    model = kernel.fit_model(a, r, rd, y, rule=RULE, layer_ms=lm, form="per-layer")
    back = kernel.KernelModel.from_json(json.loads(json.dumps(model.to_json())))
    assert back.form == "per-layer"
    assert back.predict_configs(a[:5], r[:5], rd[:5]) == pytest.approx(
        model.predict_configs(a[:5], r[:5], rd[:5]))
    old = model.to_json()
    del old["layer_theta"], old["layer_map"]  # a fit stored before the per-layer form
    older = kernel.KernelModel.from_json(old)
    assert older.form == "per-group"
    assert older.predict_configs(a[:5], r[:5], rd[:5]) == pytest.approx(
        kernel.design(a[:5], r[:5], rd[:5], rule=RULE).x @ model.theta)


# ------------------------------------------------------------------------------------------
# The layer-times file, calibrate writing it, fit_device reading it
# ------------------------------------------------------------------------------------------
def _fake_measure(names: list[str]) -> Any:
    def measure(alpha: float, resolution: int, opts: Any) -> dict[str, Any]:
        lm, y = _truth([alpha], [resolution], [opts.rounding])
        row = {"device_id": DEV, "device": "synthetic", "fingerprint": "fp1",
               "backend": opts.backend, "device_type": "cpu", "precision": "float32",
               "threads": opts.threads, "batch": 1, "channels_last": False, "alpha": alpha,
               "resolution": resolution, "variant": "mobilenet_v1", "rounding": opts.rounding,
               "classes": 1000, "spec": "mobilenet_v1", "median_ms": float(y[0]),
               "min_ms": float(y[0]), "iqr_ms": 0.0, "cpu_ms": float(y[0])}
        row["_layers"] = {**{k: row[k] for k in latency_data.KEY_COLUMNS}, "runs": 5,
                          "layers": ";".join(names),
                          "layer_ms": ";".join(f"{v:.9f}" for v in lm[0]), "date": "d"}
        return row
    return measure


def test_calibrate_writes_layer_times_and_the_fit_uses_them(tmp_path: Path,
                                                            monkeypatch: Any) -> None:
    names = [lay.name for lay in kernel.resolve_arrays(
        np.asarray([1.0]), np.asarray([224]), variant="mobilenet_v1", rounding="int",
        classes=1001, desc=kernel.get_description(None))]
    path = latency_data.latency_path(DEV, tmp_path)
    monkeypatch.setattr(calibrate, "_CostEstimate", _Constant)
    t = [0.0]

    def clock() -> float:  # every read advances 0.25 s
        t[0] += 0.25
        return t[0]

    # the injected measurement returns the layer times a measure_with_layers would
    cal = calibrate.calibrate(budget_s=100.0, device_id=DEV, path=path, progress=False,
                              measure=_fake_measure(names), clock=clock, fingerprint="fp1",
                              reserve_s=0.0, layer_times=True)
    n = len(cal.measured)
    assert n >= 80
    rows = latency_data.read_rows(layer_times.layers_path(path))
    assert len(rows) == n and rows[0]["device_id"] == DEV
    assert rows[0]["layers"].split(";") == names
    got = layer_times.load(path, backend="onnxruntime", threads=1, batch=1,
                           precision="float32", variant="mobilenet_v1")
    assert len(got) == n
    assert layer_times.load(path, backend="torch", threads=1, batch=1, precision="float32",
                            variant="mobilenet_v1") == {}
    m = kernel.measured(DEV, backend="onnxruntime", threads=1, data_dir=tmp_path)
    assert m.layer_ms is not None and np.isfinite(m.layer_ms).all()
    model = kernel.fit_device(DEV, backend="onnxruntime", threads=1, data_dir=tmp_path)
    assert model.form == "per-layer"
    # a layer-times file that cannot be read only drops the per-layer form (the fit is redone:
    # the file is part of the cache key)
    layer_times.layers_path(path).write_text("device_id,alpha\n1,2\n", encoding="utf-8")
    assert kernel.measured(DEV, backend="onnxruntime", threads=1,
                           data_dir=tmp_path).layer_ms is None
    assert kernel.fit_device(DEV, backend="onnxruntime", threads=1,
                             data_dir=tmp_path).form == "per-group"


def test_repeated_layer_rows_combine_by_median(tmp_path: Path) -> None:
    path = latency_data.latency_path(DEV, tmp_path)
    base = {k: "" for k in layer_times.COLUMNS}
    for v in ("1;2", "3;4", "2;10"):
        layer_times.append(path, {**base, "backend": "torch", "threads": 1, "batch": 1,
                                  "precision": "float32", "variant": "mobilenet_v1",
                                  "rounding": "int", "alpha": 0.5, "resolution": 128,
                                  "spec": "mobilenet_v1",
                                  "layers": "a;b", "layer_ms": v})
    got = layer_times.load(path, backend="torch", threads=1, batch=1, precision="float32",
                           variant="mobilenet_v1")
    assert got == {(0.5, 128, "int"): (["a", "b"], [2.0, 4.0])}
