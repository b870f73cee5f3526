"""Latency data: the CSV schema of ``data/latency/<device-id>.csv``, device ids, atomic and
resumable writes, and the loaders every reader uses (``costmodel bench`` writes, the latency model,
``costmodel latency`` and the Pareto/recommend code read).

Device ids
----------
A measured device's id is a slug of its hardware name plus the kind of processor that ran it:

* CPU: the ``model name`` line of ``/proc/cpuinfo`` (``platform.processor()`` elsewhere),
  lower-cased, with ``(R)``, ``(TM)``, the word ``CPU`` and ``@`` dropped and every run of other
  characters turned into ``-``, then ``-cpu``. ``Intel(R) Xeon(R) Processor`` ->
  ``intel-xeon-processor-cpu``; ``Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz`` ->
  ``intel-core-i7-8700-3-20ghz-cpu``.
* CUDA: the slug of ``torch.cuda.get_device_name()`` plus ``-cuda`` (``nvidia-h100-80gb-hbm3-cuda``).

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
cpu_model           ``/proc/cpuinfo`` model name
cpu_cores           physical cores (unique (physical id, core id) pairs), else logical CPUs
logical_cpus        ``os.cpu_count()``
gpu_name            CUDA device name, empty on CPU
backend             ``torch`` (eager, BN folded) or ``onnxruntime`` (CPU execution provider)
device_type         ``cpu`` or ``cuda``
precision           ``float32``
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
==================  ========================================================================

A row's *key* (:data:`KEY_COLUMNS`) says what was measured; re-running ``costmodel bench`` skips
keys already in the file (with ``--passes N``: keys that have N rows). A key may have several rows
(``--passes``, ``--no-resume``): :func:`latency_table` combines them per key, by default with the
median over rows of each statistic (the typical pass), or with ``across="min"`` (the least
disturbed pass). Versions and date are not in the key: re-measure after
an upgrade with ``--no-resume``.

The tidy frame that :func:`load_latency` returns has, for every device (measured or published),
at least :data:`TIDY_COLUMNS`: ``device_id, device, backend, device_type, precision, threads,
batch, alpha, resolution, variant, rounding, classes, median_ms, iqr_ms, min_ms, published,
source`` (NaN where a published table does not say).

Writes are atomic: each new row rewrites the whole file to a temp file in the same folder, fsyncs
it and ``os.replace``-s it over the old one, under an exclusive ``flock`` (lock file in the temp
folder); a
killed run leaves either the old or the new complete file, never a partial line. The reader still
drops a malformed last line (a file edited by hand, or written by something else).
"""

from __future__ import annotations

import csv
import io
import os
import platform
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costmodel.errors import CostModelError
from costmodel.io.files import atomic_path, write_text_atomic
from costmodel.io.paths import REFERENCE_DIR
from costmodel.io.paths import SHIPPED_LATENCY_DIR as LATENCY_DIR

if TYPE_CHECKING:
    import pandas as pd

PUBLISHED_CSV = REFERENCE_DIR / "tflite_mobilenet_v1_latency.csv"
PUBLISHED_SOURCE = ("TFLite hosted models (tensorflow/lite/g3doc/guide/hosted_models.md, "
                    "models.md) via data/reference/tflite_mobilenet_v1_latency.csv")
MEASURED_SOURCE = "measured (costmodel bench)"
DATA_FILE_MODE = 0o644

