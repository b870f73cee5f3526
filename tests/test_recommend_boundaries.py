"""Budget boundaries of recommend: a config that needs exactly the budget fits; one that needs a
little more does not. Every budget is an upper bound (``value <= limit``) except min_top1
(``top1 >= limit``).

Expected values are worked by hand:
- paper-convention params (conv + FC weights only, Table 1 of arXiv 1704.04861), alpha 1.0:
    conv1 3*3*3*32 = 864; depthwise 3*3*C per layer: 288 + 576 + 1152 + 1152 + 2304 + 2304
    + 5*4608 + 4608 + 9216 = 44,640; pointwise Cin*Cout: 2048 + 8192 + 16384 + 32768 + 65536
    + 131072 + 5*262144 + 524288 + 1048576 = 3,139,584; FC 1024*1000 = 1,024,000
    -> 864 + 44,640 + 3,139,584 + 1,024,000 = 4,209,088 (the paper's "4.2 million")
  alpha 0.75 (channels 24, 48, 96, 192, 384, 768): 648 + 33,480 + 1,766,016 + 768,000
    = 2,568,144 (the paper's "2.6 million")
- top-1: TF-slim mobilenet_v1.md, 2018-02 float checkpoints (data/reference/tfslim_mobilenet_v1.csv):
  1.0-224 70.9, 1.0-192 70.0, 0.75-224 68.4, 0.75-192 67.2
- latency: TFLite hosted models table, Pixel 3 CPU 4 threads float
  (data/reference/tflite_mobilenet_v1_latency.csv): 0.75-160 8.2 ms, 0.5-224 7.9 ms.
"""

from __future__ import annotations

import pytest

from costmodel.errors import CostModelError
from costmodel.search.recommend import check_budget, recommend

PARAMS_1_0 = 864 + 44_640 + 3_139_584 + 1_024_000  # = 4,209,088
PARAMS_0_75 = 648 + 33_480 + 1_766_016 + 768_000  # = 2,568,144


def test_closed_form_params():
    assert PARAMS_1_0 == 4_209_088 and PARAMS_0_75 == 2_568_144


def test_params_exactly_at_the_budget_fit():
    # every 1.0 model needs exactly 4.209088 M params: all 16 fit, 1.0-224 (70.9) is best
    r = recommend(max_params_m=PARAMS_1_0 / 1e6)
    assert r["status"] == "ok"
    assert r["feasible"] == 16
    assert r["best"]["label"] == "1.0-224" and r["best"]["top1"] == 70.9
    assert r["best"]["params"] == PARAMS_1_0
    assert r["slack"]["max_params_m"] == {"limit": 4.209088, "value": 4.209088, "used_pct": 100.0}
    assert r["binding"] == [] and r["jointly_binding"] == []


def test_params_one_over_the_budget_do_not_fit():
    # one parameter less than 1.0 needs: the four 1.0 models drop out, 0.75-224 (68.4) is best
    # and the budget binds: 1.0-224 needs 4.209088 M
    r = recommend(max_params_m=(PARAMS_1_0 - 1) / 1e6)
    assert r["status"] == "ok"
    assert r["feasible"] == 12
    assert r["best"]["label"] == "0.75-224" and r["best"]["top1"] == 68.4
    assert r["runner_up"]["label"] == "0.75-192"
    [b] = r["binding"]
    assert b["budget"] == "max_params_m" and b["needs"] == PARAMS_1_0 / 1e6
    assert b["next"]["label"] == "1.0-224" and b["limit"] == (PARAMS_1_0 - 1) / 1e6
    # used: 2,568,144 / 4,209,087 of the budget
    assert r["slack"]["max_params_m"]["used_pct"] == pytest.approx(100 * 2_568_144 / 4_209_087)


def test_min_top1_exactly_at_the_budget_fits():
    # top-1 >= 70.9: only 1.0-224 (70.9); 1.0-192 (70.0) is below
    r = recommend(min_top1=70.9)
    assert r["status"] == "ok" and r["feasible"] == 1
    assert r["best"]["label"] == "1.0-224" and r["runner_up"] is None
    assert r["slack"]["min_top1"]["used_pct"] == 100.0


def test_min_top1_just_above_the_best_fits_nothing():
    # 70.9 + 0.05: nothing fits; the closest is 1.0-224, which needs min_top1 <= 70.9
    r = recommend(min_top1=70.95)
    assert r["status"] == "none_fits" and r["feasible"] == 0
    assert r["closest"]["label"] == "1.0-224"
    assert r["needs"] == {"min_top1": 70.9}
    assert "min_top1 <= 70.9 (budget 70.95)" in r["reason"]


def test_latency_exactly_at_the_budget_fits():
    # Pixel 3 CPU <= 8.2 ms: 0.75-160 needs exactly 8.2 ms and is the most accurate that fits
    # (65.3); at 8.1 ms it drops out and 0.5-224 (63.3, 7.9 ms) is best
    r = recommend(max_latency_ms=8.2, device="pixel3_cpu4")
    assert r["best"]["label"] == "0.75-160" and r["best"]["latency_ms"] == 8.2
    assert r["slack"]["max_latency_ms"]["used_pct"] == 100.0
    r = recommend(max_latency_ms=8.1, device="pixel3_cpu4")
    assert r["best"]["label"] == "0.5-224" and r["best"]["latency_ms"] == 7.9
    assert r["binding"][0]["next"]["label"] == "0.75-160" and r["binding"][0]["needs"] == 8.2


@pytest.mark.parametrize("name, value", [
    ("max_params_m", 0), ("max_params_m", -1), ("max_params_m", float("inf")),
    ("max_params_m", float("nan")), ("min_top1", 100.5), ("min_top1", 0), ("max_params_m", True),
    ("max_params_m", "abc"), ("max_params_m", None),
])
def test_check_budget_limits(name, value):
    if value is None:
        assert check_budget(name, value) is None
        return
    with pytest.raises(CostModelError, match=name):
        check_budget(name, value)


@pytest.mark.parametrize("name, value", [("min_top1", 100), ("min_top1", "70.5"),
                                         ("max_params_m", 1e-9), ("max_size_mb", 1e9)])
def test_check_budget_accepts_edges(name, value):
    # min_top1 may be 100 exactly; any finite positive number is a budget
    assert check_budget(name, value) == float(value)
