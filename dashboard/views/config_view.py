"""The selected configuration: totals, layer table (sortable, CSV download), per-type breakdown
beside the paper's Table 2, measured vs predicted latency, and the separable-vs-standard ratio
per layer. Every number comes from one library function (see dashboard.data)."""

from __future__ import annotations

from html import escape
from typing import Any

from dash import Input, Output, State, ctx, dcc, html

from dashboard import data, state

# Plain HTML tables (no data-grid library: ag-grid was a third of the first page load's
# JavaScript). Each column: (field, header, formatter); numbers are right-aligned, sorting is
# a click on the header (server-side, on the raw numbers). The tables' rows, and the breakdown
# and latency tables, are HTML strings (escaped here), put into the page in the browser
# (TABLE_BODY_JS): as Dash components they were 680 of the page's 720, and the page's start-up
# work grows with the number of components (every store update visits each one).


def _m(digits: int) -> Any:
    return lambda v: "" if v is None else f"{v / 1e6:,.{digits}f}"


def _f(spec: str) -> Any:
    return lambda v: "" if v is None else f"{v:{spec}}"


def _plain(v: Any) -> str:
    return "" if v is None else str(v)


LAYER_COLUMNS: list[tuple[str, str, Any]] = [
    ("index", "#", _plain), ("name", "Layer", _plain), ("type", "Type", _plain),
    ("stride", "Stride", _plain), ("in_shape", "Input", _plain), ("out_shape", "Output", _plain),
    ("mult_adds", "Mult-adds (M)", _m(2)), ("mult_adds_pct", "% mult-adds", _f(".2f")),
    ("params", "Params (M)", _m(4)), ("params_pct", "% params", _f(".2f")),
    ("activation_bytes", "Output (MB fp32)", _m(2)),
]
REDUCTION_COLUMNS: list[tuple[str, str, Any]] = [
    ("name", "Separable pair", _plain), ("in_channels", "M (in)", _f(",")),
    ("out_channels", "N (out)", _f(",")), ("out_size", "D_F", _plain),
    ("separable_mult_adds", "Separable (M mult-adds)", _m(2)),
    ("standard_mult_adds", "Standard conv (M mult-adds)", _m(2)),
    ("mult_adds_ratio", "Ratio", _f(".4f")), ("closed_form_ratio", "1/N + 1/D_K\u00b2", _f(".4f")),
]
TABLES = {"layer": LAYER_COLUMNS, "reduction": REDUCTION_COLUMNS}
_TEXT_FIELDS = {"name", "type", "in_shape", "out_shape"}


def _table(key: str) -> Any:
    """A sortable table: header buttons (static); the body is filled from the
    ``{key}-table-html`` store (TABLE_BODY_JS)."""
    head = html.Tr([html.Th(html.Button(header, id=f"{key}-sort-{field}", className="sort",
                                        title="sort by this column"),
                            className="text" if field in _TEXT_FIELDS else "num")
                    for field, header, _ in TABLES[key]])
    return html.Div(className="table-scroll", id=f"{key}-table", children=[html.Table(
        className="data-table", children=[html.Thead(head), html.Tbody(id=f"{key}-table-body")]),
        dcc.Store(id=f"{key}-table-html", data="")])


def sorted_rows(rows: list[dict[str, Any]], sort: Any) -> list[dict[str, Any]]:
    """Rows in the order of ``sort`` = {"field": f, "desc": bool} (None: as computed)."""
    if not isinstance(sort, dict) or not isinstance(sort.get("field"), str):
        return rows
    field = sort["field"]
    return sorted(rows, key=lambda r: (r.get(field) is None, r.get(field)),
                  reverse=bool(sort.get("desc")))


def _breakable(field: str, text: str) -> str:
    """A layer name may break after each dot (``Mixed_7c.concat1.b2.concat1.b1.conv1``: the
    branches of a DAG network), so the table fits its card at 1440 px."""
    return text.replace(".", ".<wbr>") if field == "name" else text


def table_body(key: str, rows: list[dict[str, Any]], sort: Any = None) -> str:
    """The table's rows as HTML (every value escaped): ``<tr data-row=NAME>`` with one
    ``<td data-col=FIELD>`` per column."""
    cols = TABLES[key]

    def row(r: dict[str, Any]) -> str:
        cells = "".join(
            f'<td class="{"text" if field in _TEXT_FIELDS else "num"}" data-col="{field}">'
            f"{_breakable(field, escape(fmt(r.get(field))))}</td>" for field, _, fmt in cols)
        return f'<tr data-row="{escape(str(r.get("name")))}">{cells}</tr>'

    return "".join(row(r) for r in sorted_rows(rows, sort))


