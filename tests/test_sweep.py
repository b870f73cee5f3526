"""The vectorized sweep equals the per-config engine everywhere."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.core.engine import layer_table
from costmodel.core.sweep import sweep
from costmodel.errors import CostModelError


@settings(max_examples=25, deadline=None)
@given(alphas=st.lists(st.floats(0.05, 1.6), min_size=1, max_size=5),
       resolutions=st.lists(st.integers(8, 400), min_size=1, max_size=5),
       rounding=st.sampled_from(["int", "slim", "divisible8"]),
       convention=st.sampled_from(["paper", "fvcore", "tfslim"]),
       variant=st.sampled_from(["mobilenet_v1", "full_conv", "shallow"]))
def test_sweep_equals_layer_table(alphas, resolutions, rounding, convention, variant):
    kw = {"rounding": rounding, "convention": convention, "variant": variant}
    s = sweep(alphas, resolutions, **kw)
    for i, a in enumerate(alphas):
        for j, r in enumerate(resolutions):
            t = layer_table(a, r, **kw)
            assert s.mult_adds[i, j] == t.totals["mult_adds"]
            assert s.params[i, j] == t.totals["params"]
            assert s.peak_activation_bytes[i, j] == t.totals["peak_activation_bytes"]
            assert s.activations[i, j] == t.totals["activations"]
            assert list(s.by_type) == list(t.by_type())
            for typ, v in t.by_type().items():
                assert s.by_type[typ]["mult_adds"][i, j] == v["mult_adds"]
                assert s.by_type[typ]["params"][i, j] == v["params"]


def test_sweep_frame_and_types():
    s = sweep([0.5, 1.0], [128, 224])
    df = s.to_frame()
    assert len(df) == 4 == len(s)
    assert s.mult_adds.dtype == np.int64
    row = df[(df.alpha == 1.0) & (df.resolution == 224)].iloc[0]
    assert row["mult_adds"] == 568_740_352  # the paper's 1.0 MobileNet-224 (Table 4: 569M)
    parts = [c for c in df.columns if c.startswith("mult_adds[")]
    assert (df[parts].sum(axis=1) == df["mult_adds"]).all()


@pytest.mark.parametrize("alphas,resolutions,match", [
    ([0.5, 0.001], [224], r"alpha 0.001 gives layer conv1 0 channels"),
    ([float("nan")], [224], "alpha nan"),
    ([0.5], [224, 0], "resolution 0"),
    ([], [224], "empty grid"),
])
def test_sweep_bad_input(alphas, resolutions, match):
    with pytest.raises(CostModelError, match=match):
        sweep(alphas, resolutions)


@pytest.mark.parametrize("spec", ["mobilenet_v3_small", "efficientnet_b0"])
def test_sweep_categories_equal_the_breakdown(spec):
    """`sweep --by-type` and `breakdown` use one grouping (engine.category): a
    squeeze-and-excitation's pool, 1x1 convs and scale sum under "SE", not under "Conv 1x1" and
    "Avg Pool" (before, the sweep put the SE's 1x1 convs under Conv 1x1: 42.02 M vs the
    breakdown's 41.56 M for mobilenet_v3_small 1.0-224)."""
    alphas, resolutions = [0.75, 1.0], [160, 224]
    s = sweep(alphas, resolutions, spec=spec)
    for i, a in enumerate(alphas):
        for j, r in enumerate(resolutions):
            cats = layer_table(a, r, spec=spec).by_category()
            assert "SE" in cats and list(s.by_category) == list(cats)
            for key, v in cats.items():
                assert s.by_category[key]["mult_adds"][i, j] == v["mult_adds"]
                assert s.by_category[key]["params"][i, j] == v["params"]
    df = s.to_frame()
    assert "mult_adds[SE]" in df.columns
    # the SE's layers are not also counted under their own types: the columns still sum to the total
    parts = [c for c in df.columns if c.startswith("mult_adds[")]
    assert (df[parts].sum(axis=1) == df["mult_adds"]).all()
    se_convs = sum(int(v["mult_adds"][1, 1]) for t, v in s.by_type.items()
                   if str(t) == "Conv 1x1") - int(s.by_category[next(
                       t for t in s.by_category if str(t) == "Conv 1x1")]["mult_adds"][1, 1])
    assert se_convs > 0  # the SE's 1x1 convs moved from Conv 1x1 to SE
