"""Shared test set-up: offline hubs, opt-in markers, the tiny model and the public LonGen file."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

# Nothing in the test suite may reach a model or data hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

REPO_ROOT = Path(__file__).resolve().parents[1]
LONGEN_PATH = REPO_ROOT.parent / "shared" / "data" / "LonGen.jsonl"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow", action="store_true", help="run tests marked slow (embedded model, minutes)"
    )
    parser.addoption("--run-gpu", action="store_true", help="run gpu tests even if torch sees no CUDA device")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--run-slow") or os.environ.get("SLBENCH_RUN_SLOW") == "1"
    # GPU tests run for real wherever a GPU is present; they are skipped only on machines without one.
    run_gpu = config.getoption("--run-gpu") or _cuda_available()
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with --run-slow or SLBENCH_RUN_SLOW=1"))
        if "gpu" in item.keywords and not run_gpu:
            item.add_marker(
                pytest.mark.skip(reason="gpu: no CUDA device here (runs automatically where one is)")
            )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random chat model, built offline into a session-private cache."""
    from slbench.harness.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"), seed=0)


@pytest.fixture(scope="session")
def longen_path() -> Path:
    if not LONGEN_PATH.is_file():
        pytest.skip(
            f"the public LonGen file is not at {LONGEN_PATH} (CI places ../shared beside the checkout)"
        )
    return LONGEN_PATH


def build_random_llama(out_dir: Path, *, tied: bool = True, seed: int = 0, max_positions: int = 512) -> Path:
    """A random 2-layer Llama (GQA: 4 heads, 2 KV heads) with the embedded model's tokenizer.

    The tokenizer makes the embedded GGUF's tokenizer metadata apply to its export. The large
    initialisation (0.1) makes attention matter (a wrong q/k layout then moves the logits a lot)
    and keeps greedy choices away from near-ties.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from slbench.harness.models.embedded import embedded_model_dir

    source = embedded_model_dir()
    out_dir.mkdir(parents=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        if (source / name).is_file():
            shutil.copy(source / name, out_dir / name)
    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
        max_position_embeddings=max_positions,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        initializer_range=0.1,
        tie_word_embeddings=tied,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def random_llama() -> Callable[..., Path]:
    """``build_random_llama`` for the llama.cpp / GGUF tests (conftest functions are not importable)."""
    return build_random_llama
