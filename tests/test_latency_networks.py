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
    return _two_network_rows(tmp_path)


def _two_network_rows(root: Path) -> Path:
    """Write the two networks' rows on device DEV of the data folder ``root``; return ``root``."""
    kernel._fit_cached.cache_clear()
    path = latency_data.latency_path(DEV, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, "resnet18", _grid((0.25, 0.3, 0.5, 0.6, 0.75, 1.0), (96, 160)))
    _write(path, None, _grid((0.25, 0.5, 0.75, 1.0), (128, 224)))
    return root


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
    # each fits its own network's truth at its measured configs: V1's 16 configs exactly (every
    # rule that ties in cross-validation interpolates them); resnet18's 24 within 5% (of the 48
    # rules, cross-validation on 24 configs prefers align 1, block 8 with its part-filled-block
    # columns, mean CV error 1.4%, to the truth's align 8, block 1 at 8.7%); the n_train counts
    # above show that no row of the other network took part
    for spec, m, cfg, rel in (("resnet18", r18, (0.3, 160, "int"), 0.05),
                              (None, v1, (0.75, 128, "int"), 1e-6)):
        assert m.predict(*cfg) == pytest.approx(_true_ms(spec, *cfg), rel=rel)
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


# ------------------------------------------------------------------------------------------
# The calibration plan of any network
# ------------------------------------------------------------------------------------------
def test_mobilenet_v1_plan_unchanged() -> None:
    assert calibrate.network_plan(None, 64) == calibrate.network_plan("mobilenet_v1", 64) \
        == calibrate.plan(64)
    assert calibrate.random_configs(9, 3) == calibrate.random_configs(9, 3, "mobilenet_v1")


@pytest.mark.parametrize(("name", "res_range"), [
    ("resnet18", (96, 288)), ("mobilenet_v2", (96, 288)), ("efficientnet_b0", (96, 288)),
    # Inception V3's base is 299: 96 * 299 / 224 = 128.1 -> 128, 288 * 299 / 224 = 384.4 -> 384
    ("inception_v3", (128, 384))])
def test_network_plan_covers_alignment_and_its_range(name: str, res_range: tuple[int, int]
                                                     ) -> None:
    p = calibrate.network_plan(name, 64)
    a = [x[0] for x in p]
    r = [x[1] for x in p]
    assert calibrate.network_ranges(name) == (calibrate.ALPHA_RANGE, res_range)
    assert (min(a), max(a)) == calibrate.ALPHA_RANGE and (min(r), max(r)) == res_range
    assert {x[2] for x in p} == {"int", "divisible8"}
    got = {int(kernel.worst_alignment([x], [y], [z], spec=name)[0]) for x, y, z in p}
    # every alignment class the network has on the alpha grid: its best (all channel counts
    # multiples of 16 where it has one), multiples of 8 but not 16, and unaligned ones
    have = set(calibrate._grid_alignment(name, "int").tolist()) | set(
        calibrate._grid_alignment(name, "divisible8").tolist())
    want = {max(have), min(have)} | ({8} & have)
    assert want <= got
    assert min(got) < 8  # some configs have a channel count that is no multiple of 8


def test_network_plan_respects_the_resolutions_a_network_allows() -> None:
    desc = {"name": "tiny", "base_resolution": 32, "layers": [
        {"type": "conv", "kernel": 11, "stride": 4, "padding": 0, "out": 16},
        {"type": "maxpool", "kernel": 3, "stride": 2},
        {"type": "maxpool", "kernel": 3, "stride": 2},
        {"type": "avgpool"}, {"type": "fc"}]}
    # scaled range: 96 * 32 / 224 = 13.7 -> 14, 288 * 32 / 224 = 41.1 -> 41. The stem gives
    # s0 = floor((r - 11) / 4) + 1, the first pool s1 = (s0 - 3) // 2 + 1; the second pool needs
    # s1 >= 3, so s0 >= 7, so floor((r - 11) / 4) >= 6: r >= 35 (34 gives s0 6, s1 2: refused)
    (_, (lo, hi)) = calibrate.network_ranges(desc)
    assert (lo, hi) == (35, 41)
    assert min(x[1] for x in calibrate.network_plan(desc, 16)) == 35


