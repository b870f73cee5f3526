"""The explorer's precision control (issue 13): in the URL like the other controls, and it
changes the model size and the accuracy edition the chart, the hover and the selected config show."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("dash", reason="dash is not installed (pip install -e .[dash])")

from costmodel.search import pareto as P  # noqa: E402
from dashboard import data, state  # noqa: E402
from dashboard.views import controls, pareto_view  # noqa: E402


def test_precision_travels_in_the_url_and_bad_values_are_refused() -> None:
    ctrl, query, store, errors = controls.sync_selection(None, "?alpha=0.5&precision=int8", {},
                                                         None, None)
    values = dict(zip(controls.CONTROL_IDS, ctrl, strict=True))
    assert values["precision"] == "int8" and store["precision"] == "int8" and errors == []
    assert query == "?alpha=0.5&resolution=224&precision=int8"
    assert state.to_query(state.DEFAULT) == "?alpha=1&resolution=224"  # fp32: not in the link
    _, query, store, errors = controls.sync_selection("url", "?precision=int4", {}, None, None)
    assert store["precision"] == "fp32" and "precision" not in query
    assert errors == ["precision 'int4' is unknown; allowed: fp32, bf16, int8"]


def _hover(model: dict[str, Any], label: str) -> str:
    p = next(p for p in model["points"] if p["label"] == label)
    return pareto_view._point_text(p, "MB")


def test_int8_chart_reads_the_quantized_edition_and_int8_size() -> None:
    sel = state.ViewState(alpha=1.0, resolution=224, precision="int8", x="size_int8")
    frame = data.front_frame(sel)
    assert frame.attrs["edition"] == "tfslim_2018_08_quant"
    model = pareto_view.chart_model(sel)
    size = P.points(["size_int8"], configs=[(1.0, 224)]).iloc[0]["size_int8"]
    hover = _hover(model, "1.0-224")
    # tensorflow/models slim mobilenet_v1.md, MobileNet_v1_1.0_224_quant (2018-08): 70.1 top-1
    assert "top-1 70.1 % (published)" in hover and f"size {size / 1e6:,.2f} MB int8" in hover
    assert "estimate" in _hover(model, "0.85-224")  # not a published config: labelled
    assert data.top1(sel)["top1"] == 70.1
    fp32 = pareto_view.chart_model(state.ViewState(x="size_int8"))
    assert "top-1 70.9 % (published)" in _hover(fp32, "1.0-224")  # the float 2018-02 edition
    assert "MB fp32" in _hover(fp32, "1.0-224")


def test_precision_reaches_the_recommendation() -> None:
    rec = data.recommendation(state.ViewState(precision="int8", max_params_m=2.0))
    want = P.points(["top1"], grid=True, precision="int8")  # recommend's own grid
    assert rec is not None and rec["status"] == "ok"
    best = want[want["params"] <= 2e6].sort_values(["top1", "mult_adds"],
                                                    ascending=[False, True]).iloc[0]
    assert rec["best"]["label"] == best["label"]
    assert rec["best"]["top1"] == pytest.approx(float(best["top1"]))
    fp32 = data.recommendation(state.ViewState(max_params_m=2.0))
    assert fp32 is not None and fp32["best"]["top1"] > rec["best"]["top1"]  # quantized: lower
