"""The app shell: page frame, the shared selection store, URL state, request guards.

Each view (controls, Pareto chart, selected config) keeps its layout and callbacks in its own
module under :mod:`dashboard.views`; this module only puts them on one page and wires them to one
Flask server. ``create_app()`` builds a fresh app (tests build many); ``costmodel serve`` serves
it with waitress.

Robustness (issue 6): every request to ``/_dash-update-component`` is checked before Dash sees it
(:func:`_check_callback_request`: a JSON object naming a registered callback with the right
number of inputs, states and outputs); callbacks validate their values (dashboard.state), and a
CostModelError becomes a one-line JSON 400. Nothing returns a traceback: debug stays off and the
error handlers answer short JSON.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dash import Dash, dcc, html
from flask import Flask, Response, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException

from costmodel.errors import CostModelError
from dashboard import data, state
from dashboard.views import config_view, controls, pareto_view

ASSETS = Path(__file__).resolve().parent / "assets"
TITLE = "MobileNet-V1 design-space explorer"
MAX_REQUEST_BYTES = 256 * 1024  # a callback request of this app is a few KB
CALLBACK_PATH = "/_dash-update-component"

log = logging.getLogger("costmodel.dashboard")


def layout() -> Any:
    """The page, drawn for the view its URL asks for (Dash calls this for each page load).

    The browser asks for the layout (/_dash-layout) from the page, so the request's Referer is
    the page's URL: the controls, the selection store, the chart and the selected config are
    drawn for its query string, and the page shows its view with no callback round trip (the
    sync callback still runs on load and, finding the same selection, updates nothing). Without
    a Referer the page is drawn for the default view and the callbacks bring it to its URL.
    """
    page = _frame()
    try:
        values = controls.initial(_page_query())
        store = values["selection", "data"]
        values |= pareto_view.initial(store) | config_view.initial(store)
    except CostModelError as exc:  # not expected for a valid selection: the callbacks draw it
        log.warning("first view not drawn with the page: %s", exc)
        return page
    _fill(page, values)
    return page


def _page_query() -> str:
    """The query string of the page whose layout is asked for ("" outside a request)."""
    if not has_request_context():
        return ""
    query = urlsplit(request.referrer or "").query  # validated like any URL (state.coerce)
    return "?" + query if query else ""


def _fill(node: Any, values: dict[tuple[str, str], Any]) -> None:
    """Set each (id, property) of ``values`` on the component with that id under ``node``."""
    cid = getattr(node, "id", None)
    for (vid, prop), value in values.items():
        if vid == cid:
            setattr(node, prop, value)
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            _fill(child, values)


def _frame() -> Any:
    return html.Div(className="page", children=[
        dcc.Location(id="url", refresh=False),
        # The validated selection (dashboard.state.ViewState.to_dict()): the one input of every view.
        dcc.Store(id="selection", storage_type="memory"),
        html.Header(className="header", children=[
            html.H1(TITLE),
            html.P(["Width multiplier \u03b1 \u00d7 input resolution trade-offs of MobileNet-V1 "
                    "(Howard et al., ", html.A("arXiv 1704.04861",
                                               href="https://arxiv.org/abs/1704.04861"),
                    "). Costs are exact counts; top-1 is published where a checkpoint exists and "
                    "a labelled estimate elsewhere."]),
        ]),
        html.Div(className="main", children=[
            html.Aside(className="sidebar", children=controls.layout()),
            html.Main(className="content", children=[
                pareto_view.layout(),
                config_view.layout(),
            ]),
        ]),
    ])


def _json_error(status: int, message: str) -> Response:
    resp = jsonify({"error": message[:300]})
    resp.status_code = status
    return resp


def _check_callback_request(app: Dash) -> Response | None:
    """Reject a malformed callback request with a 4xx before Dash indexes into it."""
    if request.path != CALLBACK_PATH or request.method != "POST":
        return None
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _json_error(400, "callback request must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str) or output not in app.callback_map:
        return _json_error(400, "callback request names no registered callback output")
    spec = app.callback_map[output]
    for key, want in (("inputs", len(spec["inputs"])), ("state", len(spec["state"]))):
        got = body.get(key, [])
        if not isinstance(got, list) or len(got) != want or not all(
                isinstance(x, dict) and "id" in x and "property" in x for x in got):
            return _json_error(400, f"callback request field {key!r} must be a list of "
                                    f"{want} {{id, property, value}} objects")
    outputs = body.get("outputs")
    n_out = len(spec["output"]) if isinstance(spec["output"], list) else 1
    if n_out == 1 and isinstance(outputs, dict):
        outputs = [outputs]
    if not isinstance(outputs, list) or len(outputs) != n_out or not all(
            isinstance(x, dict) and "id" in x and "property" in x for x in outputs):
        return _json_error(400, f"callback request field 'outputs' must list {n_out} outputs")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return _json_error(400, "callback request field 'changedPropIds' must be a list of strings")
    return None


def _install_guards(app: Dash) -> None:
    server: Flask = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    server.config["PROPAGATE_EXCEPTIONS"] = False

    @server.before_request
    def _guard() -> Response | None:
        return _check_callback_request(app)

    @server.after_request
    def _vary(resp: Response) -> Response:
        if request.path.endswith("/_dash-layout"):  # drawn for the page in the Referer
            resp.headers.add("Vary", "Referer")
        return resp

    @server.errorhandler(CostModelError)
    def _bad_value(exc: CostModelError) -> Response:
        return _json_error(400, str(exc))

    @server.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return _json_error(exc.code or 500, exc.description or exc.name)

    @server.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # A bug, not bad input: log it here, answer without internals.
        log.exception("unhandled error in %s", request.path)
        return _json_error(500, "internal error; see the server log")


def _warm_up() -> None:
    """Compute the default view once (imports, accuracy fit, sweep caches), and the default
    device's predicted-latency view (the latency model's first fit takes seconds), so neither the
    first page load nor the first switch to predicted latency pays for them."""
    views = [state.DEFAULT]
    device = data.default_device()
    if device is not None and "latency_pred" in data.x_keys():
        views.append(state.parse({"x": "latency_pred", "device": device}))
    for sel in views:
        try:
            pareto_view.update_chart(sel.to_dict())
            config_view.update_config(sel.to_dict())
        except CostModelError as exc:  # e.g. no latency model: the page says so when asked
            log.warning("warm-up of %s skipped: %s", sel.x, exc)


# The dcc chunks the page's components use (dcc.Graph, dcc.Slider, dcc.Dropdown), as plain
# scripts in the page, fetched at once with the rest instead of after the first render. Any other
# chunk still loads on demand (Dash's lazy loading); eager loading would put all of them in the
# page (MathJax, Markdown, the date picker, DataTable: 4 MB this page never runs).
DCC_CHUNKS = ("graph", "slider", "dropdown")


def _page_scripts(app: Dash) -> None:
    """The page's scripts beyond Dash's own: the dcc chunks above, and (from assets/) plotly.js's
    basic bundle (scatter, bar, pie: 1.2 MB instead of plotly.js's full 4.8 MB). dcc.Graph uses
    ``window.Plotly`` when a page has it and loads the full bundle only when not (dash-core-
    components' Graph: ``window.Plotly || <load window._dashPlotlyJSURL>``)."""
    for chunk in DCC_CHUNKS:
        app.scripts.append_script({"relative_package_path": f"dcc/async-{chunk}.js",
                                   "namespace": "dash"})


def create_app(*, warm: bool = False) -> Dash:
    """A new Dash app with every view registered (debug off; the server is ``app.server``).
    ``warm=True`` computes the default view before returning (``costmodel serve`` does)."""
    app = Dash(__name__, title=TITLE, assets_folder=str(ASSETS),
               update_title=None,  # type: ignore[arg-type]  # None: keep the title while updating
               serve_locally=True)
    _page_scripts(app)
    app.layout = layout
    controls.register(app)
    pareto_view.register(app)
    config_view.register(app)
    _install_guards(app)
    if warm:
        _warm_up()
    return app
