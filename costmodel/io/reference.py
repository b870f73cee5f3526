"""Access to the published figures in data/reference/ (see data/reference/SOURCES.md).

Pure stdlib (csv), so commands that compare with published figures stay quick to start.
"""

from __future__ import annotations

import csv
from functools import cache

from costmodel.io.paths import REFERENCE_DIR

# Where each file's figures come from, for display beside computed values.
SOURCES = {
    "paper_table1_body.csv": "MobileNets paper (arXiv 1704.04861) Table 1",
    "paper_table2_breakdown.csv": "MobileNets paper Table 2",
    "paper_table3_layer.csv": "MobileNets paper Table 3",
    "paper_tables.csv": "MobileNets paper Tables 4-9",
    "tfslim_mobilenet_v1.csv": "TF-slim mobilenet_v1.md checkpoint table",
    "tflite_mobilenet_v1_latency.csv": "TFLite hosted models table",
    "googlenet_table1.csv": "GoogLeNet paper (Szegedy et al., arXiv 1409.4842) Table 1",
}


@cache
def read_reference(name: str) -> tuple[dict[str, str], ...]:
    """Rows of one reference CSV as dicts of strings (printed figures kept as printed)."""
    path = REFERENCE_DIR / name
    with path.open(newline="", encoding="utf-8") as fh:
        return tuple(dict(r) for r in csv.DictReader(fh))
