"""How each method of ``train-and-eval`` trains one iteration, on the shared budget.

- ``base``: no training; the base model, evaluated as iteration 0.
- ``plan-and-write-inference``: no training; the base model answering with AgentWrite.
- ``backtranslation`` / ``plan-and-write-data``: ``training.baselines.iteration.run_iteration``
  with the method's data generator; M_{k-1} (base + the previous iteration's adapter) makes the
  data, SFT continues from that adapter.
- ``self-lengthen``: one macro-iteration of ``training.self_lengthen`` per iteration.

Every trained method gets the same ``examples_per_iteration`` and the same ``SFTSettings``
(whose ``max_steps`` the config pins), so the comparison is on one budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slbench.harness.train_and_eval.config import UNTRAINED, MethodName, TrainAndEvalConfig
from slbench.training.backtranslation.runner import BacktranslationConfig, generate_pairs
from slbench.training.baselines.iteration import BaselineConfig, Iteration, run_iteration
from slbench.training.plan_and_write.runner import PlanAndWriteConfig, generate_answers


@dataclass(frozen=True)
class Trained:
    """What a cell evaluates, and the budget it trained on (None for untrained methods)."""

    adapter: Path | None
    examples: int | None = None
    steps: int | None = None
    wall_s: float | None = None


def cell_dir(config: TrainAndEvalConfig, method: MethodName, iteration: int) -> Path:
    return config.out / method / f"iter_{iteration}"


def _shared(config: TrainAndEvalConfig) -> dict[str, Any]:
    """The fields every baseline config takes from the top level (the shared budget)."""
    return {
        "model": config.model,
        "iterations": config.iterations,
        "examples_per_iteration": config.examples_per_iteration,
        "sft": config.sft,
        "backend": config.backend,
        "batch_size": config.generation_batch_size,
        "device": config.device,
        "dtype": config.dtype,
    }


def baseline_config(config: TrainAndEvalConfig, method: MethodName) -> BaselineConfig:
    """The resolved config of a data-generating baseline (overrides from its section)."""
    if method == "backtranslation":
        return BacktranslationConfig(**_shared(config), **config.backtranslation)
    if method == "plan-and-write-data":
        return PlanAndWriteConfig(**_shared(config), **config.plan_and_write)
    raise ValueError(f"{method!r} is not a data-generating baseline")


def validate_method_configs(config: TrainAndEvalConfig) -> None:
    """Build every selected method's config now, so a bad override fails before any work."""
    from slbench.harness.train_and_eval.self_lengthen_method import self_lengthen_config

    for method in config.methods:
        if method in ("backtranslation", "plan-and-write-data"):
            baseline_config(config, method)
        elif method == "self-lengthen":
            self_lengthen_config(config)


def train_cell(config: TrainAndEvalConfig, method: MethodName, iteration: int, base_model: Path) -> Trained:
    """Train ``method``'s iteration ``iteration`` (resumable) and return what to evaluate."""
    if method in UNTRAINED:
        return Trained(adapter=None)
    if method == "self-lengthen":
        from slbench.harness.train_and_eval.self_lengthen_method import train_self_lengthen

        return train_self_lengthen(config, iteration, cell_dir(config, method, iteration), base_model)
    method_config = baseline_config(config, method)
    previous = cell_dir(config, method, iteration - 1) / "sft" if iteration > 1 else None
    cell = Iteration(iteration, cell_dir(config, method, iteration), base_model, previous)
    if method == "backtranslation":
        assert isinstance(method_config, BacktranslationConfig)
        bt = method_config
        result = run_iteration(bt, cell, lambda backend, it: generate_pairs(bt, backend, it))
    else:
        assert isinstance(method_config, PlanAndWriteConfig)
        pw = method_config
        result = run_iteration(pw, cell, lambda backend, it: generate_answers(pw, backend, it))
    return Trained(result.weights_dir, result.n_examples, result.steps, result.wall_s)
