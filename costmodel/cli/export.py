"""costmodel export: the ONNX model of any config, fp32 or int8, for devices costmodel cannot
run on (issue #13). The work is costmodel.latency.runtimes.export_config."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from costmodel.cli._common import (
    add_config_args,
    alpha_from_args,
    config_kwargs,
    output_path,
    resolution_from_args,
)
from costmodel.errors import CostModelError


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="write the ONNX model of one config (fp32, or int8 by "
                                      "static QDQ quantization)")
    add_config_args(p)
    p.add_argument("--precision", default="fp32",
                   help="fp32, or int8 (per-channel int8 weights, uint8 activations, calibrated "
                        "on generated inputs; default fp32)")
    p.add_argument("--batch", default="1", help="the model's fixed batch size (default 1)")
    p.add_argument("-o", "--output", default=None, metavar="FILE.onnx",
                   help="the ONNX file to write (atomically); required")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.cli.bench import int_list
    from costmodel.latency.runtimes import export_config

    if not args.output:
        raise CostModelError("no output file; allowed: -o FILE.onnx")
    path = output_path(args.output)
    if path.suffix.lower() != ".onnx":
        raise CostModelError(f"output {args.output!r} is not an .onnx file; allowed: -o FILE.onnx")
    kw = config_kwargs(args)
    kw.pop("convention")
    out = export_config(alpha_from_args(args), resolution_from_args(args), path,
                        precision=args.precision, batch=int_list(args.batch, "batch")[0], **kw)
    sys.stdout.write(f"wrote {out} ({args.precision}, {out.stat().st_size / 1e6:.2f} MB)\n")
    return 0
