"""Writing files safely and telling when they changed: the one home of both.

- :func:`atomic_path`: write to a temp file in the target's folder, then ``os.replace`` it over the
  target, so an error part-way never leaves a partial or corrupted file (and the old file stays).
- :func:`files_stamp`: the data-version key of a set of files (path, mtime in ns, size), used as the
  cache key of anything read from them, so a rewritten file is read again and an unchanged one is not.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


def usual_mode() -> int:
    """The mode an ordinary new file gets here: 0666 minus the umask (mkstemp would give 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_path(path: str | Path, *, mode: int | None = None, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temp path beside ``path``; when the block ends without error, fsync it, give it
    ``mode`` (default: :func:`usual_mode`) and rename it over ``path``. On error the temp file is
    removed and ``path`` is untouched."""
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, usual_mode() if mode is None else mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_text(text, encoding="utf-8")


def files_stamp(paths: Iterable[str | Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, st_mtime_ns, st_size) of each file that exists, in the given order: a data-version
    key. Missing files are left out, so creating one changes the key."""
    out = []
    for p in paths:
        try:
            st = Path(p).stat()
        except OSError:
            continue
        out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(out)
