"""Stored per-layer-type time profiles, typed: the one place a profile file's type names are read.

:func:`costmodel.io.latency_data.load_profiles` reads ``<device-id>.profile.csv`` as text (io sits
below core, so it cannot know layer types); :func:`load_profiles` here gives every row's ``type``
back as a :class:`~costmodel.core.kinds.LayerType` (or :data:`~costmodel.core.kinds.OTHER`, the
time outside every layer), the values :func:`costmodel.latency.bench.profile_layers` returns, so
readers downstream (notebook 03, :func:`costmodel.report.plots.time_share_bar`) key by types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from costmodel.core.kinds import OTHER, LayerType, parse_type_name


def profile_type(name: str) -> LayerType | str:
    """A stored profile's type name read back: a LayerType, or OTHER as is."""
    return OTHER if name == OTHER else parse_type_name(name)


def load_profiles(device_id: str | None = None,
                  data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The stored profiles (see :func:`costmodel.io.latency_data.load_profiles`), each row's
    ``type`` a LayerType (or OTHER). An unknown type name raises CostModelError naming it."""
    from costmodel.io import latency_data

    out = latency_data.load_profiles(device_id, data_dir)
    for p in out:
        p["rows"] = [{**r, "type": profile_type(str(r["type"]))} for r in p["rows"]]
    return out
