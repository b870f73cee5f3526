"""CLI: golden outputs, JSON shape, every bad input (one line, exit 2, no traceback), no heavy
imports, atomic output files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from costmodel.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("name,argv", [
    ("table_alpha_0.75.txt", ["table", "--alpha", "0.75"]),
    ("table_0.5_160.md", ["table", "--alpha", "0.5", "--resolution", "160", "--format", "markdown"]),
    ("table_fvcore.csv", ["table", "--convention", "fvcore", "--format", "csv"]),
    ("table_shallow.tex", ["table", "--variant", "shallow", "--format", "latex"]),
    ("breakdown.txt", ["breakdown"]),
    ("reproduce.txt", ["reproduce"]),
    ("formula.txt", ["formula"]),
    ("sweep.csv", ["sweep", "--alpha", "0.25:1.0:0.25", "--resolution", "96:320:32", "--format", "csv"]),
])
def test_golden_outputs(capsys, golden, name, argv):
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 0 and err == ""
    golden(name, out)


def test_table_json_shape(capsys):
    rc, out, _ = run_cli(capsys, "table", "--alpha", "0.75", "--format", "json")
    doc = json.loads(out)
    assert set(doc) == {"config", "layers", "totals"}
    assert doc["config"]["alpha"] == 0.75
    assert isinstance(doc["totals"]["mult_adds"], int) and isinstance(doc["totals"]["params"], int)
    assert doc["totals"]["mult_adds"] == sum(r["mult_adds"] for r in doc["layers"])
    # 0.75 MobileNet-224, Table 5: 325M mult-adds, 2.6M params
    assert round(doc["totals"]["mult_adds"] / 1e6) == 325 and round(doc["totals"]["params"] / 1e6, 1) == 2.6


def test_rho_option(capsys):
    _, a, _ = run_cli(capsys, "table", "--rho", "0.714", "--format", "json")
    _, b, _ = run_cli(capsys, "table", "--resolution", "160", "--format", "json")
    assert json.loads(a)["totals"] == json.loads(b)["totals"]  # round(224 * 0.714) = 160


BAD = [
    (["table", "--alpha", "0"], "alpha '0'"),
    (["table", "--alpha", "-0.5"], "alpha '-0.5'"),
    (["table", "--alpha", "nan"], "alpha 'nan'"),
    (["table", "--alpha", "inf"], "alpha 'inf'"),
    (["table", "--alpha", "wide"], "alpha 'wide' is not a number"),
    (["table", "--alpha", "0.001"], "0 channels"),
    (["table", "--resolution", "0"], "resolution"),
    (["table", "--resolution", "-224"], "resolution"),
    (["table", "--resolution", "100.5"], "resolution '100.5' is not an integer"),
    (["table", "--rho", "-1"], "rho '-1'"),
    (["table", "--variant", "huge"], "variant 'huge' is unknown"),
    (["table", "--rounding", "ceil"], "rounding 'ceil' is unknown"),
    (["table", "--convention", "flops"], "convention 'flops' is unknown"),
    (["table", "--format", "xml"], "format 'xml' is unknown"),
    (["table", "--classes", "ten"], "classes 'ten'"),
    (["table", "--spec", "/no/such/file.json"], "does not exist"),
    (["table", "--resolution", "224", "--rho", "1"], "not allowed with"),
    (["sweep", "--alpha", "1:0:0.1"], "alpha '1:0:0.1'"),
    (["sweep", "--resolution", "96:abc:32"], "resolution '96:abc:32'"),
    (["reproduce", "--section", "table99"], "section 'table99' is unknown"),
    (["nosuchcommand"], "invalid choice"),
]


@pytest.mark.parametrize("argv,needle", BAD, ids=lambda x: " ".join(x) if isinstance(x, list) else "")
def test_bad_input_one_line_exit_2(capsys, argv, needle):
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert out == ""


def test_malformed_spec_file(capsys, tmp_path):
    p = tmp_path / "net.yaml"
    p.write_text("layers:\n  - {type: conv, out: 8}\n  - {type: separable, out: eight}\n")
    rc, _, err = run_cli(capsys, "table", "--spec", str(p))
    assert rc == 2 and "layers[1]: field 'out' is 'eight'" in err


def test_output_file_is_atomic(capsys, tmp_path):
    out = tmp_path / "t.json"
    out.write_text("previous")
    rc, _, _ = run_cli(capsys, "table", "--alpha", "0", "--format", "json", "-o", str(out))
    assert rc == 2 and out.read_text() == "previous"  # untouched on error
    rc, _, _ = run_cli(capsys, "table", "--format", "json", "-o", str(out))
    assert rc == 0 and json.loads(out.read_text())["totals"]["mult_adds"] == 568_740_352
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]  # no temp files left


@pytest.mark.parametrize("args, total", [
    (["table", "--alpha", "0.75"], "total: 325.40 M mult-adds"),
    (["table", "--model", "resnet18"], "resnet18"),
])
def test_console_script_no_heavy_imports(args, total):
    """`costmodel table --alpha 0.75` exactly as a user types it (and a built-in network by
    name), in a fresh interpreter: no heavy module, not even numpy (the latency parsers name
    their statistics from the numpy-free costmodel.latency.stats)."""
    code = (f"import sys; from costmodel.cli import main; rc = main({args!r}); "
            "heavy = [m for m in ('torch', 'fvcore', 'dash', 'matplotlib', 'plotly', 'pandas', "
            "'onnxruntime', 'openvino', 'sympy', 'numpy') if m in sys.modules]; "
            "print('HEAVY', heavy, file=sys.stderr); sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert p.returncode == 0
    assert "HEAVY []" in p.stderr
    assert total in p.stdout


def test_console_script_installed():
    exe = Path(sys.executable).with_name("costmodel")
    if not exe.exists():
        pytest.skip("console script not installed in this environment (pip install -e .)")
    p = subprocess.run([str(exe), "table", "--alpha", "0.75"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "conv_pw_13" in p.stdout
    p = subprocess.run([str(exe), "table", "--alpha", "0"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_output_file_mode_follows_umask(capsys, tmp_path):
    out = tmp_path / "t.csv"
    old = os.umask(0o022)
    try:
        rc, _, _ = run_cli(capsys, "table", "--format", "csv", "-o", str(out))
    finally:
        os.umask(old)
    assert rc == 0 and (out.stat().st_mode & 0o777) == 0o644  # 0666 & ~0022


@pytest.mark.parametrize("argv, title", [
    (["--model", "resnet18"], "costmodel verify: resnet18 alpha=1 resolution=64 rounding=int "),
    (["--variant", "shallow"], "costmodel verify: mobilenet_v1 variant=shallow alpha=1 "
                               "resolution=64 rounding=int "),
])
def test_verify_title_names_a_network_once(capsys, argv, title):
    """verify's title shows the variant only when it is not the network itself (it read
    "resnet18 variant=mobilenet_v1"), the same rule as table's title (config_title)."""
    rc, out, _ = run_cli(capsys, "verify", *argv, "--alpha", "1.0", "--resolution", "64",
                         "--counters", "none")
    assert rc == 0
    assert out.splitlines()[0].startswith(title)
