"""The explorer's network control: view state (URL, defaults per network, switching) and the
data each view shows per network; nothing from mobilenet_v1 in another network's view."""

from __future__ import annotations

from dataclasses import replace

import pytest

pytest.importorskip("dash", reason="dash is not installed (pip install -e .[dash])")

from costmodel.core.arch import BUILTIN_NAMES, get_description  # noqa: E402
from costmodel.core.engine import layer_table  # noqa: E402
from costmodel.errors import CostModelError  # noqa: E402
from costmodel.search.accuracy import network_accuracy  # noqa: E402
from costmodel.search.recommend import recommend  # noqa: E402
from dashboard import data, state  # noqa: E402
from dashboard.views import config_view, controls, pareto_view  # noqa: E402

OTHERS = [n for n in BUILTIN_NAMES if n != "mobilenet_v1"]


def _sync(trigger, search="", values=None, current=None):
    return controls.sync_selection(trigger, search, values or {}, None, current)


# --- view state ----------------------------------------------------------------------------
def test_model_is_a_checked_field():
    assert state.parse({"model": "resnet18"}).model == "resnet18"
    with pytest.raises(CostModelError, match=r"model 'resnet19' .*allowed: mobilenet_v1, ") as e:
        state.parse({"model": "resnet19"})
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("model,resolution,rounding", [
    ("inception_v3", 299, "int"),  # Szegedy et al. Table 1: 299x299x3 input
    ("mobilenet_v2", 224, "divisible8"),  # torchvision's _make_divisible(c * alpha, 8)
    ("mobilenet_v1", 224, "int"),
])
def test_a_url_naming_a_network_opens_at_its_base_and_rounding(model, resolution, rounding):
    _, query, store, errors = _sync(None, f"?model={model}")
    assert errors == [] and store["model"] == model
    assert (store["resolution"], store["rounding"]) == (resolution, rounding)
    assert ("model=" in query) == (model != "mobilenet_v1")


@pytest.mark.parametrize("model", BUILTIN_NAMES)
def test_a_link_reopens_the_same_view_for_every_network(model):
    sel = replace(state.defaults_for(model), alpha=0.5, rounding="slim", max_params_m=3.0)
    _, query, store, _ = _sync(None, state.to_query(sel))
    assert state.parse(store) == sel


def test_own_rounding_is_left_out_of_the_url_and_another_is_kept():
    v2 = state.defaults_for("mobilenet_v2")
    assert "rounding" not in state.to_query(v2)
    q = state.to_query(replace(v2, rounding="int"))  # int is V1's default, not V2's
    assert "rounding=int" in q
    assert state.parse(_sync(None, q)[2]).rounding == "int"


def test_switching_network_takes_its_base_and_keeps_alpha_and_budgets():
    current = replace(state.DEFAULT, alpha=0.5, resolution=160, max_mult_adds_m=500.0).to_dict()
    _, query, store, errors = _sync("model", values={"model": "inception_v3"}, current=current)
    assert errors == []
    assert (store["model"], store["alpha"], store["resolution"]) == ("inception_v3", 0.5, 299)
    assert store["max_mult_adds_m"] == 500.0 and "model=inception_v3" in query


def test_a_mobilenet_v1_variant_is_not_applied_to_another_network():
    _, _, store, errors = _sync(None, "?model=resnet18&variant=shallow")
    assert store["variant"] == "mobilenet_v1"
    assert errors == ["variant 'shallow' is MobileNet-V1's; resnet18 is shown as described"]


def test_first_page_reads_no_network_description(monkeypatch):
    import costmodel.core.arch as arch

    def boom(*a, **k):
        raise AssertionError("a description was read")

    monkeypatch.setattr(arch, "get_description", boom)
    out = controls.initial("?alpha=0.75&resolution=160")
    assert out["selection", "data"]["model"] == "mobilenet_v1"
    assert [o["value"] for o in data.model_options()] == list(BUILTIN_NAMES)


# --- data per network -------------------------------------------------------------------------
@pytest.mark.parametrize("model", OTHERS)
def test_each_networks_view_is_its_own(model):
    desc = get_description(model)
    sel = state.defaults_for(model)
    view = data.config_details(sel)
    t = layer_table(1.0, desc.base_resolution, spec=model, rounding=desc.rounding)
    assert [r["name"] for r in view["layers"]] == [r["name"] for r in t.rows]
    assert view["summary"]["mult_adds"] == t.totals["mult_adds"]
    # no device has rows of this network (the reference machine and the phones measured
    # mobilenet_v1): no latency, and none of MobileNet-V1's in its place
    assert view["latency"] == [] and view["alignment"] == "" and model in view["title"]
    shown = config_view._latency_table(view["latency"], view["alignment"], model)
    assert f"No device has a latency of {model} measured" in shown
    assert f"costmodel latency calibrate --model {model}" in shown
    chart = pareto_view.chart_model(sel)
    acc = network_accuracy(model)
    assert {(p["alpha"], p["resolution"]): p["top1"] for p in chart["points"]} == \
        {k: v["top1"] for k, v in acc.items()}
    assert not any(p["estimated"] for p in chart["points"])
    assert model in chart["title"] and "MobileNet-V1" not in chart["title"]
    assert "estimate:" not in " ".join(chart["notes"])


