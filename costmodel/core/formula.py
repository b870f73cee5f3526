"""Closed-form cost: total mult-adds and params as polynomials in alpha and rho.

The paper's cost of a separable layer is D_K*D_K*aM*pD_F*pD_F + aM*aN*pD_F*pD_F (Section 4).
Summed over layers this is a polynomial in alpha and rho that ignores channel rounding and the
ceil of 'SAME' padding. It is derived here, not typed in: the engine's own counting functions
are fed sympy symbols (channels alpha*c for the layers alpha thins, spatial sizes rho*D_F with
D_F taken at the description's base resolution), and their outputs are summed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sympy as sp

from costmodel.core.arch import get_description, resolve
from costmodel.core.conventions import get_convention
from costmodel.core.engine import count_layer, layer_table
from costmodel.core.kinds import Kind
from costmodel.errors import CostModelError

ALPHA, RHO = sp.symbols("alpha rho", positive=True)


def symbolic_totals(variant: str = "mobilenet_v1", convention: str = "paper", classes: int = 1000,
                    spec: Any = None) -> dict[str, sp.Expr]:
    """{"mult_adds": poly(alpha, rho), "params": poly(alpha)} for a description and convention."""
    counting = get_convention(convention)
    desc = get_description(spec)
    n_cls = classes + counting.extra_classes
    base_r = desc.base_resolution
    base = resolve(desc, variant, 1.0, base_r, "int", n_cls)
    # A channel count is thinned by alpha iff it doubles at alpha=2 (int(2c) = 2c exactly); a
    # size follows rho iff it changes at twice the resolution (pools to a fixed size do not).
    doubled = resolve(desc, variant, 2.0, base_r, "int", n_cls)
    wider = resolve(desc, variant, 1.0, 2 * base_r, "int", n_cls)
    mult_adds: sp.Expr = sp.Integer(0)
    params: sp.Expr = sp.Integer(0)
    for b, d, w in zip(base, doubled, wider):
        if b.kind == Kind.GCONV or (w.in_channels, w.out_channels) != (b.in_channels, b.out_channels):
            why = "a grouped conv" if b.kind == Kind.GCONV else "a width that follows the resolution"
            raise CostModelError(f"formula: layer {b.name} of {desc.name} has {why}; allowed: "
                                 f"networks whose widths follow alpha only, without grouped convs")

        def a(x: Any, x2: Any) -> Any:
            return ALPHA * x if x2 == 2 * x else x

        def r(x: Any, x2: Any) -> Any:
            return RHO * x if x2 != x else x

        sym = replace(b, in_channels=a(b.in_channels, d.in_channels),
                      out_channels=a(b.out_channels, d.out_channels),
                      in_size=r(b.in_size, w.in_size), in_width=r(b.in_width, w.in_width),
                      out_size=r(b.out_size, w.out_size), out_width=r(b.out_width, w.out_width))
        c = count_layer(sym, counting)
        mult_adds += c.mult_adds
        params += c.params
    return {"mult_adds": sp.expand(mult_adds), "params": sp.expand(params)}


def formula_text(expr: sp.Expr) -> str:
    """Terms in descending degree, integer coefficients: e.g. 539492352*alpha**2*rho**2 + ..."""
    poly = sp.Poly(expr, ALPHA, RHO)
    terms = []
    for (i, j), coef in sorted(poly.terms(), key=lambda t: (-(t[0][0] + t[0][1]), -t[0][0])):
        mono = "*".join(p for p in (
            "" if i == 0 else ("alpha" if i == 1 else f"alpha^{i}"),
            "" if j == 0 else ("rho" if j == 1 else f"rho^{j}")) if p)
        terms.append(f"{coef}*{mono}" if mono else f"{coef}")
    return " + ".join(terms) if terms else "0"


def compare(alphas: list[float], resolutions: list[int], variant: str = "mobilenet_v1",
            rounding: str = "int", convention: str = "paper", classes: int = 1000,
            spec: Any = None) -> list[dict[str, Any]]:
    """Exact (rounded) counts beside the polynomial at each config; rho = resolution / base.
    ``*_rel_diff`` = (exact - polynomial) / polynomial: positive where the real network costs
    more than the law (`costmodel formula` and notebook 02 print this sign)."""
    desc = get_description(spec)
    sym = symbolic_totals(variant, convention, classes, spec)
    f_ma = sp.lambdify((ALPHA, RHO), sym["mult_adds"])
    f_p = sp.lambdify((ALPHA, RHO), sym["params"])
    rows = []
    for a in alphas:
        for r in resolutions:
            t = layer_table(a, r, variant=variant, rounding=rounding, convention=convention,
                            classes=classes, spec=spec)
            rho = r / desc.base_resolution
            ma, p = float(f_ma(a, rho)), float(f_p(a, rho))
            rows.append({
                "alpha": a, "resolution": r, "rho": rho,
                "mult_adds": t.totals["mult_adds"], "mult_adds_formula": ma,
                "mult_adds_rel_diff": (t.totals["mult_adds"] - ma) / ma,
                "params": t.totals["params"], "params_formula": p,
                "params_rel_diff": (t.totals["params"] - p) / p,
            })
    return rows
