"""The breakdown's "SE" category: a squeeze-and-excitation's pool, 1x1 convs and scale are one
row, not counted under "Avg Pool" and "Conv 1x1"; networks without SE are unchanged."""

from __future__ import annotations

from costmodel.core.breakdown import breakdown
from costmodel.core.engine import layer_table
from costmodel.core.kinds import AVG_POOL, CONV1X1, Kind, LayerType


def _rows(**kw):
    return {r["type"]: r for r in breakdown(**kw)}


def test_mobilenet_v3_large_se_row_closed_form():
    # SE squeeze = make_divisible(expanded / 4, 8): 72 -> 24, 120 -> 32, 480 -> 120, 672 -> 168,
    # 960 -> 240; each SE has 2 x expanded x squeeze 1x1 weights (biases: not in the paper
    # convention), one multiply-add each on a 1x1 grid. Blocks with SE (Howard et al. 2019,
    # Table 1): 72, 120, 120, 480, 672, 672, 960, 960 expanded channels.
    se = 2 * (72 * 24 + 2 * 120 * 32 + 480 * 120 + 2 * 672 * 168 + 2 * 960 * 240)
    assert se == 1_507_200
    rows = _rows(spec="mobilenet_v3_large")
    assert rows["SE"]["params"] == se and rows["SE"]["mult_adds"] == se
    # the 1x1 convs outside the SEs keep their row; together they are the old Conv 1x1 total
    t = layer_table(spec="mobilenet_v3_large")
    assert rows[CONV1X1]["params"] + se == t.by_type()[CONV1X1]["params"]
    # the SE pools left the Avg Pool row: only the head's global pool is there
    assert sum(1 for r in t.rows if r["type"] == AVG_POOL) == 1 + 8
    assert LayerType(Kind.MUL, 0) not in rows  # the scale is part of the SE row


def test_se_category_under_fvcore_counts_the_biases():
    # fvcore: + the SE convs' biases (squeeze + expanded per block) and 1 op per pooled element
    rows = _rows(spec="mobilenet_v3_large", convention="fvcore")
    biases = (24 + 72) + 2 * (32 + 120) + (120 + 480) + 2 * (168 + 672) + 2 * (240 + 960)
    assert rows["SE"]["params"] == 1_507_200 + biases


def test_networks_without_se_have_no_se_row():
    for spec in ("mobilenet_v1", "resnet18", "mobilenet_v2"):
        rows = _rows(spec=spec)
        assert "SE" not in rows
    # MobileNet-V1's breakdown stays Table 2's five types
    assert [str(t) for t in _rows()] == ["Conv 3x3", "Conv DW 3x3", "Conv 1x1", "Avg Pool", "FC"]
