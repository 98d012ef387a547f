"""``slbench train-and-eval``: the main job. Train every method iteration by iteration, score each.

Methods: base, self-lengthen, backtranslation, plan-and-write-data, plan-and-write-inference.
The config is resolved as preset < flags, printed, and saved in RUN_DIR/config.json; the
methods x iterations table is printed at the end and saved as RUN_DIR/summary.json (and .md).
Rerunning the same command resumes a killed run without recomputing finished steps.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from slbench.harness.cli.options import print_resolved
from slbench.harness.judge.cli_options import judge_config_from_options, judge_options

METHOD_HELP = "base, self-lengthen, backtranslation, plan-and-write-data, plan-and-write-inference"


def _overrides(options: dict[str, Any]) -> dict[str, Any]:
    """Config keys set by flags (None = not given)."""
    data: dict[str, Any] = {}
    for flag, key in (("model", "model"), ("iterations", "iterations"), ("examples", "examples_per_iteration"),
                      ("device", "device"), ("backend", "backend"), ("threads", "torch_threads"), ("seed", "seed")):  # fmt: skip
        if options.get(flag) is not None:
            data[key] = options[flag]
    if options.get("out") is not None:
        data["out"] = str(options["out"])
    if options.get("methods"):
        data["methods"] = [m.strip() for m in options["methods"].split(",") if m.strip()]
    evaluation = {k: options[k] for k in ("limit", "max_new_tokens") if options.get(k) is not None}
    if evaluation:
        data["eval"] = evaluation
    return data


@click.command("train-and-eval")
@click.option("--preset", default="small", show_default=True, help="smoke | small | paper | a YAML file.")
@click.option("--methods", default=None, help=f"Comma-separated subset of: {METHOD_HELP}.")
@click.option(
    "--iterations", type=click.IntRange(min=1), default=None, help="Iterations of each trained method."
)
@click.option(
    "--examples", type=click.IntRange(min=1), default=None, help="SFT examples per method and iteration."
)
@click.option("--model", default=None, help="Base model: embedded | tiny | a local model dir.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Evaluate only the first N items.")
@click.option(
    "--max-new-tokens", type=click.IntRange(min=1), default=None, help="Evaluation token cap per item."
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None)
@click.option(
    "--backend",
    type=click.Choice(["hf", "llamacpp"]),
    default=None,
    help="Generation backend for data and evaluation [preset's]. llamacpp: f16 GGUF exports, CPU.",
)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads.")
@click.option("--seed", type=int, default=None)
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Run dir [preset's: runs/train-and-eval]."
)
@judge_options
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.pass_context
def train_and_eval_command(ctx: click.Context, preset: str, no_progress: bool, **options: Any) -> None:
    """Train Self-Lengthen and its baselines on one budget; score every iteration for length and quality.

    With no arguments: the `small` preset (the embedded model on CPU) into runs/train-and-eval.
    """
    from slbench.harness.train_and_eval.config import ConfigError, build_config
    from slbench.harness.train_and_eval.loop import RunDirConflictError, run_train_and_eval
    from slbench.harness.train_and_eval.summary import format_table

    try:
        config = build_config(preset, _overrides(options))
    except (ConfigError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    if (
        ctx.get_parameter_source("judge") is not click.core.ParameterSource.COMMANDLINE
        and not options["judge_url"]
    ):
        options["judge"] = config.judge  # the preset's judge, unless the command line names one
    judge = judge_config_from_options(**options)
    print_resolved(
        "train-and-eval", {**config.model_dump(mode="json"), "judge": judge and judge.public_dict()}
    )
    try:
        rows = run_train_and_eval(config, judge, progress=not no_progress)
    except RunDirConflictError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_table(rows))
    click.echo(f"run dir: {config.out}  (summary: {config.out / 'summary.json'})", file=sys.stderr)
