"""Generation throughput of the local backends on fixed-length synthetic prompts.

Every run decodes exactly ``new_tokens`` per row: EOS is suppressed until then (the
``min_new_tokens`` of the hf and llamacpp backends, transformers' ``min_new_tokens``
semantics), so all rows of a batch run the same number of steps and figures compare across
batch sizes and backends. Prompts are chat-rendered user messages cut so that the rendered
prompt is exactly ``prompt_tokens`` tokens, each row different. tokens/s counts generated
tokens over the wall time of the whole ``generate`` call, prefill included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from slbench.harness.backends.base import Backend, GenerationParams, GenerationRequest
from slbench.harness.bench.limits import Machine, ModelShape, generation_limit

log = logging.getLogger(__name__)

_FILLER = (
    "Write a detailed, well organised essay about the history of lighthouses, the people who kept them, "
    "the engineering of their lenses and towers, the storms they survived, and what their slow decline "
    "after automation meant for the coastal towns that had grown around them. Describe the daily routine "
    "of a keeper, the letters they wrote, the supply boats, the logbooks, and the silence of long winters. "
)


@dataclass(frozen=True)
class GenerationRow:
    """One measured configuration and its limit."""

    backend: str
    decoder: str
    device: str
    dtype: str
    batch: int
    prompt_tokens: int
    new_tokens: int
    generated: int
    wall_s: float
    tokens_per_s: float
    limit_tokens_per_s: float
    ratio: float
    bound: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fixed_length_requests(
    count_prompt: Callable[[GenerationRequest], int], n: int, prompt_tokens: int
) -> list[GenerationRequest]:
    """``n`` different requests whose rendered prompt has exactly ``prompt_tokens`` tokens.

    The user message is cut word by word until the rendered prompt fits; a chat template that
    makes that impossible (every cut overshoots) raises instead of running a shorter prompt.
    """
    requests = []
    for i in range(n):
        words = f"Request {i}. {_FILLER * 40}".split()
        low, high = 1, len(words)
        while low < high:  # the longest prefix of words whose rendered prompt fits
            mid = (low + high + 1) // 2
            if count_prompt(GenerationRequest.from_prompt(" ".join(words[:mid]))) <= prompt_tokens:
                low = mid
            else:
                high = mid - 1
        request = GenerationRequest.from_prompt(" ".join(words[:low]))
        short = prompt_tokens - count_prompt(request)
        # Pad the last few tokens with single-token words so the length is exact.
        while short > 0:
            request = GenerationRequest.from_prompt(request.messages[-1]["content"] + " a" * short)
            short = prompt_tokens - count_prompt(request)
        if short < 0:
            raise ValueError(f"cannot build a prompt of exactly {prompt_tokens} tokens with this tokenizer")
        requests.append(request)
    return requests


def time_generation(
    backend: Backend, requests: Sequence[GenerationRequest], new_tokens: int
) -> tuple[float, int]:
    """Wall seconds and generated tokens for one ``generate`` call forced to ``new_tokens`` per row."""
    params = GenerationParams(max_new_tokens=new_tokens)
    started = time.perf_counter()
    # min_new_tokens is the hf backend's own option (EOS suppressed), beyond the Backend contract.
    hf_backend: Any = backend
    generations = hf_backend.generate(requests, params, min_new_tokens=new_tokens)
    wall = time.perf_counter() - started
    return wall, sum(g.n_tokens for g in generations)


@dataclass(frozen=True)
class GenerationCase:
    """What to measure: a backend already built, its label and the bytes it reads per step."""

    backend: Backend
    name: str
    decoder: str
    device: str
    dtype: torch.dtype  # compute dtype of matmuls (the limit's matmul rate)
    weight_bytes: float
    kv_dtype_bytes: int
    #: What the row's ``dtype`` column says when the weights are not ``dtype`` (a quantised GGUF).
    weights_label: str | None = None


def bench_case(
    case: GenerationCase,
    shape: ModelShape,
    machine: Machine,
    batches: Sequence[int],
    new_tokens: Sequence[int],
    prompt_tokens: int,
) -> list[GenerationRow]:
    """Measure ``case`` at every batch x new-token count (a short warm-up first)."""
    requests = fixed_length_requests(case.backend.prompt_tokens, max(batches), prompt_tokens)
    time_generation(case.backend, requests[:1], 4)  # first-call costs (allocations, lazy imports)
    rows = []
    for n_new in new_tokens:
        for batch in batches:
            if hasattr(case.backend, "batch_size"):
                case.backend.batch_size = batch
            wall, generated = time_generation(case.backend, requests[:batch], n_new)
            limit, bound = generation_limit(
                shape,
                machine,
                batch=batch,
                prompt_tokens=prompt_tokens,
                new_tokens=n_new,
                weight_bytes=case.weight_bytes,
                kv_dtype_bytes=case.kv_dtype_bytes,
                dtype=case.dtype,
            )
            rate = generated / wall
            rows.append(
                GenerationRow(
                    backend=case.name,
                    decoder=case.decoder,
                    device=case.device,
                    dtype=case.weights_label or str(case.dtype).removeprefix("torch."),
                    batch=batch,
                    prompt_tokens=prompt_tokens,
                    new_tokens=n_new,
                    generated=generated,
                    wall_s=round(wall, 3),
                    tokens_per_s=round(rate, 2),
                    limit_tokens_per_s=round(limit, 1),
                    ratio=round(rate / limit, 3),
                    bound=bound,
                )
            )
            log.info("generation %s b=%d n=%d: %.1f tok/s (limit %.0f)", case.name, batch, n_new, rate, limit)
    return rows


def hf_case(model_dir: Path, device: str, dtype: str, decoder: str) -> tuple[GenerationCase, ModelShape]:
    from slbench.harness.backends.hf import HFBackend

    backend = HFBackend(model_dir, device=device, dtype=dtype, decoder=decoder)  # type: ignore[arg-type]
    shape = ModelShape.from_model(backend.model)
    size = torch.empty((), dtype=backend.dtype).element_size()
    case = GenerationCase(
        backend, "hf", backend.decoder, str(backend.device), backend.dtype, shape.n_params * size, size
    )
    return case, shape


def llamacpp_case(
    model_dir: Path, shape: ModelShape, threads: int | None = None, gguf: Path | None = None
) -> GenerationCase:
    """llama.cpp on ``gguf`` (default: what the backend runs, the embedded model's f16 export).

    It reads the GGUF's bytes per step and keeps its KV in f16. ``threads`` should match torch's
    (``--threads``) so that both backends get the same cores.
    """
    from slbench.harness.backends.llamacpp_backend import LlamaCppBackend

    backend = LlamaCppBackend(model_dir, gguf=gguf, n_threads=threads)
    # Quantised and f16 blocks are multiplied in float32 on CPU: the fp32 matmul rate applies.
    return GenerationCase(
        backend,
        "llamacpp",
        "llama.cpp",
        "cpu",
        torch.float32,
        backend.gguf.stat().st_size,
        2,
        weights_label=f"gguf {gguf_weight_type(backend.gguf)}",
    )


def shipped_gguf(model_dir: Path) -> Path | None:
    """The embedded model's own 4-bit file (fastest for one sequence; it stops scaling with batch)."""
    from slbench.harness.models.embedded import EMBEDDED_NAME, embedded_gguf_path

    return embedded_gguf_path() if model_dir.name.startswith(EMBEDDED_NAME) else None


def gguf_weight_type(path: Path) -> str:
    """The GGUF's dominant weight type (e.g. ``Q4_1``, ``F16``): the type of most 2-D tensor bytes."""
    import gguf

    by_type: dict[str, int] = {}
    for tensor in gguf.GGUFReader(path).tensors:
        if len(tensor.shape) == 2:
            name = tensor.tensor_type.name
            by_type[name] = by_type.get(name, 0) + int(tensor.n_bytes)
    return max(by_type, key=lambda name: by_type[name]) if by_type else "unknown"
