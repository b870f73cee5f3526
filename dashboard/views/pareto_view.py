"""The Pareto chart: top-1 against the chosen cost, the front, the selected and recommended
configs, and the budgets.

The figure is built as a plain plotly JSON dict (no graph_objects validation on every slider
move); :func:`figure` is a pure function of a chart model (:func:`chart_model`), which gathers
everything from the library through dashboard.data.
"""

from __future__ import annotations

import math
from typing import Any

from dash import Input, Output, State, dcc, html

from costmodel.errors import CostModelError
from costmodel.search import pareto
from dashboard import data, state

# One marker per resolution (in the order resolutions appear, smallest first); open variants for
# estimated top-1, filled with a dark outline for published top-1.
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "triangle-down", "star", "cross", "x",
           "pentagon", "hexagram", "bowtie", "hourglass")
COLORSCALE = "Viridis"
ALPHA_RANGE = (0.25, 1.0)
FONT = "Inter, Segoe UI, Helvetica, Arial, sans-serif"
GRAPH_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    "toImageButtonOptions": {"format": "png", "filename": "mobilenet_pareto", "height": 620,
                             "width": 1100, "scale": 2},
}


def layout() -> Any:
    return html.Section(className="card chart-card", children=[
        # The spinner shows only when an update takes over half a second (a latency model's
        # first fit), not on every slider move.
        dcc.Loading(type="circle", delay_show=500, children=dcc.Graph(
            id="pareto-chart", config=GRAPH_CONFIG,  # type: ignore[arg-type]
            className="pareto-graph",
            figure={"data": [], "layout": {"height": 570}})),
        html.Div(className="chart-foot", children=[
            html.Div(id="recommendation", className="recommendation", role="status"),
            html.Div(className="export", children=[
                html.Span("Chart download format (camera icon):", className="hint"),
                dcc.RadioItems(id="image-format", options=[{"label": " PNG", "value": "png"},
                                                           {"label": " SVG", "value": "svg"}],
                               value="png", inline=True),
            ]),
        ]),
        html.Div(id="chart-notes", className="hint"),
    ])


def _fmt_x(v: float, unit: str) -> str:
    return f"{v:,.4g} {'M' if unit == 'millions' else unit}"


def _point_text(p: dict[str, Any], unit: str) -> str:
    if p["estimated"]:
        acc = {"interpolated": "estimate", "extrapolated": "extrapolated estimate"}.get(
            p["range"], "far-outside estimate")
    else:
        acc = "published"
    lines = [f"<b>{p['label']}</b>  (\u03b1 {p['alpha']:g}, {p['resolution']} px)",
             f"top-1 {p['top1']:.1f} % ({acc})",
             f"x: {_fmt_x(p['x'], unit)}",
             f"mult-adds {p['mult_adds'] / 1e6:,.1f} M \u00b7 params {p['params'] / 1e6:,.2f} M",
             f"size {p['size'] / 1e6:,.2f} MB {p['precision']}"]
    if p.get("dominated_by"):
        lines.append(f"dominated by {p['dominated_by']}")
    elif not p.get("dominated", True):
        lines.append("on the Pareto front")
    if not p.get("feasible", True):
        lines.append("<i>over budget</i>")
    return "<br>".join(lines)


def _accuracy_note(frame: Any) -> str:
    """Where the chart's top-1 figures come from (costmodel.search.pareto's frame says)."""
    spec = (frame.attrs.get("config") or {}).get("spec")
    if spec:  # another network: its published top-1 only (costmodel.search.networks)
        src = frame["top1_source"].iloc[0] if len(frame) else ""
        return (f"Top-1: published for {len(frame)} {spec} config{'s' if len(frame) != 1 else ''}"
                f" only ({src}{', ...' if len(frame) > 1 else ''}); no estimate is made for "
                f"other configs of this network.")
    edition = data.edition_source(str(frame.attrs.get("edition", "")))
    est = frame.loc[frame["top1_estimated"], "top1_source"]
    how = str(est.iloc[0]) if len(est) else ""
    return (f"Filled markers: published top-1 ({edition}). Open markers: {how}."
            if how else f"Top-1: published ({edition}).")


