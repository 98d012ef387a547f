"""``slbench bench``: the limit arithmetic, fixed-length prompts, targets, and a real quick run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from slbench.harness.bench.config import BenchConfig
from slbench.harness.bench.limits import (
    Machine,
    ModelShape,
    copy_bandwidth,
    generation_limit,
    matmul_rate,
    training_flops_per_token,
    training_limit,
)
from slbench.harness.bench.report import check_targets, format_report
from slbench.harness.bench.scoring import bench_scoring, synthetic_items

SHAPE = ModelShape(n_params=1_000_000, n_layers=1, n_heads=1, n_kv_heads=1, head_dim=10)
MACHINE = Machine(copy_gb_s=1.0, matmul_gflop_s={"float32": 1.0})


def test_generation_limit_by_hand() -> None:
    # prefill: 1 row x 2 tokens x (2e6 + 2*1*1*10) FLOPs at 1 GFLOP/s = 0.00400004 s
    # decode (1 step, context 2.5): memory (4e6 weight bytes + 2.5 tokens x 80 KV bytes) / 1 GB/s
    #   = 0.0040002 s > compute (2e6 + 2*2.5*10) / 1e9 = 0.00200005 s -> memory-bound
    limit, bound = generation_limit(
        SHAPE,
        MACHINE,
        batch=1,
        prompt_tokens=2,
        new_tokens=1,
        weight_bytes=4e6,
        kv_dtype_bytes=4,
        dtype=torch.float32,
    )
    assert limit == pytest.approx(1 / (0.00400004 + 0.0040002), rel=1e-12)
    assert bound == "memory"
    # 1,000 rows: compute (1000 x 2.00005e6 FLOPs = 2.00005 s) beats memory (4e6 + 1000 x 200 bytes = 4.2 ms).
    limit, bound = generation_limit(
        SHAPE,
        MACHINE,
        batch=1000,
        prompt_tokens=2,
        new_tokens=1,
        weight_bytes=4e6,
        kv_dtype_bytes=4,
        dtype=torch.float32,
    )
    assert bound == "compute"
    assert limit == pytest.approx(1000 / (1000 * 2 * 2_000_020 / 1e9 + 2.00005), rel=1e-12)


def test_training_flops_follow_kaplan() -> None:
    assert training_flops_per_token(SHAPE, 100, lora=False) == 6_000_000 + 6 * 1 * 100 * 10
    assert training_flops_per_token(SHAPE, 100, lora=True) == 4_000_000 + 6 * 1 * 100 * 10
    assert training_limit(SHAPE, MACHINE, 100, True, torch.float32) == pytest.approx(1e9 / 4_006_000)


def test_measured_rates_are_positive() -> None:
    device = torch.device("cpu")
    assert copy_bandwidth(device, mib=16, repeats=2) > 0.1
    assert matmul_rate(device, torch.float32, max_size=256, seconds=0.05) > 0.1


def test_fixed_length_prompts(tiny_model_dir: Path) -> None:
    from slbench.harness.backends.hf import HFBackend
    from slbench.harness.bench.generation import fixed_length_requests

    backend = HFBackend(tiny_model_dir)
    requests = fixed_length_requests(backend.prompt_tokens, 3, 100)
    assert [backend.prompt_tokens(r) for r in requests] == [100, 100, 100]
    assert len({r.messages[-1]["content"] for r in requests}) == 3


def test_synthetic_scoring_items_are_deterministic() -> None:
    first, again = synthetic_items(50, seed=3), synthetic_items(50, seed=3)
    assert first == again
    assert any(not text.isascii() for text, _ in first) and any(text.isascii() for text, _ in first)
    result = bench_scoring(2_000)
    assert result.items == 2_000 and result.items_per_s > 0 and result.limit_items_per_s > 0


def test_targets() -> None:
    rows = [
        {"backend": "hf", "decoder": "rows", "batch": 1, "new_tokens": 256, "tokens_per_s": 10.0},
        {"backend": "hf", "decoder": "rows", "batch": 8, "new_tokens": 256, "tokens_per_s": 45.0},
        {"backend": "hf", "decoder": "rows", "batch": 32, "new_tokens": 256, "tokens_per_s": 61.0},
        {"backend": "llamacpp", "decoder": "llama.cpp", "batch": 1, "new_tokens": 256, "tokens_per_s": 40.0},
    ]
    targets = check_targets(
        {"generation": rows, "machine": {"device": "cpu"}, "scoring_items_per_s": 60_000.0}
    )
    assert [(t["measured"], t["met"]) for t in targets] == [(6.1, True), (60_000.0, True)]
    gpu = check_targets({"generation": rows, "machine": {"device": "cuda:0"}})
    assert [(t["target"], t["measured"], t["met"]) for t in gpu] == [(20_000.0, 61.0, False)]


def test_config_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="extra"):
        BenchConfig.model_validate({"quick": True, "batchs": [1]})
    with pytest.raises(ValueError, match="batches"):
        BenchConfig(batches=(0, 8))
    quick, full = BenchConfig(quick=True), BenchConfig()
    assert (quick.resolved_batches(), quick.resolved_new_tokens()) == ((1, 8), (128,))
    assert (full.resolved_batches(), full.resolved_new_tokens()) == ((1, 8, 32), (256, 1024))
    assert (quick.section("training"), quick.section("llamacpp"), full.section("judge")) == (
        False,
        True,
        True,
    )


def _run_quick_bench(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`slbench bench --quick ARGS` in its own process (it sets torch's thread count), one thread,
    40-token prompts, 300 scoring items, figures to ``out``; fails the test if the command fails."""
    command = [
        sys.executable, "-m", "slbench.harness.cli", "bench", "--quick", *args,
        "--prompt-tokens", "40", "--threads", "1", "--scoring-items", "300", "--json", str(out),
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_bench_quick_writes_the_figures(tiny_model_dir: Path, tmp_path: Path) -> None:
    """A real `slbench bench --quick` run (own process: it sets torch's thread count)."""
    out = tmp_path / "bench.json"
    args = ["--model", str(tiny_model_dir), "--batches", "1,2", "--new-tokens", "6"]
    proc = _run_quick_bench(out, *args, "--decoder", "rows", "--decoder", "generate", "--no-llamacpp")
    result = json.loads(out.read_text())
    assert result["schema"] == "slbench-bench/1" and "--quick" in result["command"]
    assert {"date", "machine", "limits", "generation", "scoring_items_per_s", "targets"} <= set(result)
    rows = result["generation"]
    assert [(r["decoder"], r["batch"], r["new_tokens"]) for r in rows] == [
        ("rows", 1, 6),
        ("rows", 2, 6),
        ("generate", 1, 6),
        ("generate", 2, 6),
    ]
    for row in rows:
        assert row["generated"] == row["batch"] * 6  # EOS suppressed: exact lengths
        assert row["tokens_per_s"] > 0 and row["limit_tokens_per_s"] > 0
        assert row["ratio"] == pytest.approx(row["tokens_per_s"] / row["limit_tokens_per_s"], abs=1e-3)
    assert result["machine"]["torch_threads"] == 1
    assert result["scoring"]["items"] == 300 and result["scoring_items_per_s"] > 0
    assert "tok/s" in proc.stdout and "length scoring" in proc.stdout
    assert format_report(result).splitlines()[0] in proc.stdout


def test_bench_quick_measures_llamacpp_at_every_batch(
    tmp_path: Path, random_llama: Callable[..., Path]
) -> None:
    """llama.cpp decodes a batch in one llama_decode: its rows come at the hf rows' batches."""
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gguf")
    from slbench.harness.models.gguf_export import export_gguf

    model = random_llama(tmp_path / "llama")
    export_gguf(model, model / "model-f32.gguf", out_type="f32")
    out = tmp_path / "bench.json"
    _run_quick_bench(
        out, "--model", str(model), "--batches", "1,3", "--new-tokens", "5", "--decoder", "rows", "--llamacpp"
    )
    rows = json.loads(out.read_text())["generation"]
    assert [(r["backend"], r["batch"], r["new_tokens"], r["generated"]) for r in rows] == [
        ("hf", 1, 5, 5),
        ("hf", 3, 5, 15),
        ("llamacpp", 1, 5, 5),
        ("llamacpp", 3, 5, 15),
    ]
    assert {r["dtype"] for r in rows if r["backend"] == "llamacpp"} == {"gguf F32"}


def test_gguf_weight_type_reads_the_embedded_file() -> None:
    """The llama.cpp row names the weights it really reads: the embedded file is Q4_1, not fp32."""
    from slbench.harness.bench.generation import gguf_weight_type
    from slbench.harness.models.embedded import embedded_gguf_path

    assert gguf_weight_type(embedded_gguf_path()) == "Q4_1"


def test_shipped_gguf_only_for_the_embedded_model(tmp_path: Path) -> None:
    """The bench adds a batch-1 row on the shipped 4-bit file for the embedded model alone."""
    from slbench.harness.bench.generation import shipped_gguf
    from slbench.harness.models import resolve_model
    from slbench.harness.models.embedded import embedded_gguf_path

    assert shipped_gguf(resolve_model("embedded")) == embedded_gguf_path()
    assert shipped_gguf(tmp_path / "llama") is None
