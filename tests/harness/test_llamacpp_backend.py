"""The llamacpp backend on the embedded GGUF (slow: needs the embedded model and llama-cpp-python)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from slbench.harness.backends.base import GenerationParams, GenerationRequest

pytest.importorskip("llama_cpp")


def test_needs_a_gguf(tiny_model_dir: Path) -> None:
    from slbench.harness.backends.llamacpp_backend import default_gguf

    with pytest.raises(FileNotFoundError, match="needs a GGUF file"):
        default_gguf(tiny_model_dir)


@pytest.fixture(scope="module")
def backends() -> Iterator[tuple[object, object]]:
    from slbench.harness.backends import create_backend
    from slbench.harness.models import resolve_model

    model_dir = resolve_model("embedded")
    llama = create_backend("llamacpp", model=model_dir, n_ctx=2048)
    hf = create_backend("hf", model=model_dir, batch_size=4, dtype="float32")
    yield llama, hf
    llama.close()


@pytest.mark.slow
def test_same_prompt_ids_and_greedy_start_as_hf(backends: tuple) -> None:
    llama, hf = backends
    requests = [GenerationRequest.from_prompt(p) for p in ("Hello there", "Write a haiku about the sea.")]
    assert [llama.prompt_tokens(r) for r in requests] == [hf.prompt_tokens(r) for r in requests]
    params = GenerationParams(max_new_tokens=24)
    ours, theirs = llama.generate(requests, params), hf.generate(requests, params)
    # The llamacpp backend runs an f16 export of the same weights, with the same prompt ids: greedy
    # text agrees (measured: identical over 32 tokens; the 4-bit file diverged after one token).
    assert llama.describe()["gguf_exported"] is True
    for a, b in zip(ours, theirs, strict=True):
        assert a.text == b.text
        assert a.finish_reason in ("stop", "length") and 0 < a.n_tokens <= 24


@pytest.mark.slow
def test_finish_reasons_min_tokens_and_stops(backends: tuple) -> None:
    llama, _ = backends
    hello = GenerationRequest.from_prompt("Hello there")
    natural = llama.generate([hello], GenerationParams(max_new_tokens=200))[0]
    assert natural.finish_reason == "stop" and natural.n_tokens < 200
    forced = llama.generate(
        [hello], GenerationParams(max_new_tokens=natural.n_tokens + 10), min_new_tokens=999
    )[0]
    assert (forced.finish_reason, forced.n_tokens) == ("length", natural.n_tokens + 10)
    stop = natural.text[8:12]
    stopped = llama.generate([hello], GenerationParams(max_new_tokens=200, stop=(stop,)))[0]
    assert (stopped.text, stopped.finish_reason) == (natural.text[: natural.text.find(stop)], "stop")


@pytest.mark.slow
def test_missing_adapter_is_a_clear_error() -> None:
    """Adapters are merged and exported to GGUF (tests/harness/test_gguf_export.py); a missing one is named."""
    from slbench.harness.backends.llamacpp_backend import LlamaCppBackend
    from slbench.harness.models import resolve_model

    with pytest.raises(FileNotFoundError, match="some/adapter"):
        LlamaCppBackend(resolve_model("embedded"), adapter="some/adapter")
