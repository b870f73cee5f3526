"""The ``costmodel`` command line. Thin: parses, calls one library function, renders.

Each subcommand lives in ``costmodel/cli/<name>.py`` with ``register(subparsers)``; those
modules import nothing heavy at module level, so ``costmodel table`` never loads torch, fvcore,
dash or matplotlib. Bad input -> one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from costmodel.errors import CostModelError

# One line per subcommand module; order is the order of `costmodel --help`.
COMMAND_MODULES = (
    "costmodel.cli.table",
    "costmodel.cli.models",
    "costmodel.cli.breakdown",
    "costmodel.cli.reproduce",
    "costmodel.cli.formula",
    "costmodel.cli.sweep",
    "costmodel.cli.bench",
    "costmodel.cli.export",
    "costmodel.cli.latency",
    "costmodel.cli.verify",
    "costmodel.cli.import_model",
    "costmodel.cli.pareto",
    "costmodel.cli.recommend",
    "costmodel.cli.serve",
)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (unless its help already names it; flags and None have none)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        if ("default" in text or d is None or d is False or d == argparse.SUPPRESS
                or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (not usage + message) and exit status 2; each
    subcommand's help opens with its one-line description and shows its defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("costmodel")
    except PackageNotFoundError:  # run from a source tree without `pip install -e .`
        from costmodel import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="costmodel", description="Cost model and design-space explorer for "
                     "convolutional networks: width multiplier alpha, resolution, precision "
                     "and runtime (MobileNet-V1, arXiv 1704.04861, and the other built-ins of "
                     "`costmodel models`).",
                     epilog="`costmodel COMMAND --help` describes a command and its options; "
                            "`costmodel serve` opens the explorer.")
    parser.add_argument("--version", action="version", version=f"costmodel {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                title="commands")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    _describe(sub)
    return parser


def _describe(sub: Any) -> None:
    """Each subcommand's help opens with its one-line summary (the command list's line)."""
    for choice in sub._choices_actions:
        p = sub.choices[choice.dest]
        if p.description is None and choice.help:
            p.description = choice.help[0].upper() + choice.help[1:] + "."
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                _describe(action)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `costmodel`: usage and the command list
        parser.print_help()
        return 0
    try:
        with _data_dir(getattr(args, "data_dir", None)):
            return int(args.func(args) or 0)
    except CostModelError as exc:
        sys.stderr.write(f"costmodel: error: {exc}\n")
        return 2
    except BrokenPipeError:  # `costmodel table | head`
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("costmodel: interrupted\n")
        return 130


@contextmanager
def _data_dir(folder: str | None) -> Iterator[None]:
    """``--data-dir`` means ``COSTMODEL_DATA_DIR`` for the command: library calls that read the
    default user data folder (pareto, recommend, the dashboard) see it too. Restored after."""
    from costmodel.io.paths import DATA_DIR_ENV

    if folder is None or not str(folder).strip():
        yield
        return
    old = os.environ.get(DATA_DIR_ENV)
    os.environ[DATA_DIR_ENV] = str(folder)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(DATA_DIR_ENV, None)
        else:
            os.environ[DATA_DIR_ENV] = old


if __name__ == "__main__":
    sys.exit(main())
