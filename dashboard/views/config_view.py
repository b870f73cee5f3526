"""The selected configuration: totals, layer table (sortable, CSV download), per-type breakdown
beside the paper's Table 2, measured vs predicted latency, and the separable-vs-standard ratio
per layer. Every number comes from one library function (see dashboard.data)."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
from dash import Input, Output, State, dcc, html

from dashboard import data, state

# d3-format formatters, applied in the browser so the grid sorts the raw numbers.
_M2 = {"function": "params.value == null ? '' : d3.format(',.2f')(params.value / 1e6)"}
_M4 = {"function": "params.value == null ? '' : d3.format(',.4f')(params.value / 1e6)"}
_P2 = {"function": "params.value == null ? '' : d3.format('.2f')(params.value)"}
_R4 = {"function": "params.value == null ? '' : d3.format('.4f')(params.value)"}
_INT = {"function": "params.value == null ? '' : d3.format(',')(params.value)"}

LAYER_COLUMNS = [
    {"field": "index", "headerName": "#", "minWidth": 46, "flex": 1, "type": "numericColumn"},
    {"field": "name", "headerName": "Layer", "minWidth": 112, "flex": 1},
    {"field": "type", "headerName": "Type", "minWidth": 124, "flex": 1},
    {"field": "stride", "headerName": "Stride", "minWidth": 64, "flex": 1, "type": "numericColumn"},
    {"field": "in_shape", "headerName": "Input", "minWidth": 104, "flex": 1},
    {"field": "out_shape", "headerName": "Output", "minWidth": 104, "flex": 1},
    {"field": "mult_adds", "headerName": "Mult-adds (M)", "valueFormatter": _M2,
     "type": "numericColumn", "minWidth": 118, "flex": 1},
    {"field": "mult_adds_pct", "headerName": "% mult-adds", "valueFormatter": _P2,
     "type": "numericColumn", "minWidth": 104, "flex": 1},
    {"field": "params", "headerName": "Params (M)", "valueFormatter": _M4,
     "type": "numericColumn", "minWidth": 100, "flex": 1},
    {"field": "params_pct", "headerName": "% params", "valueFormatter": _P2,
     "type": "numericColumn", "minWidth": 90, "flex": 1},
    {"field": "activation_bytes", "headerName": "Output (MB fp32)",
     "valueFormatter": _M2, "type": "numericColumn", "minWidth": 122, "flex": 1},
]
REDUCTION_COLUMNS = [
    {"field": "name", "headerName": "Separable pair", "minWidth": 215, "flex": 1},
    {"field": "in_channels", "headerName": "M (in)", "valueFormatter": _INT,
     "type": "numericColumn", "minWidth": 90, "flex": 1},
    {"field": "out_channels", "headerName": "N (out)", "valueFormatter": _INT,
     "type": "numericColumn", "minWidth": 90, "flex": 1},
    {"field": "out_size", "headerName": "D_F", "type": "numericColumn", "minWidth": 75, "flex": 1},
    {"field": "separable_mult_adds", "headerName": "Separable (M mult-adds)", "valueFormatter": _M2,
     "type": "numericColumn", "minWidth": 180, "flex": 1},
    {"field": "standard_mult_adds", "headerName": "Standard conv (M mult-adds)",
     "valueFormatter": _M2, "type": "numericColumn", "minWidth": 200, "flex": 1},
    {"field": "mult_adds_ratio", "headerName": "Ratio", "valueFormatter": _R4,
     "type": "numericColumn", "minWidth": 95, "flex": 1},
    {"field": "closed_form_ratio", "headerName": "1/N + 1/D_K\u00b2", "valueFormatter": _R4,
     "type": "numericColumn", "minWidth": 120, "flex": 1},
]


def _grid(grid_id: str, columns: list[dict[str, Any]]) -> Any:
    return dag.AgGrid(
        id=grid_id, columnDefs=columns, rowData=[],
        defaultColDef={"sortable": True, "resizable": True, "filter": False,
                       "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions={"domLayout": "autoHeight", "animateRows": False,
                         "suppressCellFocus": True},
        getRowId="params.data.name",
        className="ag-theme-alpine grid", style={"height": None})


def layout() -> Any:
    return html.Section(className="card config", children=[
        html.Div(className="config-head", children=[
            html.H2(id="config-title", children="Selected configuration"),
            html.Button("Download layer table (CSV)", id="download-csv", className="button"),
            dcc.Download(id="download-layers"),
        ]),
        html.Div(id="config-totals", className="totals"),
        html.H3("Layer table"),
        html.P("Click a column header to sort; the CSV has every engine column.", className="hint"),
        _grid("layer-table", LAYER_COLUMNS),
        html.Div(className="two-col", children=[
            html.Div(children=[
                html.H3("Share per layer type vs the paper's Table 2"),
                html.Div(id="breakdown"),
                html.P("Table 2 is the paper's 1.0 MobileNet-224 (paper convention), shown for "
                       "every config as the reference.", className="hint"),
            ]),
            html.Div(children=[
                html.H3("Latency: measured vs predicted"),
                html.Div(id="latency-compare"),
            ]),
        ]),
        html.H3("Depthwise separable vs standard convolution, per layer"),
        html.P(["Cost of each depthwise + pointwise pair relative to the standard 3\u00d73 "
                "convolution it replaces. Paper eq. (5): ratio = 1/N + 1/D_K\u00b2 (exact under "
                "the paper's convention; other conventions add BatchNorm terms)."],
               className="hint"),
        _grid("reduction-table", REDUCTION_COLUMNS),
    ])


def _fmt(v: float | None, spec: str, unit: str = "") -> str:
    return "n/a" if v is None else f"{v:{spec}}{unit}"


def _totals_cards(summary: dict[str, Any]) -> list[Any]:
    cards = [
        ("Mult-adds", _fmt(summary["mult_adds"] / 1e6, ",.1f", " M"), "mult-adds"),
        ("Parameters", _fmt(summary["params"] / 1e6, ",.3f", " M"), "params"),
        ("Model size (fp32)", _fmt(summary["weight_bytes"] / 1e6, ",.2f", " MB"), "size"),
        ("Peak activations (fp32)", _fmt(summary["peak_activation_bytes"] / 1e6, ",.2f", " MB"),
         "peak"),
        ("Top-1 (ImageNet)", summary["top1_text"], "top1"),
    ]
    return [html.Div(className="total", id=f"total-{key}", children=[
        html.Div(label, className="total-label"), html.Div(value, className="total-value")])
        for label, value, key in cards]


def _breakdown_table(rows: list[dict[str, Any]]) -> Any:
    def pct(v: float | None) -> str:
        return "" if v is None else f"{v:.2f}"

    head = html.Tr([html.Th("Type"), html.Th("% mult-adds"), html.Th("Table 2"),
                    html.Th("% params"), html.Th("Table 2")])
    body = [html.Tr([html.Td(r["type"]), html.Td(pct(r["mult_adds_pct"])),
                     html.Td(pct(r["published_mult_adds_pct"]), className="ref"),
                     html.Td(pct(r["params_pct"])),
                     html.Td(pct(r["published_params_pct"]), className="ref")]) for r in rows]
    return html.Table(className="small-table", children=[html.Thead(head), html.Tbody(body)])


def _latency_table(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return html.P("No device has a measured or published latency for this configuration; "
                      "choose a device (left) for a predicted one.", className="hint")
    head = html.Tr([html.Th("Device / backend"), html.Th("Measured or published (ms)"),
                    html.Th("Predicted (ms)"), html.Th("Error")])
    body = []
    for r in rows:
        m, p = r.get("measured_ms"), r.get("predicted_ms")
        err = f"{100 * (p - m) / m:+.1f} %" if m and p is not None else ""
        body.append(html.Tr([html.Td(r["label"]), html.Td(_fmt(m, ".2f")),
                             html.Td(_fmt(p, ".2f")), html.Td(err)]))
    return html.Div([
        html.Table(className="small-table", children=[html.Thead(head), html.Tbody(body)]),
        html.P("Predicted: costmodel.latency.model, for the device chosen on the left.",
               className="hint")])


def update_config(selection: Any) -> tuple[Any, ...]:
    """Callback body: the store's selection -> title, totals, layer rows, breakdown, latency,
    reduction rows. Raises CostModelError (-> 400) on a malformed selection."""
    sel = state.parse(selection, x_options=data.x_keys(), devices=data.device_keys())
    view = data.config_details(sel)
    return (view["title"], _totals_cards(view["summary"]), view["layers"],
            _breakdown_table(view["breakdown"]), _latency_table(view["latency"]),
            view["reduction"])


def download_csv(n_clicks: Any, selection: Any) -> dict[str, Any]:
    """Callback body: the selected config's layer table as CSV (same columns as
    ``costmodel table --format csv``)."""
    sel = state.parse(selection, x_options=data.x_keys(), devices=data.device_keys())
    return {"content": data.layer_csv(sel), "filename": data.csv_filename(sel),
            "type": "text/csv"}


def register(app: Any) -> None:
    app.callback(
        Output("config-title", "children"),
        Output("config-totals", "children"),
        Output("layer-table", "rowData"),
        Output("breakdown", "children"),
        Output("latency-compare", "children"),
        Output("reduction-table", "rowData"),
        Input("selection", "data"),
        prevent_initial_call=True,
    )(update_config)
    app.callback(
        Output("download-layers", "data"),
        Input("download-csv", "n_clicks"),
        State("selection", "data"),
        prevent_initial_call=True,
    )(download_csv)