COLUMNS: tuple[str, ...] = (
    "device_id", "device", "cpu_model", "cpu_cores", "logical_cpus", "gpu_name",
    "backend", "device_type", "precision", "threads", "batch", "channels_last",
    "alpha", "resolution", "variant", "rounding", "classes", "spec",
    "median_ms", "q1_ms", "q3_ms", "iqr_ms", "min_ms", "mean_ms", "cpu_ms", "samples",
    "number_per_sample",
    "timed_s", "loadavg_start", "loadavg_end",
    "torch_version", "onnxruntime_version", "python_version", "date",
)
KEY_COLUMNS: tuple[str, ...] = (
    "device_id", "backend", "device_type", "precision", "threads", "batch", "channels_last",
    "alpha", "resolution", "variant", "rounding", "classes", "spec",
)
TIDY_COLUMNS: tuple[str, ...] = (
    "device_id", "device", "backend", "device_type", "precision", "threads", "batch",
    "alpha", "resolution", "variant", "rounding", "classes", "median_ms", "iqr_ms", "min_ms",
    "published", "source",
)
_INT_COLUMNS = ("cpu_cores", "logical_cpus", "threads", "batch", "resolution", "classes",
                "samples", "number_per_sample")
_FLOAT_COLUMNS = ("alpha", "median_ms", "q1_ms", "q3_ms", "iqr_ms", "min_ms", "mean_ms", "cpu_ms",
                  "timed_s", "loadavg_start", "loadavg_end")

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


def cpu_device_id() -> str:
    return f"{slug(cpu_model())}-cpu"


def cpu_description() -> dict[str, Any]:
    model = cpu_model()
    cores, logical = physical_cores(), os.cpu_count() or 1
    return {"device_id": f"{slug(model)}-cpu", "cpu_model": model, "cpu_cores": cores,
            "logical_cpus": logical, "gpu_name": "",
            "device": f"{model}, {cores} cores / {logical} logical CPUs"}


def check_device_id(device_id: Any) -> str:
    """A device id is a file-name-safe slug: lower-case letters, digits and '-'."""
    if not isinstance(device_id, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", device_id):
        raise CostModelError(f"device id {device_id!r} is not valid; allowed: lower-case letters, "
                             f"digits, '.' and '-' (e.g. {cpu_device_id()})")
    return device_id


def latency_path(device_id: str, data_dir: str | Path | None = None) -> Path:
    base = Path(data_dir) if data_dir is not None else LATENCY_DIR
    return base / f"{check_device_id(device_id)}.csv"


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


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """Rows of a latency CSV as dicts of strings; [] if the file does not exist. A last line
    without its newline, or with the wrong number of fields, is dropped (a partial write)."""
    p = Path(path)
    if not p.exists():
        return []
    text = p.read_text(encoding="utf-8")
    if not text.strip():
        return []
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]  # incomplete last line
    reader = csv.reader(io.StringIO("".join(lines)))
    try:
        header = next(reader)
    except StopIteration:
        return []
    rows = []
    for fields in reader:
        if len(fields) != len(header):
            continue  # malformed line: never let it corrupt a reader
        rows.append(dict(zip(header, fields, strict=True)))
    return rows


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Exclusive advisory lock so two bench processes never lose each other's rows. The lock file
    lives in the temp folder (named by a hash of the data file's path), not beside the data."""
    import hashlib

    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    lock = Path(tempfile.gettempdir()) / f"costmodel-{digest}.lock"
    with open(lock, "a+") as fh:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - non-POSIX
            pass
        yield


def _write_atomic(path: Path, header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    # data files are shared: 0644
    with atomic_path(path, mode=DATA_FILE_MODE) as tmp, open(tmp, "w", encoding="utf-8",
                                                               newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(header), extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in header})


def append_row(path: str | Path, row: Mapping[str, Any]) -> None:
    """Add one measurement: the whole file is rewritten atomically (temp + fsync + os.replace)."""
    p = Path(path)
    if not p.parent.is_dir():
        raise CostModelError(f"output folder {str(p.parent)!r} does not exist; "
                             f"allowed: a file in an existing folder")
    with _locked(p):
        old = read_rows(p)
        header = list(COLUMNS)
        for r in old[:1]:
            header += [k for k in r if k not in header]  # keep columns a newer writer added
        header += [k for k in row if k not in header]
        _write_atomic(p, header, [*old, row])


def measured_keys(path: str | Path) -> set[tuple[str, ...]]:
    return {row_key(r) for r in read_rows(path)}


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
                                 source=PUBLISHED_SOURCE))
    return pd.concat(parts, ignore_index=True)


