"""Published ImageNet accuracy of MobileNet-V1, and a labelled estimate for any alpha/resolution.

Published figures
-----------------
:func:`load_published` reads every published top-1/top-5 figure into one tidy table, one row per
(model, edition), each with its source. The numbers stay in ``data/reference/`` (copied from the
public sources listed in ``data/reference/SOURCES.md``); ``data/accuracy/editions.csv`` only says
which file and columns hold each edition:

* ``paper``: the paper's Tables 4-9 (top-1 only; also the non-MobileNet comparisons),
* ``tfslim_2017_06_float``, ``tfslim_2018_02_float``: the 16 TF-slim checkpoints,
* ``tfslim_2018_02_quant``, ``tfslim_2018_08_quant``: the same checkpoints quantized,
* ``tflite_float32``, ``tflite_uint8``: the TFLite hosted models.

The estimate
------------
Top-1 (and top-5) for any alpha and resolution, fitted by least squares on the 16 TF-slim
2018-02 float checkpoints (alpha 0.25..1.0 x resolution 128..224). The form is chosen by
leave-one-out (LOO) error among the candidates in :data:`FORMS` (:func:`compare_forms` prints
the comparison; ``tests/test_accuracy.py`` checks the choice still holds):

    top1 = b0 + b1 u + b2 v + b3 u^2 + b4 u v + b5 v^2,   u = ln(alpha), v = ln(resolution / 224)

a quadratic in log width and log resolution. The paper notes accuracy falls smoothly, roughly
log-linearly, with mult-adds; the log-linear forms (in log mult-adds, or in log alpha and log
resolution) leave a systematic curvature: accuracy saturates as the network grows and falls
faster than log-linearly at alpha 0.25 (LOO RMSE 1.6-1.9 points). The quadratic captures that
curvature with 6 coefficients on 16 points; its LOO RMSE is about 0.2 points (max about 0.5),
near the 0.1-point printing resolution of the published figures and the run-to-run spread of a
retrain (the 2017 and 2018 editions of one checkpoint differ by up to 1.3 points). Held-out
*edges* (fit without the alpha 1.0 column, or the 0.25 column, or the 224 or the 128 row, then
predict it) stay within 0.7 points (:func:`edge_holdout`), the best of the candidates, so the
form also extrapolates one grid step sensibly. Its peak lies far outside the range (alpha ~1.9
at 224, resolution ~370 at alpha 1), so inside and near the range the estimate grows with both.

Extrapolation
-------------
The published range is alpha 0.25..1.0 and resolution 128..224 (the fitting points' extent).
Outside it, the distance is measured per axis in log space as a fraction of the range's log
span (ln 4 for alpha, ln 1.75 for resolution); the larger of the two is :func:`range_excess`.

* ``interpolated``: inside the range (excess 0),
* ``extrapolated``: excess up to :data:`FAR_FRACTION` = 0.25, i.e. alpha 0.177..1.414 and
  resolution 111.3..257.7; returned, labelled ``extrapolated``,
* ``far``: beyond that. Refused with a CostModelError unless ``allow_far=True`` (CLI
  ``--allow-extrapolation``), and then labelled ``far`` so readers can flag it loudly.

Why a quarter span: the edge hold-outs above validate extrapolating by 0.26 to 1.0 of the
remaining span with errors under 0.7 points, but a quadratic's curvature is pinned only by the
data, so we stay well inside what was validated. A quarter span is one published grid step
beyond 1.0 (to sqrt 2) and keeps resolution 256 in.

Every estimated value carries ``estimated=True`` and a ``source`` string that starts with
``estimate``; published values carry their citation.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from costmodel.core.arch import check_alpha, check_resolution
from costmodel.errors import CostModelError

if TYPE_CHECKING:
    import pandas as pd

from costmodel.io.paths import ACCURACY_DIR, REFERENCE_DIR

EDITIONS_CSV = ACCURACY_DIR / "editions.csv"

FIT_EDITION = "tfslim_2018_02_float"  # the 16 points every estimate is fitted on
METRICS = ("top1", "top5")
FAR_FRACTION = 0.25  # beyond this fraction of the log span outside the range: "far"
RESOLUTION_REF = 224.0  # v = ln(resolution / 224)

TIDY_COLUMNS = ("edition", "model", "variant", "alpha", "resolution", "precision", "top1", "top5",
                "mult_adds_m_published", "params_m_published", "table", "source_file", "source")


# ------------------------------------------------------------------------------------------
# Published figures
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Edition:
    name: str
    file: str
    where: str
    top1_column: str
    top5_column: str
    precision: str
    source: str


@lru_cache(maxsize=1)
def editions() -> dict[str, Edition]:
    """The published editions (data/accuracy/editions.csv), by name."""
    with EDITIONS_CSV.open(newline="", encoding="utf-8") as fh:
        return {r["edition"]: Edition(r["edition"], r["file"], r["where"], r["top1_column"],
                                      r["top5_column"], r["precision"], r["source"])
                for r in csv.DictReader(fh)}


def check_edition(edition: Any) -> str:
    names = list(editions())
    if edition not in names:
        raise CostModelError(f"accuracy edition {edition!r} is unknown; allowed: {', '.join(names)}")
    return str(edition)


def _edition_frame(ed: Edition) -> pd.DataFrame:
    import pandas as pd

    raw = pd.read_csv(REFERENCE_DIR / ed.file)
    if ed.where:
        col, _, val = ed.where.partition("=")
        raw = raw[raw[col].astype(str) == val]
    n = len(raw)
    nan = np.full(n, np.nan)
    table = raw["table"].astype(str) if "table" in raw else pd.Series([""] * n, index=raw.index)
    out = pd.DataFrame({
        "edition": ed.name,
        "model": raw["model"].astype(str),
        "variant": raw.get("variant", "mobilenet_v1"),
        "alpha": pd.to_numeric(raw["alpha"], errors="coerce"),
        "resolution": pd.to_numeric(raw["resolution"], errors="coerce"),
        "precision": ed.precision,
        "top1": pd.to_numeric(raw[ed.top1_column], errors="coerce"),
        "top5": pd.to_numeric(raw[ed.top5_column], errors="coerce") if ed.top5_column else nan,
        "mult_adds_m_published": raw.get("mult_adds_M", raw.get("macs_M", nan)),
        "params_m_published": raw.get("params_M", nan),
        "table": table,
        "source_file": f"data/reference/{ed.file}",
        "source": [ed.source.format(table=t) for t in table],
    })
    return out.dropna(subset=["top1"]).reset_index(drop=True)


@lru_cache(maxsize=1)
def _published_all() -> pd.DataFrame:
    import pandas as pd

    return pd.concat([_edition_frame(ed) for ed in editions().values()], ignore_index=True)


def load_published(edition: str | None = None) -> pd.DataFrame:
    """Every published top-1/top-5 figure, one row per (model, edition), with its source.

    Columns: :data:`TIDY_COLUMNS` (top-5 NaN where not published; ``table`` is the paper table
    number for the ``paper`` edition). ``edition`` selects one edition.
    """
    frame = _published_all()
    if edition is not None:
        frame = frame[frame["edition"] == check_edition(edition)]
    return frame.reset_index(drop=True).copy()


@lru_cache(maxsize=16)
def _config_table(edition: str) -> dict[tuple[float, int], dict[str, Any]]:
    """MobileNet-V1 configs of one edition -> its figures (first row wins; the paper repeats
    1.0-224 in Tables 4 and 6-8 with one value)."""
    frame = load_published(edition)
    frame = frame[(frame["variant"] == "mobilenet_v1") & frame["alpha"].notna()]
    out: dict[tuple[float, int], dict[str, Any]] = {}
    for rec in frame.to_dict("records"):
        out.setdefault((round(float(rec["alpha"]), 6), int(rec["resolution"])),
                       {str(k): v for k, v in rec.items()})
    return out


def published_configs(edition: str = FIT_EDITION) -> list[tuple[float, int]]:
    """(alpha, resolution) of every MobileNet-V1 model an edition publishes, sorted."""
    return sorted(_config_table(check_edition(edition)))


def published(alpha: Any, resolution: Any, edition: str = FIT_EDITION) -> dict[str, Any] | None:
    """The published figures of one config in one edition, or None if it publishes none."""
    key = (round(check_alpha(alpha), 6), check_resolution(resolution))
    rec = _config_table(check_edition(edition)).get(key)
    return None if rec is None else dict(rec)


# ------------------------------------------------------------------------------------------
# Other networks: published top-1 only, never estimated
# ------------------------------------------------------------------------------------------
NETWORKS_CSV = ACCURACY_DIR / "networks.csv"


@lru_cache(maxsize=1)
def _network_files() -> dict[str, dict[str, str]]:
    """data/accuracy/networks.csv: network -> file, where, columns and source."""
    with NETWORKS_CSV.open(newline="", encoding="utf-8") as fh:
        return {r["network"]: dict(r) for r in csv.DictReader(fh)}


def _network_rows(entry: dict[str, str]) -> list[dict[str, Any]]:
    with (REFERENCE_DIR / entry["file"]).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for cond in filter(None, entry["where"].split(";")):
        col, _, val = cond.partition("=")
        rows = [r for r in rows if r[col] == val]
    return [{"alpha": float(r[entry["alpha_column"]]), "resolution": int(r["resolution"]),
             "top1": float(r[entry["top1_column"]]),
             "top5": float(r[entry["top5_column"]]) if entry["top5_column"] else None,
             "source": entry["source"].format(checkpoint=r.get("checkpoint", ""))} for r in rows]


def network_accuracy(spec: Any) -> dict[tuple[float, int], dict[str, Any]]:
    """Published top-1 of a network other than MobileNet-V1, by (alpha to 6 places, resolution):
    {top1, top5 (None where not printed), source}. The checkpoints data/accuracy/networks.csv
    lists for the network, else the top-1 figures its description cites (``published:``, at alpha
    1 and the figure's resolution). Empty when none is cited: such a network has no accuracy
    (never estimated, never MobileNet-V1's)."""
    from costmodel.core.arch import BUILTIN_NAMES, get_description

    desc = get_description(spec)
    entry = _network_files().get(desc.name) if str(spec) in BUILTIN_NAMES else None
    if entry is not None:
        rows = _network_rows(entry)
    else:
        rows = [{"alpha": 1.0, "resolution": int(p.get("resolution", desc.base_resolution)),
                 "top1": float(p["value"]), "top5": None, "source": str(p["source"])}
                for p in desc.published if p["figure"] == "top1"]
    out: dict[tuple[float, int], dict[str, Any]] = {}
    for r in rows:
        out.setdefault((round(r["alpha"], 6), r["resolution"]), r)
    return out


# ------------------------------------------------------------------------------------------
# Candidate forms and the fit
# ------------------------------------------------------------------------------------------
Features = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Form:
    """A least-squares form: features of (u = ln alpha, v = ln(res/224), m = ln mult-adds[M])
    and the target it is linear in (``top1`` itself, or ``log_error`` = ln(100 - top1))."""

    name: str
    formula: str
    features: Features
    target: str = "value"  # "value" or "log_error"
    uses_mult_adds: bool = False


def _cols(*cols: np.ndarray) -> np.ndarray:
    return np.stack(np.broadcast_arrays(*cols), axis=-1).astype(np.float64)


FORMS: dict[str, Form] = {f.name: f for f in (
    Form("log_mult_adds", "b0 + b1 ln(MA)",
         lambda u, v, m: _cols(np.ones_like(m), m), uses_mult_adds=True),
    Form("log_mult_adds_quadratic", "b0 + b1 ln(MA) + b2 ln(MA)^2",
         lambda u, v, m: _cols(np.ones_like(m), m, m * m), uses_mult_adds=True),
    Form("log_alpha_log_res", "b0 + b1 u + b2 v",
         lambda u, v, m: _cols(np.ones_like(u * v), u, v)),
    Form("log_alpha_log_res_product", "b0 + b1 u + b2 v + b3 uv",
         lambda u, v, m: _cols(np.ones_like(u * v), u, v, u * v)),
    Form("log_error_log_alpha_log_res", "ln(100 - top) = b0 + b1 u + b2 v",
         lambda u, v, m: _cols(np.ones_like(u * v), u, v), target="log_error"),
    Form("log_error_log_mult_adds", "ln(100 - top) = b0 + b1 ln(MA)",
         lambda u, v, m: _cols(np.ones_like(m), m), target="log_error", uses_mult_adds=True),
    Form("quadratic_log", "b0 + b1 u + b2 v + b3 u^2 + b4 uv + b5 v^2",
         lambda u, v, m: _cols(np.ones_like(u * v), u, v, u * u, u * v, v * v)),
)}
DEFAULT_FORM = "quadratic_log"  # the lowest LOO error of FORMS (checked in tests)


def _uv(alpha: Any, resolution: Any) -> tuple[np.ndarray, np.ndarray]:
    return (np.log(np.asarray(alpha, dtype=np.float64)),
            np.log(np.asarray(resolution, dtype=np.float64) / RESOLUTION_REF))


def _log_mult_adds(alpha: np.ndarray, resolution: np.ndarray) -> np.ndarray:
    """ln(mult-adds in millions) from the engine (paper convention), for the MA-based forms."""
    from costmodel.core.sweep import sweep

    a = np.asarray(alpha, dtype=np.float64).ravel()
    r = np.asarray(resolution, dtype=np.int64).ravel()
    ua, ia = np.unique(a, return_inverse=True)
    ur, ir = np.unique(r, return_inverse=True)
    s = sweep(ua, ur, rounding="slim")
    return np.log(s.mult_adds[ia, ir] / 1e6).reshape(np.shape(alpha))


def _design(form: Form, alpha: np.ndarray, resolution: np.ndarray) -> np.ndarray:
    u, v = _uv(alpha, resolution)
    m = _log_mult_adds(alpha, resolution) if form.uses_mult_adds else np.zeros_like(u)
    return form.features(u, v, m)


def _to_target(form: Form, y: np.ndarray) -> np.ndarray:
    return np.log(100.0 - y) if form.target == "log_error" else y


def _from_target(form: Form, t: np.ndarray) -> np.ndarray:
    return 100.0 - np.exp(t) if form.target == "log_error" else t


@dataclass(frozen=True)
class Fit:
    form: str
    formula: str
    metric: str
    edition: str
    coef: tuple[float, ...]
    n: int
    alpha_range: tuple[float, float]
    resolution_range: tuple[int, int]
    fit_rmse: float
    loo_rmse: float
    loo_mae: float
    loo_max: float
    loo_residuals: tuple[float, ...]  # LOO prediction - published, in published-table order

    @property
    def source(self) -> str:
        return (f"estimate: {self.formula} (u=ln alpha, v=ln(res/224)) fitted on the "
                f"{self.n} {self.edition} checkpoints; LOO RMSE {self.loo_rmse:.2f} points")

    def to_dict(self) -> dict[str, Any]:
        return {"form": self.form, "formula": self.formula, "metric": self.metric,
                "edition": self.edition, "coef": list(self.coef), "n": self.n,
                "alpha_range": list(self.alpha_range),
                "resolution_range": list(self.resolution_range), "fit_rmse": self.fit_rmse,
                "loo_rmse": self.loo_rmse, "loo_mae": self.loo_mae, "loo_max": self.loo_max,
                "source": self.source}


def _training(metric: str, edition: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frame = load_published(edition)
    frame = frame[(frame["variant"] == "mobilenet_v1") & frame[metric].notna()]
    return (frame["alpha"].to_numpy(np.float64), frame["resolution"].to_numpy(np.float64),
            frame[metric].to_numpy(np.float64))


def _check_metric(metric: Any) -> str:
    if metric not in METRICS:
        raise CostModelError(f"accuracy metric {metric!r} is unknown; allowed: {', '.join(METRICS)}")
    return str(metric)


def _check_form(form: Any) -> Form:
    if form not in FORMS:
        raise CostModelError(f"accuracy form {form!r} is unknown; allowed: {', '.join(FORMS)}")
    return FORMS[form]


@lru_cache(maxsize=64)
def fit(form: str = DEFAULT_FORM, metric: str = "top1", edition: str = FIT_EDITION) -> Fit:
    """Least-squares fit of one form on one edition's MobileNet-V1 points, with its LOO error."""
    f = _check_form(form)
    metric = _check_metric(metric)
    edition = check_edition(edition)
    a, r, y = _training(metric, edition)
    x = _design(f, a, r)
    t = _to_target(f, y)
    if len(y) <= x.shape[1]:
        raise CostModelError(f"edition {edition!r} has {len(y)} {metric} points; allowed: more "
                             f"than the {x.shape[1]} coefficients of form {form!r}")
    coef = np.linalg.lstsq(x, t, rcond=None)[0]
    fitted = _from_target(f, x @ coef)
    loo = np.empty_like(y)
    for i in range(len(y)):  # 16 tiny solves: explicit is clearer than the hat-matrix shortcut
        keep = np.arange(len(y)) != i
        c = np.linalg.lstsq(x[keep], t[keep], rcond=None)[0]
        loo[i] = _from_target(f, x[i] @ c)
    res = loo - y
    return Fit(f.name, f.formula, metric, edition, tuple(float(c) for c in coef), len(y),
               (float(a.min()), float(a.max())), (int(r.min()), int(r.max())),
               float(np.sqrt(np.mean((fitted - y) ** 2))), float(np.sqrt(np.mean(res ** 2))),
               float(np.mean(np.abs(res))), float(np.max(np.abs(res))),
               tuple(float(e) for e in res))


def compare_forms(metric: str = "top1", edition: str = FIT_EDITION) -> list[dict[str, Any]]:
    """Every candidate form's fit and LOO error, best (lowest LOO RMSE) first."""
    rows = []
    for name in FORMS:
        ft = fit(name, metric, edition)
        rows.append({"form": name, "formula": ft.formula, "coefficients": len(ft.coef),
                     "fit_rmse": ft.fit_rmse, "loo_rmse": ft.loo_rmse, "loo_mae": ft.loo_mae,
                     "loo_max": ft.loo_max, **edge_holdout(name, metric, edition)})
    return sorted(rows, key=lambda d: d["loo_rmse"])


def edge_holdout(form: str = DEFAULT_FORM, metric: str = "top1",
                 edition: str = FIT_EDITION) -> dict[str, float]:
    """Max abs error on each held-out edge of the grid (fit without it, predict it): how the
    form extrapolates one grid step. Keys ``edge_alpha_max`` etc."""
    f = _check_form(form)
    a, r, y = _training(_check_metric(metric), check_edition(edition))
    x = _design(f, a, r)
    t = _to_target(f, y)
    out = {}
    for key, held in (("edge_alpha_min", a == a.min()), ("edge_alpha_max", a == a.max()),
                      ("edge_res_min", r == r.min()), ("edge_res_max", r == r.max())):
        c = np.linalg.lstsq(x[~held], t[~held], rcond=None)[0]
        out[key] = float(np.max(np.abs(_from_target(f, x[held] @ c) - y[held])))
    return out


# ------------------------------------------------------------------------------------------
# Range and estimates
# ------------------------------------------------------------------------------------------
def published_range(edition: str = FIT_EDITION) -> dict[str, tuple[float, float]]:
    ft = fit(DEFAULT_FORM, "top1", edition)
    return {"alpha": ft.alpha_range, "resolution": ft.resolution_range}


def _excess(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    lx, llo, lhi = np.log(x), math.log(lo), math.log(hi)
    return np.maximum(np.maximum(llo - lx, lx - lhi), 0.0) / (lhi - llo)


def range_excess(alpha: Any, resolution: Any, edition: str = FIT_EDITION) -> np.ndarray:
    """How far outside the published range, as a fraction of its log span (0 inside)."""
    rng = published_range(edition)
    a = np.asarray(alpha, dtype=np.float64)
    r = np.asarray(resolution, dtype=np.float64)
    return np.maximum(_excess(a, *rng["alpha"]), _excess(r, *rng["resolution"]))


def range_status(alpha: Any, resolution: Any, edition: str = FIT_EDITION) -> np.ndarray:
    """``interpolated``, ``extrapolated`` (excess <= FAR_FRACTION) or ``far``, per point."""
    excess = range_excess(alpha, resolution, edition)
    return np.where(excess == 0, "interpolated", np.where(excess <= FAR_FRACTION + 1e-12,
                                                          "extrapolated", "far"))


def near_limits(edition: str = FIT_EDITION) -> dict[str, tuple[float, float]]:
    """The alpha and resolution limits beyond which an estimate is ``far``."""
    rng = published_range(edition)
    out = {}
    for k, (lo, hi) in rng.items():
        span = math.log(hi / lo) * FAR_FRACTION
        out[k] = (lo * math.exp(-span), hi * math.exp(span))
    return out


def _far_message(alpha: float, resolution: float, edition: str) -> str:
    rng, near = published_range(edition), near_limits(edition)
    return (f"alpha {alpha:g}, resolution {resolution:g} is far outside the published range "
            f"(alpha {rng['alpha'][0]:g}..{rng['alpha'][1]:g}, resolution "
            f"{rng['resolution'][0]}..{rng['resolution'][1]}); allowed for an estimate: alpha "
            f"{near['alpha'][0]:.3g}..{near['alpha'][1]:.3g}, resolution "
            f"{near['resolution'][0]:.4g}..{near['resolution'][1]:.4g}, or allow_far=True "
            f"(CLI --allow-extrapolation) for a flagged estimate")


def predict(alpha: Any, resolution: Any, *, metric: str = "top1", allow_far: bool = False,
            form: str = DEFAULT_FORM, edition: str = FIT_EDITION) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized estimate: (values, range status) for broadcast arrays of alpha and resolution.
    Raises CostModelError if any point is ``far`` and ``allow_far`` is False. Inputs are assumed
    already validated (positive numbers); use :func:`estimate` for one unchecked config."""
    ft = fit(form, metric, edition)
    f = FORMS[ft.form]
    a, r = np.broadcast_arrays(np.asarray(alpha, dtype=np.float64),
                               np.asarray(resolution, dtype=np.float64))
    status = range_status(a, r, edition)
    if not allow_far and (status == "far").any():
        i = np.flatnonzero((status == "far").ravel())[0]
        raise CostModelError(_far_message(float(a.ravel()[i]), float(r.ravel()[i]), edition))
    values = _from_target(f, _design(f, a, r) @ np.asarray(ft.coef))
    return values, status


def estimate(alpha: Any, resolution: Any, *, allow_far: bool = False,
             edition: str = FIT_EDITION) -> dict[str, Any]:
    """The estimate for one config: top-1 and top-5 (%), labelled. Keys: alpha, resolution,
    top1, top5, estimated (True), range (interpolated/extrapolated/far), range_excess, source,
    loo_rmse."""
    a = check_alpha(alpha)
    r = check_resolution(resolution)
    t1, status = predict(a, r, metric="top1", allow_far=allow_far, edition=edition)
    t5, _ = predict(a, r, metric="top5", allow_far=True, edition=edition)
    ft = fit(DEFAULT_FORM, "top1", edition)
    return {"alpha": a, "resolution": r, "top1": float(t1), "top5": float(t5), "estimated": True,
            "range": str(status), "range_excess": float(range_excess(a, r, edition)),
            "source": ft.source, "loo_rmse": ft.loo_rmse}


def accuracy(alpha: Any, resolution: Any, *, edition: str = FIT_EDITION,
             allow_far: bool = False) -> dict[str, Any]:
    """Top-1/top-5 of one config: the edition's published figure where it has one (estimated
    False, source = its citation), else the estimate (estimated True, source 'estimate: ...')."""
    rec = published(alpha, resolution, edition)
    if rec is not None:
        return {"alpha": float(rec["alpha"]), "resolution": int(rec["resolution"]),
                "top1": float(rec["top1"]),
                "top5": None if rec["top5"] != rec["top5"] else float(rec["top5"]),
                "estimated": False, "range": "published", "range_excess": 0.0,
                "source": rec["source"], "edition": edition}
    est = estimate(alpha, resolution, allow_far=allow_far, edition=estimate_edition(edition))
    if is_quantized(edition):
        a, r = est["alpha"], est["resolution"]
        est.update(top1=est["top1"] - float(quant_drop(a, r, edition, "top1")),
                   top5=est["top5"] - float(quant_drop(a, r, edition, "top5")),
                   source=estimate_source(edition))
    return {**est, "edition": edition}


def estimate_edition(edition: str) -> str:
    """The edition an estimate for ``edition`` is fitted on: itself when it is a float edition
    that publishes the full alpha x resolution grid (the TF-slim and TFLite float editions), else
    :data:`FIT_EDITION` (the paper prints only 8 MobileNet-V1 configs, too few for 6
    coefficients; a quantized edition's estimate is the float fit less the published
    float-to-quant drop, :func:`quant_drop`)."""
    if is_quantized(edition):
        return FIT_EDITION
    return edition if len(published_configs(edition)) >= 16 else FIT_EDITION


# ------------------------------------------------------------------------------------------
# Quantized editions: the published float-to-quant drop (issue #13)
# ------------------------------------------------------------------------------------------
# The edition of int8 top-1 (costmodel's int8: static QDQ, per-channel int8 weights): the TF-slim
# quantized checkpoints (2018-08, the ones the TFLite uint8 hosted models were converted from).
INT8_EDITION = "tfslim_2018_08_quant"


def is_quantized(edition: str) -> bool:
    """Whether an edition's models are quantized (uint8/int8), not float."""
    return editions()[check_edition(edition)].precision not in ("float32", "")


@lru_cache(maxsize=16)
def _drop_grid(edition: str, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ln alphas, ln resolutions, drop[i, j]): :data:`FIT_EDITION`'s figure less ``edition``'s
    at every config both publish (a full alpha x resolution grid)."""
    fl, qu = _config_table(FIT_EDITION), _config_table(check_edition(edition))
    keys = sorted(k for k in qu if k in fl and qu[k][metric] == qu[k][metric])
    alphas = sorted({k[0] for k in keys})
    resolutions = sorted({k[1] for k in keys})
    if len(keys) != len(alphas) * len(resolutions) or len(alphas) < 2 or len(resolutions) < 2:
        raise CostModelError(f"edition {edition!r} does not publish {metric} on a full alpha x "
                             f"resolution grid; allowed: a quantized edition of the 16 configs")
    drop = np.array([[float(fl[(a, r)][metric]) - float(qu[(a, r)][metric])
                      for r in resolutions] for a in alphas])
    return np.log(alphas), np.log(resolutions), drop


def quant_drop(alpha: Any, resolution: Any, edition: str, metric: str = "top1") -> np.ndarray:
    """The published float-to-quant drop (points) of a quantized ``edition`` at any config:
    bilinear in (ln alpha, ln resolution) between the four nearest published configs, and the
    nearest edge's drop outside the published range (no extrapolated trend)."""
    lu, lv, drop = _drop_grid(edition, _check_metric(metric))
    a, r = np.broadcast_arrays(np.asarray(alpha, dtype=np.float64),
                               np.asarray(resolution, dtype=np.float64))
    u = np.clip(np.log(a), lu[0], lu[-1])
    v = np.clip(np.log(r), lv[0], lv[-1])
    i = np.clip(np.searchsorted(lu, u, side="right") - 1, 0, lu.size - 2)
    j = np.clip(np.searchsorted(lv, v, side="right") - 1, 0, lv.size - 2)
    tu = (u - lu[i]) / (lu[i + 1] - lu[i])
    tv = (v - lv[j]) / (lv[j + 1] - lv[j])
    return ((1 - tu) * (1 - tv) * drop[i, j] + tu * (1 - tv) * drop[i + 1, j]
            + (1 - tu) * tv * drop[i, j + 1] + tu * tv * drop[i + 1, j + 1])


def estimate_arrays(alpha: Any, resolution: Any, edition: str,
                    metric: str = "top1") -> tuple[np.ndarray, np.ndarray]:
    """Vectorized labelled estimate for ``edition`` (values, range status; far points kept): the
    fit of :func:`estimate_edition`, less :func:`quant_drop` for a quantized edition."""
    values, status = predict(alpha, resolution, metric=metric, allow_far=True,
                             edition=estimate_edition(edition))
    if is_quantized(edition):
        values = values - quant_drop(alpha, resolution, edition, metric)
    return values, status


def estimate_source(edition: str) -> str:
    """The ``source`` of an estimate for ``edition`` (starts with ``estimate``)."""
    src = fit(DEFAULT_FORM, "top1", estimate_edition(edition)).source
    if is_quantized(edition):
        src += (f", less the published float-to-quant drop of {edition} (bilinear in log alpha, "
                f"log resolution between published configs)")
    return src
