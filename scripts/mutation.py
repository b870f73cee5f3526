#!/usr/bin/env python3
"""Mutation testing of the core with mutmut (configured in pyproject.toml, [tool.mutmut]).

    .venv/bin/python scripts/mutation.py                   # all nine modules, one after another
    .venv/bin/python scripts/mutation.py engine recommend  # some of them
    .venv/bin/python scripts/mutation.py --survivors verify  # ... and list the surviving mutants

Runs ``mutmut run`` once per module (its mutants only, ``--max-children`` workers, default 2),
then prints per module: killed / total and the score. mutmut keeps its results in mutants/ and
re-tests only what is open: when a module is unchanged since its last full run, only its
mutants not yet killed run again (after new tests); ``--all`` re-tests all of them, ``--fresh``
deletes mutants/ first. ``--sample N`` tests a seeded random sample of N of a module's mutants
(for a module too large to run in the time at hand) and prints the sample's score with its 95 %
interval: an estimate, not the module's score. Inspect a survivor with
``.venv/bin/mutmut show <name>``. Exit status 1 when a module scores below ``--target``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
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


def sample_of(name: str, n: int, seed: int) -> list[str]:
    """A seeded random sample of n of the module's mutants (all of them when it has fewer): the n
    whose names hash lowest with the seed. A larger n extends the sample; a change to one function
    (mutmut numbers mutants per function) changes the picks among its mutants and can push out
    as many others, but brings no other mutant in: the rest of the sample and its results stay."""
    meta = ROOT / "mutants" / (MODULES[name] + ".meta")
    if not meta.exists():
        sys.exit(f"mutation: no mutants of {name} yet; allowed: --sample after one mutmut run of "
                 f"any module (mutmut generates every module's mutants)")
    keys = json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(sorted(keys, key=lambda k: hashlib.sha256(f"{seed}:{k}".encode()).digest())[:n])


def run_sample(name: str, n: int, seed: int, max_children: int) -> tuple[list[str], float]:
    """Test the sample's open mutants. The sample is drawn from mutmut's list of the module's
    mutants, which mutmut remakes at the start of a run when the source changed: draw again
    after a run until the list is the one the run tested (at most one more run)."""
    sample, took = sample_of(name, n, seed), 0.0
    stamp = ROOT / "mutants" / f"made-{name}.sha"  # the source mutmut last made mutants of
    stale = not stamp.exists() or stamp.read_text() != _sha(name)
    while True:
        took += run_module(name, max_children, False, sample, force=stale)
        stamp.write_text(_sha(name))
        again = sample_of(name, n, seed)
        if again == sample:
            return sample, took
        sample, stale = again, False


def run_module(name: str, max_children: int, everything: bool, sample: list[str] | None = None,
               force: bool = False) -> float:
    path = MODULES[name]
    if sample is not None:  # the sample's mutants not killed yet; never stamps a full run
        codes = json.loads((ROOT / "mutants" / (path + ".meta")).read_text())["exit_code_by_key"]
        todo: list[str] | None = [k for k in sample if codes.get(k) not in KILLED | TIMEOUT]
        if force and not todo:  # stale mutants: one run remakes them (re-tests the sample)
            todo = sample
    else:
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
    if todo is None and sample is None:
        (ROOT / "mutants" / f"run-{name}.sha").write_text(sha)
    return took


def results(name: str, sample: list[str] | None = None) -> dict[str, int | list[str]]:
    meta = ROOT / "mutants" / (MODULES[name] + ".meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    if sample is not None:
        codes = {k: codes.get(k) for k in sample}
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


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k / n, in percent."""
    if n == 0:
        return 0.0, 100.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="mutmut on the core, one module at a time")
    ap.add_argument("modules", nargs="*", metavar="MODULE",
                    help=f"modules to run (default: all): {', '.join(MODULES)}")
    ap.add_argument("--max-children", type=int, default=2, help="parallel mutmut workers (default: 2)")
    ap.add_argument("--all", action="store_true", help="re-test every mutant, not only open ones")
    ap.add_argument("--fresh", action="store_true", help="delete mutants/ first (re-test everything)")
    ap.add_argument("--report-only", action="store_true", help="print the scores of the last run")
    ap.add_argument("--survivors", action="store_true", help="list surviving mutants")
    ap.add_argument("--sample", type=int, metavar="N",
                    help="test a seeded random sample of N mutants per module (an estimate)")
    ap.add_argument("--seed", type=int, default=1, help="the sample's seed (default: 1)")
    ap.add_argument("--target", type=float, default=90.0, help="score to reach, %% (default: 90)")
    args = ap.parse_args(argv)
    names = args.modules or list(MODULES)
    for n in names:
        if n not in MODULES:
            ap.error(f"module {n!r} is unknown; allowed: {', '.join(MODULES)}")
    if args.sample is not None and args.sample < 1:
        ap.error(f"--sample {args.sample} is out of range; allowed: an integer >= 1")
    if args.fresh and not args.report_only:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    samples: dict[str, list[str] | None] = {}
    took: dict[str, float] = {}
    for n in names:
        if args.report_only:
            samples[n], took[n] = (sample_of(n, args.sample, args.seed) if args.sample else None), 0.0
        elif args.sample:
            samples[n], took[n] = run_sample(n, args.sample, args.seed, args.max_children)
        else:
            samples[n], took[n] = None, run_module(n, args.max_children, args.all)
    print(f"{'module':<32} {'killed':>7} {'survived':>8} {'no tests':>8} {'total':>6} {'score':>7} "
          f"{'time':>6}")
    low = False
    for n in names:
        r = results(n, samples[n])
        total = int(r["total"])  # type: ignore[call-overload]
        score = 100.0 * int(r["killed"]) / total if total else 0.0  # type: ignore[call-overload]
        low |= score < args.target
        print(f"{MODULES[n]:<32} {r['killed']:>7} {r['survived']:>8} {r['no_tests']:>8} {total:>6} "
              f"{score:>6.1f}% {took[n]:>5.0f}s")
        if samples[n] is not None:
            low_end, high_end = wilson(int(r["killed"]), total)  # type: ignore[call-overload]
            print(f"    a random sample of {total} of the module's mutants (seed {args.seed}): "
                  f"95 % interval {low_end:.1f}-{high_end:.1f} %")
        if args.survivors:
            for s in r["survivors"]:  # type: ignore[union-attr]
                print(f"    {s}")
    return 1 if low else 0


if __name__ == "__main__":
    raise SystemExit(main())
