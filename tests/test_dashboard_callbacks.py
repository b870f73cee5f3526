"""Dashboard callbacks called directly (they are plain functions), and hostile requests through
Flask's test client. Expected figures come from the paper / TF-slim tables (cited) or from the
library function the dashboard must agree with (one source of truth)."""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
import math
import re
from typing import Any

import pytest

pytest.importorskip("dash", reason="dash is not installed (pip install -e .[dash])")

from costmodel.core.engine import COLUMNS, layer_table  # noqa: E402
from costmodel.errors import CostModelError  # noqa: E402
from costmodel.search.recommend import recommend  # noqa: E402
from dashboard import data, state  # noqa: E402
from dashboard.views import config_view, controls, pareto_view  # noqa: E402


def sel(**kw: Any) -> dict[str, Any]:
    return state.parse(kw).to_dict()


def _texts(component: Any) -> list[str]:
    if component is None:
        return []
    if isinstance(component, str) and component.startswith("<"):  # the view's HTML: its text
        return [html_lib.unescape(t) for t in re.split(r"<[^>]*>", component) if t]
    if isinstance(component, str | int | float):
        return [str(component)]
    if isinstance(component, list | tuple):
        return [t for c in component for t in _texts(c)]
    return _texts(getattr(component, "children", None))


def text_of(component: Any) -> str:
    """All text inside a Dash component tree, whitespace collapsed."""
    return " ".join(" ".join(_texts(component)).split())


def trace(fig: dict[str, Any], name_prefix: str) -> dict[str, Any]:
    hits = [t for t in fig["data"] if t.get("name", "").startswith(name_prefix)
            and t.get("x") != [None]]
    assert hits, f"no trace named {name_prefix!r}: {[t.get('name') for t in fig['data']]}"
    return hits[0]


# ------------------------------------------------------------------------------------------
# View state: strict parse, lenient coerce, URL round trip
# ------------------------------------------------------------------------------------------
def test_defaults_are_the_papers_baseline() -> None:
    s = state.parse({})
    assert (s.alpha, s.resolution, s.variant, s.rounding, s.convention) == \
        (1.0, 224, "mobilenet_v1", "int", "paper")


@pytest.mark.parametrize("field,value,match", [
    ("alpha", float("nan"), "alpha"), ("alpha", float("inf"), "alpha"), ("alpha", "abc", "alpha"),
    ("alpha", 1e308, "alpha"), ("alpha", 0.02, "out of range"), ("alpha", 1.6, "out of range"),
    ("alpha", True, "alpha"), ("alpha", [0.5], "alpha"), ("alpha", None, "alpha"),
    ("resolution", 95, "out of range"), ("resolution", 321, "out of range"),
    ("resolution", 160.5, "resolution"), ("resolution", "1e9", "resolution"),
    ("resolution", {"a": 1}, "resolution"),
    ("variant", "resnet", "variant"), ("rounding", 8, "rounding"), ("convention", "", "convention"),
    ("x", "rm -rf /", "x axis"), ("x", "a" * 100_000, "x axis"),
    ("max_mult_adds_m", -5, "max mult-adds"), ("max_mult_adds_m", 0, "max mult-adds"),
    ("max_params_m", "NaN", "max params"), ("max_latency_ms", float("inf"), "max latency"),
    ("max_latency_ms", 1e300, "max latency"), ("max_params_m", [1], "max params"),
])
def test_parse_rejects_bad_values_with_one_line(field: str, value: Any, match: str) -> None:
    with pytest.raises(CostModelError, match=match) as exc:
        state.parse({field: value}, x_options=data.x_keys())
    assert "\n" not in str(exc.value) and len(str(exc.value)) < 400


def test_parse_rejects_unknown_fields_and_non_mappings() -> None:
    with pytest.raises(CostModelError, match="unknown"):
        state.parse({"__class__": 1})
    with pytest.raises(CostModelError, match="not a mapping"):
        state.parse([1, 2])


def test_coerce_keeps_good_fields_and_reports_bad_ones() -> None:
    s, errors = state.coerce({"alpha": "0.5", "resolution": -3, "max_params_m": "2"})
    assert s.alpha == 0.5 and s.max_params_m == 2.0
    assert s.resolution == state.DEFAULT.resolution
    assert len(errors) == 1 and "resolution" in errors[0]


