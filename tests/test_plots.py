"""costmodel.report.plots: figures carry labelled axes and legends, draw the library's numbers, and are
written as PNG + PDF (or SVG) atomically, without pyplot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="matplotlib is not installed (extra 'plots')")

from costmodel.core.breakdown import breakdown  # noqa: E402
from costmodel.core.formula import compare  # noqa: E402
from costmodel.core.kinds import AVG_POOL, CONV1X1, CONV3X3, DW3X3, FULLY_CONNECTED, OTHER  # noqa: E402
from costmodel.core.sweep import sweep  # noqa: E402
from costmodel.crosscheck.reproduce import EXPLANATION_KINDS, reproduce  # noqa: E402
from costmodel.errors import CostModelError  # noqa: E402
from costmodel.report import plots  # noqa: E402


def _assert_readable(fig: plots.Figure) -> None:
    assert plots.figure_problems(fig) == []
    for ax in plots._data_axes(fig):
        assert plots._label_of(ax, "x") and plots._label_of(ax, "y")
    has_legend = bool(fig.legends) or any(ax.get_legend() for ax in fig.axes)
    assert has_legend, "no legend"


def _save_and_check(fig: plots.Figure, folder: Path, name: str) -> plots.SavedFigure:
    saved = plots.save_figure(fig, folder, name)
    assert [p.name for p in saved.paths] == [f"{name}.png", f"{name}.pdf"]
    png, pdf = saved.paths
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5000
    assert saved._repr_png_() == png.read_bytes()  # what a notebook shows is the file written
    return saved


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------
def _simple_figure(xlabel: str = "x (units)", ylabel: str = "y (units)") -> plots.Figure:
    fig, ax = plots.new_figure()
    ax.plot([1, 2, 3], [1, 4, 9], label="a")
    ax.plot([1, 2, 3], [1, 2, 3], label="b")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return fig


def test_save_figure_writes_png_pdf_and_svg(tmp_path: Path) -> None:
    saved = _save_and_check(_simple_figure(), tmp_path / "new" / "folder", "simple")
    assert saved.paths[0].parent.is_dir()
    svg = plots.save_figure(_simple_figure(), tmp_path, "simple", formats=("svg",))
    text = svg.paths[0].read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "x (units)" in text  # svg.fonttype none: labels stay text
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_png_has_report_size(tmp_path: Path) -> None:
    from matplotlib.image import imread

    saved = plots.save_figure(_simple_figure(), tmp_path, "size", formats="png")
    h, w = imread(saved.paths[0]).shape[:2]
    # 6.4 x 4 in at 150 dpi = 960 x 600 px (constrained layout, no bbox cropping)
    assert (w, h) == (round(plots.WIDTH_IN * plots.DPI), round(plots.HEIGHT_IN * plots.DPI))


def test_unlabelled_figure_is_refused_and_nothing_written(tmp_path: Path) -> None:
    with pytest.raises(CostModelError, match="no y-axis label"):
        plots.save_figure(_simple_figure(ylabel=""), tmp_path, "bad")
    fig, ax = plots.new_figure()
    ax.plot([1, 2], [1, 2], label="a")
    ax.plot([1, 2], [2, 1], label="b")
    ax.set_xlabel("x (s)")
    ax.set_ylabel("y (m)")
    assert plots.figure_problems(fig) == ["axes 0: 2 labelled series but no legend"]
    with pytest.raises(CostModelError, match="no legend"):
        plots.save_figure(fig, tmp_path, "bad")
    assert list(tmp_path.iterdir()) == []
    plots.save_figure(fig, tmp_path, "allowed", strict=False)  # strict=False writes anyway
    assert sorted(p.name for p in tmp_path.iterdir()) == ["allowed.pdf", "allowed.png"]


@pytest.mark.parametrize("name", ["", "../escape", "a/b", "x.png/", ".hidden", 3])
def test_bad_figure_name(tmp_path: Path, name: object) -> None:
    with pytest.raises(CostModelError, match="figure name .* is not valid; allowed"):
        plots.save_figure(_simple_figure(), tmp_path, name)  # type: ignore[arg-type]


def test_bad_format(tmp_path: Path) -> None:
    with pytest.raises(CostModelError, match="figure format 'jpg' is not valid; allowed: png, pdf, svg"):
        plots.save_figure(_simple_figure(), tmp_path, "f", formats=("png", "jpg"))
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = plots.save_figure(_simple_figure(), tmp_path, "keep", formats="png")
    before = saved.paths[0].read_bytes()
    fig = _simple_figure()

    def broken(*_a: object, **_k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        plots.save_figure(fig, tmp_path, "keep", formats="png")
    assert saved.paths[0].read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_no_pyplot_and_global_backend_untouched() -> None:
    # The raw rcParams entry (matplotlib.get_backend() would itself import pyplot to resolve it).
    code = ("import matplotlib, sys; raw = lambda: dict.__getitem__(matplotlib.rcParams, 'backend'); "
            "before = raw(); "
            "from costmodel.report import plots; fig, ax = plots.new_figure(); ax.plot([1], [1]); "
            "ax.set_xlabel('x'); ax.set_ylabel('y'); "
            "import tempfile; plots.save_figure(fig, tempfile.mkdtemp(), 'f'); "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "assert raw() == before, (raw(), before); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ---------------------------------------------------------------------------------------------
# Notebook 1 figures
# ---------------------------------------------------------------------------------------------
def test_breakdown_bar_draws_computed_and_published_shares(tmp_path: Path) -> None:
    rows = breakdown(1.0, 224)
    fig = plots.breakdown_bar(rows, notes={"Conv 3x3": "digits transposed"})
    _assert_readable(fig)
    ma_ax, p_ax = fig.axes[:2]
    assert ma_ax.get_xlabel() == "share of mult-adds (%)"
    assert p_ax.get_xlabel() == "share of parameters (%)"
    shown = [r for r in rows if r["type"] != AVG_POOL]  # 0 mult-adds, not in Table 2
    widths = [b.get_width() for b in ma_ax.patches]
    n = len(shown)
    assert widths[:n] == pytest.approx([r["mult_adds_pct"] for r in
                                        sorted(shown, key=lambda r: plots.TYPE_ORDER.index(r["type"]))])
    # Published bars: Table 2 as printed (data/reference/paper_table2_breakdown.csv):
    # Conv 1x1 94.86, Conv DW 3x3 3.06, Conv 3x3 1.19, FC 0.18.
    assert widths[n:] == pytest.approx([94.86, 3.06, 1.19, 0.18])
    texts = [t.get_text() for t in fig.texts]
    assert any("Conv 3x3: digits transposed" in t for t in texts)
    _save_and_check(fig, tmp_path, "breakdown")


def test_breakdown_shift_lines_follow_breakdown(tmp_path: Path) -> None:
    alphas = [0.25, 0.5, 1.0]
    rows = [breakdown(a, 224) for a in alphas]
    fig = plots.breakdown_shift([("width multiplier α", alphas, rows)], quantity="params",
                                reference=[1.0])
    _assert_readable(fig)
    ax = fig.axes[0]
    fc = next(line for line in ax.get_lines() if line.get_label() == "FC")
    fc_pct = [next(x["params_pct"] for x in r if x["type"] == FULLY_CONNECTED) for r in rows]
    assert list(fc.get_ydata()) == pytest.approx(fc_pct)
    # Types with no share anywhere (Avg Pool under the paper convention) are not drawn.
    assert "Avg Pool" not in [line.get_label() for line in ax.get_lines()]
    _save_and_check(fig, tmp_path, "shift")
    with pytest.raises(CostModelError, match="quantity 'flops' is not valid; allowed: mult_adds, params"):
        plots.breakdown_shift([("a", alphas, rows)], quantity="flops")


def test_reproduce_deviations_plots_every_numeric_disagreement(tmp_path: Path) -> None:
    checks = reproduce()
    fig = plots.reproduce_deviations(checks)
    _assert_readable(fig)
    ax = fig.axes[0]
    wrong = [c for c in checks if not c.agree and c.source != "Table 1"]
    assert sum(len(col.get_offsets()) for col in ax.collections) == len(wrong)
    # every disagreement has a kind, and every kind a legend label
    assert all(c.kind in plots.EXPLANATION_LABELS for c in checks if not c.agree)
    assert set(plots.EXPLANATION_LABELS) == set(EXPLANATION_KINDS)
    # Table 7's 1.0 MobileNet-160 prints 290 for the count 290.68: drawn at 100 * (290 / count - 1).
    c160 = next(c for c in wrong if c.source == "Table 7")
    xs = np.concatenate([col.get_offsets()[:, 0] for col in ax.collections])
    assert np.isclose(xs, 100 * (290 / c160.computed - 1)).sum() == 1
    _save_and_check(fig, tmp_path, "deviations")
    with pytest.raises(CostModelError, match="no disagreeing figures"):
        plots.reproduce_deviations([c for c in checks if c.agree])


# ---------------------------------------------------------------------------------------------
# Notebook 2 figures
# ---------------------------------------------------------------------------------------------
def test_scaling_plot_draws_exact_polynomial_and_law(tmp_path: Path) -> None:
    alphas = [0.25, 0.5, 0.75, 1.0]
    rows = compare(alphas, [224])
    fig = plots.scaling_plot({"int": rows}, x="alpha", law=2, reference_x=1.0)
    _assert_readable(fig)
    top, bottom = fig.axes[:2]
    lines = {line.get_label(): line for line in top.get_lines()}
    law = next(v for k, v in lines.items() if k.startswith("pure law"))
    # The law passes through the polynomial at alpha = 1 and falls as alpha^2: at 0.5, a quarter.
    poly_1 = rows[-1]["mult_adds_formula"] / 1e6
    assert list(law.get_ydata()) == pytest.approx([poly_1 * a * a for a in alphas])
    assert list(lines["closed-form polynomial"].get_ydata()) == pytest.approx(
        [r["mult_adds_formula"] / 1e6 for r in rows])
    assert list(lines["exact, int"].get_ydata()) == pytest.approx([r["mult_adds"] / 1e6 for r in rows])
    # At these configs int rounding is exact (alpha * multiples of 32): 0 % everywhere.
    gap = next(line for line in bottom.get_lines() if line.get_label() == "_int")
    assert list(gap.get_ydata()) == pytest.approx([0, 0, 0, 0], abs=1e-9)
    assert top.get_xscale() == "log" and top.get_yscale() == "log"
    _save_and_check(fig, tmp_path, "scaling")


def test_scaling_plot_shows_the_ceil_bend() -> None:
    # 1.0 MobileNet at 97 px: 'SAME' ceilings make it cost more than the rho^2 polynomial.
    rows = compare([1.0], [96, 97])
    fig = plots.scaling_plot({"a": rows}, x="resolution", reference_x=96)
    gap = next(line for line in fig.axes[1].get_lines() if line.get_label() == "_a").get_ydata()
    assert gap[0] == pytest.approx(0, abs=1e-9)
    assert gap[1] == pytest.approx(100 * (rows[1]["mult_adds"] / rows[1]["mult_adds_formula"] - 1))
    assert gap[1] > 10


def test_scaling_plot_bad_axis() -> None:
    with pytest.raises(CostModelError, match="x 'depth' is not valid; allowed: alpha, resolution"):
        plots.scaling_plot({"a": compare([1.0], [224])}, x="depth")


def test_cost_map(tmp_path: Path) -> None:
    s = sweep([0.25, 0.5, 0.75, 1.0], [128, 160, 192, 224])
    fig = plots.cost_map(s, marks=[(1.0, 224)])
    _assert_readable(fig)
    cbar_ax = fig.axes[-1]
    assert cbar_ax.get_ylabel() == "mult-adds (millions), log scale"
    _save_and_check(fig, tmp_path, "map")
    with pytest.raises(CostModelError, match="quantity 'x' is not valid"):
        plots.cost_map(s, quantity="x")


# ---------------------------------------------------------------------------------------------
# Notebook 3/4 figures (Pareto fronts, recommendations)
# ---------------------------------------------------------------------------------------------
def test_pareto_front_marks_front_and_dominated(tmp_path: Path) -> None:
    from costmodel.search import pareto
    frame = pareto.pareto(["mult_adds", "top1"])
    fig = plots.pareto_front(frame)
    _assert_readable(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "mult-adds (millions), log scale"
    assert ax.get_ylabel() == "ImageNet top-1 (%)"
    by_label = {c.get_label(): c for c in ax.collections}
    assert len(by_label["on the Pareto front"].get_offsets()) == int((~frame["dominated"]).sum())
    assert len(by_label["dominated"].get_offsets()) == int(frame["dominated"].sum())
    # every point is labelled with its config
    assert sorted(t.get_text() for t in ax.texts) == sorted(frame["label"])
    _save_and_check(fig, tmp_path, "front")


def test_pareto_fronts_one_panel_per_frame(tmp_path: Path) -> None:
    from costmodel.search import pareto
    devs = [d for d in pareto.devices() if d["published"] and d["precision"] == "float32"][:3]
    if not devs:
        pytest.skip("no published latency devices")
    frames = {plots.device_title(d): pareto.pareto([f"latency:{d['id']}", "top1"]) for d in devs}
    fig = plots.pareto_fronts(frames, ncols=2)
    _assert_readable(fig)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == list(frames)
    assert all(ax.get_xlabel() == "latency (ms), log scale" for ax in visible)
    _save_and_check(fig, tmp_path, "fronts")


def test_recommendation_plot_shows_budget_and_answer(tmp_path: Path) -> None:
    from costmodel.search import pareto, recommend
    answer = recommend.recommend(max_mult_adds_m=200)
    frame = pareto.pareto(["mult_adds", "top1"])
    fig = plots.recommendation_plot(frame, answer)
    _assert_readable(fig)
    ax = fig.axes[0]
    vlines = [line for line in ax.get_lines() if str(line.get_label()).startswith("budget")]
    assert len(vlines) == 1 and vlines[0].get_xdata()[0] == pytest.approx(200)  # millions
    labels = [c.get_label() for c in ax.collections]
    assert any(lab.startswith(f"best: {answer['best']['label']}") for lab in labels)
    _save_and_check(fig, tmp_path, "recommendation")
    zoomed = plots.recommendation_plot(frame, answer, zoom=True)
    assert len([a for a in zoomed.axes if a.get_visible()]) == 2
    _assert_readable(zoomed)


def test_objective_axis_units() -> None:
    assert plots.objective_axis({"label": "mult-adds", "unit": "count"}) == ("mult-adds (millions)", 1e6)
    assert plots.objective_axis({"label": "model size, fp32", "unit": "bytes"}) == \
        ("model size, fp32 (MB)", 1e6)
    assert plots.objective_axis({"label": "latency on x", "unit": "ms"}) == ("latency on x (ms)", 1.0)


# ---------------------------------------------------------------------------------------------
# Notebook 3 figures (latency)
# ---------------------------------------------------------------------------------------------
def _published_float_devices(n: int) -> list[dict]:
    from costmodel.search import pareto
    devs = [d for d in pareto.devices() if d["published"] and d["precision"] == "float32"][:n]
    if not devs:
        pytest.skip("no published latency devices")
    return devs


def test_latency_vs_mult_adds_plots_the_joined_data(tmp_path: Path) -> None:
    from costmodel.search import pareto
    devs = _published_float_devices(2)
    frames = {plots.device_title(d): pareto.points([f"latency:{d['id']}"], grid=True, allow_far=True)
              for d in devs}
    first = next(iter(frames.values()))
    bound_x = first["mult_adds"].to_numpy(float)
    bound_y = first[f"latency:{devs[0]['id']}"].to_numpy(float) / 3  # any series: drawn as given
    fig = plots.latency_vs_mult_adds(frames, bounds={"a bound": (bound_x, bound_y)})
    _assert_readable(fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    for coll, (name, frame) in zip(ax.collections, frames.items()):
        assert coll.get_label() == name
        col = f"latency:{devs[list(frames).index(name)]['id']}"
        got = sorted(map(tuple, coll.get_offsets().tolist()))
        want = sorted(zip(frame["mult_adds"] / 1e6, frame[col]))
        assert np.allclose(got, want)
    bound = next(line for line in ax.get_lines() if line.get_label() == "a bound")
    assert sorted(bound.get_ydata()) == pytest.approx(sorted(bound_y))
    # the slope-1 guide: latency / mult-adds constant along it
    guide = next(line for line in ax.get_lines() if "∝ mult-adds" in str(line.get_label()))
    gx, gy = guide.get_xdata(), guide.get_ydata()
    assert gy[0] / gx[0] == pytest.approx(gy[-1] / gx[-1])
    _save_and_check(fig, tmp_path, "latency")


def test_time_share_bar_draws_the_given_shares(tmp_path: Path) -> None:
    # Shares as a profile holds them (type: a LayerType or OTHER, time_pct, mult_adds_pct); the
    # mult-add shares are the engine's (breakdown), the time shares any numbers that sum to 100.
    ma = {r["type"]: r["mult_adds_pct"] for r in breakdown(1.0, 224)}
    time_pct = {CONV1X1: 50.0, DW3X3: 35.0, CONV3X3: 5.0, FULLY_CONNECTED: 1.0, AVG_POOL: 1.0,
                OTHER: 8.0}
    rows = [{"type": t, "time_pct": p, "mult_adds_pct": ma.get(t, 0.0)} for t, p in time_pct.items()]
    fig = plots.time_share_bar({"1.0-224": rows, "again": rows})
    _assert_readable(fig)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Conv 1x1", "Conv DW 3x3", "Conv 3x3", "FC", "Avg Pool", "other"]
    n = len(labels)
    widths = [b.get_width() for b in ax.patches]
    assert widths[:n] == pytest.approx([ma.get(t, 0.0) for t in time_pct])
    assert widths[n:] == pytest.approx(list(time_pct.values()))
    _save_and_check(fig, tmp_path, "share")


def test_prediction_plot_shows_held_out_predictions(tmp_path: Path) -> None:
    from costmodel.latency import kernel
    pytest.importorskip("scipy", reason="the latency model fits with scipy")
    ev = kernel.evaluate_split(kernel.measured("pixel3", backend="tflite-cpu"))
    fig = plots.prediction_plot({"pixel3 cpu": ev})
    _assert_readable(fig)
    left, right = fig.axes[:2]
    pts = left.collections[0].get_offsets()
    assert np.allclose(pts[:, 0], [r["measured_ms"] for r in ev.rows])
    assert np.allclose(pts[:, 1], [r["predicted_ms"] for r in ev.rows])
    errs = np.concatenate([c.get_offsets()[:, 1] for c in right.collections[:2]])
    assert np.allclose(errs, [r["error_pct"] for r in ev.rows] + [r["baseline_error_pct"] for r in ev.rows])
    legend_text = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"pixel3 cpu: {100 * ev.within:.0f}% within ±10% (baseline {100 * ev.baseline_within:.0f}%)" \
        in legend_text
    _save_and_check(fig, tmp_path, "prediction")


def test_device_labels() -> None:
    cpu1 = {"id": "box-cpu/onnxruntime/1", "device_id": "box-cpu", "description": "Box CPU",
            "backend": "onnxruntime", "threads": 1, "precision": "float32", "published": False}
    cpu2 = {**cpu1, "id": "box-cpu/torch/2", "backend": "torch", "threads": 2}
    gpu = {"id": "pixel3_gpu", "device_id": "pixel3", "description": "Pixel 3",
           "backend": "tflite-gpu", "threads": None, "precision": "float32", "published": True}
    q8 = {**gpu, "id": "pixel3_cpu4_uint8", "backend": "tflite-cpu", "threads": 4, "precision": "uint8"}
    assert plots.series_label(cpu2) == "torch, 2 threads"
    assert plots.series_label(q8) == "tflite-cpu, 4 threads, uint8"
    assert plots.device_title(gpu) == "pixel3: tflite-gpu (published)"
    assert plots.device_title(cpu1, with_kind=False) == "box-cpu: onnxruntime, 1 thread"
    # One device: short labels and its description; several: full titles.
    assert plots.series_labels([cpu1, cpu2]) == (
        {"box-cpu/onnxruntime/1": "onnxruntime, 1 thread", "box-cpu/torch/2": "torch, 2 threads"},
        "Box CPU")
    labels, caption = plots.series_labels([cpu1, gpu])
    assert labels["pixel3_gpu"] == "pixel3: tflite-gpu (published)" and caption == "box-cpu, pixel3"


def test_alignment_steps_plot_from_the_stored_measurements(tmp_path: Path) -> None:
    from costmodel.io import latency_data

    steps = latency_data.load_alignment_steps()
    # 13 alphas (0.85..1.0 step 0.0125) x 2 roundings x 2 backends, 2 passes each
    assert len(steps) == 52 and set(steps["rows"]) == {2}
    fig = plots.alignment_steps_plot(steps, stat="cpu")
    _assert_readable(fig)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["onnxruntime, 1 thread(s)",
                                                        "torch, 1 thread(s)"]
    # onnxruntime at 1.0-200 (channels 32..1024: all multiples of 4) is drawn filled; 0.9875-200
    # under int rounding (31, 63, 126, ...) hollow
    ort = steps[(steps["backend"] == "onnxruntime") & (steps["rounding"] == "int")]
    filled = fig.axes[0].collections[0].get_offsets()  # int: filled markers, then hollow
    assert [round(float(x), 4) for x in filled[:, 0]] == [0.875, 1.0]
    assert np.allclose(filled[:, 1], ort.set_index("alpha").loc[[0.875, 1.0], "cpu_ms"])
    _save_and_check(fig, tmp_path, "alignment_steps")
    with pytest.raises(CostModelError, match="stat 'mean' is unknown"):
        plots.alignment_steps_plot(steps, stat="mean")


def test_load_alignment_steps_takes_the_median_over_passes(tmp_path: Path) -> None:
    from costmodel.io import latency_data

    base = {c: "" for c in latency_data.COLUMNS}
    rows = [{**base, "device_id": "x", "device": "x", "backend": "torch", "device_type": "cpu",
             "precision": "float32", "threads": 1, "batch": 1, "channels_last": False,
             "alpha": 0.9, "resolution": 200, "variant": "mobilenet_v1", "rounding": "int",
             "classes": 1000, "spec": "mobilenet_v1", "median_ms": m, "q1_ms": m - 1,
             "q3_ms": m + 1, "cpu_ms": m / 2} for m in (10.0, 14.0, 30.0)]
    path = tmp_path / "steps.csv"
    latency_data._write_atomic(path, list(latency_data.COLUMNS), rows)
    out = latency_data.load_alignment_steps(path)
    # median of 10, 14, 30 is 14; cpu: median of 5, 7, 15 is 7
    assert out[["median_ms", "q1_ms", "q3_ms", "cpu_ms", "rows"]].iloc[0].tolist() == [14, 13, 15, 7, 3]
