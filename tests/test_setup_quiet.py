"""Issue 14, a quiet first command: setuptools gets an SPDX license string (no deprecation
warnings), and scripts/setup.sh installs numpy with torch and imports torch only after the
project is installed (no "Failed to initialize NumPy")."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_an_spdx_string():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"  # a table ({text = ...}) is deprecated
    req = " ".join(meta["build-system"]["requires"])
    m = re.search(r"setuptools>=(\d+)", req)
    assert m and int(m.group(1)) >= 77  # PEP 639 license expressions


def test_setup_installs_numpy_with_torch_and_checks_torch_last():
    lines = [ln.strip() for ln in (ROOT / "scripts" / "setup.sh").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    torch_install = next(i for i, ln in enumerate(lines) if "install" in ln and "torch==" in ln)
    assert "numpy" in lines[torch_install]
    project = next(i for i, ln in enumerate(lines) if 'install -q -e ".[all,dev]"' in ln)
    first_import = next(i for i, ln in enumerate(lines) if "import torch" in ln)
    assert torch_install < project < first_import
    # a new user sees what is happening
    assert sum(ln.startswith('echo "setup: ') for ln in lines) >= 4