def test_query_string_round_trip() -> None:
    s = state.parse({"alpha": 0.35, "resolution": 131, "variant": "shallow", "rounding": "slim",
                     "convention": "fvcore", "x": "params", "device": "pixel3_cpu4",
                     "max_latency_ms": 12.5, "max_params_m": 2})
    q = state.to_query(s)
    assert q.startswith("?alpha=0.35&resolution=131")
    back, errors = state.coerce(state.from_query(q))
    assert errors == [] and back == s
    # defaults stay out of the link; unknown keys are dropped
    assert state.to_query(state.DEFAULT) == "?alpha=1&resolution=224"
    assert state.from_query("?alpha=0.5&evil=1") == {"alpha": "0.5"}


# ------------------------------------------------------------------------------------------
# The sync callback: URL -> controls, controls -> URL + store, chart click -> selection
# ------------------------------------------------------------------------------------------
def test_page_load_reads_the_url() -> None:
    ctrl, query, store, errors = controls.sync_selection(
        None, "?alpha=0.5&resolution=160&x=params&max_mult_adds_m=100", {}, None, None)
    values = dict(zip(controls.CONTROL_IDS, ctrl, strict=True))
    assert values["alpha"] == 0.5 and values["resolution"] == 160 and values["x"] == "params"
    assert values["max_mult_adds_m"] == 100.0
    assert store == sel(alpha=0.5, resolution=160, x="params", max_mult_adds_m=100)
    assert query == "?alpha=0.5&resolution=160&x=params&max_mult_adds_m=100"
    assert errors == []


def test_bad_url_field_falls_back_and_says_why() -> None:
    _, query, store, errors = controls.sync_selection(
        "url", "?alpha=7&resolution=192", {}, None, None)
    assert store["alpha"] == state.DEFAULT.alpha and store["resolution"] == 192
    assert len(errors) == 1 and "alpha '7' is out of range" in errors[0]
    assert query == "?alpha=1&resolution=192"


def test_slider_move_updates_store_and_url() -> None:
    values = dict(zip(controls.CONTROL_IDS, [getattr(state.DEFAULT, k)
                                             for k in controls.CONTROL_IDS], strict=True))
    values["alpha"] = 0.42
    _, query, store, errors = controls.sync_selection("alpha", "", values, None,
                                                      state.DEFAULT.to_dict())
    assert store["alpha"] == 0.42 and "alpha=0.42" in query and errors == []


def test_negative_budget_is_reported_and_dropped() -> None:
    values = {k: getattr(state.DEFAULT, k) for k in controls.CONTROL_IDS}
    values["max_mult_adds_m"] = -5
    ctrl, _, store, errors = controls.sync_selection("max_mult_adds_m", "", values, None, None)
    assert store["max_mult_adds_m"] is None
    assert errors and "max mult-adds (M) -5 is out of range" in errors[0]


def test_chart_click_selects_the_point() -> None:
    click = {"points": [{"x": 100.0, "y": 60.0, "customdata": [0.55, 176]}]}
    _, query, store, _ = controls.sync_selection("pareto-chart", "", {}, click,
                                                 sel(alpha=1.0, x="params"))
    assert (store["alpha"], store["resolution"], store["x"]) == (0.55, 176, "params")
    # a click on a line (no customdata) or a hostile click changes nothing
    for bad in ({"points": [{"x": 1}]}, {"points": "x"}, None, {"points": [{"customdata": "ab"}]}):
        _, _, store2, _ = controls.sync_selection("pareto-chart", "", {}, bad, store)
        assert store2 == store


