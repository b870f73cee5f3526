"""Where costmodel's files live: the one home of every data path.

- ``SHIPPED_DATA_DIR``: the data shipped with the project (``data/`` at the repository root):
  published reference figures, accuracy editions, and the reference latency device. Read-only.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_DATA_DIR = PROJECT_ROOT / "data"
REFERENCE_DIR = SHIPPED_DATA_DIR / "reference"
ACCURACY_DIR = SHIPPED_DATA_DIR / "accuracy"
SHIPPED_LATENCY_DIR = SHIPPED_DATA_DIR / "latency"
