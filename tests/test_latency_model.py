"""What stays of the per-layer-type latency module (issue #4): per-layer features from the
engine, the k * mult-adds baseline, the roofline bound; and the latency CLI end to end. The
latency model itself (costmodel.latency.kernel) is tested in test_latency_kernel.py and, for
`latency evaluate --split`, test_latency_split.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from costmodel.core.engine import layer_table
from costmodel.errors import CostModelError
from costmodel.latency import model as lm

ROOT = Path(__file__).resolve().parents[1]


def _features(configs: list[tuple[float, int]]) -> lm.LayerFeatures:
    return lm.layer_features([a for a, _ in configs], [r for _, r in configs])


def test_features_come_from_the_engine() -> None:
    f = _features([(0.5, 160), (1.0, 224)])
    for j, (a, r) in enumerate([(0.5, 160), (1.0, 224)]):
        rows = layer_table(a, r).rows
        assert f.names == [row["name"] for row in rows]
        assert f.types == [row["type"] for row in rows]  # LayerType values, not names
        assert list(f.mult_adds[:, j]) == [row["mult_adds"] for row in rows]
    # conv1 at 1.0-224: weights 3*3*3*32 = 864, input 224*224*3 = 150528, output 112*112*32
    # = 401408 values, 4 bytes each: (864 + 150528 + 401408) * 4 = 2211200 bytes
    assert f.bytes[0, 1] == 2_211_200
    # batch 2 doubles activations and mult-adds, not weights: (864 + 2 * 551936) * 4
    f2 = lm.layer_features([1.0], [224], batch=2)
    assert f2.bytes[0, 0] == (864 + 2 * 551_936) * 4
    assert f2.mult_adds[0, 0] == 2 * rows[0]["mult_adds"]


def test_padded_compute_term() -> None:
    # alpha 0.25, 224: conv_pw_1 maps int(32*0.25) = 8 to int(64*0.25) = 16 channels at 112x112.
    # exact: 8*16*112*112 = 1605632; padded to 16: 16*16*112*112 = 3211264; bytes unchanged
    f = lm.layer_features([0.25], [224], pad=16)
    exact = lm.layer_features([0.25], [224])
    i = f.names.index("conv_pw_1")
    assert f.mult_adds[i, 0] == 3_211_264 and exact.mult_adds[i, 0] == 1_605_632
    assert (f.bytes == exact.bytes).all()
    assert f.total_mult_adds[0] == exact.total_mult_adds[0]  # the baseline uses exact counts
    # 1.0-224: every width is a multiple of 16 except conv1's 3 input channels (3 -> 16) and
    # the 1000 classes (-> 1008): fc 1024*1008 = 1032192
    g, e = lm.layer_features([1.0], [224], pad=16), lm.layer_features([1.0], [224])
    assert g.mult_adds[0, 0] == e.mult_adds[0, 0] * 16 // 3
    assert g.mult_adds[-1, 0] == 1_032_192 and e.mult_adds[-1, 0] == 1_024_000
    assert (g.mult_adds[1:-1] == e.mult_adds[1:-1]).all()
    with pytest.raises(CostModelError, match="pad 0 is out of range"):
        lm.layer_features([1.0], [224], pad=0)


def test_baseline_k_closed_form() -> None:
    # y = 2x exactly: k = sum(x/y) / sum((x/y)^2) = (0.5 + 0.5) / (0.25 + 0.25) = 2
    assert lm.baseline_k(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(2.0)


def test_roofline_bound_closed_form() -> None:
    # Infinite-like bandwidth: the bound is compute only, 2 * 568740352 flops (1.0-224's
    # mult-adds, Table 1 counted: 569M in the paper) at 1 GFLOP/s = 1137.480704 ms
    got = lm.roofline_bound_ms([1.0], [224], peak_gflops=1.0, bandwidth_gbs=1e12)
    assert got[0] == pytest.approx(1137.480704, rel=1e-6)
    # Infinite-like compute: the bound is memory only, total bytes at 1 GB/s
    f = _features([(1.0, 224)])
    got = lm.roofline_bound_ms([1.0], [224], peak_gflops=1e12, bandwidth_gbs=1.0)
    assert got[0] == pytest.approx(f.bytes.sum() / 1e9 * 1e3, rel=1e-6)


@pytest.mark.parametrize("call, words", [
    (lambda: lm.layer_features([0.5, 1.0], [224]), "need one resolution per alpha"),
    (lambda: lm.roofline_bound_ms([1.0], [224], peak_gflops=0, bandwidth_gbs=1),
     "must be > 0"),
])
def test_bad_inputs(call: object, words: str) -> None:
    with pytest.raises(CostModelError, match=words):
        call()  # type: ignore[operator]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "costmodel", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_cli_evaluate_predict_devices() -> None:
    # Pixel 2's 16 published configs are all paper configs: leave-one-out, 16 fits
    out = _cli("latency", "evaluate", "--device-id", "pixel2")
    assert out.returncode == 0, out.stderr
    assert "per-kernel model" in out.stdout and "split loo" in out.stdout
    assert "within +/-10%: model" in out.stdout
    assert "rule chosen by cross-validation on the training configs only" in out.stdout
    assert " of 16 fits" in out.stdout
    out = _cli("latency", "predict", "--device-id", "pixel3", "--alpha", "1.0",
               "--resolution", "224", "--format", "json")
    assert out.returncode == 0, out.stderr
    pred = json.loads(out.stdout)["predictions"][0]
    assert pred["measured_ms"] == 24.0  # published Pixel 3 CPU, 1.0_224 float
    assert abs(pred["predicted_ms"] / 24.0 - 1) < 0.1
    out = _cli("latency", "devices", "--format", "csv")
    assert out.returncode == 0 and "\npixel3,pixel3_gpu,tflite-gpu,gpu," in out.stdout
