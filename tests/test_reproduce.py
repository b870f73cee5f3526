"""Reproduction: every published cost figure is computed; disagreements are found and explained.

The disagreements asserted here are the ones documented with the published data
(data/reference/SOURCES.md, "Known inconsistencies"); the tool finds them by computing."""

from __future__ import annotations

import pytest

from costmodel.crosscheck.reproduce import agrees, explain, reproduce


@pytest.fixture(scope="module")
def checks():
    return reproduce()


def _find(checks, source, item, quantity):
    (c,) = [c for c in checks if c.source == source and c.item == item and c.quantity == quantity]
    return c


def test_precision_rule():
    assert agrees(568.74, "569") and not agrees(290.68, "290") and agrees(0.4636, "0.5")


def test_known_disagreements_found_and_explained(checks):
    bad = {(c.source, c.item, c.quantity): c.explanation for c in checks if not c.agree}
    assert "imply stride 1" in bad[("Table 1", "row 18 (conv_dw_13)", "stride")]
    assert bad[("Table 2", "Conv 3x3", "% mult-adds")].startswith("digits transposed")
    assert "99.29" in bad[("Table 2", "column sum", "% mult-adds")]
    assert bad[("Table 7", "1.0 MobileNet-160", "mult-adds (M)")].startswith("truncated")
    assert bad[("Table 9", "0.50 MobileNet-160", "mult-adds (M)")].startswith("truncated")
    for res in (224, 192, 160, 128):
        assert "without the first conv layer" in bad[("TF-slim", f"MobileNet_v1_0.75_{res}", "mult-adds (M)")]
    assert bad[("TF-slim", "MobileNet_v1_0.25_192", "mult-adds (M)")].startswith("unexplained")
    assert ("Table 4", "Conv MobileNet", "mult-adds (M)") in bad
    # Everything else agrees at the printed precision: the list above is the whole list
    assert len(bad) <= 12


def test_agreeing_figures(checks):
    assert _find(checks, "Table 4", "MobileNet", "mult-adds (M)").agree  # 568.74 -> 569
    assert _find(checks, "TF-slim", "MobileNet_v1_1.0_160", "mult-adds (M)").agree  # 290.68 -> 291
    assert _find(checks, "Table 3", "Convolution (D_F=14)", "mult-adds (M)").agree
    assert all(c.agree for c in checks if c.quantity == "params (M)")


def test_explain_candidates_in_order():
    assert explain(290.68, "290").startswith("truncated")
    assert explain(149.5, "151").startswith("unexplained")
    assert explain(1.906, "1.19").startswith("digits transposed")
    assert explain(100.0, "96", {"without X": 96.2}).startswith("equals the count without X")
    assert explain(4867.3, "4866").startswith("within 0.027%")
