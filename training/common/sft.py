"""Supervised fine-tuning with TRL, shared by every training method (Self-Lengthen and its baselines).

``train_sft(base_model, examples, out_dir, settings, init_adapter=None) -> SFTResult``

- ``examples`` are TRL *conversational prompt-completion* dicts::

      {"prompt": [{"role": "user", "content": "..."}],
       "completion": [{"role": "assistant", "content": "..."}]}

  TRL renders the prompt with the generation prompt, renders prompt + completion, and masks
  every token of the common prefix (``completion_only_loss=True``). The completion span is the
  assistant message as the chat template closes it, so the end-of-turn token (``<|im_end|>`` in
  ChatML) carries loss: without it the model never learns to stop, a direct confound for a length
  benchmark (issue 4). ``tests/training`` checks the collated labels.
- ``max_length`` is derived from the data (longest example + a margin) unless set: TRL's default
  of 1,024 truncates silently (trl #2400; GUIDE item 4).
- LoRA by default (rank / alpha / dropout / targets follow LLaMA-Factory's defaults, which the
  public Self-Lengthen code trains with: rank 8, alpha 2 x rank, dropout 0, all linear layers);
  full fine-tuning with ``lora=False``.
- ``init_adapter`` continues training from earlier weights: a LoRA adapter directory (loaded
  trainable, so its rank and targets win over the settings), or with ``lora=False`` a full model
  directory written by an earlier ``train_sft``. Each Self-Lengthen macro-iteration continues
  from the previous one this way.
- Effective batch: ``per_device_batch_size`` x processes x ``gradient_accumulation_steps``. With
  ``effective_batch_size`` set, the factor named by ``derive`` is recomputed from ``WORLD_SIZE`` at
  run time (``resolve_settings``), so the same config trains on the same global batch whether it
  runs in one process or under ``accelerate launch`` with N; the resolved values are recorded in
  ``sft_result.json`` (``batch`` and ``settings``).
- Resumable: the weights are trained in ``<out_dir>.partial`` and renamed to ``out_dir`` after
  ``sft_result.json`` (the completion marker) is written, so ``out_dir`` exists only when
  complete, and a second call returns the stored result without training.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from slbench.harness import runlog
from slbench.training.launcher import BatchPlan, barrier, is_main_process, resolve_batch, world_size

log = logging.getLogger(__name__)

RESULT_FILE = "sft_result.json"
LOSS_FILE = "loss.jsonl"


class SFTSettings(BaseModel):
    """Every knob of one SFT run. Defaults: the public Self-Lengthen LoRA recipe (lr 1e-4, 4 epochs,
    cosine schedule, warm-up 0.1; QwenLM/Self-Lengthen ``train_config_template/template_gen_sft.yaml``)."""

    model_config = ConfigDict(extra="forbid")

    lora: bool = Field(True, description="Train a LoRA adapter (True) or every weight of the model (False).")
    lora_r: int = Field(8, ge=1, description="LoRA rank (LLaMA-Factory's default, used by the paper's code).")
    lora_alpha: int = Field(16, ge=1, description="LoRA alpha (LLaMA-Factory's default: 2 x rank).")
    lora_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout on the LoRA branch.")
    target_modules: list[str] | str = Field(
        "all-linear",
        description="Modules that get LoRA: 'all-linear' (the paper's `lora_target: all`) or names.",
    )
    learning_rate: float = Field(1e-4, gt=0.0, description="Peak learning rate.")
    epochs: float = Field(4.0, gt=0.0, description="Passes over the training examples.")
    lr_scheduler: str = Field(
        "cosine", description="transformers scheduler name (cosine, linear, constant, ...)."
    )
    warmup_ratio: float = Field(0.1, ge=0.0, lt=1.0, description="Share of the steps spent warming up.")
    per_device_batch_size: int = Field(1, ge=1, description="Examples per forward pass (the paper: 1).")
    gradient_accumulation_steps: int = Field(1, ge=1, description="Forward passes per optimiser step.")
    effective_batch_size: int | None = Field(
        None,
        ge=1,
        description="Examples per optimiser step over all processes (per-device batch x processes x "
        "accumulation), kept constant when the process count changes: the factor named by `derive` is "
        "recomputed from WORLD_SIZE at run time. None: both factors are used as given, so N processes "
        "train on an N times larger batch.",
    )
    derive: Literal["gradient_accumulation_steps", "per_device_batch_size"] = Field(
        "gradient_accumulation_steps",
        description="With effective_batch_size: the factor recomputed from it (the other is kept as set). "
        "gradient_accumulation_steps keeps the memory per device; per_device_batch_size keeps "
        "the forward passes per step.",
    )
    max_steps: int | None = Field(None, ge=1, description="Cap on optimiser steps (None: run all epochs).")
    seed: int = Field(0, description="Seed for LoRA initialisation and data order.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Training dtype: auto = bf16 on CUDA, float32 on CPU."
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto = CUDA when available, else CPU."
    )
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations in the backward pass (saves memory on long sequences)."
    )
    max_length: int | None = Field(
        None,
        ge=16,
        description="Token cap per example; None = longest example + margin (never a silent 1,024).",
    )
    length_margin: int = Field(
        16, ge=0, description="Tokens added to the longest example when deriving max_length."
    )
    logging_steps: int = Field(1, ge=1, description="Record the training loss every N optimiser steps.")

    @model_validator(mode="after")
    def _check_effective_batch(self) -> SFTSettings:
        """Refuse at config time what no process count can fix (the one-process resolution)."""
        if self.effective_batch_size is not None:
            self.batch_plan(1)
        return self

    def batch_plan(self, processes: int) -> BatchPlan:
        """Per-device batch and accumulation for ``processes`` (``LaunchConfigError`` if indivisible)."""
        if self.effective_batch_size is None:
            return BatchPlan(self.per_device_batch_size, self.gradient_accumulation_steps, processes)
        return resolve_batch(
            self.effective_batch_size,
            processes,
            per_device_batch_size=self.per_device_batch_size,
            gradient_accumulation_steps=self.gradient_accumulation_steps,
            derive=self.derive,
        )

    @property
    def global_batch_size(self) -> int:
        """Examples per optimiser step as configured: the effective batch, else one process's batch."""
        return self.effective_batch_size or self.per_device_batch_size * self.gradient_accumulation_steps


