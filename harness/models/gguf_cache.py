"""A size cap on the GGUF export cache (``<cache>/gguf``), least recently used first out.

Every set of trained weights that the llamacpp backend runs is exported once to an f16 GGUF
(270 MB for the embedded 135M model; 8 cells of ``train-and-eval --preset small`` write five),
so without a cap the cache grows by a gigabyte or more a run. After each new export the oldest
files by modification time go until the cache fits ``SLBENCH_GGUF_CACHE_GB`` (default 4; 0 or
less: no cap). A cache hit touches its file, so a file in use stays newest; a pruned export is
written again when next asked for. The file just written is never removed, even alone over the cap.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_LIMIT_ENV = "SLBENCH_GGUF_CACHE_GB"
DEFAULT_LIMIT_GB = 4.0


def limit_bytes() -> int | None:
    """The cap from ``SLBENCH_GGUF_CACHE_GB`` (None: no cap); a bad value is an error naming it."""
    raw = os.environ.get(CACHE_LIMIT_ENV)
    if raw is None or not raw.strip():
        return int(DEFAULT_LIMIT_GB * 1e9)
    try:
        gigabytes = float(raw)
    except ValueError:
        raise ValueError(f"{CACHE_LIMIT_ENV}={raw!r}: expected a number of gigabytes (0: no cap)") from None
    return None if gigabytes <= 0 else int(gigabytes * 1e9)


def touch(path: Path) -> None:
    """Mark ``path`` as just used (a cache hit), so pruning takes older files first."""
    with contextlib.suppress(OSError):  # read-only cache: pruning order is only a preference
        os.utime(path)


def prune(directory: Path, keep: Path, limit: int | None) -> list[Path]:
    """Delete the oldest ``*.gguf`` in ``directory`` until it holds at most ``limit`` bytes.

    ``keep`` (the file just written) is never deleted. Returns the deleted files, oldest first.
    A file another process removes meanwhile is skipped; a process that still has a deleted file
    open keeps reading it (POSIX).
    """
    if limit is None:
        return []
    entries: list[tuple[int, int, Path]] = []
    for path in directory.glob("*.gguf"):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        entries.append((stat.st_mtime_ns, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    removed: list[Path] = []
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        if path == keep:
            continue
        path.unlink(missing_ok=True)
        total -= size
        removed.append(path)
    if removed:
        log.info(
            "GGUF cache over %.1f GB: removed %d oldest export(s) (%s)",
            limit / 1e9,
            len(removed),
            CACHE_LIMIT_ENV,
        )
    return removed
