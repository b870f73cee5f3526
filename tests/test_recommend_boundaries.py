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

import json

import pytest

from costmodel.core.engine import layer_table
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


@pytest.mark.parametrize("value, message", [
    (0.7, "min_top1 0.7 is out of range: top-1 is a percentage (did you mean 70?); allowed: a "
          "percentage >= 1 and <= 100"),
    (0.999, "min_top1 0.999 is out of range: top-1 is a percentage (did you mean 99.9?); allowed: "
            "a percentage >= 1 and <= 100"),
    (100.01, "min_top1 100.01 is out of range; allowed: a percentage >= 1 and <= 100"),
])
def test_min_top1_is_a_percentage(value, message):
    with pytest.raises(CostModelError) as e:
        check_budget("min_top1", value)
    assert str(e.value) == message


@pytest.mark.parametrize("name, value", [("min_top1", 100), ("min_top1", 1), ("min_top1", "70.5"),
                                         ("max_params_m", 1e-9), ("max_size_mb", 1e9)])
def test_check_budget_accepts_edges(name, value):
    # min_top1 may be 100 exactly; any finite positive number is a budget
    assert check_budget(name, value) == float(value)


# ---------------------------------------------------------------------- the answer, in full
PARAMS_0_5 = 432 + 22_320 + 784_896 + 512_000  # = 1,319,648 (the paper's "1.32 million")
# 0.5: conv1 3*3*3*16 = 432; depthwise 9 * (16+32+64+64+128+128+5*256+256+512) = 9 * 2,480;
# pointwise 16*32 + 32*64 + 64*64 + 64*128 + 128*128 + 128*256 + 5*256*256 + 256*512 + 512*512
# = 784,896; FC 512 * 1000
KEYS = {"alignment", "budgets", "device", "latency_predicted", "considered", "feasible", "notes",
        "edition", "binding", "jointly_binding", "slack", "closest", "needs", "runner_up", "best", "status",
        "reason", "precision"}


def test_binding_answer_in_full():
    # Pixel 3 CPU <= 10 ms, <= 3M params, <= 300M mult-adds (the example, see
    # tests/test_recommend.py): 0.75-160 (65.3) best, 0.5-224 (63.3) runner-up, 10 of 16 fit;
    # 0.75-192 (67.2) needs 11.0 ms
    r = recommend(max_latency_ms=10, device="pixel3_cpu4", max_params_m=3, max_mult_adds_m=300)
    assert set(r) == KEYS
    assert r["reason"] == ("Best: 0.75-160 with top-1 65.3%; runner-up 0.5-224 (63.3%). 10 of 16 "
                           "configs meet every budget. max_latency_ms 10 ms binds: 0.75-192 (67.2%) "
                           "needs 11.")
    assert r["budgets"] == {"max_latency_ms": 10.0, "max_params_m": 3.0, "max_mult_adds_m": 300.0}
    assert r["device"] == "pixel3_cpu4" and r["latency_predicted"] is False
    assert r["considered"] == 16 and r["edition"] == "tfslim_2018_02_float"
    assert r["binding"] == [{"budget": "max_latency_ms", "limit": 10.0, "unit": "ms", "needs": 11.0,
                             "next": {"label": "0.75-192", "top1": 67.2, "top1_estimated": False}}]
    assert r["closest"] is None and r["needs"] == {} and r["jointly_binding"] == []
    # slack: 8.2 of 10 ms; 2,568,144 of 3,000,000 params
    assert r["slack"]["max_latency_ms"]["value"] == 8.2
    assert r["slack"]["max_latency_ms"]["used_pct"] == pytest.approx(82.0)
    assert r["slack"]["max_params_m"]["used_pct"] == pytest.approx(100 * 2.568144 / 3)
    best = r["best"]
    assert best["latency_ms"] == 8.2 and best["latency_predicted"] is False
    assert best["latency:pixel3_cpu4"] == 8.2
    assert type(best["alpha"]) is float and type(best["resolution"]) is int
    assert type(best["top1_estimated"]) is bool and type(best["params"]) is int
    assert json.loads(json.dumps(r))["best"]["label"] == "0.75-160"