# ------------------------------------------------------------------------------------------
# The selected config view
# ------------------------------------------------------------------------------------------
def test_config_view_of_the_baseline() -> None:
    title, totals, rows, breakdown, _latency, reduction = config_view.update_config(sel())
    assert "1 MobileNet-224" in title
    # Paper Table 6 / TF-slim: 1.0 MobileNet-224 has 569M mult-adds and 4.2M params.
    cards = {c.id: text_of(c) for c in totals}
    assert "568.7 M" in cards["total-mult-adds"]  # 568,740,352 -> printed 569 in the paper
    assert "4.209 M" in cards["total-params"]
    # TF-slim's 1.0_224 checkpoint: 70.9 % top-1 (2018-02 edition), published
    assert "70.9 % (published)" in cards["total-top1"]
    # Table 1: conv1, 13 dw/pw pairs, avg pool, fc = 29 rows
    assert len(rows) == 29 and rows[0]["name"] == "conv1" and rows[-1]["name"] == "fc"
    # Table 2 beside the computed share: Conv 1x1 94.86 % of mult-adds (published 94.86)
    btxt = text_of(breakdown)
    assert "Conv 1x1 94.86 94.86 74.59 74.59" in btxt
    # 13 separable pairs; ratio = 1/N + 1/9 under the paper convention (eq. 5)
    assert len(reduction) == 13
    last = reduction[-1]  # conv_dw_13 + conv_pw_13: N = 1024
    assert last["mult_adds_ratio"] == pytest.approx(1 / 1024 + 1 / 9, rel=1e-12)


def test_moving_alpha_changes_totals_and_table() -> None:
    _, t1, rows1, *_ = config_view.update_config(sel(alpha=1.0))
    _, t2, rows2, *_ = config_view.update_config(sel(alpha=0.5))
    # Table 6: 0.5 MobileNet-224 has 149M mult-adds (count: 149,497,088), about alpha^2 of 569M
    assert "149.5 M" in text_of(t2[0])
    assert text_of(t1[0]) != text_of(t2[0])
    assert rows2[1]["out_shape"] == "112x112x16"  # conv_dw_1 at alpha 0.5: 32*0.5 channels
    assert sum(r["mult_adds"] for r in rows2) == 149_497_088


def test_top1_is_labelled_estimate_off_the_published_grid() -> None:
    _, totals, *_ = config_view.update_config(sel(alpha=0.6, resolution=176))
    assert "(estimate)" in text_of(totals[-1])
    _, totals, *_ = config_view.update_config(sel(alpha=0.1, resolution=96))
    assert "far outside published range" in text_of(totals[-1])
    _, totals, *_ = config_view.update_config(sel(variant="full_conv"))
    assert "71.7 % (published)" in text_of(totals[-1])  # Table 4: Conv MobileNet 71.7 %


def test_latency_table_shows_published_phone_figures() -> None:
    *_, latency, _ = config_view.update_config(sel(alpha=1.0, resolution=224))
    # TFLite hosted models: mobilenet_v1_1.0_224 float on Pixel 3 CPU (4 threads): 24.0 ms
    assert "pixel3 \u00b7 tflite-cpu, 4 thr (published) 24.00" in text_of(latency)


def test_csv_download_is_the_selected_configs_layer_table() -> None:
    out = config_view.download_csv(1, sel(alpha=0.75, resolution=192, rounding="slim"))
    assert out["filename"] == "mobilenet_v1_0.75_192_slim_paper_layers.csv"
    rows = list(csv.DictReader(io.StringIO(out["content"])))
    assert list(rows[0].keys()) == list(COLUMNS)
    expected = layer_table(0.75, 192, rounding="slim").rows
    assert [r["name"] for r in rows] == [r["name"] for r in expected]
    assert [int(r["mult_adds"]) for r in rows] == [r["mult_adds"] for r in expected]
    # TF-slim's MobileNet_v1_0.75_192 row prints 233M MACs, and its 0.75 rows leave out the
    # first conv (data/reference/SOURCES.md): conv1 = 3*3*3*24*96*96 = 5,971,968.
    assert int(rows[0]["mult_adds"]) == 3 * 3 * 3 * 24 * 96 * 96
    body = sum(int(r["mult_adds"]) for r in rows[1:])
    assert round(body / 1e6) == 233


def test_config_view_refuses_a_malformed_store() -> None:
    for bad in ({"alpha": "NaN"}, [1, 2], {"resolution": 10**12}, "x"):
        with pytest.raises(CostModelError):
            config_view.update_config(bad)
        with pytest.raises(CostModelError):
            config_view.download_csv(1, bad)


