"""The report notebooks: stored clean (no outputs, kernel ``python3``) and run top to bottom.

Each notebook is executed with nbclient in a fresh ``python3`` kernel (jupyter_client starts it
with this interpreter), with ``notebooks/`` as the working directory, as a user opening it would.
A cell that raises fails the test. Every notebook must also write the figures it names, as PNG
and PDF, non-empty.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = ["01_reproducing_the_paper", "02_scaling", "03_latency", "04_choosing_a_configuration"]
CELL_TIMEOUT_S = 120


def test_every_notebook_is_present() -> None:
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_clean(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    spec = nb["metadata"]["kernelspec"]
    assert spec["name"] == "python3"
    assert spec["display_name"] == "Python 3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a notebook without code"
    for i, cell in enumerate(code):
        assert cell.get("outputs") == [], f"code cell {i} is stored with outputs"
        assert cell.get("execution_count") is None, f"code cell {i} is stored with a count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_the_library_only(path: Path) -> None:
    """No notebook re-measures latency or computes costs itself: it imports costmodel and draws
    with costmodel.report.plots (no matplotlib/pyplot of its own, no torch, no bench)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    source = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert re.search(r"^from costmodel.report import [^\n]*\bplots\b", source, re.M)
    for forbidden in ("import matplotlib", "pyplot", "import torch", "costmodel.latency.bench",
                      "measure(", "run_grid(", "profile_layers(", '"bench"'):
        assert forbidden not in source, f"{path.name} uses {forbidden!r}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (no python3 kernel)")
    nb = nbformat.read(path, as_version=4)
    # The folder the notebook names for its figures, read from its own source.
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    m = re.search(r'FIG_DIR = Path\("figures"\) / "([^"]+)"', source)
    assert m, "the notebook does not name its figure folder"
    fig_dir = NOTEBOOKS_DIR / "figures" / m.group(1)
    for old in fig_dir.glob("*") if fig_dir.is_dir() else []:
        old.unlink()
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    client.execute()  # raises CellExecutionError naming the failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    saved = re.findall(r'save_figure\([^\n]*?FIG_DIR, "([A-Za-z0-9_.-]+)"', source)
    assert saved, "the notebook saves no figure"
    for name in saved:
        for ext in ("png", "pdf"):
            f = fig_dir / f"{name}.{ext}"
            assert f.is_file() and f.stat().st_size > 1000, f"{f} missing or empty"
    # Figures are shown in the notebook as the PNG that was written.
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if "image/png" in o.get("data", {})]
    assert len(shown) >= len(saved)
