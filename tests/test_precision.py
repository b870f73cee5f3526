"""Precisions and runtimes (issue #13): the precision vocabulary, which backend runs which
precision, the refusals (one line, exit 2, no partial file), int8 static quantization (QDQ,
per-channel scales), OpenVINO beside onnxruntime, resume per precision, `costmodel export`."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from pathlib import Path

import pytest

from costmodel.errors import CostModelError
from costmodel.io import latency_data
from costmodel.latency import runtimes

ROOT = Path(__file__).resolve().parents[1]
TINY = {"repeats": 2, "min_time": 0.02, "warmup": 1}


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`costmodel ARGS` in this process (a subprocess costs seconds of start-up per call)."""
    from costmodel.cli import main

    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's own errors
                code = int(exc.code or 0)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["costmodel", *args], code, out.getvalue(), err.getvalue())


def _one_line_exit_2(out: subprocess.CompletedProcess[str], *words: str) -> None:
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("costmodel: error: ")
    assert "Traceback" not in out.stderr
    for w in words:
        assert w in out.stderr


# ---------------------------------------------------------------------------------------------
# The vocabulary: names typed -> names stored; old rows still read
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, stored", [
    ("fp32", "float32"), ("bf16", "bfloat16"), ("int8", "int8"),
    ("FP32", "float32"), (" int8 ", "int8"),  # case and spaces as a user may type them
    ("float32", "float32"), ("bfloat16", "bfloat16"),  # a stored name stands for itself
])
def test_stored_precision(typed: str, stored: str) -> None:
    assert latency_data.stored_precision(typed) == stored
    assert latency_data.precision_name(stored) == typed.strip().lower().replace(
        "float32", "fp32").replace("bfloat16", "bf16")


@pytest.mark.parametrize("bad", ["int4", "fp16", "", "uint8x", None, 8])
def test_unknown_precision_is_refused_naming_it(bad: object) -> None:
    with pytest.raises(CostModelError, match=r"precision .* is unknown; allowed: fp32, bf16, int8"):
        latency_data.stored_precision(bad)


def test_device_names_take_short_and_stored_precisions_and_old_rows_still_read() -> None:
    assert latency_data.resolve_device("pixel3/tflite-cpu/4@fp32").precision == "float32"
    assert latency_data.resolve_device("pixel3/tflite-cpu/4").precision == "float32"
    assert latency_data.resolve_device("pixel3/tflite-cpu/4@bf16").precision == "bfloat16"
    # the published phones' quantized rows keep their stored name, uint8
    assert latency_data.resolve_device("pixel3_cpu4_uint8").precision == "uint8"
    frame = latency_data.load_latency("pixel3", backend="tflite-cpu", precision="uint8")
    assert len(frame) and set(frame["precision"]) == {"uint8"}
    # --precision fp32 beside a name that says float32 is no contradiction
    spec = latency_data.select_device("pixel3/tflite-cpu/4", precision="fp32")
    assert spec.precision == "float32"


# ---------------------------------------------------------------------------------------------
# Which backend runs which precision
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend, precision, allowed", [
    ("torch", "int8", "fp32, bf16"),
    ("onnxruntime", "bf16", "fp32, int8"),
    ("onnxruntime", "bfloat16", "fp32, int8"),
])
def test_unsupported_pairs_are_refused_naming_backend_precision_and_allowed(
        backend: str, precision: str, allowed: str) -> None:
    with pytest.raises(CostModelError) as err:
        runtimes.check_precision(backend, precision)
    msg = str(err.value)
    assert f"precision {precision!r} is not supported by backend {backend}" in msg
    assert msg.endswith(f"allowed: {allowed}") and "\n" not in msg


@pytest.mark.parametrize("backend", list(runtimes.SUPPORTED))
def test_supported_pairs_pass_and_fp32_runs_everywhere(backend: str) -> None:
    assert "fp32" in runtimes.SUPPORTED[backend]
    for p in runtimes.SUPPORTED[backend]:
        assert runtimes.check_precision(backend, p) == p
        assert runtimes.check_precision(backend, latency_data.PRECISIONS[p]) == p


def test_precision_list() -> None:
    assert runtimes.precision_list("fp32,int8,fp32") == ["fp32", "int8"]
    assert runtimes.precision_list("float32, BF16") == ["fp32", "bf16"]
    for bad in ("fp32,", ",", "fp32,int3"):
        with pytest.raises(CostModelError, match="precision"):
            runtimes.precision_list(bad)


