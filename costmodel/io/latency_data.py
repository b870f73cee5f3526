"""Latency data: the CSV schema of ``data/latency/<device-id>.csv``, device ids, atomic and
resumable writes, and the loaders every reader uses (``costmodel bench`` writes, the latency model,
``costmodel latency`` and the Pareto/recommend code read).

Device ids and where the files live
-----------------------------------
A measured device's id names one machine, told apart by its fingerprint
(:mod:`costmodel.latency.fingerprint`): a slug of the CPU name, the logical CPU count and an
8-hex hash of the fingerprint, e.g. ``intel-xeon-processor-2c-3f9a0c12``. A CUDA device is
``<slug of the GPU name>-cuda-<hash8>``. ``costmodel bench --device-id`` names it otherwise.

A user's measurements live in the user data folder (:func:`costmodel.io.paths.user_latency_dir`:
``--data-dir`` > ``$COSTMODEL_DATA_DIR`` > ``$XDG_DATA_HOME/costmodel`` >
``~/.local/share/costmodel``, then ``latency/<device-id>.csv``). The shipped ``data/latency/``
holds the read-only *reference devices* (each with a ``<id>.device.json``: which machine, when,
and the old ids it answers to). Readers merge both folders; writers never touch the shipped one.

torch CPU and ONNX Runtime CPU rows of one machine share one file (same hardware, column
``backend`` tells them apart). ``costmodel bench --device-id`` overrides the id (e.g. to tell
two machines with the same CPU name apart).

The published phone latencies (``data/reference/tflite_mobilenet_v1_latency.csv``, TFLite hosted
models table) load as the devices ``pixel3`` (backends ``tflite-cpu`` 4 threads, ``tflite-gpu``,
``nnapi``) and ``pixel2`` (``tflite-cpu`` 1 thread, ``tf-mobile``), float32 and uint8, with
``published=True``. They are never written to.

CSV schema (one row per measurement; columns in this order)
------------------------------------------------------------
==================  ========================================================================
device_id           the id above
device              human description: CPU model, physical cores / logical CPUs; GPU name
fingerprint         8-hex hash of the machine's fingerprint (costmodel.latency.fingerprint);
                    every row of one file has the same one: rows of two machines never merge
cpu_flags_hash      8-hex hash of the CPU's feature flags (``/proc/cpuinfo`` flags)
memory_gib          total memory, GiB (rounded)
matmul_gflops       the fingerprint's micro-benchmark: single-thread fp32 GFLOP/s of 64x64
                    matmuls, best of ~0.15 s
cpu_model           ``/proc/cpuinfo`` model name
cpu_cores           physical cores (unique (physical id, core id) pairs), else logical CPUs
logical_cpus        ``os.cpu_count()``
gpu_name            CUDA device name, empty on CPU
backend             ``torch`` (eager, BN folded), ``onnxruntime`` (CPU execution provider) or
                    ``openvino`` (CPU plugin)
device_type         ``cpu`` or ``cuda``
precision           ``float32``, ``bfloat16`` or ``int8`` (:data:`PRECISIONS`)
threads             intra-op threads (torch.set_num_threads / ORT intra_op_num_threads)
batch               batch size
channels_last       ``True``/``False`` (torch only; memory format of model and input)
alpha, resolution   width multiplier, input resolution
variant, rounding   as ``costmodel table`` (mobilenet_v1/full_conv/shallow; int/slim/divisible8)
classes, spec       number of classes, description name
median_ms           median latency of one inference (one batch), milliseconds
q1_ms, q3_ms        first and third quartile; ``iqr_ms`` = q3 - q1
iqr_ms
min_ms, mean_ms     fastest and mean sample
cpu_ms              process CPU time per inference (all threads summed; mean over every call
                    made, warm-up excluded). With 1 thread, wall time minus the time the
                    process waited for a core: a contention-free view when the machine is shared
samples             number of timed samples (torch.utils.benchmark blocks)
number_per_sample   inferences per sample (a sample's time is the block mean)
timed_s             total timed seconds
loadavg_start       ``os.getloadavg()[0]`` before the measurement (other load on the machine)
loadavg_end         the same after
torch_version       library versions
onnxruntime_version
python_version
date                UTC ISO-8601 timestamp when the row was written
openvino_version    OpenVINO's version, '' when it is not installed (files written before
                    this column existed read as ''; part of the fingerprint when installed)
==================  ========================================================================

A row's *key* (:data:`KEY_COLUMNS`) says what was measured; re-running ``costmodel bench`` skips
keys already in the file (with ``--passes N``: keys that have N rows). A key may have several rows
(``--passes``, ``--no-resume``): :func:`latency_table` combines them per key, by default with the
median over rows of each statistic (the typical pass), or with ``across="min"`` (the least
disturbed pass). The key holds the ``fingerprint``, so resume skips only configs measured on
this machine. Library versions are part of the fingerprint: after an upgrade the machine is a
new device, measured afresh.

The tidy frame that :func:`load_latency` returns has, for every device (measured or published),
at least :data:`TIDY_COLUMNS`: ``device_id, device, backend, device_type, precision, threads,
batch, alpha, resolution, variant, rounding, classes, median_ms, iqr_ms, min_ms, published,
source, fingerprint, reference`` (NaN or empty where a published table does not say).

Bad files are refused, never half-read: a CSV without the columns of this schema (an older
costmodel wrote it) or with a corrupt line raises CostModelError naming the file and the line.

Writes are atomic: each new row rewrites the whole file to a temp file in the same folder, fsyncs
it and ``os.replace``-s it over the old one, under an exclusive ``flock`` (lock file in the temp
folder, removed when done); a killed run leaves either the old or the new complete file, never a partial line.
"""

from __future__ import annotations

import csv
import io
import math
import os
import platform
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costmodel.errors import CostModelError
from costmodel.io.files import atomic_path, write_text_atomic
from costmodel.io.paths import (
    DATA_DIR_ENV,
    REFERENCE_DIR,
    SHIPPED_DATA_DIR,
    SHIPPED_LATENCY_DIR,
    ensure_writable_dir,
    user_latency_dir,
)