# ------------------------------------------------------------------------------------------
# The commands: calibrate / predict / evaluate --model, --spec
# ------------------------------------------------------------------------------------------
@pytest.fixture
def small_plan(monkeypatch: Any) -> None:
    """A 24-config plan and the known truth as the measurement (nothing is timed)."""
    full = calibrate.network_plan
    monkeypatch.setattr(calibrate, "network_plan", lambda spec, n=24, seed=0: full(spec, 24, seed))

    def fake(alpha: float, resolution: int, opts: Any, data_dir: Any = None) -> dict[str, Any]:
        return _measure(opts.spec)(alpha, resolution, opts)
    monkeypatch.setattr(calibrate, "_default_measure", fake)
    kernel._fit_cached.cache_clear()


def _run(args: list[str], capsys: Any) -> tuple[int, str, str]:
    from costmodel.cli import main

    rc = main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_calibrate_predict_evaluate_model(tmp_path: Path, small_plan: None, capsys: Any) -> None:
    dd = ["--device-id", DEV, "--data-dir", str(tmp_path)]
    rc, out, _ = _run(["latency", "calibrate", "--model", "resnet18", "--budget-s", "120",
                       "--no-progress", *dd], capsys)
    assert rc == 0
    assert out.startswith(f"{DEV} onnxruntime 1 thread(s) resnet18: measured 24 configs")
    rows = latency_data.read_rows(latency_data.latency_path(DEV, tmp_path))
    assert len(rows) == 24 and {r["spec"] for r in rows} == {"resnet18"}
    # predict --model: the network's own fit (in the family: exact at a measured config)
    a, r, rd = calibrate.network_plan("resnet18", 24)[5]
    rc, out, _ = _run(["latency", "predict", "--model", "resnet18", "--alpha", str(a),
                       "--resolution", str(r), "--rounding", rd, "--format", "json", *dd], capsys)
    import json

    doc = json.loads(out)
    assert rc == 0 and doc["predictions"][0]["predicted_ms"] == pytest.approx(
        _true_ms("resnet18", a, r, rd), rel=1e-6)
    assert doc["predictions"][0]["measured_ms"] == pytest.approx(_true_ms("resnet18", a, r, rd))
    # mobilenet_v1 has no rows on this device: one line naming the command, exit 2
    rc, out, err = _run(["latency", "predict", "--alpha", "0.5", *dd], capsys)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "no latency rows of network 'mobilenet_v1'" in err
    assert "costmodel latency calibrate --model mobilenet_v1" in err
    # evaluate --random --model: fresh configs of resnet18, scored against its own fit
    rc, out, _ = _run(["latency", "evaluate", "--model", "resnet18", "--random", "6",
                       "--no-progress", "--format", "json", *dd], capsys)
    doc = json.loads(out)
    assert rc == 0 and doc["n"] == 6
    want = calibrate.random_configs(6, 0, "resnet18")
    assert [(x["alpha"], x["resolution"], x["rounding"]) for x in doc["rows"]] == want


def test_calibrate_spec_file(tmp_path: Path, small_plan: None, capsys: Any) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text("name: mynet\nlayers:\n  - {type: conv, kernel: 3, stride: 2, out: 32}\n"
                    "  - {type: separable, stride: 2, out: 64}\n  - {type: avgpool}\n"
                    "  - {type: fc}\n")
    key = network_key(str(spec))
    dd = ["--device-id", DEV, "--data-dir", str(tmp_path)]
    rc, out, _ = _run(["latency", "calibrate", "--spec", str(spec), "--budget-s", "120",
                       "--no-progress", *dd], capsys)
    assert rc == 0 and f" {key}: measured 24 configs" in out
    rows = latency_data.read_rows(latency_data.latency_path(DEV, tmp_path))
    assert {r["spec"] for r in rows} == {key}
    rc, out, _ = _run(["latency", "predict", "--spec", str(spec), "--alpha", "0.5",
                       "--resolution", "160", *dd], capsys)
    assert rc == 0 and f"per-kernel model of {key} fitted on 24 measured" in out
    # the file edited: another network, whose rows are not these
    spec.write_text(spec.read_text().replace("out: 64", "out: 48"))
    rc, _, err = _run(["latency", "predict", "--spec", str(spec), "--alpha", "0.5", *dd], capsys)
    assert rc == 2 and f"costmodel latency calibrate --spec {spec}" in err


