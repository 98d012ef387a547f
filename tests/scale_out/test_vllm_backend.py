"""The vLLM backend: LoRA ids, data-parallel shards and per-request adapters.

Without vllm (CPU machines) the module is imported against a recording stand-in of the few vllm
names it uses, which checks the backend's own logic: which ``LoRARequest`` goes with which
prompt, that ``max_tokens`` is always explicit, how batches are sharded. The ``gpu`` tests run the
real engine on the tiny model wherever a GPU with vllm is present.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from slbench.harness.backends.base import GenerationParams, GenerationRequest

MODULE = "slbench.harness.backends.vllm_backend"


@dataclass
class _LoRARequest:
    lora_name: str
    lora_int_id: int
    lora_path: str


class _Tokenizer:
    def apply_chat_template(
        self, messages: list[dict[str, str]], tokenize: bool, add_generation_prompt: bool
    ) -> str:
        return "|".join(m["content"] for m in messages) + ">"

    def encode(self, text: str, add_special_tokens: bool = False) -> list[str]:
        return text.split()


class _LLM:
    """Records the engine arguments and every generate call; answers 'PROMPT/ADAPTER'."""

    instances: ClassVar[list[_LLM]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[dict[str, Any]] = []
        self.llm_engine = types.SimpleNamespace(model_config=types.SimpleNamespace(max_model_len=2048))
        _LLM.instances.append(self)

    def get_tokenizer(self) -> _Tokenizer:
        return _Tokenizer()

    def generate(
        self, prompts: list[str], sampling: dict[str, Any], lora_request: Any, use_tqdm: bool
    ) -> list[Any]:
        self.calls.append({"prompts": prompts, "sampling": sampling, "lora": lora_request})
        loras = lora_request if lora_request is not None else [None] * len(prompts)
        return [
            types.SimpleNamespace(outputs=[types.SimpleNamespace(
                text=f"{p}/{'base' if lr is None else lr.lora_name}", token_ids=[1, 2, 3], finish_reason="length")])
            for p, lr in zip(prompts, loras, strict=True)
        ]  # fmt: skip


def _has_vllm() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The backend module imported against stand-in vllm modules; removed again afterwards, so the
    registry still reports a missing vllm to other tests."""
    fake = types.ModuleType("vllm")
    fake.LLM = _LLM  # type: ignore[attr-defined]
    fake.SamplingParams = lambda **kwargs: kwargs  # type: ignore[attr-defined]
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = _LoRARequest  # type: ignore[attr-defined]
    for name, module in (
        ("vllm", fake),
        ("vllm.lora", types.ModuleType("vllm.lora")),
        ("vllm.lora.request", request),
    ):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    _LLM.instances.clear()
    yield importlib.import_module(MODULE)
    sys.modules.pop(MODULE, None)
    package = sys.modules["slbench.harness.backends"]
    if hasattr(package, "vllm_backend"):
        delattr(package, "vllm_backend")


def test_lora_ids_are_stable_and_never_reused_for_other_weights(stand_in: Any, tmp_path: Path) -> None:
    table = stand_in.LoRATable()
    g1 = table.add("generator", tmp_path / "iter_1" / "generator_adapter")
    e1 = table.add("extender", tmp_path / "iter_1" / "extender_adapter")
    assert (g1.vllm_name, g1.int_id, e1.vllm_name, e1.int_id) == ("generator", 1, "extender", 2)
    # The next iteration's Generator: new weights, so a new id and a new vLLM name (vLLM compares by name).
    g2 = table.add("generator", tmp_path / "iter_2" / "generator_adapter")
    assert (g2.vllm_name, g2.int_id) == ("generator@3", 3)
    assert table.get("generator") == g2 and table.get("extender") == e1
    # The same weights again: the same id, so vLLM does not load them a second time.
    assert table.add("generator", tmp_path / "iter_1" / ".." / "iter_1" / "generator_adapter") == g1
    assert table.get("generator") == g1 and len(table) == 2
    with pytest.raises(ValueError, match=r"no LoRA adapter named 'final' .*registered: extender, generator"):
        table.get("final")


def test_shards_are_even_contiguous_and_cover_the_batch(stand_in: Any) -> None:
    assert stand_in.shard_bounds(10, 4) == [(0, 3), (3, 6), (6, 8), (8, 10)]
    assert stand_in.shard_bounds(1, 3) == [(0, 1), (1, 1), (1, 1)]
    assert stand_in.shard_bounds(6, 1) == [(0, 6)]
    for n in range(0, 13):
        bounds = stand_in.shard_bounds(n, 5)
        assert [i for start, end in bounds for i in range(start, end)] == list(range(n))
        sizes = [end - start for start, end in bounds]
        assert max(sizes) - min(sizes) <= 1
    with pytest.raises(ValueError, match="data_parallel_size must be >= 1"):
        stand_in.shard_bounds(3, 0)


def test_max_tokens_is_always_explicit(stand_in: Any) -> None:
    kwargs = stand_in.sampling_kwargs(GenerationParams(max_new_tokens=700, top_k=0))
    assert kwargs["max_tokens"] == 700 and kwargs["top_k"] == -1 and kwargs["stop"] is None


