"""``TrainAndEvalConfig``: every knob of ``slbench train-and-eval``, with presets smoke / small / paper.

A preset is a YAML file in ``presets/`` with the same keys as the config; CLI flags override it,
and the resolved config (every default filled in) is written to ``RUN_DIR/config.json``. The
method-specific sections (``self_lengthen``, ``backtranslation``, ``plan_and_write``) hold only
the keys that differ from each method's own defaults; they are validated against the method's
config class when the config is built, so a typo fails before any work starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from slbench.training.baselines.budget import budget_steps
from slbench.training.common.sft import SFTSettings

PRESETS_DIR = Path(__file__).parent / "presets"
PRESET_NAMES = ("smoke", "small", "paper")
MethodName = Literal[
    "base", "self-lengthen", "backtranslation", "plan-and-write-data", "plan-and-write-inference"
]
METHOD_NAMES: tuple[MethodName, ...] = (
    "base",
    "self-lengthen",
    "backtranslation",
    "plan-and-write-data",
    "plan-and-write-inference",
)
#: Methods that do not train: evaluated once, as iteration 0.
UNTRAINED: tuple[MethodName, ...] = ("base", "plan-and-write-inference")


class ConfigError(ValueError):
    """A preset or flag that cannot make a valid config; the message names the file and field."""


class EvalSettings(BaseModel):
    """How every (method, iteration) is evaluated: the same task, items and limits for all."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(default="slbench-lf", description="Registered length task.")
    split: str = Field(default="quick", description="Task split.")
    task_path: str | None = Field(
        default=None, description="Data file for tasks that are not shipped (longen)."
    )
    limit: int | None = Field(default=None, ge=1, description="Evaluate only the first N items of the split.")
    max_new_tokens: int | None = Field(
        default=None, ge=1, description="Cap on generated tokens per item (None: the task's own limit)."
    )
    batch_size: int = Field(default=8, ge=1, description="Sequences generated together (hf or llamacpp).")


class TrainAndEvalConfig(BaseModel):
    """Methods x iterations on one budget: train each, evaluate each for length and quality."""

    model_config = ConfigDict(extra="forbid")

    preset: str = Field(default="small", description="The preset this config started from (informational).")
    out: Path = Field(default=Path("runs/train-and-eval"), description="Run directory for everything.")
    model: str = Field(
        default="embedded", description="Base model: 'embedded', 'tiny' or a local model directory."
    )
    methods: list[MethodName] = Field(
        default_factory=lambda: list(METHOD_NAMES), min_length=1, description="Methods to run, in this order."
    )
    iterations: int = Field(default=2, ge=1, description="Training iterations of each trained method.")
    examples_per_iteration: int = Field(
        default=16, ge=1, description="SFT examples per method and iteration (the fair budget)."
    )
    seed: int = Field(default=0, description="Seed for data order, LoRA initialisation and sampling.")
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="Where models run.")
    dtype: Literal["auto", "float32", "bfloat16"] = Field(default="auto", description="Generation dtype.")
    backend: Literal["hf", "llamacpp"] = Field(
        default="hf",
        description="Generation backend for every method's data and every evaluation. llamacpp: CPU runs; "
        "each set of weights (base, or base + an iteration's adapter) is merged and exported once to an "
        "f16 GGUF and decoded in batches by llama.cpp (docs/benchmarks.md: 1.3-2x hf at batch 8 here).",
    )
    generation_batch_size: int = Field(
        default=8, ge=1, description="Sequences generated together for the methods' data (hf or llamacpp)."
    )
    torch_threads: int | None = Field(
        default=None,
        ge=1,
        description="CPU threads for torch (None: torch's default). 1 avoids the 10-30x slowdown that "
        "spinning OpenMP threads suffer when other processes share the cores.",
    )
    judge: Literal["none", "local"] = Field(
        default="none",
        description="Quality judge when the command line names none: 'local' = the embedded model behind "
        "llama.cpp on loopback (a pipeline check; pass --judge url for real S_q numbers).",
    )
    sft: SFTSettings = Field(
        default_factory=lambda: SFTSettings.model_validate({}),
        description="SFT recipe shared by every method.",
    )
    eval: EvalSettings = Field(default_factory=EvalSettings, description="Evaluation of every cell.")
    self_lengthen: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of SelfLengthenConfig (method-specific keys only)."
    )
    backtranslation: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of BacktranslationConfig (method-specific keys only)."
    )
    plan_and_write: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of PlanAndWriteConfig (method-specific keys only)."
    )

    @model_validator(mode="after")
    def _fix_budget(self) -> TrainAndEvalConfig:
        """Pin the optimiser steps so that every method provably trains the same number of them."""
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods repeat: {self.methods}")
        # The global batch (effective_batch_size when set) fixes the steps whatever the process count.
        steps = self.sft.max_steps or budget_steps(
            self.examples_per_iteration, self.sft.epochs, self.sft.global_batch_size, 1
        )
        self.sft = self.sft.model_copy(update={"max_steps": steps, "seed": self.seed})
        return self

    def iterations_of(self, method: MethodName) -> list[int]:
        """The iterations evaluated for ``method``: [0] untrained, else 1..iterations."""
        return [0] if method in UNTRAINED else list(range(1, self.iterations + 1))

    def cells(self) -> list[tuple[MethodName, int]]:
        """Every (method, iteration) in run order."""
        return [(m, k) for m in self.methods for k in self.iterations_of(m)]


def read_preset(name_or_path: str) -> dict[str, Any]:
    """A preset's keys: a shipped name (smoke, small, paper) or a YAML file path."""
    path = PRESETS_DIR / f"{name_or_path}.yaml" if name_or_path in PRESET_NAMES else Path(name_or_path)
    if not path.is_file():
        raise ConfigError(
            f"unknown preset {name_or_path!r}: use one of {', '.join(PRESET_NAMES)} or a YAML file"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys")
    data.setdefault("preset", name_or_path)
    return data


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` over ``base``; nested mappings merge key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_config(preset: str, overrides: dict[str, Any] | None = None) -> TrainAndEvalConfig:
    """The preset with ``overrides`` (CLI flags) applied, validated; errors name the field."""
    data = _merge(read_preset(preset), overrides or {})
    try:
        config = TrainAndEvalConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"preset {preset!r}: {problems}") from None
    from slbench.harness.train_and_eval.methods import validate_method_configs

    validate_method_configs(config)
    return config
