"""Per-layer times of a measured config: what the runtime itself reports per layer (issue #10).

A whole-network time is one number per config; a calibration of a few hundred configs cannot
tell from such totals how each layer's kernel scales with its own shape. The runtime can: right
after a config is timed, :func:`measure_with_layers` runs it a few more times with per-layer
timing on, at no extra export or build:

* ``onnxruntime``: the session profiler (``SessionOptions.enable_profiling``) gives every node's
  duration. A node belongs to the layer its name starts with (``/conv_dw_2/conv/Conv``,
  ``/conv_dw_7/relu/Relu_output_0_nchwc``: the exporter names nodes after the torch modules,
  which are named like the table's rows); a node the optimizer inserted (``ReorderInput``,
  ``ReorderOutput``, ``Flatten``) counts towards the next layer, so a layer's time includes the
  layout conversion into its own kernel path.
* ``torch``: a forward pre/post hook on each layer's module, ``time.perf_counter`` between them.

Per layer the fastest of the profiled runs is kept: a run that other work on the machine
interrupted is slower, never faster. The rows go to
``<data folder>/latency/<device-id>.layers.csv`` beside the device's CSV, one row per config
(the layer names and their ms, ``;``-separated, under the same key columns), written atomically
after the config's own row: a killed run loses at most the last config's layer times, never a
row. :mod:`costmodel.latency.kernel` fits one model per layer on them.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from costmodel.io import latency_data

SUFFIX = ".layers.csv"
COLUMNS = (*latency_data.KEY_COLUMNS, "runs", "layers", "layer_ms", "date")
BACKENDS = ("onnxruntime", "torch")  # the backends whose layer times are read
PROFILE_S = 0.08  # seconds of profiled calls per config (at least MIN_RUNS calls)
MIN_RUNS, MAX_RUNS = 5, 40


def layers_path(latency_csv: str | Path) -> Path:
    """The layer-times file beside a device's latency CSV (``x.csv`` -> ``x.layers.csv``)."""
    p = Path(latency_csv)
    return p.with_name(p.name.removesuffix(".csv") + SUFFIX)


def profiled(opts: Any) -> bool:
    """Whether :func:`measure_with_layers` reads layer times for these options."""
    return (opts.backend in BACKENDS and opts.device == "cpu" and opts.precision == "fp32"
            and not opts.channels_last)


def _runs(per_call_s: float) -> int:
    return int(min(max(round(PROFILE_S / max(per_call_s, 1e-6)), MIN_RUNS), MAX_RUNS))


