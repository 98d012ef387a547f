"""``BenchConfig``: what ``slbench bench`` measures, validated; ``--quick`` fills in a reduced set."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BenchConfig(BaseModel):
    """Every knob of ``slbench bench``. None means "the default of the quick or the full set"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quick: bool = Field(
        False, description="Reduced set in a few minutes: generation at batch 1 and 8, scoring."
    )
    model: str = Field("embedded", description="'embedded', 'tiny', or a local transformers model directory.")
    random_weights: bool = Field(
        False,
        description=(
            "Replace the model's weights by random ones of the same shape (speed does not depend on the "
            "values; lets a machine without the weights, such as an offline GPU box, run the benchmark)."
        ),
    )
    device: str = Field("auto", description="auto (CUDA when present), cpu or cuda.")
    dtype: str = Field("auto", description="hf dtype: auto (bf16 on CUDA, fp32 on CPU), float32, bfloat16.")
    threads: int | None = Field(None, ge=1, description="torch intra-op threads (None: torch's default).")
    batches: tuple[int, ...] | None = Field(
        None, description="Generation batch sizes (quick: 1,8; full: 1,8,32)."
    )
    new_tokens: tuple[int, ...] | None = Field(
        None, description="Generated tokens per row, EOS suppressed (quick: 128; full: 256,1024)."
    )
    prompt_tokens: int = Field(100, ge=8, description="Rendered prompt length of every generation row.")
    decoders: tuple[Literal["auto", "rows", "graphs", "generate"], ...] = Field(
        ("auto",),
        description="hf decoders to measure: auto (graphs on CUDA, rows on CPU), rows, graphs, generate.",
    )
    llamacpp: bool | None = Field(
        None, description="Also measure the llamacpp backend at the hf rows' batches (CPU)."
    )
    training: bool | None = Field(None, description="Measure SFT tokens/s (full set only by default).")
    train_seq_lens: tuple[int, ...] = Field((1024, 4096), description="Training sequence lengths.")
    train_steps: int = Field(
        3, ge=2, description="Optimiser steps per training case (the first is a warm-up)."
    )
    judge: bool | None = Field(
        None, description="Measure judgements/s on the local judge server (full set only)."
    )
    judge_concurrency: tuple[int, ...] = Field((1, 4, 16), description="Judge concurrency levels.")
    judge_items: int = Field(16, ge=1, description="Judged outputs per concurrency level.")
    judge_max_tokens: int = Field(256, ge=16, description="Completion limit of each judge request.")
    scoring_items: int = Field(100_000, ge=1, description="Synthetic outputs counted and scored.")
    json_path: Path | None = Field(None, description="Write the figures as JSON here (atomically).")

    @model_validator(mode="after")
    def _check(self) -> BenchConfig:
        for name in ("batches", "new_tokens", "train_seq_lens", "judge_concurrency"):
            values = getattr(self, name)
            if values is not None and (not values or min(values) < 1):
                raise ValueError(f"{name} must be positive integers, got {values}")
        return self

    def resolved_batches(self) -> tuple[int, ...]:
        return self.batches or ((1, 8) if self.quick else (1, 8, 32))

    def resolved_new_tokens(self) -> tuple[int, ...]:
        return self.new_tokens or ((128,) if self.quick else (256, 1024))

    def section(self, name: Literal["llamacpp", "training", "judge"]) -> bool:
        """Whether an optional section runs: explicit choice, else llama.cpp always, others full only."""
        chosen = getattr(self, name)
        if chosen is not None:
            return bool(chosen)
        return name == "llamacpp" or not self.quick
