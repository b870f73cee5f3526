"""Closed-form polynomial, derived from the counting functions, against exact counts."""

from __future__ import annotations

import pytest
import sympy as sp

from costmodel.core.formula import ALPHA, RHO, compare, formula_text, symbolic_totals


def test_paper_polynomial():
    s = symbolic_totals()
    # Conv 1x1: sum of M*N*D_F^2 over the 13 pointwise layers = 539,492,352 (alpha^2 rho^2);
    # DW: 9*M*D_F^2 summed = 17,385,984 and first conv 3*3*3*32*112^2 = 10,838,016 (alpha rho^2);
    # FC: 1024*1000 (alpha).
    expected = 539_492_352 * ALPHA**2 * RHO**2 + (17_385_984 + 10_838_016) * ALPHA * RHO**2 \
        + 1_024_000 * ALPHA
    assert sp.expand(s["mult_adds"] - expected) == 0
    # params: pointwise M*N sum 3,139,584 (alpha^2); dw 9*M + conv1 864 + FC 1,024,000 (alpha)
    assert sp.expand(s["params"] - (3_139_584 * ALPHA**2 + 1_069_504 * ALPHA)) == 0
    assert formula_text(s["params"]) == "3139584*alpha^2 + 1069504*alpha"


def test_compare_exact_where_sizes_divide_and_bent_elsewhere():
    rows = {(r["alpha"], r["resolution"]): r for r in compare([1.0, 0.3], [224, 130])}
    assert abs(rows[(1.0, 224)]["mult_adds_rel_diff"]) < 1e-12
    # 130 px: ceil(130/32)=5 instead of 130/32=4.06 at 7x7 stage -> the exact count is far larger
    # rel_diff = (exact - polynomial) / polynomial: positive where the exact net costs more
    assert rows[(1.0, 130)]["mult_adds_rel_diff"] > 0.10
    # alpha=0.3: int() rounding drops channels -> the exact net costs less than the polynomial
    assert rows[(0.3, 224)]["mult_adds_rel_diff"] < 0


def test_polynomial_of_any_network_and_its_refusals() -> None:
    from costmodel.core.engine import layer_table
    from costmodel.errors import CostModelError

    # At alpha 1, rho 1 the polynomial is the exact count (ResNet-18's sizes halve exactly from
    # 224; its adds and pools cost nothing under the paper convention); the widths are thinned
    # by alpha everywhere but the 3 input channels and the classes, so params are a*alpha^2 +
    # b*alpha + c with c = 0 (no layer without a thinned side).
    sym = symbolic_totals(spec="resnet18")
    t = layer_table(spec="resnet18")
    assert sym["mult_adds"].subs({ALPHA: 1, RHO: 1}) == t.totals["mult_adds"]
    assert sym["params"].subs({ALPHA: 1, RHO: 1}) == t.totals["params"]
    assert sym["params"].subs({ALPHA: 0, RHO: 1}) == 0
    grouped = {"layers": [{"type": "conv", "out": 8}, {"type": "conv", "groups": 2, "out": 8}]}
    with pytest.raises(CostModelError, match=r"^formula: layer conv2 of custom has a grouped conv"):
        symbolic_totals(spec=grouped)
    flat = {"layers": [{"type": "conv", "out": 8}, {"type": "flatten"}, {"type": "fc"}]}
    with pytest.raises(CostModelError, match=r"^formula: layer flatten1 of custom has a width that "
                                             r"follows the resolution"):
        symbolic_totals(spec=flat)
