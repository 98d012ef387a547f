"""``run_eval``: generate, count, score and write a run directory; resumable after a kill.

Generation limits come from the task (its largest target) and the model's context window; an
item whose target cannot fit is flagged ``fits_context: false`` in its record and counted in the
results, never silently truncated. Records are appended as each chunk finishes, so a rerun of
the same command skips what is done and duplicates nothing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slbench.harness import runlog
from slbench.harness.backends import Backend, GenerationParams, GenerationRequest, create_backend
from slbench.harness.eval_config import EvalConfig
from slbench.harness.judge.degeneration import degeneration_metrics
from slbench.harness.models import MODEL_ALIASES, resolve_model
from slbench.harness.task import Task, load_task
from slbench.harness.types import Generation, Sample
from slbench.tasks.length.aggregate import aggregate_records, length_bucket
from slbench.tasks.length.counting import count_length
from slbench.tasks.length.scores import length_scores

log = logging.getLogger(__name__)


class RunDirConflictError(ValueError):
    """The run directory holds a run with a different generation config."""


def build_backend(config: EvalConfig) -> Backend:
    if config.backend == "openai":
        if not config.base_url:
            raise ValueError("--backend openai needs --base-url")
        return create_backend(
            "openai", model=config.model, base_url=config.base_url,
            api_key_env=config.api_key_env, concurrency=config.concurrency,
        )  # fmt: skip
    if config.backend == "scripted":
        return create_backend("scripted")
    model_dir = resolve_model(config.model) if config.model in MODEL_ALIASES else Path(config.model)
    if config.backend == "vllm":
        return create_backend(
            "vllm", model=model_dir, adapter=config.adapter,
            tensor_parallel_size=config.tensor_parallel_size or 1,
            data_parallel_size=config.data_parallel_size or 1,
        )  # fmt: skip
    if config.backend == "llamacpp":
        return create_backend(
            "llamacpp", model=model_dir, adapter=config.adapter, batch_size=config.batch_size
        )
    return create_backend(
        "hf", model=model_dir, adapter=config.adapter, batch_size=config.batch_size,
        device=config.device, dtype=config.dtype,
    )  # fmt: skip


def prepare_run_dir(config: EvalConfig) -> None:
    """Create the run dir, or check that an existing one was made by the same generation config."""
    path = config.out / runlog.CONFIG_FILE
    if path.exists():
        previous = EvalConfig.model_validate(runlog.read_json(path))
        if previous.generation_key() != config.generation_key():
            changed = sorted(
                k for k, v in config.generation_key().items() if previous.generation_key().get(k) != v
            )
            raise RunDirConflictError(
                f"{config.out} holds a run with different settings ({', '.join(changed)}); "
                "use a new --out, or delete the directory to start over"
            )
    runlog.write_json(path, config.model_dump(mode="json"))


def in_shard(sample_id: str, shard: tuple[int, int] | None) -> bool:
    """Stable id hashing, so several processes split one run without overlap."""
    if shard is None:
        return True
    index, count = shard
    return int(hashlib.sha256(sample_id.encode()).hexdigest(), 16) % count == index


def shard_dir(out: Path, shard: tuple[int, int]) -> Path:
    index, count = shard
    return out / "shards" / f"{index}-of-{count}"


def merge_shards(config: EvalConfig) -> int:
    """Adopt records that shard processes wrote under ``OUT/shards/``; returns how many were new.

    Each shard must have run with the same generation settings; its records are then exactly
    what this process would have generated, so the unsharded run only fills what is missing.
    """
    samples_path = config.out / runlog.SAMPLES_FILE
    done = {r["id"] for r in runlog.read_jsonl(samples_path)}
    adopted: list[dict[str, Any]] = []
    for shard_config_path in sorted((config.out / "shards").glob(f"*/{runlog.CONFIG_FILE}")):
        shard = EvalConfig.model_validate(runlog.read_json(shard_config_path))
        if shard.generation_key() != config.generation_key():
            raise RunDirConflictError(f"{shard_config_path.parent} was generated with different settings")
        for record in runlog.read_jsonl(shard_config_path.parent / runlog.SAMPLES_FILE):
            if record["id"] not in done:
                done.add(record["id"])
                adopted.append(record)
    runlog.append_jsonl(samples_path, adopted)
    return len(adopted)


def select_samples(task: Task, config: EvalConfig) -> list[Sample]:
    samples = list(task.samples)
    if config.limit is not None:
        samples = samples[: config.limit]
    return [s for s in samples if in_shard(s.id, config.shard)]


def make_request(task: Task, sample: Sample) -> GenerationRequest:
    return GenerationRequest.from_prompt(sample.prompt, system=task.system_prompt)


def score_record(
    sample: Sample, generation: Generation, count_rule: str, tokenizer: Any = None
) -> dict[str, Any]:
    """One samples.jsonl line: the item, its output, its counted length and scores."""
    words = count_length(generation.text, count_rule, tokenizer=tokenizer)
    record: dict[str, Any] = {
        **sample.to_dict(),
        "output": generation.text,
        **{k: v for k, v in generation.to_dict().items() if k != "text"},
        "words": words,
        "count_rule": count_rule,
        # Reference-free: repeated n-grams and compression flag padding that length scores reward.
        "degeneration": degeneration_metrics(generation.text, sample.language),
    }
    if sample.constraint is not None:
        record.update(
            kind=sample.constraint.kind,
            target=sample.constraint.target,
            target_max=sample.constraint.target_max,
            bucket=length_bucket(sample.constraint),
            scores=length_scores(words, sample.constraint),
        )
    return record


def generate_pending(
    config: EvalConfig, task: Task, backend: Backend, pending: Sequence[Sample], params: GenerationParams
) -> None:
    """Generate in chunks grouped by token budget, appending each chunk's records as it finishes."""
    samples_path = config.out / runlog.SAMPLES_FILE
    count_rule = config.count_rule or task.count_rule
    groups: dict[tuple[int, bool], list[tuple[Sample, GenerationRequest]]] = defaultdict(list)
    for sample in pending:
        request = make_request(task, sample)
        budget, fits = task.item_token_budget(sample, backend.prompt_tokens(request), backend.context_window)
        if config.max_new_tokens is not None:
            budget = min(budget, config.max_new_tokens)
        groups[(budget, fits)].append((sample, request))
    chunk = max(getattr(backend, "batch_size", 1), 1) * 2
    for (budget, fits), items in sorted(groups.items()):
        item_params = GenerationParams(
            **{**params.to_dict(), "max_new_tokens": budget, "stop": tuple(params.stop)}
        )
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            log.info("generating %d items (limit %d tokens)", len(part), budget)
            generations = backend.generate([r for _, r in part], item_params, progress=True)
            records = []
            for (sample, _), generation in zip(part, generations, strict=True):
                record = score_record(sample, generation, count_rule)
                record["max_new_tokens"] = budget
                record["fits_context"] = fits
                records.append(record)
            runlog.append_jsonl(samples_path, records)


