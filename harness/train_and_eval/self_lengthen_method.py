"""Self-Lengthen inside ``train-and-eval``: one macro-iteration per iteration, on the shared budget.

The cell of iteration k evaluates the Generator after macro-iteration k (arXiv 2410.23933 §3.2:
each macro-iteration retrains the Generator on the Extender-lengthened responses). The loop's
own stages live in ``RUN_DIR/self-lengthen/iter_<k>/`` beside the cell's ``eval/`` and
``row.json``; ``training.self_lengthen`` resumes them stage by stage.

Budget: the Generator's SFT uses the shared ``SFTSettings`` (``max_steps`` pinned), so it runs
the same optimiser steps, and so sees the same number of examples, as every baseline. How many
distinct examples it has is what its acceptance rules keep; presets size its self-instruct count
to the budget. Its final length-controlled stage is off here: it would be a second training run
per iteration that the baselines do not get. Its evaluation is off too: the loop evaluates.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from slbench.harness.train_and_eval.methods import Trained

if TYPE_CHECKING:
    from slbench.harness.train_and_eval.config import TrainAndEvalConfig
    from slbench.training.self_lengthen.config import SelfLengthenConfig


def self_lengthen_config(config: TrainAndEvalConfig) -> SelfLengthenConfig:
    """Self-Lengthen's preset of the same name (if any), the shared budget, then the overrides."""
    from slbench.training.self_lengthen.config import SelfLengthenConfig
    from slbench.training.self_lengthen.presets import PRESETS, preset

    data: dict[str, Any] = preset(config.preset) if config.preset in PRESETS else {}
    data.update(
        model=config.model,
        iterations=config.iterations,
        seed=config.seed,
        backend=config.backend,
        device=config.device,
        dtype=config.dtype,
        batch_size=config.generation_batch_size,
        sft=config.sft.model_dump(),
        evaluate=False,
    )
    data["final"] = {**data.get("final", {}), "enabled": False}
    for key, value in config.self_lengthen.items():
        data[key] = (
            {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
        )
    return SelfLengthenConfig.model_validate(data)


def train_self_lengthen(
    config: TrainAndEvalConfig, iteration: int, directory: Path, base_model: Path
) -> Trained:
    """Run (or resume) macro-iterations 1..``iteration``; returns the Generator of ``iteration``."""
    from slbench.training.common.generation import BackendPool
    from slbench.training.common.sft import load_result
    from slbench.training.self_lengthen.iteration import Iteration
    from slbench.training.self_lengthen.runner import prepare_root, run_iteration, seed_instructions

    cfg = self_lengthen_config(config)
    root = directory.parent
    prepare_root(root, cfg)
    pool = BackendPool(
        cfg.backend, cfg.model, lora=cfg.sft.lora, batch_size=cfg.batch_size, device=cfg.device,
        dtype=cfg.dtype, base_url=cfg.base_url, api_key_env=cfg.api_key_env,
    )  # fmt: skip
    seeds = seed_instructions(cfg)
    generator: Path | None = None
    extender: Path | None = None
    try:
        # Earlier macro-iterations are complete (their cells ran first): each stage is skipped,
        # and this only recovers the weights that iteration ``iteration`` continues from.
        for k in range(1, iteration + 1):
            it = Iteration(cfg, k, root, base_model, seeds, pool, generator, extender)
            run_iteration(it)
            generator, extender = it.generator_adapter, it.extender_adapter
    finally:
        pool.release()
    result = load_result(directory / "generator_adapter")
    if result is None:  # no accepted response at all: the Generator stays what it was
        return Trained(adapter=generator, examples=0, steps=0, wall_s=0.0)
    return Trained(adapter=generator, examples=result.n_examples, steps=result.steps, wall_s=result.wall_s)