if TYPE_CHECKING:
    import pandas as pd

PUBLISHED_CSV = REFERENCE_DIR / "tflite_mobilenet_v1_latency.csv"
PUBLISHED_SOURCE = ("TFLite hosted models (tensorflow/lite/g3doc/guide/hosted_models.md, "
                    "models.md) via data/reference/tflite_mobilenet_v1_latency.csv")
MEASURED_SOURCE = "measured (costmodel bench)"
DATA_FILE_MODE = 0o644

COLUMNS: tuple[str, ...] = (
    "device_id", "device", "fingerprint", "cpu_model", "cpu_flags_hash", "cpu_cores",
    "logical_cpus", "memory_gib", "matmul_gflops", "gpu_name",
    "backend", "device_type", "precision", "threads", "batch", "channels_last",
    "alpha", "resolution", "variant", "rounding", "classes", "spec",
    "median_ms", "q1_ms", "q3_ms", "iqr_ms", "min_ms", "mean_ms", "cpu_ms", "samples",
    "number_per_sample",
    "timed_s", "loadavg_start", "loadavg_end",
    "torch_version", "onnxruntime_version", "python_version", "date", "openvino_version",
)
# columns added after files were written: a file without one reads as '' there (not an older
# schema); the next write adds the column
OPTIONAL_COLUMNS: tuple[str, ...] = ("openvino_version",)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in OPTIONAL_COLUMNS)
KEY_COLUMNS: tuple[str, ...] = (
    "device_id", "fingerprint", "backend", "device_type", "precision", "threads", "batch", "channels_last",
    "alpha", "resolution", "variant", "rounding", "classes", "spec",
)
TIDY_COLUMNS: tuple[str, ...] = (
    "device_id", "device", "backend", "device_type", "precision", "threads", "batch",
    "alpha", "resolution", "variant", "rounding", "classes", "median_ms", "iqr_ms", "min_ms",
    "published", "source", "fingerprint", "reference",
)
# the machine's identity columns of a row (costmodel.latency.fingerprint.Fingerprint.columns)
FINGERPRINT_COLUMNS: tuple[str, ...] = (
    "fingerprint", "cpu_model", "cpu_flags_hash", "cpu_cores", "logical_cpus", "memory_gib",
    "matmul_gflops", "torch_version", "onnxruntime_version", "python_version", "openvino_version",
)
_INT_COLUMNS = ("cpu_cores", "logical_cpus", "memory_gib", "threads", "batch", "resolution",
                "classes", "samples", "number_per_sample")
_FLOAT_COLUMNS = ("alpha", "matmul_gflops", "median_ms", "q1_ms", "q3_ms", "iqr_ms", "min_ms",
                  "mean_ms", "cpu_ms", "timed_s", "loadavg_start", "loadavg_end")

# Published devices: column of the reference CSV -> (device_id, backend, device_type, threads).
PUBLISHED_DEVICES: dict[str, tuple[str, str, str, float]] = {
    "pixel3_cpu4_ms": ("pixel3", "tflite-cpu", "cpu", 4),
    "pixel3_gpu_ms": ("pixel3", "tflite-gpu", "gpu", float("nan")),
    "pixel3_nnapi_ms": ("pixel3", "nnapi", "npu", float("nan")),
    "pixel2_tflite_1thread_ms": ("pixel2", "tflite-cpu", "cpu", 1),
    "pixel2_tf_ms": ("pixel2", "tf-mobile", "cpu", float("nan")),
}
PUBLISHED_NAMES = {"pixel3": "Google Pixel 3 (published, TFLite)",
                   "pixel2": "Google Pixel 2 (published, TFLite / TF Mobile)"}
# Backend a reader gets when it does not name one (the fastest float backend of each kind).
DEFAULT_BACKEND = {"pixel3": "tflite-cpu", "pixel2": "tflite-cpu"}
MEASURED_DEFAULT_BACKENDS = ("onnxruntime", "torch")
ACROSS = ("median", "min")  # how latency_table combines repeated rows (passes) of one key

# Precisions: the names a user types (``bench --precision fp32,int8,bf16``) -> the name stored in
# the ``precision`` column and used after ``@`` in a device name. Stored names are the element
# types of the numbers computed (numpy/ONNX dtype names): ``float32``, ``bfloat16``, ``int8``
# (per-channel int8 weights, uint8 activations: ONNX QDQ, see costmodel.latency.runtimes) and,
# for the published TFLite phones only, ``uint8``. One home of this mapping.
PRECISIONS: dict[str, str] = {"fp32": "float32", "bf16": "bfloat16", "int8": "int8"}
DEFAULT_PRECISION = "float32"


def stored_precision(name: Any) -> str:
    """A precision as typed (``fp32``, ``int8``, ``bf16``, or a stored name such as ``float32``)
    -> its stored name; CostModelError naming the value and what is allowed otherwise."""
    text = name.strip().lower() if isinstance(name, str) else ""
    if text in PRECISIONS:
        return PRECISIONS[text]
    if text in PRECISIONS.values():
        return text
    raise CostModelError(f"precision {name!r} is unknown; allowed: {', '.join(PRECISIONS)}")


# The fingerprint of rows imported by `costmodel latency import` (costmodel.latency.imported):
# ``imported-<hash8 of the rows>``, never a machine's.
IMPORTED_PREFIX = "imported-"


def is_imported(fingerprint: Any) -> bool:
    """Whether a row's ``fingerprint`` marks it as imported (measured elsewhere, not by costmodel)."""
    return str(fingerprint or "").startswith(IMPORTED_PREFIX)


def precision_name(stored: str) -> str:
    """The short name (``fp32``) of a stored precision (``float32``); other names as they are."""
    return {v: k for k, v in PRECISIONS.items()}.get(stored, stored)


