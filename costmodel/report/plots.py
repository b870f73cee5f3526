"""Plot helpers shared by the report notebooks: one style, one colour-blind-safe palette, figures
saved as PNG + PDF (or SVG) for a report.

Every function here draws numbers it is given; it computes nothing but presentation (percent of a
total, a ratio to a reference, an axis range). The numbers come from the library: ``breakdown``,
``reproduce``, ``formula.compare``, ``sweep``, ``latency_data``, ``latency_model``, ``pareto``,
``recommend``.

Figures are built with the object-oriented API on an Agg canvas (``matplotlib.figure.Figure`` +
``FigureCanvasAgg``): no pyplot, no GUI backend, no global figure registry, and the process-wide
backend is left alone (a notebook's own ``%matplotlib inline`` keeps working).
:func:`save_figure` writes the files and returns a :class:`SavedFigure`, which a notebook shows by
making it the last expression of a cell (it displays the PNG that was written).

Style: 6.4 x 4 in at 150 dpi, 10 pt text, light grid, no top/right spines; the Okabe-Ito palette
(Okabe & Ito 2008, "Color Universal Design"), with markers and line styles that also tell the
series apart in grey-scale print. Layer types keep one colour and marker in every figure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from costmodel.core.kinds import (
    AVG_POOL,
    CONV1X1,
    CONV3X3,
    DW3X3,
    FULLY_CONNECTED,
    OTHER,
    LayerType,
    parse_type_name,
)
from costmodel.errors import CostModelError
from costmodel.io.files import atomic_path
from costmodel.report.formatting import type_label

# ---------------------------------------------------------------------------------------------
# Style
# ---------------------------------------------------------------------------------------------
WIDTH_IN, HEIGHT_IN, DPI = 6.4, 4.0, 150
FORMATS = ("png", "pdf", "svg")

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
OKABE_ITO = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000",
    "grey": "#7F7F7F",
}
# Yellow is left out of the series palette: too light on white. 7 colours x 8 markers give 56
# distinct (colour, marker) pairs in order.
PALETTE: tuple[str, ...] = tuple(OKABE_ITO[c] for c in (
    "blue", "orange", "green", "vermillion", "purple", "sky", "black"))
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES: tuple[str, ...] = ("-", "--", "-.", ":")

# Layer types by share of MobileNet's mult-adds, largest first (OTHER: a profile's time outside
# the layers).
TypeKey = LayerType | str  # a layer type, or OTHER
TYPE_ORDER: tuple[LayerType, ...] = (CONV1X1, DW3X3, CONV3X3, FULLY_CONNECTED, AVG_POOL)
TYPE_COLORS: dict[TypeKey, str] = {
    CONV1X1: OKABE_ITO["blue"], DW3X3: OKABE_ITO["orange"], CONV3X3: OKABE_ITO["green"],
    FULLY_CONNECTED: OKABE_ITO["vermillion"], AVG_POOL: OKABE_ITO["purple"],
    OTHER: OKABE_ITO["grey"],
}
TYPE_MARKERS: dict[TypeKey, str] = {CONV1X1: "o", DW3X3: "s", CONV3X3: "^", FULLY_CONNECTED: "D",
                                    AVG_POOL: "v", OTHER: "X"}

STYLE: dict[str, Any] = {
    "figure.figsize": (WIDTH_IN, HEIGHT_IN),
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "pdf.fonttype": 42,  # TrueType in PDFs: editable text, no Type 3 fonts
    "svg.fonttype": "none",
}


@contextmanager
def style() -> Iterator[None]:
    """The project's matplotlib style, for the duration of a ``with`` block."""
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]  # keys are valid rcParams
        yield


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = WIDTH_IN,
               height: float = HEIGHT_IN, **subplot_kw: Any) -> tuple[Figure, Any]:
    """A Figure on an Agg canvas with constrained layout, and its axes (``Figure.subplots``)."""
    subplot_kw.setdefault("squeeze", True)
    with style():
        fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, **subplot_kw)
    return fig, axes


def _percent_log_formatter(x: float, _pos: Any = None) -> str:
    return f"{x:g}"


def _log_axis(ax: Axes, axis: str = "y", subs: Sequence[float] = (1.0, 2.0, 5.0)) -> None:
    """Log scale with plain decimal tick labels (0.1, 1, 10, 100), not 10^k; ``subs``: the
    mantissas that get a labelled tick in each decade."""
    getattr(ax, f"set_{axis}scale")("log")
    a = ax.yaxis if axis == "y" else ax.xaxis
    # An explicit numticks: 'auto' thins a narrow axis to no ticks at all when subs has several.
    a.set_major_locator(LogLocator(base=10, subs=tuple(subs), numticks=40))
    a.set_major_formatter(FuncFormatter(_percent_log_formatter))
    a.set_minor_locator(LogLocator(base=10, subs=tuple(range(1, 10)), numticks=40))
    a.set_minor_formatter(NullFormatter())


# ---------------------------------------------------------------------------------------------
# Checking and saving
# ---------------------------------------------------------------------------------------------
def _data_axes(fig: Figure) -> list[Axes]:
    """Axes that show data (not colorbars, not hidden axes)."""
    return [ax for ax in fig.axes
            if ax.get_visible() and ax.axison and not hasattr(ax, "_colorbar")
            and getattr(ax, "_colorbar_info", None) is None
            and ax.get_label() != "<colorbar>"]


def _label_of(ax: Axes, axis: str) -> str:
    """An axes' x or y label, or that of an axes sharing that axis (one label serves a row or
    column of shared panels)."""
    get = "get_xlabel" if axis == "x" else "get_ylabel"
    shared = ax.get_shared_x_axes() if axis == "x" else ax.get_shared_y_axes()
    for other in [ax, *shared.get_siblings(ax)]:
        label = getattr(other, get)().strip()
        if label:
            return label
    return ""


def figure_problems(fig: Figure) -> list[str]:
    """What a reader would miss: axes without an x or y label (its own or a shared panel's),
    several labelled series without a legend. [] when the figure is fine."""
    problems = []
    for i, ax in enumerate(_data_axes(fig)):
        where = f"axes {i}" + (f" ({ax.get_title()!r})" if ax.get_title() else "")
        if not _label_of(ax, "x"):
            problems.append(f"{where}: no x-axis label")
        if not _label_of(ax, "y"):
            problems.append(f"{where}: no y-axis label")
        handles, _labels = ax.get_legend_handles_labels()
        if len(handles) > 1 and ax.get_legend() is None and not fig.legends:
            problems.append(f"{where}: {len(handles)} labelled series but no legend")
    return problems


@dataclass(frozen=True)
class SavedFigure:
    """The files one figure was written to. Shown in a notebook as the PNG that was written."""

    name: str
    paths: tuple[Path, ...]

    @property
    def png(self) -> Path | None:
        return next((p for p in self.paths if p.suffix == ".png"), None)

    def _repr_png_(self) -> bytes | None:
        return self.png.read_bytes() if self.png else None

    def __repr__(self) -> str:
        return f"SavedFigure({self.name!r}: {', '.join(str(p) for p in self.paths)})"


def _write_atomic(fig: Figure, path: Path, fmt: str) -> None:
    with atomic_path(path, suffix=f".{fmt}") as tmp, style():
        fig.savefig(tmp, format=fmt, dpi=DPI, metadata=_metadata(fmt))


