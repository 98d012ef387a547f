"""llama.cpp backend: the same GGUF the judge server runs, in process, one request at a time.

On a CPU, llama.cpp decodes one sequence about three times faster than transformers in
float32 (its 4-bit weights move a sixth of the bytes per token; docs/benchmarks.md has the
figures), while transformers wins once many prompts decode together. So this backend is the
choice for few prompts or interactive runs on CPU; ``hf`` with a batch stays the choice for
large evaluations.

Prompts are rendered and tokenised by the model directory's transformers tokenizer and chat
template, and outputs decoded by it, exactly as the ``hf`` backend does, so both backends see
the same token ids; llama.cpp only runs the network and samples. Requests run sequentially and
llama.cpp keeps the KV cache of the longest common prefix with the previous prompt, so a shared
system prompt is computed once. Every sampling knob is passed explicitly: llama-cpp-python's
own defaults (top_k 40, top_p 0.95, min_p 0.05, temperature 0.8) never apply.

Trained weights run too: a LoRA ``adapter``, or a full model directory without a ``*.gguf``, is
merged and exported once to an f16 GGUF in the cache (``slbench.harness.models.gguf_export``,
tokenizer metadata from the embedded GGUF). The embedded base is exported the same way rather
than run from its Q4_1 file, so that base and trained models run at one precision.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm
from transformers import AutoTokenizer

from slbench.harness.backends.base import Backend, GenerationParams, GenerationRequest
from slbench.harness.backends.stops import cut_at_stop, stop_checker
from slbench.harness.models.gguf_export import OutType, cached_gguf
from slbench.harness.registry import MissingDependencyError
from slbench.harness.types import FinishReason, Generation

log = logging.getLogger(__name__)


def default_gguf(model_dir: Path) -> Path:
    """The single ``*.gguf`` inside ``model_dir`` (a model that ships its own GGUF)."""
    found = sorted(model_dir.glob("*.gguf"))
    if len(found) != 1:
        raise FileNotFoundError(
            f"{model_dir}: the llamacpp backend needs a GGUF file; pass gguf=PATH "
            f"({len(found)} *.gguf files found in the model directory)"
        )
    return found[0]


def resolve_gguf(
    model_dir: Path, gguf: Path | None, adapter: Path | None, gguf_type: OutType = "f16"
) -> tuple[Path, bool]:
    """The GGUF to run and whether it was exported from safetensors (else it was found as is).

    An explicit ``gguf`` wins; an adapter is merged and exported (cached). The embedded base is
    exported too (not run from its Q4_1 file), so that a base model and the models trained from it
    run at the same precision and a length difference between them is not a quantisation
    difference; pass ``gguf=embedded_gguf_path()`` for the 4-bit file. Any other model runs its
    own GGUF (``default_gguf``), and failing that an export of the model directory itself.
    """
    if gguf is not None:
        if adapter is not None:
            raise ValueError("pass gguf= or adapter=, not both: a GGUF file already holds its weights")
        return gguf, False
    from slbench.harness.models.embedded import EMBEDDED_NAME

    if adapter is None and not model_dir.name.startswith(EMBEDDED_NAME):
        try:
            return default_gguf(model_dir), False
        except FileNotFoundError:
            if not (model_dir / "config.json").is_file():
                raise
    return cached_gguf(model_dir, adapter, gguf_type), True


class LlamaCppBackend(Backend):
    """A GGUF model run by llama-cpp-python, with the transformers tokenizer of ``model``."""

    def __init__(
        self,
        model: str | Path,
        *,
        gguf: str | Path | None = None,
        adapter: str | Path | None = None,
        gguf_type: OutType = "f16",
        n_ctx: int | None = None,
        n_threads: int | None = None,
        batch_size: int = 1,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise MissingDependencyError(
                "the llamacpp backend needs llama-cpp-python: `pip install 'slbench[judge]'`"
            ) from exc
        self.model_path = Path(model)
        self.adapter = None if adapter is None else Path(adapter)
        self.gguf, self.exported = resolve_gguf(
            self.model_path, None if gguf is None else Path(gguf), self.adapter, gguf_type
        )
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.n_threads = n_threads or os.cpu_count() or 1
        self.batch_size = batch_size  # requests are decoded one at a time; kept for the common options
        self.llm = Llama(
            model_path=str(self.gguf),
            n_ctx=n_ctx or 0,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            n_batch=512,
            verbose=False,
        )
        self.context_window = int(self.llm.n_ctx())
        self._eos_ids = self._end_of_turn_ids()

    def _end_of_turn_ids(self) -> set[int]:
        eos = {int(self.llm.token_eos())}
        if self.tokenizer.eos_token_id is not None:
            eos.add(int(self.tokenizer.eos_token_id))
        return eos

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "llamacpp",
            "model": str(self.model_path),
            "adapter": None if self.adapter is None else str(self.adapter),
            "gguf": str(self.gguf),
            "gguf_exported": self.exported,
            "n_threads": self.n_threads,
            "context_window": self.context_window,
        }

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def render(self, request: GenerationRequest) -> str:
        """The exact prompt text the model sees, prefill included (the hf backend's rendering)."""
        text = self.tokenizer.apply_chat_template(
            list(request.messages), tokenize=False, add_generation_prompt=True
        )
        return str(text) + request.prefill

    def prompt_tokens(self, request: GenerationRequest) -> int:
        return len(self.tokenizer.encode(self.render(request), add_special_tokens=False))

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        *,
        progress: bool = False,
        min_new_tokens: int = 0,
    ) -> list[Generation]:
        """Complete every request in order; ``min_new_tokens`` suppresses EOS as in the hf backend."""
        results = []
        for request in tqdm(requests, desc="generating", unit="item", disable=not progress):
            ids = self.tokenizer.encode(self.render(request), add_special_tokens=False)
            results.append(self._complete(ids, params, min_new_tokens))
        return results

    def _decode(self, tokens: list[int]) -> str:
        return str(self.tokenizer.decode(tokens, skip_special_tokens=True))

    def _complete(self, prompt: list[int], params: GenerationParams, min_new_tokens: int) -> Generation:
        if len(prompt) + params.max_new_tokens > self.context_window:
            raise ValueError(
                f"prompt ({len(prompt)} tokens) + max_new_tokens ({params.max_new_tokens}) exceed the "
                f"llama.cpp context window ({self.context_window})"
            )
        from llama_cpp import LogitsProcessorList

        check = stop_checker(self._decode, params.stop)
        tokens: list[int] = []
        eos = sorted(self._eos_ids)

        def suppress_eos(
            _ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
        ) -> npt.NDArray[np.single]:
            if len(tokens) < min_new_tokens:
                scores[eos] = -np.inf
            return scores

        self.llm.set_seed(params.seed)
        finish: FinishReason = "length"
        started = time.perf_counter()
        stream = self.llm.generate(
            prompt,
            temp=params.temperature,
            top_k=params.top_k,
            top_p=params.top_p,
            min_p=0.0,
            repeat_penalty=params.repetition_penalty,
            logits_processor=LogitsProcessorList([suppress_eos]) if min_new_tokens > 0 else None,
        )
        for token in stream:
            if token in self._eos_ids:
                finish = "stop"
                break
            tokens.append(int(token))
            if check is not None and check(tokens):
                finish = "stop"
                break
            if len(tokens) >= params.max_new_tokens:
                break
        latency = time.perf_counter() - started
        text, finish = cut_at_stop(self._decode(tokens), finish, params.stop)
        return Generation(text=text, n_tokens=len(tokens), finish_reason=finish, latency_s=latency)

    def close(self) -> None:
        self.llm.close()