# ------------------------------------------------------------------------------------------
# Device ids and descriptions
# ------------------------------------------------------------------------------------------
def slug(name: str) -> str:
    """Lower-case slug of a hardware name (see the module docstring)."""
    s = re.sub(r"\((r|tm|c)\)", " ", name.lower())
    s = re.sub(r"\bcpu\b|@", " ", s)
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return s or "unknown"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def physical_cores() -> int:
    """Physical cores from /proc/cpuinfo (unique (physical id, core id)); logical CPUs if unknown."""
    pairs: set[tuple[str, str]] = set()
    phys = core = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                key = key.strip().lower()
                if key == "physical id":
                    phys = val.strip()
                elif key == "core id":
                    core = val.strip()
                elif not key:
                    if core:
                        pairs.add((phys, core))
                    phys = core = ""
        if core:
            pairs.add((phys, core))
    except OSError:
        pass
    return len(pairs) or (os.cpu_count() or 1)


def memory_gib() -> int:
    """Total memory in GiB, rounded (``/proc/meminfo`` MemTotal, else sysconf); 0 if unknown."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) * 1024 / 2**30)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    except (AttributeError, OSError, ValueError):
        return 0


def memory_available() -> int:
    """Bytes of memory available now (``/proc/meminfo`` MemAvailable, else sysconf)."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def cpu_flags() -> list[str]:
    """The CPU's feature flags (``flags`` on x86, ``Features`` on ARM), sorted; [] if unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                if key.strip().lower() in ("flags", "features"):
                    return sorted(set(val.split()))
    except OSError:
        pass
    return []


def cpu_description() -> dict[str, Any]:
    """The static hardware columns of a row: cpu_model, cpu_cores, logical_cpus, gpu_name,
    memory_gib and the human ``device`` text (the fingerprint adds the rest)."""
    model = cpu_model()
    cores, logical = physical_cores(), os.cpu_count() or 1
    return {"cpu_model": model, "cpu_cores": cores, "logical_cpus": logical, "gpu_name": "",
            "memory_gib": memory_gib(),
            "device": f"{model}, {cores} cores / {logical} logical CPUs"}


def check_device_id(device_id: Any) -> str:
    """A device id is a file-name-safe slug: lower-case letters, digits, '.' and '-'."""
    if not isinstance(device_id, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", device_id):
        raise CostModelError(f"device id {device_id!r} is not valid; allowed: lower-case letters, "
                             f"digits, '.' and '-' (e.g. intel-xeon-processor-2c-3f9a0c12)")
    return device_id


# ------------------------------------------------------------------------------------------
# Reference devices (shipped, read-only) and where each device's files are
# ------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def reference_devices() -> dict[str, dict[str, Any]]:
    """The shipped reference devices: id -> the metadata of ``data/latency/<id>.device.json``
    (``machine``, ``measured``, ``aliases``, ``notes``). Read-only: nothing writes them."""
    import json

    out: dict[str, dict[str, Any]] = {}
    for p in sorted(SHIPPED_LATENCY_DIR.glob("*.device.json")):
        out[p.name.removesuffix(".device.json")] = dict(json.loads(p.read_text(encoding="utf-8")))
    return out


def device_aliases() -> dict[str, str]:
    """Old ids a reference device still answers to: alias -> id."""
    return {a: d for d, meta in reference_devices().items() for a in meta.get("aliases", ())}


def canonical_id(device_id: str) -> str:
    """The device id an alias stands for (itself if it is none)."""
    return device_aliases().get(device_id, device_id)


def is_reference(device_id: str) -> bool:
    return canonical_id(device_id) in reference_devices()


def _device_file(device_id: str, data_dir: str | Path | None, suffix: str) -> Path:
    d = canonical_id(check_device_id(device_id))
    base = SHIPPED_LATENCY_DIR if d in reference_devices() else user_latency_dir(data_dir)
    return base / f"{d}{suffix}"


def latency_path(device_id: str, data_dir: str | Path | None = None) -> Path:
    """The CSV of a device: the shipped file of a reference device, else
    ``<user data folder>/latency/<id>.csv`` (see :func:`costmodel.io.paths.user_data_dir`)."""
    return _device_file(device_id, data_dir, ".csv")


def writable_latency_path(device_id: str, data_dir: str | Path | None = None) -> Path:
    """Where ``costmodel bench`` appends rows of a device: its CSV in the user data folder,
    created if needed. CostModelError for a reference device or a folder that cannot be written."""
    if is_reference(device_id):
        raise CostModelError(f"device id {device_id!r} is the read-only reference device "
                             f"{canonical_id(device_id)!r}; allowed: this machine's id (the "
                             f"default) or a new id")
    path = latency_path(device_id, data_dir)
    check_writable(path)
    return path


def check_writable(path: str | Path) -> Path:
    """A file costmodel may write: not in the shipped data, in a folder that can be written
    (created if needed)."""
    p = Path(path)
    shipped = SHIPPED_DATA_DIR.resolve()
    where = p.parent.resolve()
    if where == shipped or shipped in where.parents:
        raise CostModelError(f"{str(p)!r} is inside the shipped data folder {str(shipped)!r}, "
                             f"which is read-only; allowed: a file in the user data folder "
                             f"({str(user_latency_dir())!r}; --data-dir or ${DATA_DIR_ENV})")
    ensure_writable_dir(p.parent)
    return p


def _csv_files(base: Path, suffix: str = ".csv") -> dict[str, Path]:
    if not base.is_dir():
        return {}
    return {p.name.removesuffix(suffix): p for p in sorted(base.glob(f"*{suffix}"))
            if not p.name.startswith(".") and "." not in p.name.removesuffix(suffix)}


def measured_files(data_dir: str | Path | None = None) -> dict[str, Path]:
    """Every measured device's CSV: the user data folder's, then the shipped reference devices
    (a reference id always means the shipped file). id -> path, sorted by id."""
    found = {**_csv_files(user_latency_dir(data_dir)), **_csv_files(SHIPPED_LATENCY_DIR)}
    return dict(sorted(found.items()))


def data_files(data_dir: str | Path | None = None) -> list[Path]:
    """Every file latency readers read (the published table, each device's CSV and hardware
    JSON): what a cache of anything read from them is keyed on (with io.files.files_stamp)."""
    csvs = list(measured_files(data_dir).values())
    return [PUBLISHED_CSV, *csvs, *(p.with_name(p.stem + ".hardware.json") for p in csvs)]


# ------------------------------------------------------------------------------------------
# Reading and writing the CSV (standard library only: the bench process reads it per row)
# ------------------------------------------------------------------------------------------
def _norm(col: str, value: Any) -> str:
    """Canonical text of a key value, so 1 == '1' == 1.0 and 0.5 == '0.50' compare equal."""
    if value is None:
        return ""
    s = str(value).strip()
    if col == "alpha":
        try:
            return repr(round(float(s), 10))
        except ValueError:
            return s
    if col in _INT_COLUMNS:
        try:
            return str(int(float(s)))
        except ValueError:
            return s
    if col == "channels_last":
        return str(s.lower() in ("true", "1", "yes"))
    return s


def row_key(row: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(_norm(c, row.get(c)) for c in KEY_COLUMNS)


def _corrupt(path: Path, line: int, why: str) -> CostModelError:
    return CostModelError(f"latency file {str(path)!r} line {line} is corrupt ({why}); nothing was "
                          f"read from it; allowed: a CSV as costmodel writes it (fix or remove "
                          f"that line)")


def read_numbered(path: str | Path, *, required: Sequence[str] = ()) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of each data row of a CSV; [] if the file does not exist or is empty.
    CostModelError naming the file (and line) when a ``required`` column is missing (a file of an
    older schema) or a line is corrupt (wrong number of fields, no final newline, not UTF-8)."""
    p = Path(path)
    if not p.exists():
        return []
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CostModelError(f"latency file {str(p)!r} is not UTF-8 text; allowed: a CSV as "
                             f"costmodel writes it") from None
    if not text.strip():
        return []
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
        missing = [c for c in required if c not in header]
        if missing:
            raise CostModelError(
                f"latency file {str(p)!r} has an older schema (no column {', '.join(missing[:3])}"
                f"{', ...' if len(missing) > 3 else ''}); nothing was read from it; allowed: a file "
                f"written by this costmodel (move it out of {str(p.parent)!r} and measure again)")
        rows = []
        for fields in reader:
            if not fields:
                continue  # a blank line
            if len(fields) != len(header):
                raise _corrupt(p, reader.line_num, f"{len(fields)} fields, the header has "
                                                   f"{len(header)}")
            rows.append((reader.line_num, dict(zip(header, fields, strict=True))))
    except csv.Error as exc:
        raise _corrupt(p, reader.line_num, str(exc)) from None
    if not text.endswith("\n") and rows:
        raise _corrupt(p, rows[-1][0], "the last line has no newline: a torn write")
    return rows


