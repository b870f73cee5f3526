"""Device identity and where measurements live (issue 10): the fingerprint, the user data folder,
merging with the shipped reference device, rows of two machines never merging, bad files."""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from costmodel.errors import CostModelError
from costmodel.io import latency_data as ld
from costmodel.io import paths
from costmodel.latency import fingerprint as fpm

ROOT = Path(__file__).resolve().parents[1]
FACTS = {"cpu_model": "Intel(R) Xeon(R) Processor", "cpu_flags_hash": "0badf00d", "cpu_cores": 2,
         "logical_cpus": 2, "memory_gib": 24, "torch_version": "2.13.0+cpu",
         "onnxruntime_version": "1.32.0", "python_version": "3.11.7", "matmul_gflops": 107.3}


def _row(fp: fpm.Fingerprint, alpha: float = 0.5, resolution: int = 96, ms: float = 2.0,
         device_id: str | None = None) -> dict[str, object]:
    """A latency row as `costmodel bench` writes it, measured on the machine ``fp``."""
    return {**fp.columns(), "device_id": device_id or fp.device_id, "device": "test",
            "backend": "onnxruntime", "device_type": "cpu", "precision": "float32", "threads": 1,
            "batch": 1, "channels_last": False, "alpha": alpha, "resolution": resolution,
            "variant": "mobilenet_v1", "rounding": "int", "classes": 1000,
            "spec": "mobilenet_v1", "median_ms": ms, "min_ms": ms, "iqr_ms": 0.1}


# ---------------------------------------------------------------------------------------------
# The user data folder
# ---------------------------------------------------------------------------------------------
def test_data_folder_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COSTMODEL_DATA_DIR")
    monkeypatch.delenv("XDG_DATA_HOME")
    assert paths.user_data_dir() == tmp_path / "home" / ".local" / "share" / "costmodel"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec: absolute paths only
    assert paths.user_data_dir() == tmp_path / "home" / ".local" / "share" / "costmodel"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.user_data_dir() == tmp_path / "xdg" / "costmodel"
    monkeypatch.setenv("COSTMODEL_DATA_DIR", str(tmp_path / "env"))
    assert paths.user_data_dir() == tmp_path / "env"
    assert paths.user_data_dir(tmp_path / "flag") == tmp_path / "flag"  # --data-dir wins
    assert paths.user_latency_dir(tmp_path / "flag") == tmp_path / "flag" / "latency"
    # nothing above created a folder
    assert not any(tmp_path.iterdir())


def test_tests_run_with_a_temp_data_folder(user_data: Path) -> None:
    assert paths.user_data_dir() == user_data
    assert ld.latency_path("some-box-2c-12345678") == user_data / "latency" / "some-box-2c-12345678.csv"
    assert paths.SHIPPED_DATA_DIR not in paths.user_data_dir().parents


def test_nothing_is_written_into_the_shipped_data() -> None:
    with pytest.raises(CostModelError, match="inside the shipped data folder .* read-only"):
        ld.check_writable(paths.SHIPPED_LATENCY_DIR / "mine.csv")
    with pytest.raises(CostModelError, match="read-only reference device 'reference-xeon-2c'"):
        ld.writable_latency_path("intel-xeon-processor-cpu")  # the old id is an alias


def test_a_data_folder_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CostModelError, match=r"data folder '.*file/latency' cannot be created"):
        ld.writable_latency_path("my-box", blocker)
    assert blocker.read_text() == "x"


# ---------------------------------------------------------------------------------------------
# The reference device
# ---------------------------------------------------------------------------------------------
def test_reference_device_is_named_dated_and_read_only() -> None:
    meta = ld.reference_devices()["reference-xeon-2c"]
    assert "2026-11-22" in meta["measured"] and "Xeon" in meta["machine"]
    assert ld.canonical_id("intel-xeon-processor-cpu") == "reference-xeon-2c"
    assert ld.latency_path("intel-xeon-processor-cpu") == \
        paths.SHIPPED_LATENCY_DIR / "reference-xeon-2c.csv"
    frame = ld.load_latency("intel-xeon-processor-cpu", backend="onnxruntime", threads=1)
    assert set(frame["device_id"]) == {"reference-xeon-2c"} and frame["reference"].all()
    # 42 configs (7 alphas x 6 resolutions) x 10 passes
    assert len(frame) == 420
    assert ld.load_hardware("intel-xeon-processor-cpu")["limits"]["cpu:1"]["peak_gflops"] == 108.525