def _metadata(fmt: str) -> dict[str, Any]:
    # Reproducible files: no creation date in PDF/SVG (PNG carries only the Software key).
    if fmt == "pdf":
        return {"CreationDate": None, "Creator": "costmodel"}
    if fmt == "svg":
        return {"Date": None, "Creator": "costmodel"}
    return {"Software": "costmodel"}


def save_figure(fig: Figure, folder: str | Path, name: str,
                formats: Sequence[str] = ("png", "pdf"), *, strict: bool = True) -> SavedFigure:
    """Write ``fig`` as ``<folder>/<name>.<fmt>`` for each format (PNG at 150 dpi; PDF/SVG as
    vector), creating the folder. Each file is written to a temp file and renamed, so a failure
    never leaves a partial figure. With ``strict`` (default), a figure with an unlabelled axis
    or several series without a legend is refused (CostModelError)."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise CostModelError(f"figure name {name!r} is not valid; allowed: letters, digits, "
                             f"'_', '.', '-' (no folder, no extension)")
    fmts = [formats] if isinstance(formats, str) else list(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise CostModelError(f"figure format {bad[0] if bad else fmts!r} is not valid; "
                             f"allowed: {', '.join(FORMATS)}")
    if strict:
        problems = figure_problems(fig)
        if problems:
            raise CostModelError(f"figure {name!r} is not ready for a report: {'; '.join(problems)}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in dict.fromkeys(fmts):
        path = out / f"{name}.{fmt}"
        _write_atomic(fig, path, fmt)
        paths.append(path)
    return SavedFigure(name, tuple(paths))


def _as_type(t: Any) -> LayerType:
    """A note's type: a LayerType as is, or its Table 2 name (as reproduce's items name it)."""
    return t if isinstance(t, LayerType) else parse_type_name(str(t))


def _label(t: TypeKey) -> str:
    return type_label(t) if isinstance(t, LayerType) else str(t)


def _types_present(types: Sequence[TypeKey]) -> list[TypeKey]:
    return [t for t in TYPE_ORDER if t in types] + [t for t in types if t not in TYPE_ORDER]


# ---------------------------------------------------------------------------------------------
# Notebook 1: reproducing the paper
# ---------------------------------------------------------------------------------------------
def breakdown_bar(rows: Sequence[Mapping[str, Any]], *, config_label: str = "computed",
                  published_label: str = "published (Table 2)",
                  notes: Mapping[Any, str] | None = None) -> Figure:
    """Table 2 as a chart: each layer type's share of mult-adds and of parameters, computed
    (from :func:`costmodel.core.breakdown.breakdown`) beside the published share. Log axis, so the
    small types (Conv 3x3, FC) are as readable as Conv 1x1; every bar carries its value.
    ``notes`` ({type: text}, e.g. a disagreement's explanation; a type or its Table 2 name) star
    the type's published mult-adds bar and are printed as footnotes."""
    notes = {_as_type(t): n for t, n in (notes or {}).items()}
    shown = [r for r in rows if r["mult_adds"] or r["params"]
             or r.get("published_mult_adds_pct") is not None]
    order = _types_present([r["type"] for r in shown])
    shown = sorted(shown, key=lambda r: order.index(r["type"]))
    fig, axes = new_figure(1, 2, width=WIDTH_IN, height=3.6, sharey=True)
    y = np.arange(len(shown))
    h = 0.38
    panels = (("mult_adds_pct", "published_mult_adds_pct", "share of mult-adds (%)"),
              ("params_pct", "published_params_pct", "share of parameters (%)"))
    with style():
        for ax, (key, pub_key, xlabel) in zip(axes, panels):
            comp = [float(r[key]) for r in shown]
            pub = [r.get(pub_key) for r in shown]
            ax.barh(y - h / 2, comp, h, color=OKABE_ITO["blue"], label=config_label)
            ax.barh(y + h / 2, [p if p is not None else 0.0 for p in pub], h,
                    color=OKABE_ITO["orange"], hatch="///", edgecolor="white", linewidth=0,
                    label=published_label)
            for yi, r, c, p in zip(y, shown, comp, pub):
                star = " *" if notes and r["type"] in notes and key == "mult_adds_pct" else ""
                ax.text(c * 1.12 if c > 0 else 0.012, yi - h / 2, f"{c:.2f}", va="center",
                        fontsize=8)
                ax.text(p * 1.12 if p else 0.012, yi + h / 2,
                        (f"{p:.2f}" if p is not None else "n/a") + star, va="center", fontsize=8,
                        color=OKABE_ITO["vermillion"] if star else "#444444",
                        fontweight="bold" if star else "normal")
            _log_axis(ax, "x", subs=(1.0,))
            ax.set_xlim(0.01, 1000)
            ax.set_xticks([0.01, 0.1, 1, 10, 100])
            ax.set_xlabel(xlabel)
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(y, [_label(r["type"]) for r in shown])
        axes[0].set_ylabel("layer type")
        axes[0].invert_yaxis()
        axes[1].tick_params(labelleft=False)
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=2)
        if notes:
            text = "\n".join(f"* {_label(t)}: {n}" for t, n in notes.items())
            fig.text(0.01, 0.0, text, fontsize=8, color=OKABE_ITO["vermillion"], va="bottom",
                     ha="left", wrap=True)
            bottom = 0.06 * len(notes) + 0.02
            engine = fig.get_layout_engine()
            if engine is not None:
                engine.set(rect=(0, bottom, 1, 1 - bottom))  # type: ignore[call-arg]
    return fig


def breakdown_shift(panels: Sequence[tuple[str, Sequence[float], Sequence[Sequence[Mapping[str, Any]]]]],
                    *, quantity: str = "mult_adds", reference: Sequence[float | None] = (),
                    title: str = "") -> Figure:
    """How Table 2 shifts: each layer type's share of ``quantity`` (``mult_adds`` or ``params``)
    along one knob per panel. ``panels``: (x-axis label, x values, breakdown rows at each x).
    ``reference``: per panel, the x of the published config (a dotted line), or None."""
    key = {"mult_adds": "mult_adds_pct", "params": "params_pct"}.get(quantity)
    if key is None:
        raise CostModelError(f"quantity {quantity!r} is not valid; allowed: mult_adds, params")
    ylabel = "share of mult-adds (%)" if quantity == "mult_adds" else "share of parameters (%)"
    n = len(panels)
    fig, axes = new_figure(1, n, width=WIDTH_IN if n > 1 else WIDTH_IN * 0.75, height=3.8,
                           sharey=True)
    axes = np.atleast_1d(axes)
    with style():
        for i, (ax, (xlabel, xs, rows_list)) in enumerate(zip(axes, panels)):
            types = _types_present([r["type"] for r in rows_list[0]])
            for t in types:
                vals = [next(float(r[key]) for r in rows if r["type"] == t) for rows in rows_list]
                if not any(v > 0 for v in vals):
                    continue
                ax.plot(xs, vals, color=TYPE_COLORS.get(t, TYPE_COLORS[OTHER]),
                        marker=TYPE_MARKERS.get(t, "o"), markersize=4, label=_label(t))
            ref = reference[i] if i < len(reference) else None
            if ref is not None:
                ax.axvline(ref, color=OKABE_ITO["grey"], linestyle=":", linewidth=1.2,
                           label="Table 2 config")
            _log_axis(ax, "y")
            ax.set_xlabel(xlabel)
            if i == 0:
                ax.set_ylabel(ylabel)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center",
                   ncols=min(len(labels), 5 if n > 1 else 3))
        if title:
            fig.suptitle(title)
    return fig


