"""The GGUF export cache's size cap: which files go, which stay, and how the cap is read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slbench.harness.models import gguf_cache


def _files(directory: Path, sizes: list[int]) -> list[Path]:
    """``f0.gguf`` ... with these sizes, each one second newer than the one before."""
    paths = []
    for i, size in enumerate(sizes):
        path = directory / f"f{i}.gguf"
        path.write_bytes(b"x" * size)
        os.utime(path, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))
        paths.append(path)
    return paths


def test_prune_removes_oldest_first_until_the_cache_fits(tmp_path: Path) -> None:
    paths = _files(tmp_path, [100, 100, 100, 100, 100])
    other = tmp_path / "f9.gguf.tmp-1-abc"  # an export being written: not an export yet
    other.write_bytes(b"x" * 1000)
    removed = gguf_cache.prune(tmp_path, keep=paths[4], limit=250)
    assert removed == paths[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f3.gguf", "f4.gguf", other.name]


def test_prune_never_removes_the_file_just_written(tmp_path: Path) -> None:
    paths = _files(tmp_path, [300, 100, 100])
    assert gguf_cache.prune(tmp_path, keep=paths[0], limit=150) == paths[1:]
    assert paths[0].is_file()  # alone over the cap, and kept


def test_a_touched_file_counts_as_newest(tmp_path: Path) -> None:
    paths = _files(tmp_path, [100, 100, 100])
    gguf_cache.touch(paths[0])  # a cache hit on the oldest
    assert gguf_cache.prune(tmp_path, keep=paths[2], limit=200) == [paths[1]]


def test_no_cap_removes_nothing(tmp_path: Path) -> None:
    paths = _files(tmp_path, [100, 100])
    assert gguf_cache.prune(tmp_path, keep=paths[1], limit=None) == []
    assert all(p.is_file() for p in paths)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 4_000_000_000), ("", 4_000_000_000), ("1.5", 1_500_000_000), ("0", None), ("-1", None)],
)
def test_limit_from_the_environment(
    value: str | None, expected: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv(gguf_cache.CACHE_LIMIT_ENV, raising=False)
    else:
        monkeypatch.setenv(gguf_cache.CACHE_LIMIT_ENV, value)
    assert gguf_cache.limit_bytes() == expected


def test_a_bad_limit_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(gguf_cache.CACHE_LIMIT_ENV, "4GB")
    with pytest.raises(ValueError, match=r"SLBENCH_GGUF_CACHE_GB='4GB'"):
        gguf_cache.limit_bytes()