# ------------------------------------------------------------------------------------------
# The Pareto chart
# ------------------------------------------------------------------------------------------
def test_chart_marks_published_apart_and_draws_the_front() -> None:
    fig, rec, notes = pareto_view.update_chart(sel(alpha=0.75, resolution=160))
    pub = trace(fig, "Published top-1")
    est = trace(fig, "Estimated top-1")
    assert len(pub["x"]) == 16  # the 16 TF-slim checkpoints (alpha 0.25..1 x 128..224)
    assert all(not s.endswith("-open") for s in pub["marker"]["symbol"])
    assert all(s.endswith("-open") for s in est["marker"]["symbol"])
    # colour = alpha, symbol = resolution
    assert pub["marker"]["color"] == [cd[0] for cd in pub["customdata"]]
    by_res: dict[int, set[str]] = {}
    for cd, sym in zip(est["customdata"], est["marker"]["symbol"], strict=True):
        by_res.setdefault(cd[1], set()).add(sym)
    assert all(len(v) == 1 for v in by_res.values()) and len(by_res) == 7
    front = trace(fig, "Pareto front")
    assert front["x"] == sorted(front["x"]) and front["y"] == sorted(front["y"])
    # The 1.0-224 checkpoint (70.9 %, the most accurate published) ends the front
    assert front["y"][-1] == pytest.approx(70.9)
    # The selected config sits at the layer table's total (one source of truth)
    s = trace(fig, "Selected: 0.75-160")
    assert s["x"][0] == pytest.approx(layer_table(0.75, 160).totals["mult_adds"] / 1e6)
    assert "Set a budget" in text_of(rec)
    ax = fig["layout"]["xaxis"]["title"]["text"]
    assert "Mult-adds (millions)" in ax and fig["layout"]["yaxis"]["title"]["text"].endswith("(%)")


def test_budget_shades_and_recommends_what_the_library_recommends() -> None:
    fig, rec, _ = pareto_view.update_chart(sel(max_mult_adds_m=300))
    lib = recommend(max_mult_adds_m=300, grid=True)
    assert text_of(rec).startswith(f"Recommended: {lib['best']['label']}")
    assert "Binding budget: max mult-adds 300" in text_of(rec)
    rect = [s for s in fig["layout"]["shapes"] if s["type"] == "rect"]
    assert rect and rect[0]["x0"] == 300
    star = trace(fig, "Recommended")
    assert star["x"][0] == pytest.approx(lib["best"]["mult_adds"] / 1e6)
    # points over budget are faded; points within are not
    for t in (trace(fig, "Published top-1"), trace(fig, "Estimated top-1")):
        for x, op in zip(t["x"], t["marker"]["opacity"], strict=True):
            assert (op < 0.2) == (x > 300)
    # a tighter budget moves the recommendation
    _, rec2, _ = pareto_view.update_chart(sel(max_mult_adds_m=100))
    lib2 = recommend(max_mult_adds_m=100, grid=True)
    assert lib2["best"]["label"] != lib["best"]["label"]
    assert text_of(rec2).startswith(f"Recommended: {lib2['best']['label']}")


def test_budget_off_axis_still_recommends_and_names_it() -> None:
    _, rec, _ = pareto_view.update_chart(sel(max_params_m=1.5))
    lib = recommend(max_params_m=1.5, grid=True)
    assert lib["best"]["label"] in text_of(rec) and "max params" in text_of(rec)


def test_nothing_fits_says_so() -> None:
    fig, rec, _ = pareto_view.update_chart(sel(max_mult_adds_m=5))
    # the smallest published model, 0.25-128, needs 14M (TF-slim) -- nothing fits 5M
    assert text_of(rec).startswith("No configuration fits.")
    assert not [t for t in fig["data"] if t.get("name", "").startswith("Recommended")]


