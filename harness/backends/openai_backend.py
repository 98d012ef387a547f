"""Any OpenAI-compatible chat endpoint (OpenAI, ``vllm serve``, llama.cpp's server, ...).

``model`` is the served model's name. A server with LoRA modules (``slbench serve --engine vllm``,
``vllm serve --enable-lora --lora-modules NAME=PATH``) serves each adapter under its own name, so
``model="generator"`` generates with that adapter and the base model's name with the base.

The API key is read from the environment variable named by ``api_key_env`` and is never stored
on the backend's description, so it cannot reach a run log.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tqdm import tqdm

from slbench.harness.backends.base import Backend, GenerationParams, GenerationRequest
from slbench.harness.types import FinishReason, Generation


class OpenAIBackend(Backend):
    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 4,
        timeout_s: float = 600.0,
        max_retries: int = 3,
        context_window: int = 8192,
        tokenizer: str | None = None,
    ) -> None:
        from openai import OpenAI

        self.model = model
        self.base_url = base_url
        self.concurrency = concurrency
        self.context_window = context_window
        # Local servers accept any key; a placeholder keeps the openai client from refusing to start.
        key = os.environ.get(api_key_env) or "not-needed"
        self._client = OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=max_retries)
        self._tokenizer: Any = None
        if tokenizer is not None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(tokenizer)

    def describe(self) -> dict[str, Any]:
        return {"backend": "openai", "model": self.model, "base_url": self.base_url,
                "concurrency": self.concurrency, "context_window": self.context_window}  # fmt: skip

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            raise ValueError(
                "the openai backend counts tokens only when given --tokenizer (a local tokenizer dir)"
            )
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def _one(self, request: GenerationRequest, params: GenerationParams) -> Generation:
        messages: list[dict[str, str]] = list(request.messages)
        if request.prefill:
            # Servers that support assistant prefill (vLLM with continue_final_message, llama.cpp)
            # continue this message; the returned text is the continuation only.
            messages.append({"role": "assistant", "content": request.prefill})
        extra: dict[str, Any] = {"top_k": params.top_k, "repetition_penalty": params.repetition_penalty}
        if request.prefill:
            extra.update(continue_final_message=True, add_generation_prompt=False)
        started = time.perf_counter()
        response = self._client.chat.completions.create(
            model=self.model,
            messages=messages,  # type: ignore[arg-type]
            max_tokens=params.max_new_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            seed=params.seed,
            stop=list(params.stop) or None,
            extra_body=extra,
        )
        choice = response.choices[0]
        finish: FinishReason = "length" if choice.finish_reason == "length" else "stop"
        usage = response.usage
        return Generation(
            text=choice.message.content or "",
            n_tokens=usage.completion_tokens if usage else 0,
            finish_reason=finish,
            latency_s=time.perf_counter() - started,
        )

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        *,
        progress: bool = False,
    ) -> list[Generation]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(self._one, r, params) for r in requests]
            return [f.result() for f in tqdm(futures, desc="generating", disable=not progress)]
