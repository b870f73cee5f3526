"""scripts/mutation.py's --sample: the seeded sample of a module's mutants (no mutmut run)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script(tmp_path, monkeypatch, keys):
    spec = importlib.util.spec_from_file_location("mutation_script", ROOT / "scripts" / "mutation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "ROOT", tmp_path)
    meta = tmp_path / "mutants" / "costmodel" / "core" / "lower.py.meta"
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"exit_code_by_key": {k: None for k in keys}}))
    return mod


def _keys(counts):
    return [f"costmodel.core.lower.x_{f}__mutmut_{i}" for f, n in counts.items()
            for i in range(1, n + 1)]


def test_sample_is_seeded_extends_and_survives_a_change_to_one_function(tmp_path, monkeypatch):
    keys = _keys({"a": 50, "b": 50, "c": 50})
    mod = _script(tmp_path, monkeypatch, keys)
    s60, s100 = mod.sample_of("lower", 60, 1), mod.sample_of("lower", 100, 1)
    assert len(s60) == 60 and len(set(s60)) == 60 and set(s60) < set(s100) <= set(keys)
    assert s60 == sorted(s60) and mod.sample_of("lower", 60, 2) != s60
    assert mod.sample_of("lower", 500, 1) == sorted(keys)  # fewer mutants than asked: all
    # function b gains 10 mutants (mutmut renumbers b's only): no mutant of a or c enters
    mod = _script(tmp_path, monkeypatch, _keys({"a": 50, "b": 60, "c": 50}))
    after = mod.sample_of("lower", 60, 1)
    assert len(after) == 60
    assert {k for k in after if "_b__" not in k} <= set(s60)