def test_published_phone_latency_axis() -> None:
    fig, _, _ = pareto_view.update_chart(sel(x="latency", device="pixel3_cpu4"))
    pub = trace(fig, "Published top-1")
    assert len(pub["x"]) == 16
    # TFLite hosted models: 1.0_224 float on Pixel 3 CPU: 24.0 ms, 0.25_128: 1.2 ms
    pts = {tuple(cd): x for cd, x in zip(pub["customdata"], pub["x"], strict=True)}
    assert pts[(1.0, 224)] == pytest.approx(24.0) and pts[(0.25, 128)] == pytest.approx(1.2)
    assert fig["layout"]["xaxis"]["title"]["text"].startswith("Published latency on pixel3")


def test_latency_budget_on_latency_axis() -> None:
    fig, rec, _ = pareto_view.update_chart(sel(x="latency", device="pixel3_cpu4",
                                               max_latency_ms=10))
    lib = recommend(max_latency_ms=10, device="pixel3_cpu4", grid=True)
    assert text_of(rec).startswith(f"Recommended: {lib['best']['label']}")
    assert [s for s in fig["layout"]["shapes"] if s["type"] == "rect"][0]["x0"] == 10


def test_other_variant_shows_its_cost_line() -> None:
    fig, _, notes = pareto_view.update_chart(sel(variant="full_conv"))
    assert "MobileNet-V1 only" in text_of(notes)
    lines = [s for s in fig["layout"]["shapes"] if s["type"] == "line"]
    # Table 4: Conv MobileNet 4866M mult-adds (count 4867.3M)
    assert any(s["x0"] == pytest.approx(layer_table(1.0, 224, variant="full_conv")
                                        .totals["mult_adds"] / 1e6) for s in lines)


def test_axis_ticks_and_image_export_config() -> None:
    fig, _, _ = pareto_view.update_chart(sel(x="params"))
    ticks = fig["layout"]["xaxis"]["tickvals"]
    assert all(round(math.log10(v) % 1, 3) in (0.0, 0.301, 0.699) for v in ticks)
    assert pareto_view.image_config("svg")["toImageButtonOptions"]["format"] == "svg"
    assert pareto_view.image_config("<script>")["toImageButtonOptions"]["format"] == "png"


def test_chart_refuses_a_malformed_store() -> None:
    for bad in ({"alpha": float("nan")}, {"x": "latency:../../etc"}, None, {"device": 5}):
        with pytest.raises(CostModelError):
            pareto_view.update_chart(bad)


# ------------------------------------------------------------------------------------------
# Hostile requests through the Flask test client
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client() -> Any:
    from dashboard.app import create_app

    app = create_app()
    return app, app.server.test_client()


def _body(app: Any, output_prefix: str, values: dict[str, Any], changed: list[str]) -> dict[str, Any]:
    key = next(k for k in app.callback_map if k.startswith(output_prefix))
    spec = app.callback_map[key]
    outs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    return {
        "output": key,
        "outputs": [{"id": o.component_id, "property": o.component_property} for o in outs],
        "inputs": [dict(i, value=values.get(f"{i['id']}.{i['property']}")) for i in spec["inputs"]],
        "state": [dict(s, value=values.get(f"{s['id']}.{s['property']}")) for s in spec["state"]],
        "changedPropIds": changed,
    }


SYNC, CHART, CONFIG, DOWNLOAD = "..alpha.value", "..pareto-chart.figure", "..config-title", \
    "download-layers.data"


def _post(c: Any, body: Any, raw: bool = False) -> Any:
    data_ = body if raw else json.dumps(body)
    return c.post("/_dash-update-component", data=data_, content_type="application/json")


def _assert_clean(resp: Any) -> None:
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text and "site-packages" not in text
    assert len(text) < 2_000_000


def test_valid_callback_request_works(client: Any) -> None:
    app, c = client
    r = _post(c, _body(app, CHART, {"selection.data": sel(alpha=0.5)}, ["selection.data"]))
    assert r.status_code == 200
    fig = r.get_json()["response"]["pareto-chart"]["figure"]
    assert any(t["name"] == "Selected: 0.5-224" for t in fig["data"])


@pytest.mark.parametrize("value", ["abc", float("nan"), 1e308, -1, [1, 2], {"a": 1}, None, True,
                                   "1" * 10_000])
