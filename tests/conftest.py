"""Shared fixtures. Tests read published figures from the project's data/ folder only.

Every test runs with ``COSTMODEL_DATA_DIR`` set to a fresh temp folder (autouse fixture
``user_data``), so no test reads the user's measurements or writes into the real home folder;
and the session fails if any test changed the repository's data/ folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def _tree_state(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def user_data(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's user data folder (COSTMODEL_DATA_DIR), empty at the start; subprocesses
    inherit it. XDG_DATA_HOME points into it too, so nothing falls back to the real home."""
    folder = tmp_path_factory.mktemp("user-data")
    monkeypatch.setenv("COSTMODEL_DATA_DIR", str(folder))
    monkeypatch.setenv("XDG_DATA_HOME", str(folder / "xdg"))
    return folder


@pytest.fixture(scope="session", autouse=True)
def repo_data_untouched() -> Any:
    """No test writes into the repository's data/ folder."""
    before = _tree_state(DATA)
    yield
    after = _tree_state(DATA)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"tests changed files under {DATA}: {changed[:5]}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/* from the current output instead of comparing")


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """golden(name, text): compare text with tests/golden/<name>, or rewrite it with --update-golden."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = ROOT / "tests" / "golden" / name
        if update or not path.exists():
            if not update:
                pytest.fail(f"golden file {path} missing; run pytest --update-golden to create it")
            path.write_text(text, encoding="utf-8")
            return
        assert text == path.read_text(encoding="utf-8"), f"output differs from {path}"

    return check
