"""The explorer's selection: what is chosen, validated, and how it reads in the URL.

One :class:`ViewState` is the whole view state (config knobs, chart axis, device, budgets). It
travels in the shared ``dcc.Store`` and in the query string, so a link reopens the same view.
Every value that reaches a callback from a browser is untrusted: :func:`parse` validates strictly
(raising CostModelError, which the app turns into a 400), :func:`coerce` leniently (bad fields fall
back to their defaults and come back as one-line messages for the page).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from urllib.parse import parse_qs, urlencode

from costmodel.core.arch import (
    BUILTIN_NAMES,
    ROUNDING_RULES,
    VARIANTS,
    check_alpha,
    check_choice,
    check_resolution,
)
from costmodel.core.conventions import CONVENTIONS
from costmodel.errors import CostModelError
from costmodel.search.pareto import PRECISIONS

# The sliders' ranges (issue 6: alpha continuous 0.1..1.5, resolution 96..320). The engine accepts
# alpha down to 1/32 (below it conv1 gets 0 channels); the explorer keeps to the slider range.
ALPHA_MIN, ALPHA_MAX, ALPHA_STEP = 0.1, 1.5, 0.01
RES_MIN, RES_MAX, RES_STEP = 96, 320, 1
# MobileNet-V1's slider marks; another network's follow it (network_ranges)
ALPHA_MARKS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
RES_MARKS = (96, 128, 160, 192, 224, 256, 288, 320)
# Budgets: positive finite numbers; the cap only rejects absurd input (1e12 ms, M mult-adds ...).
BUDGET_MAX = 1e9
BUDGET_FIELDS = ("max_latency_ms", "max_mult_adds_m", "max_params_m")
BUDGET_LABELS = {"max_latency_ms": "max latency (ms)", "max_mult_adds_m": "max mult-adds (M)",
                 "max_params_m": "max params (M)"}
DEFAULT_X = "mult_adds"
_MAX_TEXT = 200  # longest string accepted for a choice field (a device id, an axis key)


@dataclass(frozen=True)
class ViewState:
    alpha: float = 1.0
    resolution: int = 224
    variant: str = "mobilenet_v1"
    rounding: str = "int"
    convention: str = "paper"
    precision: str = "fp32"  # model precision: size, accuracy edition (issue 13)
    x: str = DEFAULT_X
    device: str | None = None
    max_latency_ms: float | None = None
    max_mult_adds_m: float | None = None
    max_params_m: float | None = None
    model: str = "mobilenet_v1"  # the network (a built-in: costmodel models)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def knobs(self) -> dict[str, Any]:
        """Keyword arguments for costmodel.core.engine.layer_table and friends."""
        return {"variant": self.variant, "rounding": self.rounding, "convention": self.convention,
                "spec": self.model}

    @property
    def budgets(self) -> dict[str, float]:
        return {k: v for k in BUDGET_FIELDS if (v := getattr(self, k)) is not None}


FIELD_NAMES = tuple(f.name for f in fields(ViewState))
DEFAULT = ViewState()
BASE_MODEL = DEFAULT.model


def defaults_for(model: str) -> ViewState:
    """The default view of a network: its own base resolution and rounding rule (read from its
    description only when it is not MobileNet-V1, so the first page load reads none)."""
    if model == BASE_MODEL:
        return DEFAULT
    from costmodel.core.arch import get_description

    desc = get_description(model)
    return replace(DEFAULT, model=model, resolution=desc.base_resolution, rounding=desc.rounding)


@dataclass(frozen=True)
class Ranges:
    """A network's slider ranges and marks (:func:`ranges_for`)."""

    alpha: tuple[float, float]
    resolution: tuple[int, int]
    alpha_marks: tuple[float, ...]
    resolution_marks: tuple[int, ...]


V1_RANGES = Ranges((ALPHA_MIN, ALPHA_MAX), (RES_MIN, RES_MAX), ALPHA_MARKS, RES_MARKS)


def ranges_for(model: str, rounding: str | None = None) -> Ranges:
    """The sliders of a built-in network under a rounding rule (None: its own):
    MobileNet-V1's without reading anything; another's from its description
    (:func:`network_ranges`), computed once per (network, rounding)."""
    if model == BASE_MODEL:
        return V1_RANGES
    return _ranges_cached(model, rounding)


@functools.lru_cache(maxsize=64)
def _ranges_cached(model: str, rounding: str | None) -> Ranges:
    from costmodel.core.arch import get_description

    return network_ranges(get_description(model), rounding)