def test_jointly_binding_answer_in_full():
    # <= 2M params and <= 8 ms on Pixel 3 CPU: every 0.5 and 0.25 model fits (0.5-224 7.9 ms is
    # the slowest); best 0.5-224 (63.3), runner-up 0.5-192 (61.7). Of the more accurate models
    # the one needing the least relaxation is 0.75-160: 2.568144 / 2 = 1.28x the params budget,
    # 8.2 / 8 = 1.03x the latency budget (0.75-192: 11 / 8 = 1.38x; 1.0-128: 4.21 / 2 = 2.1x)
    r = recommend(max_params_m=2, max_latency_ms=8, device="pixel3_cpu4")
    assert r["reason"] == ("Best: 0.5-224 with top-1 63.3%; runner-up 0.5-192 (61.7%). 8 of 16 "
                           "configs meet every budget. max_latency_ms and max_params_m bind jointly: "
                           "the nearest more accurate config, 0.75-160 (65.3%), needs max_latency_ms "
                           "8.2, max_params_m 2.568.")
    assert r["jointly_binding"] == ["max_latency_ms", "max_params_m"] and r["feasible"] == 8
    assert r["slack"]["max_params_m"]["value"] == PARAMS_0_5 / 1e6
    assert r["slack"]["max_params_m"]["used_pct"] == pytest.approx(100 * 1.319648 / 2)


def test_nothing_fits_answer_in_full():
    # the fastest model on Pixel 3 CPU is 0.25-128 at 1.2 ms (41.5% top-1, TF-slim)
    r = recommend(max_latency_ms=1, device="pixel3_cpu4")
    assert set(r) == KEYS and r["status"] == "none_fits"
    assert r["reason"] == ("No config meets every budget (16 considered). The closest is 0.25-128 "
                           "(top-1 41.5%); it needs max_latency_ms >= 1.2 (budget 1).")
    assert r["slack"] == {} and r["binding"] == [] and r["feasible"] == 0
    assert r["closest"]["latency_ms"] == 1.2


def test_nothing_fits_picks_the_smallest_worst_ratio():
    # 1.0-192 mult-adds by the paper's polynomial (exact at alpha 1, resolution 32*6; see
    # tests/test_engine.py): (539,492,352 + 28,224,000) * (192/224)^2 + 1,024,000 = 418,121,728
    ma_1_0_192 = (539_492_352 + 28_224_000) * 36 // 49 + 1_024_000
    assert ma_1_0_192 == 418_121_728
    # >= 71% top-1 and <= 410M mult-adds: nothing fits (the best model has 70.9%). Worst ratio of
    # need to budget: 1.0-192 (70.0%, 418.1M) max(71/70 = 1.014, 418.1/410 = 1.020) = 1.020;
    # 0.75-224 (68.4%, 317M) 71/68.4 = 1.038; 1.0-160 (68.0%) 1.044; 1.0-224 569/410 = 1.39
    r = recommend(min_top1=71, max_mult_adds_m=410)
    assert r["closest"]["label"] == "1.0-192"
    assert r["needs"] == {"max_mult_adds_m": ma_1_0_192 / 1e6, "min_top1": 70.0}
    assert r["reason"].endswith("it needs max_mult_adds_m >= 418.1 (budget 410), min_top1 <= 70 "
                                "(budget 71).")
    # at 420M 1.0-192 fits the MA budget: the closest is the same config, needing top-1 only
    r = recommend(min_top1=71, max_mult_adds_m=420)
    assert r["closest"]["label"] == "1.0-192" and r["needs"] == {"min_top1": 70.0}


