"""``slbench eval``: generate with a model on a task and score length following (and quality)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from slbench.harness.cli.options import print_resolved
from slbench.harness.judge.cli_options import judge_options


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise click.BadParameter(f"--shard {text!r}: expected I/N, e.g. 0/2") from None
    if not 0 <= index < count:
        raise click.BadParameter(f"--shard {text!r}: need 0 <= I < N")
    return index, count


@click.command("eval")
@click.option("--model", default="embedded", show_default=True, help="embedded | tiny | a local model dir.")
@click.option(
    "--backend",
    type=click.Choice(["hf", "llamacpp", "vllm", "openai", "scripted"]),
    default="hf",
    show_default=True,
)
@click.option("--adapter", default=None, help="LoRA adapter dir applied on top of --model.")
@click.option("--task", "task_name", default="slbench-lf", show_default=True, help="Task name.")
@click.option("--split", default="quick", show_default=True)
@click.option("--task-path", default=None, help="Data file for tasks not shipped with slbench (longen, ...).")
@click.option("--limit", type=int, default=None, help="Only the first N items.")
@click.option(
    "--method",
    type=click.Choice(["direct", "plan-and-write"]),
    default="direct",
    show_default=True,
    help="direct: one generation per prompt; plan-and-write: LongWriter's AgentWrite (plan, then write).",
)
@click.option("--max-new-tokens", type=int, default=None, help="Override the task's generation limit.")
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--top-k", type=int, default=0, show_default=True)
@click.option("--repetition-penalty", type=float, default=1.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--count-rule", type=click.Choice(["longen", "longwriter", "tokens", "chars"]), default=None)
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--dtype", default="auto", show_default=True, help="auto | float32 | bfloat16")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda")
@click.option("--base-url", default=None, help="openai backend: endpoint base URL.")
@click.option(
    "--api-key-env", default="OPENAI_API_KEY", show_default=True, help="Env var holding the API key."
)
@click.option("--concurrency", type=int, default=4, show_default=True)
@click.option(
    "--shard",
    default=None,
    help="I/N: generate only the items whose id hashes to shard I of N (into OUT/shards/); "
    "a later run without --shard merges the shards.",
)
@click.option(
    "--tensor-parallel-size", type=int, default=None, help="vllm backend: GPUs per model replica (default 1)."
)
@click.option(
    "--data-parallel-size",
    type=int,
    default=None,
    help="vllm backend: model replicas sharing every batch (default 1); uses TP x DP GPUs.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Run directory.")
@judge_options
def eval_command(task_name: str, shard: str | None, **options: object) -> None:
    """Generate on a length-following task and score every output.

    Writes OUT/samples.jsonl, OUT/results.json, OUT/config.json and OUT/manifest.json, and prints
    the score table. Rerunning the same command resumes a killed run.
    """
    from pydantic import ValidationError

    from slbench.harness.eval_config import EvalConfig
    from slbench.harness.evaluation import RunDirConflictError, run_eval
    from slbench.harness.judge.cli_options import judge_config_from_options
    from slbench.tasks.length.score_file import format_aggregate_table

    judge_args = {key: options.pop(key) for key in list(options) if key.startswith("judge")}
    judge_config = judge_config_from_options(**judge_args)
    try:
        config = EvalConfig.model_validate({"task": task_name, "shard": parse_shard(shard), **options})
    except ValidationError as exc:
        raise click.UsageError(str(exc)) from exc
    print_resolved("eval", config.model_dump(mode="json"))
    try:
        results = run_eval(config)
    except (RunDirConflictError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    if judge_config is not None:
        from slbench.harness.cli.judge_cmd import summary_line
        from slbench.harness.evaluation import record_judge_spec
        from slbench.harness.judge.records import merge_judge_block
        from slbench.harness.judge.runner import judge_run_dir

        click.echo("judge config: " + json.dumps(judge_config.public_dict(), sort_keys=True), err=True)
        block = judge_run_dir(config.out, judge_config)
        results = merge_judge_block(config.out, block)
        record_judge_spec(config.out, judge_config.public_dict())
        click.echo(summary_line(block))
    click.echo(format_aggregate_table(results))
    extra = {k: results.get(k) for k in ("truncated_share", "not_fitting_context", "generation_wall_s")}
    click.echo(json.dumps(extra))
    click.echo(f"run dir: {config.out}", file=sys.stderr)
