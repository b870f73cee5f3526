"""Closed-form polynomial, derived from the counting functions, against exact counts."""

from __future__ import annotations

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