def test_estimated_configs_are_labelled_in_the_reason():
    # grid: 0.275-224 is an estimate; configs= limits the candidates to exactly these
    r = recommend(max_params_m=1, configs=[(0.25, 224), (0.275, 224), (0.5, 224)])
    assert r["considered"] == 3 and r["feasible"] == 2
    assert r["best"]["label"] == "0.275-224" and r["best"]["top1_estimated"] is True
    assert r["reason"].startswith("Best: 0.275-224 with top-1 ")
    assert "% (estimated); runner-up 0.25-224 (49.8%). 2 of 3 configs" in r["reason"]
    # both estimated: the runner-up says so too
    both = recommend(configs=[(0.275, 224), (0.3, 224)])
    assert both["runner_up"]["label"] == "0.275-224" and both["runner_up"]["top1_estimated"] is True
    assert "; runner-up 0.275-224 (" in both["reason"] and "%, estimated). 2 of 2 configs" in both["reason"]
    n = recommend(max_params_m=0.1, configs=[(0.275, 224)])
    assert n["closest"]["label"] == "0.275-224" and "%, estimated); it needs" in n["reason"]


def test_no_device_no_latency_fields_and_missing_latency_is_none():
    r = recommend(max_params_m=5)
    assert "latency_ms" not in r["best"] and r["device"] is None and r["latency_predicted"] is False
    # 0.3-200 has no measured latency on the phone; kept with dropna=False, its latency is None
    r = recommend(device="pixel3_cpu4", configs=[(1.0, 224), (0.3, 200)], dropna=False)
    assert r["best"]["label"] == "1.0-224" and r["best"]["latency_ms"] == 24.0
    assert r["runner_up"]["label"] == "0.3-200" and r["runner_up"]["latency_ms"] is None


def test_fmt():
    from costmodel.search.recommend import _fmt

    # 4 significant digits below 10,000; whole numbers with separators from 10,000
    assert _fmt(8.2) == "8.2" and _fmt(568.74) == "568.7" and _fmt(9999.0) == "9999"
    assert _fmt(10_000.0) == "10,000" and _fmt(123_456.7) == "123,457" and _fmt(-12_345.0) == "-12,345"


def test_alignment_of_the_best_config():
    # 0.3-160 under int rounding has channels int(32 * 0.3) = 9, ...: not multiples of 8. With a
    # device the answer lists its aligned alternative, the same alpha under divisible8 (channels
    # rounded up to multiples of 8: 9 -> 16, so more mult-adds), and says so in a note; without
    # a device there is none
    r = recommend(device="pixel3_cpu4", configs=[(0.3, 160)], predicted_latency=True)
    assert r["best"]["label"] == "0.3-160"
    alt = r["alignment"][0]
    assert (alt["alpha"], alt["resolution"], alt["rounding"]) == (0.3, 160, "divisible8")
    assert alt["mult_adds_m"] > alt["this_mult_adds_m"] > 0
    # the mult-adds shown are `costmodel table`'s (the engine's: 1000 classes), not the sum of
    # the published phone's model, whose TF-slim network has 1001 classes
    assert alt["this_mult_adds_m"] == layer_table(0.3, 160).totals["mult_adds"] / 1e6
    assert alt["mult_adds_m"] == layer_table(0.3, 160, rounding="divisible8").totals["mult_adds"] / 1e6
    assert any(n.startswith("0.3-160 (int) has channel counts that are not multiples of 8") for n in
               r["notes"])
    assert recommend(configs=[(0.3, 160)])["alignment"] == []


@pytest.mark.parametrize("device", ["pixel3_gpu", "pixel3_cpu4_uint8", "reference-xeon-2c/onnxruntime/2"])
def test_alignment_uses_the_devices_own_model(device):
    # the aligned alternatives are predicted by the same device model (backend, threads,
    # precision) as the recommendation: this config's latency there is the best's predicted one
    r = recommend(device=device, configs=[(0.375, 160)], predicted_latency=True)
    assert r["alignment"] and r["best"]["latency_predicted"] is True and r["latency_predicted"] is True
    assert {a["this_ms"] for a in r["alignment"]} == {r["best"]["latency_ms"]}