def chart_model(sel: state.ViewState) -> dict[str, Any]:
    """Everything the figure shows, from the library (pareto front, accuracy, recommendation)."""
    frame = data.front_frame(sel)
    obj = data.objective_name(sel.x, sel.device)
    scale = data.x_scale(sel.x)
    unit = data.X_AXES[sel.x][1]
    cols = ["label", "alpha", "resolution", "top1", "top1_estimated", "range", "dominated",
            "front_order", "dominated_by", "mult_adds", "params"]
    size_col = pareto.SIZE_COLUMNS[sel.precision]
    pts = []
    for rec in frame[list(dict.fromkeys([*cols, size_col, obj]))].to_dict("records"):
        rec["x"] = float(rec[obj]) / scale
        rec["size"], rec["precision"] = float(rec[size_col]), sel.precision
        rec["estimated"] = bool(rec.pop("top1_estimated"))
        rec["dominated"] = bool(rec["dominated"])
        rec["feasible"] = True
        pts.append(rec)
    rec_model = data.recommendation(sel)
    infeasible = data.over_budget(frame, sel)
    for p in pts:
        p["feasible"] = p["label"] not in infeasible
    front = sorted((p for p in pts if not p["dominated"]), key=lambda p: p["front_order"])
    notes = [_accuracy_note(frame), *data.page_notes(frame)]
    if sel.variant != "mobilenet_v1":
        notes.append(f"Accuracy exists for MobileNet-V1 only: the chart shows the MobileNet-V1 "
                     f"front; the selected {sel.variant} config is the dashed line at its cost.")
    try:
        selected = data.selected_point(sel) if sel.variant == "mobilenet_v1" else \
            data.variant_point(sel)
    except CostModelError as exc:  # e.g. no latency model for this variant on this device
        selected = None
        notes.append(f"The selected {sel.variant} config cannot be placed on this axis: {exc}. "
                     f"Choose a cost axis (mult-adds, parameters, size) to see it.")
    return {
        "title": f"ImageNet top-1 vs {data.X_AXES[sel.x][0].split(' (')[0].lower()} "
                 f"\u2014 {'MobileNet-V1' if sel.model == state.BASE_MODEL else sel.model}, "
                 f"{sel.convention} convention, {sel.rounding} rounding",
        "x_title": data.axis_title(sel.x, sel.device),
        "unit": unit,
        "log_x": True,
        "points": pts,
        "front": front,
        "selected": selected,
        "budget_x": data.budget_on_axis(sel),
        "recommendation": rec_model,
        "notes": notes,
    }


