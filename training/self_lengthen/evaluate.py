"""Score the base model and every trained Generator on a length task (default: slbench-lf quick).

The issue's measure: the trained Generator's mean output length against the base model's, with
95% CIs. Besides each run's own bootstrap CI of the mean, the difference to the base is paired by
item (same prompts, same decoding and seed) and bootstrapped, which is the sharper test: "longer than the
base by more than the CI" is reported both ways (``above_base_ci``: the mean lies above the base
model's CI; ``diff_ci_excludes_zero``: the paired difference's CI lies above zero).

With ``eval_samples`` = k > 1 every model answers each item k times (seeds seed .. seed+k-1, one
run dir each: ``eval/<label>`` then ``eval/<label>-s1`` ...), and lengths and scores are averaged per
item first: the CIs are then over items, with less of the single answer's sampling noise in them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slbench.harness import runlog
from slbench.harness.eval_config import EvalConfig
from slbench.harness.evaluation import run_eval
from slbench.tasks.length.aggregate import aggregate_records, bootstrap_ci
from slbench.training.self_lengthen.config import SelfLengthenConfig

log = logging.getLogger(__name__)


def eval_config(cfg: SelfLengthenConfig, out: Path, weights: Path | None, seed_offset: int = 0) -> EvalConfig:
    """Every model answers the same prompts with the same decoding and seeds, so lengths pair by item.

    The default decodes as the loop does (temperature 0.7, top-p 0.8, top-k 20, repetition penalty
    1.1): under greedy decoding without a penalty SmolLM2-135M loops until the token cap on nearly
    every item (measured: 100% truncated at 1,024 tokens), so its "length" would be the cap.
    """
    lora = cfg.sft.lora
    d = cfg.decoding
    sampling = cfg.eval_decoding == "sampling"
    return EvalConfig(
        out=out,
        model=str(weights) if (weights is not None and not lora) else cfg.model,
        adapter=str(weights) if (weights is not None and lora) else None,
        backend=cfg.backend if cfg.backend in ("vllm", "llamacpp") else "hf",
        task=cfg.eval_task,
        split=cfg.eval_split,
        limit=cfg.eval_limit,
        max_new_tokens=cfg.eval_max_new_tokens,
        temperature=d.temperature if sampling else 0.0,
        top_p=d.top_p if sampling else 1.0,
        top_k=d.top_k if sampling else 0,
        repetition_penalty=d.repetition_penalty if sampling else 1.0,
        seed=cfg.seed + seed_offset,
        batch_size=cfg.batch_size,
        device=cfg.device,
        dtype=cfg.dtype,
    )


def sample_run_dirs(root: Path, label: str, cfg: SelfLengthenConfig) -> list[Path]:
    """One run dir per sampled answer of every item; the first keeps the single-sample name."""
    suffix = "" if cfg.eval_decoding == "sampling" else f"-{cfg.eval_decoding}"
    k = cfg.eval_samples if cfg.eval_decoding == "sampling" else 1  # greedy answers are all alike
    first = root / "eval" / f"{label}{suffix}"
    return [first] + [first.with_name(f"{first.name}-s{s}") for s in range(1, k)]


def item_means(run_dirs: Sequence[Path]) -> list[dict[str, Any]]:
    """Per item (in first-run order): words and every score averaged over the runs that answered it.

    ``answers`` counts them and ``truncated`` counts those cut at the token cap.
    """
    by_id: dict[str, list[dict[str, Any]]] = {}
    for run_dir in run_dirs:
        for record in runlog.read_jsonl(run_dir / runlog.SAMPLES_FILE):
            by_id.setdefault(record["id"], []).append(record)
    items = []
    for item_id, records in by_id.items():
        names = sorted(set().union(*(r["scores"] for r in records)))
        items.append({
            "id": item_id,
            "words": sum(r["words"] for r in records) / len(records),
            "scores": {n: sum(r["scores"][n] for r in records if n in r["scores"])
                          / sum(n in r["scores"] for r in records) for n in names},
            "kind": records[0].get("kind"), "language": records[0].get("language"),
            "bucket": records[0].get("bucket"),
            "answers": len(records),
            "truncated": sum(r.get("finish_reason") == "length" for r in records),
        })  # fmt: skip
    return items


def model_entry(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean words with its 95% CI over items, truncation over every answer, averaged scores."""
    aggregate = aggregate_records(items)
    answers = sum(i["answers"] for i in items)
    return {
        "n": len(items),
        "answers": answers,
        "words_mean": aggregate["words_mean"],
        "words_ci": aggregate["words_ci"],
        "truncated_share": sum(i["truncated"] for i in items) / answers if answers else None,
        "scores": aggregate["scores"],
    }


def paired_difference(base: Sequence[dict[str, Any]], other: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and 95% bootstrap CI of (words - base words) over the items both models answered."""
    base_words = {i["id"]: i["words"] for i in base}
    diffs = [i["words"] - base_words[i["id"]] for i in other if i["id"] in base_words]
    if not diffs:
        return {"n": 0, "mean": None, "ci": None}
    low, high = bootstrap_ci(diffs)
    return {"n": len(diffs), "mean": round(sum(diffs) / len(diffs), 2), "ci": [round(low, 2), round(high, 2)]}


def _entries(summary: dict[str, Any]) -> list[tuple[str, Path | None]]:
    entries: list[tuple[str, Path | None]] = [("base", None)]
    previous: str | None = None
    for stats in summary["iterations"]:
        weights = stats.get("generator_weights")
        if weights is not None and weights != previous:  # an iteration without training adds nothing new
            entries.append((f"iter_{stats['iteration']}", Path(weights)))
        previous = weights
    final = summary.get("final", {}).get("weights")
    if final:
        entries.append(("final", Path(final)))
    return entries


def evaluate_run(cfg: SelfLengthenConfig, root: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """Evaluate base, each iteration's Generator and the final model; resumable (run_eval resumes)."""
    out: dict[str, Any] = {
        "task": cfg.eval_task, "split": cfg.eval_split, "limit": cfg.eval_limit,
        "decoding": cfg.eval_decoding, "samples_per_item": len(sample_run_dirs(root, "base", cfg)),
        "models": {},
    }  # fmt: skip
    # Each decoding gets its own run dirs, so switching --set eval_decoding re-evaluates, not conflicts.
    base_items: list[dict[str, Any]] = []
    for label, weights in _entries(summary):
        run_dirs = sample_run_dirs(root, label, cfg)
        for offset, run_dir in enumerate(run_dirs):
            log.info(
                "evaluating %s on %s/%s (seed %d)", label, cfg.eval_task, cfg.eval_split, cfg.seed + offset
            )
            run_eval(eval_config(cfg, run_dir, weights, seed_offset=offset))
        items = item_means(run_dirs)
        entry = model_entry(items)
        entry["weights"] = None if weights is None else str(weights)
        if label == "base":
            base_items = items
        else:
            base = out["models"]["base"]
            entry["diff_vs_base"] = paired_difference(base_items, items)
            ci = entry["diff_vs_base"]["ci"]
            entry["diff_ci_excludes_zero"] = bool(ci and ci[0] > 0)
            base_ci = base.get("words_ci") or [None, None]
            entry["above_base_ci"] = bool(base_ci[1] is not None and (entry["words_mean"] or 0) > base_ci[1])
        out["models"][label] = entry
    return out
