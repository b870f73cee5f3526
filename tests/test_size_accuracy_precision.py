"""Size and accuracy per precision, and precision as a search choice (issue #13): the int8 size
is what the QDQ export stores, int8 top-1 is published where the TF-slim quantized edition has the
config and estimated from the float-to-quant drop elsewhere (labelled), and pareto/recommend take
--precision."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from costmodel.cli import main
from costmodel.core.engine import layer_table
from costmodel.core.sizes import int8_parts
from costmodel.errors import CostModelError
from costmodel.search import accuracy as acc
from costmodel.search import pareto as P
from costmodel.search.recommend import recommend


def _run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------------------- sizes
@pytest.mark.parametrize("variant", ["mobilenet_v1", "shallow"])
def test_int8_size_equals_the_initializer_bytes_of_the_qdq_export(tmp_path: Path, capsys: Any,
                                                                   variant: str) -> None:
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    from onnx import numpy_helper

    out = tmp_path / "m.onnx"
    code, _, err = _run(capsys, "export", "--alpha", "0.25", "--resolution", "32", "--variant",
                        variant, "--precision", "int8", "-o", str(out))
    assert code == 0, err
    stored = sum(numpy_helper.to_array(t).nbytes for t in onnx.load(str(out)).graph.initializer)
    parts = int8_parts([0.25], [32], variant=variant)
    assert int(parts["bytes"][0, 0]) == stored
    # the parts as the export stores them: int8 weights are the paper convention's parameters
    assert int(parts["weights"][0, 0]) == layer_table(0.25, 32, variant=variant).totals["params"]


def test_int8_size_by_hand_at_alpha_025() -> None:
    # alpha 0.25 (int rounding): conv1 8, dw1 8, pw1 16, dw2 16, pw2 32, dw3 32, pw3 32, dw4 32,
    # pw4 64, dw5 64, pw5 64, dw6 64, pw6 128, 5 x (128 + 128), dw12 128, pw12 256, dw13 256,
    # pw13 256 output channels = 2,736, + FC 1000 = 3,736; 29 layers -> 30 activation tensors
    parts = int8_parts([0.25], [32])
    assert int(parts["channels"][0, 0]) == 3736 and int(parts["activations"][0, 0]) == 30
    assert int(parts["bytes"][0, 0]) == 463_600 + 17 * 3736 + 5 * 30  # 527,262


def test_sizes_per_precision_in_points() -> None:
    row = P.points(["size_bf16"], configs=[(0.75, 224)]).iloc[0]
    params = layer_table(0.75, 224).totals["params"]
    assert row["size_fp32"] == 4 * params and row["size_bf16"] == 2 * params
    assert params < row["size_int8"] < 1.1 * params  # int8 weights plus per-channel extras


# ---------------------------------------------------------------------------- accuracy
def test_int8_top1_is_published_at_the_quantized_editions_configs() -> None:
    # tensorflow/models research/slim/nets/mobilenet_v1.md, 2018-08 quantized checkpoints:
    # MobileNet_v1_1.0_224_quant 70.1 top-1, 88.9 top-5; MobileNet_v1_0.75_128_quant 55.8
    pts = P.points(["top1"], precision="int8").set_index("label")
    assert pts.attrs["edition"] == "tfslim_2018_08_quant"
    assert pts.loc["1.0-224", "top1"] == 70.1 and pts.loc["1.0-224", "top5"] == 88.9
    assert pts.loc["0.75-128", "top1"] == 55.8
    assert not pts["top1_estimated"].any()


def test_int8_top1_elsewhere_is_the_float_estimate_less_the_published_drop() -> None:
    # at 0.875-224 (between alpha 0.75 and 1.0 on the published 224 row) the drop is
    # interpolated in ln alpha between the published drops there:
    # 1.0-224: 70.9 (float 2018-02) - 70.1 (quant 2018-08) = 0.8;
    # 0.75-224: 68.4 - 66.8 = 1.6;  t = ln(0.875/0.75) / ln(1/0.75) = 0.5358
    t = math.log(0.875 / 0.75) / math.log(1 / 0.75)
    drop = 1.6 + t * (0.8 - 1.6)
    float_est = acc.estimate(0.875, 224)["top1"]
    row = P.points(["top1"], configs=[(0.875, 224)], precision="int8").iloc[0]
    assert row["top1"] == pytest.approx(float_est - drop, abs=1e-9)
    assert row["top1_estimated"] and row["top1_source"].startswith("estimate")
    assert "float-to-quant drop of tfslim_2018_08_quant" in row["top1_source"]
    # outside the published grid the edge's drop holds (no extrapolated trend): at 0.25-96 the
    # 0.25-128 drop, 41.5 - 39.5 = 2.0
    assert float(acc.quant_drop(0.25, 96, "tfslim_2018_08_quant")) == pytest.approx(2.0)
    # the one-config path (the explorer's hover) says the same
    one = acc.accuracy(0.875, 224, edition="tfslim_2018_08_quant")
    assert one["top1"] == pytest.approx(row["top1"]) and one["estimated"] is True


def test_pareto_cli_labels_int8_estimates(capsys: Any) -> None:
    code, out, err = _run(capsys, "pareto", "--x", "size_int8", "--y", "top1", "--precision",
                          "int8", "--grid", "--grid-alphas", "0.875", "--grid-resolutions", "224",
                          "--format", "json")
    assert code == 0, err
    p = json.loads(out)["points"][0]
    assert p["top1_estimated"] is True and p["accuracy"] == "estimate"
    code, out, _ = _run(capsys, "pareto", "--x", "size_int8", "--y", "top1", "--precision",
                        "int8", "--grid", "--grid-alphas", "0.875", "--grid-resolutions", "224")
    assert "estimate" in out.splitlines()[3]


# ---------------------------------------------------------------------------- search
def test_precision_knob_refusals(capsys: Any) -> None:
    for argv, needle in (
        (("pareto", "--x", "mult_adds", "--y", "top1", "--precision", "int4"),
         "precision 'int4' is unknown; allowed: fp32, bf16, int8"),
        (("pareto", "--x", "latency:pixel3_cpu4_uint8", "--y", "top1", "--precision", "int8"),
         "is at precision uint8, --precision is int8"),
        (("recommend", "--device", "pixel3_cpu4_uint8", "--max-latency-ms", "5", "--precision",
          "fp32"), "is at precision uint8, --precision is fp32"),
    ):
        code, out, err = _run(capsys, *argv)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err


def test_recommend_size_budget_reads_the_precisions_size() -> None:
    # 0.5-224 int8: 1,320,000 weights (paper params at alpha 0.5) + 17 x C + 150
    size = float(P.points(["size_int8"], configs=[(0.5, 224)]).iloc[0]["size_int8"]) / 1e6
    at = recommend(max_size_mb=size, precision="int8")
    assert at["best"]["label"] == "0.5-224" and at["precision"] == "int8"
    assert at["edition"] == "tfslim_2018_08_quant" and at["best"]["top1"] == 60.7  # published
    below = recommend(max_size_mb=size - 1e-6, precision="int8")
    assert below["best"]["label"] != "0.5-224"
    # the same limit read as fp32 bytes (4 per weight: 1.9 MB at alpha 0.25) admits nothing
    fp32 = recommend(max_size_mb=size)
    assert fp32["precision"] == "fp32" and fp32["status"] == "none_fits"
    # a binding size budget names its precision
    assert "MB int8 binds" in at["reason"]


def test_recommend_fills_the_device_precision(user_data: Path, tmp_path: Path,
                                              capsys: Any) -> None:
    f = tmp_path / "x.csv"
    f.write_text("alpha,resolution,ms,precision\n1.0,224,10,fp32\n1.0,224,4,int8\n"
                 "0.5,224,5,fp32\n0.5,224,2,int8\n", encoding="utf-8")
    assert _run(capsys, "latency", "import", str(f), "--device-id", "box")[0] == 0
    res = recommend(max_latency_ms=4, device="box/imported", precision="int8")
    assert res["device"] == "box/imported@int8" and res["best"]["latency_ms"] == 4.0
    with pytest.raises(CostModelError, match="precision int8 has no latency rows|int8"):
        recommend(max_latency_ms=4, device="pixel3_cpu4", precision="int8")
