"""One training iteration of a data-generating baseline: generate with M_{k-1}, then SFT to M_k.

Both baselines follow the same shape (and Self-Lengthen's macro-iterations do too): the model of
the previous iteration (the base model plus its LoRA adapter) generates this iteration's data,
the data is cut to the fair budget (``budget.fill_to``), and SFT continues from the previous
adapter. Stages are recorded in ``<iter_dir>/stages.json``; the data file is written atomically
before its stage is marked, and ``train_sft`` is resumable on its own, so a killed iteration
reruns only what is missing.

Under ``accelerate launch`` only rank 0 generates and writes (the stages make the other ranks wait
for its files); every rank trains.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from slbench.harness import runlog
from slbench.harness.backends.base import Backend
from slbench.training.baselines.budget import EmptyDataError, fill_to
from slbench.training.common.sft import SFTResult, SFTSettings, train_sft
from slbench.training.common.stages import StageLog, write_jsonl_atomic
from slbench.training.launcher import is_main_process

log = logging.getLogger(__name__)
TRAIN_FILE = "train.jsonl"


class BaselineConfig(BaseModel):
    """What every baseline shares: the model, the budget per iteration and the SFT recipe."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        default="embedded", description="'embedded', 'tiny' or a local model directory (the base model)."
    )
    iterations: int = Field(
        default=1, ge=1, description="Training iterations; each continues from the previous adapter."
    )
    examples_per_iteration: int = Field(
        default=16,
        ge=1,
        description="Training examples per iteration: the fair budget shared by every method.",
    )
    sft: SFTSettings = Field(
        default_factory=lambda: SFTSettings.model_validate({}),
        description="The SFT recipe (the same for every method).",
    )
    backend: Literal["hf", "llamacpp"] = Field(
        default="hf",
        description="Generation backend for the method's data: hf or llamacpp (CPU: the weights merged "
        "and exported to an f16 GGUF; 1.7x hf's tokens/s at batch 8 on one thread, docs/benchmarks.md).",
    )
    batch_size: int = Field(default=8, ge=1, description="hf/llamacpp: sequences generated together.")
    device: str = Field(default="auto", description="hf backend device: auto, cpu, cuda.")
    dtype: str = Field(default="auto", description="hf backend dtype: auto, float32, bfloat16.")


@dataclass(frozen=True)
class Iteration:
    """Where iteration ``index`` (1-based) lives and which weights it starts from."""

    index: int
    directory: Path
    base_model: Path
    init_adapter: Path | None

    @property
    def sft_dir(self) -> Path:
        return self.directory / "sft"


def open_backend(config: BaselineConfig, iteration: Iteration) -> Backend:
    """The generator for this iteration's data: M_{k-1} = base model + previous adapter."""
    from slbench.harness.backends import create_backend

    model, adapter = iteration.base_model, iteration.init_adapter
    if adapter is not None and not config.sft.lora:  # full fine-tuning: the previous weights are a model
        model, adapter = adapter, None
    if config.backend == "llamacpp":
        return create_backend("llamacpp", model=model, adapter=adapter, batch_size=config.batch_size)
    return create_backend(
        "hf", model=model, adapter=adapter,
        batch_size=config.batch_size, device=config.device, dtype=config.dtype,
    )  # fmt: skip


Generate = Callable[[Backend, Iteration], list[dict[str, Any]]]


def training_examples(
    config: BaselineConfig, iteration: Iteration, generate: Generate
) -> list[dict[str, Any]]:
    """This iteration's SFT examples (exactly the budget), generated once and then read back."""
    stages = StageLog(iteration.directory)
    path = iteration.directory / TRAIN_FILE
    if stages.done("data"):
        return list(runlog.read_jsonl(path))
    backend = open_backend(config, iteration)
    generated_with = backend.describe()  # recorded with the stage: which engine and weights wrote the data
    try:
        examples = generate(backend, iteration)
    finally:
        backend.close()
    if not examples:
        raise EmptyDataError(
            f"{iteration.directory}: the method produced no training example "
            f"(see the generated files there); nothing to fill a budget of {config.examples_per_iteration}"
        )
    budget = fill_to(examples, config.examples_per_iteration)
    write_jsonl_atomic(path, budget)
    stages.mark(
        "data",
        generated=len(examples),
        examples=len(budget),
        unique=min(len(examples), len(budget)),
        backend=generated_with,
    )
    return budget


def run_iteration(config: BaselineConfig, iteration: Iteration, generate: Generate) -> SFTResult:
    """Generate (or reuse) the data, then train (or reuse) the adapter of this iteration."""
    examples = training_examples(config, iteration, generate)
    result = train_sft(iteration.base_model, examples, iteration.sft_dir, config.sft, iteration.init_adapter)
    stages = StageLog(iteration.directory)
    if not stages.done("train"):
        stages.mark("train", steps=result.steps, examples=result.n_examples)
    return result


def run_iterations(config: BaselineConfig, run_dir: Path, generate: Generate) -> list[SFTResult]:
    """Every iteration in order, each continuing from the adapter of the one before."""
    from slbench.harness.models import MODEL_ALIASES, resolve_model

    base = resolve_model(config.model) if config.model in MODEL_ALIASES else Path(config.model)
    if is_main_process():  # the other ranks read rank 0's files and write nothing
        run_dir.mkdir(parents=True, exist_ok=True)
        runlog.write_json(run_dir / runlog.CONFIG_FILE, config.model_dump(mode="json"))
    results: list[SFTResult] = []
    adapter: Path | None = None
    for index in range(1, config.iterations + 1):
        iteration = Iteration(index, run_dir / f"iter_{index}", base, adapter)
        result = run_iteration(config, iteration, generate)
        results.append(result)
        adapter = result.weights_dir
        log.info(
            "iteration %d: %d examples, %d steps, final loss %s",
            index,
            result.n_examples,
            result.steps,
            result.final_loss,
        )
    return results
