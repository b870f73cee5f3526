"""Configuration grids: the one home of the paper's 16 configurations.

The paper's Table 7 grid (width multiplier) x Table 8 grid (resolution): verify's ``--grid``, the
bench's paper configs and the latency model's paper split all read these.
"""

from __future__ import annotations

PAPER_ALPHAS: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25)
PAPER_RESOLUTIONS: tuple[int, ...] = (224, 192, 160, 128)
# The 16 configurations, alpha-major: (1.0, 224), (1.0, 192), ..., (0.25, 128).
PAPER_CONFIGS: tuple[tuple[float, int], ...] = tuple(
    (a, r) for a in PAPER_ALPHAS for r in PAPER_RESOLUTIONS)
