"""Score the base model and every trained Generator on a length task (default: slbench-lf quick).

The issue's measure: the trained Generator's mean output length against the base model's, with
95% CIs. Besides each run's own bootstrap CI of the mean, the difference to the base is paired by
item (same prompts, same decoding and seed) and bootstrapped, which is the sharper test: "longer than the
base by more than the CI" is reported both ways (``above_base_ci``: the mean lies above the base
model's CI; ``diff_ci_excludes_zero``: the paired difference's CI lies above zero).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from slbench.harness import runlog
from slbench.harness.eval_config import EvalConfig
from slbench.harness.evaluation import run_eval
from slbench.tasks.length.aggregate import bootstrap_ci
from slbench.training.self_lengthen.config import SelfLengthenConfig

log = logging.getLogger(__name__)


def eval_config(cfg: SelfLengthenConfig, out: Path, weights: Path | None) -> EvalConfig:
    """Every model answers the same prompts with the same decoding and seed, so lengths pair by item.

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
        seed=cfg.seed,
        batch_size=cfg.batch_size,
        device=cfg.device,
        dtype=cfg.dtype,
    )


def paired_difference(base_dir: Path, other_dir: Path) -> dict[str, Any]:
    """Mean and 95% bootstrap CI of (words - base words) over the items both runs answered."""
    base = {r["id"]: r["words"] for r in runlog.read_jsonl(base_dir / runlog.SAMPLES_FILE)}
    diffs = [
        r["words"] - base[r["id"]]
        for r in runlog.read_jsonl(other_dir / runlog.SAMPLES_FILE)
        if r["id"] in base
    ]
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


def _brief(results: dict[str, Any]) -> dict[str, Any]:
    keep = ("n", "words_mean", "words_ci", "truncated_share", "scores")
    return {k: results.get(k) for k in keep}


def evaluate_run(cfg: SelfLengthenConfig, root: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """Evaluate base, each iteration's Generator and the final model; resumable (run_eval resumes)."""
    out: dict[str, Any] = {
        "task": cfg.eval_task, "split": cfg.eval_split, "limit": cfg.eval_limit,
        "decoding": cfg.eval_decoding, "models": {},
    }  # fmt: skip
    # Each decoding gets its own run dirs, so switching --set eval_decoding re-evaluates, not conflicts.
    suffix = "" if cfg.eval_decoding == "sampling" else f"-{cfg.eval_decoding}"
    base_dir = root / "eval" / f"base{suffix}"
    for label, weights in _entries(summary):
        run_dir = root / "eval" / f"{label}{suffix}"
        log.info("evaluating %s on %s/%s", label, cfg.eval_task, cfg.eval_split)
        entry = _brief(run_eval(eval_config(cfg, run_dir, weights)))
        entry["weights"] = None if weights is None else str(weights)
        if label != "base":
            base = out["models"]["base"]
            entry["diff_vs_base"] = paired_difference(base_dir, run_dir)
            ci = entry["diff_vs_base"]["ci"]
            entry["diff_ci_excludes_zero"] = bool(ci and ci[0] > 0)
            base_ci = base.get("words_ci") or [None, None]
            entry["above_base_ci"] = bool(base_ci[1] is not None and (entry["words_mean"] or 0) > base_ci[1])
        out["models"][label] = entry
    return out
