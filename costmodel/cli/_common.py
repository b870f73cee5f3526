"""Options shared by subcommands, the one parser of value lists, and the one place output is
written (atomically)."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from costmodel.core.arch import check_choice, rho_to_resolution
from costmodel.core.conventions import CONVENTIONS
from costmodel.errors import CostModelError
from costmodel.io.files import write_text_atomic
from costmodel.report.formatting import FORMATS

MAX_VALUES = 2_000_000  # values in one list or range; more would only exhaust memory
DEFAULT_BASE_RESOLUTION = 224  # MobileNet-V1's; a --spec file may set its own base_resolution
RHO_HELP = ("resolution multiplier, a fraction of the base resolution: resolution = "
            "round(base * rho), base 224 or the --spec's base_resolution")
LIST_HELP = "a number, a list a,b,c or an inclusive range start:stop:step"


def parse_values(text: Any, name: str, kind: Callable[[str], Any]) -> list[Any]:
    """The one parser of ``--alpha``/``--resolution`` lists: 'a', 'a,b,c' or 'start:stop:step'
    (stop included), e.g. 0.25:1.0:0.05 or 96:320:32. ``kind`` int: integers only."""
    text = str(text).strip()
    example = "96:320:32" if kind is int else "0.25:1.0:0.05"
    allowed = f"a list like {'128,160' if kind is int else '0.5,0.75'} or a range start:stop:step " \
              f"like {example}"
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            start, stop, step = (float(p) for p in parts)
            if not all(math.isfinite(v) for v in (start, stop, step)) or step <= 0 or stop < start:
                raise ValueError
            n = math.floor((stop - start) / step + 1e-9) + 1
            if n > MAX_VALUES:
                raise CostModelError(f"{name} range {text!r} has {n} values; allowed: at most "
                                     f"{MAX_VALUES}")
            vals = [round(start + i * step, 10) for i in range(n)]
        else:
            items = [v.strip() for v in text.split(",")]
            if not text or any(not v for v in items):
                raise ValueError
            vals = [float(v) for v in items]
    except ValueError:
        raise CostModelError(f"{name} {text!r} is not a valid list or range; allowed: {allowed}") from None
    if kind is int:
        if any(v != int(v) for v in vals if math.isfinite(v)):
            raise CostModelError(f"{name} {text!r} contains a non-integer; allowed: integers >= 1")
        return [int(v) if math.isfinite(v) else v for v in vals]
    return vals


def add_list_args(p: Any, alpha_default: str | None, resolution_default: str | None,
                  resolution_group: Any = None, resolution_note: str | None = None) -> None:
    """``--alpha``/``--resolution`` taking lists and ranges, with ``--alphas``/``--resolutions``
    as aliases (every multi-config command spells them the same way). ``resolution_group``: a
    mutually exclusive group to put --resolution in (beside --rho)."""
    d_a = f" (default {alpha_default})" if alpha_default else " (default 1.0)"
    d_r = f" (default {resolution_default})" if resolution_default else \
        " (default 224, or the --spec's base_resolution)"
    d_r = f" ({resolution_note})" if resolution_note else d_r
    p.add_argument("--alpha", "--alphas", dest="alpha", default=alpha_default, metavar="ALPHAS",
                   help=f"width multipliers: {LIST_HELP}{d_a}")
    (resolution_group or p).add_argument(
        "--resolution", "--resolutions", dest="resolution", default=resolution_default,
        metavar="RESOLUTIONS", help=f"input resolutions in pixels: {LIST_HELP}{d_r}")


def add_config_args(p: argparse.ArgumentParser, *, alpha: bool = True, resolution: bool = True,
                    lists: bool = False) -> None:
    """The knobs every config-taking command shares (issue #2). ``lists``: --alpha and
    --resolution take lists and ranges (verify, bench)."""
    if lists:
        g = p.add_mutually_exclusive_group()
        add_list_args(p, None, None, g)
        g.add_argument("--rho", default=None, help=RHO_HELP)
    else:
        if alpha:
            p.add_argument("--alpha", default=None,
                           help="width multiplier, a number > 0 (default 1.0)")
        if resolution:
            g = p.add_mutually_exclusive_group()
            g.add_argument("--resolution", default=None,
                           help="input resolution in pixels (default 224, or the --spec's "
                                "base_resolution)")
            g.add_argument("--rho", default=None, help=RHO_HELP)
    p.add_argument("--variant", default="mobilenet_v1",
                   help="mobilenet_v1 (default), full_conv, shallow, or a variant of --spec")
    p.add_argument("--rounding", default=None,
                   help="channel rounding: int, slim, divisible8 (default: the network's own; "
                        "int for mobilenet_v1 and --spec files that name none)")
    p.add_argument("--convention", default="paper",
                   help=f"counting convention: {', '.join(CONVENTIONS)} (default paper)")
    p.add_argument("--classes", default="1000", help="number of classes (default 1000)")
    add_network_args(p)


def model_name(value: str) -> str:
    """``--model NAME``: a built-in network (``costmodel models`` lists them)."""
    from costmodel.core.arch import BUILTIN_NAMES

    if value not in BUILTIN_NAMES:
        raise argparse.ArgumentTypeError(f"model {value!r} is unknown; allowed: "
                                         f"{', '.join(BUILTIN_NAMES)}")
    return value


def add_network_args(p: argparse.ArgumentParser) -> None:
    """``--spec FILE`` or ``--model NAME`` (one of them; both set ``args.spec``): the network of
    every command that takes a description."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--spec", default=None, metavar="FILE",
                   help="architecture description file (JSON or YAML; see README)")
    g.add_argument("--model", dest="spec", type=model_name, metavar="NAME",
                   help="a built-in network (default mobilenet_v1; `costmodel models` lists them)")


