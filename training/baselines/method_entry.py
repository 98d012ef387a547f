"""The baselines as ``slbench train --method backtranslation | plan-and-write`` entries.

Their presets (smoke, small, paper) are the same as in ``slbench train-and-eval``: the shared
budget of that preset plus the method's own section, read from ``harness/train_and_eval/presets``,
so a baseline trained alone is trained exactly as in the comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from slbench.harness import runlog
from slbench.training.common.method import TrainingMethod
from slbench.training.launcher import is_main_process

BaselineName = Literal["backtranslation", "plan-and-write"]
_LOOP_NAMES = {"backtranslation": "backtranslation", "plan-and-write": "plan-and-write-data"}


def baseline_presets(name: BaselineName) -> dict[str, dict[str, Any]]:
    """Each train-and-eval preset, resolved for this one baseline."""
    from slbench.harness.train_and_eval.config import PRESET_NAMES, build_config
    from slbench.harness.train_and_eval.methods import baseline_config

    presets = {}
    for preset in PRESET_NAMES:
        config = build_config(preset, {"methods": [_LOOP_NAMES[name]]})
        presets[preset] = baseline_config(config, _LOOP_NAMES[name]).model_dump(mode="json")  # type: ignore[arg-type]
    return presets


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"{summary['method']}: {len(summary['iterations'])} iteration(s)"]
    for index, it in enumerate(summary["iterations"], start=1):
        loss = it["loss_curve"][-1]["loss"] if it["loss_curve"] else None
        lines.append(
            f"  iter {index}: {it['n_examples']} examples, {it['steps']} steps, final loss {loss}, "
            f"{it['wall_s']:.0f}s -> {it['adapter_dir'] or it['model_dir']}"
        )
    return "\n".join(lines)


def make_method(name: BaselineName) -> TrainingMethod:
    """The ``TrainingMethod`` of one baseline; torch is imported only when it runs."""

    def run(config: Any, run_dir: Path) -> dict[str, Any]:
        root = Path(run_dir) / name
        if name == "backtranslation":
            from slbench.training.backtranslation.runner import run_backtranslation

            results = run_backtranslation(config, root)
        else:
            from slbench.training.plan_and_write.runner import run_plan_and_write

            results = run_plan_and_write(config, root)
        summary = {"method": name, "run_dir": str(root), "iterations": [r.to_dict() for r in results]}
        if is_main_process():  # under accelerate launch every rank gets here; rank 0 alone writes
            runlog.write_json(root / "summary.json", summary)
        return summary

    if name == "backtranslation":
        from slbench.training.backtranslation.runner import BacktranslationConfig as config_class
    else:
        from slbench.training.plan_and_write.runner import PlanAndWriteConfig as config_class  # type: ignore[assignment]
    return TrainingMethod(name, config_class, run, baseline_presets(name), format_summary)
