"""`train-and-eval --backend llamacpp`: every method's data and every evaluation run on llama.cpp.

A random 2-layer Llama with the embedded tokenizer stands in for the base model (the GGUF export
needs that tokenizer), under the smoke preset. The test checks what a user of the flag relies
on: each cell's evaluation and each method's data generation ran on llama.cpp, on an f16 export
of the weights that cell trained (one export per set of weights, cached), and the table is whole.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from slbench.harness.train_and_eval.config import build_config

pytest.importorskip("llama_cpp")

# The smoke preset's cells (test_smoke_run.py pins that list literally).
CELLS = build_config("smoke").cells()


@pytest.fixture(scope="module")
def llamacpp_run(tmp_path_factory: pytest.TempPathFactory, random_llama: Callable[..., Path]) -> Path:
    root = tmp_path_factory.mktemp("llamacpp-run")
    # AgentWrite's inference plans take up to 512 new tokens after a ~230-token prompt
    model = random_llama(root / "model", max_positions=2048)
    out = root / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "SLBENCH_CACHE": str(root / "cache")}  # fmt: skip
    command = [sys.executable, "-m", "slbench.harness.cli", "train-and-eval", "--preset", "smoke",
               "--model", str(model), "--backend", "llamacpp", "--out", str(out), "--no-progress"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_config_records_the_backend(llamacpp_run: Path) -> None:
    config = json.loads((llamacpp_run / "config.json").read_text())
    assert config["backend"] == "llamacpp"


def test_every_cell_is_evaluated_on_llamacpp(llamacpp_run: Path) -> None:
    rows = json.loads((llamacpp_run / "summary.json").read_text())
    assert [(r["method"], r["iteration"]) for r in rows] == CELLS
    exports = []
    for method, iteration in CELLS:
        manifest = json.loads(
            (llamacpp_run / method / f"iter_{iteration}" / "eval" / "manifest.json").read_text()
        )
        backend = manifest["backend"]
        assert backend["backend"] == "llamacpp" and backend["gguf_exported"], (method, iteration, backend)
        exports.append(backend["gguf"])
    # base and plan-and-write-inference run the base's export; every trained cell its own weights
    assert exports[0] == exports[-1]
    assert len(set(exports)) == len(CELLS) - 1


def test_method_data_is_generated_on_llamacpp(llamacpp_run: Path) -> None:
    for method in ("backtranslation", "plan-and-write-data"):
        for iteration in (1, 2):
            stages = json.loads((llamacpp_run / method / f"iter_{iteration}" / "stages.json").read_text())
            generated_with = stages["data"]["backend"]
            assert generated_with["backend"] == "llamacpp", (method, iteration)
            # iteration 2's data comes from iteration 1's weights: base + that iteration's adapter
            expected_adapter = None if iteration == 1 else str(llamacpp_run / method / "iter_1" / "sft")
            assert generated_with["adapter"] == expected_adapter, (method, iteration)
    sl_config = json.loads((llamacpp_run / "self-lengthen" / "config.json").read_text())
    assert sl_config["backend"] == "llamacpp"