@pytest.mark.parametrize("args, words", [
    (["--backend", "onnxruntime", "--precision", "bf16"],
     ["precision 'bf16' is not supported by backend onnxruntime", "allowed: fp32, int8"]),
    (["--backend", "torch", "--precision", "int8"],
     ["precision 'int8' is not supported by backend torch", "allowed: fp32, bf16"]),
    (["--backend", "onnxruntime", "--precision", "fp32,bf16"],
     ["precision 'bf16' is not supported by backend onnxruntime"]),
    (["--precision", "int4"], ["precision 'int4' is unknown; allowed: fp32, bf16, int8"]),
    (["--precision", "fp32,,int8"], ["precision 'fp32,,int8' is not a list"]),
])
def test_cli_refusals_are_one_line_exit_2_and_write_nothing(
        args: list[str], words: list[str], user_data: Path) -> None:
    out = _cli("bench", "--alpha", "0.25", "--resolution", "32", *args)
    _one_line_exit_2(out, *words)
    assert list(user_data.rglob("*.csv")) == []


# ---------------------------------------------------------------------------------------------
# int8: the QDQ export is really quantized, per channel, and close to fp32
# ---------------------------------------------------------------------------------------------
onnx = pytest.importorskip("onnx", reason="onnx is not installed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
torch = pytest.importorskip("torch", reason="torch is not installed")


@pytest.fixture(scope="module")
def int8_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "m-int8.onnx"
    res = _cli("export", "--alpha", "0.25", "--resolution", "64", "--precision", "int8",
               "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert f"wrote {out}" in res.stdout
    return out


def test_int8_export_has_per_channel_qdq_weights(int8_export: Path) -> None:
    from onnx import numpy_helper

    from costmodel.core.engine import layer_table
    from costmodel.core.kinds import CONV_KINDS, Kind

    model = onnx.load(str(int8_export))
    ops = [n.op_type for n in model.graph.node]
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    table = layer_table(0.25, 64)
    rows = [r for r in table.rows if r["type"].kind in (*CONV_KINDS, Kind.FC)]
    nodes = [n for n in model.graph.node if n.op_type in ("Conv", "Gemm")]
    assert len(nodes) == len(rows) == 28  # 1 full conv + 13 dw + 13 pw + FC (paper Table 1)
    zero_bytes = 0
    for node, row in zip(nodes, rows):
        # the weight is dequantized from an int8 initializer with one scale and one zero point
        # per output channel (axis 0), zero points 0 (symmetric int8 weights)
        dq = producer[node.input[1]]
        assert dq.op_type == "DequantizeLinear"
        w, scale, zero = (inits[name] for name in dq.input)
        assert w.dtype.name == "int8" and zero.dtype.name == "int8" and not zero.any()
        # alpha 0.25: conv1 has int(32 * 0.25) = 8 output channels ... the last pw 256, FC 1000
        assert w.shape[0] == scale.shape[0] == zero.shape[0] == row["out_channels"]
        assert {a.name: a.i for a in dq.attribute}.get("axis", 1) == 0
        assert (scale > 0).all()
        zero_bytes += zero.nbytes
        # activations reach it through QuantizeLinear -> DequantizeLinear, uint8
        act = producer[node.input[0]]
        assert act.op_type == "DequantizeLinear" and inits[act.input[2]].dtype.name == "uint8"
    assert ops.count("QuantizeLinear") >= len(rows)
    # one byte per weight: the int8 tensors are the table's weight parameters (no biases in the
    # paper convention) plus one int8 zero point per output channel
    int8_bytes = sum(a.nbytes for a in inits.values() if a.dtype.name == "int8")
    assert zero_bytes == sum(int(r["out_channels"]) for r in rows)
    assert int8_bytes == table.totals["weight_params"] + zero_bytes


def _discriminating_model(alpha: float, resolution: int, classes: int = 10) -> object:
    """A folded model whose top-1 depends on the input, as a trained one's does: He-normal
    weights (signal neither vanishes nor explodes through 27 layers; the default init shrinks it
    to a constant logit vector, where top-1 agreement would be trivial), and a last layer that
    standardises each logit over 16 generated inputs."""
    from costmodel.crosscheck.torch_model import build_model

    model = build_model(alpha, resolution, fold_bn=True, classes=classes)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(3)
        for mod in model.modules():
            if isinstance(mod, torch.nn.Conv2d | torch.nn.Linear):
                torch.nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
                mod.bias.zero_()
        fc = model.fc
        ys = torch.cat([model(model.example_input(1)) for _ in range(16)])
        fc.weight.div_(ys.std(0).reshape(-1, 1))
        fc.bias.copy_(-ys.mean(0) / ys.std(0))
    return model


def test_int8_top1_agrees_with_fp32_on_generated_inputs(tmp_path: Path) -> None:
    import numpy as np

    model = _discriminating_model(0.25, 64)
    fp32 = runtimes.export_onnx(model, 1, tmp_path / "fp32.onnx")
    int8 = runtimes.quantize_int8(fp32, tmp_path / "int8.onnx", config="test")
    run32, run8 = (ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
                   for p in (fp32, int8))
    xs = runtimes.calibration_inputs((1, 3, 64, 64), count=16, seed=11)  # not the calibration's
    top32 = [int(np.argmax(run32.run(None, {"input": x})[0])) for x in xs]
    top8 = [int(np.argmax(run8.run(None, {"input": x})[0])) for x in xs]
    assert len(set(top32)) >= 5  # top-1 really depends on the input (10 classes)
    agree = sum(a == b for a, b in zip(top32, top8))
    # measured 15/16 (a 10-class random network is harsher than a trained one); a model that
    # ignored its input would agree on ~1/10 of them, a wrong scale on about as few
    assert agree >= 13


def test_failed_quantization_names_the_config_and_leaves_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime.quantization as q

    fp32 = runtimes.export_config(0.25, 32, tmp_path / "fp32.onnx")
    target = tmp_path / "int8.onnx"

    def broken(model_input: str, model_output: str, *args: object, **kwargs: object) -> None:
        Path(model_output).write_bytes(b"half a model")  # a partial file, then the failure
        raise RuntimeError("calibration produced NaN ranges\nsecond line")

    monkeypatch.setattr(q, "quantize_static", broken)
    with pytest.raises(CostModelError) as err:
        runtimes.quantize_int8(fp32, target, config="mobilenet_v1 alpha=0.25 resolution=32")
    msg = str(err.value)
    assert msg.startswith("int8 quantization of mobilenet_v1 alpha=0.25 resolution=32 failed: "
                          "RuntimeError: calibration produced NaN ranges;")
    assert "\n" not in msg and "allowed: --precision fp32" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fp32.onnx"]  # no partial, no temp
    # an existing file is left as it was
    target.write_bytes(b"old")
    with pytest.raises(CostModelError):
        runtimes.quantize_int8(fp32, target, config="x")
    assert target.read_bytes() == b"old"


@pytest.mark.parametrize("args, words", [
    (["--precision", "bf16"], "precision 'bf16' cannot be exported; allowed: fp32, int8"),
    (["--precision", "int2"], "precision 'int2' is unknown"),
    (["--alpha", "-1"], "alpha '-1' is out of range"),
    (["--rounding", "up"], "rounding 'up' is unknown"),
    ([], "no output file; allowed: -o FILE.onnx"),
    (["-o", "model.txt"], "is not an .onnx file"),
    (["-o", "no/such/folder/m.onnx"], "output folder 'no/such/folder' does not exist"),
])
def test_export_bad_input_is_one_line_exit_2_and_writes_nothing(
        args: list[str], words: str, tmp_path: Path) -> None:
    extra = [] if any(a in ("-o",) for a in args) or words.startswith("no output") \
        else ["-o", "m.onnx"]
    out = _cli("export", "--resolution", "32", *args, *extra, cwd=tmp_path)
    _one_line_exit_2(out, words)
    assert list(tmp_path.iterdir()) == []


def test_export_fp32_computes_what_torch_computes(tmp_path: Path) -> None:
    import numpy as np

    from costmodel.crosscheck.torch_model import build_model

    out = runtimes.export_config(0.5, 40, tmp_path / "m.onnx", rounding="divisible8", classes=10)
    model = build_model(0.5, 40, rounding="divisible8", classes=10, fold_bn=True)
    x = model.example_input(1)
    with torch.inference_mode():
        want = model(x).numpy()
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(
        None, {"input": x.numpy()})[0]
    assert np.abs(got - want).max() < 1e-4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


# ---------------------------------------------------------------------------------------------
# OpenVINO: same numbers as onnxruntime in fp32; what its execution graph really runs
# ---------------------------------------------------------------------------------------------
def test_openvino_fp32_equals_onnxruntime_and_int8_runs_as_int8(int8_export: Path,
                                                                  tmp_path: Path) -> None:
    import numpy as np

    pytest.importorskip("openvino", reason="openvino is not installed")
    model = _discriminating_model(0.25, 64)
    fp32 = runtimes.export_onnx(model, 1, tmp_path / "fp32.onnx")
    x = runtimes.calibration_inputs((1, 3, 64, 64), count=1, seed=5)[0]
    want = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})[0]
    compiled = runtimes.openvino_compile(fp32, "fp32", threads=1)
    got = runtimes.openvino_call(compiled, x)()[0]
    assert np.allclose(got, want, rtol=1e-4, atol=1e-4)
    assert runtimes.runtime_precisions(compiled)["Convolution"] == {"f32": 27}
    # the QDQ file runs its 27 convolutions in uint8 activations x int8 weights
    q = runtimes.runtime_precisions(runtimes.openvino_compile(int8_export, "int8", threads=1))
    assert sum(q["Convolution"].values()) == 27 and set(q["Convolution"]) <= {"u8", "i8"}


