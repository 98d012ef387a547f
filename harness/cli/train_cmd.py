"""``slbench train``: run a training method (Self-Lengthen or a baseline) into a run directory.

The method is picked by name from ``slbench.training.methods.TRAINING_METHODS``; its config is
resolved as preset < ``--config`` YAML < ``--set key=value`` < the flags ``--iterations`` and
``--check-mode`` (shorthands for ``--set iterations=N`` / ``--set check_mode=...``), printed, and
saved in the run. Rerunning the same command resumes a killed run.

``--launcher accelerate --num-processes N [--accelerate-config FILE|NAME]`` re-runs this same
command line under ``accelerate launch`` (N processes; DDP, FSDP2 or DeepSpeed as the config says)
and returns its exit code; ``--dry-run-launch`` prints that command only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from slbench.harness.cli.options import print_resolved


@click.command("train")
@click.option("--method", default="self-lengthen", show_default=True, help="Registered training method.")
@click.option(
    "--preset", default=None, help="Named preset of the method (self-lengthen: smoke, small, medium, paper)."
)
@click.option("--config", "config_file", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="YAML file with config keys (over the preset).")  # fmt: skip
@click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override one key (dotted, YAML value)."
)
@click.option(
    "--iterations", type=int, default=None, help="Macro-iterations (shorthand for --set iterations=N)."
)
@click.option("--check-mode", type=click.Choice(["strict", "repair"]), default=None,
              help="Self-Lengthen response checks (shorthand for --set check_mode=...).")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Run directory.")
@click.option("--launcher", type=click.Choice(["none", "accelerate"]), default="none", show_default=True,
              help="none: run in this process; accelerate: re-run this command under `accelerate launch`.")  # fmt: skip
@click.option("--num-processes", type=int, default=None, help="accelerate: processes in all (one per GPU).")
@click.option("--accelerate-config", default=None, metavar="FILE|NAME",
              help="accelerate: a config file, or a shipped one: ddp, fsdp2, deepspeed_zero2, deepspeed_zero3.")  # fmt: skip
@click.option("--dry-run-launch", is_flag=True, help="accelerate: print the launch command, do not run it.")
def train_command(
    method: str,
    preset: str | None,
    config_file: Path | None,
    overrides: tuple[str, ...],
    iterations: int | None,
    check_mode: str | None,
    out: Path,
    launcher: str,
    num_processes: int | None,
    accelerate_config: str | None,
    dry_run_launch: bool,
) -> None:
    """Train with a method and evaluate what it produced; prints per-iteration statistics."""
    from pydantic import ValidationError

    from slbench.harness.registry import UnknownNameError
    from slbench.training.methods import get_method

    try:
        chosen = get_method(method)
    except UnknownNameError as exc:
        raise click.UsageError(str(exc)) from exc
    items = list(overrides)
    if iterations is not None:
        items.append(f"iterations={iterations}")
    if check_mode is not None:
        items.append(f"check_mode={check_mode}")
    try:
        config = chosen.resolve(preset, config_file, items)
    except (ValidationError, ValueError, KeyError) as exc:
        raise click.UsageError(f"invalid {method} config: {exc}") from exc
    if launcher == "accelerate":
        # The config is resolved above so that a bad --set fails here, not in N processes.
        _launch(num_processes, accelerate_config, dry_run_launch)
    if num_processes is not None or accelerate_config is not None or dry_run_launch:
        raise click.UsageError(
            "--num-processes, --accelerate-config and --dry-run-launch need --launcher accelerate"
        )
    print_resolved(f"train --method {method}", config.model_dump(mode="json"))
    try:
        summary = chosen.run(config, out)
    except ValueError as exc:  # a run dir started with other settings, a malformed data file
        raise click.ClickException(str(exc)) from exc
    click.echo(chosen.format_summary(summary))
    click.echo(json.dumps({"summary": str(out / method / "summary.json")}), err=True)


def _launch(num_processes: int | None, accelerate_config: str | None, dry_run: bool) -> None:
    """Run this command line again under ``accelerate launch`` and exit with its exit code."""
    from slbench.training.launcher import LaunchConfigError, describe, launch_command

    if num_processes is None:
        raise click.UsageError("--launcher accelerate needs --num-processes N")
    try:
        command = launch_command(sys.argv[1:], num_processes, accelerate_config)
    except LaunchConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if dry_run:
        click.echo(describe(command))
        raise click.exceptions.Exit(0)
    click.echo(f"slbench train: launching {describe(command)}", err=True)
    raise click.exceptions.Exit(subprocess.run(command, check=False).returncode)