# Puts a store's HTML into its element (HTML_TARGETS). Dash renders the element with no children,
# so React never replaces what is put there. On the page's first load the element may not be in
# the document yet when this runs: it tries again each frame (up to 5 s).
TABLE_BODY_JS = """
function(rows) {
    function fill(tries) {
        const body = document.getElementById('BODY_ID');
        if (body) {
            body.innerHTML = rows || '';
        } else if (tries > 0) {
            window.requestAnimationFrame(function() { fill(tries - 1); });
        }
    }
    fill(300);
}
"""


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
        _table("layer"),
        html.Div(className="two-col", children=[
            html.Div(children=[
                html.H3("Share per layer type vs the paper's Table 2", id="breakdown-head"),
                html.Div(id="breakdown"), dcc.Store(id="breakdown-html", data=""),
                html.P("Table 2 is the paper's 1.0 MobileNet-224 (paper convention), shown for "
                       "every config as the reference.", className="hint", id="breakdown-hint"),
            ]),
            html.Div(children=[
                html.H3("Latency: measured vs predicted"),
                html.Div(id="latency-compare"), dcc.Store(id="latency-compare-html", data=""),
            ]),
        ]),
        html.H3("Depthwise separable vs standard convolution, per layer"),
        html.P(["Cost of each depthwise + pointwise pair relative to the standard 3\u00d73 "
                "convolution it replaces. Paper eq. (5): ratio = 1/N + 1/D_K\u00b2 (exact under "
                "the paper's convention; other conventions add BatchNorm terms)."],
               className="hint"),
        _table("reduction"),
        *[dcc.Store(id=f"{k}-rows", data=[]) for k in TABLES],
        *[dcc.Store(id=f"{k}-sort", data=None) for k in TABLES],
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


def _tag(tag: str, text: str, cls: str = "") -> str:
    """One HTML element with escaped text."""
    return f'<{tag}{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}>{escape(text)}</{tag}>'


def _small_table(head: list[str], rows: list[list[tuple[str, str]]]) -> str:
    """A small table as HTML: header cells, then rows of (text, class) cells."""
    th = "".join(_tag("th", h) for h in head)
    body = "".join("<tr>" + "".join(_tag("td", t, c) for t, c in r) + "</tr>" for r in rows)
    return f'<table class="small-table"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _breakdown_table(rows: list[dict[str, Any]], table2: bool = True) -> str:
    """Per layer type: % mult-adds and % params, beside the paper's Table 2 (``table2``:
    MobileNet-V1) or, for another network, beside its own mult-adds and params (millions)."""
    def pct(v: float | None) -> str:
        return "" if v is None else f"{v:.2f}"

    if not table2:
        return _small_table(["Type", "Mult-adds (M)", "% mult-adds", "Params (M)", "% params"], [
            [(r["type"], ""), (f"{r['mult_adds'] / 1e6:,.2f}", ""), (pct(r["mult_adds_pct"]), ""),
             (f"{r['params'] / 1e6:,.4f}", ""), (pct(r["params_pct"]), "")] for r in rows])
    return _small_table(["Type", "% mult-adds", "Table 2", "% params", "Table 2"], [
        [(r["type"], ""), (pct(r["mult_adds_pct"]), ""), (pct(r["published_mult_adds_pct"]), "ref"),
         (pct(r["params_pct"]), ""), (pct(r["published_params_pct"]), "ref")] for r in rows])


def _latency_table(rows: list[dict[str, Any]], alignment: str = "",
                   model: str = state.BASE_MODEL) -> str:
    note = _tag("p", alignment, "hint alignment-note") if alignment else ""
    if not rows and model != state.BASE_MODEL:
        return _tag("p", f"No device has a latency of {model} measured for this configuration "
                         f"(its rows are measured by costmodel latency calibrate --model "
                         f"{model}; MobileNet-V1's are never shown for it); choose a device with "
                         f"{model} rows (left) for a predicted one.", "hint") + note
    if not rows:
        return _tag("p", "No device has a measured or published latency for this configuration; "
                         "choose a device (left) for a predicted one.", "hint") + note
    body = []
    for r in rows:
        m, p = r.get("measured_ms"), r.get("predicted_ms")
        err = f"{100 * (p - m) / m:+.1f} %" if m and p is not None else ""
        body.append([(r["label"], ""), (_fmt(m, ".2f"), ""), (_fmt(p, ".2f"), ""), (err, "")])
    return (_small_table(["Device / backend", "Measured or published (ms)", "Predicted (ms)",
                          "Error"], body)
            + _tag("p", "Predicted: costmodel.latency.kernel, for the device chosen on the left.",
                   "hint") + note)


