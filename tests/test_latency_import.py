"""`costmodel latency import` (issue #13): latencies measured elsewhere as a named device that
serves pareto, recommend, the latency model and the explorer like a measured one; bad rows get a
line each and nothing half-imported is kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from costmodel.cli import main
from costmodel.core.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
ALPHAS = (0.25, 0.5, 0.75, 1.0)
RESOLUTIONS = (128, 160, 192, 224)
MS_PER_MMAC = 0.01  # the synthetic device: latency = 0.01 ms per million mult-adds, exactly


def _mult_adds(alpha: float, resolution: int, rounding: str = "slim") -> float:
    return float(sweep([alpha], [resolution], rounding=rounding).mult_adds.ravel()[0])


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _linear_csv(tmp_path: Path, *, int8_factor: float | None = None) -> Path:
    """16 configs at 0.01 ms/MMAC (fp32) and, with ``int8_factor``, int8 rows that much faster."""
    lines = ["alpha,resolution,ms,precision,rounding,backend,threads"]
    for a in ALPHAS:
        for r in RESOLUTIONS:
            ms = MS_PER_MMAC * _mult_adds(a, r) / 1e6
            lines.append(f"{a},{r},{ms:.6f},fp32,slim,tflite-cpu,4")
            if int8_factor:
                lines.append(f"{a},{r},{ms * int8_factor:.6f},int8,slim,tflite-cpu,4")
    return _write(tmp_path / "phone.csv", "\n".join(lines) + "\n")


def _run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_example_file_imports_and_lists_as_imported(user_data: Path, capsys: Any) -> None:
    code, out, err = _run(capsys, "latency", "import", str(ROOT / "examples/imported_latency.csv"),
                          "--device-id", "my-phone")
    assert code == 0, err
    # the example has 16 float and 16 uint8 rows (data/reference's Pixel 3 CPU column)
    assert "imported 32 rows" in out and "my-phone/tflite-cpu/4@uint8" in out
    assert (user_data / "latency" / "my-phone.csv").exists()
    code, out, _ = _run(capsys, "latency", "devices", "--format", "json")
    rows = {d["name"]: d for d in json.loads(out)["devices"]}
    assert rows["my-phone/tflite-cpu/4"]["machine"] == "imported"
    assert rows["my-phone/tflite-cpu/4"]["this_machine"] is False
    assert rows["my-phone/tflite-cpu/4@uint8"]["configs"] == 16


def test_data_dir_option_wins_over_the_environment(user_data: Path, tmp_path: Path,
                                                   capsys: Any) -> None:
    other = tmp_path / "other"
    code, _, err = _run(capsys, "latency", "import", str(_linear_csv(tmp_path)), "--device-id",
                        "lab", "--data-dir", str(other))
    assert code == 0, err
    assert (other / "latency" / "lab.csv").exists()
    assert not (user_data / "latency" / "lab.csv").exists()


def test_bad_rows_get_a_line_each_and_nothing_is_written(user_data: Path, tmp_path: Path,
                                                         capsys: Any) -> None:
    good = _linear_csv(tmp_path)
    assert _run(capsys, "latency", "import", str(good), "--device-id", "lab")[0] == 0
    stored = (user_data / "latency" / "lab.csv").read_bytes()
    bad = _write(tmp_path / "bad.csv", "alpha,resolution,ms,rounding,precision,threads\n"
                 "1.0,224,5.0,int,fp32,1\n"      # line 2: fine
                 "abc,224,5.0,int,fp32,1\n"      # line 3: alpha
                 "# a comment line is skipped\n"
                 "1.0,224,-1,int,fp32,1\n"       # line 5: ms <= 0
                 "1.0,224.5,3,int,fp32,1\n"      # line 6: resolution
                 "1.0,224,3,round,fp32,1\n"      # line 7: rounding
                 "1.0,224,3,int,fp4,1\n"         # line 8: precision
                 "1.0,224,3,int,fp32,0\n"        # line 9: threads
                 "1.0,224,3\n")                  # line 10: too few fields
    code, out, err = _run(capsys, "latency", "import", str(bad), "--device-id", "lab")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("costmodel: error: ") and "7 bad row(s); nothing was imported" in lines[0]
    assert [ln.split(":")[0] for ln in lines[1:]] == [f"line {n}" for n in (3, 5, 6, 7, 8, 9, 10)]
    assert "'abc'" in lines[1] and "allowed" in lines[1]
    assert "'-1'" in lines[2] and "> 0" in lines[2]
    assert "'224.5'" in lines[3]
    assert "'round'" in lines[4] and "divisible8" in lines[4]
    assert "'fp4'" in lines[5] and "int8" in lines[5]
    assert "'0'" in lines[6] and ">= 1" in lines[6]
    assert "3 fields" in lines[7]
    assert "Traceback" not in err
    # the earlier import is untouched and no temp file is left behind
    assert (user_data / "latency" / "lab.csv").read_bytes() == stored
    assert sorted(p.name for p in (user_data / "latency").iterdir()) == ["lab.csv"]


@pytest.mark.parametrize(("text", "needle"), [
    ("alpha,resolution\n1.0,224\n", "no column ms"),
    ("alpha,resolution,ms,latency_ms\n1.0,224,3,3\n", "unknown column 'latency_ms'"),
    ("alpha,resolution,ms\n", "no rows"),
    ("", "has no rows"),
])
def test_bad_headers_are_refused(tmp_path: Path, user_data: Path, capsys: Any, text: str,
                                 needle: str) -> None:
    code, _, err = _run(capsys, "latency", "import", str(_write(tmp_path / "x.csv", text)),
                        "--device-id", "lab")
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not (user_data / "latency" / "lab.csv").exists()


def test_names_an_import_may_not_take(tmp_path: Path, user_data: Path, capsys: Any) -> None:
    f = str(_linear_csv(tmp_path))
    for name, needle in (("pixel3", "shipped device"), ("reference-xeon-2c", "shipped device"),
                         ("Bad_Name", "is not valid")):
        code, _, err = _run(capsys, "latency", "import", f, "--device-id", name)
        assert code == 2 and needle in err, err
    # a device costmodel measured is never replaced by an import
    measured = user_data / "latency" / "mine.csv"
    measured.parent.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "data/latency/reference-xeon-2c.csv").read_text(encoding="utf-8")
    measured.write_text(text.replace("reference-xeon-2c,", "mine,"), encoding="utf-8")
    code, _, err = _run(capsys, "latency", "import", f, "--device-id", "mine")
    assert code == 2 and "never replaces" in err
    assert measured.read_text(encoding="utf-8") == text.replace("reference-xeon-2c,", "mine,")


def test_options_fill_columns_the_file_leaves_out(tmp_path: Path, user_data: Path,
                                                  capsys: Any) -> None:
    f = _write(tmp_path / "a.csv", "alpha,resolution,ms\n1.0,224,20\n0.5,128,3\n")
    code, out, err = _run(capsys, "latency", "import", str(f), "--device-id", "npu-box",
                          "--backend", "nnapi", "--threads", "2", "--precision", "int8")
    assert code == 0, err
    assert "npu-box/nnapi/2@int8" in out
    code, out, _ = _run(capsys, "pareto", "--x", "latency:npu-box/nnapi/2@int8", "--y", "top1",
                        "--format", "json")
    pts = {(p["alpha"], p["resolution"]): p["latency:npu-box/nnapi/2@int8"]
           for p in json.loads(out)["points"]}
    assert pts == {(1.0, 224): 20.0, (0.5, 128): 3.0}


def test_pareto_and_recommend_serve_the_imported_device(tmp_path: Path, user_data: Path,
                                                        capsys: Any) -> None:
    assert _run(capsys, "latency", "import", str(_linear_csv(tmp_path)), "--device-id", "lab")[0] == 0
    code, out, err = _run(capsys, "pareto", "--x", "latency:lab/tflite-cpu/4", "--y", "top1",
                          "--format", "json")
    assert code == 0, err
    got = {(p["alpha"], p["resolution"]): p["latency:lab/tflite-cpu/4"]
           for p in json.loads(out)["points"]}
    assert len(got) == 16
    assert got[(1.0, 224)] == pytest.approx(MS_PER_MMAC * _mult_adds(1.0, 224) / 1e6, abs=1e-6)
    # a budget equal to a config's latency is met (<=); a hair below it is not
    ms = round(MS_PER_MMAC * _mult_adds(1.0, 224) / 1e6, 6)
    code, out, _ = _run(capsys, "recommend", "--device", "lab/tflite-cpu/4", "--max-latency-ms",
                        f"{ms}", "--format", "json")
    assert code == 0 and json.loads(out)["best"]["label"] == "1.0-224"
    code, out, _ = _run(capsys, "recommend", "--device", "lab/tflite-cpu/4", "--max-latency-ms",
                        f"{ms - 1e-4}", "--format", "json")
    assert code == 0 and json.loads(out)["best"]["label"] != "1.0-224"


def test_latency_model_fits_imported_rows_per_precision(tmp_path: Path, user_data: Path,
                                                        capsys: Any) -> None:
    f = _linear_csv(tmp_path, int8_factor=0.5)
    assert _run(capsys, "latency", "import", str(f), "--device-id", "lab")[0] == 0
    before = (user_data / "latency" / "lab.csv").read_bytes()
    code, out, err = _run(capsys, "latency", "calibrate", "--device-id", "lab/tflite-cpu/4")
    assert code == 0, err
    assert "imported device, nothing measured here" in out and "16 imported configs" in out
    assert "held-out error on 4 of its own configs" in out
    assert (user_data / "latency" / "lab.csv").read_bytes() == before  # nothing measured
    # an off-grid config: 0.01 ms per MMAC (fp32); int8 rows are exactly half (fitted apart)
    want = MS_PER_MMAC * _mult_adds(0.6, 200) / 1e6
    preds = {}
    for name in ("lab/tflite-cpu/4", "lab/tflite-cpu/4@int8"):
        code, out, err = _run(capsys, "latency", "predict", "--device-id", name, "--alpha", "0.6",
                              "--resolution", "200", "--format", "json")
        assert code == 0, err
        data = json.loads(out)
        assert data["meta"]["imported"] is True and data["meta"]["n_train"] == 16
        preds[name] = data["predictions"][0]["predicted_ms"]
    assert preds["lab/tflite-cpu/4"] == pytest.approx(want, rel=0.05)
    assert preds["lab/tflite-cpu/4@int8"] == pytest.approx(want / 2, rel=0.05)
    code, out, err = _run(capsys, "latency", "evaluate", "--device-id", "lab/tflite-cpu/4",
                          "--split", "loo", "--format", "json")
    assert code == 0 and json.loads(out)["n_test"] == 16, err
    code, _, err = _run(capsys, "latency", "evaluate", "--device-id", "lab/tflite-cpu/4",
                        "--random", "2", "--no-progress")
    assert code == 2 and "imported figures only" in err


def test_the_explorer_lists_the_imported_device(tmp_path: Path, user_data: Path,
                                                capsys: Any) -> None:
    assert _run(capsys, "latency", "import", str(_linear_csv(tmp_path)), "--device-id", "lab")[0] == 0
    from dashboard import data

    labels = {o["value"]: o["label"] for o in data.device_options()}
    assert labels["lab/tflite-cpu/4"] == "lab \u00b7 tflite-cpu, 4 thr (imported)"