def test_hostile_slider_values_are_handled(client: Any, value: Any) -> None:
    app, c = client
    r = _post(c, _body(app, SYNC, {"alpha.value": value, "resolution.value": value},
                       ["alpha.value"]))
    _assert_clean(r)
    assert r.status_code == 200  # handled: defaults kept, the reason in the status line
    resp = r.get_json()["response"]
    assert resp["selection"]["data"]["alpha"] == state.DEFAULT.alpha
    assert "allowed" in json.dumps(resp["status"]["children"])


@pytest.mark.parametrize("store", [{"alpha": "NaN"}, [1], "x", {"resolution": 1e400},
                                   {"__proto__": {}}, {"x": "latency:nope"}, 12])
@pytest.mark.parametrize("target", [CHART, CONFIG])
def test_hostile_store_values_get_400(client: Any, store: Any, target: str) -> None:
    app, c = client
    r = _post(c, _body(app, target, {"selection.data": store}, ["selection.data"]))
    _assert_clean(r)
    assert r.status_code == 400 and "allowed" in r.get_json()["error"]


def test_hostile_download_request_gets_400(client: Any) -> None:
    app, c = client
    r = _post(c, _body(app, DOWNLOAD, {"download-csv.n_clicks": 1,
                                       "selection.data": {"alpha": -1}}, ["download-csv.n_clicks"]))
    _assert_clean(r)
    assert r.status_code == 400


@pytest.mark.parametrize("payload", ["garbage", "[1, 2]", "", "null", '{"output": NaN}',
                                     '{"output": "..pareto-chart.figure...recommendation.children'
                                     '...chart-notes.children.."}',
                                     '{"output": "nope.children", "inputs": []}'])
def test_malformed_envelopes_get_400(client: Any, payload: str) -> None:
    _, c = client
    r = _post(c, payload, raw=True)
    _assert_clean(r)
    assert r.status_code == 400 and set(r.get_json()) == {"error"}


def test_wrong_counts_and_types_in_envelope_get_400(client: Any) -> None:
    app, c = client
    good = _body(app, CHART, {"selection.data": sel()}, ["selection.data"])
    for mutate in ({"inputs": []}, {"inputs": "x"}, {"inputs": [1]}, {"outputs": []},
                   {"outputs": "x"}, {"state": [{"id": "a", "property": "b"}]},
                   {"changedPropIds": [1]}, {"output": 5}):
        r = _post(c, {**good, **mutate})
        _assert_clean(r)
        assert r.status_code == 400, mutate


def test_huge_body_gets_413_and_server_lives_on(client: Any) -> None:
    app, c = client
    r = _post(c, "x" * (1 << 20), raw=True)
    assert r.status_code == 413
    r = _post(c, _body(app, CHART, {"selection.data": sel()}, ["selection.data"]))
    assert r.status_code == 200


