"""Latency of any network (issue #11): rows carry their network, fits are per network, never
mixed; calibrate/predict/evaluate/pareto take --model/--spec. No test measures: rows come
from a known per-kernel truth (an injected measurement), as in test_latency_kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from costmodel.core.arch import network_key
from costmodel.errors import CostModelError
from costmodel.io import latency_data
from costmodel.latency import calibrate, kernel

DEV = "synthetic-nets"
RULE = kernel.Rule(8, 1)


def _theta(cols: list[kernel.Col]) -> np.ndarray:
    """A known truth: every group's compute at 10 GMAC/s (1e-7 ms per mult-add), plain paths
    3x slower, 5 us per layer."""
    th = np.zeros(len(cols))
    for i, c in enumerate(cols):
        if c.term == "M":
            th[i] = 1e-7 * (3 if c.path == "plain" else 1)
        elif c.term == "N":
            th[i] = 0.005
    return th


def _true_ms(spec: Any, a: float, r: int, rd: str) -> float:
    d = kernel.design([a], [r], [rd], rule=RULE, spec=spec)
    return float((d.x @ _theta(d.columns))[0])


def _measure(spec: Any) -> Any:
    def measure(alpha: float, resolution: int, opts: Any, data_dir: Any = None) -> dict[str, Any]:
        y = _true_ms(spec, alpha, resolution, opts.rounding)
        return {"device_id": DEV, "backend": opts.backend, "device_type": "cpu",
                "precision": "float32", "threads": opts.threads, "batch": 1,
                "channels_last": False, "alpha": alpha, "resolution": resolution,
                "variant": opts.variant, "rounding": opts.rounding, "classes": 1000,
                "spec": network_key(opts.spec), "median_ms": y, "min_ms": y, "iqr_ms": 0.0,
                "cpu_ms": y}
    return measure


def _write(path: Path, spec: Any, configs: list[tuple[float, int, str]]) -> None:
    from costmodel.latency.bench import BenchOptions

    for a, r, rd in configs:
        opts = BenchOptions(backend="onnxruntime", threads=1, rounding=rd, spec=spec)
        latency_data.append_row(path, _measure(spec)(a, r, opts))


def _grid(alphas: tuple[float, ...], resolutions: tuple[int, ...]) -> list[tuple[float, int, str]]:
    return [(a, r, rd) for a in alphas for r in resolutions for rd in ("int", "divisible8")]


@pytest.fixture
def two_networks(tmp_path: Path) -> Path:
    """One device with 24 resnet18 configs and 16 mobilenet_v1 configs (other truths: each
    network's own layers)."""
    kernel._fit_cached.cache_clear()
    path = latency_data.latency_path(DEV, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, "resnet18", _grid((0.25, 0.3, 0.5, 0.6, 0.75, 1.0), (96, 160)))
    _write(path, None, _grid((0.25, 0.5, 0.75, 1.0), (128, 224)))
    return tmp_path


def test_network_key() -> None:
    # built-ins are their names; a description as data: its name and a digest of its content
    assert network_key(None) == network_key("mobilenet_v1") == "mobilenet_v1"
    assert network_key("resnet18") == "resnet18"
    one = {"name": "resnet18", "layers": [{"type": "conv", "kernel": 3, "stride": 2, "out": 8},
                                          {"type": "avgpool"}, {"type": "fc"}]}
    two = {**one, "layers": [{"type": "conv", "kernel": 3, "stride": 2, "out": 16},
                             {"type": "avgpool"}, {"type": "fc"}]}
    k1, k2 = network_key(one), network_key(two)
    assert k1.startswith("resnet18-") and len(k1) == len("resnet18-") + 8
    assert k1 != k2 and k1 == network_key(dict(one))


def test_fits_are_per_network_and_never_mixed(two_networks: Path) -> None:
    r18 = kernel.fit_device(DEV, backend="onnxruntime", threads=1, spec="resnet18",
                            data_dir=two_networks)
    v1 = kernel.fit_device(DEV, backend="onnxruntime", threads=1, data_dir=two_networks)
    assert r18.meta["n_train"] == 24 and v1.meta["n_train"] == 16
    assert r18.network == "resnet18" and v1.network == "mobilenet_v1"
    # each fits its own network's truth (in the model's family: exact at its measured configs;
    # had rows of the other network been mixed in, no one theta could fit both)
    for spec, m, cfg in (("resnet18", r18, (0.3, 160, "int")), (None, v1, (0.75, 128, "int"))):
        assert m.predict(*cfg) == pytest.approx(_true_ms(spec, *cfg), rel=1e-6)
    # a cached fit of one network is never the other's
    again = kernel.fit_device(DEV, backend="onnxruntime", threads=1, spec="resnet18",
                              data_dir=two_networks)
    assert again.network == "resnet18" and again.columns == r18.columns


def test_network_without_rows_names_the_command(two_networks: Path) -> None:
    with pytest.raises(CostModelError) as e:
        kernel.fit_device(DEV, backend="onnxruntime", threads=1, spec="vgg16",
                          data_dir=two_networks)
    msg = str(e.value)
    assert "\n" not in msg and "no latency rows of network 'vgg16'" in msg
    assert msg.endswith("costmodel latency calibrate --model vgg16")
