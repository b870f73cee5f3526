#!/usr/bin/env python3
"""Mutation testing of the core with mutmut (configured in pyproject.toml, [tool.mutmut]).

    .venv/bin/python scripts/mutation.py                   # all nine modules, one after another
    .venv/bin/python scripts/mutation.py engine recommend  # some of them
    .venv/bin/python scripts/mutation.py --survivors verify  # ... and list the surviving mutants

Runs ``mutmut run`` once per module (its mutants only, ``--max-children`` workers, default 2),
then prints per module: killed / total and the score. mutmut keeps its results in mutants/ and
re-tests only what is open: when a module is unchanged since its last full run, only its
mutants not yet killed run again (after new tests); ``--all`` re-tests all of them, ``--fresh``
deletes mutants/ first. Inspect a survivor with ``.venv/bin/mutmut show <name>``. Exit status 1
when a module scores below ``--target``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = {
    "arch": "costmodel/core/arch.py",
    "grammar": "costmodel/core/grammar.py",
    "lower": "costmodel/core/lower.py",
    "blocks": "costmodel/core/blocks.py",
    "engine": "costmodel/core/engine.py",
    "conventions": "costmodel/core/conventions.py",
    "pareto": "costmodel/search/pareto.py",
    "recommend": "costmodel/search/recommend.py",
    "verify": "costmodel/crosscheck/verify.py",
}
# mutmut's exit codes (mutmut.stats.status_by_exit_code): killed 1 and 3; timeouts count as killed.
KILLED = {1, 3}
TIMEOUT = {24, -24, 36, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


def mutmut_exe() -> str:
    exe = Path(sys.executable).parent / "mutmut"
    if exe.exists():
        return str(exe)
    found = shutil.which("mutmut")
    if not found:
        sys.exit("mutation: mutmut is not installed; allowed: pip install -e '.[dev]'")
    return found


def open_mutants(name: str) -> list[str] | None:
    """The module's mutants not killed yet, or None when all must run (no results yet, or the
    module changed since its last full run)."""
    stamp = ROOT / "mutants" / f"run-{name}.sha"
    meta = ROOT / "mutants" / (MODULES[name] + ".meta")
    if not (stamp.exists() and meta.exists()) or stamp.read_text() != _sha(name):
        return None
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(k for k, c in codes.items() if c not in KILLED and c not in TIMEOUT)


def _source_sha() -> str:
    h = hashlib.sha256()
    for p in sorted((ROOT / "costmodel").rglob("*.py")):
        h.update(p.relative_to(ROOT).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _sha(name: str) -> str:
    return hashlib.sha256((ROOT / MODULES[name]).read_bytes()).hexdigest()


def run_module(name: str, max_children: int, everything: bool) -> float:
    path = MODULES[name]
    todo = None if everything else open_mutants(name)
    if todo == []:
        return 0.0
    targets = todo or [path[:-3].replace("/", ".") + ".*"]
    sha = _sha(name)
    # mutmut maps tests to functions once (mutants/mutmut-stats.json) and only adds new tests to
    # that map: a function added or renamed since would count as "no tests". Map afresh when the
    # package's source changed since the map was made.
    stats, tree = ROOT / "mutants" / "mutmut-stats.json", ROOT / "mutants" / "stats-source.sha"
    source = _source_sha()
    if not tree.exists() or tree.read_text() != source:
        stats.unlink(missing_ok=True)
    for copied in ("data", "examples", "tests"):  # mutmut copies over, never deletes: drop stale files
        shutil.rmtree(ROOT / "mutants" / copied, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutmut sets the path
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the tests need no plugin; saves ~0.3 s a mutant
    log = ROOT / "mutants" / f"run-{name}.log"
    log.parent.mkdir(exist_ok=True)
    start = time.monotonic()
    with log.open("w") as out:
        rc = subprocess.call([mutmut_exe(), "run", "--max-children", str(max_children), *targets],
                             cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    took = time.monotonic() - start
    if rc != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        sys.exit(f"mutation: mutmut run failed for {name} (exit {rc}); log {log}:\n" + "\n".join(tail))
    tree.write_text(source)
    if todo is None:
        (ROOT / "mutants" / f"run-{name}.sha").write_text(sha)
    return took


def results(name: str) -> dict[str, int | list[str]]:
    meta = ROOT / "mutants" / (MODULES[name] + ".meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    c = Counter()
    survivors = []
    for key, code in codes.items():
        if code in KILLED or code in TIMEOUT:
            c["killed"] += 1
        elif code in SURVIVED:
            c["survived"] += 1
            survivors.append(key)
        elif code in NO_TESTS:
            c["no_tests"] += 1
            survivors.append(key)
        else:
            c["other"] += 1
    return {"killed": c["killed"], "survived": c["survived"], "no_tests": c["no_tests"],
            "other": c["other"], "total": len(codes), "survivors": sorted(survivors)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="mutmut on the core, one module at a time")
    ap.add_argument("modules", nargs="*", metavar="MODULE",
                    help=f"modules to run (default: all): {', '.join(MODULES)}")
    ap.add_argument("--max-children", type=int, default=2, help="parallel mutmut workers (default: 2)")
    ap.add_argument("--all", action="store_true", help="re-test every mutant, not only open ones")
    ap.add_argument("--fresh", action="store_true", help="delete mutants/ first (re-test everything)")
    ap.add_argument("--report-only", action="store_true", help="print the scores of the last run")
    ap.add_argument("--survivors", action="store_true", help="list surviving mutants")
    ap.add_argument("--target", type=float, default=90.0, help="score to reach, %% (default: 90)")
    args = ap.parse_args(argv)
    names = args.modules or list(MODULES)
    for n in names:
        if n not in MODULES:
            ap.error(f"module {n!r} is unknown; allowed: {', '.join(MODULES)}")
    if args.fresh and not args.report_only:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    took = {n: (0.0 if args.report_only else run_module(n, args.max_children, args.all)) for n in names}
    print(f"{'module':<32} {'killed':>7} {'survived':>8} {'no tests':>8} {'total':>6} {'score':>7} "
          f"{'time':>6}")
    low = False
    for n in names:
        r = results(n)
        total = int(r["total"])  # type: ignore[call-overload]
        score = 100.0 * int(r["killed"]) / total if total else 0.0  # type: ignore[call-overload]
        low |= score < args.target
        print(f"{MODULES[n]:<32} {r['killed']:>7} {r['survived']:>8} {r['no_tests']:>8} {total:>6} "
              f"{score:>6.1f}% {took[n]:>5.0f}s")
        if args.survivors:
            for s in r["survivors"]:  # type: ignore[union-attr]
                print(f"    {s}")
    return 1 if low else 0


if __name__ == "__main__":
    raise SystemExit(main())
