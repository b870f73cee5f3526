"""Which machine is this? A fingerprint that tells hosts apart, and the device id made from it.

A CPU's brand string is not an identity: cloud hosts that report the same ``Intel(R) Xeon(R)
Processor`` differ by 1.8x in latency (issue 10). The fingerprint holds:

- static facts: the CPU model, a hash of its feature flags (AVX2, AVX-512, AMX, ... decide which
  kernels run), physical cores and logical CPUs, total memory (GiB), and the torch, onnxruntime and
  Python versions, and OpenVINO's when it is installed (a new library is a new device: its
  kernels differ; a machine without OpenVINO keeps the id it had before OpenVINO's version
  joined the facts);
- a micro-benchmark signature: the single-thread fp32 GFLOP/s of 64x64 matmuls (numpy, 64 of them
  per call; OpenBLAS runs a product this small on one thread), the best call of ~0.15 s. It tells
  apart hosts whose static facts agree but whose speed does not (clock, turbo, a noisy neighbour
  that never leaves).

``fingerprint`` is the first 8 hex digits of the SHA-1 of the static facts plus a *speed bucket*,
``round(2 * log2(GFLOP/s))`` (half-octaves: hosts 1.8x apart always fall in different buckets).
``device_id`` is ``<slug of the CPU name>-<logical CPUs>c-<fingerprint>``, e.g.
``intel-xeon-processor-2c-3f9a0c12``.

One host stays one id across runs
---------------------------------
A speed measured on a shared machine moves by a few percent between runs, and a host whose speed
sits near a bucket edge would flip between two ids (the shared 2-core machine of this project
measures 107.3-109.2 GFLOP/s, across the 107.6 edge between buckets 13 and 14). So before it
hashes a bucket, :func:`identify` looks at the machines already measured in the user data
folder: one with the same static facts whose speed this run's is close to is this machine, and its
fingerprint is reused (the closest, if several). "Close" is asymmetric, because load only ever
slows a measurement down: this run may be up to :data:`SLOWER_RATIO` (1.6x) slower than the stored
speed (a busy machine) but at most :data:`SAME_HOST_RATIO` (1.25x) faster. Hosts 1.8x apart stay
apart either way. When a first measurement matches no stored host that shares the static facts,
:func:`this_machine` measures once more, longer (:data:`RETRY_SECONDS`), and keeps the faster of
the two, so a burst of load does not mint a new id. So a host keeps its id once it has rows;
only two hosts whose static facts agree and whose speeds differ by less than 1.6x can share an id,
which is the resolution of the signature. Without rows yet, the id comes from the bucket alone
(nothing is lost if it differs between two runs that wrote nothing).

:func:`this_machine` measures once per process (and per data folder) and caches the answer.
"""

from __future__ import annotations

import hashlib
import math
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from costmodel.io import latency_data
from costmodel.io.paths import user_latency_dir

SAME_HOST_RATIO = 1.25  # this run up to this much faster than a stored host: the same machine
SLOWER_RATIO = 1.6  # ... or up to this much slower (load only slows); both stay below 1.8
RETRY_SECONDS = 1.0  # the second, longer speed measurement when the first matches no host
BENCH_SECONDS = 0.15  # time the micro-benchmark takes (its best call is kept)
MATMUL_N = 64  # below OpenBLAS's multithreading threshold: one thread whatever the load
STATIC_FIELDS = ("cpu_model", "cpu_flags_hash", "cpu_cores", "logical_cpus", "memory_gib",
                 "torch_version", "onnxruntime_version", "python_version")
OPTIONAL_FIELD = "openvino_version"  # a static fact only when not '' (OpenVINO is an extra)


def static_facts(facts: Mapping[str, Any]) -> tuple[str, ...]:
    """The static facts a fingerprint hashes: :data:`STATIC_FIELDS`, then OpenVINO's version
    when it is installed (a record without it, e.g. a file written before the column existed,
    reads as not installed)."""
    ov = str(facts.get(OPTIONAL_FIELD) or "")
    return (*(str(facts[f]) for f in STATIC_FIELDS), *((ov,) if ov else ()))