def test_unexpected_error_is_a_short_500(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, c = client

    def boom(_sel: Any) -> Any:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(data, "config_details", boom)
    r = _post(c, _body(app, CONFIG, {"selection.data": sel()}, ["selection.data"]))
    _assert_clean(r)
    assert r.status_code == 500 and "secret" not in r.get_data(as_text=True)


def test_debug_is_off() -> None:
    from dashboard.app import create_app

    app = create_app()
    assert not app.server.debug
    assert not app._dev_tools["ui"] and not app._dev_tools["prune_errors"]  # no dev tools


# ------------------------------------------------------------------------------------------
# costmodel serve: options and bad input (the server itself runs in the e2e tests)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,match", [
    (["--port", "abc"], "port 'abc' is not an integer; allowed: 1 to 65535"),
    (["--port", "70000"], "port '70000' is out of range; allowed: 1 to 65535"),
    (["--threads", "0"], "threads '0' is out of range; allowed: 1 to 64"),
    (["--host", "no-such-host.invalid"], "host 'no-such-host.invalid' cannot be resolved"),
])
def test_serve_bad_options_are_one_line_errors(argv: list[str], match: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from costmodel.cli import main

    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1 and "Traceback" not in err


def test_serve_refuses_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from costmodel.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    assert f"port {port} on 127.0.0.1 is not available" in capsys.readouterr().err


def test_serve_defaults_and_no_dash_at_parse_time() -> None:
    import subprocess
    import sys

    code = ("import sys; from costmodel.cli import build_parser; "
            "a = build_parser().parse_args(['serve']); "
            "print(a.host, a.port, a.debug, "
            "sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dash', 'flask', 'waitress', 'plotly', 'dashboard')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["127.0.0.1", "8050", "False", "[]"]


def test_config_view_shows_the_aligned_alternatives() -> None:
    # 0.9 under int rounding: channels 28, 57, 115, ... (not multiples of 8): the latency panel
    # names the same alpha under divisible8 (channels 32, 56, 112, ...) and the nearest alpha
    # whose channels are all multiples of 8 under int. Below 0.9 that is 0.75 (24, 48, ...,
    # 768: floor(1024 a) = 768 needs a < 0.751), above it 1.0 (32, ..., 1024); 1.0 is nearer
    # (0.1 vs 0.15). Each comes with its predicted latency on the chosen device.
    *_, latency, _ = config_view.update_config(sel(alpha=0.9, resolution=192,
                                                   device="pixel3_cpu4"))
    txt = text_of(latency)
    assert "0.9-192 (int) has channel counts that are not multiples of 8" in txt
    assert "0.9-192 (divisible8)" in txt and "1-192 (int)" in txt
    *_, latency, _ = config_view.update_config(sel(alpha=1.0, resolution=192,
                                                   device="pixel3_cpu4"))
    assert "not multiples of 8" not in text_of(latency)  # 32, 64, ..., 1024: aligned


# ------------------------------------------------------------------------------------------
# The first page load (issue 14: <= 1.5 s): what the page loads, and a page drawn for its URL
# ------------------------------------------------------------------------------------------
def test_page_loads_plotly_basic_and_only_the_chunks_it_uses(client: Any) -> None:
    from dashboard.app import DCC_CHUNKS

    _, c = client
    page = c.get("/").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    names = [s.split("?")[0].rsplit("/", 1)[-1] for s in scripts]
    assert "plotly-basic-4.1.1.min.js" in names  # dashboard/assets/: 1.2 MB
    assert not any(s.startswith("/_dash-component-suites/plotly/") for s in scripts)  # 4.8 MB
    for chunk in DCC_CHUNKS:  # graph, slider, dropdown: in the page, not fetched after render
        assert any(n.startswith(f"async-{chunk}.") for n in names), chunk
    # no chunk the page never runs (each would be fetched and evaluated on every first load)
    for unused in ("mathjax", "markdown", "datepicker", "highlight", "upload", "table", "export"):
        assert not any(n.startswith(f"async-{unused}.") for n in names), unused
    # the asset is served, and is the bundle it says it is
    asset = next(s for s in scripts if "plotly-basic" in s)
    assert "plotly.js (basic - minified) v4.1.1" in c.get(asset).get_data(as_text=True)[:80]


# plotly.js-basic-dist-min 4.1.1 (npm, README): "Contains trace modules bar, pie and scatter".
BASIC_TRACES = {"bar", "pie", "scatter"}


@pytest.mark.parametrize("view", [{}, {"x": "params"}, {"x": "size_int8"},
                                  {"x": "peak_activation"}, {"x": "latency", "device": "pixel3_cpu4"},
                                  {"max_mult_adds_m": 300}, {"variant": "shallow"}])
def test_every_figure_draws_with_the_basic_bundle(view: dict[str, Any]) -> None:
    fig, _, _ = pareto_view.update_chart(sel(**view))
    types = {t["type"] for t in fig["data"]}
    assert types and types <= BASIC_TRACES
    assert pareto_view.message_figure("x")["data"] == []  # the "nothing to plot" chart: no trace


def _layout_store(c: Any, referer: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The selection store and the props by id of the layout served to a page at ``referer``."""
    headers = {"Referer": referer} if referer else {}
    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict) and "props" in node:
            if isinstance(node["props"].get("id"), str):
                found[node["props"]["id"]] = node["props"]
            walk(node["props"].get("children"))

    walk(c.get("/_dash-layout", headers=headers).get_json())
    return found["selection"]["data"], found


def test_page_is_drawn_for_its_url(client: Any) -> None:
    _, c = client
    store, props = _layout_store(c, "http://127.0.0.1:8050/?alpha=0.5&resolution=160")
    assert store == sel(alpha=0.5, resolution=160)
    assert props["alpha"]["value"] == 0.5 and props["resolution-box"]["value"] == "160"
    names = [t["name"] for t in props["pareto-chart"]["figure"]["data"]]
    assert "Selected: 0.5-160" in names
    assert "0.5 MobileNet-160" in props["config-title"]["children"]
    # conv1 at 0.5-160: input 160x160x3, output 80x80x16 (int(32 * 0.5) channels, stride 2)
    assert '<tr data-row="conv1">' in props["layer-table-html"]["data"]
    assert "160x160x3" in props["layer-table-html"]["data"]
    assert "80x80x16" in props["layer-table-html"]["data"]
    # a cache must keep one layout per page
    assert c.get("/_dash-layout").headers["Vary"] == "Referer"
    # no Referer (or one without a query): the default view, which the callbacks then correct
    for ref in (None, "http://127.0.0.1:8050/"):
        assert _layout_store(c, ref)[0] == sel()
    # a bad value in the URL: the default for that field and the message, as the callback does
    store, props = _layout_store(c, "http://127.0.0.1:8050/?alpha=75")
    assert store["alpha"] == 1.0
    assert "did you mean 0.75?" in json.dumps(props["status"]["children"])


def test_first_load_callback_changes_nothing_the_page_already_shows(client: Any) -> None:
    """The sync callback runs on every load; for a page drawn for its URL it sends back no
    selection, so no chart or config request follows (one small round trip, not three)."""
    app, c = client
    want = sel(alpha=0.5, resolution=160)
    values = {f"{k}.value": want[k] for k in controls.CONTROL_IDS}
    values |= {"alpha-box.value": "0.5", "resolution-box.value": "160",
               "url.search": "?alpha=0.5&resolution=160", "selection.data": want}
    r = _post(c, _body(app, SYNC, values, []))
    out = r.get_json()["response"]
    assert "selection" not in out and "url" not in out and "alpha" not in out
    assert out["status"]["children"] == []
    # a page drawn for another view (no Referer): the store is corrected, and the URL normalised
    values["selection.data"] = sel()
    values["url.search"] = "?resolution=160&alpha=0.5"
    out = _post(c, _body(app, SYNC, values, [])).get_json()["response"]
    assert out["selection"]["data"] == want
    assert out["url"]["search"] == "?alpha=0.5&resolution=160"


def test_table_rows_are_escaped_html() -> None:
    rows = [{"index": 0, "name": "<b>x</b>", "type": "a&b", "stride": 1, "in_shape": "1x1x1",
             "out_shape": '"q"', "mult_adds": 2_000_000, "mult_adds_pct": 100.0, "params": 0,
             "params_pct": 0.0, "activation_bytes": None}]
    body = config_view.table_body("layer", rows)
    assert body.startswith('<tr data-row="&lt;b&gt;x&lt;/b&gt;">')
    assert '<td class="text" data-col="type">a&amp;b</td>' in body
    assert '<td class="text" data-col="out_shape">&quot;q&quot;</td>' in body
    assert '<td class="num" data-col="mult_adds">2.00</td>' in body  # 2,000,000 / 1e6
    assert '<td class="num" data-col="activation_bytes"></td>' in body  # None: empty
    assert "<b>" not in body


def test_small_tables_are_escaped_html() -> None:
    body = config_view._latency_table([{"label": "<x> & y", "measured_ms": 2.0,
                                        "predicted_ms": 2.2}], alignment="a < b")
    # error = (2.2 - 2.0) / 2.0 = +10.0 %
    assert "<tr><td>&lt;x&gt; &amp; y</td><td>2.00</td><td>2.20</td><td>+10.0 %</td></tr>" in body
    assert body.endswith('<p class="hint alignment-note">a &lt; b</p>')
    assert config_view._latency_table([]).startswith('<p class="hint">No device has a measured')
