"""Stored per-layer-type profiles (data/latency/<device-id>.profile.csv): round trip, replacing a
profile of the same configuration, atomic writes, bad input; and the profile script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from costmodel.core.breakdown import breakdown
from costmodel.core.kinds import OTHER, LayerType
from costmodel.errors import CostModelError
from costmodel.io import latency_data as ld
from costmodel.latency import profiles
from costmodel.latency.fingerprint import this_machine

ROOT = Path(__file__).resolve().parents[1]


def _config(alpha: float, resolution: int, **extra: object) -> dict[str, object]:
    return {"device": "test cpu", "backend": "torch", "device_type": "cpu", "threads": 1,
            "batch": 1, "channels_last": False, "alpha": alpha, "resolution": resolution,
            "variant": "mobilenet_v1", "rounding": "int", "classes": 1000, "convention": "paper",
            "runs": 5, "loadavg_start": 0.5, "torch_version": "x", "date": "2026-01-01", **extra}


def _rows(alpha: float, resolution: int, time_scale: float = 1.0) -> list[dict[str, object]]:
    # Mult-adds from the engine (breakdown); times any positive numbers. Types by their Table 2
    # name, as the profile file stores them.
    return [{"type": str(r["type"]), "layers": 1, "time_ms": time_scale * (i + 1),
             "time_pct": 100.0 * (i + 1) / 15, "mult_adds": r["mult_adds"],
             "mult_adds_pct": r["mult_adds_pct"]}
            for i, r in enumerate(breakdown(alpha, resolution))]


def test_round_trip_and_labels(tmp_path: Path) -> None:
    assert ld.load_profiles("dev-a", tmp_path) == []
    ld.save_profile("dev-a", _config(1.0, 224), _rows(1.0, 224), data_dir=tmp_path)
    ld.save_profile("dev-a", _config(0.25, 128), _rows(0.25, 128), data_dir=tmp_path)
    got = ld.load_profiles("dev-a", tmp_path)
    assert [p["label"] for p in got] == ["1.0-224", "0.25-128"]
    assert got[0]["rows"] == _rows(1.0, 224)  # numbers come back as numbers
    assert got[1]["alpha"] == 0.25 and got[1]["resolution"] == 128 and got[1]["threads"] == 1
    assert got[0]["channels_last"] is False
    # A profile file is not a latency device and does not disturb the latency loaders.
    assert "dev-a" not in ld.device_ids(tmp_path)
    # every device: the user data folder's, merged with the shipped reference device's
    ids = [p["device_id"] for p in ld.load_profiles(None, tmp_path)]
    assert ids[:2] == ["dev-a", "dev-a"] and set(ids[2:]) == {"reference-xeon-2c"}


def test_the_latency_layer_reads_the_types_back(tmp_path: Path) -> None:
    # The file stores Table 2 names ("Conv DW 3x3", "other"); costmodel.latency.profiles gives
    # them back as the LayerType values the engine's rows hold (OTHER as is), the rest unchanged.
    rows = [*_rows(1.0, 224), {"type": OTHER, "layers": 0, "time_ms": 0.5, "time_pct": 3.0,
                               "mult_adds": 0, "mult_adds_pct": 0.0}]
    ld.save_profile("dev-a", _config(1.0, 224), rows, data_dir=tmp_path)
    (got,) = profiles.load_profiles("dev-a", tmp_path)
    assert [r["type"] for r in got["rows"]] == [r["type"] for r in breakdown(1.0, 224)] + [OTHER]
    assert all(isinstance(r["type"], LayerType) for r in got["rows"][:-1])
    (text,) = ld.load_profiles("dev-a", tmp_path)
    assert [{**r, "type": str(r["type"])} for r in got["rows"]] == text["rows"]
    assert {k: v for k, v in got.items() if k != "rows"} == {k: v for k, v in text.items()
                                                             if k != "rows"}
    path = ld.profile_path("dev-a", tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(",Conv DW 3x3,", ",Conv DW 3,"),
                    encoding="utf-8")
    with pytest.raises(CostModelError, match="layer type 'Conv DW 3' is unknown"):
        profiles.load_profiles("dev-a", tmp_path)


def test_same_config_is_replaced_other_configs_kept(tmp_path: Path) -> None:
    ld.save_profile("dev-a", _config(1.0, 224), _rows(1.0, 224), data_dir=tmp_path)
    ld.save_profile("dev-a", _config(1.0, 224, threads=2), _rows(1.0, 224), data_dir=tmp_path)
    ld.save_profile("dev-a", _config(1.0, 224), _rows(1.0, 224, time_scale=3.0), data_dir=tmp_path)
    got = ld.load_profiles("dev-a", tmp_path)
    assert [(p["label"], p["threads"]) for p in got] == [("1.0-224", 2), ("1.0-224", 1)]
    assert got[1]["rows"][0]["time_ms"] == 3.0
    assert not [p for p in (tmp_path / "latency").iterdir() if p.name.startswith(".")]  # no temp


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(CostModelError, match="device id 'Bad Id' is not valid"):
        ld.save_profile("Bad Id", _config(1.0, 224), _rows(1.0, 224), data_dir=tmp_path)
    with pytest.raises(CostModelError, match="no profile rows"):
        ld.save_profile("dev-a", _config(1.0, 224), [], data_dir=tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CostModelError, match="cannot be created"):
        ld.save_profile("dev-a", _config(1.0, 224), _rows(1.0, 224), data_dir=blocker / "sub")
    assert list(tmp_path.iterdir()) == [blocker]


def test_a_torn_last_line_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = ld.save_profile("dev-a", _config(1.0, 224), _rows(1.0, 224), data_dir=tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + text.splitlines()[1][:20], encoding="utf-8")  # partial line, no newline
    n = len(text.splitlines()) + 1
    with pytest.raises(CostModelError, match=f"dev-a.profile.csv' line {n} is corrupt"):
        ld.load_profiles("dev-a", tmp_path)


def test_script_rejects_bad_config(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "store_layer_profiles.py"),
                          "--configs", "1.0x224", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert out.stderr.strip() == ("store_layer_profiles: error: config '1.0x224' is not valid; "
                                  "allowed: ALPHA-RESOLUTION, e.g. 1.0-224")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_script_profiles_and_stores(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="profiling needs torch")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "store_layer_profiles.py"),
                          "--configs", "0.25-64", "--runs", "2", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    # this machine's profile (the reference device's are merged in on read); the id of a machine
    # without latency rows may fall either side of a speed-bucket edge, so only its slug is fixed
    (profile,) = [p for p in ld.load_profiles(None, tmp_path) if not ld.is_reference(p["device_id"])]
    slug = ld.slug(this_machine(tmp_path).cpu_model)
    assert profile["label"] == "0.25-64" and profile["device_id"].startswith(slug)
    by_type = {r["type"]: r for r in profile["rows"]}  # stored as the type's Table 2 name
    ma = {str(r["type"]): r["mult_adds"] for r in breakdown(0.25, 64)}
    assert {t: by_type[t]["mult_adds"] for t in ma} == ma
    assert sum(r["time_pct"] for r in profile["rows"]) == pytest.approx(100.0, abs=0.5)
