"""Candidate configs of any network other than MobileNet-V1: what :func:`costmodel.search.pareto.
points` returns for ``spec=NAME`` (a built-in) or ``spec=FILE`` (a user's description).

Each network keeps its own facts: its base resolution (a grid's resolutions are MobileNet-V1's
128..224 scaled by ``base_resolution / 224``, e.g. 171..299 for Inception V3), its own rounding
rule (the description's ``rounding`` unless one is given) and its own accuracy: the published
top-1 of :func:`costmodel.search.accuracy.network_accuracy` (MobileNetV2's 22 TF-slim checkpoints,
MobileNetV3's, else the alpha-1 figure the description cites). No network but MobileNet-V1 has
an accuracy estimate, so:

* an accuracy objective (top1/top5) considers only the configs with a published figure (a note
  says so); a network that cites none refuses it in one line naming what it has instead;
* other objectives consider ``configs``, the ``grid`` (alphas 0.25..1.0 step 0.025 x the scaled
  resolutions step 4), or by default alphas 0.25, 0.5, 0.75, 1.0 x the scaled 128, 160, 192,
  224 plus the published configs; top-1 is filled where published and empty elsewhere.

Latency is the network's own (issue #11): ``latency:<device>`` reads the rows measured for this
network (``costmodel latency calibrate --model NAME``, of the network's rounding) and the
candidates are those configs (the published ones among them with an accuracy objective);
``latency_pred:<device>`` predicts from the model fitted on them. A device with no rows of the
network refuses in one line naming the command that measures them, never answers with
MobileNet-V1's figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from costmodel.core.sweep import REFERENCE_BASE, scaled_resolutions  # noqa: F401 (re-exported)
from costmodel.errors import CostModelError

if TYPE_CHECKING:
    import pandas as pd

    from costmodel.search.pareto import Objective

DEFAULT_ALPHAS = (0.25, 0.5, 0.75, 1.0)
DEFAULT_RESOLUTIONS = (128, 160, 192, 224)  # at base 224; scaled to the network's base


def network_objectives(spec: Any) -> list[str]:
    """The objective names a network has: costs, plus top1 (and top5) where published."""
    from costmodel.search.accuracy import network_accuracy
    from costmodel.search.pareto import COST_COLUMNS

    acc = network_accuracy(spec)
    have = ["top1"] if acc else []
    have += ["top5"] if any(r["top5"] is not None for r in acc.values()) else []
    return [*have, *COST_COLUMNS]


def _refuse(objs: Sequence[Objective], name: str, spec: Any, accuracy: str,
            precision: str | None) -> None:
    """One-line refusals: accuracy the network has none of, latency, another network's edition."""
    from costmodel.search.pareto import AUTO

    have = network_objectives(spec)
    allowed = f"allowed for {name}: {', '.join(have)}"
    for o in objs:
        if o.kind == "accuracy" and o.name not in have:
            raise CostModelError(f"objective {o.name!r}: network {name!r} has no published "
                                 f"{o.name} accuracy (none cited, and none is estimated); "
                                 f"{allowed}")
    wants = any(o.kind == "accuracy" for o in objs)
    if accuracy != AUTO:
        raise CostModelError(f"accuracy edition {accuracy!r} is mobilenet_v1's; allowed for "
                             f"{name}: auto (its own published top-1)")
    if wants and precision == "int8":
        raise CostModelError(f"precision 'int8': network {name!r} has no published int8 "
                             f"accuracy; allowed with top1: fp32, bf16")


def _candidates(spec: Any, base: int, wants_accuracy: bool, grid: bool,
                configs: Iterable[tuple[Any, Any]] | None, alphas: Iterable[Any] | None,
                resolutions: Iterable[Any] | None, notes: list[str], name: str
                ) -> list[tuple[float, int]]:
    from costmodel.core.arch import check_alpha, check_resolution
    from costmodel.search.accuracy import network_accuracy
    from costmodel.search.pareto import DEFAULT_GRID_ALPHAS, DEFAULT_GRID_RESOLUTIONS, _check_grid

    published = sorted(network_accuracy(spec))
    if configs is not None:
        cand = [(check_alpha(a), check_resolution(r)) for a, r in configs]
        if not cand:
            raise CostModelError("empty config list; allowed: at least one (alpha, resolution)")
    elif wants_accuracy:
        cand = published
        notes.append(f"{name}: top-1 is published at {len(published)} config"
                     f"{'s' if len(published) != 1 else ''} only (no estimate for this network); "
                     f"{'--grid is not used; ' if grid else ''}those are the candidates")
    elif grid:
        ga = _check_grid(alphas, DEFAULT_GRID_ALPHAS, check_alpha, "alpha")
        default_r = scaled_resolutions(DEFAULT_GRID_RESOLUTIONS, base)
        gr = _check_grid(resolutions, default_r, check_resolution, "resolution")
        cand = [(a, r) for a in ga for r in gr]
    else:
        cand = [(a, r) for a in DEFAULT_ALPHAS
                for r in scaled_resolutions(DEFAULT_RESOLUTIONS, base)] + published
    return sorted(dict.fromkeys((round(float(a), 6), int(r)) for a, r in cand))