def test_precision_reference_device_holds_every_precision_side_by_side() -> None:
    """reference-xeon-amx-2c: 42 configs x 2 passes of each backend x precision it runs (torch
    fp32/bf16, onnxruntime fp32/int8, openvino fp32/bf16/int8), 1 thread, from one run; its
    rows carry no fingerprint, so it is never this machine."""
    meta = ld.reference_devices()["reference-xeon-amx-2c"]
    assert "2026-12-02" in meta["measured"] and "AMX" in meta["machine"]
    frame = ld.load_latency("reference-xeon-amx-2c")
    kinds = frame.groupby(["backend", "precision"]).size().to_dict()
    assert kinds == {("onnxruntime", "float32"): 84, ("onnxruntime", "int8"): 84,
                     ("openvino", "bfloat16"): 84, ("openvino", "float32"): 84,
                     ("openvino", "int8"): 84, ("torch", "bfloat16"): 84,
                     ("torch", "float32"): 84}
    assert set(frame["threads"]) == {1} and frame["reference"].all()
    assert frame["fingerprint"].fillna("").eq("").all()
    assert len(frame.drop_duplicates(["alpha", "resolution"])) == 42


def test_user_folder_is_merged_with_the_reference(user_data: Path) -> None:
    fp = fpm.identify(FACTS, user_data)
    ld.append_row(ld.writable_latency_path(fp.device_id), _row(fp))
    ids = ld.device_ids()
    assert ids[:3] == sorted([fp.device_id, "reference-xeon-2c", "reference-xeon-amx-2c"])
    assert ids[3:] == ["pixel3", "pixel2"]
    devs = ld.list_devices()
    mine = devs[devs["device_id"] == fp.device_id]
    assert list(mine["fingerprint"]) == [fp.fingerprint] and not mine["reference"].any()


# ---------------------------------------------------------------------------------------------
# The fingerprint
# ---------------------------------------------------------------------------------------------
def test_this_machine_is_cached_and_well_formed() -> None:
    a, b = fpm.this_machine(), fpm.this_machine()
    assert a is b  # measured once per process
    assert re.fullmatch(r"[a-z0-9-]+-\d+c-[0-9a-f]{8}", a.device_id)
    assert a.device_id.endswith(f"-{a.logical_cpus}c-{a.fingerprint}")
    assert a.matmul_gflops > 0 and a.memory_gib >= 0
    assert set(a.columns()) == set(ld.FINGERPRINT_COLUMNS)


def test_speed_buckets_are_half_octaves() -> None:
    # 2*log2(107.3) = 13.49 -> 13 and 2*log2(108.5) = 13.52 -> 14: the shared machine of this
    # project measures on both sides of this edge; 2*log2(128) = 14 exactly; 1.8x apart is
    # 2*log2(1.8) = 1.70 buckets apart, so never one bucket
    assert (fpm.speed_bucket(107.3), fpm.speed_bucket(108.5), fpm.speed_bucket(128.0)) == (13, 14, 14)
    for g in (50.0, 107.0, 190.0):
        assert fpm.speed_bucket(1.8 * g) - fpm.speed_bucket(g) >= 1