@dataclass(frozen=True)
class Fingerprint:
    """This machine's identity (see the module docstring)."""

    cpu_model: str
    cpu_flags_hash: str
    cpu_cores: int
    logical_cpus: int
    memory_gib: int
    torch_version: str
    onnxruntime_version: str
    python_version: str
    matmul_gflops: float  # measured in this process
    fingerprint: str  # 8 hex digits
    device_id: str
    openvino_version: str = ""

    def static(self) -> tuple[str, ...]:
        return static_facts(asdict(self))

    def columns(self) -> dict[str, Any]:
        """The fingerprint columns of a latency row (latency_data.FINGERPRINT_COLUMNS)."""
        d = asdict(self)
        return {c: d[c] for c in latency_data.FINGERPRINT_COLUMNS}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _version(dist: str) -> str:
    """A distribution's version without importing it ('' if not installed)."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def matmul_gflops(seconds: float = BENCH_SECONDS) -> float:
    """Single-thread fp32 GFLOP/s of a batch of 64 products of 64x64 matrices (2 * 64^4 flops
    per call), from the fastest call within ``seconds`` (at least 5 calls)."""
    import numpy as np

    rng = np.random.default_rng(0)
    n = MATMUL_N
    a = rng.standard_normal((n, n, n), dtype=np.float32)
    b = rng.standard_normal((n, n, n), dtype=np.float32)
    out = np.empty_like(a)
    best, calls = math.inf, 0
    end = time.perf_counter() + seconds
    while calls < 5 or time.perf_counter() < end:
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
        calls += 1
    return 2 * n**4 / best / 1e9


@lru_cache(maxsize=1)
def probe() -> dict[str, Any]:
    """The raw facts of this machine: the static fields and ``matmul_gflops`` (measured once
    per process)."""
    desc = latency_data.cpu_description()
    flags = latency_data.cpu_flags() or [platform.machine()]
    return {"cpu_model": desc["cpu_model"],
            "cpu_flags_hash": hashlib.sha1(" ".join(flags).encode()).hexdigest()[:8],
            "cpu_cores": int(desc["cpu_cores"]), "logical_cpus": int(desc["logical_cpus"]),
            "memory_gib": int(desc["memory_gib"]), "torch_version": _version("torch"),
            "onnxruntime_version": _version("onnxruntime"),
            "python_version": platform.python_version(),
            OPTIONAL_FIELD: _version("openvino"),
            "matmul_gflops": round(matmul_gflops(), 3)}


def speed_bucket(gflops: float) -> int:
    """Half-octave bucket of a speed: round(2 * log2(GFLOP/s))."""
    return round(2 * math.log2(max(gflops, 1e-3)))


def _hash(static: tuple[str, ...], bucket: int) -> str:
    return hashlib.sha1("|".join([*static, str(bucket)]).encode()).hexdigest()[:8]


def identify(facts: dict[str, Any], data_dir: str | Path | None = None,
             known: Sequence[Mapping[str, Any]] | None = None) -> Fingerprint:
    """The fingerprint of the machine with these ``facts`` (:func:`probe`): the fingerprint of
    a machine already measured in the user data folder with the same static facts and a speed
    this run's is close to (up to :data:`SAME_HOST_RATIO` faster or :data:`SLOWER_RATIO` slower),
    else a new one from the speed bucket. ``known``: the machines to match instead of the data
    folder's (e.g. one file's, :func:`this_machine_writing`)."""
    static = static_facts(facts)
    speed = float(facts["matmul_gflops"])
    fp = _hash(static, speed_bucket(speed))
    best = math.inf
    for rec in latency_data.fingerprints(data_dir) if known is None else known:
        if static_facts(rec) != static or not rec["fingerprint"]:
            continue
        stored = float(rec["matmul_gflops"])
        gap = abs(math.log(stored / speed)) if stored > 0 else math.inf
        limit = SLOWER_RATIO if speed < stored else SAME_HOST_RATIO
        if gap <= math.log(limit) and gap < best:
            best, fp = gap, str(rec["fingerprint"])
    slug = latency_data.slug(str(facts["cpu_model"]))
    return Fingerprint(**{f: facts[f] for f in STATIC_FIELDS}, matmul_gflops=speed,
                       fingerprint=fp, device_id=f"{slug}-{facts['logical_cpus']}c-{fp}",
                       openvino_version=str(facts.get(OPTIONAL_FIELD) or ""))


@lru_cache(maxsize=8)
def _this_machine(latency_dir: str) -> Fingerprint:
    facts, data_dir = probe(), Path(latency_dir).parent
    found = identify(facts, data_dir)
    if not _is_known(found, data_dir) and _static_known(found, data_dir):
        # a host with these static facts has rows, but this speed matched none: measure again,
        # longer, and keep the faster reading (a burst of load only slows)
        retry = max(float(facts["matmul_gflops"]), round(matmul_gflops(RETRY_SECONDS), 3))
        found = identify({**facts, "matmul_gflops": retry}, data_dir)
    return found


def _is_known(fp: Fingerprint, data_dir: Path) -> bool:
    return any(str(k["fingerprint"]) == fp.fingerprint for k in latency_data.fingerprints(data_dir))


def _static_known(fp: Fingerprint, data_dir: Path) -> bool:
    return any(static_facts(k) == fp.static()
               for k in latency_data.fingerprints(data_dir))


def this_machine(data_dir: str | Path | None = None) -> Fingerprint:
    """This machine's fingerprint, as seen from the user data folder ``data_dir`` (see
    :func:`costmodel.io.paths.user_data_dir`); measured once per process and folder."""
    return _this_machine(str(user_latency_dir(data_dir).resolve()))


def this_machine_writing(path: str | Path, data_dir: str | Path | None = None) -> Fingerprint:
    """This machine's fingerprint for adding rows to the latency CSV at ``path`` (which may lie
    outside the data folder, e.g. ``bench --output-csv``): the file's own machine when its static
    facts and speed match this run's by the same rule as the data folder's machines (re-measured
    once, longer, on a mismatch), else :func:`this_machine`. A speed near a bucket edge thus
    never turns one host into two between a killed run and its resume."""
    here = this_machine(data_dir)
    rec = latency_data.file_fingerprint(path)
    if rec is None or not rec["fingerprint"] or str(rec["fingerprint"]) == here.fingerprint:
        return here
    facts = probe()
    if static_facts(facts) != here.static():
        return here
    for speed in (here.matmul_gflops, None):
        if speed is None:  # a burst of load only slows: measure again, longer, keep the faster
            speed = max(here.matmul_gflops, round(matmul_gflops(RETRY_SECONDS), 3))
        found = identify({**facts, "matmul_gflops": speed}, known=[rec])
        if found.fingerprint == str(rec["fingerprint"]):
            return found
    return here


def is_this_machine(fingerprint: Any, data_dir: str | Path | None = None) -> bool:
    """Whether a row's ``fingerprint`` is this machine's (never for empty ones: the reference
    device and the published phones)."""
    return bool(fingerprint) and str(fingerprint) == this_machine(data_dir).fingerprint


MACHINE_KINDS = ("this machine", "other machine", "imported", "reference", "published")


def devices(data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """Every device/backend/precision/threads/batch with latency rows
    (:func:`costmodel.io.latency_data.list_devices`) as plain dicts (NaN -> None), each with
    ``name`` (the one device vocabulary: what ``--device``, ``latency:<name>`` and
    ``--device-id`` accept), ``this_machine`` (measured on this machine: same fingerprint),
    ``machine`` (one of :data:`MACHINE_KINDS`) and the stored hardware limits of its thread
    count (``peak_gflops``, ``bandwidth_gbs``; None if not measured). This machine's rows
    first, then other machines', imported devices' (``costmodel latency import``), the reference
    devices', the published phones'."""

    frame = latency_data.list_devices(data_dir)
    out = []
    for rec in frame.to_dict("records"):
        row = {str(k): (None if isinstance(v, float) and math.isnan(v) else
                        v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
        threads = None if row["threads"] is None else int(row["threads"])
        row["threads"] = threads
        row["name"] = latency_data.DeviceSpec(str(row["device_id"]), str(row["backend"]),
                                              threads, str(row["precision"])).name()
        row["this_machine"] = is_this_machine(row.get("fingerprint"), data_dir)
        row["machine"] = ("published" if row["published"] else "reference" if row["reference"]
                          else "this machine" if row["this_machine"]
                          else "imported" if latency_data.is_imported(row.get("fingerprint"))
                          else "other machine")
        lim = None
        if not row["published"] and threads is not None:
            limits = latency_data.load_hardware(str(row["device_id"]), data_dir)["limits"]
            lim = limits.get(f"{row['device_type']}:{threads}")
        row["peak_gflops"] = lim["peak_gflops"] if lim else None
        row["bandwidth_gbs"] = lim["bandwidth_gbs"] if lim else None
        out.append(row)
    return sorted(out, key=lambda r: MACHINE_KINDS.index(r["machine"]))