# Legend label of each explanation kind (costmodel.crosscheck.reproduce.EXPLANATION_KINDS).
EXPLANATION_LABELS: dict[str, str] = {
    "truncated": "printed truncated / rounded up",
    "rounded_up": "printed truncated / rounded up",
    "other_count": "a different count (layer left out)",
    "transposed": "digits transposed",
    "slip": "arithmetic slip",
    "column_sum": "column does not sum to 100%",
    "stride": "misprinted stride",
    "size": "misprinted size",
    "unexplained": "unexplained",
}


def explanation_label(kind: str) -> str:
    """The legend label of a reproduce explanation kind ('' where the figure agrees)."""
    return EXPLANATION_LABELS.get(kind, kind)


def _check_label(c: Mapping[str, Any]) -> str:
    q = {"mult-adds (M)": "MA", "params (M)": "params", "% mult-adds": "% MA",
         "% params": "% params"}.get(c["quantity"], c["quantity"])
    item = str(c["item"])
    if item.startswith("MobileNet_v1_"):
        item = "checkpoint " + item.removeprefix("MobileNet_v1_")
    return f"{c['source']}: {item} ({q})"


def reproduce_deviations(checks: Sequence[Any]) -> Figure:
    """The published figures that disagree with the count: how far each printed figure is from
    the computed one (percent of the computed value, symmetric-log axis), coloured by the
    computed explanation. ``checks``: :func:`costmodel.crosscheck.reproduce.reproduce` (Check objects or
    their dicts); Table 1's stride check is left out (not a quantity)."""
    rows = [c.as_dict() if hasattr(c, "as_dict") else dict(c) for c in checks]
    rows = [r for r in rows if not r["agree"] and r["source"] != "Table 1" and r["computed"]]
    if not rows:
        raise CostModelError("no disagreeing figures to plot; allowed: checks with a disagreement")
    kinds = list(dict.fromkeys(explanation_label(r["kind"]) for r in rows))
    fig, ax = new_figure(width=WIDTH_IN, height=0.27 * len(rows) + 2.0)
    y = np.arange(len(rows))
    with style():
        for k, kind in enumerate(kinds):
            idx = [i for i, r in enumerate(rows) if explanation_label(r["kind"]) == kind]
            dev = [100.0 * (float(rows[i]["published"]) / rows[i]["computed"] - 1.0) for i in idx]
            ax.scatter(dev, y[idx], color=PALETTE[k % len(PALETTE)], marker=MARKERS[k % len(MARKERS)],
                       s=36, zorder=3, label=kind)
            for i, d in zip(idx, dev):
                r = rows[i]
                ax.annotate(f"{r['published']} vs {r['computed']:.2f}", (d, y[i]),
                            xytext=(7, 0), textcoords="offset points", ha="left", va="center",
                            fontsize=7.5, bbox={"facecolor": "white", "edgecolor": "none",
                                                "pad": 0.6, "alpha": 0.85})
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xscale("symlog", linthresh=1.0, linscale=0.5)
        ax.set_xlim(-100, 1000)
        ax.set_xticks([-100, -10, -1, 0, 1, 10, 100])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:+g}" if v else "0"))
        ax.set_yticks(y, [_check_label(r) for r in rows], fontsize=8)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlabel("printed vs computed (% of computed; symmetric log axis)")
        ax.set_ylabel("published figure (MA = mult-adds)")
        ax.grid(axis="y", visible=False)
        fig.legend(*ax.get_legend_handles_labels(), loc="outside upper center", ncols=2,
                   title="explanation found by computation", title_fontsize=8.5)
    return fig


# ---------------------------------------------------------------------------------------------
# Notebook 2: scaling
# ---------------------------------------------------------------------------------------------
_QUANTITY_LABELS = {"mult_adds": "mult-adds (millions)", "params": "parameters (millions)"}
_KNOB_LABELS = {"alpha": "width multiplier $\\alpha$", "resolution": "input resolution (pixels)"}
_LAW_SYMBOL = {"alpha": "\\alpha", "resolution": "\\rho"}


