"""GGUF export of transformers Llama models (+ merged LoRA), checked against torch's logits.

The fast tests use a small random Llama with the embedded model's tokenizer (so the embedded
GGUF's tokenizer metadata applies), run the exported file in llama.cpp and compare every
position's logits with torch. Measured here: f32 export, max |diff| / max |logit| ~7e-7
(with llama.cpp's KV cache in f32); f16 ~1e-3; q8_0 ~3e-2; an export without the q/k row
permutation ~0.3-0.9, so the tolerances below separate a right export from a wrong one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")
pytest.importorskip("peft")

import torch

from slbench.harness.models import gguf_export
from slbench.harness.models.gguf_export import cached_gguf, export_gguf

PROMPTS = (
    "Hello there, how are you today?",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
)
GGML_TYPE_F32 = 0  # llama.cpp's KV cache in f32, so an f32 export can be compared exactly


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory: pytest.TempPathFactory, random_llama: Callable[..., Path]) -> Path:
    return random_llama(tmp_path_factory.mktemp("gguf") / "llama-tied", tied=True, seed=0)


@pytest.fixture(scope="module")
def untied_dir(tmp_path_factory: pytest.TempPathFactory, random_llama: Callable[..., Path]) -> Path:
    return random_llama(tmp_path_factory.mktemp("gguf") / "llama-untied", tied=False, seed=1)


@pytest.fixture(scope="module")
def adapter_dir(llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random LoRA adapter on every linear layer, with B non-zero so it changes the outputs."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(llama_dir, dtype=torch.float32)
    lora = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    )
    peft_model = get_peft_model(model, lora)
    torch.manual_seed(2)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.2)
    out = tmp_path_factory.mktemp("gguf") / "adapter"
    peft_model.save_pretrained(str(out))
    return out


def _token_ids(model_dir: Path) -> list[list[int]]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return [tokenizer.encode(text, add_special_tokens=False) for text in PROMPTS]


def _torch_logits(model_dir: Path, ids: list[list[int]], adapter: Path | None = None) -> list[np.ndarray]:
    """Logits of every position from the unmerged torch model (PEFT applies the adapter itself)."""
    from transformers import AutoModelForCausalLM

    model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()
    with torch.no_grad():
        return [model(torch.tensor([row])).logits[0].numpy() for row in ids]


def _llama_logits(gguf_path: Path, ids: list[list[int]]) -> list[np.ndarray]:
    from llama_cpp import Llama

    llm = Llama(
        model_path=str(gguf_path),
        n_ctx=256,
        logits_all=True,
        n_threads=1,
        type_k=GGML_TYPE_F32,
        type_v=GGML_TYPE_F32,
        verbose=False,
    )
    try:
        out = []
        for row in ids:
            llm.reset()
            llm.eval(row)
            out.append(np.array(llm.scores[: len(row)], dtype=np.float32))
        return out
    finally:
        llm.close()


def _relative_error(got: list[np.ndarray], want: list[np.ndarray]) -> float:
    """max |diff| over every position and token, over the largest |logit| of the reference."""
    diff = max(float(np.abs(g - w).max()) for g, w in zip(got, want, strict=True))
    return diff / max(float(np.abs(w).max()) for w in want)


def _gguf_tensor_types(path: Path) -> dict[str, str]:
    import gguf

    return {t.name: t.tensor_type.name for t in gguf.GGUFReader(path).tensors}


def _tensor_bytes(path: Path) -> int:
    import gguf

    return sum(int(t.n_bytes) for t in gguf.GGUFReader(path).tensors)


def test_f32_export_matches_torch_logits(llama_dir: Path, tmp_path: Path) -> None:
    ids = _token_ids(llama_dir)
    out = export_gguf(llama_dir, tmp_path / "m.gguf", out_type="f32")
    error = _relative_error(_llama_logits(out, ids), _torch_logits(llama_dir, ids))
    assert error < 1e-5, error
    types = _gguf_tensor_types(out)
    # Tied embeddings and a template without output.weight: llama.cpp reuses token_embd.
    assert "output.weight" not in types and types["token_embd.weight"] == "F32"
    assert len(types) == 2 + 2 * 9


def test_the_q_k_permutation_is_what_makes_it_match(
    llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without llama.cpp's RoPE row order the same export is far off: the check above can fail."""
    monkeypatch.setattr(gguf_export, "_permute_rows", lambda weight, n_head: weight)
    ids = _token_ids(llama_dir)
    out = export_gguf(llama_dir, tmp_path / "unpermuted.gguf", out_type="f32")
    assert _relative_error(_llama_logits(out, ids), _torch_logits(llama_dir, ids)) > 0.05