def resolution_symbol(resolution: int) -> str:
    """One marker per resolution on every axis: fixed by the resolution itself (16 px bands,
    12 symbols: 96..272 px all differ), not by the order of the resolutions a chart happens
    to hold."""
    return SYMBOLS[(int(resolution) // 16) % len(SYMBOLS)]


def _symbol_map(pts: list[dict[str, Any]]) -> dict[int, str]:
    return {r: resolution_symbol(r) for r in sorted({int(p["resolution"]) for p in pts})}


def _marker_trace(name: str, pts: list[dict[str, Any]], symbols: dict[int, str], unit: str,
                  published: bool, *, colorbar: bool) -> dict[str, Any]:
    opacity = [1.0 if p["feasible"] and not p["dominated"] else 0.55 if p["feasible"] else 0.18
               for p in pts]
    marker: dict[str, Any] = {
        "symbol": [symbols[int(p["resolution"])] + ("" if published else "-open")
                   for p in pts],
        "color": [p["alpha"] for p in pts],
        "colorscale": COLORSCALE, "cmin": ALPHA_RANGE[0], "cmax": ALPHA_RANGE[1],
        "size": 13 if published else 9,
        "opacity": opacity,
        "line": {"width": 1.2 if published else 1.6, "color": "#222" if published else None},
    }
    if not published:
        marker["line"] = {"width": 1.8}
    if colorbar:
        marker["colorbar"] = {"title": {"text": "Width \u03b1", "side": "top"}, "thickness": 14,
                              "len": 0.42, "y": 0.0, "yanchor": "bottom", "x": 1.02,
                              "xanchor": "left", "tickvals": [0.25, 0.5, 0.75, 1.0]}
    return {
        "type": "scatter", "mode": "markers", "name": name, "legendgroup": name,
        "showlegend": False,
        "x": [p["x"] for p in pts], "y": [p["top1"] for p in pts],
        "customdata": [[p["alpha"], int(p["resolution"])] for p in pts],
        "text": [_point_text(p, unit) for p in pts],
        "hovertemplate": "%{text}<extra></extra>",
        "marker": marker,
    }


def figure(model: dict[str, Any]) -> dict[str, Any]:
    """The plotly figure (JSON dict) of a chart model."""
    pts = model["points"]
    unit = model["unit"]
    traces = _point_traces(model)
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    xs = [p["x"] for p in pts if p["x"] and p["x"] > 0]
    x_lo, x_hi = (min(xs), max(xs)) if xs else (1.0, 10.0)
    b = model.get("budget_x")
    if b:
        shapes += _budget_shapes(b, max(x_hi, b) * 1.6)
        annotations.append({"x": math.log10(b) if model["log_x"] else b, "xref": "x",
                            "y": 0.02, "yref": "paper", "xanchor": "left", "yanchor": "bottom",
                            "text": f" over budget (> {_fmt_x(b, unit)})", "showarrow": False,
                            "font": {"size": 12, "color": "#444"}})
        x_hi = max(x_hi, b)
    traces += _recommended_trace(model.get("recommendation") or {})
    sel = model["selected"]
    if sel and sel.get("x") is not None:
        traces += _selected_trace(sel, unit)
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": sel["x"],
                       "x1": sel["x"], "y0": 0, "y1": 1,
                       "line": {"color": "#000", "width": 1, "dash": "dot"}})
        x_lo, x_hi = min(x_lo, sel["x"]), max(x_hi, sel["x"])
    return {"data": traces, "layout": _layout(model, x_lo, x_hi, shapes, annotations)}


