"""The per-kernel latency model, calibrate and evaluate --random (issue #10).

Expected values come from constructed data (a known rule and known per-path costs: the model
must recover them) or from closed-form working written next to them; no test measures for long
(calibrate runs against a fake clock and a fake measurement)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from costmodel.cli import main
from costmodel.core.engine import layer_table
from costmodel.errors import CostModelError
from costmodel.io import latency_data
from costmodel.latency import calibrate, kernel, predict

ROOT = Path(__file__).resolve().parents[1]
DEV = "synthetic-cpu"
TRUE_RULE = kernel.Rule(4, 16)


def _truth(rule: kernel.Rule = TRUE_RULE) -> tuple[list[kernel.Col], np.ndarray]:
    """Known per-path costs (ms per unit): a plain-path depthwise conv 4x slower per mult-add
    than a blocked one, a plain 1x1 conv 1.5x slower, layout conversions at 2 GB/s."""
    cols = kernel.design([1.0], [224], ["int"], rule=rule).columns
    theta = np.zeros(len(cols))
    per = {"Conv 3x3|blocked|M": 1 / 40e6, "Conv DW 3x3|blocked|M": 1 / 8e6,
           "Conv DW 3x3|plain|M": 1 / 2e6, "Conv 1x1|blocked|M": 1 / 50e6,
           "Conv 1x1|plain|M": 1 / 33e6, "Conv 1x1|blocked|N": 0.004,
           "Conv 1x1|plain|N": 0.004, "Conv DW 3x3|blocked|N": 0.003,
           "Conv DW 3x3|plain|N": 0.003, "FC|all|M": 1 / 20e6, "Avg Pool|all|B": 1 / 4e6,
           "reorder in bytes": 1 / 2e6, "reorder out bytes": 1 / 2e6}
    for c, v in per.items():
        theta[cols.index(kernel.parse_column(c))] = v
    return cols, theta


def _configs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cfg = calibrate.random_configs(n, seed)
    return (np.asarray([c[0] for c in cfg]), np.asarray([c[1] for c in cfg]),
            np.asarray([c[2] for c in cfg], dtype=object))


def _true_ms(a: Any, r: Any, rd: Any) -> np.ndarray:
    _, theta = _truth()
    return kernel.design(a, r, rd, rule=TRUE_RULE).x @ theta


# ------------------------------------------------------------------------------------------
# The design, closed form
# ------------------------------------------------------------------------------------------
def test_design_mult_adds_and_paths_closed_form() -> None:
    # Block 1: the M columns of all groups sum to the engine's mult-adds (paper convention).
    d = kernel.design([0.9], [200], ["int"], rule=kernel.Rule(4, 1))
    total = sum(d.x[0, i] for i, c in enumerate(d.columns) if c.term == "M")
    assert total == pytest.approx(layer_table(0.9, 200, rounding="int").totals["mult_adds"])
    # 0.9-200 under int rounding: channels 28, 57, 115, 230, 460, 921 (see layer_table). Input
    # channels 28 and 460 are multiples of 4 -> blocked, 57/115/230/921 are not -> plain:
    # conv1 B, dw1 B, pw1 B | dw2..pw6 p | dw7..pw12 B | dw13, pw13 p. Conversions: out of
    # blocked before dw2 and before dw13, into blocked before dw7: 3 (1 in, 2 out) -- the 3
    # Reorder nodes onnxruntime's session profile shows for this config (README).
    col = {kernel.column_name(c): d.x[0, i] for i, c in enumerate(d.columns)}
    assert col["reorders"] == 3
    assert col["reorder in bytes"] == 460 * 13 * 13 * 4  # dw7's input, 13x13x460 fp32
    assert col["reorder out bytes"] == (57 * 100 * 100 + 921 * 7 * 7) * 4
    assert col["Conv DW 3x3|blocked|N"] == 1 + 6  # dw1, dw7..dw12
    assert col["Conv DW 3x3|plain|N"] == 6  # dw2..dw6, dw13
    # divisible8: every channel count is a multiple of 8 -> all blocked, one conversion out of
    # blocked before the pooling layer.
    d8 = kernel.design([0.9], [200], ["divisible8"], rule=kernel.Rule(4, 1))
    c8 = {kernel.column_name(c): d8.x[0, i] for i, c in enumerate(d8.columns)}
    assert c8["Conv DW 3x3|plain|N"] == 0 and c8["reorders"] == 1


def test_columns_are_typed_and_named_only_in_the_stored_model() -> None:
    # MobileNet at rule (4, 1): conv1, dw and pw convs split into blocked/plain, pool and FC one
    # path each: (3 * 2 + 2) groups x 5 terms + 3 layout-conversion columns + the spill column
    # = 44, keyed by LayerType; the stored JSON names them as Table 2 does.
    from costmodel.core.kinds import AVG_POOL, CONV3X3, DW3X3

    d = kernel.design([1.0], [224], ["int"], rule=kernel.Rule(4, 1))
    assert len(d.columns) == 44
    assert d.columns[:6] == [kernel.Col(CONV3X3, "blocked", t) for t in kernel.TERMS] + [
        kernel.Col(CONV3X3, "plain", "M")]
    assert kernel.Col(DW3X3, "plain", "N") in d.columns and kernel.Col(AVG_POOL, "all", "B") in d.columns
    assert d.columns[-4:] == [kernel.Col(None, "", r) for r in (*kernel.REORDER, kernel.SPILL)]
    names = [kernel.column_name(c) for c in d.columns]
    assert names[:2] == ["Conv 3x3|blocked|M", "Conv 3x3|blocked|B"]
    assert names[-2:] == ["reorders", "mult-adds beyond cache"]
    assert "Conv DW 3x3|plain|N" in names and "Avg Pool|all|B" in names
    rule = kernel.Rule(4, 1, 4 * kernel.MIB)
    model = kernel.KernelModel(rule, d.columns, np.arange(44.0),
                               untrained=[kernel.Col(DW3X3, "plain", "M")])
    stored = json.loads(json.dumps(model.to_json()))
    assert stored["columns"] == names and stored["untrained"] == ["Conv DW 3x3|plain|M"]
    assert stored["rule"] == [4, 1, 4 * 2**20]
    back = kernel.KernelModel.from_json(stored)
    assert back.columns == d.columns and back.untrained == model.untrained and back.rule == rule
    # a model stored before the cache existed ([align, block]) reads back with cache 0
    assert kernel.KernelModel.from_json({**stored, "rule": [4, 1]}).rule == kernel.Rule(4, 1, 0)
    assert rule.label == "align 4, block 1, cache 4 MiB" and kernel.Rule(4, 1).label == "align 4, block 1"
    for bad in ("Conv DW 3x3|sideways|M", "Conv 3x3|blocked", "Pool|all|M"):
        with pytest.raises(ValueError):
            kernel.parse_column(bad)


def test_block_padding_counts_padded_channels() -> None:
    # alpha 0.375, int: conv1 has 12 output channels; padded to 16 its mult-adds are
    # 3*3*3*16 * 112^2 (vs 3*3*3*12 * 112^2).
    d = kernel.design([0.375], [224], ["int"], rule=kernel.Rule(4, 16))
    col = {kernel.column_name(c): d.x[0, i] for i, c in enumerate(d.columns)}
    assert col["Conv 3x3|blocked|M"] == 27 * 16 * 112 * 112


def test_part_filled_block_term_closed_form() -> None:
    # alpha 0.375, int, 224, rule (8, 16): conv1 12 outputs, dw1 12 (input 12: not a multiple
    # of 8 -> plain), pw1 24 (input 12 < 16: a full conv reads it as it is -> blocked), dw2 24
    # (input 24: blocked; 24 outputs leave the second block of 16 half-filled) ... The T term
    # of a blocked group is its padded mult-adds where the output channels are not a multiple
    # of 16, 0 where they are; of a plain group, the mult-adds of its C mod 16 remainder
    # channels.
    col = kernel.column_name
    d = kernel.design([0.375], [224], ["int"], rule=kernel.Rule(8, 16), layers=True)
    lays = layer_table(0.375, 224, rounding="int").rows
    ti = {c: i for i, c in enumerate(d.columns)}
    outs = [r["out_channels"] for r in lays]
    assert outs[:6] == [12, 12, 24, 24, 48, 48]
    # dw2 (layer 3): 24 channels padded to 32, 3x3, 56x56 output: 9 * 32 * 56^2
    dw_t = d.per_layer[3, 0, ti[kernel.parse_column("Conv DW 3x3|blocked|T")]]
    assert dw_t == 9 * 32 * 56 * 56
    # pw1: 12 inputs kept, 24 outputs padded to 32, 112x112; dw1 is plain, its M as is, and all
    # of its 12 channels are the remainder (12 mod 16 = 12): T = M
    assert d.per_layer[2, 0, ti[kernel.parse_column("Conv 1x1|blocked|T")]] == 12 * 32 * 112**2
    assert d.per_layer[1, 0, ti[kernel.parse_column("Conv DW 3x3|plain|M")]] == 9 * 12 * 112**2
    assert d.per_layer[1, 0, ti[kernel.parse_column("Conv DW 3x3|plain|T")]] == 9 * 12 * 112**2
    # 0.9-200 int: dw2 has 57 channels, input 57 -> plain; 57 mod 16 = 9 remainder channels of
    # its 3x3 depthwise at 50x50: T = 9 * 9 * 50^2 (M = 9 * 57 * 50^2)
    d9 = kernel.design([0.9], [200], ["int"], rule=kernel.Rule(8, 16), layers=True)
    assert layer_table(0.9, 200, rounding="int").rows[3]["out_channels"] == 57
    t9 = {c: i for i, c in enumerate(d9.columns)}
    assert d9.per_layer[3, 0, t9[kernel.parse_column("Conv DW 3x3|plain|M")]] == 9 * 57 * 50**2
    assert d9.per_layer[3, 0, t9[kernel.parse_column("Conv DW 3x3|plain|T")]] == 9 * 9 * 50**2
    # pw2 (layer 4): 24 -> 48 at 56x56, both multiples of 16? 48 is, so no T; dw3 (48) neither
    assert d.per_layer[4, 0, ti[kernel.parse_column("Conv 1x1|blocked|T")]] == 0
    assert d.per_layer[5, 0, ti[kernel.parse_column("Conv DW 3x3|blocked|T")]] == 0
    # conv1 (12 outputs, 3 inputs read as they are): blocked, 12 -> 16 padded outputs, part-filled
    x = {col(c): d.x[0, i] for i, c in enumerate(d.columns)}
    assert d.per_layer[0, 0, ti[kernel.parse_column("Conv 3x3|blocked|T")]] == 27 * 16 * 112 * 112
    # the T column of a group sums its layers; plain and block-1 designs have none
    assert x["Conv DW 3x3|blocked|T"] == sum(
        d.per_layer[i, 0, ti[kernel.parse_column("Conv DW 3x3|blocked|T")]] for i in range(len(lays)))
    assert all(v == 0 for k, v in x.items() if k.endswith("|all|T"))
    one = kernel.design([0.375], [224], ["int"], rule=kernel.Rule(8, 1))
    assert all(one.x[0, i] == 0 for i, c in enumerate(one.columns) if c.term == "T")
    # divisible8 at alpha 1: every channel count is a multiple of 16 -> no part-filled block
    full = kernel.design([1.0], [224], ["divisible8"], rule=kernel.Rule(8, 16))
    assert all(full.x[0, i] == 0 for i, c in enumerate(full.columns) if c.term == "T")


def test_fit_recovers_a_part_filled_block_penalty() -> None:
    # Truth: the alignment model plus a depthwise remainder path as slow again per mult-add
    # (ms per padded mult-add of a blocked DW layer whose channels leave a block part-filled).
    cols, theta = _truth()
    theta[cols.index(kernel.parse_column("Conv DW 3x3|blocked|T"))] = 1 / 8e6

    def truth(a: Any, r: Any, rd: Any) -> np.ndarray:
        return kernel.design(a, r, rd, rule=TRUE_RULE).x @ theta

    a, r, rd = _configs(80, seed=6)
    model = kernel.fit_model(a, r, rd, truth(a, r, rd), rule=TRUE_RULE)
    ta, tr, trd = _configs(40, seed=7)
    assert np.abs(model.predict_configs(ta, tr, trd) / truth(ta, tr, trd) - 1).max() < 0.01
    # the same fit with the T columns zeroed (the model before them) misses the penalty
    tcols = [i for i, c in enumerate(cols) if c.term == "T"]
    x = kernel.design(a, r, rd, rule=TRUE_RULE).x
    x[:, tcols] = 0
    tx = kernel.design(ta, tr, trd, rule=TRUE_RULE).x
    tx[:, tcols] = 0
    blind = tx @ kernel.fit_theta(x, truth(a, r, rd)) / truth(ta, tr, trd) - 1
    assert np.abs(blind).max() > 0.02


def test_spill_column_closed_form() -> None:
    # 1.0-224 (paper convention, fp32 bytes): a layer spills when weights + input + output
    # exceed the cache (4 MiB = 4,194,304 B). pw1: 32*64 weights + 112^2*32 in + 112^2*64 out
    # = 1,206,272 elements = 4,825,088 B; pw13: 1024*1024 + 7^2*1024 * 2 = 1,148,928 elements
    # = 4,595,712 B. Just under: dw2 (576 + 112^2*64 + 56^2*64 = 4,016,384 B) and the FC
    # (1024*1000 + 1024 + 1000 = 4,104,096 B); every other layer is smaller. So at 4 MiB the
    # spill column is pw1's + pw13's mult-adds: 112^2*32*64 + 7^2*1024*1024.
    col = kernel.column_name
    d4 = kernel.design([1.0], [224], ["int"], rule=kernel.Rule(4, 1, 4 * kernel.MIB))
    x4 = {col(c): d4.x[0, i] for i, c in enumerate(d4.columns)}
    assert x4[kernel.SPILL] == 112**2 * 32 * 64 + 7**2 * 1024 * 1024
    # at 2 MiB (2,097,152 B) also conv1 (864 + 224^2*3 + 112^2*32 = 2,211,200 B), dw1 (288 +
    # 112^2*32 * 2 = 3,212,416 B), dw2, pw2 (8192 + 56^2*64 + 56^2*128 = 2,441,216 B), dw3
    # (1152 + 56^2*128 * 2 = 3,215,872 B), pw3 (16384 + 56^2*128 * 2 = 3,276,800 B), pw12
    # (512*1024 + 7^2*512 + 7^2*1024 = 2,398,208 B) and the FC; dw4 (1152 + 56^2*128 +
    # 28^2*128 = 2,011,648 B) and the 512->512 layers (1,126,400 B) stay under.
    d2 = kernel.design([1.0], [224], ["int"], rule=kernel.Rule(4, 1, 2 * kernel.MIB))
    x2 = {col(c): d2.x[0, i] for i, c in enumerate(d2.columns)}
    expected = (112**2 * 27 * 32 + 112**2 * 9 * 32 + 112**2 * 32 * 64 + 56**2 * 9 * 64
                + 56**2 * 64 * 128 + 56**2 * 9 * 128 + 56**2 * 128 * 128
                + 7**2 * 512 * 1024 + 7**2 * 1024 * 1024 + 1024 * 1000)
    assert x2[kernel.SPILL] == expected
    # cache 0: no spill term at all; a cache above every layer's working set: zero too
    spill = kernel.Col(None, "", kernel.SPILL)
    none = kernel.design([1.0], [224], ["int"], rule=kernel.Rule(4, 1))
    assert none.x[0, none.columns.index(spill)] == 0
    big = kernel.design([1.0], [224], ["int"], rule=kernel.Rule(4, 1, 8 * kernel.MIB))
    assert big.x[0, big.columns.index(spill)] == 0
    # the boundary: a working set equal to the cache does not spill (strictly beyond it)
    at = kernel.design([1.0], [224], ["int"], rule=kernel.Rule(4, 1, 4_825_088))
    assert at.x[0, at.columns.index(spill)] == 0
    below = kernel.design([1.0], [224], ["int"], rule=kernel.Rule(4, 1, 4_825_087))
    assert below.x[0, below.columns.index(spill)] == 112**2 * 32 * 64


def test_fit_recovers_a_known_cache_spill() -> None:
    # Truth: the alignment model plus 1 ms per 40 M mult-adds of layers beyond 4 MiB.
    rule = kernel.Rule(TRUE_RULE.align, TRUE_RULE.block, 4 * kernel.MIB)
    cols, theta = _truth(rule)
    theta[cols.index(kernel.Col(None, "", kernel.SPILL))] = 1 / 40e6

    def truth(a: Any, r: Any, rd: Any) -> np.ndarray:
        return kernel.design(a, r, rd, rule=rule).x @ theta

    a, r, rd = _configs(80, seed=4)
    model = kernel.fit_model(a, r, rd, truth(a, r, rd))
    assert model.rule == rule  # chosen by cross-validation among every cache, 0 included
    ta, tr, trd = _configs(40, seed=5)
    assert np.abs(model.predict_configs(ta, tr, trd) / truth(ta, tr, trd) - 1).max() < 0.01
    gone = kernel.fit_model(a, r, rd, truth(a, r, rd), rule=TRUE_RULE)  # no spill column
    assert np.abs(gone.predict_configs(ta, tr, trd) / truth(ta, tr, trd) - 1).max() > 0.02
    # without the spill in the truth, the rule without it is chosen (ties go to cache 0)
    plain = kernel.fit_model(a, r, rd, _true_ms(a, r, rd))
    assert plain.rule.cache == 0


# ------------------------------------------------------------------------------------------
# The fit recovers a known alignment step
# ------------------------------------------------------------------------------------------
def test_fit_recovers_a_known_alignment_step() -> None:
    a, r, rd = _configs(80, seed=1)
    model = kernel.fit_model(a, r, rd, _true_ms(a, r, rd))
    assert model.rule.align == TRUE_RULE.align  # chosen by cross-validation on these only
    ta, tr, trd = _configs(40, seed=2)  # held out
    pred = model.predict_configs(ta, tr, trd)
    assert np.abs(pred / _true_ms(ta, tr, trd) - 1).max() < 0.01
    # The step itself: 0.9875-200 int (channels 31, 63, 126, ...: mostly plain) is slower than
    # 1.0-200 int (all blocked) under the truth, and the fitted model says so too.
    slow, fast = _true_ms([0.9875, 1.0], [200, 200], ["int", "int"])
    assert slow > fast
    p_slow, p_fast = model.predict_configs([0.9875, 1.0], [200, 200], ["int", "int"])
    assert p_slow / p_fast == pytest.approx(slow / fast, rel=0.01)


def test_a_model_without_the_step_is_worse_on_the_same_data() -> None:
    a, r, rd = _configs(60, seed=3)
    y = _true_ms(a, r, rd)
    flat = kernel.cv_errors(kernel.design(a, r, rd, rule=kernel.Rule(1, 1)).x, y)
    aligned = kernel.cv_errors(kernel.design(a, r, rd, rule=TRUE_RULE).x, y)
    assert np.abs(aligned).mean() < 0.01 < np.abs(flat).mean()


def test_selection_never_sees_held_out_data() -> None:
    a, r, rd = _configs(60, seed=4)
    y = _true_ms(a, r, rd)
    m = kernel.Measured(a, r, rd, y, "onnxruntime", 1, 1000, False)
    ho = kernel.held_out(m, seed=0)
    n_test = round(60 * 0.25)
    assert (ho.n_train, ho.n_test) == (60 - n_test, n_test)
    # Poison the held-out configs: the selection (made on the training configs) cannot change.
    perm = np.random.default_rng(0).permutation(60)
    y2 = y.copy()
    y2[perm[:n_test]] *= 5
    ho2 = kernel.held_out(kernel.Measured(a, r, rd, y2, "onnxruntime", 1, 1000, False), seed=0)
    assert ho2.rule == ho.rule
    assert ho.within == 1.0 and ho2.within == 0.0


# ------------------------------------------------------------------------------------------
# Calibrated range: refusal at the boundary
# ------------------------------------------------------------------------------------------
def _write_device(folder: Path, a: Any, r: Any, rd: Any, y: Any) -> Path:
    base = {c: "" for c in latency_data.COLUMNS}
    path = latency_data.latency_path(DEV, folder)
    rows = [{**base, "device_id": DEV, "device": "synthetic", "backend": "onnxruntime",
             "device_type": "cpu", "precision": "float32", "threads": 1, "batch": 1,
             "channels_last": False, "alpha": float(ai), "resolution": int(ri), "variant":
             "mobilenet_v1", "rounding": str(rdi), "classes": 1000, "spec": "mobilenet_v1",
             "median_ms": float(yi), "min_ms": float(yi), "iqr_ms": 0.0, "cpu_ms": float(yi)}
            for ai, ri, rdi, yi in zip(a, r, rd, y, strict=True)]
    latency_data._write_atomic(path, list(latency_data.COLUMNS), rows)
    return path


@pytest.fixture()
def device_dir(tmp_path: Path) -> Path:
    a, r, rd = _configs(60, seed=5)
    # the calibrated range: alpha and resolution ends measured exactly
    a = np.append(a, [0.25, 1.3]).round(4)
    r = np.append(r, [96, 288])
    rd = np.append(rd, ["int", "divisible8"]).astype(object)
    _write_device(tmp_path, a, r, rd, _true_ms(a, r, rd))
    return tmp_path


def _model(data_dir: Path) -> kernel.KernelModel:
    return kernel.fit_device(DEV, backend="onnxruntime", threads=1, data_dir=data_dir)


def test_extrapolation_refused_at_the_boundary(device_dir: Path, capsys: Any) -> None:
    model = _model(device_dir)
    assert model.alpha_range == (0.25, 1.3) and model.resolution_range == (96, 288)
    d = model.design([1.3, 1.3001, 0.5, 0.5], [288, 288, 289, 96], ["int"] * 4)
    why = model.outside(d, [1.3, 1.3001, 0.5, 0.5], [288, 288, 289, 96])
    assert why[0] is None and why[3] is None  # on the boundary: inside
    assert "alpha 1.3001" in str(why[1]) and "resolution 289" in str(why[2])
    base = ["latency", "predict", "--device-id", DEV, "--data-dir", str(device_dir)]
    assert main([*base, "--alpha", "1.3", "--resolution", "288"]) == 0
    capsys.readouterr()
    assert main([*base, "--alpha", "50", "--resolution", "4000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "alpha 50 is outside the calibrated range 0.25..1.3" in err
    assert main([*base, "--alpha", "50", "--resolution", "4000", "--allow-extrapolation",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["extrapolated"] and out["predictions"][0]["predicted_ms"] > 0


def test_unseen_channel_alignment_is_refused(tmp_path: Path) -> None:
    # Trained on alphas that are multiples of 1/8 under int rounding only: every channel count
    # is a multiple of 4 (0.375 * 32 = 12), so an odd channel count (0.9 -> 57) was never seen.
    a = np.repeat([0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0], 3)
    r = np.tile([128, 192, 256], 7)
    rd = np.asarray(["int"] * a.size, dtype=object)
    _write_device(tmp_path, a, r, rd, _true_ms(a, r, rd))
    model = _model(tmp_path)
    assert 1 not in model.alignments
    why = model.outside(model.design([0.9], [200], ["int"]), [0.9], [200])[0]
    assert why is not None and "57 channels" in why
    with pytest.raises(CostModelError, match="57 channels"):
        predict.predict(DEV, [0.9], [200], data_dir=tmp_path)


# ------------------------------------------------------------------------------------------
# predict: JSON keys, rounding, statistic labels, the cached fit
# ------------------------------------------------------------------------------------------
def test_predict_json_and_labels(device_dir: Path, capsys: Any) -> None:
    base = ["latency", "predict", "--device-id", DEV, "--data-dir", str(device_dir)]
    assert main([*base, "--alpha", "0.9875,1.0", "--resolution", "200", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    slow, fast = (p["predicted_ms"] for p in out["predictions"])
    assert out["stat"] == "median" and slow > fast  # the step, as in the truth
    # the truth has no cache term: the rule chosen carries none, in every key of the JSON
    assert out["rule"] == {"align": TRUE_RULE.align, "block": TRUE_RULE.block, "cache_bytes": 0,
                           "label": TRUE_RULE.label}
    t_slow, t_fast = _true_ms([0.9875, 1.0], [200, 200], ["int", "int"])
    assert slow == pytest.approx(t_slow, rel=0.02) and fast == pytest.approx(t_fast, rel=0.02)
    assert main([*base, "--alpha", "0.9875", "--resolution", "200", "--rounding",
                 "divisible8"]) == 0
    text = capsys.readouterr().out
    assert "predicted ms (median wall)" in text and "measured ms (median wall)" in text
    assert main([*base, "--rounding", "nearest"]) == 2
    assert "rounding 'nearest'" in capsys.readouterr().err


def test_fit_is_cached_on_disk_per_data_version(device_dir: Path) -> None:
    kernel._fit_cached.cache_clear()
    t0 = time.perf_counter()
    first = _model(device_dir)
    kernel._fit_cached.cache_clear()  # a new process: only the file cache is left
    t1 = time.perf_counter()
    again = _model(device_dir)
    t2 = time.perf_counter()
    np.testing.assert_allclose(again.theta, first.theta)
    assert t2 - t1 < (t1 - t0)
    csv = latency_data.latency_path(DEV, device_dir)
    os.utime(csv, ns=(time.time_ns(), time.time_ns() + 10**9))  # new data version: refit
    kernel._fit_cached.cache_clear()
    assert _model(device_dir).meta["n_train"] == first.meta["n_train"]


# ------------------------------------------------------------------------------------------
# calibrate: the budget, resume, killed runs; evaluate --random
# ------------------------------------------------------------------------------------------
class _FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _fake_measure(clock: _FakeClock | None, seconds: float = 1.0) -> Any:
    def measure(alpha: float, resolution: int, opts: Any, data_dir: Any = None) -> dict[str, Any]:
        if clock is not None:
            clock.t += seconds
        y = float(_true_ms([alpha], [resolution], [opts.rounding])[0])
        return {"device_id": DEV, "backend": opts.backend, "device_type": "cpu",
                "precision": "float32", "threads": opts.threads, "batch": 1,
                "channels_last": False, "alpha": alpha, "resolution": resolution,
                "variant": "mobilenet_v1", "rounding": opts.rounding, "classes": 1000,
                "spec": "mobilenet_v1", "median_ms": y, "min_ms": y, "iqr_ms": 0.0,
                "cpu_ms": y}
    return measure


class _Constant:
    """A cost estimate of 1.5 s per config (the 1 s the fake measurement takes, x SAFETY)."""

    def add(self, mult_adds: float, seconds: float) -> None:
        pass

    def __call__(self, mult_adds: float) -> float:
        return 1.5


@pytest.mark.parametrize(("budget", "rows"), [(10.0, 9), (8.5, 8), (8.49, 7)])
def test_calibrate_stops_within_the_budget(tmp_path: Path, budget: float, rows: int,
                                           monkeypatch: Any) -> None:
    # Each config takes 1 s and is estimated at 1.5 s. A config is started while
    # elapsed + 1.5 <= budget: at t = 0, 1, ..., up to t <= budget - 1.5. budget 10 -> starts
    # at t = 0..8: 9 rows; 8.5 -> t = 0..7: 8 (t = 7: 7 + 1.5 = 8.5, equal: allowed); 8.49 -> 7.
    monkeypatch.setattr(calibrate, "_CostEstimate", _Constant)
    clock = _FakeClock()
    path = latency_data.latency_path(DEV, tmp_path)
    cal = calibrate.calibrate(budget_s=budget, device_id=DEV, path=path, progress=False,
                              measure=_fake_measure(clock), clock=clock, reserve_s=0.0)
    assert len(cal.measured) == rows and cal.stopped == "budget"
    assert cal.elapsed_s <= budget
    assert len(latency_data.read_rows(path)) == rows
    # Resumable: a second run skips what is measured and continues the plan.
    clock2 = _FakeClock()
    cal2 = calibrate.calibrate(budget_s=budget, device_id=DEV, path=path, progress=False,
                               measure=_fake_measure(clock2), clock=clock2, reserve_s=0.0)
    assert cal2.skipped == rows and len(latency_data.read_rows(path)) == 2 * rows
    keys = [latency_data.row_key(r) for r in latency_data.read_rows(path)]
    assert len(set(keys)) == len(keys)


def test_a_repeat_in_the_plan_is_not_counted_as_resumed(tmp_path: Path, monkeypatch: Any) -> None:
    # a plan of 3 entries, the third a repeat of the first: a fresh folder measures 2 configs
    # and resumes none (the repeat is skipped, but not reported as "already measured")
    plan = [(0.5, 128, "int"), (0.75, 160, "int"), (0.5, 128, "int")]
    monkeypatch.setattr(calibrate, "network_plan", lambda spec=None, seed=0: list(plan))
    monkeypatch.setattr(calibrate, "_CostEstimate", _Constant)
    clock = _FakeClock()
    path = latency_data.latency_path(DEV, tmp_path)
    cal = calibrate.calibrate(budget_s=100.0, device_id=DEV, path=path, progress=False,
                              measure=_fake_measure(clock), clock=clock, reserve_s=0.0)
    assert (len(cal.measured), cal.skipped, cal.stopped) == (2, 0, "plan done")
    # a second run resumes both configs, each of the plan's three entries found in the file
    clock2 = _FakeClock()
    again = calibrate.calibrate(budget_s=100.0, device_id=DEV, path=path, progress=False,
                                measure=_fake_measure(clock2), clock=clock2, reserve_s=0.0)
    assert (len(again.measured), again.skipped) == (0, 3)


def test_cost_estimate_closed_form() -> None:
    est = calibrate._CostEstimate()
    assert est(2e9) == pytest.approx(1.5 * (1.0 + 25 * 2e9 / 5e9))  # the prior
    est.add(1e6, 6.0)  # the first config of a run: imports and the first export
    assert est(2e9) == pytest.approx(1.5 * (6.0 + 10.0))  # slowest so far + the prior's rate
    for m in (1e8, 3e8, 5e8):
        est.add(m, 0.5 + 1e-9 * m)
    # the first left out, the line s = 0.5 + 1e-9 m through the other three
    assert est(2e9) == pytest.approx(1.5 * (0.5 + 2.0))


def test_plan_covers_alignment_and_scale() -> None:
    p = calibrate.plan(64)
    a = np.asarray([x[0] for x in p])
    r = np.asarray([x[1] for x in p])
    rd = [x[2] for x in p]
    assert a.min() == 0.25 and a.max() == 1.3 and r.min() == 96 and r.max() == 288
    assert {"int", "divisible8"} == set(rd)
    first = np.asarray([int(x * 32) for x, y in zip(a, rd, strict=True) if y == "int"])
    assert (first % 8 == 0).any() and (first % 16 == 0).any() and (first % 4 != 0).any()


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from costmodel.latency import calibrate
sys.path.insert(0, {tests!r})
import test_latency_kernel as t
def slow(alpha, resolution, opts):
    time.sleep(0.05)
    return t._fake_measure(None)(alpha, resolution, opts)
calibrate.calibrate(budget_s=600, device_id=t.DEV, path=Path({path!r}), progress=False,
                    measure=slow)
"""