def test_openvino_bf16_runs_bf16_or_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("openvino", reason="openvino is not installed")
    from costmodel.crosscheck.torch_model import build_model

    fp32 = runtimes.export_onnx(build_model(0.25, 32, fold_bn=True), 1, tmp_path / "m.onnx")
    if not bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()):  # no AVX512-BF16/AMX
        with pytest.raises(CostModelError, match="not bf16"):
            runtimes.openvino_compile(fp32, "bf16", threads=1)
        return
    got = runtimes.runtime_precisions(runtimes.openvino_compile(fp32, "bf16", threads=1))
    assert got["Convolution"] == {"bf16": 27}


# ---------------------------------------------------------------------------------------------
# Measuring: rows carry the precision; resume works per precision
# ---------------------------------------------------------------------------------------------
def test_rows_carry_the_stored_precision_and_resume_skips_per_precision(user_data: Path) -> None:
    from costmodel.latency import bench

    pytest.importorskip("openvino", reason="openvino is not installed")
    dev = "test-precision-cpu"
    csv_path = latency_data.latency_path(dev, user_data)
    opts = {p: bench.BenchOptions(backend="onnxruntime", precision=p, **TINY)
            for p in ("fp32", "int8")}
    first = bench.run_grid([(0.25, 32)], [opts["fp32"]], output_csv=csv_path, device_id=dev,
                           progress=False)
    assert [r["precision"] for r in first.rows] == ["float32"]
    both = bench.run_grid([(0.25, 32)], [opts["fp32"], opts["int8"]], output_csv=csv_path,
                          device_id=dev, progress=False)
    assert [r["precision"] for r in both.rows] == ["int8"]  # fp32 was there: skipped
    assert [i["opts"].precision for i in both.skipped] == ["fp32"]
    again = bench.run_grid([(0.25, 32)], [opts["int8"], opts["fp32"]], output_csv=csv_path,
                           device_id=dev, progress=False)
    assert not again.rows and len(again.skipped) == 2
    ov = bench.run_grid([(0.25, 32)], [bench.BenchOptions(backend="openvino", precision="int8",
                                                          **TINY)],
                        output_csv=csv_path, device_id=dev, progress=False)
    assert [(r["backend"], r["precision"]) for r in ov.rows] == [("openvino", "int8")]
    assert ov.rows[0]["openvino_version"]
    frame = latency_data.load_latency(dev, data_dir=user_data)
    assert sorted(zip(frame["backend"], frame["precision"])) == [
        ("onnxruntime", "float32"), ("onnxruntime", "int8"), ("openvino", "int8")]
    table = latency_data.latency_table(dev, backend="onnxruntime", precision="int8",
                                       data_dir=user_data)
    assert list(table["median_ms"]) == [both.rows[0]["median_ms"]]