@pytest.mark.parametrize("device", ["pixel3_cpu4", "reference-xeon-2c/onnxruntime/1"])
def test_predicted_configs_carry_the_tables_mult_adds(device, capsys):
    # 0.3-160 divisible8: `costmodel table` counts 32,829,800 mult-adds with its 1000 classes.
    # The published phones' model counts TF-slim's network, 1001 classes: its FC has 304 inputs
    # (round 1024 * 0.3 = 307.2 to a multiple of 8), so its own sum is 304 more, 32,830,104.
    # The row shows the engine's count on every device.
    from costmodel.cli import main
    from costmodel.latency import kernel
    from costmodel.search.pareto import resolve_device

    table = layer_table(0.3, 160, rounding="divisible8").totals["mult_adds"]
    assert main(["latency", "predict", "--device", device, "--alpha", "0.3", "--resolution",
                 "160", "--rounding", "divisible8", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["predictions"]
    assert row["mult_adds_m"] == table / 1e6
    spec = resolve_device(device)
    model = kernel.fit_device(spec.device_id, backend=spec.backend, threads=spec.threads,
                              precision=spec.precision)
    assert model.design([0.3], [160], "divisible8").mult_adds[0] - table == 304 * (model.classes - 1000)


def _alternatives(device: str, alpha: float, resolution: int, rounding: str) -> list[dict]:
    from costmodel.latency import kernel
    from costmodel.latency.predict import aligned_alternatives
    from costmodel.search.pareto import resolve_device

    spec = resolve_device(device)
    model = kernel.fit_device(spec.device_id, backend=spec.backend, threads=spec.threads,
                              precision=spec.precision)
    return aligned_alternatives(model, alpha, resolution, rounding)


@pytest.mark.parametrize("rounding", ["int", "slim", "divisible8"])
def test_an_aligned_config_has_no_alternatives(rounding):
    # 0.75-224: channels 24, 48, 96, 192, 384, 768 under every rounding, all multiples of 8.
    # The image's 3 input channels and the classifier's 1001 classes are not alpha's: they do
    # not make the config unaligned, and 0.75-224 divisible8 is not its own alternative.
    assert _alternatives("pixel3_cpu4", 0.75, 224, rounding) == []


def test_an_alternative_is_never_the_config_itself():
    # Every alpha 0.25..1.0 in steps of 1/40 under int and slim: each alternative has all its
    # scaled channels multiples of 8 and differs from the config (another alpha or rounding,
    # and other channel counts).
    def channels(a, rd):  # every layer's but the classifier's
        return [r["out_channels"] for r in layer_table(a, 160, rounding=rd).rows[:-1]]

    seen = 0
    for rounding in ("int", "slim"):
        for k in range(10, 41):
            alpha = k / 40
            for alt in _alternatives("pixel3_cpu4", alpha, 160, rounding):
                seen += 1
                assert (alt["alpha"], alt["rounding"]) != (alpha, rounding)
                assert channels(alt["alpha"], alt["rounding"]) != channels(alpha, rounding)
                assert all(c % 8 == 0 for c in channels(alt["alpha"], alt["rounding"]))
    assert seen > 20


def test_two_budgets_binding_reason_in_full():
    # <= 1.5M params, <= 108M mult-adds: the 0.5 and 0.25 models within 108M fit (0.5-128,
    # 0.5-160, four 0.25): 6 of 16. 0.5-192 mult-adds by the paper's polynomial (alpha 16/32,
    # resolution 32*6): 539,492,352/4 * 36/49 + 28,224,000/2 * 36/49 + 1,024,000/2
    # = 99,090,432 + 10,368,000 + 512,000 = 109,970,432 -> "110"; 0.75 params 2,568,144 -> "2.568"
    r = recommend(max_params_m=1.5, max_mult_adds_m=108)
    assert r["reason"] == (
        "Best: 0.5-160 with top-1 59.1%; runner-up 0.5-128 (56.3%). 6 of 16 configs meet every "
        "budget. max_params_m 1.5 M params binds: 0.75-128 (62.1%) needs 2.568. max_mult_adds_m "
        "108 M mult-adds binds: 0.5-192 (61.7%) needs 110.")
    assert [b["needs"] for b in r["binding"]] == [2.568144, 109.970432]


def test_no_budget_binds_reason_in_full():
    r = recommend(max_params_m=100, max_mult_adds_m=10_000)
    assert r["reason"] == ("Best: 1.0-224 with top-1 70.9%; runner-up 1.0-192 (70.0%). 16 of 16 "
                           "configs meet every budget. No budget binds: the most accurate config "
                           "considered meets every budget.")


def test_min_top1_slack_is_limit_over_value():
    # >= 50% top-1: 1.0-224 (70.9%) is best and uses 50 / 70.9 = 70.5% of the budget
    r = recommend(min_top1=50)
    assert r["slack"]["min_top1"]["used_pct"] == pytest.approx(100 * 50 / 70.9)


@pytest.mark.parametrize("name, value, message", [
    ("max_params_m", -1, "max_params_m -1 is out of range; allowed: a finite number > 0"),
    ("max_size_mb", "big", "max_size_mb 'big' is not a number; allowed: a finite number > 0"),
    ("min_top1", 0, "min_top1 0 is out of range; allowed: a percentage >= 1 and <= 100"),
])
def test_budget_messages_in_full(name, value, message):
    with pytest.raises(CostModelError) as e:
        check_budget(name, value)
    assert str(e.value) == message


def test_latency_budget_without_a_device_lists_the_devices():
    from costmodel.search.pareto import device_ids

    with pytest.raises(CostModelError) as e:
        recommend(max_latency_ms=5)
    assert str(e.value) == f"max_latency_ms needs a device; allowed: {', '.join(device_ids())}"


def test_peak_activation_budget_at_its_boundary():
    # 1.0-224's largest live pair is conv_pw_1: input 112*112*32 = 401,408 + output 112*112*64
    # = 802,816 -> 1,204,224 elements * 4 B = 4,816,896 B = 4.816896 MB (fp32, 10^6 bytes)
    peak = (112 * 112 * 32 + 112 * 112 * 64) * 4
    assert peak == 4_816_896
    r = recommend(max_peak_activation_mb=peak / 1e6)
    assert r["best"]["label"] == "1.0-224" and r["slack"]["max_peak_activation_mb"]["used_pct"] == 100.0
    # one byte less: only 1.0-224 drops out (0.75-224 needs 112*112*(24+48) * 4 = 3.6 MB,
    # 1.0-192 96*96*(32+64) * 4 = 3.5 MB); 1.0-192 (70.0%) is best, the budget binds on 1.0-224
    r = recommend(max_peak_activation_mb=(peak - 1) / 1e6)
    assert r["best"]["label"] == "1.0-192" and r["budgets"] == {"max_peak_activation_mb": 4.816895}
    assert r["binding"][0]["budget"] == "max_peak_activation_mb" and r["binding"][0]["needs"] == 4.816896
    assert r["binding"][0]["next"]["label"] == "1.0-224" and r["binding"][0]["unit"] == "MB"


def test_a_device_too_small_to_model_gets_a_note():
    # two measured configs are too few to fit the device's latency model: the recommendation
    # stands, and a note says the channel alignment of the best was not checked
    from test_pareto_boundaries import _measure

    _measure("box-cpu", [(1.0, 224), (0.5, 160)])
    r = recommend(device="box-cpu")
    assert r["best"]["label"] == "1.0-224" and r["best"]["latency_ms"] == 1.0
    assert r["alignment"] == []
    assert any(n.startswith("channel alignment of 1.0-224 not checked: ") for n in r["notes"])
