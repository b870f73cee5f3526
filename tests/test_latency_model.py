"""The latency model (issue #4): per-layer features, fits with a known answer, held-out
evaluation, roofline bounds, the CLI, bad inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from costmodel.core.engine import layer_table
from costmodel.core.kinds import AVG_POOL, CONV1X1, CONV3X3, DW3X3, FULLY_CONNECTED
from costmodel.errors import CostModelError
from costmodel.io import latency_data
from costmodel.io.grids import PAPER_CONFIGS
from costmodel.latency import model as lm

ROOT = Path(__file__).resolve().parents[1]
GRID = [(a, r) for a in (0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0) for r in range(96, 257, 32)]

# A made-up device: seconds per mult-add, per byte and per layer, for each type.
TRUE_COEF = {
    CONV3X3: {"a": 1 / 20e9, "b": 1 / 8e9, "c": 4e-6},
    DW3X3: {"a": 1 / 4e9, "b": 1 / 6e9, "c": 3e-6},
    CONV1X1: {"a": 1 / 60e9, "b": 1 / 10e9, "c": 2e-6},
    AVG_POOL: {"a": 0.0, "b": 1 / 5e9, "c": 5e-6},
    FULLY_CONNECTED: {"a": 1 / 10e9, "b": 1 / 12e9, "c": 6e-6},
}


def _features(configs: list[tuple[float, int]]) -> lm.LayerFeatures:
    return lm.layer_features([a for a, _ in configs], [r for _, r in configs])


def _subset(f: lm.LayerFeatures, idx: np.ndarray) -> lm.LayerFeatures:
    return f.subset(idx)


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


@pytest.mark.parametrize("form", ["sum", "roofline"])
def test_fit_recovers_a_known_model_on_held_out_configs(form: str) -> None:
    f = _features(GRID)
    y = lm._predict(form, TRUE_COEF, f) * 1e3
    test = np.asarray([(a, r) in PAPER_CONFIGS for a, r in GRID])
    model = lm.fit(_subset(f, np.flatnonzero(~test)), y[~test], form=form)
    pred = model.predict_features(_subset(f, np.flatnonzero(test)))
    tol = 1e-6 if form == "sum" else 1e-3  # linear: exact; roofline: a numerical optimum
    assert np.abs(pred / y[test] - 1).max() < tol
    # The compute rate of 1x1 convs, the dominant term, is identified: 60 GMAC/s.
    rates = {r["type"]: r for r in model.rates()}
    assert rates[CONV1X1]["gmacs"] == pytest.approx(60.0, rel=1e-2)


def test_a_type_not_fitted_is_refused_by_its_name() -> None:
    # coefficients are keyed by LayerType; the error names types as Table 2 does
    f = _features(GRID[:6])
    model = lm.fit(f, lm._predict("sum", TRUE_COEF, f) * 1e3, form="sum")
    assert list(model.coef) == [CONV3X3, DW3X3, CONV1X1, AVG_POOL, FULLY_CONNECTED]
    del model.coef[CONV3X3]
    with pytest.raises(CostModelError) as e:
        model.predict_features(f)
    assert str(e.value) == ("layer type 'Conv 3x3' was not in the fitted data; allowed types: "
                            "Conv DW 3x3, Conv 1x1, Avg Pool, FC")


def test_roofline_form_beats_the_sum_form_on_roofline_data() -> None:
    f = _features(GRID)
    y = lm._predict("roofline", TRUE_COEF, f) * 1e3
    err = {form: np.abs(lm.fit(f, y, form=form).predict_features(f) / y - 1).max()
           for form in lm.FORMS}
    assert err["roofline"] < 1e-3 < err["sum"]


def test_baseline_k_closed_form() -> None:
    # y = 2x exactly: k = sum(x/y) / sum((x/y)^2) = (0.5 + 0.5) / (0.25 + 0.25) = 2
    assert lm.baseline_k(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(2.0)


def _write_device(tmp_path: Path, dev: str, ys: np.ndarray, configs: list[tuple[float, int]],
                  backend: str = "onnxruntime") -> None:
    base = {c: "" for c in latency_data.COLUMNS}
    path = latency_data.latency_path(dev, tmp_path)
    rows = [{**base, "device_id": dev, "backend": backend, "device_type": "cpu",
             "precision": "float32", "threads": 1, "batch": 1, "channels_last": False,
             "alpha": a, "resolution": r, "variant": "mobilenet_v1", "rounding": "int",
             "classes": 1000, "spec": "mobilenet_v1", "median_ms": y, "min_ms": y * 0.98,
             "iqr_ms": 0.0, "cpu_ms": y * 0.97}
            for (a, r), y in zip(configs, ys, strict=True)]
    header = list(latency_data.COLUMNS)
    latency_data._write_atomic(path, header, rows)


def test_evaluate_on_a_synthetic_device(tmp_path: Path) -> None:
    f = _features(GRID)
    y = lm._predict("roofline", TRUE_COEF, f) * 1e3
    _write_device(tmp_path, "synthetic-cpu", y, GRID)
    ev = lm.evaluate("synthetic-cpu", data_dir=tmp_path)
    # default split: the 16 paper configs are held out, the other 42 - 16 = 26 train
    assert (ev.split, ev.n_train, ev.n_test) == ("paper", 26, 16)
    assert ev.within == 1.0 and ev.max_err < 1e-3
    # fixed per-layer costs make latency not proportional to mult-adds: the baseline misses
    assert ev.baseline_within < 1.0
    assert {(r["alpha"], r["resolution"]) for r in ev.rows} == set(PAPER_CONFIGS)
    loo = lm.evaluate("synthetic-cpu", data_dir=tmp_path, split="loo", form="sum")
    assert loo.n_test == 42
    rnd = lm.evaluate("synthetic-cpu", data_dir=tmp_path, split="random", test_fraction=0.5)
    assert (rnd.n_train, rnd.n_test) == (21, 21)  # 42 * 0.5 = 21 held out
    again = lm.evaluate("synthetic-cpu", data_dir=tmp_path, split="random", test_fraction=0.5)
    assert [r["alpha"] for r in again.rows] == [r["alpha"] for r in rnd.rows]  # seeded


def test_fit_device_and_predict(tmp_path: Path) -> None:
    f = _features(GRID)
    y = lm._predict("roofline", TRUE_COEF, f) * 1e3
    _write_device(tmp_path, "synthetic-cpu", y, GRID)
    model = lm.fit_device("synthetic-cpu", data_dir=tmp_path)
    want = lm._predict("roofline", TRUE_COEF, _features([(0.6, 200)]))[0] * 1e3
    # Off the training grid the answer is close, not exact: with one Conv 3x3, one pool and one
    # FC layer per config, the grid fits exactly with more than one set of coefficients.
    got = model.predict(0.6, 200)
    assert got == pytest.approx(want, rel=1e-2)
    grid = model.predict_grid([0.5, 0.6], [128, 200])
    assert grid.shape == (2, 2) and grid[1, 1] == pytest.approx(got, rel=1e-9)
    assert grid[0, 0] == pytest.approx(y[GRID.index((0.5, 128))], rel=1e-6)  # a training config
    # stat=cpu fits cpu_ms = 0.97 * median: the same fit, scaled (the fit is scale-equivariant);
    # compared at a training config, where the data pin the prediction down
    cpu = lm.fit_device("synthetic-cpu", data_dir=tmp_path, stat="cpu")
    assert cpu.predict(0.5, 128) == pytest.approx(0.97 * grid[0, 0], rel=1e-6)
    # auto (default): median/min/cpu are exact multiples here, so they tie and the plain
    # candidates win the tie; the data are roofline with exact mult-adds (pad 1)
    sel = model.meta["selection"]
    assert (sel["form"], sel["stat"], sel["pad"], sel["n_inner"]) == ("roofline", "median", 1, 42)
    assert sel["inner_within"] == 1.0 and model.pad == 1 and model.meta["stat"] == "median"
    fixed = lm.fit_device("synthetic-cpu", data_dir=tmp_path, form="roofline", stat="median", pad=1)
    assert fixed.meta["selection"] is None
    assert fixed.predict(0.5, 128) == pytest.approx(grid[0, 0], rel=1e-6)


def _noisy_stats(y: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """A clean ``min`` and two noisier figures: median = min * (1 + U(0, 0.4)) (interference
    only adds time), cpu = min * exp(N(0, 0.15))."""
    rng = np.random.default_rng(seed)
    return {"median": y * (1 + rng.uniform(0, 0.4, y.size)), "min": y.copy(),
            "cpu": y * np.exp(rng.normal(0, 0.15, y.size))}


def test_selection_picks_the_known_best_settings() -> None:
    # Latency generated by the roofline model with channels padded to 16: the known best
    # candidate is (roofline, min, 16); the noisy stats and the other pads/forms fit worse.
    train = [(a, r) for a, r in GRID if (a, r) not in PAPER_CONFIGS]
    a, r = np.asarray([c[0] for c in train]), np.asarray([c[1] for c in train])
    y = lm._predict("roofline", TRUE_COEF, lm.layer_features(a, r, pad=16)) * 1e3
    sel = lm.select_settings(a, r, _noisy_stats(y, 0))
    assert (sel.form, sel.stat, sel.pad, sel.n) == ("roofline", "min", 16, 26)
    assert sel.within == 1.0 and sel.mape < 1e-3
    assert len(sel.scores) == 2 * 3 * 3  # forms x stats x pads
    best = max(sel.scores, key=lambda c: (c["within"], -c["mape"]))
    assert (best["form"], best["stat"], best["pad"]) == ("roofline", "min", 16)
    # with pad 16 taken away, the exact-count candidates lose accuracy: pad 8 is the nearest
    # (every width that is a multiple of 16 is one of 8) and wins
    sel8 = lm.select_settings(a, r, {"min": y}, pads=(1, 8), forms=("roofline",))
    assert sel8.pad == 8


def _poisoned_copy(src: Path, dst: Path, dev: str) -> None:
    """The device file with every held-out (paper) config's measurements scaled by 0.3..3."""
    rows = latency_data.read_rows(latency_data.latency_path(dev, src))
    rng = np.random.default_rng(1)
    for row in rows:
        if (round(float(row["alpha"]), 6), int(row["resolution"])) in PAPER_CONFIGS:
            k = float(rng.uniform(0.3, 3.0))
            for col in ("median_ms", "min_ms", "cpu_ms"):
                row[col] = str(float(row[col]) * k)
    latency_data._write_atomic(latency_data.latency_path(dev, dst), list(latency_data.COLUMNS),
                               rows)


