"""Stages under several processes: rank 0 writes, the other ranks wait for its files and read them.

RANK is set with monkeypatch as torchrun sets it; "rank 0" is simulated by writing its files
beforehand or from a thread.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from slbench.harness import runlog
from slbench.training.common.stages import (
    STAGES_FILE,
    WAIT_ENV,
    ItemStore,
    StageLog,
    StageWaitTimeout,
    append_records,
    json_artefact,
    write_jsonl_atomic,
)


@pytest.fixture
def rank1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")


def _mark_as_rank0(directory: Path, name: str) -> None:
    stages = runlog.read_json(directory / STAGES_FILE) if (directory / STAGES_FILE).is_file() else {}
    stages[name] = {"completed": "2026-01-01T00:00:00", "n": 3}
    runlog.write_json(directory / STAGES_FILE, stages)


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def test_a_stage_rank0_finished_is_done_at_once_and_marking_writes_nothing(
    rank1: None, tmp_path: Path
) -> None:
    _mark_as_rank0(tmp_path, "initial")
    before = _files(tmp_path)
    log = StageLog(tmp_path)
    started = time.monotonic()
    assert log.done("initial")
    assert time.monotonic() - started < 0.5
    assert log.info("initial")["n"] == 3
    log.mark("train_generator", steps=2)  # what a runner does after training on every rank
    assert _files(tmp_path) == before


def test_a_non_main_rank_waits_for_rank0_to_mark_the_stage(
    rank1: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WAIT_ENV, "30")
    monkeypatch.setattr("slbench.training.common.stages.POLL_S", 0.05)
    log = StageLog(tmp_path)
    writer = threading.Timer(0.4, _mark_as_rank0, args=(tmp_path, "extended"))
    started = time.monotonic()
    writer.start()
    try:
        assert log.done("extended")
    finally:
        writer.join()
    waited = time.monotonic() - started
    assert 0.35 <= waited < 5.0
    assert log.info("extended")["n"] == 3


def test_the_wait_times_out_with_a_clear_error(
    rank1: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WAIT_ENV, "0.3")
    monkeypatch.setattr("slbench.training.common.stages.POLL_S", 0.05)
    with pytest.raises(StageWaitTimeout) as caught:
        StageLog(tmp_path).done("initial")
    message = str(caught.value)
    assert f"rank 1 waited 0 s for rank 0 to write stage 'initial' in {tmp_path / STAGES_FILE}" in message
    assert f"{WAIT_ENV}=SECONDS" in message


def test_writers_are_no_ops_off_rank_zero(rank1: None, tmp_path: Path) -> None:
    write_jsonl_atomic(tmp_path / "a.jsonl", [{"id": "1"}])
    append_records(tmp_path / "b.jsonl", [{"id": "1"}])
    assert list(tmp_path.iterdir()) == []


def test_json_artefact_reads_rank0s_file_and_never_builds(rank1: None, tmp_path: Path) -> None:
    path = tmp_path / "subsample.json"
    runlog.write_json(path, {"kept_ids": ["a", "c"]})

    def build() -> dict[str, list[str]]:
        raise AssertionError("a non-main rank must not build the artefact")

    assert json_artefact(path, build) == {"kept_ids": ["a", "c"]}


def test_item_store_reads_what_rank0_appends_and_never_writes(rank1: None, tmp_path: Path) -> None:
    path = tmp_path / "initial.jsonl"
    # Rank 0 is mid-append: the last line is torn. Rank 1 must not "repair" (truncate) it.
    path.write_text(json.dumps({"id": "a", "text": "x"}) + "\n" + '{"id": "b", "te')
    store = ItemStore(path)
    assert path.read_text().endswith('{"id": "b", "te')
    assert list(store.records) == ["a"]
    # Rank 0 finishes the chunk and the stage: the same store object now returns everything.
    path.write_text("".join(json.dumps({"id": i, "text": i * 2}) + "\n" for i in "abc"))
    assert store.ordered(["c", "a", "b"]) == [{"id": i, "text": i * 2} for i in "cab"]
    assert "b" in store and len(store) == 3
    with pytest.raises(RuntimeError, match="rank 1 tried to store records; only rank 0 generates"):
        store.add([{"id": "d"}])
    assert path.read_text().count("\n") == 3


def test_rank0_behaviour_is_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "0")
    log = StageLog(tmp_path)
    assert not log.done("initial")  # rank 0 never waits
    log.mark("initial", n=1)
    assert StageLog(tmp_path).done("initial")
    store = ItemStore(tmp_path / "items.jsonl")
    store.add([{"id": "a"}])
    assert (tmp_path / "items.jsonl").read_text() == '{"id": "a"}\n'


def test_a_self_lengthen_stage_on_rank1_returns_rank0s_result(rank1: None, tmp_path: Path) -> None:
    """The real runner code (run_subsample) on rank 1: no drop_short, no write, rank 0's kept ids."""
    from slbench.training.self_lengthen.config import SelfLengthenConfig
    from slbench.training.self_lengthen.iteration import Iteration, run_subsample

    it = Iteration(SelfLengthenConfig(), 1, tmp_path, tmp_path, [], pool=None)  # type: ignore[arg-type]
    it.dir.mkdir()
    runlog.write_json(it.dir / "subsample_initial.json", {"enabled": True, "input": 3, "kept_ids": ["b"]})
    _mark_as_rank0(it.dir, "subsample_initial")
    before = _files(tmp_path)
    records = [{"id": i, "accepted": True, "text": "word " * 10} for i in "abc"]
    assert run_subsample(it, "subsample_initial", records, enabled=True) == [records[1]]
    assert _files(tmp_path) == before