def test_top1_of_a_config_is_the_published_one_or_says_where_it_is():
    v2 = replace(state.defaults_for("mobilenet_v2"), alpha=0.35, resolution=96)
    assert data.config_details(v2)["summary"]["top1_text"] == "45.5 % (published)"  # TF-slim
    r18 = replace(state.defaults_for("resnet18"), alpha=0.5)
    assert data.config_details(r18)["summary"]["top1_text"] == \
        "not published for this config (resnet18: 1-224; not estimated)"


def test_the_recommendation_is_the_networks():
    sel = replace(state.defaults_for("mobilenet_v2"), max_mult_adds_m=100.0)
    rec = data.recommendation(sel)
    lib = recommend(max_mult_adds_m=100.0, spec="mobilenet_v2", grid=True)
    assert rec["best"]["label"] == lib["best"]["label"] == "0.5-224"  # 97.1 M, 65.4 %


def test_a_latency_budget_on_another_network_is_refused_not_answered_with_v1s():
    dev = data.default_device()
    sel = replace(state.defaults_for("resnet18"), max_latency_ms=5.0, device=dev)
    rec = data.recommendation(sel)
    # the device has mobilenet_v1's rows only: refused, naming the command that measures resnet18
    assert rec["best"] is None and "no latency rows of network 'resnet18'" in rec["message"]
    assert "costmodel latency calibrate --model resnet18" in rec["message"]
    shown = pareto_view.recommendation_view(rec)
    assert shown.children[0].children == "No recommendation: "  # not "No configuration fits."
    frame = data.front_frame(sel)
    assert data.over_budget(frame, sel) == set()  # no MobileNet-V1 latency read for it


def test_a_network_without_cited_top1_has_no_accuracy_axis(monkeypatch):
    monkeypatch.setattr(data, "model_accuracy", lambda m: {})
    data._front.cache_clear()
    sel = state.defaults_for("vgg16")
    try:
        fig, _, notes = pareto_view.update_chart(sel.to_dict())
    finally:
        data._front.cache_clear()
    assert fig["data"] == []
    assert "vgg16 has no published top-1" in notes[0].children
    assert "no accuracy axis" in notes[0].children


def test_csv_name_and_long_names_break_at_dots():
    assert data.csv_filename(state.defaults_for("resnet18")).startswith("resnet18_1_224_int")
    body = config_view.table_body("layer", [{"name": "a.b<c", "type": "Add"}])
    assert 'data-row="a.b&lt;c">' in body and ">a.<wbr>b&lt;c</td>" in body


# --- sliders and breakdown per network (issue #11) -------------------------------------------
def test_sliders_follow_the_network():
    v1 = controls.slider_props(state.DEFAULT)
    assert (v1["alpha", "min"], v1["alpha", "max"]) == (0.1, 1.5)
    assert (v1["resolution", "min"], v1["resolution", "max"]) == (96, 320)
    assert list(v1["resolution", "marks"]) == [96, 128, 160, 192, 224, 256, 288, 320]
    # Inception V3 (base 299): V1's 96..320 x 299/224 = 128.1..427.2 -> 128..427; the marks
    # are V1's scaled the same way (160 x 299/224 = 213.6 -> 214), 299 among them
    iv3 = controls.slider_props(state.defaults_for("inception_v3"))
    assert (iv3["resolution", "min"], iv3["resolution", "max"]) == (128, 427)
    assert list(iv3["resolution", "marks"]) == [128, 171, 214, 256, 299, 342, 384, 427]
    assert iv3["resolution-range", "children"] == "128 to 427"
    assert iv3["breakdown-head", "children"] == "Share per layer type of inception_v3"
    assert iv3["breakdown-hint", "children"].startswith("inception_v3's own layer types")
    assert "Table 2" not in iv3["breakdown-hint", "children"]
    assert v1["breakdown-head", "children"] == "Share per layer type vs the paper's Table 2"


