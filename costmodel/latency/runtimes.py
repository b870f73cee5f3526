"""Precisions and runtimes beyond torch eager fp32 (issue #13): which backend runs which
precision, the one ONNX export, static int8 quantization, and OpenVINO.

Precision names (``costmodel bench --precision``) and their stored names are
:data:`costmodel.io.latency_data.PRECISIONS`: ``fp32`` (float32), ``bf16`` (bfloat16), ``int8``.

What each backend really runs (:data:`SUPPORTED`; checked on every measurement, see below):

* ``torch`` (eager): fp32; bf16 = the model's weights and the input cast to ``torch.bfloat16``
  (oneDNN bf16 convolutions; the output dtype is checked to be bfloat16). Refused where
  ``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` is false (no AVX512-BF16/AMX: emulated).
  No int8: eager torch has no int8 convolution path without a separate quantization flow.
* ``onnxruntime`` (CPU execution provider): fp32 and int8. No bf16: the CPU EP has no bfloat16
  Conv kernel (a bf16 ONNX model would not load, or would fall back to fp32 casts).
* ``openvino`` (CPU plugin): fp32 (``INFERENCE_PRECISION_HINT=f32``), bf16 (hint ``bf16``) and
  int8 (the int8 QDQ ONNX model below, hint ``f32`` for what stays float). After compiling,
  the runtime precision of every Convolution node of the execution graph is checked: ``f32``,
  ``bf16``, or ``u8``/``i8``; anything else is an error, never a silent fp32 fallback.

int8 is static post-training quantization by ``onnxruntime.quantization``: the fp32 ONNX export
is pre-processed (``quant_pre_process``: shape inference and graph optimisation, which folds the
padding arithmetic and shared-bias Identity nodes of the TorchScript export), then
``quantize_static`` with ``QuantFormat.QDQ``, ``per_channel=True``, int8 weights (one scale and
zero point per output channel), uint8 activations (U8S8, onnxruntime's recommended x86 format),
MinMax calibration on :data:`CALIBRATION_INPUTS` generated inputs (standard normal, seeded, the
distribution every measurement feeds). OpenVINO reads the same QDQ file and runs the convolutions
in u8 (its execution graph says so), so it needs no NNCF step of its own.

onnxruntime, onnx and openvino are imported inside the functions that use them.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from costmodel.errors import CostModelError
from costmodel.io.files import atomic_path
from costmodel.io.latency_data import PRECISIONS, precision_name, stored_precision

# backend -> the precisions it runs (short names, in the order a table shows them)
SUPPORTED: dict[str, tuple[str, ...]] = {
    "torch": ("fp32", "bf16"),
    "onnxruntime": ("fp32", "int8"),
    "openvino": ("fp32", "bf16", "int8"),
}
# why a backend does not run a precision: part of the refusal
WHY_NOT: dict[tuple[str, str], str] = {
    ("torch", "int8"): "eager torch has no int8 convolution path",
    ("onnxruntime", "bf16"): "its CPU execution provider has no bfloat16 Conv kernel",
}
CALIBRATION_INPUTS = 8  # generated inputs the int8 calibration sees
OPENVINO_HINT = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}
# runtime precision of the Convolution nodes that OpenVINO's execution graph must show
OPENVINO_CONV = {"fp32": {"f32"}, "bf16": {"bf16"}, "int8": {"u8", "i8"}}


def check_precision(backend: str, precision: Any) -> str:
    """The short name (``fp32``, ``bf16``, ``int8``) of ``precision`` if ``backend`` runs it;
    CostModelError naming the backend, the precision and what is allowed otherwise."""
    name = precision_name(stored_precision(precision))
    allowed = SUPPORTED.get(backend, ("fp32",))
    if name not in allowed:
        why = WHY_NOT.get((backend, name))
        raise CostModelError(f"precision {precision!r} is not supported by backend {backend}"
                             f"{f' ({why})' if why else ''}; allowed: {', '.join(allowed)}")
    return name


def precision_list(text: Any) -> list[str]:
    """``--precision fp32,int8`` -> ['fp32', 'int8'] (unique, in order); unknown names refused."""
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or any(not p for p in parts):
        raise CostModelError(f"precision {text!r} is not a list; allowed: {', '.join(PRECISIONS)}, "
                             f"comma separated")
    return list(dict.fromkeys(precision_name(stored_precision(p)) for p in parts))


# ------------------------------------------------------------------------------------------
# The one ONNX export, and int8 quantization of it
# ------------------------------------------------------------------------------------------
def export_onnx(model: Any, batch: int, path: str | Path) -> Path:
    """Export the (folded) model to ONNX (TorchScript exporter, opset 17, fixed batch)."""
    import torch

    x = model.example_input(batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["logits"],
                          opset_version=17, dynamo=False)
    return Path(path)


@contextmanager
def _quiet() -> Iterator[None]:
    """onnxruntime.quantization logs advice on the root logger at WARNING; silence it."""
    old = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(old)


def calibration_inputs(shape: tuple[int, ...], count: int = CALIBRATION_INPUTS,
                       seed: int = 0) -> list[Any]:
    """``count`` generated inputs (standard normal, float32, seeded) of ``shape``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(count)]


