"""Write spy for the real multi-process tests: every file-system change a rank makes under a directory.

Put this folder first on ``PYTHONPATH`` and set ``SLBENCH_SPY_WATCH`` (the directory to watch) and
``SLBENCH_SPY_LOG`` (a folder for the logs): every process that has ``RANK`` set (torchrun's
workers) then appends one JSON line per change to ``<log>/rank<RANK>.jsonl``. Python's audit hooks
see every ``open`` for writing, rename/replace, removal and directory creation made from Python
(``runlog.write_json``, ``tempfile``, ``shutil`` included), so a rank that writes an artefact cannot
hide it by writing the same bytes rank 0 wrote. Writes made in native code (safetensors) are not
seen; the tests do not need them.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PATH_EVENTS = {"os.remove", "os.rmdir", "shutil.rmtree", "os.truncate", "os.utime"}


def _path(value: Any) -> str | None:
    if isinstance(value, (str, bytes, os.PathLike)):
        return os.path.realpath(os.fsdecode(value))
    return None  # a file descriptor: its opening was recorded already


def _install(watch: str, log_dir: str, rank: str) -> None:
    watch = os.path.realpath(watch)
    os.makedirs(log_dir, exist_ok=True)
    # Opened before the hook exists, and written with os.write, which raises no audit event.
    fd = os.open(os.path.join(log_dir, f"rank{rank}.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def changed(event: str, args: tuple[Any, ...]) -> list[str]:
        if event == "open":
            _, mode, flags = args
            writing = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            return [p for p in [_path(args[0])] if p] if writing else []
        if event == "os.rename":  # os.rename and os.replace
            return [p for p in (_path(args[0]), _path(args[1])) if p]
        if event == "os.mkdir":
            path = _path(args[0])
            return [path] if path and not os.path.isdir(path) else []  # makedirs(exist_ok) changes nothing
        if event in _PATH_EVENTS:
            return [p for p in [_path(args[0])] if p]
        return []

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != "open" and not event.startswith(("os.", "shutil.")):
            return
        for path in changed(event, args):
            if path == watch or path.startswith(watch + os.sep):
                os.write(fd, (json.dumps({"event": event, "path": path}) + "\n").encode())

    sys.addaudithook(hook)


if os.environ.get("RANK") is not None and os.environ.get("SLBENCH_SPY_WATCH"):
    _install(os.environ["SLBENCH_SPY_WATCH"], os.environ["SLBENCH_SPY_LOG"], os.environ["RANK"])
