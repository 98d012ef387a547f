"""``EvalConfig``: every knob of ``slbench eval``, validated, with the resolved copy saved in the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Options that only the vllm backend reads; given with another backend they are refused, not ignored.
VLLM_ONLY = ("tensor_parallel_size", "data_parallel_size")


class EvalConfig(BaseModel):
    """What to generate with, on which task, and where the run directory goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    out: Path = Field(description="Run directory (created; an existing one with the same config is resumed).")
    model: str = Field(
        "embedded", description="'embedded', 'tiny', a local model dir, or the served model name."
    )
    backend: Literal["hf", "llamacpp", "vllm", "openai", "scripted"] = Field(
        "hf", description="Generation backend (llamacpp: the model's GGUF on CPU, fastest for few prompts)."
    )
    adapter: str | None = Field(None, description="A LoRA adapter directory applied on top of the model.")
    task: str = Field("slbench-lf", description="Registered task name.")
    split: str = Field("quick", description="Task split.")
    task_path: str | None = Field(None, description="Data file for tasks whose data is not shipped (longen).")
    limit: int | None = Field(None, ge=1, description="Evaluate only the first N items of the split.")
    method: Literal["direct", "plan-and-write"] = Field(
        "direct",
        description="'direct' answers each prompt in one generation; 'plan-and-write' plans paragraphs, "
        "then writes them one by one (LongWriter's AgentWrite, slbench.training.plan_and_write).",
    )
    max_new_tokens: int | None = Field(
        None, ge=1, description="Override the task's generation limit (else derived from its largest target)."
    )
    temperature: float = Field(0.0, ge=0.0, description="0 = greedy decoding (reproducible).")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    top_k: int = Field(0, ge=0, description="Top-k sampling (0 = off).")
    repetition_penalty: float = Field(1.0, gt=0.0, description="transformers/vLLM repetition penalty.")
    seed: int = Field(0, description="Sampling seed.")
    count_rule: str | None = Field(None, description="Word counting rule (default: the task's, 'longen').")
    batch_size: int = Field(8, ge=1, description="hf backend: sequences generated together.")
    dtype: str = Field(
        "auto", description="hf backend dtype: auto (bf16 on CUDA, fp32 on CPU), bfloat16, float32."
    )
    device: str = Field("auto", description="hf backend device: auto, cpu, cuda.")
    base_url: str | None = Field(None, description="openai backend: the endpoint's base URL.")
    api_key_env: str = Field("OPENAI_API_KEY", description="openai backend: env var holding the API key.")
    concurrency: int = Field(4, ge=1, description="openai backend: parallel requests.")
    shard: tuple[int, int] | None = Field(
        None, description="(index, count): generate only items whose id hashes to this shard."
    )
    tensor_parallel_size: int | None = Field(
        None, ge=1, description="vllm backend: GPUs per model replica (vLLM tensor parallel; None = 1)."
    )
    data_parallel_size: int | None = Field(
        None,
        ge=1,
        description="vllm backend: model replicas, one per GPU group, each generating a share of every "
        "batch (None = 1). GPUs used: tensor_parallel_size x data_parallel_size.",
    )

    @model_validator(mode="after")
    def _vllm_only(self) -> EvalConfig:
        given = [name for name in VLLM_ONLY if getattr(self, name) is not None]
        if given and self.backend != "vllm":
            raise ValueError(
                f"{' and '.join(given)} only apply to the vllm backend; got backend {self.backend!r} "
                "(use --backend vllm, or drop the option)"
            )
        return self

    def generation_key(self) -> dict[str, Any]:
        """The fields that change outputs: a resumed run must agree on all of them."""
        # How the work is spread (batches, requests, shards, GPUs) is not what is generated.
        skip = {"out", "limit", "batch_size", "concurrency", "shard", *VLLM_ONLY}
        return {k: v for k, v in self.model_dump(mode="json").items() if k not in skip}