def test_one_host_keeps_its_id_once_it_has_rows(user_data: Path) -> None:
    first = fpm.identify(FACTS, user_data)
    other_side = {**FACTS, "matmul_gflops": 108.5}  # across the bucket edge
    assert fpm.identify(other_side, user_data).fingerprint != first.fingerprint  # no rows yet
    ld.append_row(ld.writable_latency_path(first.device_id), _row(first))
    again = fpm.identify(other_side, user_data)
    assert again.device_id == first.device_id and again.matmul_gflops == 108.5
    # up to 1.25x faster: the same host; beyond: another one
    assert fpm.identify({**FACTS, "matmul_gflops": 107.3 * 1.24}, user_data).device_id == first.device_id
    assert fpm.identify({**FACTS, "matmul_gflops": 107.3 * 1.26}, user_data).device_id != first.device_id
    # up to 1.6x slower (load only slows a measurement): the same host; beyond: another one
    assert fpm.identify({**FACTS, "matmul_gflops": 107.3 / 1.59}, user_data).device_id == first.device_id
    assert fpm.identify({**FACTS, "matmul_gflops": 107.3 / 1.61}, user_data).device_id != first.device_id
    # hosts 1.8x apart (issue 10) never share an id, whichever was measured first
    faster = fpm.identify({**FACTS, "matmul_gflops": 107.3 * 1.8}, user_data)
    assert faster.device_id != first.device_id
    assert fpm.identify({**FACTS, "matmul_gflops": 107.3 / 1.8}, user_data).device_id != first.device_id
    # static facts that differ are another machine whatever the speed
    for key, value in (("cpu_flags_hash", "feedbeef"), ("memory_gib", 48), ("logical_cpus", 4),
                       ("onnxruntime_version", "1.31.1")):
        assert fpm.identify({**FACTS, key: value}, user_data).fingerprint != first.fingerprint


def test_fingerprint_is_stable_across_two_runs(user_data: Path) -> None:
    code = ("from costmodel.latency.fingerprint import this_machine; import json; "
            "print(json.dumps(this_machine().to_dict()))")

    def run() -> dict[str, object]:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=ROOT, check=True)
        return dict(json.loads(out.stdout))

    one = run()
    fp = fpm.Fingerprint(**one)  # type: ignore[arg-type]
    ld.append_row(ld.writable_latency_path(fp.device_id), _row(fp))  # the first run's row
    two = run()
    assert two["device_id"] == one["device_id"] and two["fingerprint"] == one["fingerprint"]
    g1, g2 = float(one["matmul_gflops"]), float(two["matmul_gflops"])  # type: ignore[arg-type]
    assert g1 / fpm.SLOWER_RATIO <= g2 <= g1 * fpm.SAME_HOST_RATIO  # the window that kept the id


def test_a_burst_of_load_is_measured_again(user_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The stored host ran 107.3 GFLOP/s; this run's first reading is 2x slower (load), beyond the
    # 1.6x window, so this_machine measures again (longer) and keeps the faster reading.
    first = fpm.identify(FACTS, user_data)
    ld.append_row(ld.writable_latency_path(first.device_id), _row(first))
    monkeypatch.setattr(fpm, "probe", lambda: {**FACTS, "matmul_gflops": 107.3 / 2})
    retries: list[float] = []

    def quieter(seconds: float = fpm.BENCH_SECONDS) -> float:
        retries.append(seconds)
        return 105.0
    monkeypatch.setattr(fpm, "matmul_gflops", quieter)
    found = fpm._this_machine.__wrapped__(str(user_data / "latency"))
    assert retries == [fpm.RETRY_SECONDS]
    assert found.device_id == first.device_id and found.matmul_gflops == 105.0
    # a host with other static facts is not measured again: it is another machine
    retries.clear()
    monkeypatch.setattr(fpm, "probe", lambda: {**FACTS, "memory_gib": 48, "matmul_gflops": 50.0})
    assert fpm._this_machine.__wrapped__(str(user_data / "latency")).device_id != first.device_id
    assert retries == []


# ---------------------------------------------------------------------------------------------
# Rows of different machines never merge
# ---------------------------------------------------------------------------------------------
def test_rows_of_two_machines_never_merge(user_data: Path) -> None:
    a = fpm.identify(FACTS, user_data)
    b = fpm.identify({**FACTS, "matmul_gflops": 195.0}, user_data)
    path = ld.writable_latency_path("shared-name")
    ld.append_row(path, _row(a, device_id="shared-name"))
    before = path.read_bytes()
    with pytest.raises(CostModelError, match="holds measurements of another machine"):
        ld.append_row(path, _row(b, device_id="shared-name"))
    assert path.read_bytes() == before
    # a file that holds two machines anyway (joined by hand) is refused, not averaged
    with path.open("a", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(ld.COLUMNS), extrasaction="ignore",
                           lineterminator="\n")
        w.writerow(_row(b, device_id="shared-name"))
    with pytest.raises(CostModelError, match="holds rows of 2 machines"):
        ld.load_latency("shared-name")


# ---------------------------------------------------------------------------------------------
# Bad files: one line naming the file and line, nothing changed
# ---------------------------------------------------------------------------------------------
def test_an_older_schema_is_refused(user_data: Path) -> None:
    old_cols = [c for c in ld.COLUMNS if c not in ("fingerprint", "cpu_flags_hash", "memory_gib",
                                                   "matmul_gflops")]
    path = ld.latency_path("old-box-cpu")
    path.parent.mkdir(parents=True)
    path.write_text(",".join(old_cols) + "\n" + ",".join("1" for _ in old_cols) + "\n")
    before = path.read_bytes()
    with pytest.raises(CostModelError, match=r"old-box-cpu.csv' has an older schema \(no column "
                                             r"fingerprint, cpu_flags_hash, memory_gib, \.\.\.\)"):
        ld.load_latency("old-box-cpu")
    assert path.read_bytes() == before


def test_a_corrupt_value_names_its_line(user_data: Path) -> None:
    fp = fpm.identify(FACTS, user_data)
    path = ld.writable_latency_path(fp.device_id)
    ld.append_row(path, _row(fp, alpha=0.5))
    ld.append_row(path, _row(fp, alpha=0.75))
    path.write_text(path.read_text().replace(",0.75,", ",zero,"))
    with pytest.raises(CostModelError, match=r"line 3 is corrupt \(alpha 'zero' is not a number\)"):
        ld.load_latency(fp.device_id)


# ---------------------------------------------------------------------------------------------
# The commands: devices, one device vocabulary, --data-dir, bad input (one line, exit 2)
# ---------------------------------------------------------------------------------------------
def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "costmodel", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, env={**os.environ, **(env or {})})