def _reader(name: str, inputs: list[Any]) -> Any:
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{name: x} for x in inputs])

        def get_next(self) -> dict[str, Any] | None:
            return next(self.items, None)

    return Reader()


def quantize_int8(fp32_path: str | Path, out_path: str | Path, *, config: str,
                  inputs: int = CALIBRATION_INPUTS, seed: int = 0) -> Path:
    """Static int8 quantization of the ONNX model at ``fp32_path`` (QDQ, per-channel int8
    weights, uint8 activations, calibrated on ``inputs`` generated inputs) into ``out_path``,
    atomically. A failure raises CostModelError naming ``config`` and leaves no file."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out = Path(out_path)
    try:
        graph_input = onnx.load(str(fp32_path), load_external_data=False).graph.input[0]
        shape = tuple(int(d.dim_value) for d in graph_input.type.tensor_type.shape.dim)
        with tempfile.TemporaryDirectory(prefix="costmodel-quant-") as tmp, _quiet(), \
                atomic_path(out, suffix=".onnx") as part:
            pre = Path(tmp) / "pre.onnx"
            quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
            quantize_static(str(pre), str(part), _reader(graph_input.name,
                                                         calibration_inputs(shape, inputs, seed)),
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    except CostModelError:
        raise
    except Exception as exc:  # onnx/onnxruntime raise many kinds; the user needs the config
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise CostModelError(f"int8 quantization of {config} failed: {type(exc).__name__}: "
                             f"{first}; allowed: --precision fp32 for this config") from None
    return out


EXPORT_PRECISIONS = ("fp32", "int8")


def export_config(alpha: Any, resolution: Any, out_path: str | Path, *, precision: str = "fp32",
                  variant: str = "mobilenet_v1", rounding: str = "int", classes: int = 1000,
                  spec: Any = None, batch: int = 1) -> Path:
    """Write the ONNX model of one config (BatchNorm folded, the export every ONNX backend
    runs) to ``out_path`` atomically: fp32, or int8 (:func:`quantize_int8`). Bad input raises
    CostModelError before anything is written; a failure leaves no file."""
    import shutil

    from costmodel.crosscheck.torch_model import build_model

    name = precision_name(stored_precision(precision))
    if name not in EXPORT_PRECISIONS:
        raise CostModelError(f"precision {precision!r} cannot be exported; allowed: "
                             f"{', '.join(EXPORT_PRECISIONS)}")
    model = build_model(alpha, resolution, variant=variant, rounding=rounding, classes=classes,
                        spec=spec, fold_bn=True)
    c = model.config
    out = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="costmodel-export-") as tmp:
        fp32 = export_onnx(model, batch, Path(tmp) / "fp32.onnx")
        if name == "int8":
            return quantize_int8(fp32, out, config=f"{c['spec']} {variant} alpha={c['alpha']:g} "
                                                   f"resolution={c['resolution']} rounding={rounding}")
        with atomic_path(out, suffix=".onnx") as part:
            shutil.copyfile(fp32, part)
    return out


# ------------------------------------------------------------------------------------------
# OpenVINO
# ------------------------------------------------------------------------------------------
def openvino_version() -> str:
    try:
        import openvino

        return str(openvino.__version__)
    except ImportError:
        return ""


def require_openvino() -> Any:
    try:
        import openvino
    except ImportError:
        raise CostModelError("backend 'openvino' needs the openvino package (pip install "
                             "'costmodel[torch]'); allowed: torch, onnxruntime") from None
    return openvino


def openvino_compile(path: str | Path, precision: str, threads: int) -> Any:
    """The ONNX model at ``path`` compiled for the CPU: latency hint, one stream,
    ``INFERENCE_NUM_THREADS=threads``, the precision hint of ``precision``; CostModelError if the
    execution graph's convolutions do not run in that precision (see :func:`runtime_precisions`)."""
    ov = require_openvino()
    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(path)), "CPU", {
        "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1, "INFERENCE_NUM_THREADS": int(threads),
        "INFERENCE_PRECISION_HINT": OPENVINO_HINT[precision]})
    conv = set(runtime_precisions(compiled).get("Convolution", {}))
    if not conv or not conv <= OPENVINO_CONV[precision]:
        raise CostModelError(f"openvino ran the convolutions in {', '.join(sorted(conv)) or 'none'}"
                             f", not {precision}, on this CPU; allowed: --precision "
                             f"{'fp32' if precision != 'fp32' else 'bf16'} with backend openvino")
    return compiled


def runtime_precisions(compiled: Any) -> dict[str, Counter[str]]:
    """Layer type -> how many nodes of the compiled model's execution graph run in each
    precision (OpenVINO's ``runtimePrecision``), e.g. ``{"Convolution": {"u8": 27}}``."""
    out: dict[str, Counter[str]] = {}
    for op in compiled.get_runtime_model().get_ops():
        info = op.get_rt_info()
        kind = info["layerType"].astype(str)
        out.setdefault(kind, Counter())[info["runtimePrecision"].astype(str)] += 1
    return out


def openvino_call(compiled: Any, x: Any) -> Callable[[], Any]:
    """One synchronous inference of ``x`` (a numpy array) per call."""
    request = compiled.create_infer_request()

    def call() -> Any:
        return request.infer({0: x})

    return call