def update_config(selection: Any) -> tuple[Any, ...]:
    """Callback body: the store's selection -> title, totals, layer rows, breakdown, latency,
    reduction rows. Raises CostModelError (-> 400) on a malformed selection."""
    sel = state.parse(selection, x_options=data.x_keys(), devices=data.device_keys())
    view = data.config_details(sel)
    return (view["title"], _totals_cards(view["summary"]), view["layers"],
            _breakdown_table(view["breakdown"], sel.model == state.BASE_MODEL),
            _latency_table(view["latency"], view.get("alignment", ""), sel.model),
            view["reduction"])


def download_csv(n_clicks: Any, selection: Any) -> dict[str, Any]:
    """Callback body: the selected config's layer table as CSV (same columns as
    ``costmodel table --format csv``)."""
    sel = state.parse(selection, x_options=data.x_keys(), devices=data.device_keys())
    return {"content": data.layer_csv(sel), "filename": data.csv_filename(sel),
            "type": "text/csv"}


def _config_callback(selection: Any, layer_sort: Any, reduction_sort: Any) -> tuple[Any, ...]:
    title, totals, layers, breakdown, latency, reduction = update_config(selection)
    return (title, totals, table_body("layer", layers, layer_sort), breakdown, latency,
            table_body("reduction", reduction, reduction_sort), layers, reduction)


def sort_table(key: str, trigger: Any, rows: Any, sort: Any) -> tuple[str, Any]:
    """Callback body: a header click sorts by that column; a second click reverses it."""
    fields = [f for f, _, _ in TABLES[key]]
    field = trigger[len(f"{key}-sort-"):] if isinstance(trigger, str) else None
    if field not in fields or not isinstance(rows, list):
        return table_body(key, rows if isinstance(rows, list) else []), None
    desc = isinstance(sort, dict) and sort.get("field") == field and not sort.get("desc")
    new = {"field": field, "desc": desc}
    return table_body(key, [r for r in rows if isinstance(r, dict)], new), new


def _sort_callback(key: str) -> Any:
    def cb(*args: Any) -> tuple[str, Any]:
        *_, rows, sort = args
        return sort_table(key, ctx.triggered_id, rows, sort)

    return cb


# What _config_callback fills, in its order (the callback's outputs; the first page is drawn
# with them, see dashboard.app.layout).
OUTPUTS = (("config-title", "children"), ("config-totals", "children"),
           ("layer-table-html", "data"), ("breakdown-html", "data"),
           ("latency-compare-html", "data"), ("reduction-table-html", "data"),
           ("layer-rows", "data"), ("reduction-rows", "data"))


def initial(selection: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """The view's outputs for a selection (tables unsorted), by (id, property)."""
    return dict(zip(OUTPUTS, _config_callback(selection, None, None), strict=True))


# Each element filled with the HTML in its store (TABLE_BODY_JS).
HTML_TARGETS = {"layer-table-html": "layer-table-body", "reduction-table-html": "reduction-table-body",
                "breakdown-html": "breakdown", "latency-compare-html": "latency-compare"}


def register(app: Any) -> None:
    for store, target in HTML_TARGETS.items():
        app.clientside_callback(TABLE_BODY_JS.replace("BODY_ID", target), Input(store, "data"))
    app.callback(
        *[Output(i, p) for i, p in OUTPUTS],
        Input("selection", "data"),
        State("layer-sort", "data"),
        State("reduction-sort", "data"),
        prevent_initial_call=True,
    )(_config_callback)
    for key, cols in TABLES.items():
        app.callback(
            Output(f"{key}-table-html", "data", allow_duplicate=True),
            Output(f"{key}-sort", "data"),
            *[Input(f"{key}-sort-{field}", "n_clicks") for field, _, _ in cols],
            State(f"{key}-rows", "data"),
            State(f"{key}-sort", "data"),
            prevent_initial_call=True,
        )(_sort_callback(key))
    app.callback(
        Output("download-layers", "data"),
        Input("download-csv", "n_clicks"),
        State("selection", "data"),
        prevent_initial_call=True,
    )(download_csv)