def mean_degeneration(records: list[dict[str, Any]]) -> dict[str, float]:
    """Means of the numeric per-sample degeneration metrics."""
    values: dict[str, list[float]] = defaultdict(list)
    for record in records:
        for name, value in (record.get("degeneration") or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values[name].append(float(value))
    return {name: sum(v) / len(v) for name, v in sorted(values.items())}


def record_judge_spec(run_dir: Path, spec: dict[str, Any]) -> None:
    """Add a judge's public spec (no key) to the run manifest's ``judges`` list."""
    path = run_dir / runlog.MANIFEST_FILE
    manifest = runlog.read_json(path) if path.exists() else {}
    judges = [j for j in manifest.get("judges", []) if j != spec]
    manifest["judges"] = [*judges, spec]
    runlog.write_json(path, manifest)


def summarise(records: list[dict[str, Any]], task: Task, wall_s: float) -> dict[str, Any]:
    scored = [r for r in records if "scores" in r]
    results: dict[str, Any] = {
        "task": task.name,
        "task_version": task.version,
        "split": task.split,
        **aggregate_records(scored),
        "n_unconstrained": len(records) - len(scored),
        "degeneration": mean_degeneration(records),
        "not_fitting_context": sum(1 for r in records if r.get("fits_context") is False),
        "generation_wall_s": round(wall_s, 2),
    }
    return results


def run_eval(config: EvalConfig, *, backend: Backend | None = None) -> dict[str, Any]:
    """Evaluate and return ``results.json``'s content. Reuses finished items in ``config.out``.

    With ``config.shard = (i, n)`` only the items hashing to shard i are generated, into
    ``OUT/shards/i-of-n/``; a later run without ``shard`` merges the shards and fills any gap.
    """
    if config.shard is not None:
        config = config.model_copy(update={"out": shard_dir(config.out, config.shard)})
    task = load_task(config.task, config.split, config.task_path)
    task.validate()
    prepare_run_dir(config)
    samples_path = config.out / runlog.SAMPLES_FILE
    runlog.repair_jsonl(samples_path)
    if config.shard is None:
        merge_shards(config)
    done = {r["id"] for r in runlog.read_jsonl(samples_path)}
    selected = select_samples(task, config)
    pending = [s for s in selected if s.id not in done]
    params = GenerationParams(
        max_new_tokens=config.max_new_tokens or task.max_new_tokens,
        temperature=config.temperature, top_p=config.top_p, top_k=config.top_k,
        repetition_penalty=config.repetition_penalty, seed=config.seed, stop=tuple(task.stop),
    )  # fmt: skip
    started = time.perf_counter()
    own_backend = backend is None
    if pending:
        backend = backend or build_backend(config)
        manifest = runlog.base_manifest() | {
            "task": task.describe(),
            "backend": backend.describe(),
            "generation": params.to_dict(),
            "seed": config.seed,
        }
        runlog.write_json(config.out / runlog.MANIFEST_FILE, manifest)
        try:
            if config.method == "plan-and-write":
                from slbench.training.plan_and_write.inference import generate_plan_and_write

                generate_plan_and_write(config, task, backend, selected, pending, params)
            else:
                generate_pending(config, task, backend, pending, params)
        finally:
            if own_backend:
                backend.close()
    wanted = {s.id for s in selected}
    records = [r for r in runlog.read_jsonl(samples_path) if r["id"] in wanted]
    results = summarise(records, task, time.perf_counter() - started)
    runlog.write_json(config.out / runlog.RESULTS_FILE, results)
    return results
