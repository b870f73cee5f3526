"""The measured statistics a latency model fits and predicts: their names, labels and default.

Numpy-free on purpose: the CLI's argument parsers name them without importing the model
(``costmodel table`` must stay quick), and :mod:`costmodel.latency.kernel` takes them from here.
"""

from __future__ import annotations

STATS = ("median", "min", "cpu")  # measured figure fitted: median wall, fastest block, CPU time
STAT_LABELS = {"median": "median wall", "min": "fastest-block wall", "cpu": "process CPU"}
DEFAULT_STAT = "median"