def _measured_here(folder: Path) -> fpm.Fingerprint:
    """One row of this machine (as the subprocesses will identify it) in ``folder``."""
    me = fpm.this_machine(folder)
    for a, r, ms in ((0.5, 160, 2.0), (1.0, 224, 9.0)):
        ld.append_row(ld.writable_latency_path(me.device_id, folder), _row(me, a, r, ms=ms))
    return me


def test_devices_json_has_device_id_and_this_machine(user_data: Path) -> None:
    out = _cli("latency", "devices", "--format", "json")
    assert out.returncode == 0, out.stderr  # NaN threads of the phones: null, valid JSON
    doc = json.loads(out.stdout)
    assert not any(d["this_machine"] for d in doc["devices"])  # nothing measured here yet
    me = _measured_here(user_data)
    doc = json.loads(_cli("latency", "devices", "--format", "json").stdout)
    assert doc["this_machine"]["device_id"] == me.device_id
    assert doc["data_dir"] == str(user_data)
    by_name = {d["name"]: d for d in doc["devices"]}
    mine = by_name[f"{me.device_id}/onnxruntime/1"]
    assert mine["this_machine"] is True and mine["machine"] == "this machine"
    assert mine["device_id"] == me.device_id and mine["configs"] == 2
    ref = by_name["reference-xeon-2c/onnxruntime/1"]
    assert ref["this_machine"] is False and ref["machine"] == "reference"
    phone = by_name["pixel3_gpu"]
    assert phone["threads"] is None and phone["this_machine"] is False
    assert doc["devices"][0]["this_machine"]  # this machine first
    text = _cli("latency", "devices").stdout
    assert text.startswith(f"this machine: {me.device_id} (")
    line = next(x for x in text.splitlines() if x.startswith(f"{me.device_id}/onnxruntime/1"))
    assert "this machine" in line
    assert "reference" in next(x for x in text.splitlines() if x.startswith("reference-xeon-2c/"))


def test_data_dir_is_honoured_by_pareto_and_recommend(tmp_path: Path) -> None:
    me = _measured_here(tmp_path)
    name = f"{me.device_id}/onnxruntime/1"
    listed = json.loads(_cli("pareto", "--list", "--format", "json", "--data-dir",
                             str(tmp_path)).stdout)
    assert name in {d["id"] for d in listed["devices"]}
    default = json.loads(_cli("pareto", "--list", "--format", "json").stdout)  # COSTMODEL_DATA_DIR
    assert name not in {d["id"] for d in default["devices"]}
    out = _cli("pareto", "--x", f"latency:{name}", "--data-dir", str(tmp_path), "--format", "json")
    assert out.returncode == 0, out.stderr
    got = {(p["label"], p[f"latency:{name}"]) for p in json.loads(out.stdout)["points"]}
    assert got == {("0.5-160", 2.0), ("1.0-224", 9.0)}  # the two rows written above
    out = _cli("recommend", "--device", name, "--max-latency-ms", "5", "--format", "json")
    assert out.returncode == 2 and f"device '{name}' is unknown" in out.stderr  # not in the default