def test_torch_bf16_really_computes_in_bfloat16() -> None:
    from costmodel.latency import bench

    if not bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        with pytest.raises(CostModelError, match="'bf16' is not supported by backend torch"):
            bench.measure(0.25, 32, backend="torch", precision="bf16", **TINY)
        return
    from costmodel.crosscheck.torch_model import build_model

    opts = bench.BenchOptions(backend="torch", precision="bf16").checked()
    model = build_model(0.25, 32, fold_bn=True)
    out = bench._torch_call(model, opts)()
    assert out.dtype == torch.bfloat16
    assert next(model.parameters()).dtype == torch.float32  # the grid's model is left as built
    row = bench.measure(0.25, 32, backend="torch", precision="bf16", **TINY)
    assert row["precision"] == "bfloat16"


def test_bench_side_by_side_prints_the_ratio_table(user_data: Path) -> None:
    out = _cli("bench", "--alpha", "0.25", "--resolution", "32", "--backend",
               "torch,onnxruntime", "--precision", "fp32,int8", "--repeats", "2",
               "--min-time", "0.02", "--no-progress", "--no-save", "--format", "json")
    assert out.returncode == 0, out.stderr
    import json

    data = json.loads(out.stdout)
    got = {(t["backend"], t["precision"]): t for t in data["throughput"]}
    assert set(got) == {("torch", "float32"), ("onnxruntime", "float32"), ("onnxruntime", "int8")}
    assert "precision int8 skipped for backend torch" in out.stderr
    t = got[("onnxruntime", "int8")]
    # GFLOP/s = 2 x mult-adds / median: 0.25-32 has 2 x 0.25^2 ... count from the engine
    from costmodel.core.engine import layer_table

    ma = layer_table(0.25, 32).totals["mult_adds"]
    assert t["mult_adds"] == ma
    assert t["gflops"] == pytest.approx(2 * ma / (t["median_ms"] * 1e6))
    assert t["speedup"] == pytest.approx(got[("onnxruntime", "float32")]["median_ms"]
                                         / t["median_ms"])
    assert got[("torch", "float32")]["speedup"] == 1.0


