"""llama.cpp backend: the same GGUF the judge server runs, in process, many requests at a time.

On a CPU, llama.cpp decodes one sequence about three times faster than transformers in
float32 (its 4-bit weights move a sixth of the bytes per token; docs/benchmarks.md has the
figures). Up to ``batch_size`` requests decode together in one llama.cpp context of as many
sequences (``llamacpp_batch``: one ``llama_decode`` per step for all of them, a sequence's slot
refilled with the next request as soon as it ends), which multiplies the throughput on CPU.

Prompts are rendered and tokenised by the model directory's transformers tokenizer and chat
template, and outputs decoded by it, exactly as the ``hf`` backend does, so both backends see
the same token ids; llama.cpp only runs the network. Tokens are chosen in numpy with the hf
backend's semantics (``llamacpp_batch.RowSampler``: repetition penalty over the whole prompt
and output, a seeded generator per request), so llama-cpp-python's own sampler and its
defaults (top_k 40, top_p 0.95, min_p 0.05, temperature 0.8, a 64-token penalty window) never
apply. Greedy tokens at batch 1 are those of ``Llama.generate`` (tests compare them). At any
batch size above 1 a request's greedy or seeded output does not depend on the batch size or on
the other requests (a lone request is padded, see ``llamacpp_batch``); batch 1 runs llama.cpp's
one-sequence kernels, which round differently (logits up to 0.06 apart on the embedded f16
export), so its output can part from the batched one where two tokens nearly tie. Every prompt
is prefilled in full: the KV cache is not reused across requests.

Trained weights run too: a LoRA ``adapter``, or a full model directory without a ``*.gguf``, is
merged and exported once to an f16 GGUF in the cache (``slbench.harness.models.gguf_export``,
tokenizer metadata from the embedded GGUF). The embedded base is exported the same way rather
than run from its Q4_1 file, so that base and trained models run at one precision.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm
from transformers import AutoTokenizer

from slbench.harness.backends.base import ChatTemplateBackend, GenerationParams, GenerationRequest
from slbench.harness.backends.llamacpp_batch import CTX_STEP, SamplingSettings, SlotContext, decode_requests
from slbench.harness.backends.stops import cut_at_stop, stop_checker
from slbench.harness.models.gguf_export import OutType, cached_gguf
from slbench.harness.registry import MissingDependencyError
from slbench.harness.types import Generation

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


class LlamaCppBackend(ChatTemplateBackend):
    """A GGUF model run by llama-cpp-python, with the transformers tokenizer of ``model``.

    ``batch_size``: requests decoding together (llama.cpp sequences); read at every ``generate``.
    ``n_ctx``: the longest prompt + output allowed (default: the model's training context); each
    sequence gets the cells its call needs, not ``n_ctx``.
    """

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
            import llama_cpp
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
        self.batch_size = batch_size
        # Only the weights and the context parameters of this Llama are used: decoding runs in the
        # contexts of ``llamacpp_batch``, so its own KV cache is kept small.
        self.llm = llama_cpp.Llama(
            model_path=str(self.gguf),
            n_ctx=CTX_STEP,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            n_batch=512,
            verbose=False,
        )
        self.context_window = int(n_ctx or llama_cpp.llama_model_n_ctx_train(self.llm.model))
        self._eos_ids = self._end_of_turn_ids()
        self._slots: SlotContext | None = None  # the batched context, built on first use

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
            "batch_size": self.batch_size,
            "context_window": self.context_window,
        }

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        *,
        progress: bool = False,
        min_new_tokens: int = 0,
    ) -> list[Generation]:
        """Complete every request in order; ``min_new_tokens`` suppresses EOS as in the hf backend."""
        if not requests:
            return []
        import llama_cpp

        prompts = [self.tokenizer.encode(self.render(r), add_special_tokens=False) for r in requests]
        need = max(len(p) for p in prompts) + params.max_new_tokens
        for prompt in prompts:
            self._check_fits(prompt, params)
        batch = min(self.batch_size, len(prompts), int(llama_cpp.llama_max_parallel_sequences()))
        if self.batch_size > 1:
            # Batched decoding pads a lone row with a second slot, even for a single request, so
            # that a request's tokens do not depend on how many requests share the call.
            batch = max(2, batch)
        context = self._slot_context(batch, need)
        settings = SamplingSettings(
            max_new_tokens=params.max_new_tokens,
            eos_ids=frozenset(self._eos_ids),
            min_new_tokens=min_new_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k,
            repetition_penalty=params.repetition_penalty,
            seed=params.seed,
        )
        with tqdm(total=len(prompts), desc="generating", unit="item", disable=not progress) as bar:
            stops = stop_checker(self._decode, params.stop)
            done = decode_requests(context, prompts, settings, stops, batch, lambda: bar.update())
        results = []
        for row in done:
            text, finish = cut_at_stop(self._decode(row.tokens), row.finish_reason, params.stop)
            results.append(
                Generation(text=text, n_tokens=len(row.tokens), finish_reason=finish, latency_s=row.latency_s)
            )
        return results

    def _slot_context(self, n_slots: int, need: int) -> SlotContext:
        """A context of at least ``n_slots`` sequences of ``need`` tokens (kept while big enough)."""
        current = self._slots
        if current is not None and current.n_slots >= n_slots and current.slot_ctx >= need:
            return current
        if current is not None:
            current.close()
            self._slots = None
        slot_ctx = min(-(-need // CTX_STEP) * CTX_STEP, self.context_window)  # need <= the window
        self._slots = SlotContext(self.llm.model, self.llm.context_params, n_slots, slot_ctx)
        if self._slots.slot_ctx < need:
            raise RuntimeError(f"llama.cpp gave {self._slots.slot_ctx} tokens per sequence, {need} needed")
        return self._slots

    def _check_fits(self, prompt: list[int], params: GenerationParams) -> None:
        if len(prompt) + params.max_new_tokens > self.context_window:
            raise ValueError(
                f"prompt ({len(prompt)} tokens) + max_new_tokens ({params.max_new_tokens}) exceed the "
                f"llama.cpp context window ({self.context_window})"
            )

    def _decode(self, tokens: list[int]) -> str:
        return str(self.tokenizer.decode(tokens, skip_special_tokens=True))

    def close(self) -> None:
        if self._slots is not None:
            self._slots.close()
            self._slots = None
        self.llm.close()