def test_one_batch_mixes_adapters_per_request(stand_in: Any, tmp_path: Path) -> None:
    gen, ext = tmp_path / "gen", tmp_path / "ext"
    backend = stand_in.VLLMBackend(
        "base", adapters={"generator": gen, "extender": ext}, tensor_parallel_size=2
    )
    [llm] = _LLM.instances
    assert llm.kwargs == {"model": "base", "tensor_parallel_size": 2, "max_model_len": None,
                          "gpu_memory_utilization": 0.85, "enable_lora": True, "seed": 0,
                          "max_lora_rank": 64, "max_loras": 2}  # fmt: skip
    requests = [GenerationRequest.from_prompt(p) for p in ("a", "b", "c")]
    params = GenerationParams(max_new_tokens=321)
    out = backend.generate_with(requests, params, ["generator", None, "extender"])
    assert [o.text for o in out] == ["a>/generator", "b>/base", "c>/extender"]
    assert [(o.n_tokens, o.finish_reason) for o in out] == [(3, "length")] * 3
    call = llm.calls[-1]
    assert call["sampling"]["max_tokens"] == 321
    assert call["lora"] == [_LoRARequest("generator", 1, str(gen.resolve())), None,
                            _LoRARequest("extender", 2, str(ext.resolve()))]  # fmt: skip
    # A view per role on the same engine; the base model sends no LoRA request at all.
    assert [o.text for o in backend.with_adapter("extender").generate(requests[:1], params)] == [
        "a>/extender"
    ]
    assert [o.text for o in backend.with_adapter(None).generate(requests[:1], params)] == ["a>/base"]
    assert llm.calls[-1]["lora"] is None and len(_LLM.instances) == 1
    with pytest.raises(ValueError, match="no LoRA adapter named 'final'"):
        backend.with_adapter("final")
    with pytest.raises(ValueError, match="2 adapter names for 3 requests"):
        backend.generate_with(requests, params, ["generator", None])


def test_adapter_argument_is_the_default_of_generate(stand_in: Any, tmp_path: Path) -> None:
    """What BackendPool passes (adapter=PATH): every plain generate call uses that adapter."""
    backend = stand_in.VLLMBackend("base", adapter=tmp_path / "a")
    [out] = backend.generate([GenerationRequest.from_prompt("x")], GenerationParams(max_new_tokens=5))
    assert out.text == "x>/adapter"
    assert backend.describe()["adapters"] == {"adapter": str((tmp_path / "a").resolve())}


def test_without_adapters_lora_is_off(stand_in: Any) -> None:
    stand_in.VLLMBackend("base")
    assert _LLM.instances[0].kwargs["enable_lora"] is False
    assert "max_loras" not in _LLM.instances[0].kwargs


# --- Real vLLM (GPU) ---------------------------------------------------------------------------


def _random_adapter(base: Path, out: Path, seed: int) -> Path:
    """A LoRA adapter with random (non-zero) weights, so that it changes what the model writes."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(out)
    return out


@pytest.mark.gpu
def test_real_vllm_mixed_adapter_batch_equals_separate_batches(tiny_model_dir: Path, tmp_path: Path) -> None:
    if not _has_vllm():
        pytest.skip("vllm is not installed")
    from slbench.harness.backends import create_backend

    adapters = {
        name: _random_adapter(tiny_model_dir, tmp_path / name, seed) for seed, name in enumerate(("g", "e"))
    }
    backend = create_backend("vllm", model=tiny_model_dir, adapters=adapters, gpu_memory_utilization=0.3,
                             max_model_len=512)  # fmt: skip
    try:
        requests = [GenerationRequest.from_prompt(f"Write about {w}.") for w in ("rain", "salt", "iron")]
        params = GenerationParams(max_new_tokens=24)
        base = [o.text for o in backend.with_adapter(None).generate(requests, params)]  # type: ignore[attr-defined]
        g = [o.text for o in backend.with_adapter("g").generate(requests, params)]  # type: ignore[attr-defined]
        e = [o.text for o in backend.with_adapter("e").generate(requests, params)]  # type: ignore[attr-defined]
        assert g != base and e != base and g != e
        mixed = backend.generate_with(requests, params, ["g", None, "e"])  # type: ignore[attr-defined]
        assert [o.text for o in mixed] == [g[0], base[1], e[2]]
        assert all(0 < o.n_tokens <= 24 for o in mixed)
    finally:
        backend.close()


@pytest.mark.gpu
def test_real_vllm_data_parallel_equals_one_replica(tiny_model_dir: Path) -> None:
    import torch

    if not _has_vllm():
        pytest.skip("vllm is not installed")
    if torch.cuda.device_count() < 2:
        pytest.skip("data parallelism needs two GPUs")
    from slbench.harness.backends import create_backend

    requests = [GenerationRequest.from_prompt(f"Count to {n}.") for n in range(7)]
    params = GenerationParams(max_new_tokens=16)
    outputs = []
    for size in (1, 2):
        backend = create_backend("vllm", model=tiny_model_dir, data_parallel_size=size,
                                 gpu_memory_utilization=0.3, max_model_len=512)  # fmt: skip
        try:
            outputs.append([o.text for o in backend.generate(requests, params)])
        finally:
            backend.close()
    assert outputs[0] == outputs[1]
