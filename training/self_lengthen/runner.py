"""``run_self_lengthen(config, run_dir) -> summary``: the whole method, resumable after a kill.

Layout (``RUN_DIR/self-lengthen/``)::

    config.json  manifest.json  summary.json
    iter_<k>/  instructions.jsonl  self_instruct_rounds.jsonl  initial.jsonl  subsample_initial.json
               extended.jsonl  subsample_extended.json  generator_train.jsonl  extender_train.jsonl
               generator_adapter/  extender_adapter/  stages.json  stats.json
    final/     final_train.jsonl  final_adapter/  stages.json
    eval/      base/  iter_<k>/  final/      (slbench-lf run dirs, when ``evaluate``)

Each macro-iteration's Generator and Extender continue from the previous iteration's weights
(arXiv 2410.23933 §3.2); the length-controlled final model is trained from the base model on all
accepted responses (the public code's README: "incorporate length demands ... then SFT").

Under ``accelerate launch`` every rank runs this loop (the stages make the other ranks wait for
rank 0's artefacts and train with it), but only rank 0 writes ``config.json``, ``manifest.json``,
``stats.json`` and ``summary.json``, and only rank 0 evaluates: evaluation is generation, which
rank 0 does alone, and nothing on the other ranks needs its result.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

from slbench.harness import runlog
from slbench.training.common.generation import BackendPool
from slbench.training.common.instructions import Instruction, load_instructions, load_seed_instructions
from slbench.training.common.sft import train_sft
from slbench.training.common.stages import StageLog, write_jsonl_atomic
from slbench.training.launcher import is_main_process, process_rank
from slbench.training.self_lengthen import data
from slbench.training.self_lengthen.config import SelfLengthenConfig
from slbench.training.self_lengthen.iteration import (
    Iteration,
    run_extended,
    run_initial,
    run_instructions,
    run_subsample,
    run_training,
    run_training_data,
)
from slbench.training.self_lengthen.stats import extension_stats, initial_stats, length_summary

log = logging.getLogger(__name__)
METHOD_DIR = "self-lengthen"


class ConfigConflictError(ValueError):
    """The run directory was started with a different configuration."""


# Fields that do not change what the loop generates or trains: a resumed run may change them.
_RESUMABLE_FIELDS = {
    "evaluate", "eval_task", "eval_split", "eval_limit", "eval_max_new_tokens", "eval_decoding", "eval_samples",
    "batch_size",
}  # fmt: skip


def prepare_root(root: Path, cfg: SelfLengthenConfig) -> None:
    """Write the resolved config, or refuse a run dir made with a different one (rank 0 only).

    The other ranks neither check nor write: they may start before rank 0 wrote the file, and a
    conflict that rank 0 refuses ends the whole launch anyway (torchrun stops every process).
    """
    if not is_main_process():
        return
    path = root / "config.json"
    current = cfg.model_dump(mode="json")
    if path.is_file():
        previous = runlog.read_json(path)
        changed = sorted(k for k in set(previous) | set(current)
                         if k not in _RESUMABLE_FIELDS and previous.get(k) != current.get(k))  # fmt: skip
        if changed:
            raise ConfigConflictError(
                f"{root} was started with different settings ({', '.join(changed)}); "
                "use a new --out, or delete the directory to start over"
            )
    runlog.write_json(path, current)
    runlog.write_json(root / "manifest.json", runlog.base_manifest() | {"method": METHOD_DIR})


def seed_instructions(cfg: SelfLengthenConfig) -> list[Instruction]:
    languages = tuple(cfg.languages)
    if cfg.seed_file is not None:
        return load_instructions(cfg.seed_file, languages)
    return load_seed_instructions(languages)


def iteration_stats(
    it: Iteration, initial: list[dict[str, Any]], extended: list[dict[str, Any]]
) -> dict[str, Any]:
    stages = it.stages
    return {
        "iteration": it.k,
        "check_mode": it.cfg.check_mode,
        "instructions": stages.info("instructions"),
        "initial": initial_stats(initial),
        "subsample_initial": stages.info("subsample_initial"),
        "extension": extension_stats(extended),
        "subsample_extended": stages.info("subsample_extended"),
        "training": {name: _training_info(it, name) for name in ("generator", "extender")},
        "stage_wall_s": {name: stages.info(name).get("wall_s") for name in stages.names()},
    }


def _training_info(it: Iteration, name: str) -> dict[str, Any]:
    info = it.stages.info(f"train_{name}")
    result_path = it.dir / f"{name}_adapter" / "sft_result.json"
    if result_path.is_file():
        result = runlog.read_json(result_path)
        info |= {"n_examples": result["n_examples"], "loss_curve": result["loss_curve"],
                 "train_tokens": result["train_tokens"], "max_length": result["max_length"]}  # fmt: skip
    return info


def run_iteration(it: Iteration) -> dict[str, Any]:
    """All stages of one macro-iteration; returns its statistics (also written to stats.json)."""
    cfg = it.cfg
    instructions = run_instructions(it)
    initial = run_initial(it, instructions)
    kept_initial = run_subsample(it, "subsample_initial", initial, cfg.subsample_initial)
    extended = run_extended(it, kept_initial)
    kept = run_subsample(it, "subsample_extended", extended, cfg.subsample_extended)
    gen_records, ext_records = run_training_data(it, kept)
    it.pool.release()  # free generation memory before training
    gen = run_training(it, "generator", gen_records, cfg.sft, it.generator_adapter)
    if gen is not None:
        it.generator_adapter = gen.weights_dir
    if it.k < cfg.iterations or cfg.train_last_extender:
        ext = run_training(it, "extender", ext_records, cfg.extender_settings(), it.extender_adapter)
        if ext is not None:
            it.extender_adapter = ext.weights_dir
    stats = iteration_stats(it, initial, extended)
    stats["generator_weights"] = None if it.generator_adapter is None else str(it.generator_adapter)
    if is_main_process():
        runlog.write_json(it.dir / "stats.json", stats)
    return stats


def collect_responses(root: Path, iterations: int) -> list[dict[str, Any]]:
    """Every accepted response of every iteration: kept extensions and accepted initial responses."""
    responses = []
    for k in range(1, iterations + 1):
        d = root / f"iter_{k}"
        kept_ext = set(runlog.read_json(d / "subsample_extended.json")["kept_ids"])
        found = [r for r in runlog.read_jsonl(d / "extended.jsonl") if r["id"] in kept_ext]
        found += [r for r in runlog.read_jsonl(d / "initial.jsonl") if r["accepted"]]
        # Seed instructions recur across iterations: the iteration makes the ids unique.
        responses += [{**r, "id": f"iter_{k}/{r['id']}"} for r in found]
    return responses


def run_final(cfg: SelfLengthenConfig, root: Path, base_model: Path) -> dict[str, Any]:
    """The length-controlled final stage: constraints from real lengths, SFT from the base model."""
    d = root / "final"
    stages = StageLog(d)
    path = d / "final_train.jsonl"
    if not stages.done("final_data"):
        records = data.final_records(
            collect_responses(root, cfg.iterations), cfg.final, random.Random(cfg.seed)
        )
        write_jsonl_atomic(path, records)
        stages.mark("final_data", n=len(records))
    records = list(runlog.read_jsonl(path))
    info: dict[str, Any] = {
        "n_examples": len(records),
        "words": length_summary([r["words"] for r in records]),
    }
    if records:
        result = train_sft(base_model, data.sft_examples(records), d / "final_adapter", cfg.sft)
        if not stages.done("train_final"):
            stages.mark("train_final", steps=result.steps, final_loss=result.final_loss, wall_s=result.wall_s)
        info |= {"weights": str(result.weights_dir), "loss_curve": result.loss_curve, "wall_s": result.wall_s}
    return info


def run_self_lengthen(cfg: SelfLengthenConfig, run_dir: Path) -> dict[str, Any]:
    """Run (or resume) every macro-iteration, the final stage and the evaluation; returns the summary."""
    root = run_dir / METHOD_DIR
    prepare_root(root, cfg)
    if cfg.cpu_threads is not None:
        import torch

        # On an oversubscribed CPU, torch's spinning worker threads cost far more than they give
        # (measured: the tiny model's 4 x 48 tokens took 69 s on 2 threads, 2.2 s on 1).
        torch.set_num_threads(cfg.cpu_threads)
    pool = BackendPool(
        cfg.backend, cfg.model, lora=cfg.sft.lora, batch_size=cfg.batch_size, device=cfg.device,
        dtype=cfg.dtype, base_url=cfg.base_url, api_key_env=cfg.api_key_env,
    )  # fmt: skip
    base_model = pool.base_model_dir()
    seeds = seed_instructions(cfg)
    generator: Path | None = None
    extender: Path | None = None
    iterations = []
    for k in range(1, cfg.iterations + 1):
        it = Iteration(cfg, k, root, base_model, seeds, pool, generator, extender)
        iterations.append(run_iteration(it))
        generator, extender = it.generator_adapter, it.extender_adapter
    pool.release()
    summary: dict[str, Any] = {"method": METHOD_DIR, "run_dir": str(root), "iterations": iterations}
    if cfg.final.enabled:
        summary["final"] = run_final(cfg, root, base_model)
    if not is_main_process():
        if cfg.evaluate:
            log.info("rank %d: rank 0 evaluates and writes summary.json", process_rank())
        return summary
    if cfg.evaluate:
        from slbench.training.self_lengthen.evaluate import evaluate_run

        summary["evaluation"] = evaluate_run(cfg, root, summary)
    runlog.write_json(root / "summary.json", summary)
    return summary
