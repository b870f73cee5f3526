"""costmodel import MODULE:CALLABLE -o FILE.yaml: a torch module as a description (issue #11).
torch is imported inside run() (through costmodel.crosscheck.importer), never when the CLI
starts."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from costmodel.cli._common import output_path
from costmodel.errors import CostModelError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "import", help="describe a torch nn.Module (MODULE:CALLABLE) by torch.fx tracing, as a "
                       "description file the other commands take with --spec")
    p.add_argument("target", metavar="MODULE:CALLABLE",
                   help="MODULE: a dotted module on sys.path (the current folder included) or "
                        "a .py file path; CALLABLE() returns the nn.Module")
    p.add_argument("-o", "--output", default=None, metavar="FILE.yaml",
                   help="the description file to write (atomically, YAML); required")
    p.add_argument("--resolution", default="224",
                   help="the input resolution the description is checked at and its "
                        "base_resolution (default 224)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.core.arch import check_resolution

    if not args.output:
        raise CostModelError("no output file; allowed: -o FILE.yaml")
    path = output_path(args.output)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise CostModelError(f"output {args.output!r} is not a .yaml file; allowed: -o FILE.yaml")
    resolution = check_resolution(args.resolution)

    import yaml

    from costmodel.crosscheck.importer import import_model
    from costmodel.io.files import write_text_atomic

    desc = import_model(args.target, resolution)
    write_text_atomic(path, yaml.safe_dump(desc, sort_keys=False, width=100))
    sys.stdout.write(f"wrote {path} ({desc['name']}: {_count(desc['layers'])} entries, "
                     f"{desc['input_channels']} input channels, base resolution "
                     f"{desc['base_resolution']})\n")
    return 0


def _count(entries: Any) -> int:
    n = 0
    for e in entries:
        n += 1
        for key in ("body", "shortcut"):
            n += _count(e.get(key, []))
        for b in e.get("branches", []):
            n += _count(b)
    return n