def read_rows(path: str | Path, *, required: Sequence[str] = ()) -> list[dict[str, str]]:
    """The rows of a CSV as dicts of strings (see :func:`read_numbered` for what is refused)."""
    return [r for _, r in read_numbered(path, required=required)]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Exclusive advisory lock so two bench processes never lose each other's rows. The lock file
    lives in the temp folder (named by a hash of the data file's path), not beside the data, and
    is removed by its holder when done, so lock files do not pile up (one per data file ever
    written). Safe against that removal: a process that waited on a lock file which its holder
    then removed finds the path no longer names the file it locked, and starts again."""
    import hashlib

    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    lock = Path(tempfile.gettempdir()) / f"costmodel-{digest}.lock"
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: no lock
        yield
        return
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held, now = os.fstat(fd), os.stat(lock)
            if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                break
        except FileNotFoundError:
            pass  # removed by the holder we waited on: start again
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        with suppress(OSError):
            os.unlink(lock)  # while still held: a waiter on this file then starts again
        os.close(fd)


def _write_atomic(path: Path, header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    check_writable(path)
    # data files are shared: 0644
    with atomic_path(path, mode=DATA_FILE_MODE) as tmp, open(tmp, "w", encoding="utf-8",
                                                               newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(header), extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in header})


# the public names of the lock and the atomic writer (costmodel.latency.imported writes a device)
locked = _locked
write_rows_atomic = _write_atomic


def check_same_machine(path: str | Path, fingerprint: str,
                       rows: Sequence[Mapping[str, Any]] | None = None) -> None:
    """CostModelError unless every row of the CSV at ``path`` (or ``rows``, its rows already
    read) was measured on the machine ``fingerprint``: rows of two machines never merge."""
    old = read_rows(path) if rows is None else rows
    theirs = sorted({str(r.get("fingerprint") or "") for r in old} - {fingerprint})
    if theirs:
        raise CostModelError(f"{str(path)!r} holds measurements of another machine (fingerprint "
                             f"{theirs[0] or 'none'}, this machine {fingerprint or 'none'}); rows "
                             f"of different machines never merge; allowed: another --device-id")


def append_row(path: str | Path, row: Mapping[str, Any]) -> None:
    """Add one measurement: the whole file is rewritten atomically (temp + fsync + os.replace).
    Refuses a row whose fingerprint differs from the file's (rows of two machines never merge)."""
    p = Path(path)
    with _locked(p):
        old = read_rows(p)
        check_same_machine(p, str(row.get("fingerprint") or ""), old)
        header = list(COLUMNS)
        for r in old[:1]:
            header += [k for k in r if k not in header]  # keep columns a newer writer added
        header += [k for k in row if k not in header]
        _write_atomic(p, header, [*old, row])


def measured_counts(path: str | Path) -> dict[tuple[str, ...], int]:
    """How many rows each key has (``costmodel bench --passes N`` measures a key N times)."""
    counts: dict[tuple[str, ...], int] = {}
    for r in read_rows(path):
        k = row_key(r)
        counts[k] = counts.get(k, 0) + 1
    return counts


# ------------------------------------------------------------------------------------------
# Loaders (pandas)
# ------------------------------------------------------------------------------------------
def _published_frame() -> pd.DataFrame:
    import pandas as pd

    ref = pd.read_csv(PUBLISHED_CSV)
    parts = []
    for col, (dev, backend, dtype, threads) in PUBLISHED_DEVICES.items():
        part = ref[["alpha", "resolution", "precision", col]].rename(columns={col: "median_ms"})
        part = part.dropna(subset=["median_ms"])
        parts.append(part.assign(device_id=dev, device=PUBLISHED_NAMES[dev], backend=backend,
                                 device_type=dtype, threads=threads, batch=1,
                                 variant="mobilenet_v1", rounding="slim", classes=1001,
                                 iqr_ms=float("nan"), min_ms=float("nan"), published=True,
                                 reference=False, fingerprint="", source=PUBLISHED_SOURCE))
    return pd.concat(parts, ignore_index=True)


_NUMBERS_REQUIRED = ("alpha", "resolution", "threads", "batch", "median_ms")
_MAY_BE_BLANK = ("threads",)  # imported rows (costmodel latency import) may not say


def _measured_frame(path: Path) -> pd.DataFrame:
    import pandas as pd

    numbered = read_numbered(path, required=REQUIRED_COLUMNS)
    for line, r in numbered:
        for c in _NUMBERS_REQUIRED:
            if c in _MAY_BE_BLANK and not r[c].strip():
                continue
            try:
                float(r[c])
            except ValueError:
                raise _corrupt(path, line, f"{c} {r[c]!r} is not a number") from None
    rows = [r for _, r in numbered]
    prints = sorted({r["fingerprint"] for r in rows})
    if len(prints) > 1:
        raise CostModelError(f"latency file {str(path)!r} holds rows of {len(prints)} machines "
                             f"(fingerprints {', '.join(p or 'none' for p in prints)}); rows of "
                             f"different machines never merge; allowed: one machine per file")
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys([*COLUMNS, *(rows[0] if rows else [])])))
    for c in _INT_COLUMNS + _FLOAT_COLUMNS:
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    frame["channels_last"] = frame["channels_last"].astype(str).str.lower().isin(["true", "1"])
    frame["device_id"] = path.stem  # a reference device's rows answer to its current id
    frame["published"] = False
    frame["reference"] = is_reference(path.stem)
    if "source" in frame:  # imported rows say where they came from
        frame["source"] = frame["source"].fillna("").replace("", MEASURED_SOURCE)
    else:
        frame["source"] = MEASURED_SOURCE
    return frame


