"""Engine: closed-form single layers, the full network against published figures, invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.core.arch import resolve
from costmodel.core.engine import KIND_COUNTERS, TOTAL_KEYS, layer_table
from costmodel.core.kinds import CONV1X1, DW3X3
from costmodel.io.reference import read_reference


def one_layer(kind: str, m: int = 512, d_f: int = 14) -> dict:
    return {"input_channels": m, "input_scale": True, "base_resolution": d_f,
            "layers": [{"type": kind, "kernel": 3, "stride": 1, "out": m}]}


# --- Table 3 (paper, arXiv 1704.04861): D_K=3, M=N=512, D_F=14 -----------------------------------
def test_table3_standard_conv_closed_form():
    t = layer_table(1.0, 14, spec=one_layer("conv"))
    # D_K*D_K*M*N*D_F*D_F = 3*3*512*512*14*14 = 462,422,016 (Table 3: 462M)
    assert t.totals["mult_adds"] == 3 * 3 * 512 * 512 * 14 * 14 == 462_422_016
    # D_K*D_K*M*N = 2,359,296 (Table 3: 2.36M)
    assert t.totals["params"] == 3 * 3 * 512 * 512


def test_table3_separable_closed_form():
    t = layer_table(1.0, 14, spec=one_layer("separable"))
    # D_K*D_K*M*D_F*D_F + M*N*D_F*D_F = 903,168 + 51,380,224 = 52,283,392 (Table 3: 52.3M)
    assert t.totals["mult_adds"] == 3 * 3 * 512 * 14 * 14 + 512 * 512 * 14 * 14 == 52_283_392
    # 3*3*512 + 512*512 = 266,752 (Table 3: 0.27M)
    assert t.totals["params"] == 3 * 3 * 512 + 512 * 512
    # reduction vs standard conv = 1/N + 1/D_K^2 (paper Section 3.1)
    std = layer_table(1.0, 14, spec=one_layer("conv")).totals["mult_adds"]
    assert t.totals["mult_adds"] / std == pytest.approx(1 / 512 + 1 / 9)


def test_table3_alpha_and_rho():
    # alpha=0.75: M=N=384: 3*3*384*196 + 384*384*196 = 29,578,752 (Table 3: 29.6M), params 150,912
    t = layer_table(0.75, 14, spec=one_layer("separable"))
    assert t.totals["mult_adds"] == 3 * 3 * 384 * 196 + 384 * 384 * 196 == 29_578_752
    assert t.totals["params"] == 3 * 3 * 384 + 384 * 384 == 150_912
    # rho=0.714: D_F = round(14*0.714) = 10: (3*3*384 + 384*384)*100 = 15,091,200 (Table 3: 15.1M)
    t = layer_table(0.75, 10, spec=one_layer("separable"))
    assert t.totals["mult_adds"] == (3 * 3 * 384 + 384 * 384) * 100 == 15_091_200


# --- The full network, re-counted independently from Table 1 as printed ---------------------------
def table1_recount() -> tuple[int, int]:
    """Mult-adds and params straight from Table 1's printed filter shapes and input sizes, with
    the printed 's2' of row 18 read as s1 (its own sizes say 7x7 -> 7x7)."""
    ma = params = 0
    for r in read_reference("paper_table1_body.csv"):
        dims = [int(x) for x in r["filter_shape"].replace(" dw", "").split("x")] \
            if r["type"] in ("conv", "conv_dw", "fc") else None
        if dims is None:
            continue
        in_size = int(r["input_size"].split("x")[0])
        stride = int(r["stride"]) if r["row"] != "18" else 1
        out = math.ceil(in_size / stride)
        weights = math.prod(dims)
        n = int(r["repeat"])
        ma += n * (weights * out * out if r["type"] != "fc" else weights)
        params += n * weights
    return ma, params


def test_full_network_matches_table1_recount():
    ma, params = table1_recount()
    t = layer_table(1.0, 224)
    assert (t.totals["mult_adds"], t.totals["params"]) == (ma, params) == (568_740_352, 4_209_088)


@pytest.mark.parametrize("row", [r for r in read_reference("paper_tables.csv")
                                 if r["variant"] in ("mobilenet_v1", "shallow")],
                         ids=lambda r: f"T{r['table']}-{r['model']}")
def test_paper_tables_at_printed_precision(row):
    # Tables 4-9 print millions rounded to whole numbers, except 290 (1.0-160) and 76 (0.5-160),
    # which the paper truncated: the count rounds to 291 and 77. Both are checked as printed.
    t = layer_table(float(row["alpha"]), int(row["resolution"]), variant=row["variant"])
    ma = t.totals["mult_adds"] / 1e6
    truncated = (float(row["alpha"]), int(row["resolution"])) in {(1.0, 160), (0.5, 160)}
    assert int(row["mult_adds_M"]) == (math.floor(ma) if truncated else round(ma))
    d = len(row["params_M"].split(".")[1]) if "." in row["params_M"] else 0
    assert round(t.totals["params"] / 1e6, d) == float(row["params_M"])


@pytest.mark.parametrize("row", read_reference("tfslim_mobilenet_v1.csv"), ids=lambda r: r["model"])
def test_tfslim_params(row):
    # TF-slim table: params incl. BN (3/channel) and 1001-way logits with bias; 2 decimals.
    t = layer_table(float(row["alpha"]), int(row["resolution"]), rounding="slim", convention="tfslim")
    assert round(t.totals["params"] / 1e6, 2) == float(row["params_M"])


def test_conventions_terms():
    p = layer_table(1.0, 224)
    f = layer_table(1.0, 224, convention="fvcore")
    s = layer_table(1.0, 224, convention="tfslim")
    acts_bn = sum(r["activations"] for r in p.rows if r["type"].is_conv)
    bn_channels = sum(r["out_channels"] for r in p.rows if r["type"].is_conv)
    # fvcore: + 2 ops per BN output element + 1 per pooled input element (7*7*1024)
    assert f.totals["mult_adds"] == p.totals["mult_adds"] + 2 * acts_bn + 7 * 7 * 1024
    assert f.totals["mult_adds"] == 578_875_904  # 568,740,352 + 10,085,376 + 50,176
    # fvcore params: + BN weight and bias (2/channel) + FC bias (1000)
    assert f.totals["params"] == p.totals["params"] + 2 * bn_channels + 1000
    # tfslim: 1001-way logits (+1024 weights, +1001 bias) and 3 BN vectors per channel
    assert s.totals["params"] == p.totals["params"] + 3 * bn_channels + 1024 + 1001
    assert s.totals["mult_adds"] == p.totals["mult_adds"] + 1024


def test_variants():
    full = layer_table(1.0, 224, variant="full_conv")
    shallow = layer_table(1.0, 224, variant="shallow")
    base = layer_table(1.0, 224)
    # full_conv: every separable pair becomes a 3x3 conv: 3*3*M*N*D_F^2 instead of (9M + MN) D_F^2
    pairs = [(r, q) for r, q in zip(base.rows, base.rows[1:]) if r["type"] == DW3X3]
    extra = sum(9 * r["in_channels"] * q["out_channels"] * q["out_shape"][0] ** 2
                - r["mult_adds"] - q["mult_adds"] for r, q in pairs)
    assert full.totals["mult_adds"] == base.totals["mult_adds"] + extra
    # shallow: five 14x14x512 pairs removed, each (9*512 + 512*512)*14*14 = 52,283,392
    assert shallow.totals["mult_adds"] == base.totals["mult_adds"] - 5 * 52_283_392
    assert shallow.totals["params"] == base.totals["params"] - 5 * (9 * 512 + 512 * 512)


def test_rows_sum_to_totals_and_shares():
    t = layer_table(0.6, 200, convention="fvcore")
    for k in TOTAL_KEYS:
        assert sum(r[k] for r in t.rows) == t.totals[k]
    assert sum(r["mult_adds_pct"] for r in t.rows) == pytest.approx(100.0)
    assert sum(r["params_pct"] for r in t.rows) == pytest.approx(100.0)
    df = t.to_frame()
    assert int(df["mult_adds"].sum()) == t.totals["mult_adds"]
    assert list(df["name"])[:3] == ["conv1", "conv_dw_1", "conv_pw_1"]


def test_every_layer_kind_has_a_counter():
    kinds = {lay.kind for v in ("mobilenet_v1", "full_conv", "shallow") for lay in resolve(variant=v)}
    assert kinds <= set(KIND_COUNTERS)


@settings(max_examples=60, deadline=None)
@given(alpha=st.floats(0.05, 2.0), res=st.integers(16, 400), res2=st.integers(16, 400),
       rounding=st.sampled_from(["int", "slim", "divisible8"]),
       convention=st.sampled_from(["paper", "fvcore", "tfslim"]))
def test_invariants(alpha, res, res2, rounding, convention):
    a = layer_table(alpha, res, rounding=rounding, convention=convention)
    b = layer_table(alpha, res2, rounding=rounding, convention=convention)
    assert a.totals["params"] == b.totals["params"]  # params do not depend on resolution
    assert sum(r["mult_adds"] for r in a.rows) == a.totals["mult_adds"]
    if res <= res2:  # more pixels never cost less
        assert a.totals["mult_adds"] <= b.totals["mult_adds"]
    assert all(isinstance(a.totals[k], int) for k in TOTAL_KEYS)


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 64), m=st.integers(1, 12))
def test_alpha2_rho2_law_where_sizes_are_exact(k, m):
    """With alpha = k/32 every width is exact (all base widths are multiples of 32) and with
    resolution = 32*m every size is exact, so the count equals the paper's polynomial:
    539,492,352 a^2 p^2 + 28,224,000 a p^2 + 1,024,000 a  (Conv 1x1 | DW + first conv | FC)."""
    alpha, res = k / 32, 32 * m
    rho = res / 224
    t = layer_table(alpha, res)
    # The Conv 1x1 share scales as alpha^2 rho^2 exactly; DW and the first conv as alpha rho^2.
    poly = 539_492_352 * alpha**2 * rho**2 + 28_224_000 * alpha * rho**2 + 1_024_000 * alpha
    assert t.totals["mult_adds"] == pytest.approx(poly, rel=1e-12)
    by = t.by_type()
    assert by[CONV1X1]["mult_adds"] == pytest.approx(539_492_352 * alpha**2 * rho**2, rel=1e-12)
