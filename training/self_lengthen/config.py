"""``SelfLengthenConfig``: every knob of the Self-Lengthen loop, validated, YAML in, CLI overrides.

Defaults follow the paper (Quan et al., arXiv 2410.23933) and its public code (QwenLM/
Self-Lengthen): decoding temperature 0.7, top_p 0.8, top_k 20, repetition penalty 1.1; two
initial responses per instruction; three micro-iterations; keep an extension only above 1.2x;
LoRA lr 1e-4, 4 epochs, cosine, warm-up 0.1; three macro-iterations. Presets (``presets.py``)
resize it for a machine; the resolved config is written into the run directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from slbench.training.common.instructions.self_instruct import SelfInstructSettings
from slbench.training.common.sft import SFTSettings
from slbench.training.self_lengthen.checks import CheckMode, CheckSettings


class DecodingSettings(BaseModel):
    """Sampling for every generation of the loop (the public code's defaults)."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.7, ge=0.0, description="Sampling temperature (0 = greedy).")
    top_p: float = Field(0.8, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    top_k: int = Field(20, ge=0, description="Top-k sampling (0 = off).")
    repetition_penalty: float = Field(1.1, gt=0.0, description="transformers/vLLM repetition penalty.")


class FinalDataSettings(BaseModel):
    """The length-controlled final stage: constraints attached from the responses' real lengths.

    The constraint mix follows the public code (``eval/add_length_control.py``): about 40%,
    range 25%, at least 10%, at most 25%.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Build the length-controlled data and train the final model.")
    mix: dict[Literal["about", "range", "at_least", "at_most"], float] = Field(
        {"about": 0.4, "range": 0.25, "at_least": 0.1, "at_most": 0.25},
        description="Share of each constraint kind (normalised).",
    )
    min_words: int = Field(20, ge=1, description="Responses shorter than this get no constraint (too short).")


class SelfLengthenConfig(BaseModel):
    """The whole Self-Lengthen run: model, loop sizes, checks, training and evaluation."""

    model_config = ConfigDict(extra="forbid")

    # Model and generation backend
    model: str = Field(
        "embedded", description="Base model: 'embedded', 'tiny' or a local HF model directory."
    )
    backend: Literal["hf", "vllm", "openai", "llamacpp"] = Field(
        "hf",
        description=(
            "Generation backend for the loop. llamacpp: CPU runs (trained weights are exported to an "
            "f16 GGUF once; batched, 1.7x hf's tokens/s at batch 8 on one thread, docs/benchmarks.md)."
        ),
    )
    base_url: str | None = Field(
        None, description="openai backend: the server's base URL (serves the adapters)."
    )
    api_key_env: str = Field("OPENAI_API_KEY", description="openai backend: env var holding the API key.")
    batch_size: int = Field(
        8, ge=1, description="hf/llamacpp: sequences generated together; also the chunk size."
    )
    device: str = Field("auto", description="hf backend device: auto, cpu, cuda.")
    dtype: str = Field(
        "auto", description="hf backend dtype: auto (bf16 on CUDA, fp32 on CPU), bfloat16, float32."
    )
    seed: int = Field(0, description="Seed of every random choice and of the decoding.")
    cpu_threads: int | None = Field(
        None, ge=1, description="torch CPU threads (None: torch's default; 1 is much faster on a shared CPU)."
    )
    decoding: DecodingSettings = Field(
        default_factory=lambda: DecodingSettings.model_validate({}), description="Sampling settings."
    )

    # Macro-iterations and instructions
    iterations: int = Field(
        3, ge=1, description="Macro-iterations (each trains a Generator and an Extender)."
    )
    languages: list[Literal["en", "zh"]] = Field(["en", "zh"], description="Languages of the instructions.")
    seed_file: Path | None = Field(
        None, description="Seed instruction JSONL (None: the project's own seeds)."
    )
    self_instruct: SelfInstructSettings = Field(
        default_factory=SelfInstructSettings,
        description="Self-instruct step (count = instructions per iteration; its languages follow `languages`).",
    )
    include_seed_instructions: bool = Field(
        False, description="Also answer the seed instructions themselves (the paper uses only new ones)."
    )
    max_instructions: int | None = Field(
        None,
        ge=1,
        description="Answer at most this many instructions per iteration (None: all; for smoke runs).",
    )

    # Generator: initial responses
    responses_per_instruction: int = Field(
        2, ge=1, description="Initial responses per instruction (paper: 2)."
    )
    initial_attempts: int = Field(
        20, ge=1, description="Bounded retries for a response that fails the checks."
    )
    initial_max_new_tokens: int = Field(1024, ge=16, description="Token limit of an initial response.")

    # Extender: micro-iterations
    check_mode: CheckMode = Field(
        "strict", description="'strict' rejects (the paper); 'repair' fixes then checks."
    )
    checks: CheckSettings = Field(default_factory=CheckSettings, description="Response checks.")
    micro_iterations: int = Field(3, ge=1, description="Extender micro-iterations per extension (paper: 3).")
    outline_share: float = Field(
        0.5, gt=0.0, le=1.0, description="Share of paragraphs used as stage-1 outline."
    )
    stage1_keep_share: float = Field(
        2 / 3,
        gt=0.0,
        le=1.0,
        description="Share of the stage-1 paragraphs kept before continuing (paper: 2/3).",
    )
    stage1_max_new_tokens: int = Field(1024, ge=16, description="Token limit of the stage-1 enrichment.")
    continuation_max_new_tokens: int = Field(
        1024, ge=16, description="Token limit of the stage-2 continuation."
    )
    extensions_per_response: int = Field(
        2, ge=1, description="Extensions attempted per initial response (code: 2)."
    )
    extension_attempts: int = Field(
        20, ge=1, description="Bounded retries of a whole extension below the ratio."
    )
    min_extension_ratio: float = Field(
        1.2, ge=1.0, description="Keep an extension only above this x the initial."
    )
    subsample_initial: bool = Field(True, description="drop_short on the initial responses (public code).")
    subsample_extended: bool = Field(True, description="drop_short on the extended responses (public code).")

    # Training
    sft: SFTSettings = Field(
        default_factory=SFTSettings, description="SFT of the Generator (and the Extender)."
    )
    extender_sft: SFTSettings | None = Field(
        None, description="Separate SFT settings for the Extender (None: sft)."
    )
    extender_line_keep: float = Field(
        0.8, gt=0.0, le=1.0, description="Extender data: keep each initial line w.p."
    )
    train_last_extender: bool = Field(
        True, description="Train the Extender in the last macro-iteration too (nothing uses it afterwards)."
    )
    final: FinalDataSettings = Field(
        default_factory=lambda: FinalDataSettings.model_validate({}), description="Length-controlled stage."
    )

    # Evaluation after training
    evaluate: bool = Field(True, description="Evaluate the base model and each Generator at the end.")
    eval_task: str = Field("slbench-lf", description="Task used for the length evaluation.")
    eval_split: str = Field("quick", description="Split of the evaluation task.")
    eval_limit: int | None = Field(None, ge=1, description="Evaluate only the first N items.")
    eval_max_new_tokens: int | None = Field(None, ge=1, description="Override the task's generation limit.")
    eval_decoding: Literal["sampling", "greedy"] = Field(
        "sampling",
        description="'sampling': the loop's decoding with a fixed seed (how the models are used); 'greedy': "
        "temperature 0 and no repetition penalty (the 135M base model then loops to the token cap).",
    )
    eval_samples: int = Field(
        1,
        ge=1,
        description="Sampled answers per evaluation item (seeds seed, seed+1, ...; greedy decoding uses 1). "
        "Each model's lengths are averaged per item before the CIs and the paired difference, so the "
        "sampling noise of single answers does not hide a change of the model.",
    )

    def extender_settings(self) -> SFTSettings:
        return self.extender_sft or self.sft
