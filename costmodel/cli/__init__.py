"""The ``costmodel`` command line. Thin: parses, calls one library function, renders.

Each subcommand lives in ``costmodel/cli/<name>.py`` with ``register(subparsers)``; those
modules import nothing heavy at module level, so ``costmodel table`` never loads torch, fvcore,
dash or matplotlib. Bad input -> one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from costmodel.errors import CostModelError

# One line per subcommand module; order is the order of `costmodel --help`.
COMMAND_MODULES = (
    "costmodel.cli.table",
    "costmodel.cli.breakdown",
    "costmodel.cli.reproduce",
    "costmodel.cli.formula",
    "costmodel.cli.sweep",
    "costmodel.cli.bench",
    "costmodel.cli.latency",
    "costmodel.cli.verify",
    "costmodel.cli.pareto",
    "costmodel.cli.recommend",
    "costmodel.cli.serve",
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (not usage + message) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="costmodel", description="Cost model and design-space explorer for "
                     "MobileNet-style networks (MobileNet-V1, arXiv 1704.04861).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CostModelError as exc:
        sys.stderr.write(f"costmodel: error: {exc}\n")
        return 2
    except BrokenPipeError:  # `costmodel table | head`
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("costmodel: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