# ------------------------------------------------------------------------------------------
# pareto / recommend: latency: and latency_pred: objectives of a network
# ------------------------------------------------------------------------------------------
@pytest.fixture
def user_device(user_data: Path) -> Path:
    """The two networks' rows on a device of the test's user data folder."""
    return _two_network_rows(user_data)


def test_pareto_latency_of_a_network(user_device: Path, capsys: Any) -> None:
    from costmodel.search.pareto import points

    f = points(["mult_adds", f"latency:{DEV}"], spec="resnet18")
    # the candidates are resnet18's measured configs of its own rounding (int): 6 x 2, not
    # mobilenet_v1's (alpha 0.25..1 x 128/224)
    got = sorted(zip(f["alpha"].tolist(), f["resolution"].tolist(), strict=True))
    assert got == sorted((a, r) for a in (0.25, 0.3, 0.5, 0.6, 0.75, 1.0) for r in (96, 160))
    for a, r, ms in zip(f["alpha"], f["resolution"], f[f"latency:{DEV}"], strict=True):
        assert ms == pytest.approx(_true_ms("resnet18", a, r, "int"))
    p = points(["mult_adds", f"latency_pred:{DEV}"], spec="resnet18", configs=[(0.6, 160)])
    # resnet18's own model (within 5%: see test_fits_are_per_network_and_never_mixed); the
    # mobilenet_v1 truth at the same config is 3x smaller (31.7 vs 96.0 ms)
    assert _true_ms(None, 0.6, 160, "int") < _true_ms("resnet18", 0.6, 160, "int") / 3
    assert p[f"latency_pred:{DEV}"].iloc[0] == pytest.approx(_true_ms("resnet18", 0.6, 160, "int"),
                                                             rel=0.05)
    with pytest.raises(CostModelError, match="no latency rows of network 'vgg16'.*"
                                             "costmodel latency calibrate --model vgg16$"):
        points(["mult_adds", f"latency:{DEV}"], spec="vgg16")
    # mobilenet_v1's points read only its own rows: its 4 x 2 int configs
    v1 = points(["mult_adds", f"latency:{DEV}"], grid=True)
    assert len(v1) == 8