@pytest.mark.parametrize("name", ["reference-xeon-2c/onnxruntime/1",
                                  "intel-xeon-processor-cpu/onnxruntime/1"])
def test_one_device_name_everywhere(name: str) -> None:
    # the same name in recommend --device, pareto latency:<name> and latency predict --device-id
    rec = _cli("recommend", "--device", name, "--max-latency-ms", "5", "--format", "json")
    assert rec.returncode == 0, rec.stderr
    par = _cli("pareto", "--x", f"latency:{name}", "--format", "json")
    assert par.returncode == 0, par.stderr
    pred = _cli("latency", "predict", "--device-id", name, "--alpha", "1.0", "--resolution", "224",
                "--format", "json")
    assert pred.returncode == 0, pred.stderr
    assert json.loads(pred.stdout)["device_id"] == "reference-xeon-2c"


def test_uint8_phone_rows_are_selectable_in_latency_predict() -> None:
    # TFLite hosted models: Mobilenet_V1_1.0_224_quant, Pixel 3 CPU 4 threads: 13 ms (float: 24)
    out = _cli("latency", "predict", "--device-id", "pixel3_cpu4_uint8", "--alpha", "1.0",
               "--resolution", "224", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["predictions"][0]["measured_ms"] == 13.0


@pytest.mark.parametrize("args, words", [
    (["latency", "predict", "--device-id", "no-such-box"], "device id 'no-such-box' is unknown; "
     "allowed: pixel3_cpu4, "),
    (["latency", "evaluate", "--device-id", "nope/torch/1"], "device id 'nope/torch/1' is unknown"),
    (["recommend", "--device", "iphone", "--max-latency-ms", "5"], "device 'iphone' is unknown; "
     "allowed: pixel3_cpu4"),
    (["pareto", "--x", "latency:nope"], "device 'nope' is unknown"),
    (["latency", "predict", "--device-id", "pixel3_cpu4", "--threads", "2"],
     "--threads 2 contradicts device 'pixel3_cpu4' (threads 4)"),
    (["bench", "--batch", "100000", "--no-progress"], "batch 100000 needs about "),
    (["bench", "--device-id", "intel-xeon-processor-cpu", "--no-progress"],
     "is the read-only reference device 'reference-xeon-2c'"),
])
def test_bad_input_is_one_line_exit_2(args: list[str], words: str, user_data: Path) -> None:
    out = _cli(*args)
    assert out.returncode == 2, out.stdout
    assert out.stderr.count("\n") == 1 and words in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert not (user_data / "latency").exists()  # nothing measured, nothing written


def test_batch_memory_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    from costmodel.latency import bench

    opts = bench.BenchOptions(batch=10)
    need = bench.memory_needed(0.25, 32, opts)
    # closed form for 0.25-32 (int rounding), fp32: the input 3x32x32 = 3,072 values; the
    # largest live pair is the first pointwise conv, 16x16x8 in + 16x16x16 out = 6,144 values;
    # (3,072 + 6,144) x 4 bytes = 36,864 bytes per image
    assert need["per_image"] == 36_864
    assert need["total"] == 10 * 36_864 + need["weights"]
    # exactly MEMORY_SHARE of the free memory fits; one byte less does not
    free = need["total"] / bench.MEMORY_SHARE
    monkeypatch.setattr(bench, "available_memory", lambda device="cpu": math.ceil(free))
    bench.check_memory([(0.25, 32)], [opts])
    monkeypatch.setattr(bench, "available_memory", lambda device="cpu": math.floor(free) - 1)
    with pytest.raises(CostModelError, match=r"batch 10 needs about .* allowed: --batch <= 9 "):
        bench.check_memory([(0.25, 32)], [opts])


def test_corrupt_or_old_files_stop_every_reader_with_one_line(user_data: Path) -> None:
    path = ld.latency_path("old-box-cpu")
    path.parent.mkdir(parents=True)
    path.write_text("device_id,alpha,resolution,median_ms\nold-box-cpu,0.5,96,2.0\n")
    before = path.read_bytes()
    for args in (["latency", "devices"], ["pareto", "--list"],
                 ["latency", "predict", "--device-id", "old-box-cpu"]):
        out = _cli(*args)
        assert out.returncode == 2 and out.stderr.count("\n") == 1, (args, out.stderr)
        assert "old-box-cpu.csv' has an older schema" in out.stderr
    assert path.read_bytes() == before


def test_unwritable_data_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = _cli("bench", "--alpha", "0.25", "--resolution", "32", "--no-progress", "--data-dir",
               str(blocker / "sub"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "cannot be created" in out.stderr and str(blocker / "sub") in out.stderr


def test_dashboard_device_list_shows_this_machine_apart(user_data: Path) -> None:
    from dashboard import data

    before = data.device_options()
    assert not any("(this machine)" in o["label"] for o in before)
    assert any(o["label"].startswith("reference-xeon-2c") and o["label"].endswith("(reference)")
               for o in before)
    me = _measured_here(user_data)
    options = data.device_options()  # a new row shows without a restart
    assert options[0]["value"] == f"{me.device_id}/onnxruntime/1"
    assert options[0]["label"].endswith("(this machine)")
    assert data.default_device() == options[0]["value"]


def test_openvino_version_is_a_static_fact_only_when_installed(user_data: Path) -> None:
    import hashlib

    # without OpenVINO the hash is the one of the 8 static fields and the speed bucket, as before
    # the field joined the facts: sha1("<8 fields>|<bucket>")[:8], bucket round(2*log2(107.3)) = 13
    legacy = "|".join(str(FACTS[f]) for f in fpm.STATIC_FIELDS) + "|13"
    bare = fpm.identify(FACTS, user_data)
    assert bare.fingerprint == hashlib.sha1(legacy.encode()).hexdigest()[:8]
    assert fpm.identify({**FACTS, "openvino_version": ""}, user_data).fingerprint == bare.fingerprint
    # with it, each OpenVINO version is another device (its kernels differ)
    ov1 = fpm.identify({**FACTS, "openvino_version": "2026.4.1"}, user_data)
    ov2 = fpm.identify({**FACTS, "openvino_version": "2026.5.0"}, user_data)
    assert len({bare.fingerprint, ov1.fingerprint, ov2.fingerprint}) == 3
    assert ov1.columns()["openvino_version"] == "2026.4.1"
    # a host with rows keeps its id only for its own OpenVINO version
    ld.append_row(ld.writable_latency_path(ov1.device_id), _row(ov1))
    near = {**FACTS, "openvino_version": "2026.4.1", "matmul_gflops": 108.5}  # next bucket
    assert fpm.identify(near, user_data).fingerprint == ov1.fingerprint
    assert fpm.identify({**near, "openvino_version": "2026.5.0"}, user_data).fingerprint != ov1.fingerprint


def test_a_file_written_before_the_openvino_column_still_reads(user_data: Path) -> None:
    fp = fpm.identify(FACTS, user_data)
    path = ld.writable_latency_path(fp.device_id)
    old = [c for c in ld.COLUMNS if c != "openvino_version"]  # the schema before the column
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=old, restval="")
        w.writeheader()
        w.writerow({k: v for k, v in _row(fp).items() if k in old})
    rec = ld.file_fingerprint(path)
    assert rec is not None and rec["openvino_version"] == "" and rec["fingerprint"] == fp.fingerprint
    # the same machine without OpenVINO: its rows are still this host's
    assert fpm.identify({**FACTS, "matmul_gflops": 108.5}, user_data).fingerprint == fp.fingerprint
    assert len(ld.load_latency(fp.device_id, data_dir=user_data)) == 1  # read, not refused
    ld.append_row(path, _row(fp, alpha=0.75))  # the next write adds the column
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    assert header == list(ld.COLUMNS) and len(ld.read_rows(path)) == 2
