"""Self-Lengthen's evaluation with several sampled answers per item: run dirs, per-item means, pairing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slbench.harness import runlog
from slbench.training.self_lengthen.config import SelfLengthenConfig
from slbench.training.self_lengthen.evaluate import (
    evaluate_run,
    item_means,
    model_entry,
    paired_difference,
    sample_run_dirs,
)
from slbench.training.self_lengthen.presets import preset


def _record(item: str, words: int, score: float, finish: str = "stop") -> dict[str, Any]:
    return {
        "id": item, "words": words, "scores": {"longen": score}, "finish_reason": finish,
        "kind": "about", "language": "en", "bucket": "[0,500)",
    }  # fmt: skip


def _run(path: Path, records: list[dict[str, Any]]) -> Path:
    path.mkdir(parents=True)
    runlog.append_jsonl(path / runlog.SAMPLES_FILE, records)
    return path


def test_sample_run_dirs_keep_the_single_sample_name_first(tmp_path: Path) -> None:
    cfg = SelfLengthenConfig.model_validate({"eval_samples": 3})
    assert sample_run_dirs(tmp_path, "iter_1", cfg) == [
        tmp_path / "eval" / "iter_1",
        tmp_path / "eval" / "iter_1-s1",
        tmp_path / "eval" / "iter_1-s2",
    ]
    greedy = SelfLengthenConfig.model_validate({"eval_samples": 3, "eval_decoding": "greedy"})
    # Greedy answers do not change with the seed: one run, under its own name.
    assert sample_run_dirs(tmp_path, "base", greedy) == [tmp_path / "eval" / "base-greedy"]


def test_item_means_average_words_and_scores_per_item(tmp_path: Path) -> None:
    first = _run(tmp_path / "a", [_record("x", 100, 0.5), _record("y", 300, 1.0, "length")])
    second = _run(tmp_path / "b", [_record("y", 500, 0.0, "length"), _record("x", 200, 0.25)])
    items = item_means([first, second])
    assert [i["id"] for i in items] == ["x", "y"]
    assert items[0]["words"] == 150.0 and items[0]["scores"] == {"longen": 0.375}
    assert items[1]["words"] == 400.0 and items[1]["scores"] == {"longen": 0.5}
    assert [i["answers"] for i in items] == [2, 2] and [i["truncated"] for i in items] == [0, 2]

    entry = model_entry(items)
    assert entry["n"] == 2 and entry["answers"] == 4
    assert entry["words_mean"] == 275.0
    assert entry["truncated_share"] == 0.5  # 2 of the 4 answers, not 1 of 2 items
    assert entry["scores"]["longen"]["mean"] == pytest.approx(0.4375)


def test_paired_difference_pairs_item_means_by_id() -> None:
    base = [{"id": "x", "words": 100.0}, {"id": "y", "words": 400.0}, {"id": "z", "words": 50.0}]
    other = [{"id": "y", "words": 460.0}, {"id": "x", "words": 120.0}]
    diff = paired_difference(base, other)
    assert diff["n"] == 2 and diff["mean"] == 40.0
    assert diff["ci"] == [20.0, 60.0]  # the two differences, 20 and 60, bound the bootstrap means
    assert paired_difference(base, [{"id": "w", "words": 1.0}]) == {"n": 0, "mean": None, "ci": None}


def test_evaluate_run_answers_each_item_once_per_seed(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = SelfLengthenConfig.model_validate(
        preset("smoke")
        | {"model": str(tiny_model_dir), "eval_limit": 2, "eval_max_new_tokens": 12, "eval_samples": 2}
    )
    evaluation = evaluate_run(cfg, tmp_path, {"iterations": []})
    assert evaluation["samples_per_item"] == 2
    seeds = [runlog.read_json(d / "config.json")["seed"] for d in sample_run_dirs(tmp_path, "base", cfg)]
    assert seeds == [cfg.seed, cfg.seed + 1]
    runs = [list(runlog.read_jsonl(d / runlog.SAMPLES_FILE)) for d in sample_run_dirs(tmp_path, "base", cfg)]
    assert [len(r) for r in runs] == [2, 2]
    expected = sum(r["words"] for run in runs for r in run) / 4
    assert evaluation["models"]["base"]["words_mean"] == pytest.approx(expected)
    assert evaluation["models"]["base"]["answers"] == 4
