"""Issue 14, explorer side: a chart that says why it is empty, typed values refused (not clamped)
with a message, a latency device always named in its control, notes in the page's words, one
marker shape per resolution on every axis."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest

pytest.importorskip("dash", reason="dash is not installed (pip install -e .[dash])")

from costmodel.errors import CostModelError  # noqa: E402
from dashboard import data, state  # noqa: E402
from dashboard.views import controls, pareto_view  # noqa: E402


def _measured_device() -> str:
    return next(d["id"] for d in data.devices() if not d["published"])


def _text(component: Any) -> str:
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


# ------------------------------------------------------------------ a chart that says why
@pytest.mark.parametrize("variant", ["shallow", "full_conv"])
def test_variant_on_predicted_latency_shows_the_front_and_says_why(variant: str) -> None:
    dev = _measured_device()
    sel = state.parse({"variant": variant, "x": "latency_pred", "device": dev}).to_dict()
    fig, _, notes = pareto_view.update_chart(sel)  # raised CostModelError (HTTP 400) before
    pts = [t for t in fig["data"] if t.get("mode") == "markers" and t["x"] != [None]]
    assert pts and sum(len(t["x"]) for t in pts) > 10  # the MobileNet-V1 front is drawn
    said = _text(notes)
    assert f"selected {variant} config cannot be placed" in said and "no latency" in said


def test_a_chart_that_cannot_be_drawn_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(sel: Any) -> Any:
        raise CostModelError("no latency rows for device 'x'")

    monkeypatch.setattr(data, "front_frame", broken)
    fig, _, notes = pareto_view.update_chart(state.parse({}).to_dict())
    assert fig["data"] == [] and "no latency rows for device 'x'" in \
        fig["layout"]["annotations"][0]["text"]
    assert "Nothing to plot" in _text(notes)


def test_blank_chart_url_answers_200_through_flask() -> None:
    from dashboard.app import create_app

    app = create_app()
    key = next(k for k in app.callback_map if k.startswith("..pareto-chart.figure"))
    spec = app.callback_map[key]
    sel = state.parse({"variant": "shallow", "x": "latency_pred",
                       "device": _measured_device()}).to_dict()
    body = {"output": key, "outputs": [{"id": o.component_id, "property": o.component_property}
                                       for o in spec["output"]],
            "inputs": [dict(i, value=sel) for i in spec["inputs"]], "state": [],
            "changedPropIds": ["selection.data"]}
    r = app.server.test_client().post("/_dash-update-component", data=json.dumps(body),
                                      content_type="application/json")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]


# ------------------------------------------------------------------ typed values
def _type(box: str, value: Any) -> tuple[dict[str, Any], list[str]]:
    values = {k: getattr(state.DEFAULT, k) for k in controls.CONTROL_IDS}
    values[box] = value
    _, _, store, errors = controls.sync_selection(box, "", values, None, state.DEFAULT.to_dict())
    return store, errors


@pytest.mark.parametrize("box,typed,field,want", [
    ("alpha-box", "0.5", "alpha", 0.5), ("alpha-box", "1.5", "alpha", 1.5),
    ("alpha-box", "0.1", "alpha", 0.1), ("resolution-box", "96", "resolution", 96),
    ("resolution-box", "320", "resolution", 320), ("resolution-box", " 160 ", "resolution", 160),
])
def test_typed_value_in_range_applies(box: str, typed: str, field: str, want: Any) -> None:
    store, errors = _type(box, typed)
    assert errors == [] and store[field] == want


@pytest.mark.parametrize("box,typed,needles", [
    ("alpha-box", "75", ["alpha '75' is out of range", "did you mean 0.75?", "0.1 to 1.5"]),
    ("alpha-box", "1.51", ["alpha '1.51' is out of range"]),
    ("alpha-box", "0.09", ["alpha '0.09' is out of range"]),
    ("alpha-box", "wide", ["alpha 'wide' is not a number"]),
    ("resolution-box", "500", ["resolution '500' is out of range", "96 to 320"]),
    ("resolution-box", "321", ["resolution '321' is out of range"]),
    ("resolution-box", "95", ["resolution '95' is out of range"]),
    ("resolution-box", "224.5", ["resolution '224.5' is not an integer"]),
])
def test_typed_value_out_of_range_is_refused_not_clamped(box: str, typed: str,
                                                         needles: list[str]) -> None:
    store, errors = _type(box, typed)
    assert (store["alpha"], store["resolution"]) == (state.DEFAULT.alpha, state.DEFAULT.resolution)
    assert len(errors) == 1
    for n in needles:
        assert n in errors[0]


@pytest.mark.parametrize("typed", ["-5", "0", -5])
def test_a_negative_or_zero_budget_gets_a_message(typed: Any) -> None:
    store, errors = _type("max_mult_adds_m", typed)
    assert store["max_mult_adds_m"] is None
    assert len(errors) == 1 and "max mult-adds (M)" in errors[0] and "above 0" in errors[0]


def test_budget_typed_as_text_applies() -> None:
    store, errors = _type("max_mult_adds_m", "300")
    assert errors == [] and store["max_mult_adds_m"] == 300.0


def test_boxes_apply_on_enter_and_are_text() -> None:
    """debounce=True: a dcc.Input sends its value on Enter (and on leaving the box); type text,
    so the browser never drops '-5' or '75' before the callback can say why."""
    from dashboard.app import create_app

    app = create_app()
    found = {}

    def walk(c: Any) -> None:
        if getattr(c, "id", None) in (*controls.BOX_IDS, *state.BUDGET_FIELDS):
            found[c.id] = c
        for ch in (getattr(c, "children", None) or []) if not isinstance(
                getattr(c, "children", None), str) else []:
            walk(ch)

    page = app.layout()  # a function: each page is drawn for its URL
    walk(page)
    assert set(found) == {*controls.BOX_IDS, *state.BUDGET_FIELDS}
    for c in found.values():
        assert c.debounce is True and c.type == "text"
    sliders: list[Any] = []

    def find_sliders(c: Any) -> None:
        if type(c).__name__ == "Slider":
            sliders.append(c)
        ch = getattr(c, "children", None)
        for x in ([ch] if ch is not None and not isinstance(ch, list | str) else ch or []):
            if not isinstance(x, str):
                find_sliders(x)

    find_sliders(page)
    assert len(sliders) == 2 and all(s.allow_direct_input is False for s in sliders)


# ------------------------------------------------------------------ defaults nobody chose
@pytest.mark.parametrize("raw", ["?max_latency_ms=10", "?x=latency", "?x=latency_pred"])
def test_a_latency_view_names_its_device_in_the_control(raw: str) -> None:
    ctrl, query, store, errors = controls.sync_selection(None, raw, {}, None, None)
    values = dict(zip(controls.CONTROL_IDS, ctrl, strict=True))
    assert errors == []
    assert values["device"] == store["device"] == data.default_device() is not None
    assert "device=" in query


def test_no_latency_no_device() -> None:
    ctrl, _, store, _ = controls.sync_selection(None, "?max_mult_adds_m=300", {}, None, None)
    assert store["device"] is None


# ------------------------------------------------------------------ notes in the page's words
@pytest.mark.parametrize("x", ["latency", "latency_pred", "mult_adds"])
def test_chart_notes_name_no_cli_flag(x: str) -> None:
    model = pareto_view.chart_model(state.parse({"x": x, "device": _measured_device()}))
    for note in model["notes"]:
        assert "--" not in note and "allow_far" not in note and "costmodel " not in note, note


def test_cli_advice_is_cut_from_library_notes() -> None:
    import pandas as pd

    frame = pd.DataFrame({"x": [1]})
    frame.attrs = {"notes": [
        "84 configs outside the calibrated range of dev have no latency_pred:dev (e.g. alpha 0.3 "
        "gives a layer 9 channels (gcd with 16: 1); `costmodel latency calibrate` measures this "
        "machine)", "3 configs left out (--show all)", "nothing to advise"]}
    assert data.page_notes(frame) == [
        "84 configs outside the calibrated range of dev have no latency_pred:dev (e.g. alpha 0.3 "
        "gives a layer 9 channels (gcd with 16: 1))", "3 configs left out",
        "nothing to advise"]


def test_far_configs_still_explained() -> None:
    """The measured grid reaches 96 px at alpha 0.25: far outside the published range."""
    frame = data.front_frame(state.parse({"x": "latency", "device": _measured_device()}))
    far = frame.attrs["far_left_out"]
    assert far["count"] > 0
    assert any(f"{far['count']} measured configs" in n for n in data.page_notes(frame))


# ------------------------------------------------------------------ one marker per resolution
def _symbols(fig: dict[str, Any]) -> dict[int, str]:
    out: dict[int, str] = {}
    for t in fig["data"]:
        if t.get("mode") != "markers" or t["x"] == [None] or "customdata" not in t:
            continue
        syms = t["marker"].get("symbol")
        if not isinstance(syms, list):
            continue
        for (_, res), sym in zip(t["customdata"], syms, strict=True):
            out.setdefault(int(res), sym.replace("-open", ""))
            assert out[int(res)] == sym.replace("-open", "")
    return out


def test_a_marker_shape_means_one_resolution_on_every_axis() -> None:
    dev = _measured_device()
    charts = [pareto_view.figure(pareto_view.chart_model(state.parse(kw))) for kw in (
        {"x": "mult_adds"}, {"x": "params"}, {"x": "latency", "device": dev},
        {"x": "latency", "device": "pixel3_cpu4"})]
    maps = [_symbols(f) for f in charts]
    shared = set.intersection(*(set(m) for m in maps))
    assert {128, 160, 192, 224} <= shared
    for r in set().union(*maps):
        assert len({m[r] for m in maps if r in m}) == 1, r
    # and different resolutions on one chart never share a shape
    for m in maps:
        assert len(set(m.values())) == len(m)


# ------------------------------------------------------------------ plain, sortable tables
class _Rows(HTMLParser):
    """The rows of a table body's HTML: [(data-row, {data-col: text})]."""

    def __init__(self, body: str) -> None:
        super().__init__()
        self.rows: list[tuple[str, dict[str, str]]] = []
        self._col: str | None = None
        self.feed(body)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr":
            self.rows.append((a["data-row"] or "", {}))
        elif tag == "td":
            self._col = a["data-col"]
            self.rows[-1][1][self._col or ""] = ""

    def handle_data(self, data: str) -> None:
        if self._col is not None:
            self.rows[-1][1][self._col] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._col = None


