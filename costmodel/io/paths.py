"""Where costmodel's files live: the one home of every data path.

- ``SHIPPED_DATA_DIR``: the data shipped with the project (``data/`` at the repository root):
  published reference figures, accuracy editions, and the reference latency device. Read-only:
  nothing costmodel does writes there.
- The *user data folder*, :func:`user_data_dir`: where a user's own measurements go (``costmodel
  bench`` writes ``<user data folder>/latency/<device-id>.csv``). Chosen, first match wins, by
  ``--data-dir``, then ``$COSTMODEL_DATA_DIR``, then ``$XDG_DATA_HOME/costmodel``, then
  ``~/.local/share/costmodel``. Never inside the package, so a pip-installed costmodel never
  writes into site-packages. Readers merge it with the shipped latency data.
"""

from __future__ import annotations

import os
from pathlib import Path

from costmodel.errors import CostModelError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Built-in network descriptions, one YAML file each, shipped inside the package (package-data).
MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
SHIPPED_DATA_DIR = PROJECT_ROOT / "data"
REFERENCE_DIR = SHIPPED_DATA_DIR / "reference"
ACCURACY_DIR = SHIPPED_DATA_DIR / "accuracy"
SHIPPED_LATENCY_DIR = SHIPPED_DATA_DIR / "latency"
# bench rows of whole networks at alpha 0.85..1.0 step 0.0125, resolution 200, rounding int and
# divisible8: the channel-alignment steps notebook 03 and the README show (see its README)
ALIGNMENT_STEPS_CSV = SHIPPED_DATA_DIR / "measured" / "alignment_steps.csv"
# the reference device of the precisions (data/latency/<it>.*, issue #13): torch/onnxruntime/
# openvino x fp32/bf16/int8 side by side; notebook 03's precision figure reads 4 of its configs
PRECISION_DEVICE = "reference-xeon-amx-2c"

DATA_DIR_ENV = "COSTMODEL_DATA_DIR"
LATENCY_SUBDIR = "latency"


def user_data_dir(data_dir: str | Path | None = None) -> Path:
    """The user data folder: ``data_dir`` (``--data-dir``) > ``$COSTMODEL_DATA_DIR`` >
    ``$XDG_DATA_HOME/costmodel`` (an absolute path only, as the XDG spec says) >
    ``~/.local/share/costmodel``. Nothing is created here."""
    if data_dir is not None and str(data_dir).strip():
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "costmodel"
    return Path.home() / ".local" / "share" / "costmodel"


def user_latency_dir(data_dir: str | Path | None = None) -> Path:
    """``<user data folder>/latency``: the user's ``<device-id>.csv`` measurements."""
    return user_data_dir(data_dir) / LATENCY_SUBDIR


def ensure_writable_dir(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed and check that files can be written there;
    CostModelError with a one-line reason otherwise."""
    p = Path(folder)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CostModelError(f"data folder {str(p)!r} cannot be created ({exc.strerror or exc}); "
                             f"allowed: a writable folder (--data-dir or ${DATA_DIR_ENV})") from None
    if not p.is_dir() or not os.access(p, os.W_OK | os.X_OK):
        raise CostModelError(f"data folder {str(p)!r} cannot be written; allowed: a writable "
                             f"folder (--data-dir or ${DATA_DIR_ENV})")
    return p
