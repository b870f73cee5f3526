"""Measured latency (issue #4): measurement on tiny configs, the CSV (round trip, atomic writes,
interruption, resume), the per-layer profile, the published phone devices, bad inputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from costmodel.errors import CostModelError
from costmodel.io import latency_data
from costmodel.latency.fingerprint import this_machine

torch = pytest.importorskip("torch", reason="torch is not installed")

from costmodel.core.kinds import (  # noqa: E402
    AVG_POOL,
    CONV1X1,
    CONV3X3,
    DW3X3,
    FULLY_CONNECTED,
    MOBILENET_TYPES,
    OTHER,
)
from costmodel.latency import bench  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = {"repeats": 3, "min_time": 0.05, "warmup": 1}


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "costmodel", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)


# ---------------------------------------------------------------------------------------------
# Timing statistics and the timing loop
# ---------------------------------------------------------------------------------------------
def test_stats_of_known_samples() -> None:
    # samples 1..5 ms: median 3, quartiles (inclusive) 2 and 4, IQR 2, min 1, mean 3
    t = bench.Timing([0.001, 0.002, 0.003, 0.004, 0.005], number_per_sample=1, timed_s=0.015,
                     cpu_s=0.0025)
    s = t.stats_ms()
    assert s["median_ms"] == pytest.approx(3.0)
    assert (s["q1_ms"], s["q3_ms"], s["iqr_ms"]) == pytest.approx((2.0, 4.0, 2.0))
    assert (s["min_ms"], s["mean_ms"], s["cpu_ms"]) == pytest.approx((1.0, 3.0, 2.5))


def test_time_callable_times_a_known_sleep() -> None:
    # time.sleep(0.004) takes at least 4 ms of wall time and almost no CPU time
    timing = bench.time_callable(lambda: time.sleep(0.004), repeats=5, min_time=0.1, warmup=1)
    s = timing.stats_ms()
    assert len(timing.times_s) >= 5
    assert timing.timed_s >= 0.1
    assert 4.0 <= s["min_ms"] <= s["median_ms"] < 50.0
    assert s["cpu_ms"] < 2.0


# ---------------------------------------------------------------------------------------------
# Measuring tiny configs
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_measure_tiny_config_fills_every_column(backend: str) -> None:
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    row = bench.measure(0.25, 32, backend=backend, threads=1, **TINY)
    assert set(latency_data.COLUMNS) <= set(row)
    assert row["device_id"] == this_machine().device_id
    assert row["fingerprint"] == this_machine().fingerprint
    assert (row["backend"], row["device_type"], row["threads"], row["batch"]) == (backend, "cpu", 1, 1)
    assert (row["alpha"], row["resolution"], row["spec"]) == (0.25, 32, "mobilenet_v1")
    assert row["samples"] >= 3
    assert 0 < row["min_ms"] <= row["median_ms"] <= row["q3_ms"]
    assert row["iqr_ms"] == pytest.approx(row["q3_ms"] - row["q1_ms"], abs=1e-5)
    assert row["cpu_ms"] > 0
    assert row["torch_version"] == torch.__version__


def test_onnx_export_computes_the_same_as_torch(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    from costmodel.crosscheck.torch_model import build_model

    model = build_model(0.5, 40, fold_bn=True)  # 40 is odd after strides: SAME pads asymmetric
    path = bench.export_onnx(model, 2, tmp_path / "m.onnx")
    x = model.example_input(2)
    with torch.inference_mode():
        want = model(x).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x.numpy()})[0]
    assert got.shape == (2, 1000)
    assert abs(got - want).max() < 1e-3


def test_batch_and_channels_last_are_recorded() -> None:
    row = bench.measure(0.25, 32, backend="torch", batch=2, channels_last=True, **TINY)
    assert (row["batch"], row["channels_last"]) == (2, True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_measure_on_cuda() -> None:
    row = bench.measure(0.25, 64, backend="torch", device="cuda", **TINY)
    assert row["device_type"] == "cuda" and row["gpu_name"]
    assert row["device_id"].endswith("-cuda")
    assert 0 < row["min_ms"] <= row["median_ms"]


# ---------------------------------------------------------------------------------------------
# The CSV: round trip, resume, passes, atomic writes, interruption
# ---------------------------------------------------------------------------------------------
def test_grid_round_trip_and_resume(tmp_path: Path) -> None:
    dev = "test-device-cpu"
    csv_path = latency_data.latency_path(dev, tmp_path)
    opts = [bench.BenchOptions(backend="torch", **TINY)]
    first = bench.run_grid([(0.25, 32), (0.5, 32)], opts, output_csv=csv_path, device_id=dev,
                           progress=False)
    assert len(first.rows) == 2 and not first.skipped

    assert csv_path.stat().st_mode & 0o777 == 0o644  # readable by others, like any data file
    frame = latency_data.load_latency(dev, data_dir=tmp_path)
    assert list(frame["alpha"]) == [0.25, 0.5]
    assert list(frame["resolution"]) == [32, 32]
    assert list(frame["median_ms"]) == pytest.approx([r["median_ms"] for r in first.rows])
    assert not frame["published"].any()
    assert set(latency_data.TIDY_COLUMNS) <= set(frame.columns)

    # Re-running the same grid measures nothing; one new config is measured alone.
    again = bench.run_grid([(0.25, 32), (0.5, 32), (0.25, 40)], opts, output_csv=csv_path,
                           device_id=dev, progress=False)
    assert [(r["alpha"], r["resolution"]) for r in again.rows] == [(0.25, 40)]
    assert len(again.skipped) == 2
    assert len(latency_data.read_rows(csv_path)) == 3

    # passes=2: every key gets a second row; latency_table combines a key's rows with the
    # median over them (of two rows: their mean), or with across="min" the smaller.
    more = bench.run_grid([(0.25, 32)], opts, output_csv=csv_path, device_id=dev, passes=2,
                          progress=False)
    assert len(more.rows) == 1 and len(more.skipped) == 1
    medians = [r["median_ms"] for r in (first.rows[0], more.rows[0])]
    for across, want in (("median", sum(medians) / 2), ("min", min(medians))):
        table = latency_data.latency_table(dev, backend="torch", across=across, data_dir=tmp_path)
        got = table.set_index(["alpha", "resolution"]).loc[(0.25, 32)]
        assert got["median_ms"] == pytest.approx(want)
        assert got["rows"] == 2

    devices = latency_data.list_devices(tmp_path)
    mine = devices[devices["device_id"] == dev]
    assert list(mine["configs"]) == [3]


def test_resume_skips_only_configs_measured_on_this_machine(user_data: Path) -> None:
    from costmodel.latency.fingerprint import identify

    me = this_machine()
    other = identify({**{k: getattr(me, k) for k in ("cpu_model", "cpu_flags_hash", "cpu_cores",
                                                     "logical_cpus", "memory_gib",
                                                     "torch_version", "onnxruntime_version",
                                                     "python_version")},
                      "matmul_gflops": me.matmul_gflops * 1.8})  # same name, 1.8x faster
    assert other.device_id != me.device_id
    opts = [bench.BenchOptions(backend="torch", **TINY)]
    theirs = latency_data.writable_latency_path(other.device_id)
    row = {**other.columns(), "device_id": other.device_id, "backend": "torch",
           "device_type": "cpu", "precision": "float32", "threads": 1, "batch": 1,
           "channels_last": False, "alpha": 0.25, "resolution": 32, "variant": "mobilenet_v1",
           "rounding": "int", "classes": 1000, "spec": "mobilenet_v1", "median_ms": 1.0}
    latency_data.append_row(theirs, row)
    mine = latency_data.writable_latency_path(me.device_id)
    got = bench.run_grid([(0.25, 32)], opts, output_csv=mine, progress=False)
    assert len(got.rows) == 1 and not got.skipped  # measured here, not skipped
    assert got.rows[0]["fingerprint"] == me.fingerprint
    again = bench.run_grid([(0.25, 32)], opts, output_csv=mine, progress=False)
    assert not again.rows and len(again.skipped) == 1  # this machine's row: skipped
    # this machine's rows never go into the other machine's file, and nothing is measured
    before = theirs.read_bytes()
    with pytest.raises(CostModelError, match="holds measurements of another machine"):
        bench.run_grid([(0.5, 32)], opts, output_csv=theirs, device_id=other.device_id,
                       progress=False)
    assert theirs.read_bytes() == before


def _row_of(fp_cols: dict, speed: float, fingerprint: str) -> dict:
    me = this_machine()  # the id a run names a machine by: <slug>-<n>c-<fingerprint>
    return {**fp_cols, "matmul_gflops": speed, "fingerprint": fingerprint,
            "device_id": me.device_id.replace(me.fingerprint, fingerprint),
            "backend": "torch", "device_type": "cpu",
            "precision": "float32", "threads": 1, "batch": 1, "channels_last": False,
            "alpha": 0.25, "resolution": 32, "variant": "mobilenet_v1", "rounding": "int",
            "classes": 1000, "spec": "mobilenet_v1", "median_ms": 1.0}


def test_resume_into_a_file_outside_the_data_folder_keeps_its_machine(tmp_path: Path) -> None:
    """`bench --output-csv` outside the data folder: a killed run and its resume measure the
    matmul speed apart, and a speed near a bucket edge gave two fingerprints (one host as two,
    the resume refused). The file's own machine is this one when its static facts match and its
    speed is within the same-host window: stored 1.1x faster (this run slower: load) is this
    machine; stored 1.3x slower (this run faster than SAME_HOST_RATIO = 1.25 allows) is not."""
    me = this_machine()
    cols = me.columns()
    opts = [bench.BenchOptions(backend="torch", **TINY)]
    ours = tmp_path / "out" / "mine.csv"
    ours.parent.mkdir()
    latency_data.append_row(ours, _row_of(cols, me.matmul_gflops * 1.1, "feedbeef"))
    got = bench.run_grid([(0.25, 32), (0.5, 32)], opts, output_csv=ours, progress=False)
    assert [r["alpha"] for r in got.rows] == [0.5] and len(got.skipped) == 1  # resumed
    assert {r["fingerprint"] for r in latency_data.read_rows(ours)} == {"feedbeef"}
    slower = tmp_path / "out" / "slower.csv"
    latency_data.append_row(slower, _row_of(cols, me.matmul_gflops / 1.3, "0dd0beef"))
    before = slower.read_bytes()
    with pytest.raises(CostModelError, match="holds measurements of another machine"):
        bench.run_grid([(0.5, 32)], opts, output_csv=slower, progress=False)
    assert slower.read_bytes() == before


def test_reader_refuses_a_torn_or_malformed_line_naming_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "x-cpu.csv"
    row = {c: "1" for c in latency_data.COLUMNS}
    latency_data.append_row(p, {**row, "alpha": "0.5", "resolution": "96"})
    text = p.read_text()
    assert len(latency_data.read_rows(p)) == 1
    p.write_text(text + "x-cpu,desc,model,2,2,,torch,cpu")  # a torn line, no newline
    with pytest.raises(CostModelError, match=r"x-cpu.csv' line 3 is corrupt"):
        latency_data.read_rows(p)
    p.write_text(text + "too,few,fields\n")  # a complete but malformed line
    with pytest.raises(CostModelError, match=r"line 3 is corrupt \(3 fields"):
        latency_data.read_rows(p)
    assert p.read_text() == text + "too,few,fields\n"  # nothing rewritten, nothing lost


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "x-cpu.csv"
    latency_data.append_row(p, {"alpha": 0.5, "resolution": 96})
    before = p.read_bytes()

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(latency_data.os, "replace", boom)
    with pytest.raises(OSError):
        latency_data.append_row(p, {"alpha": 0.75, "resolution": 96})
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["x-cpu.csv"]  # no temp file left behind


def test_lock_files_do_not_pile_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The write lock's file (in the temp folder) is removed by its holder when done, also when
    # the write fails: runs no longer leave one costmodel-*.lock behind per data file.
    import tempfile

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    p = tmp_path / "x-cpu.csv"
    latency_data.append_row(p, {"alpha": 0.5, "resolution": 96})
    latency_data.append_row(tmp_path / "y-cpu.csv", {"alpha": 0.5, "resolution": 96})
    assert list(tmp.iterdir()) == []
    monkeypatch.setattr(latency_data.os, "replace", lambda *_: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        latency_data.append_row(p, {"alpha": 0.75, "resolution": 96})
    assert list(tmp.iterdir()) == []


def test_concurrent_writers_lose_no_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 4 writers x 15 rows into one file, each row a read-modify-write under the lock: a writer
    # that waited on a lock file its holder then removed must lock afresh, or rows are lost.
    import tempfile
    import threading

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    p = tmp_path / "x-cpu.csv"

    def write(w: int) -> None:
        for i in range(15):
            latency_data.append_row(p, {"alpha": w + 1, "resolution": i + 1})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = {(r["alpha"], r["resolution"]) for r in latency_data.read_rows(p)}
    assert got == {(str(w + 1), str(i + 1)) for w in range(4) for i in range(15)}
    assert list(tmp.iterdir()) == []


@pytest.mark.slow
def test_killed_grid_keeps_finished_rows_and_resumes(tmp_path: Path) -> None:
    csv_path = latency_data.latency_path("kill-test-cpu", tmp_path)
    csv_path.parent.mkdir()
    args = ["bench", "--alphas", "0.25", "--resolutions", "32:96:8", "--backend", "torch",
            "--repeats", "3", "--min-time", "0.3", "--warmup", "1", "--output-csv",
            str(csv_path), "--device-id", "kill-test-cpu", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "costmodel", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(latency_data.read_rows(csv_path)) < 2:
            time.sleep(0.05)
        n_seen = len(latency_data.read_rows(csv_path))
        assert proc.poll() is None, "the grid finished before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = latency_data.read_rows(csv_path)
    assert 2 <= n_seen <= len(rows) < 9  # 32..96 step 8 = 9 configs; no finished row lost
    frame = latency_data.load_latency("kill-test-cpu", data_dir=tmp_path)
    assert frame["median_ms"].notna().all() and (frame["median_ms"] > 0).all()
    # a temp file a kill may leave is hidden and never read as a device
    assert set(latency_data.device_ids(tmp_path)) - set(latency_data.PUBLISHED_NAMES) \
        - set(latency_data.reference_devices()) == {"kill-test-cpu"}
    done = {int(r["resolution"]) for r in rows}

    out = _cli(*args, timeout=300)
    assert out.returncode == 0, out.stderr
    rows2 = latency_data.read_rows(csv_path)
    res = sorted(int(r["resolution"]) for r in rows2)
    assert res == list(range(32, 97, 8))  # each config exactly once
    assert f"{len(done)} already measured there" in out.stdout


# ---------------------------------------------------------------------------------------------
# Per-layer-type time, hardware limits
# ---------------------------------------------------------------------------------------------
def test_profile_layers_by_type() -> None:
    rows = {r["type"]: r for r in bench.profile_layers(0.25, 64, runs=2, warmup=1)}
    assert set(rows) == {*MOBILENET_TYPES, OTHER}
    # Table 1: one standard conv, 13 depthwise + 13 pointwise, one pool, one FC
    assert [rows[t]["layers"] for t in (CONV3X3, DW3X3, CONV1X1, AVG_POOL, FULLY_CONNECTED)] \
        == [1, 13, 13, 1, 1]
    assert sum(r["mult_adds_pct"] for r in rows.values()) == pytest.approx(100.0)
    assert sum(r["time_pct"] for r in rows.values()) == pytest.approx(100.0, abs=0.5)
    assert all(rows[t]["time_ms"] > 0 for t in (CONV3X3, DW3X3, CONV1X1, FULLY_CONNECTED))


def test_hardware_limits_round_trip(tmp_path: Path) -> None:
    rec = bench.store_hardware(1, "cpu", device_id="hw-test-cpu", data_dir=tmp_path,
                               min_time=0.05, matmul_n=128, copy_mib=4)
    assert rec["peak_gflops"] > 0 and rec["bandwidth_gbs"] > 0
    stored = latency_data.load_hardware("hw-test-cpu", tmp_path)
    assert stored["limits"]["cpu:1"]["peak_gflops"] == rec["peak_gflops"]


# ---------------------------------------------------------------------------------------------
# Devices, ids, published phones
# ---------------------------------------------------------------------------------------------
def test_device_id_slugs() -> None:
    assert latency_data.slug("Intel(R) Xeon(R) Processor") == "intel-xeon-processor"
    assert latency_data.slug("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz") == "intel-core-i7-8700-3-20ghz"
    assert latency_data.slug("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3"


def test_published_phones_load_as_devices() -> None:
    frame = latency_data.load_latency("pixel3", backend="tflite-cpu", precision="float32")
    assert len(frame) == 16 and frame["published"].all() and (frame["threads"] == 4).all()
    # hosted_models.md: Mobilenet_V1_1.0_224 float, Pixel 3 CPU 4 threads: 24 ms
    got = frame.set_index(["alpha", "resolution"]).loc[(1.0, 224), "median_ms"]
    assert got == 24.0
    # models.md: Pixel 2 TFLite one thread, 0.25_128 float: 6.2 ms
    table = latency_data.latency_table("pixel2")
    assert table.set_index(["alpha", "resolution"]).loc[(0.25, 128), "median_ms"] == 6.2
    assert {"pixel2", "pixel3"} <= set(latency_data.list_devices()["device_id"])


# ---------------------------------------------------------------------------------------------
# Bad inputs
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, words", [
    ({"backend": "tf"}, "backend 'tf' is unknown; allowed: torch, onnxruntime"),
    ({"repeats": 0}, "repeats 0 is out of range"),
    ({"threads": 0}, "threads 0 is out of range"),
    ({"batch": -1}, "batch -1 is out of range"),
    ({"min_time": 0}, "min-time 0 is out of range"),
    ({"device": "tpu"}, "device 'tpu' is unknown"),
    ({"backend": "onnxruntime", "device": "cuda"}, "not supported by backend onnxruntime"),
    ({"backend": "onnxruntime", "channels_last": True}, "channels-last applies to backend torch"),
])
def test_bad_options(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(CostModelError, match=words.replace("(", r"\(").replace(")", r"\)")):
        bench.BenchOptions(**kwargs).checked()  # type: ignore[arg-type]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_cuda_without_gpu_is_a_clear_error() -> None:
    with pytest.raises(CostModelError, match="device 'cuda' requested but .* no CUDA GPU"):
        bench.measure(0.25, 32, backend="torch", device="cuda")


@pytest.mark.parametrize("args, words", [
    (["bench", "--backend", "tensorflow"], "backend 'tensorflow' is unknown"),
    (["bench", "--repeats", "0"], "repeats '0' is out of range"),
    (["bench", "--threads", "two"], "threads 'two' is not an integer list"),
    (["bench", "--alpha", "0"], "alpha '0' is out of range"),
    (["latency", "predict", "--device-id", "no-such-cpu"], "device id 'no-such-cpu' is unknown"),
    (["latency", "evaluate", "--device-id", "pixel3", "--backend", "torch"],
     "backend 'torch' has no latency rows"),
    (["latency", "evaluate", "--device-id", "pixel3", "--form", "sum"],
     "--form 'sum' is no longer an option of `latency evaluate`"),
])
def test_cli_bad_input_is_one_line_exit_2(args: list[str], words: str) -> None:
    extra = {"bench": ["--no-save"]}
    out = _cli(*args, *extra.get(args[0], extra.get(args[1], [])))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and words in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_cli_cuda_without_gpu(tmp_path: Path) -> None:
    target = tmp_path / "never.csv"
    out = _cli("bench", "--device", "cuda", "--output-csv", str(target))
    assert out.returncode == 2 and "no CUDA GPU" in out.stderr
    assert not target.exists()


def test_cli_no_save_writes_nothing(user_data: Path) -> None:
    out = _cli("bench", "--alpha", "0.25", "--resolution", "32", "--repeats", "1",
               "--min-time", "0.01", "--no-save", "--roofline", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert "not saved (--no-save)" in out.stdout and "peak GFLOP/s" in out.stdout
    assert list(user_data.rglob("*")) == []  # the user data folder is untouched