def _measured_frame(path: Path) -> pd.DataFrame:
    import pandas as pd

    rows = read_rows(path)
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys([*COLUMNS, *(rows[0] if rows else [])])))
    for c in _INT_COLUMNS + _FLOAT_COLUMNS:
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    frame["channels_last"] = frame["channels_last"].astype(str).str.lower().isin(["true", "1"])
    frame["published"] = False
    frame["source"] = MEASURED_SOURCE
    return frame


def _measured_ids(data_dir: Path) -> list[str]:
    if not data_dir.is_dir():
        return []
    return sorted(p.stem for p in data_dir.glob("*.csv")
                  if not p.name.startswith(".") and "." not in p.stem)


def list_devices(data_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per (device, backend, precision, threads, batch): device_id, device, backend,
    device_type, precision, threads, batch, configs (number of measured alpha/resolution pairs),
    published, source. Measured devices first, then the published phones."""
    import pandas as pd

    base = Path(data_dir) if data_dir is not None else LATENCY_DIR
    frames = [_measured_frame(base / f"{d}.csv") for d in _measured_ids(base)]
    frames.append(_published_frame())
    allf = pd.concat([f for f in frames if len(f)], ignore_index=True)
    keys = ["device_id", "device", "backend", "device_type", "precision", "threads", "batch",
            "published", "source"]
    allf = allf.assign(threads=allf["threads"].astype(float))
    configs = allf.drop_duplicates([*keys, "alpha", "resolution", "variant"])
    out = configs.groupby(keys, dropna=False, sort=False).size().rename("configs").reset_index()
    return out.sort_values(["published", "device_id", "backend", "precision", "threads", "batch"],
                           kind="stable").reset_index(drop=True)


def device_ids(data_dir: str | Path | None = None) -> list[str]:
    base = Path(data_dir) if data_dir is not None else LATENCY_DIR
    return [*_measured_ids(base), *PUBLISHED_NAMES]


def load_latency(device_id: str | None = None, *, backend: str | None = None,
                 threads: int | None = None, batch: int | None = None,
                 precision: str | None = None, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Every latency row of one device (or of all devices when ``device_id`` is None), measured
    or published, as a tidy frame with at least :data:`TIDY_COLUMNS`; optional filters. Raises
    CostModelError for an unknown device id or a filter that matches nothing."""
    import pandas as pd

    base = Path(data_dir) if data_dir is not None else LATENCY_DIR
    known = device_ids(base)
    if device_id is None:
        frames = [_measured_frame(base / f"{d}.csv") for d in _measured_ids(base)]
        frames.append(_published_frame())
        frame = pd.concat([f for f in frames if len(f)], ignore_index=True)
    elif device_id in PUBLISHED_NAMES:
        frame = _published_frame()
        frame = frame[frame["device_id"] == device_id].reset_index(drop=True)
    elif device_id in known:
        frame = _measured_frame(base / f"{device_id}.csv")
    else:
        raise CostModelError(f"device id {device_id!r} is unknown; allowed: {', '.join(known)}")
    filters = {"backend": backend, "threads": threads, "batch": batch, "precision": precision}
    for col, want in filters.items():
        if want is None:
            continue
        have = sorted({str(v) if not isinstance(v, float) or v == v else "" for v in frame[col]}
                      - {""})
        sel = frame[col].astype(str) == str(want) if col in ("backend", "precision") else \
            pd.to_numeric(frame[col], errors="coerce") == float(want)
        if not sel.any():
            raise CostModelError(f"{col} {want!r} has no latency rows for device "
                                 f"{device_id or 'any'}; allowed: {', '.join(have) or 'none'}")
        frame = frame[sel]
    cols = list(TIDY_COLUMNS) + [c for c in frame.columns if c not in TIDY_COLUMNS]
    return frame[cols].reset_index(drop=True)


def latency_table(device_id: str, *, backend: str | None = None, threads: int | None = None,
                  batch: int = 1, precision: str = "float32", variant: str = "mobilenet_v1",
                  channels_last: bool = False, across: str = "median",
                  data_dir: str | Path | None = None) -> pd.DataFrame:
    """One latency per (alpha, resolution) of one device: the objective a Pareto front or a
    budget reads. ``backend`` defaults to ``onnxruntime`` (then ``torch``) on measured devices and
    to ``tflite-cpu`` on the published phones; ``threads`` defaults to the fewest measured.
    Repeated measurements of one key (``--passes``) are combined ``across`` them: ``median``
    (default: the typical pass; on a shared machine it reproduces better than the minimum, see
    issue #4's report) or ``min`` (the least disturbed pass).
    Columns: alpha, resolution, median_ms, min_ms, iqr_ms, cpu_ms (measured devices), rows
    (measurements of the key), backend, threads, published, source."""
    frame = load_latency(device_id, batch=batch, precision=precision, data_dir=data_dir)
    if backend is None:
        have = set(frame["backend"])
        prefs = [DEFAULT_BACKEND.get(device_id, ""), *MEASURED_DEFAULT_BACKENDS, *sorted(have)]
        backend = next(b for b in prefs if b in have)
    frame = load_latency(device_id, backend=backend, batch=batch, precision=precision,
                         data_dir=data_dir)
    frame = frame[frame["variant"] == variant]
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
    agg = frame.groupby(["alpha", "resolution"], as_index=False).agg(**spec)
    return agg.assign(backend=backend, threads=threads, published=bool(frame["published"].iloc[0]),
                      source=frame["source"].iloc[0])


# ------------------------------------------------------------------------------------------
# Hardware limits of a measured device (for roofline bounds): data/latency/<id>.hardware.json
# ------------------------------------------------------------------------------------------
def hardware_path(device_id: str, data_dir: str | Path | None = None) -> Path:
    base = Path(data_dir) if data_dir is not None else LATENCY_DIR
    return base / f"{check_device_id(device_id)}.hardware.json"


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

    p = hardware_path(device_id, data_dir)
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
# Per-layer-type profiles of a measured device: data/latency/<id>.profile.csv
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
    base = Path(data_dir) if data_dir is not None else LATENCY_DIR
    return base / f"{check_device_id(device_id)}.profile.csv"


def _profile_key(row: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(_norm(c, row.get(c)) for c in _PROFILE_KEY)


def save_profile(device_id: str, config: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], *,
                 data_dir: str | Path | None = None) -> Path:
    """Store one profiled configuration (``config``: the PROFILE_CONFIG_COLUMNS and the
    loadavg/version/date columns; ``rows``: :func:`costmodel.latency.bench.profile_layers`), replacing an
    earlier profile of the same configuration. Atomic, like :func:`append_row`."""
    p = profile_path(device_id, data_dir)
    if not p.parent.is_dir():
        raise CostModelError(f"output folder {str(p.parent)!r} does not exist; "
                             f"allowed: a file in an existing folder")
    new = [{**config, "device_id": device_id, **r} for r in rows]
    if not new:
        raise CostModelError("no profile rows to store; allowed: the rows of a profile")
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
    base = Path(data_dir) if data_dir is not None else LATENCY_DIR
    if device_id is None:
        ids = sorted(p.name.removesuffix(".profile.csv") for p in base.glob("*.profile.csv")
                     if not p.name.startswith(".")) if base.is_dir() else []
        return [p for d in ids for p in load_profiles(d, base)]
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for raw in read_rows(profile_path(device_id, base)):
        r: dict[str, Any] = dict(raw)
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
