"""Each calibration/evaluation measurement runs in a child forked from a clean parent
(calibrate.isolated): the row comes back, the child's state does not, errors come back as
one line. Nothing here is timed."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from costmodel.errors import CostModelError
from costmodel.io import latency_data
from costmodel.latency import calibrate

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="measurements are forked on Linux only")

OPTS = SimpleNamespace(rounding="int")
STATE: list[int] = []  # what a measurement leaves behind in its process


def _stateful(alpha: float, resolution: int, opts: Any) -> dict[str, Any]:
    STATE.append(resolution)
    return {"pid": os.getpid(), "seen": list(STATE), "alpha": alpha}


def test_row_comes_from_a_child_and_its_state_stays_there() -> None:
    STATE.clear()
    run = calibrate.isolated(_stateful)
    first, second = run(0.5, 128, OPTS), run(0.75, 160, OPTS)
    assert first["pid"] != os.getpid() and second["pid"] != os.getpid()
    assert first["pid"] != second["pid"]
    # each starts from the parent's state: the first measurement's leftovers are gone
    assert first["seen"] == [128] and second["seen"] == [160]
    assert STATE == [] and first["alpha"] == 0.5
    STATE.append(1)  # the parent's own state is what a child starts from
    assert run(1.0, 96, OPTS)["seen"] == [1, 96]
    STATE.clear()


def _refuses(alpha: float, resolution: int, opts: Any) -> dict[str, Any]:
    raise CostModelError(f"int8 quantization of alpha={alpha:g} failed: X; allowed: fp32")


def _breaks(alpha: float, resolution: int, opts: Any) -> dict[str, Any]:
    raise ValueError("bad shape")


def _dies(alpha: float, resolution: int, opts: Any) -> dict[str, Any]:
    os._exit(3)


def test_errors_come_back_as_one_line() -> None:
    with pytest.raises(CostModelError, match=r"^int8 quantization of alpha=0.5 failed: X; "
                                             r"allowed: fp32$"):
        calibrate.isolated(_refuses)(0.5, 128, OPTS)
    with pytest.raises(CostModelError, match=r"measurement of alpha=0.5 resolution=128 "
                                             r"rounding=int failed: ValueError: bad shape"):
        calibrate.isolated(_breaks)(0.5, 128, OPTS)
    with pytest.raises(CostModelError, match=r"alpha=0.25 resolution=96 rounding=int ended "
                                             r"without a result \(child exit status 3\)"):
        calibrate.isolated(_dies)(0.25, 96, OPTS)


def test_calibrate_and_evaluate_measure_in_children(tmp_path: Path, monkeypatch: Any) -> None:
    """The default measurement of calibrate and measure_random is isolated, and the parent is
    prepared once (imports, fingerprint) instead of in every child."""
    sys.path.insert(0, str(Path(__file__).parent))
    import test_latency_kernel as t

    fake = t._fake_measure(None)
    parent, pids, prepared = os.getpid(), [], []

    def measure(alpha: float, resolution: int, opts: Any, data_dir: Any = None) -> dict:
        pids.append(os.getpid())  # lands in the child's copy of the list only
        assert os.getpid() != parent
        return fake(alpha, resolution, opts)

    monkeypatch.setattr(calibrate, "_default_measure", measure)
    monkeypatch.setattr(calibrate, "_prepare_parent",
                        lambda backend, data_dir, precision="fp32": prepared.append(backend))
    full = calibrate.network_plan
    monkeypatch.setattr(calibrate, "network_plan", lambda spec, n=6, seed=0: full(spec, 6, seed))
    path = latency_data.latency_path(t.DEV, tmp_path)
    cal = calibrate.calibrate(budget_s=600, device_id=t.DEV, path=path, progress=False,
                              reserve_s=0.0)
    assert len(cal.measured) == 6 and len(latency_data.read_rows(path)) == 6
    rows = calibrate.measure_random(3, backend="onnxruntime", threads=1, seed=2, progress=False)
    assert [(r["alpha"], r["resolution"]) for r in rows] == \
        [(a, r) for a, r, _ in calibrate.random_configs(3, 2)]
    assert pids == [] and prepared == ["onnxruntime", "onnxruntime"]


COUNTER: list[Path] = []  # a file the children count their calls in (they share no memory)


def _counted(alpha: float, resolution: int, opts: Any) -> dict[str, Any]:
    path = COUNTER[0]
    calls = len(path.read_text()) if path.exists() else 0
    path.write_text("x" * (calls + 1))
    # the children's figures in call order: 5, 3, 9, 7 ms; each row names its child
    return {"median_ms": [5.0, 3.0, 9.0, 7.0][calls], "cpu_ms": 10.0 + calls, "child": calls}


@pytest.mark.parametrize(("children", "kept", "calls"), [
    (1, 0, 1),  # the first child's row
    (2, 1, 2),  # 5, 3: the lower middle one, 3 ms (child 1)
    (3, 0, 3),  # 5, 3, 9: the median, 5 ms (child 0)
    (4, 0, 4),  # 5, 3, 9, 7: sorted 3, 5, 7, 9: the lower middle one, 5 ms (child 0)
])
def test_children_keep_the_median_childs_row(tmp_path: Path, children: int, kept: int,
                                             calls: int) -> None:
    COUNTER[:] = [tmp_path / "calls"]
    row = calibrate.isolated(_counted, children)(0.5, 128, OPTS)
    assert row["child"] == kept and row["cpu_ms"] == 10.0 + kept  # one child's row, not a mix
    assert len(COUNTER[0].read_text()) == calls  # each child measured once, in its own process


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_children_bad_input(bad: object) -> None:
    with pytest.raises(CostModelError, match=rf"^children {bad!r} is out of range; allowed: "
                                             r"an integer >= 1$"):
        calibrate.isolated(_stateful, bad)  # type: ignore[arg-type]


def test_calibrate_and_evaluate_pass_children_on(tmp_path: Path, monkeypatch: Any) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    import test_latency_kernel as t

    fake, log = t._fake_measure(None), tmp_path / "children.log"

    def measure(alpha: float, resolution: int, opts: Any, data_dir: Any = None) -> dict:
        with log.open("a") as f:  # one line per child, from the child
            f.write(f"{os.getpid()}\n")
        return fake(alpha, resolution, opts)

    monkeypatch.setattr(calibrate, "_default_measure", measure)
    monkeypatch.setattr(calibrate, "_prepare_parent", lambda *a, **k: None)
    full = calibrate.network_plan
    monkeypatch.setattr(calibrate, "network_plan", lambda spec, n=5, seed=0: full(spec, 5, seed))
    path = latency_data.latency_path(t.DEV, tmp_path)
    cal = calibrate.calibrate(budget_s=600, device_id=t.DEV, path=path, progress=False,
                              reserve_s=0.0, children=2)
    assert len(cal.measured) == 5 and len(latency_data.read_rows(path)) == 5  # one row a config
    calibrate.measure_random(2, backend="onnxruntime", threads=1, progress=False, children=3)
    pids = log.read_text().split()
    assert len(pids) == 5 * 2 + 2 * 3 and len(set(pids)) == len(pids)  # each in its own child


def _bench_row(alpha: float, resolution: int, opts: Any, **kw: Any) -> dict[str, Any]:
    """A stand-in for bench.measure: a row that says which process measured it."""
    STATE.append(resolution)
    return {"pid": os.getpid(), "seen": list(STATE), "alpha": alpha, "resolution": resolution,
            "backend": opts.backend, "precision": opts.precision, "threads": opts.threads,
            "median_ms": 1.0, "onnx_dir": kw.get("onnx_dir")}


def test_bench_grid_measures_each_row_in_its_own_child(monkeypatch: Any) -> None:
    """costmodel bench (run_grid with isolate=True) isolates like calibrate: every (config,
    backend, precision) row comes from a fresh child; --in-process and the library default
    (isolate=False) keep them all here."""
    from costmodel.latency import bench, isolation

    prepared: list[tuple[str, str]] = []
    monkeypatch.setattr(bench, "measure", _bench_row)
    monkeypatch.setattr(isolation, "prepare_parent",
                        lambda backend, data_dir, precision="fp32": prepared.append(
                            (backend, precision)))
    opts = [bench.BenchOptions(backend="torch"), bench.BenchOptions(backend="torch",
                                                                    precision="bf16")]
    STATE.clear()
    got = bench.run_grid([(0.5, 32), (0.75, 32)], opts, output_csv=None, progress=False,
                         isolate=True)
    pids = [r["pid"] for r in got.rows]
    assert len(pids) == 4 and os.getpid() not in pids and len(set(pids)) == 4
    assert [r["seen"] for r in got.rows] == [[32]] * 4 and STATE == []
    assert sorted(prepared) == [("torch", "bf16"), ("torch", "fp32")]  # once per kind, here
    assert len({r["onnx_dir"] for r in got.rows}) == 1  # one export folder the children share
    here = bench.run_grid([(0.5, 32), (0.75, 32)], opts[:1], output_csv=None, progress=False)
    assert [r["pid"] for r in here.rows] == [os.getpid()] * 2 and STATE == [32, 32]
    STATE.clear()


def test_bench_command_isolates_unless_in_process(monkeypatch: Any, capsys: Any) -> None:
    """`costmodel bench` asks run_bench for forked children from a clean parent (no runtime
    loaded yet: a fresh command); from a process that has loaded torch (this test runner) it
    measures in process and says why; `--in-process` never forks."""
    from costmodel.cli import main
    from costmodel.latency import bench, isolation

    asked: list[bool] = []
    real = bench.run_bench

    def spy(*args: Any, isolate: bool = False, **kw: Any) -> Any:
        asked.append(isolate)
        return real(*args, isolate=False, **kw)  # measured here: this test process ran torch

    monkeypatch.setattr(bench, "run_bench", spy)
    base = ["bench", "--alpha", "0.25", "--resolution", "32", "--repeats", "2", "--min-time",
            "0.01", "--warmup", "1", "--no-save", "--no-progress"]
    assert "torch" in sys.modules and not isolation.parent_is_clean()
    assert main(base) == 0
    out = capsys.readouterr()
    assert "measured in this process, not in forked children: it had already loaded torch" in (
        out.out + out.err)
    assert main([*base, "--in-process"]) == 0
    assert "forked children" not in "".join(capsys.readouterr())
    monkeypatch.setattr(isolation, "parent_is_clean", lambda: True)  # as a fresh command
    assert main(base) == 0
    assert "forked children" not in "".join(capsys.readouterr())
    assert asked == [False, False, True]


def test_a_fresh_command_is_a_clean_parent() -> None:
    """Nothing the CLI loads before measuring loads a runtime (checked in a new interpreter)."""
    import subprocess

    code = ("import sys; from costmodel.cli import main; import costmodel.cli.bench, "
            "costmodel.latency.bench, costmodel.latency.isolation as i; "
            "print(i.parent_is_clean())")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert got.stdout.strip() == "True"