def resolve_settings(settings: SFTSettings, processes: int | None = None) -> tuple[SFTSettings, BatchPlan]:
    """``settings`` with the batch factors resolved for ``processes`` (default: ``WORLD_SIZE``)."""
    plan = settings.batch_plan(world_size() if processes is None else processes)
    resolved = settings.model_copy(
        update={
            "per_device_batch_size": plan.per_device_batch_size,
            "gradient_accumulation_steps": plan.gradient_accumulation_steps,
        }
    )
    return resolved, plan


@dataclass
class SFTResult:
    """What one ``train_sft`` call produced. Exactly one of ``adapter_dir`` / ``model_dir`` is set."""

    adapter_dir: str | None
    model_dir: str | None
    base_model: str
    init_adapter: str | None
    n_examples: int
    steps: int
    loss_curve: list[dict[str, float]] = field(default_factory=list)
    train_tokens: int = 0
    completion_tokens: int = 0
    max_length: int = 0
    longest_example: int = 0
    wall_s: float = 0.0
    device: str = "cpu"
    settings: dict[str, Any] = field(default_factory=dict)
    #: processes, per_device_batch_size, gradient_accumulation_steps, effective_batch_size as trained
    batch: dict[str, int] = field(default_factory=dict)

    @property
    def weights_dir(self) -> Path:
        """The directory to generate with: the adapter (LoRA) or the full model."""
        return Path(self.adapter_dir or self.model_dir or "")

    @property
    def final_loss(self) -> float | None:
        return self.loss_curve[-1]["loss"] if self.loss_curve else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SFTResult:
        return cls(**data)


def validate_examples(examples: list[dict[str, Any]]) -> None:
    """Reject anything but conversational prompt-completion examples, naming the index and field."""
    if not examples:
        raise ValueError("train_sft needs at least one example")
    for index, example in enumerate(examples):
        for key in ("prompt", "completion"):
            messages = example.get(key)
            if not isinstance(messages, list) or not messages:
                raise ValueError(f"example {index}: field {key!r} must be a non-empty list of chat messages")
            for message in messages:
                if not isinstance(message, dict) or not isinstance(message.get("content"), str):
                    raise ValueError(f"example {index}: every {key!r} message needs a string 'content'")
        if [m.get("role") for m in example["completion"]] != ["assistant"]:
            raise ValueError(f"example {index}: 'completion' must be exactly one assistant message")


def load_result(out_dir: Path) -> SFTResult | None:
    """The stored result of a completed run in ``out_dir``, or None."""
    marker = out_dir / RESULT_FILE
    if not marker.is_file():
        return None
    return SFTResult.from_dict(runlog.read_json(marker))


def train_sft(
    base_model: Path,
    examples: list[dict[str, Any]],
    out_dir: Path,
    settings: SFTSettings,
    init_adapter: Path | None = None,
) -> SFTResult:
    """Fine-tune ``base_model`` on ``examples`` into ``out_dir`` (see the module docstring)."""
    done = load_result(out_dir)
    if done is not None:
        log.info("SFT in %s is complete; reusing it", out_dir)
        return done
    validate_examples(examples)
    settings, plan = resolve_settings(settings)
    log.info(
        "SFT batch: %d per device x %d processes x %d accumulation steps = %d examples per step",
        plan.per_device_batch_size, plan.processes, plan.gradient_accumulation_steps,
        plan.effective_batch_size,
    )  # fmt: skip
    # Imported here: `slbench report` and the CLI's --help never pay for torch/TRL.
    from slbench.training.common.sft_backend import run_trainer

    partial = out_dir.with_name(out_dir.name + ".partial")
    # Under `accelerate launch` every rank trains (DDP/FSDP/DeepSpeed average the gradients) but
    # only rank 0 touches the run directory; the other ranks wait until its files are in place.
    main = is_main_process()
    if main:
        shutil.rmtree(partial, ignore_errors=True)  # an earlier run killed mid-training restarts cleanly
        partial.mkdir(parents=True)
    started = time.perf_counter()
    result = run_trainer(base_model, examples, partial, settings, init_adapter)
    result.wall_s = round(time.perf_counter() - started, 2)
    result.batch = {
        "processes": plan.processes,
        "per_device_batch_size": plan.per_device_batch_size,
        "gradient_accumulation_steps": plan.gradient_accumulation_steps,
        "effective_batch_size": plan.effective_batch_size,
    }
    final = str(out_dir)
    result.adapter_dir, result.model_dir = (final, None) if settings.lora else (None, final)
    if not main:
        barrier()
        return result
    with (partial / LOSS_FILE).open("w", encoding="utf-8") as handle:
        for point in result.loss_curve:
            handle.write(json.dumps(point) + "\n")
    runlog.write_json(partial / RESULT_FILE, result.to_dict())
    if out_dir.exists():
        shutil.rmtree(out_dir)
    partial.rename(out_dir)
    barrier()
    return result
