"""vLLM backend (CUDA only; ``pip install 'slbench[gpu]'``). Imported only when selected.

- ``max_tokens`` is always passed explicitly: vLLM's SamplingParams default is 16 tokens.
- LoRA per request: several adapters on one base model (the Generator and the Extender), each
  sent as a ``LoRARequest`` with a stable integer id (``LoRATable``). ``adapter=PATH`` is the
  default adapter of ``generate``; ``adapters={NAME: PATH}`` registers more, ``with_adapter(NAME)``
  is a backend that generates with one of them, and ``generate_with`` mixes them in one batch.
- Tensor parallel: ``tensor_parallel_size`` GPUs per model replica, inside vLLM.
- Data parallel: ``data_parallel_size`` replicas the way vLLM runs them offline (a single-process
  ``LLM(data_parallel_size=N)`` is refused by vLLM, PR #27282): one process per DP rank with the
  ``VLLM_DP_*`` variables set, each holding its own ``LLM`` (vLLM's
  ``examples/features/data_parallel/data_parallel_offline.py``). Every batch is split into even
  contiguous shards, one per rank, and the outputs are put back in request order.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slbench.harness.backends.base import Backend, ChatTemplateBackend, GenerationParams, GenerationRequest
from slbench.harness.types import FinishReason, Generation

try:
    import vllm
except ImportError as exc:  # the registry turns this into "install slbench[gpu]"
    raise ImportError("vllm is not installed", name="vllm") from exc

DEFAULT_ADAPTER = "adapter"  # the name ``adapter=PATH`` is registered under
# Data-parallel engines step together, so a rank without work still gets one short request.
_PLACEHOLDER_PROMPT = "."
_DP_STARTUP_S = 1800.0

# (text, generated token count, vLLM finish reason) of one request.
Completion = tuple[str, int, str | None]


@dataclass(frozen=True)
class LoRASpec:
    """One adapter as vLLM sees it: a unique name, a unique integer id (>= 1) and its path."""

    vllm_name: str
    int_id: int
    path: str


class LoRATable:
    """Adapter names -> ``LoRASpec``, stable for the backend's life.

    vLLM caches a loaded adapter by its integer id and compares requests by name, so an id and a
    name must always mean one set of weights: a name registered again with other weights (the
    next iteration's Generator) gets a fresh id and vLLM name; registering the same pair again
    returns the same spec, so the adapter is not loaded twice.
    """

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str], LoRASpec] = {}
        self._current: dict[str, LoRASpec] = {}
        self._vllm_names: set[str] = set()

    def add(self, name: str, path: str | Path) -> LoRASpec:
        """Point ``name`` at the adapter in ``path`` and return its spec."""
        resolved = str(Path(path).resolve())
        spec = self._pairs.get((name, resolved))
        if spec is None:
            int_id = len(self._pairs) + 1
            vllm_name = name if name not in self._vllm_names else f"{name}@{int_id}"
            spec = LoRASpec(vllm_name, int_id, resolved)
            self._pairs[(name, resolved)] = spec
            self._vllm_names.add(vllm_name)
        self._current[name] = spec
        return spec

    def get(self, name: str) -> LoRASpec:
        if name not in self._current:
            known = ", ".join(sorted(self._current)) or "none"
            raise ValueError(f"no LoRA adapter named {name!r} on this vLLM backend (registered: {known})")
        return self._current[name]

    def names(self) -> list[str]:
        return list(self._current)

    def __len__(self) -> int:
        return len(self._current)


def shard_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """Even contiguous ``[start, end)`` shards of ``n`` items over ``size`` ranks (the first get one more)."""
    if size < 1:
        raise ValueError(f"data_parallel_size must be >= 1, got {size}")
    floor, remainder = divmod(n, size)

    def start(rank: int) -> int:
        return rank * floor + min(rank, remainder)

    return [(start(rank), start(rank + 1)) for rank in range(size)]


def sampling_kwargs(params: GenerationParams) -> dict[str, Any]:
    """``vllm.SamplingParams`` arguments; ``max_tokens`` always set (vLLM's default is 16)."""
    return {
        "max_tokens": params.max_new_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": params.top_k if params.top_k > 0 else -1,
        "repetition_penalty": params.repetition_penalty,
        "seed": params.seed,
        "stop": list(params.stop) or None,
    }


def _run_llm(
    llm: Any, prompts: list[str], sampling: dict[str, Any], loras: list[LoRASpec | None], progress: bool
) -> list[Completion]:
    """One ``LLM.generate`` call with a ``LoRARequest`` (or None) per prompt."""
    from vllm.lora.request import LoRARequest

    requests = [None if s is None else LoRARequest(s.vllm_name, s.int_id, s.path) for s in loras]
    outputs = llm.generate(
        prompts,
        vllm.SamplingParams(**sampling),
        lora_request=requests if any(r is not None for r in requests) else None,
        use_tqdm=progress,
    )
    return [(o.outputs[0].text, len(o.outputs[0].token_ids), o.outputs[0].finish_reason) for o in outputs]


class _LocalEngine:
    """One ``LLM`` in this process (tensor parallelism is vLLM's own)."""

    def __init__(self, engine_args: dict[str, Any]) -> None:
        self.llm = vllm.LLM(**engine_args)
        self.tokenizer = self.llm.get_tokenizer()
        self.context_window = int(self.llm.llm_engine.model_config.max_model_len)

    def run(
        self, prompts: list[str], sampling: dict[str, Any], loras: list[LoRASpec | None], progress: bool
    ) -> list[Completion]:
        return _run_llm(self.llm, prompts, sampling, loras, progress)

    def close(self) -> None:
        del self.llm


def _dp_worker(conn: Any, rank: int, size: int, port: int, engine_args: dict[str, Any]) -> None:
    """One data-parallel rank: its own ``LLM``, serving generate calls from the parent over a pipe."""
    os.environ.update({"VLLM_DP_RANK": str(rank), "VLLM_DP_RANK_LOCAL": str(rank), "VLLM_DP_SIZE": str(size),
                       "VLLM_DP_MASTER_IP": "127.0.0.1", "VLLM_DP_MASTER_PORT": str(port)})  # fmt: skip
    try:
        llm = vllm.LLM(**engine_args)
        conn.send(("ready", int(llm.llm_engine.model_config.max_model_len)))
        while (message := conn.recv()) is not None:
            conn.send(("ok", _run_llm(llm, *message)))
    except Exception as exc:  # reported to the parent, which raises it with the rank
        conn.send(("error", f"{type(exc).__name__}: {exc}"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _DataParallelEngines:
    """``size`` vLLM replicas in worker processes; each batch is sharded over them in order."""

    def __init__(self, engine_args: dict[str, Any], size: int) -> None:
        import multiprocessing

        from transformers import AutoTokenizer

        # spawn: CUDA cannot be initialised again in a forked child.
        context = multiprocessing.get_context("spawn")
        port = _free_port()
        self.workers: list[tuple[Any, Any]] = []
        for rank in range(size):
            parent, child = context.Pipe()
            process = context.Process(target=_dp_worker, args=(child, rank, size, port, engine_args))
            process.start()
            child.close()
            self.workers.append((process, parent))
        windows = [self._receive(rank, timeout=_DP_STARTUP_S) for rank in range(size)]
        self.context_window = int(min(windows))
        self.tokenizer = AutoTokenizer.from_pretrained(engine_args["model"])

    def _receive(self, rank: int, timeout: float | None = None) -> Any:
        process, conn = self.workers[rank]
        if timeout is not None and not conn.poll(timeout):
            raise RuntimeError(f"vLLM data-parallel rank {rank} did not start within {timeout:.0f} s")
        try:
            status, value = conn.recv()
        except EOFError as exc:
            raise RuntimeError(f"vLLM data-parallel rank {rank} exited (code {process.exitcode})") from exc
        if status == "error":
            raise RuntimeError(f"vLLM data-parallel rank {rank}: {value}")
        return value

    def run(
        self, prompts: list[str], sampling: dict[str, Any], loras: list[LoRASpec | None], progress: bool
    ) -> list[Completion]:
        bounds = shard_bounds(len(prompts), len(self.workers))
        for rank, (start, end) in enumerate(bounds):
            _, conn = self.workers[rank]
            if start == end:
                conn.send(([_PLACEHOLDER_PROMPT], {**sampling, "max_tokens": 1}, [None], False))
            else:
                conn.send((prompts[start:end], sampling, loras[start:end], progress and rank == 0))
        results: list[Completion] = []
        for rank, (start, end) in enumerate(bounds):
            shard = self._receive(rank)
            if start < end:
                results.extend(shard)
        return results

    def close(self) -> None:
        for _, conn in self.workers:
            with contextlib.suppress(OSError):  # a rank that already exited
                conn.send(None)
        for process, _ in self.workers:
            process.join(timeout=120)
            if process.is_alive():
                process.kill()
        self.workers = []


class VLLMBackend(ChatTemplateBackend):
    def __init__(
        self,
        model: str | Path,
        *,
        adapter: str | Path | None = None,
        adapters: Mapping[str, str | Path] | None = None,
        enable_lora: bool = False,
        tensor_parallel_size: int = 1,
        data_parallel_size: int = 1,
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.85,
        max_lora_rank: int = 64,
        max_loras: int | None = None,
        seed: int = 0,
    ) -> None:
        self.model_path = str(model)
        self.adapter = None if adapter is None else str(adapter)
        self.loras = LoRATable()
        for name, path in (adapters or {}).items():
            self.loras.add(name, path)
        self.default_adapter: str | None = None
        if adapter is not None:
            self.loras.add(DEFAULT_ADAPTER, adapter)
            self.default_adapter = DEFAULT_ADAPTER
        self.tensor_parallel_size = tensor_parallel_size
        self.data_parallel_size = data_parallel_size
        lora = enable_lora or len(self.loras) > 0
        engine_args: dict[str, Any] = {
            "model": self.model_path,
            "tensor_parallel_size": tensor_parallel_size,
            "max_model_len": max_model_len,
            "gpu_memory_utilization": gpu_memory_utilization,
            "enable_lora": lora,
            "seed": seed,
        }
        if lora:
            # Two by default: a Generator and an Extender request may share one batch.
            engine_args |= {"max_lora_rank": max_lora_rank, "max_loras": max_loras or max(2, len(self.loras))}
        self._engine: _LocalEngine | _DataParallelEngines = (
            _LocalEngine(engine_args)
            if data_parallel_size == 1
            else _DataParallelEngines(engine_args, data_parallel_size)
        )
        self.tokenizer: Any = self._engine.tokenizer  # a transformers tokenizer either way
        self.context_window = self._engine.context_window

    def describe(self) -> dict[str, Any]:
        return {"backend": "vllm", "model": self.model_path, "adapter": self.adapter,
                "adapters": {name: self.loras.get(name).path for name in self.loras.names()},
                "tensor_parallel_size": self.tensor_parallel_size,
                "data_parallel_size": self.data_parallel_size,
                "context_window": self.context_window}  # fmt: skip

    def add_adapter(self, name: str, path: str | Path) -> None:
        """Register (or repoint) a LoRA adapter by name; the engine must have LoRA enabled."""
        self.loras.add(name, path)

    def with_adapter(self, name: str | None) -> Backend:
        """A backend generating with the adapter ``name`` (None: the base model) on this engine."""
        if name is not None:
            self.loras.get(name)  # fail now, not at the first generate
        return _AdapterView(self, name)

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        *,
        progress: bool = False,
    ) -> list[Generation]:
        return self.generate_with(requests, params, self.default_adapter, progress=progress)

    def generate_with(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        adapters: str | Sequence[str | None] | None,
        *,
        progress: bool = False,
    ) -> list[Generation]:
        """Generate with one adapter name for all requests, or one per request (None: the base)."""
        names = (
            [adapters] * len(requests) if adapters is None or isinstance(adapters, str) else list(adapters)
        )
        if len(names) != len(requests):
            raise ValueError(f"{len(names)} adapter names for {len(requests)} requests")
        loras = [None if name is None else self.loras.get(name) for name in names]
        prompts = [self.render(r) for r in requests]
        started = time.perf_counter()
        completions = self._engine.run(prompts, sampling_kwargs(params), loras, progress)
        latency = time.perf_counter() - started
        results = []
        for text, n_tokens, reason in completions:
            finish: FinishReason = "length" if reason == "length" else "stop"
            results.append(Generation(text, n_tokens, finish, latency))
        return results

    def close(self) -> None:
        """Free the GPUs: the engine (and any data-parallel worker processes) shut down."""
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.close()
            del self._engine
        import gc

        gc.collect()


class _AdapterView(Backend):
    """One adapter of a ``VLLMBackend``: shares its engine; closing it leaves the engine running."""

    def __init__(self, owner: VLLMBackend, adapter: str | None) -> None:
        self.owner = owner
        self.adapter = adapter
        self.context_window = owner.context_window

    def describe(self) -> dict[str, Any]:
        return self.owner.describe() | {"served_adapter": self.adapter}

    def count_tokens(self, text: str) -> int:
        return self.owner.count_tokens(text)

    def prompt_tokens(self, request: GenerationRequest) -> int:
        return self.owner.prompt_tokens(request)

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        *,
        progress: bool = False,
    ) -> list[Generation]:
        return self.owner.generate_with(requests, params, self.adapter, progress=progress)
