"""The latency model per precision (issue #13): `latency calibrate --precision` measures and
fits one precision's rows, never mixing them with another's; predict/evaluate take --precision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from costmodel.cli import main
from costmodel.io import latency_data
from costmodel.latency import calibrate, kernel

DEV = "prec-test-cpu"
MS_PER_MMAC = {"float32": 0.01, "int8": 0.004}  # int8 rows exactly 0.4x fp32 (synthetic)


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _measure(clock: _Clock) -> Any:
    def measure(alpha: float, resolution: int, opts: Any, data_dir: Any = None) -> dict[str, Any]:
        clock.t += 1.0
        stored = latency_data.stored_precision(opts.precision)
        madds = float(kernel.design([alpha], [resolution], [opts.rounding]).mult_adds[0])
        y = MS_PER_MMAC[stored] * madds / 1e6
        return {"device_id": DEV, "backend": opts.backend, "device_type": "cpu",
                "precision": stored, "threads": opts.threads, "batch": 1,
                "channels_last": False, "alpha": alpha, "resolution": resolution,
                "variant": "mobilenet_v1", "rounding": opts.rounding, "classes": 1000,
                "spec": "mobilenet_v1", "median_ms": y, "min_ms": y, "iqr_ms": 0.0, "cpu_ms": y}
    return measure


def _calibrate(path: Path, precision: str, data_dir: Path) -> calibrate.Calibration:
    clock = _Clock()
    cal = calibrate.calibrate(budget_s=30, device_id=DEV, path=path, progress=False,
                              measure=_measure(clock), clock=clock, reserve_s=0.0,
                              precision=precision, data_dir=data_dir)
    return calibrate.finish(cal, stat="median", data_dir=data_dir)


def test_calibrate_per_precision_measures_and_fits_apart(tmp_path: Path) -> None:
    path = latency_data.latency_path(DEV, tmp_path)
    fp32 = _calibrate(path, "fp32", tmp_path)
    n32 = len(fp32.measured)
    int8 = _calibrate(path, "int8", tmp_path)
    # resume is per precision: the fp32 rows do not count as int8 ones
    assert int8.skipped == 0 and len(int8.measured) == n32
    rows = latency_data.read_rows(path)
    assert sorted({r["precision"] for r in rows}) == ["float32", "int8"] and len(rows) == 2 * n32
    assert fp32.model is not None and int8.model is not None
    assert fp32.model.meta["precision"] == "float32" and int8.model.meta["precision"] == "int8"
    # each fit saw only its own rows (held-out split of n32, not 2 * n32)
    assert int8.held_out is not None and int8.held_out.n_train + int8.held_out.n_test == n32
    # 0.4x everywhere: a fit on mixed rows would land between the two
    a, r = 0.6, 200
    want = 0.01 * float(kernel.design([a], [r], ["int"]).mult_adds[0]) / 1e6
    assert fp32.model.predict(a, r) == pytest.approx(want, rel=0.05)
    assert int8.model.predict(a, r) == pytest.approx(0.4 * want, rel=0.05)


def test_predict_and_evaluate_take_precision(tmp_path: Path, user_data: Path, capsys: Any) -> None:
    path = latency_data.latency_path(DEV, user_data)
    _calibrate(path, "fp32", user_data)
    _calibrate(path, "int8", user_data)
    capsys.readouterr()
    out = {}
    for extra in ((), ("--precision", "int8")):
        code = main(["latency", "predict", "--device-id", f"{DEV}/onnxruntime/1", "--alpha",
                     "0.6", "--resolution", "200", "--format", "json", *extra])
        res = capsys.readouterr()
        assert code == 0, res.err
        import json

        out[extra] = json.loads(res.out)["predictions"][0]["predicted_ms"]
    assert out[("--precision", "int8")] == pytest.approx(0.4 * out[()], rel=0.05)
    # the name's @precision and --precision must agree
    code = main(["latency", "predict", "--device-id", f"{DEV}/onnxruntime/1@int8", "--precision",
                 "fp32", "--alpha", "0.6", "--resolution", "200"])
    err = capsys.readouterr().err
    assert code == 2 and "contradicts" in err and len(err.strip().splitlines()) == 1
    # a precision with no rows is refused naming the ones there are
    code = main(["latency", "predict", "--device-id", f"{DEV}/onnxruntime/1", "--precision",
                 "bf16", "--alpha", "0.6", "--resolution", "200"])
    err = capsys.readouterr().err
    assert code == 2 and "bfloat16" in err and "float32, int8" in err


def test_calibrate_refuses_a_precision_the_backend_does_not_run(capsys: Any) -> None:
    code = main(["latency", "calibrate", "--backend", "torch", "--precision", "int8",
                 "--budget-s", "5", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "not supported by backend torch" in err and "allowed: fp32, bf16" in err


def test_stored_precision_runs_and_their_figure() -> None:
    from costmodel.report import plots

    runs = latency_data.load_precision_runs()
    # the precision reference device's 4 configs (alpha 0.5, 1 x resolution 128, 224) x (torch
    # fp32, bf16; onnxruntime fp32, int8; openvino fp32, bf16, int8), each the median of 2 passes
    assert len(runs) == 28 and set(runs["rows"]) == {2}
    assert sorted(set(zip(runs["alpha"], runs["resolution"], strict=True))) == [
        (0.5, 128), (0.5, 224), (1.0, 128), (1.0, 224)]
    every = latency_data.load_precision_runs(alphas=None, resolutions=None)
    assert len(every) == 7 * 42  # 7 alphas x 6 resolutions, every backend x precision
    have = {b: sorted(set(runs.loc[runs["backend"] == b, "precision"])) for b in set(runs["backend"])}
    assert have == {"torch": ["bf16", "fp32"], "onnxruntime": ["fp32", "int8"],
                    "openvino": ["bf16", "fp32", "int8"]}
    fig = plots.precision_bars(runs, stat="cpu")
    axes = [ax for ax in fig.axes if ax.patches]
    assert [ax.get_title() for ax in axes] == [f"{b}, 1 thread(s)" for b in
                                                ("onnxruntime", "openvino", "torch")]
    assert [len(ax.patches) for ax in axes] == [8, 12, 8]  # one bar per config and precision
    assert plots.figure_problems(fig) == []
    with pytest.raises(Exception, match="stat 'p99' is unknown"):
        plots.precision_bars(runs, stat="p99")