def test_throughput_of_known_rows() -> None:
    from costmodel.latency import bench

    base = {"alpha": 1.0, "resolution": 224, "variant": "mobilenet_v1", "rounding": "int",
            "classes": 1000, "spec": "mobilenet_v1", "backend": "onnxruntime",
            "device_type": "cpu", "threads": 1, "batch": 1, "channels_last": False,
            "iqr_ms": 0.5, "cpu_ms": 9.0, "loadavg_start": 1.0}
    rows = [{**base, "precision": "float32", "median_ms": m} for m in (10.0, 12.0, 11.0)]
    rows += [{**base, "precision": "int8", "median_ms": 4.0},
             {**base, "precision": "int8", "median_ms": 5.0, "threads": 2}]
    got = {(t["precision"], t["threads"]): t for t in bench.throughput(rows, {1: 200.0})}
    fp32, int8, int8_2t = got[("float32", 1)], got[("int8", 1)], got[("int8", 2)]
    # three passes of fp32: median 11 ms. 1.0-224 has 568,740,352 mult-adds (paper: 569 M), so
    # 2 x 568.740352e6 / 11e-3 s = 103.41 GFLOP/s, 51.70% of a 200 GFLOP/s peak
    assert fp32["rows"] == 3 and fp32["median_ms"] == 11.0
    assert fp32["gflops"] == pytest.approx(2 * 568.740352e6 / 11e-3 / 1e9)
    assert fp32["pct_peak"] == pytest.approx(100 * 103.4073 / 200, rel=1e-5)
    assert fp32["speedup"] == 1.0
    # int8 at 4 ms: 284.37 GFLOP/s (operations), 142.2% of the fp32 peak; 11 / 4 = 2.75x
    assert int8["gflops"] == pytest.approx(2 * 568.740352e6 / 4e-3 / 1e9)
    assert int8["speedup"] == pytest.approx(2.75)
    # 2 threads: no peak measured for 2 threads, no fp32 row with 2 threads: nothing invented
    assert int8_2t["pct_peak"] is None and int8_2t["speedup"] is None


def test_best_peak_takes_the_larger_lower_bound() -> None:
    from costmodel.latency import bench

    # both are lower bounds of the true peak: a busy machine's wall clock hides it (47.7 < 85.0)
    assert bench.best_peak({"peak_gflops": 47.7, "peak_gflops_cpu": 85.0}) == 85.0
    assert bench.best_peak({"peak_gflops": 190.0, "peak_gflops_cpu": 150.0}) == 190.0
    assert bench.best_peak({"peak_gflops": 108.525}) == 108.525  # a record written before it
