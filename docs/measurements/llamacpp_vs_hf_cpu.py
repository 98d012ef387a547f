"""llama.cpp (Q4_1 file, q8_0 and f16 exports) vs the hf backend at one thread (docs/benchmarks.md).

Batches 1, 8 and 32 for both backends (llama.cpp decodes a batch in one ``llama_decode`` per step),
100-token prompts, 128 new tokens, EOS suppressed; two rounds, so the second runs warm.
"""

from __future__ import annotations

import gc

import torch

from slbench.harness.backends.hf import HFBackend
from slbench.harness.backends.llamacpp_backend import LlamaCppBackend
from slbench.harness.bench.generation import fixed_length_requests, time_generation
from slbench.harness.models import resolve_model
from slbench.harness.models.embedded import embedded_gguf_path
from slbench.harness.models.gguf_export import cached_gguf


def main() -> None:
    torch.set_num_threads(1)
    model_dir = resolve_model("embedded")
    files = {
        "q4_1": embedded_gguf_path(),
        "f16": cached_gguf(model_dir, None, "f16"),
        "q8_0": cached_gguf(model_dir, None, "q8_0"),
    }
    batches = (1, 8, 32)
    for _round in range(2):
        for name, path in files.items():
            llama = LlamaCppBackend(model_dir, gguf=path, n_threads=1)
            requests = fixed_length_requests(llama.prompt_tokens, max(batches), 100)
            time_generation(llama, requests[:1], 4)
            for batch in batches:
                llama.batch_size = batch
                wall, n = time_generation(llama, requests[:batch], 128)
                print(f"llamacpp {name} b{batch}: {n / wall:.1f} tok/s", flush=True)
            llama.close()
            gc.collect()
        hf = HFBackend(model_dir, batch_size=max(batches))
        requests = fixed_length_requests(hf.prompt_tokens, max(batches), 100)
        time_generation(hf, requests[:1], 4)
        for batch in batches:
            hf.batch_size = batch
            wall, n = time_generation(hf, requests[:batch], 128)
            print(f"hf fp32 b{batch}: {n / wall:.1f} tok/s", flush=True)
        del hf
        gc.collect()


if __name__ == "__main__":
    main()