def _order(body: str) -> list[str]:
    return [name for name, _ in _Rows(body).rows]


def test_layer_table_rows_show_every_value_in_full() -> None:
    from dashboard.views import config_view

    _, _, rows, *_ = config_view.update_config(state.parse({}).to_dict())
    body = config_view.table_body("layer", rows)
    name, conv1 = _Rows(body).rows[0]
    assert name == "conv1"
    # conv1 at 1.0-224: 3*3*3*32 weights on 112*112 outputs = 10,838,016 mult-adds = 10.84 M
    assert conv1 == {"index": "0", "name": "conv1", "type": "Conv 3x3", "stride": "2",
                     "in_shape": "224x224x3", "out_shape": "112x112x32", "mult_adds": "10.84",
                     "mult_adds_pct": "1.91", "params": "0.0009", "params_pct": "0.02",
                     # 112*112*32 fp32 outputs = 1,605,632 bytes = 1.61 MB
                     "activation_bytes": "1.61"}


def test_header_click_sorts_and_a_second_click_reverses() -> None:
    from dashboard.views import config_view

    _, _, rows, *_ = config_view.update_config(state.parse({}).to_dict())
    body, sort = config_view.sort_table("layer", "layer-sort-mult_adds", rows, None)
    order = _order(body)
    want = [r["name"] for r in sorted(rows, key=lambda r: r["mult_adds"])]
    assert order == want and sort == {"field": "mult_adds", "desc": False}
    body, sort = config_view.sort_table("layer", "layer-sort-mult_adds", rows, sort)
    ma = {r["name"]: r["mult_adds"] for r in rows}
    got = [ma[name] for name in _order(body)]
    assert got == sorted(ma.values(), reverse=True) and sort["desc"] is True
    # another column starts ascending again; an unknown column keeps the computed order
    _, sort = config_view.sort_table("layer", "layer-sort-name", rows, sort)
    assert sort == {"field": "name", "desc": False}
    body, sort = config_view.sort_table("layer", "layer-sort-evil", rows, sort)
    assert sort is None and _order(body) == [r["name"] for r in rows]


