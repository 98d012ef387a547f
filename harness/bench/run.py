"""``run_bench(config)``: every measurement of ``slbench bench``, as one JSON-ready dict."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from slbench.harness.bench.config import BenchConfig
from slbench.harness.bench.machine import describe_machine, load_average

log = logging.getLogger(__name__)
SCHEMA = "slbench-bench/1"


@contextmanager
def model_directory(config: BenchConfig) -> Iterator[Path]:
    """The model to measure; with ``random_weights``, a temporary copy with random weights."""
    from slbench.harness.models import MODEL_ALIASES, resolve_model

    source = resolve_model(config.model) if config.model in MODEL_ALIASES else Path(config.model)
    if not config.random_weights:
        yield source
        return
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    with tempfile.TemporaryDirectory(prefix="slbench-bench-model-") as tmp:
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(source))
        model.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(source).save_pretrained(tmp)
        for extra in ("generation_config.json",):
            if (source / extra).is_file():
                shutil.copy(source / extra, Path(tmp) / extra)
        del model
        yield Path(tmp)


def _generation(config: BenchConfig, model_dir: Path, result: dict[str, Any]) -> Any:
    """hf rows (each decoder), then llama.cpp at the same batches; returns the model shape for later sections."""
    import torch

    from slbench.harness.bench.generation import bench_case, hf_case, llamacpp_case, shipped_gguf
    from slbench.harness.bench.limits import measure_machine

    shape = None
    for decoder in config.decoders:
        case, shape = hf_case(model_dir, config.device, config.dtype, decoder)
        if "limits" not in result:
            hf_backend: Any = case.backend  # the hf backend carries its torch device
            device = hf_backend.device
            dtypes = (torch.float32, torch.bfloat16)
            machine = measure_machine(device, dtypes, config.quick)
            result["limits"] = {"copy_gb_s": machine.copy_gb_s, "matmul_gflop_s": machine.matmul_gflop_s}
            result["machine"] = describe_machine(str(device))
            result["model"] = {"path": str(model_dir), "shape": shape.to_dict()}
            result["_machine"] = machine
        rows = bench_case(
            case,
            shape,
            result["_machine"],
            config.resolved_batches(),
            config.resolved_new_tokens(),
            config.prompt_tokens,
        )
        result["generation"] += [row.to_dict() for row in rows]
        del case
        gc.collect()
    assert shape is not None
    if config.section("llamacpp") and result["machine"]["device"] == "cpu":
        # The backend's own GGUF (for the embedded model, its f16 export) at the hf rows' batches:
        # llama.cpp decodes a batch's sequences in one llama_decode call. The embedded model's
        # shipped 4-bit file at batch 1 too: the fastest single stream.
        shipped = shipped_gguf(model_dir)
        cases = [(None, config.resolved_batches())] + ([(shipped, [1])] if shipped is not None else [])
        for gguf, batches in cases:
            try:
                lc_case = llamacpp_case(model_dir, shape, config.threads, gguf)
            except (FileNotFoundError, ImportError) as exc:
                result["notes"].append(f"llamacpp skipped: {exc}")
                continue
            rows = bench_case(
                lc_case,
                shape,
                result["_machine"],
                batches,
                config.resolved_new_tokens(),
                config.prompt_tokens,
            )
            result["generation"] += [row.to_dict() for row in rows]
            lc_case.backend.close()
    return shape


def run_bench(config: BenchConfig, command: str) -> dict[str, Any]:
    """Run every section ``config`` selects; the result is what ``--json`` writes."""
    import torch

    from slbench.harness.bench.report import check_targets
    from slbench.harness.bench.scoring import bench_scoring

    if config.threads is not None:
        torch.set_num_threads(config.threads)
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "command": command,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": config.model_dump(mode="json"),
        "load_average_start": load_average(),
        "generation": [],
        "training": [],
        "judge": [],
        "notes": [],
    }
    with model_directory(config) as model_dir:
        shape = _generation(config, model_dir, result)
        machine = result.pop("_machine")
        if config.section("training"):
            _training(config, model_dir, shape, machine, result)
        if config.section("judge"):
            _judge(config, shape, machine, result)
    scoring = bench_scoring(config.scoring_items)
    result["scoring"] = scoring.to_dict()
    result["scoring_items_per_s"] = scoring.items_per_s
    result["load_average_end"] = load_average()
    result["targets"] = check_targets(result)
    return result


def _training(config: BenchConfig, model_dir: Path, shape: Any, machine: Any, result: dict[str, Any]) -> None:
    from slbench.harness.bench.training import bench_training_case

    device = "cuda" if result["machine"]["device"].startswith("cuda") else "cpu"
    for seq_len in config.train_seq_lens:
        for lora in (True, False):
            try:
                row = bench_training_case(
                    model_dir,
                    shape,
                    machine,
                    lora=lora,
                    seq_len=seq_len,
                    steps=config.train_steps,
                    device=device,
                )
            except ImportError as exc:  # training extras (trl, peft, datasets) missing
                result["notes"].append(f"training skipped: {exc}")
                return
            result["training"].append(row.to_dict())
            gc.collect()


def _judge(config: BenchConfig, shape: Any, machine: Any, result: dict[str, Any]) -> None:
    from slbench.harness.bench.judge import bench_judge

    try:
        rows = bench_judge(
            machine, shape, config.judge_concurrency, config.judge_items, config.judge_max_tokens
        )
    except (ImportError, FileNotFoundError, RuntimeError) as exc:
        result["notes"].append(f"judge skipped: {exc}")
        return
    result["judge"] = [row.to_dict() for row in rows]
