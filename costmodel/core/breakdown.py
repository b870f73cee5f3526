"""Resource use per layer type (the paper's Table 2), beside the published shares."""

from __future__ import annotations

from typing import Any

from costmodel.core.engine import LayerTable, layer_table
from costmodel.core.kinds import LayerType, parse_type_name
from costmodel.io.reference import read_reference


def printed_table2() -> list[tuple[LayerType, dict[str, str]]]:
    """Table 2's rows as printed (strings), each with its layer type read back: the one place
    the file's type names are parsed (Table 2 prints "Fully Connected" for FC)."""
    return [(parse_type_name(r["layer_type"]), r)
            for r in read_reference("paper_table2_breakdown.csv")]


def published_table2() -> dict[LayerType, dict[str, float]]:
    """Table 2 as printed, keyed by layer type: {type: {mult_adds_pct, params_pct}}."""
    return {t: {"mult_adds_pct": float(r["mult_adds_pct"]), "params_pct": float(r["params_pct"])}
            for t, r in printed_table2()}


def breakdown_rows(table: LayerTable) -> list[dict[str, Any]]:
    """Per-type totals and shares of a layer table (a squeeze-and-excitation's pool, 1x1 convs
    and scale together as one "SE" row, not under "Avg Pool" and "Conv 1x1"), with Table 2's
    published shares and the difference (computed minus published, percentage points).
    Published values describe the 1.0 MobileNet-224 under the paper convention; they are shown
    for every MobileNet-V1 config as the reference point, and for no other network (its types
    are not Table 2's)."""
    pub = published_table2() if table.config.spec == "mobilenet_v1" else {}
    total_ma = table.totals["mult_adds"]
    total_p = table.totals["params"]
    rows = []
    for t, v in table.by_category().items():
        ma_pct = 100.0 * v["mult_adds"] / total_ma if total_ma else 0.0
        p_pct = 100.0 * v["params"] / total_p if total_p else 0.0
        p = pub.get(t) if isinstance(t, LayerType) else None
        rows.append({
            "type": t,
            "mult_adds": v["mult_adds"],
            "mult_adds_pct": ma_pct,
            "published_mult_adds_pct": p["mult_adds_pct"] if p else None,
            "mult_adds_pct_diff": ma_pct - p["mult_adds_pct"] if p else None,
            "params": v["params"],
            "params_pct": p_pct,
            "published_params_pct": p["params_pct"] if p else None,
            "params_pct_diff": p_pct - p["params_pct"] if p else None,
        })
    return rows


def breakdown(alpha: float = 1.0, resolution: int = 224, **knobs: Any) -> list[dict[str, Any]]:
    """Table 2 for any config: ``breakdown(0.5, 160, convention="fvcore")``."""
    return breakdown_rows(layer_table(alpha, resolution, **knobs))
