"""Resumable stages for training pipelines: a killed run reruns only what is missing.

Two granularities:

- **Stage level** (``StageLog``): ``stages.json`` in a directory lists the stages that finished,
  with a small info dict each. A stage is marked done only after its artefact is written
  (atomically), so "marked" implies "artefact complete".
- **Item level** (``ItemStore``): a JSONL artefact that grows as items finish. Items are processed
  in fixed chunks of a fixed order, and each chunk's records are appended with ONE ``write``
  call on an ``O_APPEND`` descriptor, which a kill cannot split: after a kill a chunk is either
  all there or absent. A rerun skips complete chunks and regenerates the rest with the same
  composition (and so, with seeded or greedy decoding, the same outputs), so nothing is lost or
  duplicated and the final file equals an uninterrupted run's.

Usage::

    log = StageLog(iter_dir)
    if not log.done("train"):
        ...; log.mark("train", steps=12)

    store = ItemStore(iter_dir / "initial.jsonl")
    for chunk in store.pending_chunks(items, size=8, key=lambda item: item["id"]):
        store.add(process(chunk))        # records carry "id" (the store's key field)

**Several processes** (``accelerate launch``; ``RANK`` is set): rank 0 alone generates and writes.
On any other rank ``StageLog.done`` waits until rank 0 has marked the stage (polling
``stages.json``), so the ``if not log.done(...)`` branch that generates and writes never runs
there and the rank reads rank 0's artefacts; every writer here is a no-op on those ranks. The
wait gives up after ``SLBENCH_STAGE_WAIT_S`` seconds (default a day) with an error naming the
file and the stage; a crashed rank 0 normally ends the others sooner (torchrun stops the whole
group when one process fails). Several machines need the run directory on a shared file system.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from slbench.harness import runlog
from slbench.training.launcher import is_main_process, process_rank

log = logging.getLogger(__name__)

T = TypeVar("T")
STAGES_FILE = "stages.json"
WAIT_ENV = "SLBENCH_STAGE_WAIT_S"
DEFAULT_WAIT_S = 24 * 3600.0
POLL_S = 1.0


class StageWaitTimeout(TimeoutError):
    """A non-main rank waited too long for rank 0 to finish a stage."""


def wait_limit_s() -> float:
    """How long a non-main rank waits for one of rank 0's stages (``SLBENCH_STAGE_WAIT_S``)."""
    return float(os.environ.get(WAIT_ENV, DEFAULT_WAIT_S))


def wait_until(ready: Callable[[], bool], what: str) -> None:
    """Poll ``ready`` until it holds; raise ``StageWaitTimeout`` naming ``what`` after the limit."""
    limit = wait_limit_s()
    started = time.monotonic()
    while not ready():
        waited = time.monotonic() - started
        if waited >= limit:
            raise StageWaitTimeout(
                f"rank {process_rank()} waited {waited:.0f} s for rank 0 to write {what}; "
                f"is rank 0 still running? (raise the limit with {WAIT_ENV}=SECONDS)"
            )
        time.sleep(min(POLL_S, max(limit - waited, 0.01)))


class StageLog:
    """The completed stages of one directory, persisted in ``stages.json`` (atomic writes)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / STAGES_FILE
        self._stages: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        return runlog.read_json(self.path) if self.path.is_file() else {}

    def done(self, name: str) -> bool:
        """Whether ``name`` finished. On a non-main rank: wait until rank 0 finishes it, then True."""
        if name in self._stages or is_main_process():
            return name in self._stages

        def marked() -> bool:
            self._stages = self._read()  # rank 0 replaces the file atomically
            return name in self._stages

        log.info("rank %d: waiting for rank 0 to finish stage %r (%s)", process_rank(), name, self.path)
        wait_until(marked, f"stage {name!r} in {self.path}")
        return True

    def info(self, name: str) -> dict[str, Any]:
        """What ``mark`` recorded for a completed stage ({} when not done)."""
        return dict(self._stages.get(name, {}))

    def mark(self, name: str, **info: Any) -> None:
        """Record ``name`` as complete. Call only after the stage's artefact is fully written."""
        self._stages[name] = {"completed": runlog.now_iso(), **info}
        if is_main_process():
            runlog.write_json(self.path, self._stages)

    def names(self) -> list[str]:
        return list(self._stages)