# ------------------------------------------------------------------ slider marks snap
def _drag(field: str, value: Any, previous: Any) -> Any:
    values = {k: getattr(state.DEFAULT, k) for k in controls.CONTROL_IDS}
    values[field] = value
    current = state.parse({field: previous}).to_dict()
    _, _, store, errors = controls.sync_selection(field, "", values, None, current)
    assert errors == []
    return store[field]


@pytest.mark.parametrize("field,dragged,previous,want", [
    # a 244 px track, 16 px thumb: onto the "0.25" label the pointer maps to 0.28 (issue 14)
    ("alpha", 0.28, 0.75, 0.25), ("alpha", 0.29, 1.0, 0.25), ("alpha", 1.46, 0.75, 1.5),
    ("alpha", 0.30, 0.75, 0.30),  # 0.05 from the mark: a real choice, kept
    ("alpha", 0.74, 0.75, 0.74), ("alpha", 0.76, 0.75, 0.76),  # one arrow-key step: kept
    ("alpha", 0.26, 0.25, 0.26),  # one step off a mark: kept
    ("resolution", 101, 224, 96), ("resolution", 167, 224, 160), ("resolution", 168, 224, 168),
    ("resolution", 161, 160, 161),
])
def test_slider_marks_snap(field: str, dragged: Any, previous: Any, want: Any) -> None:
    assert _drag(field, dragged, previous) == want
