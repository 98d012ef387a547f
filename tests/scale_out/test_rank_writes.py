"""Under ``accelerate launch`` only rank 0 writes a method's run files; the other ranks only read.

RANK is set with monkeypatch as torchrun sets it, over a run directory in the state rank 0 leaves
it after generating and training (data written, stages marked, adapter result stored), so every
rank reaches the end of the method without training. The real two-process run in
``test_train_launch.py`` checks Self-Lengthen's runner the same way with a write spy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from slbench.harness import runlog
from slbench.training.baselines.budget import sft_example
from slbench.training.baselines.method_entry import make_method
from slbench.training.common.sft import RESULT_FILE, SFTResult
from slbench.training.common.stages import STAGES_FILE
from slbench.training.self_lengthen.config import SelfLengthenConfig
from slbench.training.self_lengthen.runner import ConfigConflictError, prepare_root


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file's bytes, modification time and inode: an atomic rewrite of equal bytes still shows."""
    found = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            stat = path.stat()
            found[str(path.relative_to(directory))] = (path.read_bytes(), stat.st_mtime_ns, stat.st_ino)
    return found


def _as_rank0_left_it(root: Path, model: Path) -> None:
    """One finished backtranslation iteration, as rank 0 writes it (no config or summary yet)."""
    it = root / "iter_1"
    (it / "sft").mkdir(parents=True)
    runlog.write_json(it / STAGES_FILE, {"data": {"completed": "2026-01-01T00:00:00", "examples": 1},
                                         "train": {"completed": "2026-01-01T00:00:01", "steps": 1}})  # fmt: skip
    (it / "train.jsonl").write_text(json.dumps(sft_example("Describe a river.", "It flows.")) + "\n")
    result = SFTResult(adapter_dir=str(it / "sft"), model_dir=None, base_model=str(model), init_adapter=None,
                       n_examples=1, steps=1, loss_curve=[{"step": 1.0, "loss": 2.5}])  # fmt: skip
    runlog.write_json(it / "sft" / RESULT_FILE, result.to_dict())


def _baseline_config(model: Path) -> object:
    from slbench.training.backtranslation.runner import BacktranslationConfig

    return BacktranslationConfig(model=str(model), examples_per_iteration=1)


def test_a_baseline_on_rank_1_writes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    model = tmp_path / "model"
    _as_rank0_left_it(tmp_path / "run" / "backtranslation", model)
    before = _snapshot(tmp_path)
    summary = make_method("backtranslation").run(_baseline_config(model), tmp_path / "run")
    assert _snapshot(tmp_path) == before
    assert summary["iterations"][0]["steps"] == 1  # it read rank 0's result


def test_the_same_call_on_rank_0_writes_config_and_summary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The check above can fail: rank 0, on the same directory, writes exactly these two files."""
    monkeypatch.delenv("RANK", raising=False)
    model = tmp_path / "model"
    root = tmp_path / "run" / "backtranslation"
    _as_rank0_left_it(root, model)
    before = _snapshot(tmp_path)
    make_method("backtranslation").run(_baseline_config(model), tmp_path / "run")
    after = _snapshot(tmp_path)
    changed = sorted(name for name in after if before.get(name) != after[name])
    assert changed == ["run/backtranslation/config.json", "run/backtranslation/summary.json"]


def test_self_lengthen_prepare_root_on_rank_1_neither_writes_nor_checks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cfg = SelfLengthenConfig.model_validate({})
    monkeypatch.delenv("RANK", raising=False)
    prepare_root(tmp_path, cfg)
    assert sorted(os.listdir(tmp_path)) == ["config.json", "manifest.json"]
    other = cfg.model_copy(update={"seed": cfg.seed + 1})
    with pytest.raises(ConfigConflictError, match="seed"):
        prepare_root(tmp_path, other)
    before = _snapshot(tmp_path)
    monkeypatch.setenv("RANK", "1")
    prepare_root(tmp_path, cfg)
    prepare_root(tmp_path, other)  # rank 0 refuses the conflict and the launch ends with it
    assert _snapshot(tmp_path) == before
