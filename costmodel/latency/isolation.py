"""Measure each config in a child process forked from a clean parent (issues #10, #13).

One home for the measurement isolation that ``costmodel latency calibrate``, ``latency evaluate
--random`` and ``costmodel bench`` share: :func:`isolated` wraps a measurement so that every
config starts from the same process state; :func:`prepare_parent` does once, in the parent,
what every child would otherwise redo (imports, this machine's fingerprint) without running a
model.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any

from costmodel.errors import CostModelError

MeasureFn = Callable[[float, int, Any], dict[str, Any]]

RUNTIMES = ("torch", "onnxruntime", "openvino")  # their thread pools are not fork-safe


def loaded_runtimes() -> list[str]:
    """The runtimes (:data:`RUNTIMES`) already loaded in this process."""
    return [name for name in RUNTIMES if name in sys.modules]


def parent_is_clean() -> bool:
    """True when no runtime (:data:`RUNTIMES`) is loaded in this process yet, so none of their
    thread pools can have run: forking a measurement from here is safe. A process that has
    run torch (a notebook, a test runner calling the CLI) can hold a lock of its thread pool
    that a forked child then waits on forever; there ``costmodel bench`` measures in process
    and says so. Call it before :func:`prepare_parent` (which loads them)."""
    return not loaded_runtimes()


def isolated(fn: MeasureFn, children: int = 1) -> MeasureFn:
    """``fn`` run in a child process forked for each config (on Linux; elsewhere in this
    process), so that every measurement starts from the same process state. ``children`` > 1:
    each config is measured in that many children, one after another, and the row of the
    child with the median ``median_ms`` is kept (the lower middle one for an even count).

    Why: a process that has run hundreds of configs runs the next one slower than a fresh
    process does. Measured on the Intel Xeon of the README (torch 2.13 bf16, 1 thread, CPU 1
    at high priority): 8 fixed configs ran 12-15% slower (median over the 8, three runs) after
    150-600 other configs in the same process; 0-4% when each config ran in its own forked
    child. The state is torch/oneDNN's (the primitive cache: capacity 256 halved the effect)
    and the heap's; page faults it is not (fewer after, not more). A calibration in one
    process therefore fitted a mix of fast early and slow late rows, and the fresh configs
    measured after it ran in the slow state: 11 of 40 were 10-20% slower than predicted, all
    the same sign. The parent must not have run a model itself (a child inherits its state)."""
    if isinstance(children, bool) or not isinstance(children, int) or children < 1:
        raise CostModelError(f"children {children!r} is out of range; allowed: an integer >= 1")
    one = fn if not sys.platform.startswith("linux") else partial(_in_child, fn)
    return one if children == 1 else partial(_median_of, one, children)


def _median_of(run: MeasureFn, children: int, alpha: float, resolution: int,
               opts: Any) -> dict[str, Any]:
    """The row of the median child of ``children`` measurements of one config (see
    :func:`isolated`): one child's figures, never a mix of several."""
    rows = sorted((run(alpha, resolution, opts) for _ in range(children)),
                  key=lambda r: float(r["median_ms"]))
    return rows[(children - 1) // 2]


def prepare_parent(backend: str, data_dir: Any, precision: str = "fp32") -> None:
    """What every child would otherwise redo per config, done once in the parent without
    running a model: the imports of the backend, and this machine's fingerprint (its matmul
    signature is measured once per process and cached)."""
    import importlib

    from costmodel.latency.bench import device_info

    mods = ["torch", "costmodel.crosscheck.torch_model"]
    if backend in ("onnxruntime", "openvino"):
        mods += ["onnx", "onnxruntime"]
        if precision == "int8":
            mods += ["onnxruntime.quantization", "onnxruntime.quantization.shape_inference"]
    if backend == "openvino":
        mods.append("openvino")
    for name in mods:
        with suppress(ImportError):  # a missing backend is refused by the measurement itself
            importlib.import_module(name)
    device_info("cpu", data_dir)


def _in_child(fn: MeasureFn, alpha: float, resolution: int, opts: Any) -> dict[str, Any]:
    import os
    import pickle
    import signal

    config = f"alpha={alpha:g} resolution={resolution} rounding={getattr(opts, 'rounding', '?')}"
    for stream in (sys.stdout, sys.stderr):  # the child must not repeat buffered output
        with suppress(Exception):
            stream.flush()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, send the row (or the error) back, exit at once
        code = 0
        try:
            os.close(rfd)
            try:
                payload: tuple[str, Any] = ("row", fn(alpha, resolution, opts))
            except CostModelError as exc:
                payload = ("error", str(exc))
            except BaseException as exc:  # noqa: BLE001 (reported by the parent, one line)
                payload = ("failed", f"{type(exc).__name__}: {exc}")
            with os.fdopen(wfd, "wb") as out:
                pickle.dump(payload, out)
            for stream in (sys.stdout, sys.stderr):
                with suppress(Exception):
                    stream.flush()
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    reaped = False
    try:
        os.close(wfd)
        with os.fdopen(rfd, "rb") as inp:
            data = inp.read()
        _, status = os.waitpid(pid, 0)
        reaped = True
    finally:
        if not reaped:  # interrupted while the child measures: end it
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    if not data:
        raise CostModelError(f"the measurement of {config} ended without a result (child exit "
                             f"status {os.waitstatus_to_exitcode(status)}); allowed: a config "
                             f"that fits in memory, measured again")
    kind, value = pickle.loads(data)
    if kind == "row":
        return dict(value)
    if kind == "error":
        raise CostModelError(value)
    raise CostModelError(f"the measurement of {config} failed: {value}")
