"""Generation backends for training loops: the same backends as evaluation, one per set of weights.

A training method generates with the base model first and then with the weights it trained
(a LoRA adapter, or a full model directory with ``lora=False``). ``BackendPool.get(weights)``
builds the backend for those weights once and keeps at most ``max_loaded`` loaded, so a loop
alternating Generator and Extender does not reload them, and ``release()`` frees memory before
training.
"""

from __future__ import annotations

import gc
import logging
from collections import OrderedDict
from pathlib import Path

from slbench.harness.backends import Backend, create_backend
from slbench.harness.models import MODEL_ALIASES, resolve_model

log = logging.getLogger(__name__)


class BackendPool:
    """Backends keyed by weights (None = the base model)."""

    def __init__(
        self,
        backend: str,
        model: str,
        *,
        lora: bool = True,
        batch_size: int = 8,
        device: str = "auto",
        dtype: str = "auto",
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        max_loaded: int = 2,
    ) -> None:
        self.backend = backend
        self.model = model
        self.lora = lora
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.max_loaded = max_loaded
        self._loaded: OrderedDict[str | None, Backend] = OrderedDict()

    def base_model_dir(self) -> Path:
        return resolve_model(self.model) if self.model in MODEL_ALIASES else Path(self.model)

    def _build(self, weights: Path | None) -> Backend:
        if self.backend == "openai":
            if weights is not None:
                raise ValueError(
                    "the openai backend generates with the served base model only; trained weights "
                    f"({weights}) need the hf, vllm or llamacpp backend"
                )
            if not self.base_url:
                raise ValueError("the openai backend needs base_url")
            return create_backend(
                "openai", model=self.model, base_url=self.base_url, api_key_env=self.api_key_env
            )
        model_dir = self.base_model_dir()
        adapter = weights if self.lora else None
        if weights is not None and not self.lora:
            model_dir = weights  # full fine-tuning wrote a whole model
        if self.backend == "vllm":
            return create_backend("vllm", model=model_dir, adapter=adapter)
        if self.backend == "llamacpp":
            # Trained weights are merged and exported to an f16 GGUF once (cached by their files).
            return create_backend("llamacpp", model=model_dir, adapter=adapter, batch_size=self.batch_size)
        return create_backend(
            "hf",
            model=model_dir,
            adapter=adapter,
            batch_size=self.batch_size,
            device=self.device,
            dtype=self.dtype,
        )

    def get(self, weights: Path | None) -> Backend:
        key = None if weights is None else str(weights)
        if key in self._loaded:
            self._loaded.move_to_end(key)
            return self._loaded[key]
        while len(self._loaded) >= self.max_loaded:
            _, old = self._loaded.popitem(last=False)
            old.close()
        log.info("loading a %s backend for %s", self.backend, key or "the base model")
        self._loaded[key] = self._build(weights)
        return self._loaded[key]

    def release(self) -> None:
        """Close every backend (before training, or at the end)."""
        while self._loaded:
            _, backend = self._loaded.popitem()
            backend.close()
        gc.collect()