def test_f16_and_q8_0_exports_are_close(llama_dir: Path, tmp_path: Path) -> None:
    ids = _token_ids(llama_dir)
    want = _torch_logits(llama_dir, ids)
    f16 = export_gguf(llama_dir, tmp_path / "f16.gguf", out_type="f16")
    got = _llama_logits(f16, ids)
    assert _relative_error(got, want) < 5e-3
    assert all((g.argmax(-1) == w.argmax(-1)).all() for g, w in zip(got, want, strict=True))
    types = _gguf_tensor_types(f16)
    assert types["blk.0.attn_q.weight"] == "F16" and types["blk.0.attn_norm.weight"] == "F32"

    q8 = export_gguf(llama_dir, tmp_path / "q8.gguf", out_type="q8_0")
    assert _relative_error(_llama_logits(q8, ids), want) < 0.1
    assert _gguf_tensor_types(q8)["blk.1.ffn_down.weight"] == "Q8_0"
    assert _tensor_bytes(q8) < 0.6 * _tensor_bytes(f16)  # 34 bytes per 32 weights against 64


def test_untied_head_is_written(untied_dir: Path, tmp_path: Path) -> None:
    ids = _token_ids(untied_dir)
    out = export_gguf(untied_dir, tmp_path / "untied.gguf", out_type="f32")
    assert "output.weight" in _gguf_tensor_types(out)
    assert _relative_error(_llama_logits(out, ids), _torch_logits(untied_dir, ids)) < 1e-5


def test_merged_lora_matches_torch_with_the_adapter(
    llama_dir: Path, adapter_dir: Path, tmp_path: Path
) -> None:
    ids = _token_ids(llama_dir)
    want = _torch_logits(llama_dir, ids, adapter=adapter_dir)
    # The adapter really changes the model, so matching it means it was merged.
    assert _relative_error(_torch_logits(llama_dir, ids), want) > 0.05
    out = export_gguf(llama_dir, tmp_path / "lora.gguf", adapter=adapter_dir, out_type="f32")
    assert _relative_error(_llama_logits(out, ids), want) < 1e-5


def test_metadata_copied_from_the_template(llama_dir: Path, tmp_path: Path) -> None:
    import gguf

    from slbench.harness.models.embedded import embedded_gguf_path

    out = export_gguf(llama_dir, tmp_path / "m.gguf", out_type="f16")
    ours, template = gguf.GGUFReader(out), gguf.GGUFReader(embedded_gguf_path())
    tokenizer_keys = sorted(k for k in template.fields if k.startswith("tokenizer."))
    assert tokenizer_keys == sorted(k for k in ours.fields if k.startswith("tokenizer."))
    for key in tokenizer_keys:
        assert ours.fields[key].contents() == template.fields[key].contents(), key
    expected = {
        "general.architecture": "llama",
        "llama.block_count": 2,
        "llama.embedding_length": 64,
        "llama.feed_forward_length": 128,
        "llama.attention.head_count": 4,
        "llama.attention.head_count_kv": 2,
        "llama.context_length": 512,
        "llama.rope.dimension_count": 16,
        "llama.vocab_size": 49152,
        "general.file_type": 1,
    }
    assert {key: ours.fields[key].contents() for key in expected} == expected
    assert ours.fields["llama.rope.freq_base"].contents() == pytest.approx(10000.0)


def test_template_vocabulary_mismatch_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    from slbench.harness.models.embedded import embedded_gguf_path

    with pytest.raises(ValueError, match="does not match the token list") as caught:
        export_gguf(tiny_model_dir, tmp_path / "tiny.gguf")
    assert str(tiny_model_dir) in str(caught.value) and str(embedded_gguf_path()) in str(caught.value)
    assert not (tmp_path / "tiny.gguf").exists()