def _log_log_knob_axes(ax: Axes, knob: str, lo: float, hi: float) -> None:
    """Log-log axes with plain ticks at round values of the knob (alpha or resolution)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = ([t for t in range(32, 1025, 32) if lo <= t <= hi] if knob == "resolution" else
             [t for t in (0.05, 0.1, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.5, 2.0)
              if lo <= t <= hi])
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _p: f"{v:g}" if _nice_minor(v) else ""))


def scaling_plot(series: Mapping[str, Sequence[Mapping[str, Any]]], *, x: str = "alpha",
                 quantity: str = "mult_adds", law: float = 2.0, reference_x: float | None = None,
                 title: str = "") -> Figure:
    """Exact counts vs the closed-form polynomial along one knob, with the pure power law.

    ``series``: {label: rows of :func:`costmodel.core.formula.compare`} (e.g. one per channel-rounding
    rule; the polynomial is the same for all, drawn once from the first). Top panel (log-log):
    polynomial (line), exact counts (markers), and ``value(reference_x) * (x / reference_x)^law``
    (dashed: the alpha^2 or rho^2 law). Bottom panel: exact count vs polynomial, in percent: where
    channel rounding (int/slim/divisible-by-8) or the ceil of 'SAME' padding bends the law."""
    if x not in _KNOB_LABELS:
        raise CostModelError(f"x {x!r} is not valid; allowed: alpha, resolution")
    if quantity not in _QUANTITY_LABELS:
        raise CostModelError(f"quantity {quantity!r} is not valid; allowed: mult_adds, params")
    first = next(iter(series.values()))
    xs0 = np.array([float(r[x]) for r in first])
    poly = np.array([float(r[f"{quantity}_formula"]) for r in first])
    ref = float(reference_x if reference_x is not None else xs0.max())
    ref_val = float(np.interp(ref, xs0, poly))
    fig, (top, bottom) = new_figure(2, 1, width=WIDTH_IN, height=5.2, sharex=True,
                                    gridspec_kw={"height_ratios": [2.2, 1]})
    sym = _LAW_SYMBOL[x]
    with style():
        law_label = f"pure law $\\propto {sym}^{{{law:g}}}$"
        top.plot(xs0, ref_val * (xs0 / ref) ** law / 1e6, color=OKABE_ITO["grey"], linestyle="--",
                 linewidth=1.3, label=law_label, zorder=1)
        top.plot(xs0, poly / 1e6, color="black", linewidth=1.4, label="closed-form polynomial",
                 zorder=2)
        many = len(xs0) > 40
        for k, (label, rows) in enumerate(series.items()):
            xs = np.array([float(r[x]) for r in rows])
            exact = np.array([float(r[quantity]) for r in rows])
            # exact vs polynomial, the sign of `costmodel formula` (core.formula.compare)
            rel = np.array([float(r[f"{quantity}_rel_diff"]) for r in rows])
            color, marker = PALETTE[k % len(PALETTE)], MARKERS[k % len(MARKERS)]
            style_kw: dict[str, Any] = (
                {"linestyle": "none", "marker": marker, "markersize": 2.5 if many else 4.5,
                 "markevery": 1})
            top.plot(xs, exact / 1e6, color=color, label=f"exact, {label}", alpha=0.9,
                     zorder=3 + k, **style_kw)
            bottom.plot(xs, 100.0 * rel, color=color,
                        linewidth=0.9 if many else 1.3, marker=marker,
                        markersize=2.0 if many else 4, label=f"_{label}", alpha=0.9)
        _log_log_knob_axes(top, x, float(xs0.min()), float(xs0.max()))
        top.set_ylabel(f"{_QUANTITY_LABELS[quantity]}\n(log scale)")
        top.legend(loc="upper left")
        bottom.axhline(0, color="black", linewidth=0.8)
        bottom.set_ylabel("exact vs\npolynomial (%)")
        bottom.set_xlabel(_KNOB_LABELS[x] + " (log scale)")
        top.tick_params(labelbottom=False)
        if title:
            top.set_title(title)
    return fig


def _nice_minor(v: float) -> bool:
    if v <= 0:
        return False
    mant = v / 10 ** math.floor(math.log10(v) + 1e-12)
    return round(mant, 6) in (2.0, 3.0, 5.0)


def cost_map(result: Any, *, quantity: str = "mult_adds",
             marks: Sequence[tuple[float, int]] = (), marks_label: str = "published configs",
             levels: Sequence[float] | None = None) -> Figure:
    """Iso-cost contours over the alpha x resolution plane from a :func:`costmodel.core.sweep.sweep`
    result (``quantity``: mult_adds, params, peak_activation_bytes or weight_bytes, shown in
    millions / MB). ``marks``: configs to point out (e.g. the 16 published checkpoints)."""
    units = {"mult_adds": ("mult-adds (millions)", 1e6), "params": ("parameters (millions)", 1e6),
             "peak_activation_bytes": ("peak activation memory (MB)", 1e6),
             "weight_bytes": ("weight memory, fp32 (MB)", 1e6)}
    if quantity not in units:
        raise CostModelError(f"quantity {quantity!r} is not valid; allowed: {', '.join(units)}")
    label, scale = units[quantity]
    z = np.asarray(getattr(result, quantity), dtype=float) / scale
    a = np.asarray(result.alphas, dtype=float)
    r = np.asarray(result.resolutions, dtype=float)
    if levels is None:
        lo, hi = z.min(), z.max()
        cands = [m * 10.0 ** e for e in range(-3, 6) for m in (1, 2, 5)]
        levels = [v for v in cands if lo <= v <= hi]
    fig, ax = new_figure(width=WIDTH_IN, height=4.4)
    with style():
        from matplotlib.colors import LogNorm

        mesh = ax.pcolormesh(r, a, z, shading="auto", cmap="viridis",
                             norm=LogNorm(vmin=z.min(), vmax=z.max()))
        cs = ax.contour(r, a, z, levels=list(levels), colors="white", linewidths=0.9)
        ax.clabel(cs, fmt=lambda v: f"{v:g}", fontsize=8, inline=True)
        if marks:
            ax.scatter([m[1] for m in marks], [m[0] for m in marks], marker="o", s=28,
                       facecolor="white", edgecolor="black", linewidth=1.0,
                       label=marks_label, zorder=3)
            fig.legend(loc="outside upper center")
        cbar = fig.colorbar(mesh, ax=ax)
        cbar.set_label(f"{label}, log scale")
        _log_axis(cbar.ax, "y")
        ax.set_xlabel(_KNOB_LABELS["resolution"])
        ax.set_ylabel(_KNOB_LABELS["alpha"])
        ax.grid(False)
    return fig


# ---------------------------------------------------------------------------------------------
# Notebook 4: choosing a configuration (Pareto fronts, recommendations)
# ---------------------------------------------------------------------------------------------
def objective_axis(objective: Mapping[str, Any]) -> tuple[str, float]:
    """Axis label and divisor for an objective dict (``pareto.objectives()`` /
    ``frame.attrs["objectives"]``): counts in millions, bytes in MB (10^6), else its unit."""
    label, unit = str(objective["label"]), str(objective["unit"])
    if unit == "count":
        return f"{label} (millions)", 1e6
    if unit == "bytes":
        return f"{label} (MB)", 1e6
    return f"{label} ({unit})", 1.0


def series_label(device: Mapping[str, Any]) -> str:
    """Backend, threads and (if not float32) precision of a latency device dict of
    :func:`costmodel.search.pareto.devices`: ``onnxruntime, 2 threads``."""
    parts = [str(device.get("backend") or "")]
    threads = device.get("threads")
    if threads is not None and not math.isnan(float(threads)):
        parts.append(f"{int(threads)} thread{'s' if int(threads) != 1 else ''}")
    if device.get("precision") not in (None, "float32"):
        parts.append(str(device["precision"]))
    return ", ".join(p for p in parts if p)


def series_labels(devices: Sequence[Mapping[str, Any]]) -> tuple[dict[str, str], str]:
    """Legend labels for several latency devices ({id: label}) and a caption: when they are all
    one device, the labels are :func:`series_label` and the caption its description; otherwise
    the labels are :func:`device_title` and the caption lists the devices."""
    ids = list(dict.fromkeys(str(d.get("device_id")) for d in devices))
    if len(ids) == 1:
        return ({str(d["id"]): series_label(d) for d in devices},
                str(devices[0].get("description") or ids[0]))
    return {str(d["id"]): device_title(d) for d in devices}, ", ".join(ids)


def device_title(device: Mapping[str, Any], *, with_kind: bool = True) -> str:
    """A short title for a latency device dict of :func:`costmodel.search.pareto.devices`:
    ``pixel3: tflite-cpu, 4 threads (published)`` (without the last part: ``with_kind=False``)."""
    kind = " (published)" if device.get("published") else " (measured)"
    return (f"{device.get('device_id', device.get('id'))}: {series_label(device)}"
            f"{kind if with_kind else ''}")


def _frame_objectives(frame: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    objs = frame.attrs.get("objectives") if hasattr(frame, "attrs") else None
    if not objs or len(objs) < 2:
        raise CostModelError("frame has no objectives in attrs; allowed: a frame from "
                             "costmodel.search.pareto.pareto()")
    return objs[0], objs[1]


_CORNERS = {"ul": (-4, 3, "right", "bottom"), "ur": (4, 3, "left", "bottom"),
            "dl": (-4, -3, "right", "top"), "dr": (4, -3, "left", "top")}


def _corner(c: str, offset: float) -> tuple[float, float, str, str]:
    dx, dy, ha, va = _CORNERS[c]
    return math.copysign(offset, dx), math.copysign(offset * 0.75, dy), ha, va


def _place_labels(ax: Axes, x: np.ndarray, y: np.ndarray, labels: np.ndarray, idx: Sequence[int],
                  corners: Sequence[str], color: str, fontsize: float = 6.5,
                  offset: float = 4.0) -> None:
    """Label points at the first corner (in ``corners`` order) whose text box overlaps no label
    placed before and no point; the first corner if none is free. Estimated in display pixels."""
    fig = ax.get_figure()
    assert fig is not None
    ax.autoscale_view()
    px_per_pt = fig.dpi / 72.0
    pts = ax.transData.transform(np.column_stack([x, y]))
    placed: list[tuple[float, float, float, float]] = getattr(ax, "_cm_label_boxes", [])
    r = offset * px_per_pt  # marker radius
    for i in idx:
        text = str(labels[i])
        w = 0.6 * fontsize * px_per_pt * len(text)
        h = 1.2 * fontsize * px_per_pt
        cx, cy = pts[i]
        chosen = corners[0]
        for c in corners:
            dx, dy, ha, va = _corner(c, offset)
            x0 = cx + dx * px_per_pt - (w if ha == "right" else 0.0)
            y0 = cy + dy * px_per_pt - (h if va == "top" else 0.0)
            box = (x0, y0, x0 + w, y0 + h)
            hit_label = any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                            for b in placed)
            hit_point = any(box[0] - r < px_ < box[2] + r and box[1] - r < py_ < box[3] + r
                            for j, (px_, py_) in enumerate(pts) if j != i)
            if not hit_label and not hit_point:
                chosen = c
                break
        dx, dy, ha, va = _corner(chosen, offset)
        x0 = cx + dx * px_per_pt - (w if ha == "right" else 0.0)
        y0 = cy + dy * px_per_pt - (h if va == "top" else 0.0)
        placed.append((x0, y0, x0 + w, y0 + h))
        ax.annotate(text, (x[i], y[i]), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                    fontsize=fontsize, color=color)
    ax._cm_label_boxes = placed  # type: ignore[attr-defined]


def _draw_front(ax: Axes, frame: Any, *, annotate: bool = True, log_x: bool = True,
                grid_front: Any = None, label_every: int = 1) -> None:
    xo, yo = _frame_objectives(frame)
    xlabel, xs = objective_axis(xo)
    ylabel, ys = objective_axis(yo)
    x = frame[xo["name"]].to_numpy(dtype=float) / xs
    y = frame[yo["name"]].to_numpy(dtype=float) / ys
    dom = frame["dominated"].to_numpy(dtype=bool)
    est = (frame["top1_estimated"].to_numpy(dtype=bool) if "top1_estimated" in frame
           else np.zeros(len(frame), dtype=bool))
    order = frame["front_order"].to_numpy()
    front = np.flatnonzero(~dom)
    front = front[np.argsort(order[front])]
    if grid_front is not None:
        gxo, gyo = _frame_objectives(grid_front)
        g = grid_front[~grid_front["dominated"].to_numpy(dtype=bool)].sort_values("front_order")
        ax.step(g[gxo["name"]].to_numpy(dtype=float) / xs, g[gyo["name"]].to_numpy(dtype=float) / ys,
                where="post", color=OKABE_ITO["sky"], linewidth=1.4, linestyle="--",
                label="front over the fine grid (top-1 estimated)", zorder=1)
    sense_x = xo.get("sense", "min")
    ax.step(x[front], y[front], where="post" if sense_x == "min" else "pre",
            color=OKABE_ITO["blue"], linewidth=1.3, alpha=0.8, zorder=2)
    pub_f = front[~est[front]]
    est_f = front[est[front]]
    size = 12 if len(frame) > 60 else 30
    if len(pub_f):
        ax.scatter(x[pub_f], y[pub_f], color=OKABE_ITO["blue"], marker="o", s=size, zorder=3,
                   label="on the Pareto front")
    if len(est_f):
        ax.scatter(x[est_f], y[est_f], facecolor="white", edgecolor=OKABE_ITO["blue"], marker="o",
                   s=size, linewidth=0.8, zorder=3, label="on the front, top-1 estimated")
    many = len(frame) > 60  # a fine grid: dominated points as a light cloud, front unlabelled
    if dom.any() and many:
        ax.scatter(x[dom], y[dom], color=OKABE_ITO["grey"], marker=".", s=6, alpha=0.5,
                   linewidth=0, zorder=1, label="dominated")
    elif dom.any():
        ax.scatter(x[dom], y[dom], facecolor="none", edgecolor=OKABE_ITO["vermillion"],
                   marker="X", s=34, linewidth=1.0, zorder=3, label="dominated")
    if log_x:
        _log_axis(ax, "x")
    if annotate and not many:
        labels = frame["label"].to_numpy(dtype=object)
        keep = [int(i) for k, i in enumerate(front) if k % label_every == 0 or k == len(front) - 1]
        # Up-left of a front point lies above the staircase and down-right of a dominated point
        # inside the dominated region: usually empty; the other corners are the fall-backs.
        _place_labels(ax, x, y, labels, keep, ("ul", "dr", "ur", "dl"), "#333333")
        _place_labels(ax, x, y, labels, [int(i) for i in np.flatnonzero(dom)], ("dr", "ur", "dl", "ul"),
                      OKABE_ITO["vermillion"])
    ax.set_xlabel(xlabel + (", log scale" if log_x else ""))
    ax.set_ylabel(ylabel)


def pareto_front(frame: Any, *, grid_front: Any = None, title: str = "", annotate: bool = True,
                 log_x: bool = True) -> Figure:
    """One Pareto front from :func:`costmodel.search.pareto.pareto` (x = first objective, y = second):
    front points joined by their staircase, dominated points marked, each labelled alpha-resolution.
    ``grid_front``: the same objectives over the fine grid (estimated top-1), drawn dashed."""
    fig, ax = new_figure(width=WIDTH_IN, height=4.2)
    with style():
        _draw_front(ax, frame, annotate=annotate, log_x=log_x, grid_front=grid_front)
        ax.legend(loc="lower right")
        if title:
            ax.set_title(title)
    return fig


def pareto_fronts(frames: Mapping[str, Any], *, ncols: int = 2, annotate: bool = False,
                  log_x: bool = True, title: str = "") -> Figure:
    """Small multiples: one Pareto front per panel (``{panel title: pareto() frame}``), e.g.
    top-1 vs latency on each device. Panels share the y axis; the legend is shared."""
    if not frames:
        raise CostModelError("no fronts to plot; allowed: at least one pareto() frame")
    n = len(frames)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = new_figure(nrows, ncols, width=WIDTH_IN, height=2.3 * nrows + 0.9, sharey=True,
                           squeeze=False)
    flat = list(np.ravel(axes))
    with style():
        for ax, (name, frame) in zip(flat, frames.items()):
            _draw_front(ax, frame, annotate=annotate, log_x=log_x)
            ax.set_title(name, fontsize=8.5)
            xo, _ = _frame_objectives(frame)
            if str(xo.get("kind", "")).startswith("latency"):  # the device is in the title
                kind = "predicted latency" if xo["kind"] == "latency_pred" else "latency"
                ax.set_xlabel(f"{kind} ({xo['unit']}){', log scale' if log_x else ''}")
        for ax in flat[n:]:
            ax.set_visible(False)
        for r in range(nrows):
            for c in range(1, ncols):
                axes[r][c].set_ylabel("")
        handles: dict[str, Any] = {}
        for ax in flat[:n]:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(lab, h)
        fig.legend(list(handles.values()), list(handles), loc="outside lower center",
                   ncols=len(handles))
        if title:
            fig.suptitle(title, fontsize=10)
    return fig


def _draw_recommendation(ax: Axes, frame: Any, result: Mapping[str, Any], *, log_x: bool,
                         label_markers: bool) -> None:
    from costmodel.search.recommend import BUDGETS

    xo, yo = _frame_objectives(frame)
    _xlabel, xs = objective_axis(xo)
    _ylabel, ys = objective_axis(yo)

    def xy(rec: Any) -> tuple[float, float]:
        return float(rec[xo["name"]]) / xs, float(rec[yo["name"]]) / ys

    _draw_front(ax, frame, annotate=False, log_x=log_x)
    x_all = frame[xo["name"]].to_numpy(dtype=float) / xs
    lo, hi = float(np.nanmin(x_all)), float(np.nanmax(x_all))
    base = str(xo["name"]).split(":", 1)[0]
    for name, limit in result.get("budgets", {}).items():
        b = BUDGETS[name]
        if b.column != base and not (b.column == "latency" and base.startswith("latency")):
            continue  # a budget on another quantity: not on this axis
        v = float(limit) * b.scale / xs
        ax.axvline(v, color=OKABE_ITO["black"], linestyle="--", linewidth=1.2,
                   label=f"budget: {name} = {float(limit):g} {b.unit}")
        ax.axvspan(v, max(hi, v) * 10, color=OKABE_ITO["grey"], alpha=0.15, linewidth=0,
                   label="over budget")
        ax.set_xlim(lo / 1.3, max(hi, v) * 1.3)
    by_label = {str(lab): i for i, lab in enumerate(frame["label"])}
    marked: list[tuple[float, float, str, str]] = []
    for b in result.get("binding", []):
        i = by_label.get(str(b["next"]["label"]))
        if i is None:
            continue
        px, py = xy(frame.iloc[i])
        ax.scatter([px], [py], marker="o", s=150, facecolor="none",
                   edgecolor=OKABE_ITO["vermillion"], linewidth=1.6, zorder=4,
                   label=f"kept out by {b['budget']}: {b['next']['label']}, "
                         f"needs {b['needs']:.3g} {b['unit']}")
        marked.append((px, py, str(b["next"]["label"]), OKABE_ITO["vermillion"]))
    for key, marker, color, text, z in (("closest", "P", OKABE_ITO["purple"], "closest", 5),
                                        ("runner_up", "D", OKABE_ITO["orange"], "runner-up", 6),
                                        ("best", "*", OKABE_ITO["green"], "best", 7)):
        rec = result.get(key)
        if not rec:
            continue
        px, py = xy(rec)
        est = " (est.)" if rec.get("top1_estimated") else ""
        ax.scatter([px], [py], marker=marker, s=200 if marker == "*" else 70, color=color,
                   edgecolor="black", linewidth=0.7, zorder=z,
                   label=f"{text}: {rec['label']}, top-1 {rec['top1']:.1f}%{est}")
        marked.append((px, py, str(rec["label"]), "black"))
    if label_markers and marked:
        mx = np.array([m[0] for m in marked])
        my = np.array([m[1] for m in marked])
        labels = np.array([m[2] for m in marked], dtype=object)
        for k, m in enumerate(marked):
            _place_labels(ax, mx, my, labels, [k], ("ul", "dr", "ur", "dl"), m[3], fontsize=7.5,
                          offset=8.0)


def recommendation_plot(frame: Any, result: Mapping[str, Any], *, title: str = "",
                        log_x: bool = True,
                        zoom: bool | tuple[float, float, float, float] = False) -> Figure:
    """A :func:`costmodel.search.recommend.recommend` answer on its Pareto plot: the front of ``frame``
    (a ``pareto()`` frame whose x objective carries a budget), the budget on that axis as a line
    with the excluded side shaded, the best and runner-up configs, and the more accurate configs
    that a binding budget keeps out. ``zoom`` = (x0, x1, y0, y1) adds a second panel around the
    answer (for a fine grid, where the candidates crowd together), its configs labelled;
    ``zoom=True`` centres it on the best (or closest) config: x within a factor 1.25, top-1
    within 1.5 points."""
    if zoom is True:
        xo, yo = _frame_objectives(frame)
        rec = result.get("best") or result.get("closest")
        if rec is None:
            raise CostModelError("zoom=True needs a best or closest config in the result")
        cx = float(rec[xo["name"]]) / objective_axis(xo)[1]
        cy = float(rec[yo["name"]]) / objective_axis(yo)[1]
        zoom = (cx / 1.25, cx * 1.25, cy - 1.5, cy + 1.5)
    ncols = 2 if zoom else 1
    kw: dict[str, Any] = {"width_ratios": [1.35, 1]} if zoom else {}
    fig, axes = new_figure(1, ncols, width=WIDTH_IN, height=4.9 if zoom else 4.7, **kw)
    axes = list(np.atleast_1d(axes))
    with style():
        _draw_recommendation(axes[0], frame, result, log_x=log_x, label_markers=not zoom)
        if zoom and not isinstance(zoom, bool):
            from matplotlib.patches import Rectangle
            from matplotlib.ticker import MaxNLocator

            z = axes[1]
            _draw_recommendation(z, frame, result, log_x=log_x, label_markers=True)
            z.set_xlim(zoom[0], zoom[1])
            z.set_ylim(zoom[2], zoom[3])
            z.xaxis.set_major_locator(MaxNLocator(5))
            z.xaxis.set_minor_locator(MaxNLocator(25))
            z.set_xlabel(axes[0].get_xlabel().replace(", log scale", ""), fontsize=8)
            z.set_title("around the answer", fontsize=9)
            axes[0].add_patch(Rectangle((zoom[0], zoom[2]), zoom[1] - zoom[0], zoom[3] - zoom[2],
                                        fill=False, edgecolor="black", linewidth=0.9, zorder=8))
            axes[0].set_xlabel(axes[0].get_xlabel(), fontsize=8)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=7.5)
        if title:
            fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------------------------------
# Notebook 3: latency
# ---------------------------------------------------------------------------------------------
def _latency_column(frame: Any) -> Mapping[str, Any]:
    objs = frame.attrs.get("objectives") if hasattr(frame, "attrs") else None
    for o in objs or []:
        if str(o.get("kind", "")).startswith("latency"):
            return dict(o)
    raise CostModelError("frame has no latency objective in attrs; allowed: a frame from "
                         "costmodel.search.pareto.points(['latency:<device>'])")


def latency_vs_mult_adds(frames: Mapping[str, Any], *,
                         bounds: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
                         title: str = "") -> Figure:
    """Latency against mult-adds, one series per device/backend (log-log).

    ``frames``: {series label: :func:`costmodel.search.pareto.points` frame with one ``latency:<id>``
    objective}. ``bounds``: {label: (mult-adds, bound in ms)}, e.g. a roofline bound from
    :func:`costmodel.latency.model.roofline_bound_ms`, drawn as lines. A dotted guide of slope 1
    (latency proportional to mult-adds) runs through the largest config of the first series: a
    series that flattens below it pays a fixed cost per layer or per call."""
    if not frames:
        raise CostModelError("no latency series to plot; allowed: at least one points() frame")
    fig, ax = new_figure(width=WIDTH_IN, height=4.6)
    with style():
        first = True
        for k, (label, frame) in enumerate(frames.items()):
            col = _latency_column(frame)["name"]
            order = np.argsort(frame["mult_adds"].to_numpy(dtype=float))
            x = frame["mult_adds"].to_numpy(dtype=float)[order] / 1e6
            y = frame[col].to_numpy(dtype=float)[order]
            ax.scatter(x, y, color=PALETTE[k % len(PALETTE)], marker=MARKERS[k % len(MARKERS)],
                       s=16 if len(x) > 30 else 26, alpha=0.85, label=label, zorder=3)
            if first:
                i = int(np.argmax(x))
                xx = np.array([x.min(), x.max()])
                ax.plot(xx, y[i] * xx / x[i], color=OKABE_ITO["grey"], linestyle=":", linewidth=1.2,
                        label="latency ∝ mult-adds (through the largest config)", zorder=1)
                first = False
        for k, (label, (bx, by)) in enumerate((bounds or {}).items()):
            bx_ = np.asarray(bx, dtype=float) / 1e6
            order = np.argsort(bx_)
            ax.plot(bx_[order], np.asarray(by, dtype=float)[order], color="black",
                    linestyle=LINESTYLES[(k + 1) % len(LINESTYLES)], linewidth=1.2, label=label,
                    zorder=2)
        _log_axis(ax, "x")
        _log_axis(ax, "y")
        ax.set_xlabel("mult-adds (millions), log scale")
        ax.set_ylabel("latency, batch 1 (ms), log scale")
        longest = max(len(str(t)) for t in ax.get_legend_handles_labels()[1])
        fig.legend(loc="outside lower center", ncols=1 if longest > 44 else 2, fontsize=7.5)
        if title:
            ax.set_title(title)
    return fig


def time_share_bar(profiles: Mapping[str, Sequence[Mapping[str, Any]]], *, title: str = "") -> Figure:
    """Each layer type's share of time beside its share of mult-adds (Table 2's question asked
    of time), one panel per profiled config. ``profiles``: {panel title: rows with ``type``,
    ``time_pct``, ``mult_adds_pct``; ``type`` a LayerType or OTHER}
    (:func:`costmodel.latency.bench.profile_layers`, or a stored profile read by
    :func:`costmodel.latency.profiles.load_profiles`)."""
    if not profiles:
        raise CostModelError("no profiles to plot; allowed: at least one profile")
    n = len(profiles)
    fig, axes = new_figure(1, n, width=WIDTH_IN, height=3.4 + 0.1 * n, sharey=True, squeeze=False)
    axes = list(np.ravel(axes))
    types: list[TypeKey] = []
    for rows in profiles.values():
        types += [t for t in (r["type"] for r in rows) if t not in types]
    types = _types_present(types)
    y = np.arange(len(types))
    h = 0.38
    with style():
        for ax, (name, rows) in zip(axes, profiles.items()):
            by_type = {r["type"]: r for r in rows}
            ma = [float(by_type[t]["mult_adds_pct"]) if t in by_type else 0.0 for t in types]
            tm = [float(by_type[t]["time_pct"]) if t in by_type else 0.0 for t in types]
            ax.barh(y - h / 2, ma, h, color=OKABE_ITO["sky"], label="share of mult-adds")
            ax.barh(y + h / 2, tm, h, color=OKABE_ITO["vermillion"], label="share of time")
            for yi, a, t in zip(y, ma, tm):
                ax.text(a + 1.5, yi - h / 2, f"{a:.1f}", va="center", fontsize=7)
                ax.text(t + 1.5, yi + h / 2, f"{t:.1f}", va="center", fontsize=7)
            ax.set_xlim(0, 115)
            ax.set_xticks([0, 25, 50, 75, 100])
            ax.set_xlabel("share (%)")
            ax.set_title(name, fontsize=8.5)
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(y, [_label(t) for t in types])
        axes[0].set_ylabel("layer type")
        axes[0].invert_yaxis()
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2)
        if title:
            fig.suptitle(title, fontsize=10)
    return fig


def _eval_get(ev: Any, key: str) -> Any:
    return ev[key] if isinstance(ev, Mapping) else getattr(ev, key)


def prediction_plot(evaluations: Mapping[str, Any], *, title: str = "") -> Figure:
    """The latency model's held-out predictions against measurements.

    ``evaluations``: {series label: :func:`costmodel.latency.kernel.evaluate_split` result (or
    a dict with ``rows``, ``within`` and ``baseline_within``)}. Left: predicted vs measured
    (log-log) with the +/-10% band. Right: each test
    config's error against its measured latency, the model (filled) beside the baseline that
    assumes latency proportional to mult-adds (hollow); the legend gives each series' share
    within +/-10%."""
    if not evaluations:
        raise CostModelError("no evaluations to plot; allowed: at least one evaluate_split() result")
    fig, (left, right) = new_figure(1, 2, width=WIDTH_IN, height=4.1 + 0.17 * len(evaluations),
                                    gridspec_kw={"width_ratios": [1.1, 1]})
    with style():
        lo, hi, abs_err = np.inf, 0.0, 0.0
        for k, (label, ev) in enumerate(evaluations.items()):
            rows = _eval_get(ev, "rows")
            meas = np.array([r["measured_ms"] for r in rows], dtype=float)
            pred = np.array([r["predicted_ms"] for r in rows], dtype=float)
            err = np.array([r["error_pct"] for r in rows], dtype=float)
            berr = np.array([r["baseline_error_pct"] for r in rows], dtype=float)
            color, marker = PALETTE[k % len(PALETTE)], MARKERS[k % len(MARKERS)]
            within = 100 * float(_eval_get(ev, "within"))
            bwithin = 100 * float(_eval_get(ev, "baseline_within"))
            left.scatter(meas, pred, color=color, marker=marker, s=18, alpha=0.85, zorder=3,
                         label=f"{label}: {within:.0f}% within ±10% "
                               f"(baseline {bwithin:.0f}%)")
            lo, hi = min(lo, meas.min(), pred.min()), max(hi, meas.max(), pred.max())
            abs_err = max(abs_err, float(np.abs(err).max()), float(np.abs(berr).max()))
            right.scatter(meas, err, color=color, marker=marker, s=16, alpha=0.85, zorder=3)
            right.scatter(meas, berr, facecolor="none", edgecolor=color, marker=marker, s=16,
                          alpha=0.7, linewidth=0.8, zorder=2)
        line = np.array([lo / 1.2, hi * 1.2])
        left.fill_between(line, line * 0.9, line * 1.1, color=OKABE_ITO["grey"], alpha=0.2,
                          linewidth=0, label="±10% of measured", zorder=1)
        left.plot(line, line, color="black", linewidth=0.9, zorder=2)
        _log_axis(left, "x")
        _log_axis(left, "y")
        left.set_xlim(line[0], line[1])
        left.set_ylim(line[0], line[1])
        left.set_xlabel("measured latency (ms), log scale")
        left.set_ylabel("predicted latency, held out (ms), log scale")
        right.axhspan(-10, 10, color=OKABE_ITO["grey"], alpha=0.2, linewidth=0)
        right.axhline(0, color="black", linewidth=0.8)
        _log_axis(right, "x", subs=(1.0, 3.0))
        right.set_xlim(line[0], line[1])
        right.set_xlabel("measured latency (ms), log scale")
        right.set_ylabel("prediction error (% of measured)")
        right.set_ylim(-max(abs_err * 1.1, 15), max(abs_err * 1.1, 15))
        from matplotlib.lines import Line2D

        proxies = [Line2D([], [], color="#444444", marker="o", linestyle="none",
                          label="filled: latency model (held out)"),
                   Line2D([], [], color="#444444", marker="o", markerfacecolor="none",
                          linestyle="none", label="hollow: baseline ∝ mult-adds")]
        handles, labels = left.get_legend_handles_labels()
        handles += proxies
        labels += [str(p.get_label()) for p in proxies]
        fig.legend(handles, labels, loc="outside lower center", ncols=1, fontsize=7.5)
        if title:
            fig.suptitle(title, fontsize=10)
    return fig


ALIGNMENT_STATS = {"median": ("median_ms", "median wall time per inference (ms)"),
                   "cpu": ("cpu_ms", "process CPU time per inference (ms)")}


def alignment_steps_plot(frame: Any, *, stat: str = "median", title: str = "") -> Figure:
    """Measured latency against alpha, ``int`` rounding beside ``divisible8``, one panel per
    backend/threads (``frame``: :func:`costmodel.io.latency_data.load_alignment_steps`).
    ``stat``: ``median`` (wall time; bars: the interquartile range of the samples) or ``cpu``
    (process CPU time, the contention-free view at one thread). Configs whose channel counts
    are all multiples of 4 are filled, the others hollow: the steps follow the alignment, not
    the mult-adds."""
    from costmodel.latency.kernel import worst_alignment

    if stat not in ALIGNMENT_STATS:
        raise CostModelError(f"stat {stat!r} is unknown; allowed: {', '.join(ALIGNMENT_STATS)}")
    col, ylabel = ALIGNMENT_STATS[stat]
    if frame is None or not len(frame):
        raise CostModelError("no alignment-step rows to plot; allowed: the rows of "
                             "latency_data.load_alignment_steps()")
    panels = list(dict.fromkeys(zip(frame["backend"], frame["threads"], strict=True)))
    fig, axes = new_figure(1, len(panels), width=WIDTH_IN, height=3.6, squeeze=False)
    with style():
        for ax, (backend, threads) in zip(axes[0], panels, strict=True):
            sub = frame[(frame["backend"] == backend) & (frame["threads"] == threads)]
            for k, rounding in enumerate(("int", "divisible8")):
                part = sub[sub["rounding"] == rounding].sort_values("alpha")
                if not len(part):
                    continue
                x, y = part["alpha"].to_numpy(float), part[col].to_numpy(float)
                err = (np.vstack([y - part["q1_ms"].to_numpy(float),
                                  part["q3_ms"].to_numpy(float) - y]).clip(min=0)
                       if stat == "median" else None)
                color = PALETTE[k]
                ax.errorbar(x, y, yerr=err, color=color, linewidth=1.0, capsize=2,
                            label=f"rounding {rounding}", zorder=2)
                aligned = worst_alignment(x, part["resolution"].to_numpy(int),
                                          [rounding] * len(x)) >= 4
                ax.scatter(x[aligned], y[aligned], color=color, s=22, zorder=3)
                ax.scatter(x[~aligned], y[~aligned], facecolor="white", edgecolor=color, s=22,
                           zorder=3)
            ax.set_title(f"{backend}, {int(threads)} thread(s)", fontsize=9)
            ax.set_xlabel("alpha (resolution {})".format(int(sub["resolution"].iloc[0])))
            ax.set_ylabel(ylabel)
            ax.set_ylim(bottom=0)
            ax.legend(loc="lower right", fontsize=7.5)
        if title:
            fig.suptitle(title, fontsize=10)
    return fig


PRECISION_ORDER = ("fp32", "bf16", "int8", "uint8")


def precision_bars(frame: Any, *, stat: str = "cpu", title: str = "") -> Figure:
    """Latency per precision, one panel per backend/threads, one group of bars per config
    (alpha-resolution), one bar per precision (fp32, bf16, int8, uint8 as present), each bar
    labelled with its speed-up over fp32 of the same backend and config (issue #13).
    ``frame``: :func:`costmodel.io.latency_data.load_precision_runs` rows, or any frame with
    backend, threads, precision (short names), alpha, resolution and the ``stat`` column
    (``median``: median wall time, bars: interquartile range when q1_ms/q3_ms are there; ``cpu``:
    process CPU time)."""
    if stat not in ALIGNMENT_STATS:
        raise CostModelError(f"stat {stat!r} is unknown; allowed: {', '.join(ALIGNMENT_STATS)}")
    col, ylabel = ALIGNMENT_STATS[stat]
    if frame is None or not len(frame) or col not in frame:
        raise CostModelError(f"no {col} rows to plot; allowed: latency_data.load_precision_runs()")
    threads = frame["threads"].astype(object).where(frame["threads"].notna(), None)
    panels = list(dict.fromkeys(zip(frame["backend"], threads, strict=True)))
    fig, axes = new_figure(1, len(panels), width=max(WIDTH_IN, 2.6 * len(panels)), height=3.6,
                           squeeze=False)
    with style():
        for ax, (backend, thr) in zip(axes[0], panels, strict=True):
            sub = frame[(frame["backend"] == backend) & (threads == thr)]
            precs = [p for p in PRECISION_ORDER if p in set(sub["precision"])]
            configs = list(dict.fromkeys(zip(sub["alpha"], sub["resolution"], strict=True)))
            width = 0.8 / max(len(precs), 1)
            for k, prec in enumerate(precs):
                xs, ys, errs, notes = [], [], [], []
                for i, (a, r) in enumerate(configs):
                    row = sub[(sub["alpha"] == a) & (sub["resolution"] == r)]
                    cell, base = row[row["precision"] == prec], row[row["precision"] == "fp32"]
                    if not len(cell):
                        continue
                    y = float(cell[col].iloc[0])
                    xs.append(i + (k - (len(precs) - 1) / 2) * width)
                    ys.append(y)
                    errs.append((y - float(cell["q1_ms"].iloc[0]), float(cell["q3_ms"].iloc[0]) - y)
                                if stat == "median" and "q1_ms" in cell else (0.0, 0.0))
                    notes.append(f"{float(base[col].iloc[0]) / y:.1f}x" if len(base) else "")
                yerr = np.clip(np.array(errs, dtype=float).T, 0, None) if stat == "median" else None
                ax.bar(xs, ys, width=width * 0.95, color=PALETTE[k % len(PALETTE)], label=prec,
                       yerr=yerr, capsize=2, error_kw={"linewidth": 0.8})
                for x, y, note in zip(xs, ys, notes, strict=True):
                    if prec != "fp32" and note:
                        ax.annotate(note, (x, y), xytext=(0, 2), textcoords="offset points",
                                    ha="center", va="bottom", fontsize=6.5, rotation=90)
            ax.set_xticks(range(len(configs)))
            ax.set_xticklabels([f"{a:g}-{int(r)}" for a, r in configs], fontsize=7.5)
            ax.set_title(backend + ("" if thr is None else f", {int(thr)} thread(s)"), fontsize=9)
            ax.set_xlabel("config (alpha-resolution)")
            ax.set_ylabel(ylabel)
            ax.set_ylim(bottom=0)
            ax.margins(y=0.15)
            ax.legend(loc="upper left", fontsize=7.5)
        if title:
            fig.suptitle(title, fontsize=10)
    return fig
