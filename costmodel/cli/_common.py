"""Options shared by subcommands, and the one place output is written (atomically)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from costmodel.core.arch import check_choice, rho_to_resolution
from costmodel.core.conventions import CONVENTIONS
from costmodel.errors import CostModelError
from costmodel.io.files import write_text_atomic
from costmodel.report.formatting import FORMATS


def add_config_args(p: argparse.ArgumentParser, *, alpha: bool = True, resolution: bool = True) -> None:
    """The knobs every config-taking command shares (issue #2)."""
    if alpha:
        p.add_argument("--alpha", default="1.0", help="width multiplier, a number > 0 (default 1.0)")
    if resolution:
        g = p.add_mutually_exclusive_group()
        g.add_argument("--resolution", default=None, help="input resolution in pixels (default 224)")
        g.add_argument("--rho", default=None, help="resolution multiplier: resolution = round(224*rho)")
    p.add_argument("--variant", default="mobilenet_v1",
                   help="mobilenet_v1 (default), full_conv, shallow, or a variant of --spec")
    p.add_argument("--rounding", default="int", help="channel rounding: int (default), slim, divisible8")
    p.add_argument("--convention", default="paper",
                   help=f"counting convention: {', '.join(CONVENTIONS)} (default paper)")
    p.add_argument("--classes", default="1000", help="number of classes (default 1000)")
    p.add_argument("--spec", default=None, metavar="FILE",
                   help="architecture description file (JSON or YAML; see README)")


def add_format_arg(p: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS) -> None:
    p.add_argument("--format", default="text", help=f"output format: {', '.join(formats)}")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="write to FILE (atomically) instead of stdout")
    p.set_defaults(_formats=formats)


def check_format(args: argparse.Namespace) -> str:
    return check_choice("format", args.format, list(args._formats))


def parse_classes(value: Any) -> int:
    try:
        c = int(str(value))
    except ValueError:
        raise CostModelError(f"classes {value!r} is not an integer; allowed: an integer >= 1") from None
    if c < 1:
        raise CostModelError(f"classes {value!r} is out of range; allowed: an integer >= 1")
    return c


def resolution_from_args(args: argparse.Namespace) -> Any:
    if getattr(args, "rho", None) is not None:
        return rho_to_resolution(args.rho)
    return args.resolution if args.resolution is not None else "224"


def config_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for costmodel.core.engine.layer_table (validated there)."""
    from costmodel.core.arch import ROUNDING_RULES
    from costmodel.core.arch import check_choice as _check

    _check("rounding", args.rounding, list(ROUNDING_RULES))
    _check("convention", args.convention, list(CONVENTIONS))
    return {
        "variant": args.variant,
        "rounding": args.rounding,
        "convention": args.convention,
        "classes": parse_classes(args.classes),
        "spec": args.spec,
    }


def emit(text: str, args: argparse.Namespace) -> None:
    """Print, or write FILE atomically: a temp file in the same folder, then os.replace, so an
    error part-way never leaves a partial or corrupted file."""
    out = getattr(args, "output", None)
    if not out:
        sys.stdout.write(text)
        return
    path = Path(out)
    if not path.parent.exists() or not path.parent.is_dir():
        raise CostModelError(f"output folder {str(path.parent)!r} does not exist; "
                             f"allowed: a file in an existing folder")
    write_text_atomic(path, text)
