"""llama.cpp (Q4_1 file, q8_0 and f16 exports) vs the hf backend at one thread (docs/benchmarks.md).

Batches 1, 8 and 32 for both backends (llama.cpp decodes a batch in one ``llama_decode`` per step),
100-token prompts, 128 new tokens, EOS suppressed; two rounds, so the second runs warm.
"""

from __future__ import annotations

import gc
from typing import Any

import torch

from slbench.harness.backends.hf import HFBackend
from slbench.harness.backends.llamacpp_backend import LlamaCppBackend
from slbench.harness.bench.generation import fixed_length_requests, time_generation
from slbench.harness.models import resolve_model
from slbench.harness.models.embedded import embedded_gguf_path
from slbench.harness.models.gguf_export import cached_gguf

BATCHES = (1, 8, 32)


def main() -> None:
    torch.set_num_threads(1)
    model_dir = resolve_model("embedded")
    files = {
        "q4_1": embedded_gguf_path(),
        "f16": cached_gguf(model_dir, None, "f16"),
        "q8_0": cached_gguf(model_dir, None, "q8_0"),
    }
    for _round in range(2):
        for name, path in files.items():
            llama = LlamaCppBackend(model_dir, gguf=path, n_threads=1)
            measure(llama, f"llamacpp {name}")
            llama.close()
            gc.collect()
        hf = HFBackend(model_dir, batch_size=max(BATCHES))
        measure(hf, "hf fp32")
        del hf
        gc.collect()


def measure(backend: Any, label: str) -> None:
    """Print tokens/s at each of BATCHES (after a short warm-up); the backend's batch_size is set per row."""
    requests = fixed_length_requests(backend.prompt_tokens, max(BATCHES), 100)
    time_generation(backend, requests[:1], 4)
    for batch in BATCHES:
        backend.batch_size = batch
        wall, n = time_generation(backend, requests[:batch], 128)
        print(f"{label} b{batch}: {n / wall:.1f} tok/s", flush=True)


if __name__ == "__main__":
    main()