def _point_traces(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The front, the estimated and published points, and the resolution legend."""
    pts = model["points"]
    symbols = _symbol_map(pts)
    est = [p for p in pts if p["estimated"]]
    pub = [p for p in pts if not p["estimated"]]
    front = model["front"]
    traces: list[dict[str, Any]] = [{
        "type": "scatter", "mode": "lines", "name": "Pareto front",
        "x": [p["x"] for p in front], "y": [p["top1"] for p in front],
        "line": {"shape": "hv", "color": "#d62728", "width": 2.2}, "hoverinfo": "skip",
    }]
    # Estimated and published points: one trace each (symbol per resolution, colour per alpha);
    # the legend shows a neutral key for each (same legendgroup, so clicking it toggles them).
    for name, group, published, key in (
            ("Estimated top-1 (fit)", est, False, "circle-open"),
            ("Published top-1", pub, True, "circle")):
        if not group:
            continue
        traces.append(_marker_trace(name, group, symbols, model["unit"], published,
                                    colorbar=published == (not est)))
        traces.append({"type": "scatter", "mode": "markers", "x": [None], "y": [None],
                       "name": name, "legendgroup": name, "hoverinfo": "skip",
                       "marker": {"symbol": key, "size": 10 if published else 9, "color": "#666",
                                  "line": {"color": "#222", "width": 1.2 if published else 1.8}}})
    # Legend entries for the resolution markers (grey, no data).
    for r, sym in symbols.items():
        traces.append({"type": "scatter", "mode": "markers", "x": [None], "y": [None],
                       "name": f"{r} px", "legend": "legend2", "showlegend": True,
                       "marker": {"symbol": sym, "color": "#777", "size": 9},
                       "hoverinfo": "skip"})
    return traces


def _budget_shapes(b: float, hi: float) -> list[dict[str, Any]]:
    """The over-budget region (shaded, from the budget to ``hi``) and the budget line."""
    return [{"type": "rect", "xref": "x", "yref": "paper", "x0": b, "x1": hi,
             "y0": 0, "y1": 1, "fillcolor": "rgba(120,120,120,0.16)",
             "line": {"width": 0}, "layer": "below"},
            {"type": "line", "xref": "x", "yref": "paper", "x0": b, "x1": b, "y0": 0,
             "y1": 1, "line": {"color": "#555", "width": 1.5, "dash": "dash"}}]


def _recommended_trace(rec: dict[str, Any]) -> list[dict[str, Any]]:
    if not (rec.get("best") and rec["best"].get("x") is not None):
        return []
    best = rec["best"]
    return [{"type": "scatter", "mode": "markers", "name": f"Recommended: {best['label']}",
             "x": [best["x"]], "y": [best["top1"]],
             "customdata": [[best["alpha"], int(best["resolution"])]],
             "text": [f"<b>Recommended {best['label']}</b><br>top-1 {best['top1']:.1f} %"
                      f"<br>{rec.get('binding_text', '')}"],
             "hovertemplate": "%{text}<extra></extra>",
             "marker": {"symbol": "star", "size": 24, "color": "#f2b600",
                        "line": {"color": "#5a4400", "width": 1.5}}}]


def _selected_trace(sel: dict[str, Any], unit: str) -> list[dict[str, Any]]:
    """The selected config's marker (none where it has no top-1 or is far outside the range)."""
    if sel.get("top1") is None or sel.get("range") == "far":
        return []
    return [{"type": "scatter", "mode": "markers", "name": f"Selected: {sel['label']}",
             "x": [sel["x"]], "y": [sel["top1"]],
             "customdata": [[sel["alpha"], int(sel["resolution"])]],
             "text": [f"<b>Selected {sel['label']}</b><br>top-1 {sel['top1']:.1f} %"
                      f" ({'estimate' if sel.get('top1_estimated') else 'published'})"
                      f"<br>x: {_fmt_x(sel['x'], unit)}"],
             "hovertemplate": "%{text}<extra></extra>",
             "marker": {"symbol": "circle-x-open", "size": 22, "color": "#000",
                        "line": {"width": 2.5}}}]


def _layout(model: dict[str, Any], x_lo: float, x_hi: float, shapes: list[dict[str, Any]],
            annotations: list[dict[str, Any]]) -> dict[str, Any]:
    pad = 1.25
    x_range = ([math.log10(x_lo / pad), math.log10(x_hi * pad)] if model["log_x"]
               else [x_lo / pad, x_hi * pad])
    return {
        "title": {"text": model["title"], "x": 0.01, "xanchor": "left", "y": 0.975,
                  "yanchor": "top",
                  "font": {"size": 17}},
        "font": {"family": FONT, "size": 13},
        "height": 570, "margin": {"l": 70, "r": 20, "t": 78, "b": 64},
        "xaxis": {"title": {"text": model["x_title"] + (", log scale" if model["log_x"] else "")},
                  "type": "log" if model["log_x"] else "linear", "range": x_range,
                  **_log_ticks(x_lo / pad, x_hi * pad, model["unit"]),
                  "gridcolor": "#e6e6e6", "zeroline": False},
        "yaxis": {"title": {"text": "ImageNet top-1 accuracy (%)"}, "gridcolor": "#e6e6e6",
                  "zeroline": False},
        "legend": {"orientation": "h", "x": 0.0, "y": 1.0, "xanchor": "left",
                   "yanchor": "bottom", "font": {"size": 12}, "itemclick": "toggle"},
        "legend2": {"title": {"text": "Resolution"}, "x": 1.02, "y": 1.0, "xanchor": "left",
                    "yanchor": "top", "font": {"size": 12}},
        "plot_bgcolor": "#fff", "paper_bgcolor": "#fff",
        "hovermode": "closest", "clickmode": "event",
        "shapes": shapes, "annotations": annotations,
        "uirevision": f"{model['x_title']}",
    }


def _log_ticks(lo: float, hi: float, unit: str) -> dict[str, Any]:
    """1-2-5 ticks across [lo, hi] (plotly's default log ticks label only the decades)."""
    vals = []
    for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        vals += [m * 10.0 ** e for m in (1, 2, 5)]
    vals = [v for v in vals if lo <= v <= hi]
    if len(vals) < 3:
        return {}
    return {"tickvals": vals, "ticktext": [f"{v:g}" for v in vals]}


def recommendation_view(rec: dict[str, Any] | None) -> Any:
    """The recommendation line under the chart (costmodel.search.recommend's answer, shortened; its
    full reason in the tooltip)."""
    if not rec:
        return html.Span("Set a budget (left) to get a recommended configuration.",
                         className="hint")
    if rec.get("status") == "refused":  # e.g. a latency budget on a network without latency
        return html.Div([html.Strong("No recommendation: "), rec.get("message", "")],
                        className="warn")
    if rec.get("best") is None:
        return html.Div([html.Strong("No configuration fits. "), rec.get("message", "")],
                        className="warn", title=rec.get("reason", ""))
    best = rec["best"]
    children: list[Any] = [
        html.Strong("Recommended: "),
        html.Span(best["label"], id="recommended-label", className="rec-label"),
        f"  top-1 {best['top1']:.1f} % ({'estimate' if best.get('estimated') else 'published'})",
        f" \u00b7 {rec['feasible']} of {rec['considered']} candidates meet every budget",
    ]
    if rec.get("binding_text"):
        children += [html.Br(), html.Span(rec["binding_text"], id="binding", className="binding")]
    if rec.get("device_text"):
        children += [html.Br(), html.Span(f"Latency budget: {rec['device_text']}", className="hint")]
    if rec.get("runner_up"):
        children += [html.Br(), html.Span(f"Runner-up: {rec['runner_up']}", className="hint")]
    return html.Div(children, title=rec.get("reason", ""))


def message_figure(text: str) -> dict[str, Any]:
    """A chart that says why it has nothing to show (instead of empty axes)."""
    return {"data": [], "layout": {
        "height": 570, "xaxis": {"visible": False}, "yaxis": {"visible": False},
        "plot_bgcolor": "#fff", "paper_bgcolor": "#fff", "font": {"family": FONT, "size": 14},
        "annotations": [{"text": text, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                         "showarrow": False, "align": "center"}]}}


def update_chart(selection: Any) -> tuple[Any, Any, Any]:
    """Callback body: store selection -> figure, recommendation, notes. Raises CostModelError
    (-> 400) on a malformed selection; a valid selection the chart cannot draw (no latency for
    it) gets a chart that says why, never a failed request and a blank chart."""
    sel = state.parse(selection, x_options=data.x_keys(), devices=data.device_keys())
    try:
        model = chart_model(sel)
    except CostModelError as exc:
        why = f"Nothing to plot on this axis: {exc}."
        return (message_figure(why.replace("; ", ";<br>")), recommendation_view(None),
                [html.Div(why, className="warn")])
    notes = [html.Div(n) for n in model["notes"]]
    return figure(model), recommendation_view(model["recommendation"]), notes


# The modebar's camera reads the plot's live config (gd._context) when clicked; a new `config`
# prop only reaches it at the next redraw. So the format is set on the live plot at once (and in
# the prop, for later redraws).
IMAGE_FORMAT_JS = """
function(fmt, config) {
    fmt = (fmt === 'svg') ? 'svg' : 'png';
    const gd = document.querySelector('#pareto-chart .js-plotly-plot');
    if (gd && gd._context && gd._context.toImageButtonOptions) {
        gd._context.toImageButtonOptions.format = fmt;
    }
    const opts = Object.assign({}, (config || {}).toImageButtonOptions || {}, {format: fmt});
    return Object.assign({}, config || {}, {toImageButtonOptions: opts});
}
"""


# A narrow chart (a phone at 390 px, or a 1024 px window beside the controls): the legends go
# below the plot instead of over and beside it, the title wraps, so nothing is cut off. Runs in
# the browser on each new figure; returns no_update for a wide chart and for a figure it has
# already laid out.
NARROW_PX = 860
NARROW_JS = """
function(fig) {
    const nu = window.dash_clientside.no_update;
    const box = document.getElementById('pareto-chart');
    const width = box ? box.clientWidth : window.innerWidth;
    if (!fig || !fig.layout || width >= NARROW_PX || (fig.layout.meta || {}).narrow) {
        return nu;
    }
    // 800 px tall: 290 px below the plot for the legends
    const L = Object.assign({}, fig.layout, {meta: {narrow: true}, height: 800,
                            margin: {l: 52, r: 10, t: 64, b: 290}});
    const title = Object.assign({}, L.title || {});
    title.text = String(title.text || '').replace(' \u2014 ', '<br>');
    title.font = {size: 13};
    L.title = title;
    L.legend = Object.assign({}, L.legend, {orientation: 'h', x: 0, xanchor: 'left',
                              y: -0.2, yanchor: 'top', font: {size: 11}});
    L.legend2 = Object.assign({}, L.legend2, {orientation: 'h', x: 0, xanchor: 'left',
                               y: -0.56, yanchor: 'top', font: {size: 11}});
    // the budget's label left of its line, inside the plot
    L.annotations = (L.annotations || []).map(function(a) {
        return Object.assign({}, a, {text: 'budget \u25b8', xanchor: 'right', font: {size: 11}});
    });
    // no room for the colour bar beside the plot: alpha is in each point's hover text
    const data = fig.data.map(function(t) {
        if (!t.marker || !t.marker.colorbar) { return t; }
        const m = Object.assign({}, t.marker, {showscale: false});
        delete m.colorbar;
        return Object.assign({}, t, {marker: m});
    });
    return Object.assign({}, fig, {data: data, layout: L});
}
""".replace("NARROW_PX", str(NARROW_PX))


def image_config(fmt: Any) -> dict[str, Any]:
    """The graph config for a download format (what the clientside callback returns)."""
    fmt = fmt if fmt in ("png", "svg") else "png"
    return {**GRAPH_CONFIG, "toImageButtonOptions": {**GRAPH_CONFIG["toImageButtonOptions"],
                                                     "format": fmt}}


# What update_chart fills, in its order: the chart callback's outputs, and what the page's layout
# is drawn with on its first load (dashboard.app.layout).
OUTPUTS = (("pareto-chart", "figure"), ("recommendation", "children"), ("chart-notes", "children"))


def initial(selection: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """The chart's outputs for a selection, by (id, property): the first page is drawn with them,
    so the page needs no chart request to show its chart."""
    return dict(zip(OUTPUTS, update_chart(selection), strict=True))


def register(app: Any) -> None:
    app.callback(
        *[Output(i, p) for i, p in OUTPUTS],
        Input("selection", "data"),
        prevent_initial_call=True,
    )(update_chart)
    # also on the first figure (drawn with the page, not sent by the chart callback)
    app.clientside_callback(NARROW_JS, Output("pareto-chart", "figure", allow_duplicate=True),
                            Input("pareto-chart", "figure"),
                            prevent_initial_call="initial_duplicate")
    # (the page starts with PNG in both the control and the graph's config)
    app.clientside_callback(IMAGE_FORMAT_JS, Output("pareto-chart", "config"),
                            Input("image-format", "value"), State("pareto-chart", "config"),
                            prevent_initial_call=True)