def test_missing_adapter_is_refused(llama_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-adapter"
    with pytest.raises(FileNotFoundError, match="no-such-adapter"):
        export_gguf(llama_dir, tmp_path / "x.gguf", adapter=missing)
    with pytest.raises(FileNotFoundError, match="no-such-adapter"):
        cached_gguf(llama_dir, missing)


@pytest.fixture()
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SLBENCH_CACHE", str(tmp_path / "cache"))
    yield tmp_path / "cache"


def _count_exports(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every path ``cached_gguf`` exports to from now on (the real export still runs)."""
    written: list[Path] = []
    real = gguf_export.export_gguf

    def counting(model_dir: Path, out_path: Path, **kwargs: Any) -> Path:
        written.append(Path(out_path))
        return real(model_dir, out_path, **kwargs)

    monkeypatch.setattr(gguf_export, "export_gguf", counting)
    return written


def test_cache_writes_once_and_follows_the_weights(
    llama_dir: Path, adapter_dir: Path, private_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports = _count_exports(monkeypatch)
    first = cached_gguf(llama_dir, adapter_dir, "f16")
    assert first.parent == private_cache / "gguf" and first.suffix == ".gguf"
    stamp = first.stat().st_mtime_ns
    assert cached_gguf(llama_dir, adapter_dir, "f16") == first and len(exports) == 1
    assert first.stat().st_mtime_ns >= stamp  # a hit marks the file as recently used
    assert cached_gguf(llama_dir, adapter_dir, "f32") != first and len(exports) == 2
    # An adapter rewritten in place (the next training iteration) is a new set of weights.
    moved = shutil.copytree(adapter_dir, tmp_path / "adapter-copy")
    weights = moved / "adapter_model.safetensors"
    os.utime(weights, ns=(stamp, stamp + 10**9))
    assert cached_gguf(llama_dir, moved, "f16") != first
    assert sorted(p.name for p in (private_cache / "gguf").iterdir() if ".tmp-" in p.name) == []


def test_backend_pool_runs_adapters_and_full_models_through_the_export(
    llama_dir: Path, adapter_dir: Path, private_cache: Path
) -> None:
    from slbench.harness.backends import create_backend
    from slbench.harness.backends.base import GenerationParams, GenerationRequest
    from slbench.training.common.generation import BackendPool

    pool = BackendPool("llamacpp", str(llama_dir), lora=True, max_loaded=1)
    llama: Any = pool.get(adapter_dir)
    info = llama.describe()
    assert info["gguf_exported"] is True and info["adapter"] == str(adapter_dir)
    assert Path(info["gguf"]).parent == private_cache / "gguf"
    requests = [GenerationRequest.from_prompt(p) for p in PROMPTS[:2]]
    params = GenerationParams(max_new_tokens=12)
    ours = llama.generate(requests, params, min_new_tokens=12)
    hf: Any = create_backend("hf", model=llama_dir, adapter=adapter_dir, dtype="float32", device="cpu")
    theirs = hf.generate(requests, params, min_new_tokens=12)
    # Same merged weights and prompt ids: greedy f16 decoding picks the same 12 tokens.
    assert [g.text for g in ours] == [g.text for g in theirs]
    assert [g.n_tokens for g in ours] == [12, 12]

    full = BackendPool("llamacpp", str(llama_dir), lora=False, max_loaded=1).get(llama_dir)
    assert full.describe()["gguf_exported"] is True and full.describe()["adapter"] is None
    full.close()
    pool.release()


@pytest.mark.slow
def test_embedded_model_f16_export_matches_torch(tmp_path: Path) -> None:
    """The real model: f16 logits within 1% of torch's scale, and the same greedy continuation.

    Measured: max |diff| 0.09 on logits up to 37.6 (2.4e-3 relative); greedy 32 tokens identical
    on both prompts (the embedded Q4_1 file itself, with 8-bit activations, differs by 2.6 and
    diverges after 1 token on one of them).
    """
    from slbench.harness.backends.base import GenerationParams, GenerationRequest
    from slbench.harness.backends.hf import HFBackend
    from slbench.harness.backends.llamacpp_backend import LlamaCppBackend
    from slbench.harness.models import resolve_model

    model_dir = resolve_model("embedded")
    out = export_gguf(model_dir, tmp_path / "embedded-f16.gguf", out_type="f16")
    requests = [
        GenerationRequest.from_prompt(p) for p in ("Write a haiku about the sea.", "Why is the sky blue?")
    ]
    hf = HFBackend(model_dir, dtype="float32", device="cpu")
    ids = [hf.tokenizer.encode(hf.render(r), add_special_tokens=False) for r in requests]
    assert _relative_error(_llama_logits(out, ids), _torch_logits(model_dir, ids)) < 1e-2
    llama = LlamaCppBackend(model_dir, gguf=out, n_ctx=512, n_threads=2)
    params = GenerationParams(max_new_tokens=32)
    ours, theirs = llama.generate(requests, params), hf.generate(requests, params)
    llama.close()
    assert [g.text for g in ours] == [g.text for g in theirs]


def test_the_cache_cap_removes_the_oldest_export_and_rewrites_it_when_asked(
    llama_dir: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports = _count_exports(monkeypatch)
    monkeypatch.setenv("SLBENCH_GGUF_CACHE_GB", "0.000001")  # 1 kB: every export is alone over it
    f16 = cached_gguf(llama_dir, None, "f16")
    f32 = cached_gguf(llama_dir, None, "f32")
    assert f32.is_file() and not f16.exists()  # the older export went, the new one stays
    assert cached_gguf(llama_dir, None, "f16") == f16 and f16.is_file() and not f32.exists()
    assert len(exports) == 3
    monkeypatch.setenv("SLBENCH_GGUF_CACHE_GB", "0")  # no cap: both stay
    cached_gguf(llama_dir, None, "f32")
    assert f16.is_file() and f32.is_file()