def test_pareto_cli_model_latency(user_device: Path, capsys: Any) -> None:
    from costmodel.cli import main

    assert main(["pareto", "--model", "resnet18", "--x", "mult_adds", "--y",
                 f"latency:{DEV}", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 + 12  # header and resnet18's 12 int configs
    assert main(["pareto", "--model", "mobilenet_v2", "--x", "mult_adds", "--y",
                 f"latency:{DEV}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "costmodel latency calibrate --model mobilenet_v2" in err


def test_default_backend_is_one_the_network_was_measured_with(tmp_path: Path) -> None:
    from costmodel.latency.bench import BenchOptions

    path = latency_data.latency_path(DEV, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, None, _grid((0.5, 1.0), (128,)))  # mobilenet_v1 on onnxruntime
    for a in (0.5, 1.0):  # resnet18 on torch only
        opts = BenchOptions(backend="torch", threads=1, rounding="int", spec="resnet18")
        latency_data.append_row(path, _measure("resnet18")(a, 96, opts))
    t = latency_data.latency_table(DEV, network="resnet18", data_dir=tmp_path)
    assert set(t["backend"]) == {"torch"} and len(t) == 2
    t = latency_data.latency_table(DEV, data_dir=tmp_path)  # mobilenet_v1: onnxruntime first
    assert set(t["backend"]) == {"onnxruntime"} and len(t) == 2


def test_evaluate_split_reads_the_networks_rows(two_networks: Path, capsys: Any) -> None:
    # the per-kernel model's held-out evaluation (loo) on resnet18's 24 configs only (6 alphas
    # x 2 resolutions x 2 roundings, each fit on the other 23); mobilenet_v1's 16 configs are
    # another evaluation
    from costmodel.latency import kernel

    m = kernel.measured(DEV, backend="onnxruntime", threads=1, spec="resnet18",
                        data_dir=two_networks)
    ev = kernel.evaluate_split(m, "loo", spec="resnet18")
    assert ev.n_test == 24 and ev.n_train == 23
    assert {r["spec"] for r in ev.rows} == {"resnet18"}
    v1 = kernel.measured(DEV, backend="onnxruntime", threads=1, data_dir=two_networks)
    assert kernel.evaluate_split(v1, "loo").n_test == 16
    rc, out, _ = _run(["latency", "evaluate", "--model", "resnet18", "--device-id", DEV,
                       "--data-dir", str(two_networks), "--split", "loo", "--format", "json"],
                      capsys)
    import json

    doc = json.loads(out)
    assert rc == 0 and doc["n_test"] == 24 and doc["spec"] == "resnet18"
    assert [r["predicted_ms"] for r in doc["rows"]] == pytest.approx(
        [r["predicted_ms"] for r in ev.rows])


def test_recommend_model_with_predicted_latency(user_device: Path) -> None:
    from costmodel.search.recommend import recommend

    dev = DEV + "/onnxruntime/1"
    # resnet18's one published top-1 config (1.0-224) is outside its calibrated resolutions
    # (96..160): no prediction there, so nothing to recommend, and it says why in one line
    with pytest.raises(CostModelError) as e:
        recommend(max_latency_ms=1e6, device=dev, predicted_latency=True, spec="resnet18")
    assert "resolution 224 is outside the calibrated range 96..160" in str(e.value)
    assert "\n" not in str(e.value)
    # mobilenet_v2 has no rows on the device: refused naming the command
    with pytest.raises(CostModelError, match="calibrate --model mobilenet_v2"):
        recommend(max_latency_ms=1e6, device=dev, predicted_latency=True, spec="mobilenet_v2")


# ------------------------------------------------------------------------------------------
# latency import: a model column
# ------------------------------------------------------------------------------------------
def test_import_rows_of_another_network(tmp_path: Path, capsys: Any) -> None:
    from costmodel.latency.imported import import_latency

    kernel._fit_cached.cache_clear()
    cfgs = _grid((0.25, 0.3, 0.5, 0.6, 0.75, 1.0), (96, 160))
    lines = ["alpha,resolution,ms,rounding,model"]
    lines += [f"{a},{r},{_true_ms('resnet18', a, r, rd):.6f},{rd},resnet18" for a, r, rd in cfgs]
    lines += [f"{a},{r},{_true_ms(None, a, r, 'int'):.6f},int," for a, r in ((0.5, 128), (1.0, 128))]
    src = tmp_path / "phone.csv"
    src.write_text("\n".join(lines) + "\n")
    _, rows = import_latency(src, "my-phone", data_dir=tmp_path)
    assert [r["spec"] for r in rows] == ["resnet18"] * 24 + ["mobilenet_v1"] * 2  # blank: V1
    m = kernel.fit_device("my-phone", spec="resnet18", data_dir=tmp_path)
    assert m.meta["n_train"] == 24 and m.meta["imported"]
    a, r, rd = cfgs[7]
    # resnet18's own model, within 5% (the rule chosen on 24 configs: see
    # test_fits_are_per_network_and_never_mixed)
    assert m.predict(a, r, rd) == pytest.approx(_true_ms("resnet18", a, r, rd), rel=0.05)
    bad = tmp_path / "bad.csv"
    bad.write_text("alpha,resolution,ms,model\n1.0,224,30,resnet19\n")
    with pytest.raises(CostModelError) as e:
        import_latency(bad, "my-phone2", data_dir=tmp_path)
    assert "line 2: model 'resnet19' is unknown; allowed: mobilenet_v1, " in str(e.value)
    assert not latency_data.latency_path("my-phone2", tmp_path).exists()  # nothing written
