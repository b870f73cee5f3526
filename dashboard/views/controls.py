"""The control panel and the one callback that keeps controls, URL and selection store in step.

:func:`sync_selection` is the only writer of the ``selection`` store. Its inputs are the URL's
query string, every control and a click on the chart; it validates them (dashboard.state) and
writes back the normalised controls, the query string (so a link reopens the view) and the store.
A bad value from the page (a budget typed as -5) keeps the last good value and says why in the
status line; a request that carries malformed values in place of the store is refused with a 400
by the views that read the store (state.parse).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dash import Input, Output, State, ctx, dcc, html, no_update

from dashboard import data, state

CONTROL_IDS = ("alpha", "resolution", "variant", "rounding", "convention", "precision", "x",
               "device", *state.BUDGET_FIELDS, "model")
# Text boxes beside the sliders: a typed value applies on Enter (or leaving the box) and is
# validated like any other (refused with a message when out of range; never clamped).
BOX_IDS = {"alpha-box": "alpha", "resolution-box": "resolution"}

# HTML inputmode="decimal" (a number keypad on phones); Dash's typed signature omits that value.
DECIMAL_KEYPAD: dict[str, Any] = {"inputMode": "decimal"}


# Slider marks, and how far from one a dragged value snaps to it. The slider (Radix) maps the
# pointer linearly over the whole track but draws the thumb and the marks inset by half a
# 16 px thumb, so a drag onto a mark's label lands up to 8 px (about 3% of the range) beside
# its value: dragging onto "0.25" gave 0.28. A move of one keyboard step never snaps.
MARKS = {"alpha": state.ALPHA_MARKS, "resolution": state.RES_MARKS}  # MobileNet-V1's
SNAP = {"alpha": (0.047, state.ALPHA_STEP), "resolution": (7.5, state.RES_STEP)}


def snap_to_mark(field: str, value: Any, previous: Any,
                 marks: tuple[float, ...] | None = None) -> Any:
    """A dragged slider value within SNAP of a mark (``marks``: the network's, default
    MobileNet-V1's) becomes the mark's value; a move of one step (arrow keys) from ``previous``
    stays as it is."""
    tol, step = SNAP[field]
    if not isinstance(value, int | float) or not isinstance(previous, int | float) or \
            abs(value - previous) <= step * 1.5:
        return value
    mark = min(marks or MARKS[field], key=lambda m: abs(m - value))
    return mark if abs(mark - value) <= tol else value


def slider_props(sel: state.ViewState) -> dict[tuple[str, str], Any]:
    """The sliders' range, marks and range hints for the selection's network (state.ranges_for),
    by (id, property); the breakdown's heading and hint (the paper's Table 2 is MobileNet-V1's)."""
    rg = state.ranges_for(sel.model, sel.rounding)
    v1 = sel.model == state.BASE_MODEL
    return {
        ("alpha", "min"): rg.alpha[0], ("alpha", "max"): rg.alpha[1],
        ("alpha", "marks"): {v: f"{v:g}" for v in rg.alpha_marks},
        ("resolution", "min"): rg.resolution[0], ("resolution", "max"): rg.resolution[1],
        ("resolution", "marks"): {v: str(v) for v in rg.resolution_marks},
        ("alpha-range", "children"): f"{rg.alpha[0]:g} to {rg.alpha[1]:g}",
        ("resolution-range", "children"): f"{rg.resolution[0]} to {rg.resolution[1]}",
        ("breakdown-head", "children"): ("Share per layer type vs the paper's Table 2" if v1 else
                                         f"Share per layer type of {sel.model}"),
        ("breakdown-hint", "children"): (BREAKDOWN_HINT if v1 else
                                         f"{sel.model}'s own layer types: their mult-adds and "
                                         f"parameters, and their shares of its totals."),
    }


BREAKDOWN_HINT = ("Table 2 is the paper's 1.0 MobileNet-224 (paper convention), shown for every "
                  "config as the reference.")
SLIDER_PROPS = tuple(slider_props(state.DEFAULT))  # the network view's outputs, in order


def _label(text: str, for_id: str, hint: str = "", hint_id: str | None = None) -> Any:
    children: list[Any] = [text]
    if hint:
        children.append(html.Span(hint, className="hint", id=hint_id) if hint_id
                        else html.Span(hint, className="hint"))
    return html.Label(children, htmlFor=for_id)


def _slider_row(key: str, lo: float, hi: float, step: float, value: float,
                marks: dict[Any, str]) -> Any:
    return html.Div(className="slider-row", children=[
        html.Div(className="slider-wrap", children=dcc.Slider(
            id=key, min=lo, max=hi, step=step, value=value, marks=marks, updatemode="mouseup",
            allow_direct_input=False, tooltip={"placement": "bottom", "always_visible": False})),
        dcc.Input(id=f"{key}-box", type="text", **DECIMAL_KEYPAD, debounce=True,
                  value=f"{value:g}", className="value-box", autoComplete="off"),
    ])


def layout() -> list[Any]:
    d = state.DEFAULT
    alpha_marks = {v: f"{v:g}" for v in MARKS["alpha"]}
    res_marks = {v: str(v) for v in MARKS["resolution"]}
    return [
        html.Section(className="card", children=[
            html.H2("Configuration"),
            _label("Network", "model", "built-in; costmodel models"),
            dcc.Dropdown(id="model", options=data.model_options(), value=d.model,
                         clearable=False, searchable=False),
            _label("Width multiplier \u03b1", "alpha-box", "0.1 to 1.5", "alpha-range"),
            _slider_row("alpha", state.ALPHA_MIN, state.ALPHA_MAX, state.ALPHA_STEP, d.alpha,
                        alpha_marks),
            _label("Input resolution (px)", "resolution-box", "96 to 320", "resolution-range"),
            _slider_row("resolution", state.RES_MIN, state.RES_MAX, state.RES_STEP,
                        d.resolution, res_marks),
            html.P("Type a value and press Enter; out-of-range values are refused, not clamped.",
                   className="hint"),
            _label("Variant", "variant"),
            dcc.Dropdown(id="variant", options=data.variant_options(), value=d.variant,
                         clearable=False, searchable=False),
            _label("Channel rounding", "rounding"),
            dcc.Dropdown(id="rounding", options=data.rounding_options(), value=d.rounding,
                         clearable=False, searchable=False),
            _label("Counting convention", "convention"),
            dcc.Dropdown(id="convention", options=data.convention_options(), value=d.convention,
                         clearable=False, searchable=False),
            _label("Precision", "precision", "model size and top-1"),
            dcc.Dropdown(id="precision", options=data.precision_options(), value=d.precision,
                         clearable=False, searchable=False),
        ]),
        html.Section(className="card", children=[
            html.H2("Chart"),
            _label("x axis", "x"),
            dcc.Dropdown(id="x", options=data.x_options(), value=d.x, clearable=False,
                         searchable=False),
            _label("Device / backend", "device", "for latency axes and budget"),
            dcc.Dropdown(id="device", options=data.device_options(), value=d.device,
                         clearable=True, searchable=True, placeholder="choose a device"),
        ]),
        html.Section(className="card", children=[
            html.H2("Budgets"),
            html.P("Leave empty for no limit. Press Enter or leave the box to apply.",
                   className="hint"),
            *[item for b in state.BUDGET_FIELDS for item in (
                _label(state.BUDGET_LABELS[b][0].upper() + state.BUDGET_LABELS[b][1:], b),
                # text, not number: the browser would drop "-5" silently; the callback says why
                dcc.Input(id=b, type="text", **DECIMAL_KEYPAD, debounce=True, value=None,
                          placeholder="no limit", className="budget-input",
                          autoComplete="off"))],
        ]),
        html.Div(id="status", className="status", role="status"),
    ]


def sync_selection(trigger: str | None, search: str | None, values: dict[str, Any],
                   click: Any, current: Any) -> tuple[list[Any], str, dict[str, Any], list[str]]:
    """Pure body of the sync callback.

    ``trigger`` is the id that fired (None on page load); ``values`` the controls by id;
    ``click`` the chart's clickData; ``current`` the store's last selection. Returns the control
    values (in :data:`CONTROL_IDS` order), the query string, the store data and messages.
    """
    x_keys, dev_keys = data.x_keys(), data.device_keys()
    try:
        base = state.parse(current, x_options=x_keys, devices=dev_keys) if current else state.DEFAULT
    except Exception:  # noqa: BLE001 - a hostile store value: start from the defaults
        base = state.DEFAULT
    if trigger in (None, "url"):
        raw: dict[str, Any] = state.from_query(search)
        # the URL is the whole view: unspecified fields take the network's defaults
        base = _network_base(raw.get("model"), state.DEFAULT)
    elif trigger == "model":  # another network: its base resolution and rounding, same alpha
        raw = {"model": values.get("model")}
        base = _network_base(raw["model"], base, keep=True)
    elif trigger == "pareto-chart":
        raw = data.config_from_click(click)
    elif trigger in BOX_IDS:
        raw = {BOX_IDS[trigger]: values.get(trigger)}
    else:
        raw = {k: values.get(k) for k in CONTROL_IDS}
    if trigger in SNAP:
        rg = state.ranges_for(base.model, base.rounding)
        raw[trigger] = snap_to_mark(trigger, raw.get(trigger), getattr(base, trigger),
                                    rg.alpha_marks if trigger == "alpha" else rg.resolution_marks)
    sel, errors = state.coerce(raw, base=base, x_options=x_keys, devices=dev_keys)
    sel, more = _network_only(_with_device(sel))
    errors += more
    controls_out = [getattr(sel, k) for k in CONTROL_IDS]
    return controls_out, state.to_query(sel), sel.to_dict(), errors


def _network_base(model: Any, current: state.ViewState, keep: bool = False) -> state.ViewState:
    """The defaults of ``model`` (state.defaults_for) when it is a built-in, else ``current``;
    ``keep``: with the current alpha, axis, device and budgets (a switch of network)."""
    if not isinstance(model, str) or model not in data.model_keys():
        return current
    d = state.defaults_for(model)
    if not keep:
        return d
    kept: dict[str, Any] = {k: getattr(current, k)
                            for k in ("alpha", "x", "device", *state.BUDGET_FIELDS)}
    return replace(d, **kept)


def _network_only(sel: state.ViewState) -> tuple[state.ViewState, list[str]]:
    """MobileNet-V1's variants (full_conv, shallow) belong to it: another network shows its own
    structure, and says so when a variant was asked for."""
    if sel.model == state.BASE_MODEL or sel.variant == state.DEFAULT.variant:
        return sel, []
    return (replace(sel, variant=state.DEFAULT.variant),
            [f"variant {sel.variant!r} is MobileNet-V1's; {sel.model} is shown as described"])


def _with_device(sel: state.ViewState) -> state.ViewState:
    """A latency axis or budget needs a device: none chosen -> the default one, shown in the
    dropdown (and the URL), so no figure uses a device the page does not name."""
    if sel.device is None and (sel.max_latency_ms is not None or sel.x in data.DEVICE_AXES):
        dev = data.default_device()
        if dev is not None:
            return replace(sel, device=dev)
    return sel


# The sync callback's outputs, in its order.
OUTPUTS = (*[(c, "value") for c in CONTROL_IDS], *[(b, "value") for b in BOX_IDS],
           ("url", "search"), ("selection", "data"), ("status", "children"))


def _outputs(trigger: str | None, search: Any, values: dict[str, Any], click: Any,
             current: Any) -> tuple[Any, ...]:
    controls_out, query, store, errors = sync_selection(trigger, search, values, click, current)
    status = [html.Div(e, className="error") for e in errors]
    boxes = [f"{store[field]:g}" for field in BOX_IDS.values()]
    return (*controls_out, *boxes, query, store, status)


def initial(search: str) -> dict[tuple[str, str], Any]:
    """The controls, the selection store and the messages for a page's query string, by
    (id, property): the page is drawn with them (dashboard.app.layout). The URL itself is the
    browser's."""
    out = dict(zip(OUTPUTS, _outputs(None, search, {}, None, None), strict=True))
    del out["url", "search"]
    return out | network_view(out["selection", "data"])


def network_view(selection: Any) -> dict[tuple[str, str], Any]:
    """Callback body: the slider ranges/marks and breakdown heading of the selection's network
    (a malformed selection: MobileNet-V1's)."""
    try:
        sel = state.parse(selection) if selection else state.DEFAULT
    except Exception:  # noqa: BLE001 - a hostile store value: the default view's
        sel = state.DEFAULT
    return slider_props(sel)


def _network_callback(model: Any, rounding: Any) -> tuple[Any, ...]:
    """On a change of network or rounding only: redrawing a slider on every selection change
    would take the keyboard focus from its thumb mid-way through arrow-key steps."""
    return tuple(network_view({"model": model, "rounding": rounding}).values())


def _callback(search: Any, *args: Any) -> tuple[Any, ...]:
    *control_values, click, current = args
    values = dict(zip((*CONTROL_IDS, *BOX_IDS), control_values, strict=True))
    trigger = ctx.triggered_id if isinstance(ctx.triggered_id, str) else None
    *new, status = _outputs(trigger, search, values, click, current)
    # Only what changed goes back: an unchanged selection starts no chart or config update (on
    # the first load the page was drawn for its URL already; a refused value changes nothing).
    old = (*control_values, search, current)
    return (*[no_update if n == o else n for n, o in zip(new, old, strict=True)], status)


def register(app: Any) -> None:
    app.callback(
        *[Output(i, p) for i, p in OUTPUTS],
        Input("url", "search"),
        *[Input(c, "value") for c in CONTROL_IDS],
        *[Input(b, "value") for b in BOX_IDS],
        Input("pareto-chart", "clickData"),
        State("selection", "data"),
    )(_callback)
    app.callback(*[Output(i, p) for i, p in SLIDER_PROPS], Input("model", "value"),
                 Input("rounding", "value"), prevent_initial_call=True)(_network_callback)