def test_killed_calibration_keeps_every_finished_row(tmp_path: Path) -> None:
    path = latency_data.latency_path(DEV, tmp_path)
    code = KILL_SCRIPT.format(tests=str(ROOT / "tests"), path=str(path))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and len(latency_data.read_rows(path)) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rows = latency_data.read_rows(path)
    assert len(rows) >= 3
    for row in rows:  # every row complete, parseable, no partial line
        assert float(row["median_ms"]) > 0 and row["rounding"] in ("int", "divisible8")
    assert path.read_text().endswith("\n")


def test_evaluate_random_json(device_dir: Path, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(calibrate, "_default_measure", _fake_measure(None))
    assert main(["latency", "evaluate", "--device-id", DEV, "--data-dir", str(device_dir),
                 "--random", "12", "--seed", "7", "--format", "json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"within", "rows"} and len(out["rows"]) == 12
    assert out["within"] == 1.0  # the truth is in the model's family
    want = calibrate.random_configs(12, 7)
    assert [(r["alpha"], r["resolution"], r["rounding"]) for r in out["rows"]] == want
    for alpha, res, rd in want:
        assert 0.25 <= alpha <= 1.3 and 96 <= res <= 288 and rd in ("int", "divisible8")


def test_random_configs_bad_input() -> None:
    with pytest.raises(CostModelError, match="random 0"):
        calibrate.random_configs(0)


def test_an_unseen_remainder_term_is_not_an_unseen_path() -> None:
    # Calibrated on alpha 0.5 and 1 (every channel count a multiple of 16 under both roundings):
    # no config used a T column. alpha 0.75 under divisible8 (24, 48, ... channels: blocked, 8 of
    # each 16 in a part-filled block) stays inside the calibrated range: its paths were seen; it
    # is predicted without a remainder cost (T coefficient 0), not refused.
    a = [0.5, 1.0] * 4
    r = [128, 128, 160, 160, 192, 192, 224, 224]
    y = _true_ms(a, r, ["divisible8"] * 8)
    model = kernel.fit_model(a, r, ["divisible8"] * 8, y, rule=kernel.Rule(8, 16))
    assert all(c.term != "T" for c in model.untrained)
    d = model.design([0.75], [160], "divisible8")
    assert d.x[0, [i for i, c in enumerate(d.columns) if c.term == "T"]].sum() > 0
    assert model.outside(d, [0.75], [160]) == [None]
    # what was never seen is still refused: 0.9-200 int has channel counts of gcd 4 and 1
    d9 = model.design([0.9], [200], "int")
    assert "gcd with 16: 4" in str(model.outside(d9, [0.9], [200])[0])