def test_selection_never_sees_held_out_data(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    train = [(a, r) for a, r in GRID if (a, r) not in PAPER_CONFIGS]
    y = lm._predict("roofline", TRUE_COEF, lm.layer_features(
        [c[0] for c in GRID], [c[1] for c in GRID], pad=8)) * 1e3
    clean, poisoned = tmp_path / "clean", tmp_path / "poisoned"
    clean.mkdir()
    poisoned.mkdir()
    _write_device(clean, "synthetic-cpu", y * np.exp(np.random.default_rng(0).normal(
        0, 0.03, y.size)), GRID)
    _poisoned_copy(clean, poisoned, "synthetic-cpu")
    seen: list[set[tuple[float, int]]] = []
    real = lm.select_settings

    def spy(alphas: object, resolutions: object, *args: object, **kw: object) -> lm.Selection:
        seen.append({(round(float(x), 6), int(z)) for x, z in zip(alphas, resolutions,  # type: ignore[call-overload]
                                                                    strict=True)})
        return real(alphas, resolutions, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(lm, "select_settings", spy)
    ev = lm.evaluate("synthetic-cpu", data_dir=clean, split="paper")
    bad = lm.evaluate("synthetic-cpu", data_dir=poisoned, split="paper")
    assert seen == [set(train), set(train)]  # one selection per evaluation, training configs only
    assert ev.selections == bad.selections and len(ev.selections) == 1  # same choice, same scores
    assert ev.selections[0]["n_inner"] == 26
    # the poison reached the held-out comparison: the same predictions, other measurements
    assert [r["predicted_ms"] for r in ev.rows] == pytest.approx(
        [r["predicted_ms"] for r in bad.rows], rel=1e-9)
    assert ev.within > bad.within


def test_published_pixel2_is_predicted_within_10_percent() -> None:
    # Pixel 2, TFLite 1 thread (models.md): leave-one-out over the 16 published models
    ev = lm.evaluate("pixel2", backend="tflite-cpu", form="sum")
    assert ev.split == "loo" and ev.n_test == 16
    assert ev.within >= 0.9 > ev.baseline_within


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
    (lambda: lm.fit(_features([(1.0, 224), (0.5, 224)]), [1.0]), "one measured latency per config"),
    (lambda: lm.fit(_features([(1.0, 224), (0.5, 224)]), [1.0, -1.0]), "finite and > 0"),
    (lambda: lm.fit(_features([(1.0, 224), (0.5, 224)]), [1.0, 2.0], form="cubic"),
     "form 'cubic' is unknown"),
    (lambda: lm.evaluate("no-such-cpu"), "device id 'no-such-cpu' is unknown"),
    (lambda: lm.evaluate("pixel3", split="paper"), "split 'paper' needs measured configs"),
    (lambda: lm.evaluate("pixel3", stat="cpu"), "stat 'cpu' has no data"),
    (lambda: lm.evaluate("pixel3", split="halves"), "split 'halves' is unknown"),
    (lambda: lm.layer_features([0.5, 1.0], [224]), "need one resolution per alpha"),
    (lambda: lm.evaluate("pixel3", pad=0), "pad 0 is out of range"),
    (lambda: lm.fit_device("pixel3", stat="mean"), "stat 'mean' is unknown"),
    (lambda: lm.select_settings([1.0, 0.5], [224, 224], {"median": [2.0, 1.0]}),
     "at least 3 configs"),
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
    out = _cli("latency", "evaluate", "--device-id", "pixel2", "--form", "sum")
    assert out.returncode == 0, out.stderr
    assert "within +/-10%: model" in out.stdout and "split loo" in out.stdout
    assert "settings chosen by leave-one-out on the training configs only" in out.stdout
    assert "in 16 of 16 folds" in out.stdout or "of 16 folds" in out.stdout
    out = _cli("latency", "predict", "--device-id", "pixel3", "--alpha", "1.0",
               "--resolution", "224", "--format", "json")
    assert out.returncode == 0, out.stderr
    import json

    pred = json.loads(out.stdout)["predictions"][0]
    assert pred["measured_ms"] == 24.0  # published Pixel 3 CPU, 1.0_224 float
    assert abs(pred["predicted_ms"] / 24.0 - 1) < 0.1
    out = _cli("latency", "devices", "--format", "csv")
    assert out.returncode == 0 and "\npixel3,pixel3_gpu,tflite-gpu,gpu," in out.stdout