def _measured_candidates(cand: list[tuple[float, int]], lat_tables: dict[str, pd.DataFrame],
                         wants_accuracy: bool, latency_objs: Sequence[Objective],
                         notes: list[str], name: str) -> list[tuple[float, int]]:
    """The configs every latency objective's device measured for this network; with an
    accuracy objective only the published ones among them."""
    measured: set[tuple[float, int]] | None = None
    for t in lat_tables.values():
        keys = {(round(float(a), 6), int(r)) for a, r in zip(t["alpha"], t["resolution"],
                                                             strict=True)}
        measured = keys if measured is None else measured & keys
    assert measured is not None
    devices = ", ".join(o.device or "" for o in latency_objs)
    if not wants_accuracy:
        notes.append(f"{name}: the {len(measured)} configs measured on {devices}")
        return sorted(measured)
    out = [c for c in cand if c in measured]
    if len(out) < len(cand):
        notes.append(f"{len(cand) - len(out)} published configs of {name} have no latency on "
                     f"{devices}: left out")
    return out


def network_points(objs: Sequence[Objective], *, spec: Any, grid: bool = False,
                   configs: Iterable[tuple[Any, Any]] | None = None,
                   alphas: Iterable[Any] | None = None, resolutions: Iterable[Any] | None = None,
                   accuracy: str = "auto", variant: str = "mobilenet_v1",
                   rounding: str | None = None, convention: str = "paper", classes: int = 1000,
                   dropna: bool = True, precision: str | None = None) -> pd.DataFrame:
    """:func:`costmodel.search.pareto.points` for a network other than MobileNet-V1 (see the
    module docstring). ``frame.attrs["edition"]`` is ``published``."""
    import pandas as pd

    from costmodel.core.arch import ROUNDING_RULES, check_choice, get_description
    from costmodel.search.accuracy import network_accuracy
    from costmodel.search.pareto import (
        COST_COLUMNS,
        _costs,
        _label,
        _latency_columns,
        load_latency,
    )

    desc = get_description(spec)
    name = desc.name
    _refuse(objs, name, spec, accuracy, precision)
    rounding = check_choice("rounding", rounding or desc.rounding, list(ROUNDING_RULES))
    wants_accuracy = any(o.kind == "accuracy" for o in objs)
    notes: list[str] = []
    cand = _candidates(spec, desc.base_resolution, wants_accuracy, grid, configs, alphas,
                       resolutions, notes, name)
    latency_objs = [o for o in objs if o.kind == "latency"]
    lat_tables = {o.name: load_latency(o.device or "", variant=variant, network=str(spec),
                                       rounding=rounding) for o in latency_objs}
    if latency_objs and configs is None:  # a measured latency exists only where measured
        cand = _measured_candidates(cand, lat_tables, wants_accuracy, latency_objs, notes, name)
    a = np.array([c[0] for c in cand], dtype=np.float64)
    r = np.array([c[1] for c in cand], dtype=np.int64)
    ua, ia = np.unique(a, return_inverse=True)
    ur, ir = np.unique(r, return_inverse=True)
    costs = _costs(tuple(float(x) for x in ua), tuple(int(x) for x in ur), variant, rounding,
                   convention, int(classes), str(spec))
    acc = network_accuracy(spec)
    pub = [acc.get(c) for c in cand]
    cols: dict[str, Any] = {
        "label": [_label(x, y) for x, y in cand], "alpha": a, "resolution": r,
        "top1": np.array([p["top1"] if p else np.nan for p in pub], dtype=np.float64),
        "top5": np.array([p["top5"] if p and p["top5"] is not None else np.nan for p in pub],
                         dtype=np.float64),
        "top1_estimated": np.zeros(len(cand), dtype=bool),
        "top1_source": [p["source"] if p else "" for p in pub],
        "range": ["published" if p else "" for p in pub]}
    for k in COST_COLUMNS:
        cols[k] = costs[k][ia, ir]
    cols.update(_latency_columns(cand, objs, lat_tables, variant, rounding, notes, str(spec)))
    frame = pd.DataFrame(cols)
    lat = [o.name for o in objs if o.kind in ("latency", "latency_pred")]
    if dropna and lat and frame[lat].isna().any(axis=1).any():
        missing = frame[lat].isna().any(axis=1)
        notes.append(f"{int(missing.sum())} configs without {', '.join(lat)} left out")
        frame = frame[~missing].reset_index(drop=True)
    need = [o.name for o in objs if o.kind == "accuracy"]
    if dropna and need and frame[need].isna().any(axis=1).any():
        missing = frame[need].isna().any(axis=1)
        notes.append(f"{int(missing.sum())} configs without published {', '.join(need)} of "
                     f"{name} left out")
        frame = frame[~missing].reset_index(drop=True)
    if not len(frame):
        raise CostModelError(f"no configs left ({'; '.join(notes)}); allowed: configs where "
                             f"{name} publishes {', '.join(need)}: "
                             f"{', '.join(_label(*c) for c in sorted(acc)) or 'none'}")
    frame.attrs = {"objectives": [o.to_dict() for o in objs], "edition": "published",
                   "notes": notes, "far_left_out": {},
                   "config": {"variant": variant, "rounding": rounding, "convention": convention,
                              "classes": int(classes), "precision": precision, "spec": name,
                              "network": str(spec)}}
    return frame