def json_artefact(path: Path, build: Callable[[], T], *, load: Callable[[Any], T] | None = None) -> T:
    """Return the artefact at ``path`` if it exists, else ``build()`` it and write it atomically.

    A non-main rank never builds: it waits for rank 0's file and reads it.
    """
    if not is_main_process():
        wait_until(path.is_file, str(path))
    if path.is_file():
        data = runlog.read_json(path)
        return load(data) if load is not None else data
    value = build()
    runlog.write_json(path, value)
    return value


def write_jsonl_atomic(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Write a whole JSONL file atomically (temp file + rename); rank 0 only."""
    if not is_main_process():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_records(path: Path, records: Sequence[dict[str, Any]]) -> None:
    """Append ``records`` with a single ``write`` call: after a kill they are all there or none.

    Rank 0 only: the other ranks read what it appended.
    """
    if not records or not is_main_process():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        if written != len(data):  # only on a full disk; never leave a torn chunk behind silently
            raise OSError(f"{path}: short write ({written} of {len(data)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)


class ItemStore:
    """A JSONL artefact of per-item records keyed by ``key``, appended chunk by chunk.

    Rank 0 owns the file. On other ranks the store is read-only and re-reads the file whenever
    it changed, so a store opened before rank 0 finished the stage still returns all its records.
    """

    def __init__(self, path: Path, key: str = "id") -> None:
        self.path = path
        self.key = key
        self._records: dict[str, dict[str, Any]] = {}
        self._stamp: tuple[int, int] | None = None
        if is_main_process():
            # Only the writer may cut a torn final line: elsewhere rank 0 may be mid-append.
            runlog.repair_jsonl(path)
            self._records = self._load()
        else:
            self._refresh()

    def _load(self) -> dict[str, dict[str, Any]]:
        records: dict[str, dict[str, Any]] = {}
        for number, record in enumerate(runlog.read_jsonl(self.path), start=1):
            if self.key not in record:
                raise ValueError(f"{self.path}:{number}: record has no {self.key!r} field")
            item_id = str(record[self.key])
            if item_id in records:
                raise ValueError(f"{self.path}:{number}: duplicate {self.key} {item_id!r}")
            records[item_id] = record
        return records

    def _refresh(self) -> None:
        """Non-main ranks: re-read rank 0's file when its size or time changed."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return
        stamp = (stat.st_size, stat.st_mtime_ns)
        if stamp == self._stamp:
            return
        try:
            self._records = self._load()
        except (UnicodeDecodeError, ValueError):
            return  # caught mid-append (a torn multi-byte character): read it again next time
        self._stamp = stamp

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        if not is_main_process():
            self._refresh()
        return self._records

    def __contains__(self, item_id: object) -> bool:
        return str(item_id) in self.records

    def __len__(self) -> int:
        return len(self.records)

    def add(self, records: Sequence[dict[str, Any]]) -> None:
        """Append one chunk's records (one write) and remember them."""
        if not is_main_process():
            # A non-main rank generating means a stage was not gated by StageLog.done: fail loudly
            # rather than let this rank's memory drift from rank 0's file.
            raise RuntimeError(
                f"{self.path}: rank {process_rank()} tried to store records; only rank 0 generates "
                "and writes (gate the stage with StageLog.done)"
            )
        for record in records:
            if str(record[self.key]) in self._records:
                raise ValueError(f"{self.path}: {self.key} {record[self.key]!r} is already stored")
        append_records(self.path, records)
        for record in records:
            self._records[str(record[self.key])] = record

    def _drop(self, ids: set[str]) -> None:
        """Remove records of a partially stored chunk (only possible after a crash of the machine)."""
        for item_id in ids:
            self._records.pop(item_id, None)
        write_jsonl_atomic(self.path, self._records.values())

    def pending_chunks(self, items: Sequence[T], size: int, key: Callable[[T], str]) -> Iterator[list[T]]:
        """Fixed chunks of ``items`` (in order) that are not completely stored yet."""
        if size < 1:
            raise ValueError(f"chunk size must be >= 1, got {size}")
        records = self.records
        for start in range(0, len(items), size):
            chunk = list(items[start : start + size])
            stored = {key(item) for item in chunk if key(item) in records}
            if len(stored) == len(chunk):
                continue
            if stored:
                self._drop(stored)
            yield chunk

    def ordered(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        """The stored records of ``ids``, in that order (missing ids are skipped)."""
        records = self.records
        return [records[i] for i in ids if i in records]
