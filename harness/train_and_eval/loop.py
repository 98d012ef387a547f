"""``run_train_and_eval``: train every method iteration by iteration and score every iteration.

For each (method, iteration) cell, in order: train (``methods.train_cell``), evaluate on the
length task (``run_eval`` into ``RUN_DIR/<method>/iter_<k>/eval/``: all three length scores),
judge quality when a judge is configured, then write the cell's summary row to
``RUN_DIR/<method>/iter_<k>/row.json``. ``row.json`` is written last and atomically: it marks
the cell complete. Every step below it resumes on its own (SFT writes its adapter only when
complete, generation and judging append per item), so a run killed at any point, rerun with the
same command, recomputes nothing that finished and ends with the same numbers.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slbench.harness import runlog
from slbench.harness.train_and_eval.config import MethodName, TrainAndEvalConfig
from slbench.harness.train_and_eval.methods import Trained, cell_dir, train_cell
from slbench.harness.train_and_eval.summary import make_row, write_summary

if TYPE_CHECKING:
    from slbench.harness.eval_config import EvalConfig
    from slbench.harness.judge.config import JudgeConfig

log = logging.getLogger(__name__)
ROW_FILE = "row.json"
# Fields that may change between a run and its resumption: where it goes and what else to run.
_FREE_FIELDS = ("out", "methods", "iterations", "preset")


class RunDirConflictError(ValueError):
    """RUN_DIR holds a run made with settings that change results."""


def _key(config: TrainAndEvalConfig, judge: JudgeConfig | None) -> dict[str, Any]:
    data = config.model_dump(mode="json", exclude=set(_FREE_FIELDS))
    data["judge"] = None if judge is None else judge.public_dict()
    return data


def prepare_run_dir(config: TrainAndEvalConfig, judge: JudgeConfig | None) -> None:
    """Create RUN_DIR, or check that the run in it used the same result-changing settings."""
    path = config.out / runlog.CONFIG_FILE
    wanted = _key(config, judge)
    if path.is_file():
        stored = runlog.read_json(path)
        found = {k: v for k, v in stored.items() if k not in _FREE_FIELDS}
        if found != wanted:
            changed = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
            raise RunDirConflictError(
                f"{config.out} holds a run with different settings ({', '.join(changed)}); "
                "use a new --out, or delete the directory to start over"
            )
    runlog.write_json(path, {**config.model_dump(mode="json"), "judge": wanted["judge"]})
    manifest = runlog.base_manifest() | {"cells": [f"{m}/iter_{k}" for m, k in config.cells()]}
    runlog.write_json(config.out / runlog.MANIFEST_FILE, manifest)


def eval_config_for(
    config: TrainAndEvalConfig, method: MethodName, directory: Path, trained: Trained
) -> EvalConfig:
    """The evaluation of one cell: identical for every method except its weights and answer method."""
    from slbench.harness.eval_config import EvalConfig

    model, adapter = config.model, trained.adapter
    if adapter is not None and not config.sft.lora:  # full fine-tuning wrote a whole model
        model, adapter = str(adapter), None
    settings = config.eval
    return EvalConfig.model_validate(
        {
            "out": directory / "eval",
            "model": model,
            "adapter": None if adapter is None else str(adapter),
            **settings.model_dump(),
            "method": "plan-and-write" if method == "plan-and-write-inference" else "direct",
            "backend": config.backend,
            "seed": config.seed,
            "device": config.device,
            "dtype": config.dtype,
        }
    )


def run_cell(
    config: TrainAndEvalConfig,
    judge: JudgeConfig | None,
    method: MethodName,
    iteration: int,
    base_model: Path,
) -> dict[str, Any]:
    """Train, evaluate and judge one cell (each step resumable); returns its summary row."""
    directory = cell_dir(config, method, iteration)
    row_path = directory / ROW_FILE
    if row_path.is_file():
        row: dict[str, Any] = runlog.read_json(row_path)
        return row
    started = time.perf_counter()
    trained = train_cell(config, method, iteration, base_model)
    eval_config = eval_config_for(config, method, directory, trained)
    from slbench.harness.evaluation import run_eval

    results = run_eval(eval_config)
    if judge is not None:
        from slbench.harness.evaluation import record_judge_spec
        from slbench.harness.judge.records import merge_judge_block
        from slbench.harness.judge.runner import judge_run_dir

        results = merge_judge_block(eval_config.out, judge_run_dir(eval_config.out, judge, progress=True))
        record_judge_spec(eval_config.out, judge.public_dict())
    train_info = {"examples": trained.examples, "steps": trained.steps, "wall_s": trained.wall_s}
    row = make_row(method, iteration, results, eval_config.out, train_info)
    row["cell_wall_s"] = round(time.perf_counter() - started, 1)
    runlog.write_json(row_path, row)
    return row


def run_train_and_eval(
    config: TrainAndEvalConfig, judge: JudgeConfig | None = None, *, progress: bool = True
) -> list[dict[str, Any]]:
    """Every cell of ``config`` in order; writes and returns the summary rows."""
    from tqdm import tqdm

    from slbench.harness.models import MODEL_ALIASES, resolve_model

    prepare_run_dir(config, judge)
    if config.torch_threads is not None:
        import torch

        torch.set_num_threads(config.torch_threads)
    base_model = resolve_model(config.model) if config.model in MODEL_ALIASES else Path(config.model)
    rows: list[dict[str, Any]] = []
    cells = config.cells()
    with tqdm(total=len(cells), desc="train-and-eval", unit="cell", disable=not progress) as bar:
        for method, iteration in cells:
            bar.set_postfix_str(f"{method} iter {iteration}")
            log.info("cell %s iteration %d", method, iteration)
            rows.append(run_cell(config, judge, method, iteration, base_model))
            write_summary(config.out, rows)  # partial summaries show progress to anyone watching
            bar.update(1)
    return rows
