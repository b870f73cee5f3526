"""Measured inference latency of the built models (issue #4).

What is timed: one forward pass of ``costmodel.crosscheck.torch_model.build_model(..., fold_bn=True)`` on a
random input of the configured batch, end to end (input already in place, output produced).

* ``torch``: eager, BatchNorm folded into the convs, under ``torch.inference_mode()``, optionally
  ``channels_last`` (model and input). On ``cuda`` the model and input live on the GPU and each
  call ends with ``torch.cuda.synchronize()``.
* ``onnxruntime``: the same folded model exported with ``torch.onnx.export`` (TorchScript exporter,
  opset 17) to a temp file, run by an ``InferenceSession`` on the CPU execution provider with
  ``intra_op_num_threads=threads``, ``inter_op_num_threads=1`` and sequential execution.
* ``openvino``: that ONNX file compiled by OpenVINO for the CPU (latency hint, one stream,
  ``INFERENCE_NUM_THREADS=threads``), one synchronous infer request per call.

Each backend runs the precisions of :data:`costmodel.latency.runtimes.SUPPORTED` (``fp32``,
``bf16``, ``int8``: static QDQ quantization of the same ONNX export); see that module for what
really runs, and how it is checked.

Timing uses ``torch.utils.benchmark.Timer.blocked_autorange`` for both backends (for ONNX Runtime
the timed statement is ``session.run``): after an explicit warm-up, it picks a block size that
makes timer overhead negligible and takes blocks until ``min_time`` seconds are timed; more
blocks are taken until there are at least ``repeats`` samples. A sample is the mean time of the
calls in its block; median, quartiles, IQR, min and mean are over samples. ``os.getloadavg()`` is
recorded before and after, because other work on the machine slows a measurement.

Rows go to ``data/latency/<device-id>.csv`` (schema, device ids and the atomic, resumable writes:
:mod:`costmodel.io.latency_data`). torch and onnxruntime are imported inside the functions that use
them.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from costmodel.core.arch import check_alpha, check_choice, check_resolution, network_key
from costmodel.core.kinds import OTHER
from costmodel.errors import CostModelError
from costmodel.io import latency_data
from costmodel.io.grids import PAPER_CONFIGS
from costmodel.latency.runtimes import check_precision, export_onnx

BACKENDS = ("torch", "onnxruntime", "openvino")
DEVICES = ("cpu", "cuda")
FINE_ALPHAS = (0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0)
FINE_RESOLUTIONS = (96, 128, 160, 192, 224, 256)


@dataclass(frozen=True)
class BenchOptions:
    """How to measure (everything except alpha/resolution). Validated by :meth:`checked`."""

    backend: str = "torch"
    device: str = "cpu"
    threads: int = 1
    batch: int = 1
    channels_last: bool = False
    repeats: int = 10
    min_time: float = 1.0
    warmup: int = 3
    variant: str = "mobilenet_v1"
    rounding: str = "int"
    classes: int = 1000
    spec: Any = None
    precision: str = "fp32"  # a short name of latency_data.PRECISIONS (see latency.runtimes)

    def checked(self) -> BenchOptions:
        check_choice("backend", self.backend, BACKENDS)
        check_choice("device", self.device, DEVICES)
        if self.backend != "torch" and self.device != "cpu":
            raise CostModelError(f"device {self.device!r} is not supported by backend "
                                 f"{self.backend}; allowed: cpu")
        name = check_precision(self.backend, self.precision)
        if name != self.precision:
            return replace(self, precision=name).checked()
        _positive_int("threads", self.threads)
        _positive_int("batch", self.batch)
        _positive_int("repeats", self.repeats)
        _positive_int("warmup", self.warmup, minimum=0)
        if not (isinstance(self.min_time, int | float) and 0 < float(self.min_time) <= 3600):
            raise CostModelError(f"min-time {self.min_time!r} is out of range; allowed: "
                                 f"0 < seconds <= 3600")
        if self.channels_last and self.backend != "torch":
            raise CostModelError("channels-last applies to backend torch only; allowed: "
                                 "--channels-last with --backend torch")
        if self.device == "cuda":
            require_cuda()
        return self


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CostModelError(f"{name} {value!r} is out of range; allowed: an integer >= {minimum}")
    return value


def require_cuda() -> None:
    """Raise CostModelError unless torch sees a CUDA GPU."""
    import torch

    if not torch.cuda.is_available():
        raise CostModelError(f"device 'cuda' requested but torch {torch.__version__} sees no CUDA "
                             f"GPU on this machine; allowed: --device cpu")


def device_info(device: str = "cpu", data_dir: str | Path | None = None,
                writing: str | Path | None = None) -> dict[str, Any]:
    """Device description and fingerprint columns of a row (see latency_data's schema): this
    machine as :func:`costmodel.latency.fingerprint.this_machine` sees it from ``data_dir``, or,
    adding to the CSV ``writing``, as :func:`~costmodel.latency.fingerprint.this_machine_writing`
    sees it (that file's machine when this is it)."""
    from costmodel.latency.fingerprint import this_machine, this_machine_writing

    fp = this_machine(data_dir) if writing is None else this_machine_writing(writing, data_dir)
    info = {**latency_data.cpu_description(), **fp.columns(), "device_id": fp.device_id}
    if device == "cuda":
        import torch

        require_cuda()
        name = torch.cuda.get_device_name()
        info.update(device_id=f"{latency_data.slug(name)}-cuda-{fp.fingerprint}", gpu_name=name,
                    device=f"{name} (host: {info['device']})")
    return info


def versions() -> dict[str, str]:
    import torch

    try:
        import onnxruntime

        ort_version = str(onnxruntime.__version__)
    except ImportError:
        ort_version = ""
    from costmodel.latency.runtimes import openvino_version

    return {"torch_version": str(torch.__version__), "onnxruntime_version": ort_version,
            "openvino_version": openvino_version(), "python_version": platform.python_version()}


# ------------------------------------------------------------------------------------------
# Building the callable that is timed
# ------------------------------------------------------------------------------------------
def _build(alpha: float, resolution: int, opts: BenchOptions) -> Any:
    from costmodel.crosscheck.torch_model import build_model

    model = build_model(alpha, resolution, variant=opts.variant, rounding=opts.rounding,
                        classes=opts.classes, spec=opts.spec, fold_bn=True)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _torch_call(model: Any, opts: BenchOptions) -> Callable[[], Any]:
    import torch

    x = model.example_input(opts.batch)
    if opts.device == "cuda" or opts.channels_last or opts.precision == "bf16":
        import copy

        model = copy.deepcopy(model)  # .cuda()/.to() work in place: keep a grid's model as built
    if opts.device == "cuda":
        model, x = model.cuda(), x.cuda()
    if opts.precision == "bf16":
        _require_torch_bf16(opts.device)
        model, x = model.to(torch.bfloat16), x.to(torch.bfloat16)
    if opts.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    sync = torch.cuda.synchronize if opts.device == "cuda" else None

    def call() -> Any:
        with torch.inference_mode():
            out = model(x)
        if sync is not None:
            sync()
        return out

    if opts.precision == "bf16" and call().dtype != torch.bfloat16:  # what really ran
        raise CostModelError("torch bf16 produced no bfloat16 output; allowed: --precision fp32")
    return call


def _require_torch_bf16(device: str) -> None:
    """CostModelError unless torch runs bf16 convolutions natively on ``device`` (on a CPU:
    oneDNN with AVX512-BF16 or AMX; without them bf16 is emulated, slower than fp32)."""
    import torch

    native = (torch.cuda.is_bf16_supported() if device == "cuda"
              else bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()))
    if not native:
        raise CostModelError(f"precision 'bf16' is not supported by backend torch on this {device} "
                             f"(no native bfloat16 kernels); allowed: fp32")


def _onnx_call(path: Path, opts: BenchOptions, x: Any) -> Callable[[], Any]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = opts.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    feed = {"input": x}

    def call() -> Any:
        return session.run(None, feed)

    return call


def _onnx_name(alpha: float, resolution: int, opts: BenchOptions, spec_name: str,
               precision: str = "fp32") -> str:
    return (f"{latency_data.slug(spec_name)}-{opts.variant}-{opts.rounding}-{alpha:g}-{resolution}"
            f"-c{opts.classes}-b{opts.batch}{'' if precision == 'fp32' else '-' + precision}.onnx")


def onnx_model(model: Any, opts: BenchOptions, folder: Path) -> Path:
    """The ONNX file that backends onnxruntime and openvino run for ``opts.precision``, made
    once per folder: the fp32 export of the folded model, and for int8 its static quantization
    (latency.runtimes.quantize_int8). bf16 runs the fp32 file (OpenVINO's precision hint)."""
    from costmodel.latency.runtimes import quantize_int8

    c = model.config
    a, r = c["alpha"], c["resolution"]
    fp32 = folder / _onnx_name(a, r, opts, c["spec"])
    if not fp32.exists():
        export_onnx(model, opts.batch, fp32)
    if opts.precision != "int8":
        return fp32
    int8 = folder / _onnx_name(a, r, opts, c["spec"], "int8")
    if not int8.exists():
        quantize_int8(fp32, int8, config=f"{c['spec']} {opts.variant} alpha={a:g} "
                                         f"resolution={r} rounding={opts.rounding}")
    return int8


def _timed(model: Any, opts: BenchOptions, folder: Path) -> Timing:
    """Build the callable of ``opts.backend`` at ``opts.precision`` and time it."""
    import torch

    kw: dict[str, Any] = {"threads": opts.threads, "repeats": opts.repeats,
                          "min_time": opts.min_time, "warmup": opts.warmup}
    if opts.backend == "torch":
        call = _torch_call(model, opts)
        prev = torch.get_num_threads()
        torch.set_num_threads(opts.threads)
        try:
            return time_callable(call, **kw)
        finally:
            torch.set_num_threads(prev)
    path = onnx_model(model, opts, folder)
    x = model.example_input(opts.batch).numpy()
    if opts.backend == "openvino":
        from costmodel.latency.runtimes import openvino_call, openvino_compile

        call = openvino_call(openvino_compile(path, opts.precision, opts.threads), x)
    else:
        call = _onnx_call(path, opts, x)
    return time_callable(call, **kw)


# ------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------
@dataclass
class Timing:
    times_s: list[float]  # per-call seconds, one per sample (block mean)
    number_per_sample: int
    timed_s: float
    cpu_s: float = float("nan")  # process CPU seconds per call (all threads), warm-up excluded

    def stats_ms(self) -> dict[str, float]:
        ms = sorted(t * 1e3 for t in self.times_s)
        q = statistics.quantiles(ms, n=4, method="inclusive") if len(ms) > 1 else [ms[0]] * 3
        return {"median_ms": statistics.median(ms), "q1_ms": q[0], "q3_ms": q[2],
                "iqr_ms": q[2] - q[0], "min_ms": ms[0], "mean_ms": statistics.fmean(ms),
                "cpu_ms": self.cpu_s * 1e3}


def time_callable(call: Callable[[], Any], *, threads: int = 1, repeats: int = 10,
                  min_time: float = 1.0, warmup: int = 3) -> Timing:
    """Warm up, then torch.utils.benchmark blocked_autorange until ``min_time`` seconds are timed
    and at least ``repeats`` samples exist. Also counts every call after warm-up and the process
    CPU time they took (``cpu_s``)."""
    from torch.utils.benchmark import Timer

    t0 = time.perf_counter()
    for _ in range(warmup):
        call()
    per_call = (time.perf_counter() - t0) / warmup if warmup else 0.0
    calls = [0]

    def counted() -> None:
        calls[0] += 1
        call()

    timer = Timer(stmt="call()", globals={"call": counted}, num_threads=threads)
    # Ask for enough timed seconds that `repeats` blocks fit (blocks are >= ~1 ms or 1 call).
    want = max(float(min_time), repeats * max(per_call, 1e-3) * 1.2)
    times: list[float] = []
    number, timed = 1, 0.0
    cpu0 = time.process_time()
    while len(times) < repeats or timed < min_time:
        m = timer.blocked_autorange(min_run_time=want if not times else
                                    max(want / 4, per_call * (repeats - len(times))))
        number = int(m.number_per_run)
        times += [float(t) for t in m.times]
        timed += sum(m.times) * m.number_per_run
    cpu = (time.process_time() - cpu0) / max(calls[0], 1)
    return Timing(times, number, timed, cpu)


def measure(alpha: Any, resolution: Any, opts: BenchOptions | None = None, *,
            model: Any = None, onnx_dir: str | Path | None = None,
            data_dir: str | Path | None = None, **kwargs: Any) -> dict[str, Any]:
    """Measure one configuration; returns one CSV row (see latency_data.COLUMNS), with this
    machine's fingerprint as seen from the user data folder ``data_dir``. ``model`` (the
    folded model of this config) and ``onnx_dir`` (where exported models are kept) let a grid
    reuse work across backends, thread counts and passes."""
    opts = (opts or BenchOptions(**kwargs)).checked()
    a, r = check_alpha(alpha), check_resolution(resolution)
    check_memory([(a, r)], [opts])
    load0 = os.getloadavg()[0]
    if model is None:
        model = _build(a, r, opts)
    with tempfile.TemporaryDirectory(prefix="costmodel-bench-") as tmp:
        timing = _timed(model, opts, Path(onnx_dir) if onnx_dir is not None else Path(tmp))
    row: dict[str, Any] = device_info(opts.device, data_dir)
    row.update(backend=opts.backend, device_type=opts.device,
               precision=latency_data.PRECISIONS[opts.precision],
               threads=opts.threads, batch=opts.batch, channels_last=opts.channels_last,
               alpha=a, resolution=r, variant=opts.variant, rounding=opts.rounding,
               classes=opts.classes, spec=network_key(opts.spec))
    row.update({k: round(v, 6) for k, v in timing.stats_ms().items()})
    row.update(samples=len(timing.times_s), number_per_sample=timing.number_per_sample,
               timed_s=round(timing.timed_s, 4), loadavg_start=round(load0, 2),
               loadavg_end=round(os.getloadavg()[0], 2))
    row["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    return row


# ------------------------------------------------------------------------------------------
# Grids, resumable
# ------------------------------------------------------------------------------------------
def paper_grid() -> list[tuple[float, int]]:
    """The 16 published checkpoints (io.grids), alpha then resolution ascending."""
    return sorted(PAPER_CONFIGS)


def fine_grid() -> list[tuple[float, int]]:
    """alpha 0.25..1.0 step 0.125 x resolution 96..256 step 32 (42 configs; holds the paper's)."""
    return [(a, r) for a in FINE_ALPHAS for r in FINE_RESOLUTIONS]


@dataclass
class GridResult:
    rows: list[dict[str, Any]] = field(default_factory=list)  # measured now
    skipped: list[dict[str, Any]] = field(default_factory=list)  # keys already in the CSV
    path: Path | None = None


def planned_row_key(alpha: float, resolution: int, opts: BenchOptions, device_id: str,
                    fingerprint: str = "") -> tuple:
    return latency_data.row_key({
        "device_id": device_id, "fingerprint": fingerprint, "backend": opts.backend,
        "device_type": opts.device,
        "precision": latency_data.PRECISIONS[opts.precision], "threads": opts.threads, "batch": opts.batch,
        "channels_last": opts.channels_last, "alpha": alpha, "resolution": resolution,
        "variant": opts.variant, "rounding": opts.rounding, "classes": opts.classes,
        "spec": network_key(opts.spec)})


def _plan(cfgs: Sequence[tuple[float, int]], opts_list: Sequence[BenchOptions], passes: int,
          ids: Mapping[str, str], infos: Mapping[str, Mapping[str, Any]],
          have: Mapping[tuple[str, ...], int], skipped: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The measurements to make, pass by pass, configs outer, options inner; a pair that has
    ``have`` rows already gets only the missing passes (the others go to ``skipped``)."""
    seen: set[tuple[tuple[str, ...], int]] = set()
    todo: list[dict[str, Any]] = []
    for p in range(passes):
        for a, r in cfgs:
            for o in opts_list:
                key = planned_row_key(a, r, o, ids[o.device], infos[o.device]["fingerprint"])
                if (key, p) in seen:
                    continue  # a pair listed twice is measured once per pass
                seen.add((key, p))
                item = {"alpha": a, "resolution": r, "opts": o, "key": key, "pass": p}
                (skipped if have.get(key, 0) > p else todo).append(item)
    return todo


def run_grid(configs: Iterable[tuple[Any, Any]], options: Sequence[BenchOptions], *,
             output_csv: str | Path | None = None, device_id: str | None = None,
             resume: bool = True, progress: bool = True, passes: int = 1,
             data_dir: str | Path | None = None,
             on_row: Callable[[dict[str, Any]], None] | None = None,
             isolate: bool = False) -> GridResult:
    """Measure every (config, options) pair ``passes`` times; each finished row is written to
    ``output_csv`` at once (atomically). With ``resume``, a pair that already has ``passes`` rows
    of this machine (same fingerprint, see :mod:`costmodel.latency.fingerprint`) there is
    skipped (and one with fewer gets only the missing passes). ``output_csv=None`` measures
    without saving. ``data_dir``: the user data folder this machine is identified from.

    Order: pass by pass, configs outer, backends/threads inner, so a burst of other load on a
    shared machine hits one pass of a few neighbouring rows, not every measurement of a key;
    readers combine the passes of each key (latency_data.latency_table).

    ``isolate`` (cpu; ``costmodel bench`` sets it): each measurement runs in a child forked
    from this process, which must have imported the backends but run no model or torch thread
    pool (:mod:`costmodel.latency.isolation`; a fresh command is such a process): a process
    that has measured hundreds of configs runs the next one slower (torch bf16: 12-15%), so
    in one process a grid's late rows would be slow ones. A process whose torch threads are
    running (a notebook, a test runner that ran models) may hold a lock a forked child then
    waits on forever, so the library default is ``False``: every row here. On cuda every row
    runs here too (a forked child cannot use the parent's CUDA context)."""
    from tqdm import tqdm

    from costmodel.latency.isolation import isolated, prepare_parent

    _positive_int("passes", passes)
    opts_list = [o.checked() for o in options]
    cfgs = [(check_alpha(a), check_resolution(r)) for a, r in configs]
    if not cfgs or not opts_list:
        raise CostModelError("empty grid; allowed: at least one config and one backend")
    result = GridResult(path=Path(output_csv) if output_csv is not None else None)
    infos = {o.device: device_info(o.device, data_dir, result.path) for o in opts_list}
    ids = {d: device_id or info["device_id"] for d, info in infos.items()}
    if result.path is not None:
        latency_data.check_writable(result.path)
        for info in infos.values():  # before any work: never measure what cannot be stored
            latency_data.check_same_machine(result.path, info["fingerprint"])
    have = latency_data.measured_counts(result.path) if (result.path and resume) else {}
    todo = _plan(cfgs, opts_list, passes, ids, infos, have, result.skipped)
    bar = tqdm(todo, desc="bench", unit="run", disable=not progress or not todo,
               file=sys.stderr, dynamic_ncols=True)
    built: tuple[Any, Any] = (None, None)  # the model of the config being measured
    in_child = isolate and all(o.device == "cpu" for o in opts_list)
    if in_child and todo:
        for o in {(o.backend, o.precision): o for o in opts_list}.values():
            prepare_parent(o.backend, data_dir, o.precision)
    with tempfile.TemporaryDirectory(prefix="costmodel-onnx-") as onnx_dir:
        child = isolated(partial(measure, onnx_dir=onnx_dir, data_dir=data_dir)) if in_child \
            else None
        for item in bar:
            o = item["opts"]
            bar.set_postfix_str(f"pass {item['pass'] + 1} {o.backend} {o.precision} {o.threads}t "
                                f"{item['alpha']:g}-{item['resolution']}")
            if child is not None:
                row = child(item["alpha"], item["resolution"], o)
            else:
                mkey = (item["alpha"], item["resolution"], o.variant, o.rounding, o.classes,
                        str(o.spec))
                if built[0] != mkey:
                    built = (None, None)  # free the previous model first
                    built = (mkey, _build(item["alpha"], item["resolution"], o))
                row = measure(item["alpha"], item["resolution"], o, model=built[1],
                              onnx_dir=onnx_dir, data_dir=data_dir)
            info = infos[o.device]  # the machine this grid checked the file against
            row.update(fingerprint=info["fingerprint"], device_id=info["device_id"])
            if device_id:
                row["device_id"] = device_id
            if result.path is not None:
                latency_data.append_row(result.path, row)
            result.rows.append(row)
            if on_row:
                on_row(row)
    bar.close()
    return result


# ------------------------------------------------------------------------------------------
# Memory: refuse what cannot fit before allocating anything
# ------------------------------------------------------------------------------------------
MEMORY_SHARE = 0.8  # of the available memory a measurement may plan to use


def memory_needed(alpha: float, resolution: int, opts: BenchOptions) -> dict[str, int]:
    """Bytes a forward pass needs, from the engine's table (fp32): the input batch, the largest
    live input+output pair of a layer per image times the batch, and the weights."""
    import math

    from costmodel.core.engine import BYTES_FP32, layer_table

    t = layer_table(alpha, resolution, variant=opts.variant, rounding=opts.rounding,
                    classes=opts.classes, spec=opts.spec)
    per_image = int(t.totals["peak_activation_bytes"])
    input_bytes = math.prod(t.rows[0]["in_shape"]) * BYTES_FP32  # the engine's input shape
    need = opts.batch * (per_image + input_bytes) + int(t.totals["weight_bytes"])
    return {"per_image": per_image + input_bytes, "weights": int(t.totals["weight_bytes"]),
            "total": need}


def available_memory(device: str = "cpu") -> int:
    """Bytes free now: MemAvailable on the CPU, torch.cuda.mem_get_info on a GPU."""
    if device == "cuda":
        import torch

        return int(torch.cuda.mem_get_info()[0])
    return latency_data.memory_available()


def check_memory(configs: Iterable[tuple[float, int]], options: Sequence[BenchOptions]) -> None:
    """CostModelError, before any allocation, when a (config, options) pair needs more than
    :data:`MEMORY_SHARE` of the memory available (e.g. ``--batch 100000``)."""
    for o in options:
        free = available_memory(o.device)
        for a, r in configs:
            need = memory_needed(a, r, o)
            if need["total"] > MEMORY_SHARE * free:
                fit = max(int((MEMORY_SHARE * free - need["weights"]) // need["per_image"]), 0)
                raise CostModelError(
                    f"batch {o.batch} needs about {need['total'] / 1e9:.1f} GB for {a:g}-{r} "
                    f"({need['per_image'] / 1e6:.2f} MB of input and peak activations per image, "
                    f"fp32) but {o.device} has {free / 1e9:.1f} GB available; allowed: --batch "
                    f"<= {fit} for this config")


# ------------------------------------------------------------------------------------------
# One bench run, as `costmodel bench` does it (the CLI only parses and renders)
# ------------------------------------------------------------------------------------------
@dataclass
class BenchReport:
    device_id: str
    device: str  # human description
    csv: Path | None  # where rows were appended (None: not saved)
    grid: GridResult
    device_type: str = "cpu"
    per_layer: list[dict[str, Any]] = field(default_factory=list)
    hardware: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    throughput: list[dict[str, Any]] = field(default_factory=list)  # see :func:`throughput`


def run_bench(configs: Iterable[tuple[Any, Any]], options: Sequence[BenchOptions], *,
              save: bool = True, output_csv: str | Path | None = None,
              device_id: str | None = None, data_dir: str | Path | None = None,
              resume: bool = True, passes: int = 1, progress: bool = True,
              per_layer: bool = False, profile_runs: int = 10, convention: str = "paper",
              roofline: bool = False, isolate: bool = False) -> BenchReport:
    """Measure ``configs`` x ``options`` on this machine (one device kind) and append each row
    to its CSV in the user data folder (``output_csv`` overrides the file; ``save=False``
    stores nothing). Everything that can be refused is refused before any measurement: bad
    options, a device id that is a reference device or another machine's, a folder that
    cannot be written, a batch that does not fit in memory. Then, optionally, the per-layer-type
    profile (torch options) and the hardware limits (``roofline``: stored with the device)."""
    opts = [o.checked() for o in options]
    cfgs = [(check_alpha(a), check_resolution(r)) for a, r in configs]
    if not cfgs or not opts:
        raise CostModelError("empty grid; allowed: at least one config and one backend")
    if len({o.device for o in opts}) != 1:
        raise CostModelError("options name several devices; allowed: one of cpu, cuda per run")
    if device_id is not None:
        latency_data.check_device_id(device_id)
    check_memory(cfgs, opts)
    device = opts[0].device
    info = device_info(device, data_dir)
    dev_id = device_id or info["device_id"]
    csv = None if not save else (latency_data.check_writable(output_csv) if output_csv else
                                 latency_data.writable_latency_path(dev_id, data_dir))
    grid = run_grid(cfgs, opts, output_csv=csv, device_id=device_id, resume=resume,
                    progress=progress, passes=passes, data_dir=data_dir, isolate=isolate)
    report = BenchReport(dev_id, info["device"], csv, grid, device)
    report.notes.append(
        f"wrote {len(grid.rows)} row(s) to {csv}; {len(grid.skipped)} already measured there on "
        f"this machine (skipped; --no-resume measures them again)" if csv is not None
        else f"measured {len(grid.rows)} row(s); not saved (--no-save)")
    if per_layer:
        for a, r in cfgs:
            for o in (o for o in opts if o.backend == "torch"):
                report.per_layer += [{"alpha": a, "resolution": r, "threads": o.threads, **row}
                                     for row in profile_layers(a, r, o, runs=profile_runs,
                                                               convention=convention)]
    if roofline:
        for t in dict.fromkeys(o.threads for o in opts):
            rec = (store_hardware(t, device, device_id=dev_id, data_dir=data_dir) if save
                   else measure_hardware(t, device))
            report.hardware.append({"device_type": device, "threads": t, **rec})
        report.notes.append(f"hardware limits stored in "
                            f"{latency_data.hardware_path(dev_id, data_dir)}" if save
                            else "hardware limits measured, not saved (--no-save)")
    peaks = {int(h["threads"]): best_peak(h) for h in report.hardware}
    for key, rec in latency_data.load_hardware(dev_id, data_dir)["limits"].items():
        kind, _, t = key.partition(":")
        if kind == device and t.isdigit():
            peaks.setdefault(int(t), best_peak(rec))
    report.throughput = throughput(grid.rows, peaks, convention=convention,
                                   specs={network_key(o.spec): o.spec for o in opts})
    return report


def best_peak(limits: Mapping[str, Any]) -> float:
    """The larger of a hardware record's wall-clock and CPU-time matmul peaks (both are lower
    bounds of the true peak; older records have only the wall-clock one)."""
    return max(float(limits["peak_gflops"]), float(limits.get("peak_gflops_cpu") or 0))


_SAME_RUN = ("alpha", "resolution", "variant", "rounding", "classes", "spec", "backend",
             "device_type", "threads", "batch", "channels_last")


def throughput(rows: Sequence[Mapping[str, Any]], peaks: Mapping[int, float], *,
               convention: str = "paper",
               specs: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Per measured key (passes combined by the median): median and IQR in ms, achieved GFLOP/s
    (2 FLOPs per mult-add of ``convention``, over the median time), ``pct_peak`` (of the fp32
    matmul peak of the row's thread count, ``peaks``; None where not measured) and ``speedup``
    over the fp32 row of the same backend, threads and config (None without one). An int8 or
    bf16 row's GFLOP/s counts the same mult-adds: operations per second, beside an fp32 peak.
    ``specs``: network key (a row's ``spec``) -> the description it names (a user's file),
    where that key is not a built-in's name."""
    import statistics

    from costmodel.core.engine import layer_table

    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(str(r[k]) for k in (*_SAME_RUN, "precision")), []).append(r)
    fp32 = latency_data.PRECISIONS["fp32"]
    out = []
    for key, rs in groups.items():
        r = rs[0]
        ma = layer_table(r["alpha"], r["resolution"], variant=r["variant"], rounding=r["rounding"],
                         classes=r["classes"], spec=(specs or {}).get(r["spec"], r["spec"]),
                         convention=convention
                         ).totals["mult_adds"]
        med = statistics.median(float(x["median_ms"]) for x in rs)
        gflops = 2 * ma / (med * 1e6)
        peak = peaks.get(int(r["threads"]))
        out.append({**{k: r[k] for k in (*_SAME_RUN, "precision")}, "rows": len(rs),
                    "median_ms": med, "iqr_ms": statistics.median(float(x["iqr_ms"]) for x in rs),
                    "cpu_ms": statistics.median(float(x["cpu_ms"]) for x in rs),
                    "loadavg_start": statistics.median(float(x["loadavg_start"]) for x in rs),
                    "mult_adds": ma, "gflops": gflops, "peak_gflops": peak,
                    "pct_peak": 100 * gflops / peak if peak else None, "_key": key})
    base = {rec["_key"][:-1]: rec["median_ms"] for rec in out if rec["precision"] == fp32}
    for rec in out:
        b = base.get(rec.pop("_key")[:-1])
        rec["speedup"] = b / rec["median_ms"] if b else None
    return out


# ------------------------------------------------------------------------------------------
# Per-layer-type time (torch profiler)
# ------------------------------------------------------------------------------------------
def profile_layers(alpha: Any, resolution: Any, opts: BenchOptions | None = None, *,
                   runs: int = 10, convention: str = "paper", **kwargs: Any) -> list[dict[str, Any]]:
    """Time per layer type for the torch backend, beside each type's share of mult-adds.

    Each child module (named like its table row) runs inside ``torch.profiler.record_function``
    (its name); the profiler's CPU time of those ranges, per forward, summed by the row's type,
    is the type's time. ``other`` is the rest of the forward (Python and dispatch between
    layers). Returns rows: type, layers, time_ms, time_pct, mult_adds, mult_adds_pct. Profiling
    adds overhead per op, so absolute times exceed an unprofiled run; the shares are the point.
    """
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    from costmodel.core.engine import layer_table

    opts = (opts or BenchOptions(**kwargs)).checked()
    if opts.backend != "torch":
        raise CostModelError(f"per-layer time needs backend torch, got {opts.backend!r}; "
                             f"allowed: torch")
    _positive_int("runs", runs)
    a, r = check_alpha(alpha), check_resolution(resolution)
    model = _build(a, r, opts)
    table = layer_table(a, r, variant=opts.variant, rounding=opts.rounding, classes=opts.classes,
                        spec=opts.spec, convention=convention)
    type_of = {row["name"]: row["type"] for row in table.rows}
    ranges: dict[str, Any] = {}

    def pre(mod: Any, _inp: Any) -> None:
        ranges[mod._cm_name] = record_function(mod._cm_name)
        ranges[mod._cm_name].__enter__()

    def post(mod: Any, _inp: Any, _out: Any) -> None:
        ranges.pop(mod._cm_name).__exit__(None, None, None)

    handles = []
    for name, child in model.named_layers():
        child._cm_name = name
        handles += [child.register_forward_pre_hook(pre), child.register_forward_hook(post)]
    call = _torch_call(model, opts)
    prev = torch.get_num_threads()
    torch.set_num_threads(opts.threads)
    try:
        for _ in range(max(opts.warmup, 1)):
            call()
        activities = [ProfilerActivity.CPU]
        if opts.device == "cuda":
            activities.append(ProfilerActivity.CUDA)
        with profile(activities=activities) as prof:
            for _ in range(runs):
                with record_function("costmodel_forward"):
                    call()
    finally:
        torch.set_num_threads(prev)
        for h in handles:
            h.remove()
    per_name = {e.key: e.cpu_time_total / runs / 1e3 for e in prof.key_averages()
                if e.key in type_of or e.key == "costmodel_forward"}
    return _type_shares(type_of, per_name, table)


def _type_shares(type_of: Mapping[str, Any], per_name: Mapping[str, float],
                 table: Any) -> list[dict[str, Any]]:
    """Profiled time per layer type (``per_name``: ms per forward of each layer's range and of
    the whole forward) beside the type's mult-adds, each as a share; ``other`` is the rest."""
    total_ms = per_name.get("costmodel_forward", 0.0)
    ma = {t: v["mult_adds"] for t, v in table.by_type().items()}
    total_ma = sum(ma.values())
    out: dict[str, dict[str, Any]] = {}
    for name, t in type_of.items():
        row = out.setdefault(t, {"type": t, "layers": 0, "time_ms": 0.0, "mult_adds": ma[t]})
        row["layers"] += 1
        row["time_ms"] += per_name.get(name, 0.0)
    layers_ms = sum(v["time_ms"] for v in out.values())
    out[OTHER] = {"type": OTHER, "layers": 0, "time_ms": max(total_ms - layers_ms, 0.0),
                  "mult_adds": 0}
    denom = max(total_ms, layers_ms) or 1.0
    rows = list(out.values())
    for row in rows:
        row["time_pct"] = 100.0 * row["time_ms"] / denom
        row["mult_adds_pct"] = 100.0 * row["mult_adds"] / total_ma if total_ma else 0.0
    return rows


# ------------------------------------------------------------------------------------------
# Hardware limits for roofline bounds
# ------------------------------------------------------------------------------------------
def measure_hardware(threads: int = 1, device: str = "cpu", *, min_time: float = 1.0,
                     matmul_n: int = 1024, copy_mib: int = 256) -> dict[str, Any]:
    """Peak compute (GFLOP/s of an n x n fp32 matmul, 2 n^3 flops per call, fastest sample) and
    memory bandwidth (GB/s of copying a ``copy_mib`` MiB fp32 tensor: read + write = 2x bytes,
    fastest sample) with ``threads`` threads. Fastest samples, because a limit is a best case.
    ``peak_gflops_cpu``: the same matmul over its fastest call in process CPU time (times
    ``threads``), the peak a busy shared machine's wall clock hides."""
    import torch
    from torch.utils.benchmark import Timer

    check_choice("device", device, DEVICES)
    _positive_int("threads", threads)
    if device == "cuda":
        require_cuda()
    dev = torch.device(device)
    load0 = os.getloadavg()[0]
    a = torch.randn(matmul_n, matmul_n, device=dev)
    b = torch.randn(matmul_n, matmul_n, device=dev)
    n_el = copy_mib * 2**20 // 4
    src = torch.randn(n_el, device=dev)
    dst = torch.empty_like(src)
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        mm = Timer("torch.mm(a, b)", globals={"a": a, "b": b, "torch": torch},
                   num_threads=threads).blocked_autorange(min_run_time=min_time)
        cp = Timer("dst.copy_(src)", globals={"dst": dst, "src": src},
                   num_threads=threads).blocked_autorange(min_run_time=min_time)
        cpu_call = _fastest_cpu_call(lambda: torch.mm(a, b), min_time)
    finally:
        torch.set_num_threads(prev)
    peak = 2 * matmul_n ** 3 / min(mm.times) / 1e9
    bw = 2 * n_el * 4 / min(cp.times) / 1e9
    return {"peak_gflops": round(peak, 3), "bandwidth_gbs": round(bw, 3),
            "peak_gflops_cpu": round(2 * matmul_n ** 3 * threads / cpu_call / 1e9, 3),
            "matmul_n": matmul_n, "copy_mib": copy_mib, "loadavg_start": round(load0, 2),
            "torch_version": str(torch.__version__),
            "date": datetime.now(UTC).isoformat(timespec="seconds")}


def _fastest_cpu_call(call: Callable[[], Any], min_time: float) -> float:
    """The least process CPU time (s) one ``call`` took, over calls for ``min_time`` seconds of
    wall time (at least 3). On a shared machine a wall-clock sample includes time spent waiting
    for a core; the process's CPU time does not."""
    best, t_end, n = float("inf"), time.perf_counter() + min_time, 0
    while n < 3 or time.perf_counter() < t_end:
        c0 = time.process_time()
        call()
        best = min(best, time.process_time() - c0)
        n += 1
    return max(best, 1e-9)


def store_hardware(threads: int = 1, device: str = "cpu", *, device_id: str | None = None,
                   data_dir: str | Path | None = None, **kwargs: Any) -> dict[str, Any]:
    info = device_info(device, data_dir)
    rec = measure_hardware(threads, device, **kwargs)
    latency_data.save_hardware(device_id or info["device_id"], device, threads, rec,
                               device=info["device"], data_dir=data_dir)
    return rec


def summary_columns(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What `costmodel bench` prints of each row."""
    return [{k: r.get(k) for k in ("alpha", "resolution", "backend", "precision", "device_type",
                                   "threads", "batch", "median_ms", "iqr_ms", "min_ms", "cpu_ms",
                                   "samples", "loadavg_start")} for r in rows]