def network_ranges(desc: Any, rounding: str | None = None) -> Ranges:
    """The sliders of any network (a description, or what get_description takes):

    * resolution: MobileNet-V1's 96..320 scaled by ``base_resolution / 224`` (Inception V3,
      base 299: 128..427), no lower than the smallest resolution the network resolves at
      (windowed pools and unpadded convs need a least size); marks: V1's scaled the same way
      (so the base resolution is one) and the base resolution itself;
    * alpha: the alphas of 0.1..1.5 (step 0.01) the network allows under ``rounding`` (a grouped
      conv refuses an alpha whose channel count its groups do not divide): from the least to the
      greatest of them; marks: V1's marks it allows.
    """
    import numpy as np

    from costmodel.core.arch import get_description
    from costmodel.core.sweep import resolution_span, resolves, scaled_resolutions

    desc = get_description(desc)
    rounding = rounding or desc.rounding
    base = desc.base_resolution

    def ok(alphas: Any, r: int) -> bool:
        return resolves(desc, alphas, r, rounding)

    _, rhi, found = resolution_span(desc, RES_MIN, RES_MAX, rounding)
    lo = rhi if found is None else found
    grid = np.round(np.arange(round(ALPHA_MIN / ALPHA_STEP), round(ALPHA_MAX / ALPHA_STEP) + 1)
                    * ALPHA_STEP, 6)
    good = grid if ok(grid, lo) else np.asarray([a for a in grid if ok([a], lo)])
    if not good.size:
        raise CostModelError(f"network {desc.name!r} allows no alpha in {ALPHA_MIN}..{ALPHA_MAX} "
                             f"under rounding {rounding!r}; allowed: another rounding")
    allowed = {float(a) for a in good}
    marks = sorted({*scaled_resolutions(RES_MARKS, base), base})
    return Ranges((float(good.min()), float(good.max())), (lo, rhi),
                  tuple(a for a in ALPHA_MARKS if a in allowed),
                  tuple(m for m in marks if lo <= m <= rhi))


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        shown = repr(value) if not isinstance(value, str) else repr(value[:40] + "...")
        raise CostModelError(f"{name} {shown} is not a valid choice; allowed: a short string")
    return value


def _percent_hint(v: float, hi: float) -> str:
    """' (did you mean 0.75?)' when a value looks like a percentage of an in-range one."""
    return f" (did you mean {v / 100:g}?)" if hi < v <= 100 * hi else ""


def check_slider_alpha(value: Any, lo: float = ALPHA_MIN, hi: float = ALPHA_MAX) -> float:
    """The explorer's alpha: a number in ``lo..hi`` (ALPHA_MIN..ALPHA_MAX, or the network's,
    :func:`ranges_for`). Out of range is refused with a message, never clamped (75 is not 1.5)."""
    allowed = f"allowed: {lo:g} to {hi:g}"
    if isinstance(value, bool):
        raise CostModelError(f"alpha {value!r} is not a number; {allowed}")
    if isinstance(value, str) and len(value) > 40:
        value = value[:40] + "..."
    try:
        v = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise CostModelError(f"alpha {value!r} is not a number; {allowed}") from None
    if not math.isfinite(v) or not lo - 1e-9 <= v <= hi + 1e-9:
        hint = _percent_hint(v, hi) if math.isfinite(v) else ""
        raise CostModelError(f"alpha {value!r} is out of range{hint}; {allowed}")
    return round(check_alpha(v), 6)


def check_slider_resolution(value: Any, lo: int = RES_MIN, hi: int = RES_MAX) -> int:
    """The explorer's resolution: an integer in ``lo..hi`` (RES_MIN..RES_MAX, or the network's,
    :func:`ranges_for`), refused (not rounded or clamped) otherwise: 224.5 is not 225, 500 is
    not 320."""
    if isinstance(value, str) and len(value) > 40:
        value = value[:40] + "..."
    r = check_resolution(value.strip() if isinstance(value, str) else value)
    if not lo <= r <= hi:
        raise CostModelError(f"resolution {value!r} is out of range; allowed: {lo} to {hi}")
    return r


