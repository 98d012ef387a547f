"""transformers backend: batched chat generation on CPU or CUDA, optional LoRA adapter.

Prompts are rendered with the model's chat template; a request's ``prefill`` is appended after
the generation prompt so the model continues the assistant turn (the Extender's continuation
and plan-and-write use it; those prompts batch like any other). Requests are sorted by prompt
length, so rows that share a batch need little padding; results come back in request order.

Three decoders (``decoder="auto"`` picks graphs on CUDA, rows on CPU):

- ``rows`` (``hf_decode.RowDecoder``) keeps the batch full: finished rows leave on the step they
  end and queued prompts take their place, over a preallocated cache;
- ``graphs`` (``hf_graph.GraphDecoder``, CUDA only) replays each decode step as a CUDA graph on
  static batches, removing the per-kernel launch cost that dominates small models on a GPU;
- ``generate`` runs transformers' ``model.generate`` on static batches (the fallback for models
  the other two do not drive, and the baseline in ``slbench bench``).

All are greedy-exact:
the same request gives the same tokens at any batch size (up to float rounding of the batched
matmuls, which tests check on the tiny model in float32).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from tqdm import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

from slbench.harness.backends import hf_attention
from slbench.harness.backends.base import ChatTemplateBackend, GenerationParams, GenerationRequest
from slbench.harness.backends.device import pick_device, pick_dtype
from slbench.harness.backends.hf_decode import DecodeSettings, RowDecoder, RowResult, supports_row_decoding
from slbench.harness.backends.hf_graph import GraphDecoder
from slbench.harness.backends.stops import cut_at_stop, stop_checker
from slbench.harness.types import FinishReason, Generation

Decoder = Literal["auto", "rows", "graphs", "generate"]
DECODERS: tuple[Decoder, ...] = ("auto", "rows", "graphs", "generate")

log = logging.getLogger(__name__)


class HFBackend(ChatTemplateBackend):
    """A transformers causal LM (optionally with a merged LoRA adapter) behind the Backend API.

    ``batch_size`` is the number of sequences decoded together; ``decoder`` picks the decode
    loop (see the module docstring); ``describe()`` records the one in use.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        adapter: str | Path | None = None,
        batch_size: int = 8,
        device: str = "auto",
        dtype: str = "auto",
        decoder: Decoder = "auto",
    ) -> None:
        if decoder not in DECODERS:
            raise ValueError(f"unknown decoder {decoder!r}; use one of {', '.join(DECODERS)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model_path = Path(model)
        self.adapter = None if adapter is None else Path(adapter)
        self.batch_size = batch_size
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        # SDPA (slbench's GQA-aware wrapper): our decoders pass boolean masks, which SDPA reads.
        model_obj: Any = AutoModelForCausalLM.from_pretrained(
            self.model_path, dtype=self.dtype, attn_implementation=hf_attention.register()
        )
        if self.adapter is not None:
            from peft import PeftModel

            # Merged for speed: generation never needs the adapter separate.
            model_obj = PeftModel.from_pretrained(model_obj, str(self.adapter)).merge_and_unload()
        self.model = model_obj.to(self.device).eval()
        self.context_window = int(getattr(self.model.config, "max_position_embeddings", 4096))
        self._eos_ids = self._end_of_turn_ids()
        self.decoder = self._resolve_decoder(decoder)

    def _resolve_decoder(self, decoder: Decoder) -> Decoder:
        on_cuda = self.device.type == "cuda"
        if decoder == "graphs" and not on_cuda:
            raise ValueError("the graphs decoder needs a CUDA device; use rows on CPU")
        if decoder == "auto":
            decoder = "graphs" if on_cuda else "rows"
        if decoder != "generate" and not supports_row_decoding(self.model):
            log.info("slbench's decoders do not drive %s; using model.generate", self.model_path)
            return "generate"
        return decoder

    def _end_of_turn_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        eos = [ids] if isinstance(ids, int) else list(ids or [])
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in eos:
            eos.append(self.tokenizer.eos_token_id)
        return eos

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "hf",
            "model": str(self.model_path),
            "adapter": None if self.adapter is None else str(self.adapter),
            "device": str(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "batch_size": self.batch_size,
            "decoder": self.decoder,
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
        """Complete every request (results in request order).

        ``min_new_tokens`` suppresses EOS before that many tokens, as transformers'
        ``min_new_tokens`` does: benchmarks use it to force exact output lengths.
        """
        prompts = [self.render(r) for r in requests]
        encoded = [self.tokenizer.encode(p, add_special_tokens=False) for p in prompts]
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
        results: list[Generation | None] = [None] * len(prompts)
        bar = tqdm(total=len(prompts), desc="generating", unit="item", disable=not progress)
        if self.decoder in ("rows", "graphs"):
            check = stop_checker(self._decode, params.stop)
            settings = self._settings(params, min_new_tokens)
            decoder = (RowDecoder if self.decoder == "rows" else GraphDecoder)(
                self.model, encoded, settings, check
            )
            for row in decoder.run(order):
                results[row.index] = self._row_generation(row, params)
                bar.update(1)
        else:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                generations = self._generate_batch([encoded[i] for i in batch], params, min_new_tokens)
                for index, generation in zip(batch, generations, strict=True):
                    results[index] = generation
                bar.update(len(batch))
        bar.close()
        return [g for g in results if g is not None]

    def _settings(self, params: GenerationParams, min_new_tokens: int) -> DecodeSettings:
        return DecodeSettings(
            max_new_tokens=params.max_new_tokens,
            eos_ids=tuple(self._eos_ids),
            pad_id=int(self.tokenizer.pad_token_id),
            batch_size=self.batch_size,
            min_new_tokens=min_new_tokens,
            stop=params.stop,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k,
            repetition_penalty=params.repetition_penalty,
            seed=params.seed,
        )

    def _decode(self, tokens: list[int]) -> str:
        return str(self.tokenizer.decode(tokens, skip_special_tokens=True))

    def _row_generation(self, row: RowResult, params: GenerationParams) -> Generation:
        text, finish = cut_at_stop(self._decode(row.tokens), row.finish_reason, params.stop)
        return Generation(text=text, n_tokens=len(row.tokens), finish_reason=finish, latency_s=row.latency_s)

    @torch.inference_mode()
    def _generate_batch(
        self, batch: list[list[int]], params: GenerationParams, min_new_tokens: int = 0
    ) -> list[Generation]:
        """One static batch through ``model.generate`` (the ``generate`` decoder)."""
        pad = self.tokenizer.pad_token_id
        width = max(len(ids) for ids in batch)
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch], device=self.device)
        attention = torch.tensor(
            [[0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=self.device
        )
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "eos_token_id": self._eos_ids,
            "pad_token_id": pad,
            "repetition_penalty": params.repetition_penalty,
            "min_new_tokens": min_new_tokens or None,
        }
        if params.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(
                do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=params.top_k
            )
            torch.manual_seed(params.seed)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        started = time.perf_counter()
        output = self.model.generate(input_ids=input_ids, attention_mask=attention, **kwargs)
        latency = time.perf_counter() - started
        return [self._decode_row(row[width:].tolist(), params, latency) for row in output]

    def _decode_row(self, new_ids: list[int], params: GenerationParams, latency: float) -> Generation:
        finish: FinishReason = "length"
        n_tokens = len(new_ids)
        for position, token in enumerate(new_ids):
            if token in self._eos_ids:
                finish, n_tokens = "stop", position
                break
        text = str(self.tokenizer.decode(new_ids[:n_tokens], skip_special_tokens=True))
        text, finish = cut_at_stop(text, finish, params.stop)
        # A row that ended with the batch (padding after EOS) counts only its own tokens.
        return Generation(text=text, n_tokens=n_tokens, finish_reason=finish, latency_s=latency)