# -o FILE's extension -> the format it implies when --format is not given.
EXTENSION_FORMATS = {".txt": "text", ".csv": "csv", ".json": "json", ".md": "markdown",
                     ".markdown": "markdown", ".tex": "latex"}


DATA_DIR_HELP = ("user data folder of latency measurements (default: $COSTMODEL_DATA_DIR, else "
                 "$XDG_DATA_HOME/costmodel, else ~/.local/share/costmodel)")


def add_data_dir_arg(p: argparse.ArgumentParser) -> None:
    """``--data-dir``: every command that reads or writes latency takes it (see main())."""
    p.add_argument("--data-dir", default=None, metavar="FOLDER", help=DATA_DIR_HELP)


def add_format_arg(p: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS) -> None:
    p.add_argument("--format", default=None,
                   help=f"output format: {', '.join(formats)} (default text, or the one -o "
                        f"FILE's extension names: "
                        f"{', '.join(k for k, v in EXTENSION_FORMATS.items() if v in formats)})")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="write to FILE (atomically) instead of stdout")
    p.set_defaults(_formats=formats)


def check_format(args: argparse.Namespace) -> str:
    """--format, else the format -o FILE's extension names, else text."""
    fmt = args.format
    if fmt is None:
        out = getattr(args, "output", None)
        ext = Path(out).suffix.lower() if out else ""
        fmt = EXTENSION_FORMATS.get(ext, "text")
        if fmt not in args._formats:
            fmt = "text"
        args.format = fmt
    return check_choice("format", fmt, list(args._formats))


def parse_classes(value: Any) -> int:
    try:
        c = int(str(value))
    except ValueError:
        raise CostModelError(f"classes {value!r} is not an integer; allowed: an integer >= 1") from None
    if c < 1:
        raise CostModelError(f"classes {value!r} is out of range; allowed: an integer >= 1")
    return c


def base_resolution(args: argparse.Namespace) -> int:
    """What rho = 1 means: the --spec's base_resolution, else 224."""
    if getattr(args, "spec", None) is None:
        return DEFAULT_BASE_RESOLUTION
    from costmodel.core.arch import get_description

    return get_description(args.spec).base_resolution


def alpha_from_args(args: argparse.Namespace) -> Any:
    a = getattr(args, "alpha", None)
    if a is not None and ("," in str(a) or ":" in str(a)):
        raise CostModelError(f"alpha {a!r} is a list; allowed: one number (lists and ranges: "
                             f"costmodel sweep)")
    return "1.0" if a is None else a