def check_budget(name: str, value: Any) -> float | None:
    """A budget: empty (None or "") means no budget; otherwise a finite number > 0."""
    label = BUDGET_LABELS.get(name, name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CostModelError(f"{label} {value!r} is not a number; allowed: a number > 0, or empty")
    try:
        v = float(value)
    except ValueError:
        text = str(value)
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise CostModelError(f"{label} {shown!r} is not a number; allowed: a number > 0, "
                             f"or empty") from None
    if math.isfinite(v) and v <= 0:
        raise CostModelError(f"{label} {value!r} is out of range: a budget is a limit above 0; "
                             f"allowed: a number > 0, or empty for no limit")
    if not math.isfinite(v) or v > BUDGET_MAX:
        raise CostModelError(f"{label} {value!r} is out of range; allowed: a number > 0 and "
                             f"<= {BUDGET_MAX:g}, or empty")
    return v


def _checkers(x_options: Iterable[str] | None, devices: Iterable[str] | None,
              ranges: Ranges = V1_RANGES) -> dict[str, Callable[[Any], Any]]:
    xs = list(x_options) if x_options is not None else None
    devs = list(devices) if devices is not None else None

    def check_x(v: Any) -> str:
        v = _text("x axis", v)
        return check_choice("x axis", v, xs) if xs is not None else v

    def check_device(v: Any) -> str | None:
        if v is None or v == "":
            return None
        v = _text("device", v)
        return check_choice("device", v, devs) if devs is not None else v

    def choice(name: str, allowed: list[str]) -> Callable[[Any], str]:
        return lambda v: check_choice(name, _text(name, v), allowed)

    return {
        "alpha": lambda v: check_slider_alpha(v, *ranges.alpha),
        "resolution": lambda v: check_slider_resolution(v, *ranges.resolution),
        "variant": choice("variant", list(VARIANTS)),
        "rounding": choice("rounding", list(ROUNDING_RULES)),
        "convention": choice("convention", list(CONVENTIONS)),
        "model": choice("model", list(BUILTIN_NAMES)),
        "precision": choice("precision", list(PRECISIONS)),
        "x": check_x,
        "device": check_device,
        **{b: _budget_checker(b) for b in BUDGET_FIELDS},
    }


def _budget_checker(name: str) -> Callable[[Any], float | None]:
    return lambda v: check_budget(name, v)


def parse(raw: Any, *, x_options: Iterable[str] | None = None,
          devices: Iterable[str] | None = None) -> ViewState:
    """Strict: a mapping with any subset of the fields; a bad or unknown field raises."""
    if not isinstance(raw, Mapping):
        raise CostModelError(f"selection {type(raw).__name__} is not a mapping; allowed: an object "
                             f"with fields {', '.join(FIELD_NAMES)}")
    unknown = [str(k)[:40] for k in raw if k not in FIELD_NAMES]
    if unknown:
        raise CostModelError(f"selection field {unknown[0]!r} is unknown; allowed: "
                             f"{', '.join(FIELD_NAMES)}")
    checks = _checkers(x_options, devices)
    good = {k: checks[k](v) for k, v in raw.items() if k not in ("alpha", "resolution")}
    sel = replace(DEFAULT, **good)  # then alpha and resolution within that network's ranges
    checks = _checkers(x_options, devices, ranges_for(sel.model, sel.rounding))
    return replace(sel, **{k: checks[k](v) for k, v in raw.items() if k in ("alpha", "resolution")})


def coerce(raw: Mapping[str, Any], *, base: ViewState = DEFAULT,
           x_options: Iterable[str] | None = None, devices: Iterable[str] | None = None
           ) -> tuple[ViewState, list[str]]:
    """Lenient: each bad field keeps ``base``'s value and yields a one-line message."""
    checks = _checkers(x_options, devices)
    good: dict[str, Any] = {}
    errors: list[str] = []
    for k, v in raw.items():
        if k not in checks:
            continue
        try:
            good[k] = checks[k](v)
        except CostModelError as exc:
            errors.append(str(exc))
    sel = replace(base, **good)
    if sel.model == BASE_MODEL:
        return sel, errors
    # another network: alpha and resolution within its own ranges (checked again, in field order)
    checks = _checkers(x_options, devices, ranges_for(sel.model, sel.rounding))
    good, errors = {}, []
    for k, v in raw.items():
        if k not in checks:
            continue
        try:
            good[k] = checks[k](v)
        except CostModelError as exc:
            errors.append(str(exc))
    return replace(base, **good), errors


def to_query(sel: ViewState) -> str:
    """``?alpha=0.75&resolution=160...``: the knobs always, the rest when not the network's
    default (:func:`defaults_for`) or empty."""
    q: dict[str, str] = {"alpha": f"{sel.alpha:g}", "resolution": str(sel.resolution)}
    d = defaults_for(sel.model)
    for k in FIELD_NAMES[2:]:
        v = getattr(sel, k)
        if v is not None and (v != getattr(d, k) or k == "model" and v != BASE_MODEL):
            q[k] = f"{v:g}" if isinstance(v, float) else str(v)
    return "?" + urlencode(q)


def from_query(search: str | None) -> dict[str, str]:
    """The query string's fields (last value wins; unknown keys dropped; nothing validated)."""
    if not isinstance(search, str) or not search:
        return {}
    qs = parse_qs(search.lstrip("?")[:4000], keep_blank_values=True)
    return {k: v[-1] for k, v in qs.items() if k in FIELD_NAMES}