def _all_frames(data_dir: str | Path | None) -> pd.DataFrame:
    import pandas as pd

    frames = [_measured_frame(p) for p in measured_files(data_dir).values()]
    frames.append(_published_frame())
    return pd.concat([f for f in frames if len(f)], ignore_index=True)


def list_devices(data_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per (device, backend, precision, threads, batch): device_id, device, backend,
    device_type, precision, threads, batch, configs (number of measured alpha/resolution pairs;
    each network's counted apart),
    published, reference, fingerprint, source. Measured devices first (the user data folder's
    and the shipped reference devices), then the published phones."""
    allf = _all_frames(data_dir)
    keys = ["device_id", "device", "backend", "device_type", "precision", "threads", "batch",
            "published", "reference", "fingerprint", "source"]
    allf = allf.assign(threads=allf["threads"].astype(float), fingerprint=allf["fingerprint"]
                       .fillna(""))
    configs = allf.drop_duplicates([*keys, "alpha", "resolution", "variant", "rounding",
                                    *(["spec"] if "spec" in allf else [])])  # per network
    out = configs.groupby(keys, dropna=False, sort=False).size().rename("configs").reset_index()
    return out.sort_values(["published", "reference", "device_id", "backend", "precision",
                            "threads", "batch"], kind="stable").reset_index(drop=True)


def device_ids(data_dir: str | Path | None = None) -> list[str]:
    """Every device id: measured (user data folder and reference devices), then published."""
    return [*measured_files(data_dir), *PUBLISHED_NAMES]


def unknown_device(device_id: Any, data_dir: str | Path | None = None) -> CostModelError:
    """The one-line error for a device id that names no device."""
    return CostModelError(f"device id {device_id!r} is unknown; allowed: "
                          f"{', '.join(device_ids(data_dir))}")


# ------------------------------------------------------------------------------------------
# Device names: one vocabulary for a device/backend/threads/precision, everywhere
# (recommend --device, pareto latency:<name>, latency predict|evaluate --device-id, the explorer)
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeviceSpec:
    """What a device name selects: ``<device_id>[/<backend>[/<threads>]][@<precision>]``."""

    device_id: str
    backend: str | None = None
    threads: int | None = None
    precision: str = DEFAULT_PRECISION

    def name(self) -> str:
        """The name of this selection: an alias (``pixel3_cpu4``) where one exists."""
        spec = self.device_id + (f"/{self.backend}" if self.backend else "")
        spec += f"/{self.threads}" if self.backend and self.threads is not None else ""
        spec += f"@{self.precision}" if self.precision != DEFAULT_PRECISION else ""
        return {v: k for k, v in DEVICE_ALIASES.items()}.get(spec, spec)


# Short names of the published phone devices: alias -> device name.
DEVICE_ALIASES: dict[str, str] = {
    "pixel3_cpu4": "pixel3/tflite-cpu/4",
    "pixel3_gpu": "pixel3/tflite-gpu",
    "pixel3_nnapi": "pixel3/nnapi",
    "pixel2_tflite_1thread": "pixel2/tflite-cpu/1",
    "pixel2_tf": "pixel2/tf-mobile",
    "pixel3_cpu4_uint8": "pixel3/tflite-cpu/4@uint8",
    "pixel3_nnapi_uint8": "pixel3/nnapi@uint8",
    "pixel2_tflite_1thread_uint8": "pixel2/tflite-cpu/1@uint8",
}
DEVICE_NAME_FORM = "<device id>[/<backend>[/<threads>]][@<precision>]"
_NAME_RE = re.compile(r"^([a-z0-9][a-z0-9._-]*?)(?:/([a-z0-9._-]+))?(?:/(\d+))?(?:@([a-z0-9]+))?$")


def device_names(data_dir: str | Path | None = None) -> list[str]:
    """The short names a device name may be: the phone aliases, then every device id."""
    return [*DEVICE_ALIASES, *device_ids(data_dir)]


def resolve_device(name: Any, data_dir: str | Path | None = None, *,
                   what: str = "device") -> DeviceSpec:
    """A device name (:data:`DEVICE_NAME_FORM`, an alias such as ``pixel3_cpu4_uint8``, or an
    old id of a reference device) -> :class:`DeviceSpec` with the device's current id.
    CostModelError naming the allowed ones for a device that does not exist (whether the
    backend/threads/precision have rows is checked by the readers)."""
    text = name.strip() if isinstance(name, str) else None
    m = _NAME_RE.match(DEVICE_ALIASES.get(text, text)) if text else None
    known = device_ids(data_dir)
    if not m or canonical_id(m.group(1)) not in known:
        raise CostModelError(f"{what} {name!r} is unknown; allowed: "
                             f"{', '.join([*DEVICE_ALIASES, *known])} (as {DEVICE_NAME_FORM})")
    dev, backend, threads, precision = m.groups()
    return DeviceSpec(canonical_id(dev), backend, int(threads) if threads else None,
                      PRECISIONS.get(precision or "", precision or DEFAULT_PRECISION))


def select_device(name: Any, *, backend: str | None = None, threads: int | None = None,
                  precision: str | None = None, data_dir: str | Path | None = None) -> DeviceSpec:
    """A device name (:func:`resolve_device`) completed by separate options (``--backend``,
    ``--threads``, ``--precision``): an option fills a part the name leaves out; one that
    contradicts the name is a CostModelError."""
    spec = resolve_device(name, data_dir, what="device id")
    precision = PRECISIONS.get(precision, precision) if precision else None
    named = DEVICE_ALIASES.get(str(name).strip(), str(name).strip())
    have = {"backend": spec.backend, "threads": spec.threads,
            "precision": spec.precision if "@" in named else None}
    given = {"backend": backend, "threads": threads, "precision": precision}
    for part, value in given.items():
        if value is not None and have[part] is not None and str(value) != str(have[part]):
            raise CostModelError(f"--{part} {value!r} contradicts device {name!r} ({part} "
                                 f"{have[part]}); allowed: {have[part]}, or a name without it")
    return DeviceSpec(spec.device_id, spec.backend or backend,
                      spec.threads if spec.threads is not None else threads,
                      str(have["precision"] or precision or DEFAULT_PRECISION))


def fingerprints(data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The machines measured in the user data folder (not the reference devices): one dict per
    device file (:func:`file_fingerprint`). Files a reader would refuse are left out here (the
    reader names them)."""
    found = (file_fingerprint(path, dev) for dev, path in _csv_files(user_latency_dir(data_dir)).items())
    return [rec for rec in found if rec is not None]


def file_fingerprint(path: str | Path, device_id: str | None = None) -> dict[str, Any] | None:
    """The machine of the latency CSV at ``path``: its device_id, the :data:`FINGERPRINT_COLUMNS`
    of its first row, and ``matmul_gflops`` the median over its rows; None for a missing, empty
    or unreadable file."""
    import statistics

    p = Path(path)
    if not p.is_file():
        return None
    try:
        rows = read_rows(p, required=REQUIRED_COLUMNS)
    except CostModelError:
        return None
    if not rows:
        return None
    speeds = []
    for r in rows:
        with suppress(ValueError):
            speeds.append(float(r["matmul_gflops"]))
    rec: dict[str, Any] = {"device_id": device_id or str(rows[0].get("device_id") or p.stem),
                           **{c: rows[0].get(c, "") for c in FINGERPRINT_COLUMNS}}
    rec["matmul_gflops"] = statistics.median(speeds) if speeds else float("nan")
    return rec


def load_latency(device_id: str | None = None, *, backend: str | None = None,
                 threads: int | None = None, batch: int | None = None,
                 precision: str | None = None, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Every latency row of one device (or of all devices when ``device_id`` is None), measured
    or published, as a tidy frame with at least :data:`TIDY_COLUMNS`; optional filters. Raises
    CostModelError for an unknown device id or a filter that matches nothing."""
    import pandas as pd

    files = measured_files(data_dir)
    if device_id is None:
        frame = _all_frames(data_dir)
    elif device_id in PUBLISHED_NAMES:
        frame = _published_frame()
        frame = frame[frame["device_id"] == device_id].reset_index(drop=True)
    elif isinstance(device_id, str) and canonical_id(device_id) in files:
        frame = _measured_frame(files[canonical_id(device_id)])
    else:
        raise unknown_device(device_id, data_dir)
    filters = {"backend": backend, "threads": threads, "batch": batch, "precision": precision}
    for col, want in filters.items():
        if want is None:
            continue
        have = sorted({"" if isinstance(v, float) and math.isnan(v) else str(v) for v in frame[col]}
                      - {""})
        sel = frame[col].astype(str) == str(want) if col in ("backend", "precision") else \
            pd.to_numeric(frame[col], errors="coerce") == float(want)
        if not sel.any():
            raise CostModelError(f"{col} {want!r} has no latency rows for device "
                                 f"{device_id or 'any'}; allowed: {', '.join(have) or 'none'}")
        frame = frame[sel]
    cols = list(TIDY_COLUMNS) + [c for c in frame.columns if c not in TIDY_COLUMNS]
    return frame[cols].reset_index(drop=True)


def _networks(frame: pd.DataFrame) -> pd.Series:
    """Each row's network (its ``spec``; a row without one is MobileNet-V1's)."""
    return frame["spec"].fillna("").replace("", "mobilenet_v1")


def latency_table(device_id: str, *, backend: str | None = None, threads: int | None = None,
                  batch: int = 1, precision: str = DEFAULT_PRECISION, variant: str = "mobilenet_v1",
                  channels_last: bool = False, across: str = "median",
                  data_dir: str | Path | None = None, rounding: str | None = "int",
                  network: str = "mobilenet_v1", measure_with: str = "") -> pd.DataFrame:
    """One latency per (alpha, resolution) of one device: the objective a Pareto front or a
    budget reads. ``backend`` defaults to ``onnxruntime`` (then ``torch``) on measured devices and
    to ``tflite-cpu`` on the published phones; ``threads`` defaults to the fewest measured.
    Repeated measurements of one key (``--passes``) are combined ``across`` them: ``median``
    (default: the typical pass; on a shared machine it reproduces better than the minimum, see
    issue #4's report) or ``min`` (the least disturbed pass).
    ``rounding``: the channel rounding of the configs read (published phones, and imported
    devices of one rounding: their own);
    None reads every rounding, one row per (alpha, resolution, rounding).
    ``network``: the network whose rows are read (the ``spec`` column, see
    :func:`costmodel.core.arch.network_key`; the published phones' and imported rows are
    ``mobilenet_v1``'s); rows of other networks are never mixed in. None of its rows: a
    CostModelError naming the command that measures them (``measure_with``: the option naming
    the network, e.g. ``--model resnet18``).
    Columns: alpha, resolution, rounding, median_ms, min_ms, iqr_ms, cpu_ms (measured devices),
    rows (measurements of the key), backend, threads, published, source."""
    if backend is None:  # the default among the backends this network was measured with
        frame = load_latency(device_id, batch=batch, precision=precision, data_dir=data_dir)
        mine = (_networks(frame) == network if "spec" in frame
                else frame["backend"] == frame["backend"])
        have = set(frame.loc[mine, "backend"]) or set(frame["backend"])
        prefs = [DEFAULT_BACKEND.get(device_id, ""), *MEASURED_DEFAULT_BACKENDS, *sorted(have)]
        backend = next(b for b in prefs if b in have)
        frame = frame[frame["backend"].astype(str) == backend].reset_index(drop=True)
    else:
        frame = load_latency(device_id, backend=backend, batch=batch, precision=precision,
                             data_dir=data_dir)
    nets = _networks(frame) if "spec" in frame else None
    if nets is not None or network != "mobilenet_v1":
        on = nets == network if nets is not None else frame["variant"] != frame["variant"]
        if not on.any():
            how = f"costmodel latency calibrate {measure_with or '--model ' + network}".strip()
            raise CostModelError(f"no latency rows of network {network!r} for device "
                                 f"{device_id!r} backend {backend!r}; allowed: measure them "
                                 f"first: {how}"
                                 + ("" if device_id not in PUBLISHED_NAMES else
                                    " (on this machine: the published phones are mobilenet_v1's)"))
        frame = frame[on]
    frame = frame[frame["variant"] == variant]
    own = set(frame["rounding"])  # an imported device of one rounding answers with its own, like
    elsewhere = frame["published"].all() or (  # the published phones (their models' rounding)
        len(own) == 1 and frame["fingerprint"].map(is_imported).all())
    if rounding is not None and not elsewhere:
        frame = frame[frame["rounding"] == rounding]
    if "channels_last" in frame and not frame["published"].all():
        frame = frame[frame["channels_last"].fillna(False).astype(bool) == channels_last]
    if threads is None and frame["threads"].notna().any():
        threads = int(frame["threads"].min())
    if threads is not None:
        frame = frame[frame["threads"] == threads]
    if not len(frame):
        raise CostModelError(f"no latency rows for device {device_id!r} backend {backend!r} "
                             f"threads {threads!r} variant {variant!r}; see `costmodel latency devices`")
    if across not in ACROSS:
        raise CostModelError(f"across {across!r} is unknown; allowed: {', '.join(ACROSS)}")
    spec = {"median_ms": ("median_ms", across), "min_ms": ("min_ms", across),
            "iqr_ms": ("iqr_ms", across), "rows": ("median_ms", "size")}
    if "cpu_ms" in frame:
        spec["cpu_ms"] = ("cpu_ms", across)
    agg = frame.groupby(["alpha", "resolution", "rounding"], as_index=False).agg(**spec)
    return agg.assign(backend=backend, threads=threads, published=bool(frame["published"].iloc[0]),
                      source=frame["source"].iloc[0])


# ------------------------------------------------------------------------------------------
# Hardware limits of a measured device (for roofline bounds): <latency folder>/<id>.hardware.json
# ------------------------------------------------------------------------------------------
def hardware_path(device_id: str, data_dir: str | Path | None = None) -> Path:
    return _device_file(device_id, data_dir, ".hardware.json")


def load_hardware(device_id: str, data_dir: str | Path | None = None) -> dict[str, Any]:
    """``{"device_id", "device", "limits": {"<device_type>:<threads>": {"peak_gflops",
    "bandwidth_gbs", ...}}}``; an empty ``limits`` if never measured."""
    import json

    p = hardware_path(device_id, data_dir)
    if not p.exists():
        return {"device_id": device_id, "limits": {}}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except ValueError:
        raise CostModelError(f"hardware file {str(p)!r} is not valid JSON; allowed: a file "
                             f"written by `costmodel bench --roofline`") from None
    data.setdefault("limits", {})
    return dict(data)


def save_hardware(device_id: str, device_type: str, threads: int, record: Mapping[str, Any],
                  *, device: str = "", data_dir: str | Path | None = None) -> Path:
    """Store (replace) the limits measured for one (device_type, threads), atomically."""
    import json

    p = check_writable(hardware_path(device_id, data_dir))
    with _locked(p):
        data = load_hardware(device_id, data_dir)
        data["device_id"] = device_id
        if device:
            data["device"] = device
        data["limits"][f"{device_type}:{int(threads)}"] = dict(record)
        data["limits"] = dict(sorted(data["limits"].items()))
        write_text_atomic(p, json.dumps(data, indent=2, sort_keys=True) + "\n", mode=DATA_FILE_MODE)
    return p


# ------------------------------------------------------------------------------------------
# Per-layer-type profiles of a measured device: <latency folder>/<id>.profile.csv
# (bench.profile_layers rows, stored so a report reads them instead of re-measuring)
# ------------------------------------------------------------------------------------------
PROFILE_CONFIG_COLUMNS: tuple[str, ...] = (
    "device_id", "device", "backend", "device_type", "threads", "batch", "channels_last",
    "alpha", "resolution", "variant", "rounding", "classes", "convention", "runs",
)
PROFILE_COLUMNS: tuple[str, ...] = (
    *PROFILE_CONFIG_COLUMNS, "type", "layers", "time_ms", "time_pct", "mult_adds",
    "mult_adds_pct", "loadavg_start", "torch_version", "date",
)
_PROFILE_KEY = tuple(c for c in PROFILE_CONFIG_COLUMNS if c not in ("device", "runs"))
_PROFILE_NUMERIC = {"threads": int, "batch": int, "resolution": int, "classes": int, "runs": int,
                    "layers": int, "mult_adds": int, "alpha": float, "time_ms": float,
                    "time_pct": float, "mult_adds_pct": float, "loadavg_start": float}


def profile_path(device_id: str, data_dir: str | Path | None = None) -> Path:
    return _device_file(device_id, data_dir, ".profile.csv")


def _profile_key(row: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(_norm(c, row.get(c)) for c in _PROFILE_KEY)


def save_profile(device_id: str, config: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], *,
                 data_dir: str | Path | None = None) -> Path:
    """Store one profiled configuration (``config``: the PROFILE_CONFIG_COLUMNS and the
    loadavg/version/date columns; ``rows``: :func:`costmodel.latency.bench.profile_layers`), replacing an
    earlier profile of the same configuration. Atomic, like :func:`append_row`."""
    new = [{**config, "device_id": device_id, **r} for r in rows]
    if not new:
        raise CostModelError("no profile rows to store; allowed: the rows of a profile")
    p = check_writable(profile_path(device_id, data_dir))
    key = _profile_key(new[0])
    with _locked(p):
        old = [r for r in read_rows(p) if _profile_key(r) != key]
        _write_atomic(p, PROFILE_COLUMNS, [*old, *new])
    return p


def load_profiles(device_id: str | None = None,
                  data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The stored profiles of a device (every measured device when ``device_id`` is None), one
    dict per profiled configuration, in file order: ``label`` (alpha-resolution, as 1.0-224),
    the PROFILE_CONFIG_COLUMNS, ``loadavg_start``, ``torch_version``, ``date`` and ``rows``
    (type, layers, time_ms, time_pct, mult_adds, mult_adds_pct). [] if none are stored."""
    if device_id is None:
        ids = sorted({**_csv_files(user_latency_dir(data_dir), ".profile.csv"),
                      **_csv_files(SHIPPED_LATENCY_DIR, ".profile.csv")})
        return [p for d in ids for p in load_profiles(d, data_dir)]
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for raw in read_rows(profile_path(device_id, data_dir), required=PROFILE_COLUMNS):
        r: dict[str, Any] = {**raw, "device_id": canonical_id(device_id)}
        for col, conv in _PROFILE_NUMERIC.items():
            try:
                r[col] = conv(float(r[col])) if conv is int else conv(r[col])
            except (KeyError, TypeError, ValueError):
                r[col] = None
        r["channels_last"] = str(r.get("channels_last", "")).lower() in ("true", "1")
        key = _profile_key(raw)
        if key not in out:
            head = {c: r.get(c) for c in (*PROFILE_CONFIG_COLUMNS, "loadavg_start",
                                           "torch_version", "date")}
            a = float(r["alpha"])
            label = f"{a:.1f}" if a.is_integer() else f"{a:g}"
            out[key] = {"label": f"{label}-{r['resolution']}", **head, "rows": []}
        out[key]["rows"].append({c: r.get(c) for c in ("type", "layers", "time_ms", "time_pct",
                                                          "mult_adds", "mult_adds_pct")})
    return list(out.values())


# ------------------------------------------------------------------------------------------
# The channel-alignment steps measured on one machine (data/measured/alignment_steps.csv)
# ------------------------------------------------------------------------------------------
def load_alignment_steps(path: str | Path | None = None) -> pd.DataFrame:
    """The stored alignment-step measurements (``costmodel bench`` rows): one row per (device,
    backend, threads, rounding, alpha, resolution) with the median over passes of
    ``median_ms``, ``q1_ms``, ``q3_ms`` and ``cpu_ms``, and the number of passes (``rows``)."""
    from costmodel.io.paths import ALIGNMENT_STEPS_CSV

    return _measured_summary(Path(path) if path is not None else ALIGNMENT_STEPS_CSV,
                             ["device", "backend", "threads", "rounding", "alpha", "resolution"])


def _measured_summary(path: Path, keys: list[str]) -> pd.DataFrame:
    """Stored bench rows with the median over passes of ``median_ms``, ``q1_ms``, ``q3_ms``,
    ``cpu_ms`` and the mean load average per ``keys`` (``rows``: passes)."""
    import pandas as pd

    frame = _measured_frame(path)
    agg = frame.groupby(keys, as_index=False).agg(
        median_ms=("median_ms", "median"), q1_ms=("q1_ms", "median"),
        q3_ms=("q3_ms", "median"), cpu_ms=("cpu_ms", "median"), rows=("median_ms", "size"),
        loadavg=("loadavg_start", "mean"))
    return pd.DataFrame(agg).sort_values(keys).reset_index(drop=True)


def load_precision_runs(path: str | Path | None = None, *,
                        alphas: Sequence[float] | None = (0.5, 1.0),
                        resolutions: Sequence[int] | None = (128, 224)) -> pd.DataFrame:
    """Stored precision measurements (``costmodel bench --precision fp32,bf16,int8 --backend
    torch,onnxruntime,openvino`` rows; default: the shipped precision reference device,
    ``paths.PRECISION_DEVICE``): one row per (device, backend, precision, threads, alpha,
    resolution) as :func:`load_alignment_steps`, precision by its short name (fp32, bf16, int8),
    the configs at ``alphas`` x ``resolutions`` (None: all of them)."""
    from costmodel.io.paths import PRECISION_DEVICE

    out = _measured_summary(Path(path) if path is not None else latency_path(PRECISION_DEVICE),
                            ["device", "backend", "precision", "threads", "alpha", "resolution"])
    if alphas is not None:
        out = out[out["alpha"].isin([float(a) for a in alphas])]
    if resolutions is not None:
        out = out[out["resolution"].isin([int(r) for r in resolutions])]
    out = out.reset_index(drop=True)
    out["precision"] = out["precision"].map(precision_name)
    return out