def resolution_from_args(args: argparse.Namespace) -> Any:
    """The one resolution of --resolution or --rho (a fraction of the base resolution)."""
    if getattr(args, "rho", None) is not None:
        return rho_to_resolution(args.rho, base_resolution(args))
    r = args.resolution
    if r is not None and ("," in str(r) or ":" in str(r)):
        raise CostModelError(f"resolution {r!r} is a list; allowed: one integer (lists and "
                             f"ranges: costmodel sweep)")
    return r if r is not None else base_resolution(args)


def configs_from_args(args: argparse.Namespace, grid: list[tuple[float, int]]
                      ) -> list[tuple[Any, Any]]:
    """(alpha, resolution) pairs of a multi-config command (verify, bench): ``grid`` (the 16
    paper configs with --grid) with the --alpha/--resolution lists added to its alphas and
    resolutions, or the product of the lists alone; unique, alpha-major."""
    alphas = list(dict.fromkeys(a for a, _ in grid))
    resolutions = list(dict.fromkeys(r for _, r in grid))
    if args.alpha is not None:
        alphas += _as_typed(args.alpha, "alpha", float)
    elif not grid:
        alphas = [1.0]
    if getattr(args, "rho", None) is not None:
        resolutions += [rho_to_resolution(args.rho, base_resolution(args))]
    elif args.resolution is not None:
        resolutions += _as_typed(args.resolution, "resolution", int)
    elif not grid:
        resolutions = [base_resolution(args)]
    return [(a, r) for a in dict.fromkeys(alphas) for r in dict.fromkeys(resolutions)]


def _as_typed(text: Any, name: str, kind: Callable[[str], Any]) -> list[Any]:
    """parse_values, but a plain list keeps the values as typed, so a later range check names
    them as the user wrote them (alpha '0', not 0.0)."""
    vals = parse_values(text, name, kind)
    return vals if ":" in str(text) else [v.strip() for v in str(text).split(",")]


def config_title(c: Any) -> str:
    """``<spec> [variant=V] alpha=A resolution=R``: the spec's own name, the variant only when it
    is not the spec's base network."""
    return f"{c.spec}{variant_part(c)} alpha={c.alpha:g} resolution={c.resolution}"


def variant_part(c: Any) -> str:
    """`` variant=V`` for a title, or nothing when V is the spec's base network (a network's
    own name is never printed twice, e.g. not "resnet18 variant=mobilenet_v1")."""
    return "" if c.variant in ("mobilenet_v1", "base", c.spec) else f" variant={c.variant}"


def config_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for costmodel.core.engine.layer_table (validated there)."""
    from costmodel.core.arch import ROUNDING_RULES, canonical_variant, get_description
    from costmodel.core.arch import check_choice as _check

    desc = get_description(args.spec)
    rounding = args.rounding
    if rounding is None:  # the network's own rule (int for mobilenet_v1)
        rounding = desc.rounding
    _check("rounding", rounding, list(ROUNDING_RULES))
    _check("convention", args.convention, list(CONVENTIONS))
    return {
        "variant": canonical_variant(desc, args.variant),
        "rounding": rounding,
        "convention": args.convention,
        "classes": parse_classes(args.classes),
        "spec": args.spec,
    }


def config_command(sub: Any, name: str, help_text: str, run: Any) -> None:
    """Register a command that takes one configuration (the config knobs) and a format."""
    p = sub.add_parser(name, help=help_text)
    add_config_args(p)
    add_format_arg(p)
    p.set_defaults(func=run)


def table_from_args(args: argparse.Namespace) -> Any:
    """The layer table (costmodel.core.engine.layer_table) of the configuration on the command
    line."""
    from costmodel.core.engine import layer_table

    return layer_table(alpha_from_args(args), resolution_from_args(args), **config_kwargs(args))


def emit(text: str, args: argparse.Namespace) -> None:
    """Print, or write FILE atomically: a temp file in the same folder, then os.replace, so an
    error part-way never leaves a partial or corrupted file."""
    out = getattr(args, "output", None)
    if not out:
        sys.stdout.write(text)
        return
    write_text_atomic(output_path(out), text)


def output_path(out: Any) -> Path:
    """``-o FILE`` as a Path; CostModelError unless its folder exists."""
    path = Path(out)
    if not path.parent.exists() or not path.parent.is_dir():
        raise CostModelError(f"output folder {str(path.parent)!r} does not exist; "
                             f"allowed: a file in an existing folder")
    return path