def onnx_layer_ms(path: str | Path, x: Any, names: Sequence[str], *, threads: int,
                  runs: int) -> list[float]:
    """Fastest ms per layer of ``names`` over ``runs`` profiled ``session.run`` calls (one
    warm-up call first, left out), nodes attributed as the module doc says."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="costmodel-profile-") as tmp:
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: x}
        for _ in range(runs + 1):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text(encoding="utf-8"))
    return attribute_nodes(events, names, skip_runs=1)


def attribute_nodes(events: Sequence[Mapping[str, Any]], names: Sequence[str], *,
                    skip_runs: int = 0) -> list[float]:
    """Fastest ms per layer from onnxruntime profile ``events``: per run, each node's duration
    goes to the layer its name starts with (``/NAME/``), an unnamed node's to the next layer
    (after the last layer: the last); the first ``skip_runs`` runs are left out."""
    index = {n: i for i, n in enumerate(names)}
    per_run: list[list[float]] = []
    current, pending = [0.0] * len(names), 0.0
    for e in events:
        if e.get("cat") == "Session" and e.get("name") == "model_run":  # a run's end
            current[-1] += pending
            per_run.append(current)
            current, pending = [0.0] * len(names), 0.0
            continue
        if e.get("cat") != "Node" or not str(e.get("name", "")).endswith("_kernel_time"):
            continue
        node = str(e["name"]).removesuffix("_kernel_time")
        parts = node.split("/")
        layer = index.get(parts[1]) if node.startswith("/") and len(parts) > 2 else None
        dur = float(e["dur"]) / 1e3
        if layer is None:
            pending += dur
        else:
            current[layer] += dur + pending
            pending = 0.0
    if not per_run:
        return [0.0] * len(names)
    runs = per_run[skip_runs:] or per_run
    return [min(r[i] for r in runs) for i in range(len(names))]


def torch_layer_ms(model: Any, call: Any, *, runs: int) -> list[float]:
    """Fastest ms per layer (``model.named_layers()``) over ``runs`` calls of ``call`` (one
    warm-up call first), timed by forward pre/post hooks."""
    names = [n for n, _ in model.named_layers()]
    times: list[list[float]] = [[] for _ in names]
    start = [0.0]
    handles = []
    for i, (_, mod) in enumerate(model.named_layers()):
        def pre(_m: Any, _inp: Any) -> None:
            start[0] = time.perf_counter()

        def post(_m: Any, _inp: Any, _out: Any, i: int = i) -> None:
            times[i].append(time.perf_counter() - start[0])

        handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    try:
        call()
        for t in times:
            t.clear()
        for _ in range(runs):
            call()
    finally:
        for h in handles:
            h.remove()
    return [1e3 * min(t) if t else 0.0 for t in times]


def measure_with_layers(alpha: float, resolution: int, opts: Any,
                        data_dir: Any = None) -> dict[str, Any]:
    """:func:`costmodel.latency.bench.measure`'s row for this config, and (for the options
    :func:`profiled` accepts) its layer times under the key ``"_layers"`` (a row of this
    module's file, without ``device_id``)."""
    import torch

    from costmodel.latency import bench

    model = bench._build(alpha, resolution, opts)
    with tempfile.TemporaryDirectory(prefix="costmodel-bench-") as tmp:
        row = bench.measure(alpha, resolution, opts, model=model, onnx_dir=tmp, data_dir=data_dir)
        if not profiled(opts):
            return row
        names = [n for n, _ in model.named_layers()]
        runs = _runs(float(row["median_ms"]) / 1e3)
        if opts.backend == "onnxruntime":
            path = bench.onnx_model(model, opts, Path(tmp))
            ms = onnx_layer_ms(path, model.example_input(opts.batch).numpy(), names,
                               threads=opts.threads, runs=runs)
        else:
            prev = torch.get_num_threads()
            torch.set_num_threads(opts.threads)
            try:
                ms = torch_layer_ms(model, bench._torch_call(model, opts), runs=runs)
            finally:
                torch.set_num_threads(prev)
    row["_layers"] = {**{k: row.get(k) for k in latency_data.KEY_COLUMNS}, "runs": runs,
                      "layers": ";".join(names), "layer_ms": ";".join(f"{v:.5f}" for v in ms),
                      "date": datetime.now(UTC).isoformat(timespec="seconds")}
    return row


def append(latency_csv: str | Path, row: Mapping[str, Any]) -> None:
    """Add one config's layer times beside ``latency_csv`` (the whole file rewritten
    atomically, under the same lock discipline as the latency CSV)."""
    p = layers_path(latency_csv)
    with latency_data.locked(p):
        old = latency_data.read_rows(p, required=COLUMNS)
        latency_data.write_rows_atomic(p, COLUMNS, [*old, row])


def load(latency_csv: str | Path, *, backend: str, threads: Any, batch: int, precision: str,
         variant: str, spec: str = "mobilenet_v1"
         ) -> dict[tuple[float, int, str], tuple[list[str], list[float]]]:
    """Layer times beside ``latency_csv`` for one backend/threads/batch/precision/variant and
    network (``spec``, as the rows' ``spec`` column names it):
    (alpha, resolution, rounding) -> (layer names, ms per layer; the median over repeated rows).
    An unreadable file reads as none (the layer times only refine a fit)."""
    from costmodel.errors import CostModelError

    p = layers_path(latency_csv)
    try:
        rows = latency_data.read_rows(p, required=COLUMNS) if p.exists() else []
    except CostModelError:
        return {}
    got: dict[tuple[float, int, str], tuple[list[str], list[list[float]]]] = {}
    for r in rows:
        try:
            if (r["backend"] != backend or int(float(r["batch"])) != batch
                    or r["precision"] != precision or r["variant"] != variant
                    or r["spec"] != spec
                    or (threads is not None and int(float(r["threads"])) != int(threads))):
                continue
            key = (round(float(r["alpha"]), 6), int(float(r["resolution"])), r["rounding"])
            names, ms = r["layers"].split(";"), [float(v) for v in r["layer_ms"].split(";")]
        except (ValueError, KeyError):
            continue
        if len(names) != len(ms):
            continue
        prev = got.setdefault(key, (names, []))
        if prev[0] == names:
            prev[1].append(ms)
    return {k: (n, [statistics.median(col) for col in zip(*v, strict=True)])
            for k, (n, v) in got.items() if v}


def stamp(latency_csv: str | Path) -> tuple[Any, ...]:
    """The layer-times file's (path, mtime, size), for a fit's cache key (empty: no file)."""
    p = layers_path(latency_csv)
    try:
        st = os.stat(p)
    except OSError:
        return ()
    return (str(p), st.st_mtime_ns, st.st_size)
