"""``costmodel latency import``: latencies measured elsewhere (a phone runtime's own benchmark
tool, another lab's table) stored as a named device in the user data folder (issue #13).

The input is a CSV with a header line. Required columns: ``alpha``, ``resolution``, ``ms`` (one
inference, milliseconds). Optional columns: ``rounding`` (int, slim, divisible8; default int),
``variant`` (mobilenet_v1, full_conv, shallow; default mobilenet_v1), ``precision`` (fp32, bf16,
int8, uint8 or the stored names float32, bfloat16; default ``--precision``, else fp32),
``backend`` (default ``--backend``, else ``imported``), ``threads`` (a whole number >= 1; default
``--threads``, else none), ``model`` (the network measured: a built-in's name, ``costmodel
models``; default mobilenet_v1: its rows carry it, and each network is fitted on its own rows,
issue #11). A blank optional cell takes the default. Lines starting with ``#`` and
blank lines are skipped. Any other column is refused (a misspelled column would be lost).
``examples/imported_latency.csv`` is an example.

Every row is checked before anything is written: each bad row gets one line naming its line
number, the bad value and what is allowed, and the import fails (exit 2) with nothing written.
A good file is written as ``<user data folder>/latency/<NAME>.csv`` in the schema of
:mod:`costmodel.io.latency_data` (one atomic write), so every reader (pareto, recommend, the
latency model, the explorer) serves it like a measured device. Its rows carry ``source``
(``imported from <file> (costmodel latency import, <date>)``) and an ``imported-<hash8>``
fingerprint (a hash of the rows: never this machine's). Importing again under the same name
replaces an imported device; a device this machine measured is never overwritten.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from costmodel.core.arch import (
    BUILTIN_NAMES,
    ROUNDING_RULES,
    VARIANTS,
    check_alpha,
    check_resolution,
)
from costmodel.errors import CostModelError, RowErrors
from costmodel.io import latency_data

REQUIRED = ("alpha", "resolution", "ms")
OPTIONAL = ("rounding", "variant", "precision", "backend", "threads", "model")
DEFAULT_BACKEND = "imported"
IMPORT_PRECISIONS = (*latency_data.PRECISIONS, *latency_data.PRECISIONS.values(), "uint8")
MAX_ERRORS_SHOWN = 20


def _precision(value: str) -> str:
    text = value.strip().lower()
    if text not in IMPORT_PRECISIONS:
        raise CostModelError(f"precision {value!r} is unknown; allowed: "
                             f"{', '.join(IMPORT_PRECISIONS)}")
    return latency_data.PRECISIONS.get(text, text)


def _threads(value: str) -> int:
    try:
        f = float(value)
    except ValueError:
        f = math.nan
    if not math.isfinite(f) or f != int(f) or f < 1:
        raise CostModelError(f"threads {value!r} is not a whole number >= 1; allowed: a whole "
                             f"number >= 1, or blank")
    return int(f)


def _ms(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise CostModelError(f"ms {value!r} is not a number; allowed: a finite number of "
                             f"milliseconds > 0") from None
    if not math.isfinite(f) or f <= 0:
        raise CostModelError(f"ms {value!r} is out of range; allowed: a finite number of "
                             f"milliseconds > 0")
    return f


def _choice(kind: str, allowed: tuple[str, ...]) -> Any:
    def check(value: str) -> str:
        if value.strip() not in allowed:
            raise CostModelError(f"{kind} {value!r} is unknown; allowed: {', '.join(allowed)}")
        return value.strip()
    return check


def _backend(value: str) -> str:
    text = value.strip()
    if not text or not all(c.isalnum() or c in "._-" for c in text) or text != text.lower():
        raise CostModelError(f"backend {value!r} is not a name; allowed: lower-case letters, "
                             f"digits, '.', '_' and '-' (e.g. tflite-cpu)")
    return text


CHECKS: dict[str, Any] = {
    "alpha": check_alpha, "resolution": check_resolution, "ms": _ms,
    "rounding": _choice("rounding", tuple(ROUNDING_RULES)), "variant": _choice("variant", VARIANTS),
    "precision": _precision, "backend": _backend, "threads": _threads,
    "model": _choice("model", BUILTIN_NAMES),
}


def _lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the lines that are not blank or ``#`` comments."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CostModelError(f"file {str(path)!r} does not exist; allowed: a CSV of alpha, "
                             f"resolution, ms") from None
    except UnicodeDecodeError:
        raise CostModelError(f"file {str(path)!r} is not UTF-8 text; allowed: a CSV of alpha, "
                             f"resolution, ms") from None
    except OSError as exc:
        raise CostModelError(f"file {str(path)!r} cannot be read ({exc.strerror or exc}); "
                             f"allowed: a readable CSV file") from None
    return [(i, line) for i, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def read_import(path: str | Path, *, backend: str | None = None, threads: int | None = None,
                precision: str | None = None) -> list[dict[str, Any]]:
    """The checked rows of an import file (alpha, resolution, median_ms and the optional
    columns, defaults filled in). CostModelError listing one line per bad row otherwise."""
    p = Path(path)
    lines = _lines(p)
    if not lines:
        raise CostModelError(f"file {str(p)!r} has no rows; allowed: a header line "
                             f"({', '.join(REQUIRED)}[, {', '.join(OPTIONAL)}]) and rows")
    header = [h.strip().lower() for h in next(csv.reader([lines[0][1]]))]
    unknown = [h for h in header if h not in (*REQUIRED, *OPTIONAL)]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        what = (f"no column {', '.join(missing)}" if missing else
                f"unknown column {unknown[0]!r}" if unknown else "a column given twice")
        raise CostModelError(f"file {str(p)!r} line {lines[0][0]}: header has {what}; allowed: "
                             f"{', '.join(REQUIRED)} (required), {', '.join(OPTIONAL)}")
    defaults = {"rounding": "int", "variant": "mobilenet_v1",
                "precision": _precision(precision) if precision else latency_data.DEFAULT_PRECISION,
                "backend": _backend(backend) if backend else DEFAULT_BACKEND,
                "threads": threads, "model": "mobilenet_v1"}
    rows, errors = [], []
    for number, line in lines[1:]:
        fields = next(csv.reader(io.StringIO(line)), [])
        if len(fields) != len(header):
            errors.append(f"line {number}: {len(fields)} fields, the header has {len(header)}; "
                          f"allowed: one value per column")
            continue
        row: dict[str, Any] = dict(defaults)
        for col, value in zip(header, fields, strict=True):
            if col in OPTIONAL and not value.strip():
                continue
            try:
                row[col] = CHECKS[col](value)
            except CostModelError as exc:
                errors.append(f"line {number}: {exc}")
        row["median_ms"] = row.pop("ms", None)
        rows.append(row)
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        more = len(errors) - len(shown)
        raise RowErrors(f"file {str(p)!r}: {len(errors)} bad row(s); nothing was imported",
                        shown + ([f"... and {more} more"] if more else []))
    if not rows:
        raise CostModelError(f"file {str(p)!r} has a header but no rows; allowed: at least one "
                             f"row of {', '.join(REQUIRED)}")
    return rows


def is_imported_device(device_id: str, data_dir: Any = None) -> bool:
    """Whether ``device_id`` (a device name, :data:`costmodel.io.latency_data.DEVICE_NAME_FORM`)
    names a device stored by ``costmodel latency import``."""
    try:
        device_id = latency_data.resolve_device(device_id, data_dir).device_id
    except CostModelError:
        return False  # no such device (yet): not an imported one
    if device_id in latency_data.PUBLISHED_NAMES or latency_data.is_reference(device_id):
        return False
    rows = latency_data.read_rows(latency_data.latency_path(device_id, data_dir))
    return bool(rows) and all(latency_data.is_imported(r.get("fingerprint")) for r in rows)


def _check_name(name: str, data_dir: Any) -> Path:
    """The file an import of ``name`` writes; refuses the shipped and published devices."""
    device_id = latency_data.check_device_id(name)
    if latency_data.is_reference(device_id) or device_id in latency_data.PUBLISHED_NAMES:
        raise CostModelError(f"device id {device_id!r} is a shipped device (read-only); allowed: "
                             f"a new name")
    return latency_data.writable_latency_path(device_id, data_dir)


def _check_replaceable(path: Path, device_id: str) -> None:
    """An import replaces only an earlier import (a file that cannot be read is refused too)."""
    if any(not latency_data.is_imported(r.get("fingerprint")) for r in latency_data.read_rows(path)):
        raise CostModelError(f"device id {device_id!r} holds measurements made by costmodel "
                             f"({str(path)!r}), which an import never replaces; allowed: a new "
                             f"name, or a device imported before")


def import_latency(path: str | Path, device_id: str, *, backend: str | None = None,
                   threads: int | None = None, precision: str | None = None,
                   data_dir: Any = None) -> tuple[Path, list[dict[str, Any]]]:
    """Check every row of ``path`` and store them as the device ``device_id`` (one atomic
    write, replacing an earlier import of that name). Returns the device file and its rows."""
    src = Path(path)
    rows = read_import(src, backend=backend, threads=threads, precision=precision)
    out = _check_name(device_id, data_dir)
    # a mobilenet_v1 row hashes as before the model column existed (the same file, the same id)
    digest = hashlib.sha1(json.dumps([{k: v for k, v in r.items() if k != "model" or
                                       v != "mobilenet_v1"} for r in rows],
                                     sort_keys=True).encode())
    date = datetime.now(UTC).replace(microsecond=0).isoformat()
    common = {"device_id": device_id, "device": f"imported from {src.name}",
              "fingerprint": latency_data.IMPORTED_PREFIX + digest.hexdigest()[:8],
              "device_type": "imported",
              "batch": 1, "channels_last": False, "classes": 1000, "spec": "mobilenet_v1",
              "date": date, "source": f"imported from {os.path.abspath(src)} (costmodel latency "
                                      f"import, {date})"}
    stored = [{**common, **{k: v for k, v in r.items() if k != "model"}, "spec": r["model"],
               "threads": "" if r["threads"] is None else r["threads"]} for r in rows]
    header = [*latency_data.COLUMNS, "source"]
    with latency_data.locked(out):
        _check_replaceable(out, device_id)
        latency_data.write_rows_atomic(out, header, stored)
    return out, stored