def test_the_resolution_range_is_the_networks():
    # 400 px is inside Inception V3's range, outside MobileNet-V1's; 100 px the other way round
    _, _, store, errors = _sync(None, "?model=inception_v3&resolution=400")
    assert errors == [] and store["resolution"] == 400
    _, _, store, errors = _sync(None, "?model=inception_v3&resolution=100")
    assert store["resolution"] == 299
    assert errors == ["resolution '100' is out of range; allowed: 128 to 427"]
    _, _, store, errors = _sync(None, "?resolution=400")
    assert errors == ["resolution '400' is out of range; allowed: 96 to 320"]
    with pytest.raises(CostModelError, match="allowed: 128 to 427"):
        state.parse({"model": "inception_v3", "resolution": 100})
    assert state.parse({"model": "inception_v3", "resolution": 427}).resolution == 427


def test_alpha_range_and_marks_keep_to_alphas_whose_groups_divide():
    # a 24-channel conv with groups 4: under int rounding alpha a gives int(24 a) channels,
    # which 4 must divide: 0.25 -> 6, 0.75 -> 18, 1.25 -> 30 are refused, 0.5 -> 12, 1.0 -> 24,
    # 1.5 -> 36 allowed; the least allowed alpha is 0.17 (int(4.08) = 4; 0.10..0.16 give 2 or 3)
    desc = {"name": "grouped", "layers": [
        {"type": "conv", "kernel": 3, "stride": 2, "out": 24},
        {"type": "conv", "kernel": 3, "groups": 4, "out": 24}, {"type": "avgpool"},
        {"type": "fc"}]}
    rg = state.network_ranges(desc, "int")
    assert rg.alpha_marks == (0.5, 1.0, 1.5) and rg.alpha == (0.17, 1.5)
    # divisible8 keeps every count a multiple of 8: every mark, the whole range
    assert state.network_ranges(desc, "divisible8").alpha_marks == state.ALPHA_MARKS


def test_the_page_is_drawn_with_the_networks_sliders():
    out = controls.initial("?model=inception_v3")
    assert (out["resolution", "max"], out["resolution", "min"]) == (427, 128)
    assert out["selection", "data"]["resolution"] == 299


def test_breakdown_of_another_network_is_its_own_without_table2():
    sel = state.defaults_for("resnet18")
    _, _, _, breakdown, _, _ = config_view.update_config(sel.to_dict())
    assert "Table 2" not in breakdown
    assert "<th>Mult-adds (M)</th><th>% mult-adds</th><th>Params (M)</th><th>% params</th>" \
        in breakdown
    rows = data.config_details(sel)["breakdown"]  # costmodel.core.breakdown's, displayed
    assert all(f"<td>{r['type']}</td>" in breakdown for r in rows)
    # resnet18's 3x3 convs hold 92.40 % of its mult-adds (`costmodel breakdown --model
    # resnet18`): their share is shown, not an empty Table 2 column
    conv = next(r for r in rows if r["type"] == "Conv 3x3")
    assert f"<td>{conv['mult_adds_pct']:.2f}</td>" in breakdown and conv["mult_adds_pct"] > 50
    v1 = config_view.update_config(state.DEFAULT.to_dict())[3]
    assert v1.count("<th>Table 2</th>") == 2


def test_a_networks_own_latency_is_shown(user_data):
    # a device with resnet18's rows (and mobilenet_v1's, other figures): the explorer shows
    # resnet18's measured and predicted latency for a resnet18 config, never V1's
    from test_latency_networks import DEV, _grid, _true_ms, _write

    from costmodel.io import latency_data
    from costmodel.latency import kernel

    kernel._fit_cached.cache_clear()
    path = latency_data.latency_path(DEV, user_data)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, "resnet18", _grid((0.25, 0.3, 0.5, 0.6, 0.75, 1.0), (96, 160)))
    _write(path, None, _grid((0.25, 0.5, 0.75, 1.0), (160,)))
    dev = next(d["id"] for d in data.devices() if d["device_id"] == DEV)
    sel = replace(state.defaults_for("resnet18"), alpha=0.5, resolution=160, device=dev)
    rows = [r for r in data.latency_rows(sel) if r["device"] == dev]
    assert len(rows) == 1
    assert rows[0]["measured_ms"] == pytest.approx(_true_ms("resnet18", 0.5, 160, "int"))
    # resnet18's own model at its measured config: within 5% (the rule chosen on its 24
    # configs; see test_latency_networks.test_fits_are_per_network_and_never_mixed)
    assert rows[0]["predicted_ms"] == pytest.approx(rows[0]["measured_ms"], rel=0.05)
    # mobilenet_v1 at the same config reads its own figure, another one
    v1 = replace(state.DEFAULT, alpha=0.5, resolution=160, device=dev)
    m = next(r for r in data.latency_rows(v1) if r["device"] == dev)["measured_ms"]
    assert m == pytest.approx(_true_ms(None, 0.5, 160, "int")) and m != rows[0]["measured_ms"]
