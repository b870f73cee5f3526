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
