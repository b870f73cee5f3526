"""`costmodel latency evaluate --split`: the per-kernel model (the one `latency predict` uses)
scored on stored measurements by held-out splits, each fit's rule chosen on its training
configs only (issue #10).

The synthetic device's latencies come from a known per-kernel model (test_latency_kernel's
``_true_ms``: rule align 4, block 16, known per-path costs), so the held-out predictions must be
exact; counts come from the grid: alpha 0.25..1 step 0.125 (7) x resolution 96..256 step 32 (6)
= 42 configs, of which the paper's 16 (alpha 0.25..1 step 0.25 x 128..224 step 32) are inside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_latency_kernel import DEV, _true_ms, _write_device

from costmodel.cli import main
from costmodel.errors import CostModelError
from costmodel.io.grids import PAPER_CONFIGS
from costmodel.latency import kernel

GRID = [(round(0.25 + 0.125 * i, 6), 96 + 32 * j) for i in range(7) for j in range(6)]


def _measured(y_factor: Any = 1.0, grid: list[tuple[float, int]] = GRID) -> kernel.Measured:
    a = np.asarray([c[0] for c in grid])
    r = np.asarray([c[1] for c in grid])
    rd = np.asarray(["int"] * len(grid), dtype=object)
    return kernel.Measured(a, r, rd, _true_ms(a, r, rd) * y_factor, "onnxruntime", 1, 1000, False)


@pytest.fixture()
def grid_dir(tmp_path: Path) -> Path:
    m = _measured()
    _write_device(tmp_path, m.alphas, m.resolutions, m.roundings, m.y_ms)
    return tmp_path


def test_paper_split_is_the_default_and_exact_on_model_data() -> None:
    ev = kernel.evaluate_split(_measured())
    # 42 - 16 = 26 train; the 16 paper configs tested
    assert (ev.split, ev.n_train, ev.n_test, len(ev.folds)) == ("paper", 26, 16, 1)
    assert {(r["alpha"], r["resolution"]) for r in ev.rows} == set(PAPER_CONFIGS)
    assert ev.within == 1.0 and ev.summary()["max_err"] < 1e-6
    # per-layer fixed costs make latency not proportional to mult-adds: the baseline misses
    assert ev.baseline_within < 1.0
    assert all(r["spec"] == "mobilenet_v1" for r in ev.rows)


def test_loo_and_random_splits() -> None:
    m = _measured()
    loo = kernel.evaluate_split(m, "loo")
    assert (loo.n_train, loo.n_test, len(loo.folds)) == (41, 42, 42)
    rnd = kernel.evaluate_split(m, "random", test_fraction=0.5, seed=3)
    assert (rnd.n_train, rnd.n_test) == (21, 21)  # 42 * 0.5 = 21 held out
    again = kernel.evaluate_split(m, "random", test_fraction=0.5, seed=3)
    assert [r["alpha"] for r in again.rows] == [r["alpha"] for r in rnd.rows]  # seeded
    # the random split is kernel.held_out's: the same configs held out for the same seed
    ho = kernel.held_out(m, test_fraction=0.5, seed=3)
    assert sorted((r["alpha"], r["resolution"]) for r in ho.rows) == \
        [(r["alpha"], r["resolution"]) for r in rnd.rows]


def test_split_scores_the_per_kernel_model_fitted_on_the_training_configs() -> None:
    m = _measured(np.exp(np.random.default_rng(1).normal(0, 0.05, len(GRID))))
    ev = kernel.evaluate_split(m, "paper")
    train = ~kernel.is_paper_config(m.alphas, m.resolutions)
    model = kernel.fit_model(m.alphas[train], m.resolutions[train], m.roundings[train],
                             m.y_ms[train])
    want = {(a, r): p for a, r, p in zip(m.alphas[~train], m.resolutions[~train],
                                         model.predict_configs(m.alphas[~train],
                                                               m.resolutions[~train]),
                                         strict=True)}
    assert [r["predicted_ms"] for r in ev.rows] == pytest.approx(
        [want[(r["alpha"], r["resolution"])] for r in ev.rows], rel=1e-12)
    assert ev.folds[0].rule == model.rule


def test_split_selection_never_sees_held_out_data(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[set[tuple[float, int]]] = []
    real = kernel.select_rule

    def spy(alphas: Any, resolutions: Any, *args: Any, **kw: Any) -> kernel.RuleChoice:
        seen.append({(round(float(x), 6), int(z)) for x, z in zip(alphas, resolutions,
                                                                    strict=True)})
        return real(alphas, resolutions, *args, **kw)

    monkeypatch.setattr(kernel, "select_rule", spy)
    noise = np.exp(np.random.default_rng(0).normal(0, 0.03, len(GRID)))
    clean = _measured(noise)
    inside = kernel.is_paper_config(clean.alphas, clean.resolutions)
    poisoned = _measured(np.where(inside, 5.0, 1.0) * noise)  # held-out configs 5x slower
    ev = kernel.evaluate_split(clean, "paper")
    bad = kernel.evaluate_split(poisoned, "paper")
    train = set(GRID) - set(PAPER_CONFIGS)
    assert seen == [train, train]  # one selection per evaluation, training configs only
    assert ev.selected() == bad.selected() and ev.selected()[0]["n_inner"] == 26
    assert [r["predicted_ms"] for r in ev.rows] == pytest.approx(
        [r["predicted_ms"] for r in bad.rows], rel=1e-12)
    assert ev.within > 0.5 and bad.within == 0.0


def test_split_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    m = _measured()
    with pytest.raises(CostModelError, match="split 'halves' is unknown; allowed: paper, loo, "):
        kernel.evaluate_split(m, "halves")
    only_paper = _measured(grid=sorted(PAPER_CONFIGS))
    assert kernel.default_split(only_paper) == "loo"
    with pytest.raises(CostModelError, match=r"split 'paper' needs .* \(found 16 of 16 inside\)"):
        kernel.evaluate_split(only_paper, "paper")
    # loo needs 2 * FOLDS = 10 training configs per fit: 11 configs is the fewest
    with pytest.raises(CostModelError, match="split 'loo' needs at least 11 measured configs, got 10"):
        kernel.evaluate_split(_measured(grid=GRID[:10]), "loo")
    assert kernel.evaluate_split(_measured(grid=GRID[:11]), "loo").n_test == 11
    monkeypatch.setattr(kernel, "LOO_MAX_CONFIGS", 41)
    with pytest.raises(CostModelError, match="42 configs is more than 41; allowed: --split random"):
        kernel.evaluate_split(m, "loo")
    for f in (0.0, 1.0):
        with pytest.raises(CostModelError, match=f"test fraction {f!r} is out of range"):
            kernel.evaluate_split(m, "random", test_fraction=f)


def test_cli_split_json_text_and_refused_options(grid_dir: Path, capsys: Any) -> None:
    base = ["latency", "evaluate", "--device-id", DEV, "--data-dir", str(grid_dir)]
    assert main([*base, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    want = kernel.evaluate_split(_measured()).summary()
    assert (doc["model"], doc["split"], doc["n_train"], doc["n_test"]) == ("per-kernel", "paper",
                                                                             26, 16)
    assert doc["within"] == pytest.approx(want["within"]) and len(doc["rows"]) == 16
    assert {r["spec"] for r in doc["rows"]} == {"mobilenet_v1"}
    assert doc["stat"] == "median" and doc["stat_label"] == "median wall"
    assert main([*base, "--split", "random", "--test-fraction", "0.5"]) == 0
    out = capsys.readouterr().out
    head = out.splitlines()
    assert "per-kernel model (median wall ms), split random: fit on 21, tested on 21" in head[0]
    assert head[1].startswith("rule chosen by cross-validation on the training configs only")
    assert head[2].startswith("within +/-10%: model 100.0%, baseline (latency = k * mult-adds)")
    assert "measured ms (median wall)" in head[3] and "k*MAdds ms" in head[3]
    for opt, words in (("--form", "chooses its form"), ("--pad", "channel block"),
                       ("--across", "median")):
        assert main([*base, opt, "8"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{opt} '8' is no longer an option" in err
        assert words in err and "Traceback" not in err


def test_published_pixel2_by_default_loo() -> None:
    # Pixel 2, TFLite 1 thread (models.md): 16 published configs, all paper configs, so no
    # paper split is possible (nothing to fit on) and the default is leave-one-out
    m = kernel.measured("pixel2", backend="tflite-cpu")
    ev = kernel.evaluate_split(m)
    assert (ev.split, ev.n_train, ev.n_test) == ("loo", 15, 16)
    assert ev.within >= 0.9 > ev.baseline_within
