"""Render records (a list of dicts) as text, csv, json, markdown or latex. Pure stdlib.

A :class:`Column` maps a record key to a header and a cell formatter; adding a column to an
output touches one tuple of Columns. Text tables are aligned; numbers right-aligned.

This is where typed values become text: a layer type (:class:`~costmodel.core.kinds.LayerType`)
becomes its name ("Conv DW 3x3", "FC"), a shape tuple becomes "112x112x32"
(:func:`type_label`, :func:`shape_label`, :func:`display_rows` for whole rows).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from costmodel.core.kinds import LayerType, shape_text, type_name

FORMATS = ("text", "csv", "json", "markdown", "latex")


def millions(x: Any, digits: int = 2) -> str:
    return f"{x / 1e6:,.{digits}f}"


def pct(x: Any, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def is_missing(x: Any) -> bool:
    """No value: None or a float NaN (what an empty cell shows as nothing)."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def type_label(t: LayerType | str | None) -> str:
    """A layer type as shown: the paper's Table 2 name ("Conv DW 3x3", "Conv 1x1", "FC");
    a text cell (a profile's "other") as is; nothing for a missing one."""
    if t is None:
        return ""
    return type_name(t) if isinstance(t, LayerType) else str(t)


def shape_label(shape: Sequence[Any] | None) -> str:
    """A (height, width, channels) shape as shown: "112x112x32"; nothing for a missing one."""
    return "" if shape is None else shape_text(shape)


SHAPE_KEYS = ("in_shape", "out_shape", "model_shape")  # row keys that hold shape tuples


def display_value(key: str, value: Any) -> Any:
    """One row value as shown: types and shapes as text, anything else unchanged."""
    if isinstance(value, LayerType):
        return type_label(value)
    if key in SHAPE_KEYS and isinstance(value, tuple):
        return shape_label(value)
    return value


def display_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their layer types and shapes as text (for JSON, CSV and grids)."""
    return [{k: display_value(k, v) for k, v in r.items()} for r in rows]


def plain(x: Any) -> str:
    if isinstance(x, LayerType):
        return type_label(x)
    if x is None:
        return ""
    if isinstance(x, float):
        if math.isnan(x):
            return ""
        return f"{x:g}"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fmt: Callable[[Any], str] = plain
    numeric: bool = True


def _cells(records: Sequence[dict[str, Any]], columns: Sequence[Column]) -> list[list[str]]:
    return [[c.fmt(r.get(c.key)) for c in columns] for r in records]


def render_text(records: Sequence[dict[str, Any]], columns: Sequence[Column],
                footer: Sequence[dict[str, Any]] = (), title: str = "") -> str:
    body = _cells(records, columns)
    foot = _cells(footer, columns)
    widths = [max([len(c.header)] + [len(row[i]) for row in body + foot])
              for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        parts = [cell.rjust(w) if c.numeric else cell.ljust(w)
                 for cell, w, c in zip(cells, widths, columns)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [title] if title else []
    out += [line([c.header for c in columns]), rule]
    out += [line(r) for r in body]
    if foot:
        out.append(rule)
        out += [line(r) for r in foot]
    return "\n".join(out) + "\n"


def render_csv(records: Sequence[dict[str, Any]], keys: Sequence[str] | None = None) -> str:
    keys = list(keys or (records[0].keys() if records else []))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in records:
        w.writerow({k: display_value(k, r.get(k)) for k in keys})
    return buf.getvalue()


def render_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, allow_nan=False, default=_json_default) + "\n"


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def render_markdown(records: Sequence[dict[str, Any]], columns: Sequence[Column],
                    footer: Sequence[dict[str, Any]] = ()) -> str:
    head = "| " + " | ".join(c.header for c in columns) + " |"
    sep = "|" + "|".join("---:" if c.numeric else "---" for c in columns) + "|"
    rows = ["| " + " | ".join(cells) + " |" for cells in _cells([*records, *footer], columns)]
    return "\n".join([head, sep, *rows]) + "\n"


_LATEX_ESCAPES = {"&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$"}


def _tex(s: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in s)


def render_latex(records: Sequence[dict[str, Any]], columns: Sequence[Column],
                 footer: Sequence[dict[str, Any]] = ()) -> str:
    spec = "".join("r" if c.numeric else "l" for c in columns)
    out = [f"\\begin{{tabular}}{{{spec}}}", "\\hline",
           " & ".join(_tex(c.header) for c in columns) + r" \\", "\\hline"]
    out += [" & ".join(_tex(x) for x in cells) + r" \\" for cells in _cells(records, columns)]
    if footer:
        out.append("\\hline")
        out += [" & ".join(_tex(x) for x in cells) + r" \\" for cells in _cells(footer, columns)]
    out += ["\\hline", "\\end{tabular}"]
    return "\n".join(out) + "\n"


def render(fmt: str, records: Sequence[dict[str, Any]], columns: Sequence[Column], *,
           json_obj: Any = None, footer: Sequence[dict[str, Any]] = (), title: str = "",
           csv_keys: Sequence[str] | None = None) -> str:
    """One entry point for every format; json_obj overrides the JSON shape when given."""
    if fmt == "text":
        return render_text(records, columns, footer, title)
    if fmt == "csv":
        return render_csv(records, csv_keys or [c.key for c in columns])
    if fmt == "json":
        return render_json(json_obj if json_obj is not None else list(records))
    if fmt == "markdown":
        return render_markdown(records, columns, footer)
    if fmt == "latex":
        return render_latex(records, columns, footer)
    raise ValueError(fmt)
