"""The package's layers: a lower layer never imports a higher one (issue 12).

Order, lowest first (see costmodel/__init__.py): errors, io, core, crosscheck, latency, search,
report, cli. Imports are read from the source (module level and inside functions alike), so a lazy
import that reaches upwards is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "costmodel"
LAYERS = ("errors", "io", "core", "crosscheck", "latency", "search", "report", "cli")


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "costmodel" or len(parts) < 2:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            if node.module == "costmodel":  # from costmodel import io
                found += [f"costmodel.{a.name}" for a in node.names]
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if p.parent != PKG or p.name != "__init__.py")


def test_every_module_sits_in_a_layer() -> None:
    for path in _modules():
        rel = path.relative_to(PKG)
        top = rel.parts[0].removesuffix(".py")
        assert top in LAYERS or top == "__main__", f"{rel} is in no layer"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_no_upward_import(path: Path) -> None:
    rel = path.relative_to(PKG)
    own = rel.parts[0].removesuffix(".py")
    if own == "__main__":
        return
    mine = LAYERS.index(own)
    for module in _imports(path):
        theirs = _layer(module)
        assert theirs is None or theirs <= mine, (
            f"{rel} ({own}) imports {module} ({LAYERS[theirs]}), a higher layer")


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    # The checker itself must fail on a violation: core importing search.
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from costmodel.search import pareto\n")
    assert [m for m in _imports(bad) if (_layer(m) or 0) > LAYERS.index("core")] == [
        "costmodel.search"]


# ---------------------------------------------------------------------------------------------
# costmodel.io.files: the one atomic writer and the one data-version key
# ---------------------------------------------------------------------------------------------
def test_atomic_write_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    from costmodel.io.files import atomic_path, write_text_atomic

    target = tmp_path / "out.txt"
    write_text_atomic(target, "old\n", mode=0o640)
    assert target.read_text() == "old\n" and (target.stat().st_mode & 0o777) == 0o640
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temp file left behind


def test_files_stamp_changes_with_content_and_existence(tmp_path: Path) -> None:
    import os

    from costmodel.io.files import files_stamp

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x")
    first = files_stamp([a, b])
    assert [s[0] for s in first] == [str(a)]  # b is missing: left out
    b.write_text("y")
    assert files_stamp([a, b]) != first
    st = a.stat()
    a.write_text("z")  # same size; force the same mtime too: only a changed mtime_ns may differ
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert files_stamp([a]) != ((str(a), st.st_mtime_ns, st.st_size),)
