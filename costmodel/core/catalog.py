"""The built-in networks at a glance: what ``costmodel models`` lists (costs at alpha 1 and the
base resolution, counted by the engine, beside each description's cited published figures)."""

from __future__ import annotations

from typing import Any

from costmodel.core.arch import BUILTIN_NAMES, get_description
from costmodel.core.engine import layer_table

CATALOG_KEYS = ("name", "source", "base_resolution", "rounding", "layers", "mult_adds", "params",
                "torch_params", "published")


def model_rows(convention: str = "paper") -> list[dict[str, Any]]:
    """One row per built-in: ``mult_adds``/``params`` under ``convention`` and ``torch_params``
    (the fvcore convention: what torch's parameter count gives) at alpha 1, the base resolution
    and the network's own rounding; ``published``: the description's cited figures."""
    rows = []
    for name in BUILTIN_NAMES:
        desc = get_description(name)
        r = desc.base_resolution
        t = layer_table(1.0, r, spec=desc, rounding=desc.rounding, convention=convention)
        torch = layer_table(1.0, r, spec=desc, rounding=desc.rounding, convention="fvcore")
        rows.append({"name": name, "source": desc.source, "base_resolution": r,
                     "rounding": desc.rounding, "layers": len(t.rows),
                     "mult_adds": t.totals["mult_adds"], "params": t.totals["params"],
                     "torch_params": torch.totals["params"],
                     "published": [dict(p) for p in desc.published]})
    return rows
