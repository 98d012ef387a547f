"""The `slbench` command line: a thin click group whose commands load lazily.

Each command lives in its own module and is imported only when it runs, so `slbench report`
or `slbench score-length` never import torch (GUIDE item 2).
"""

from __future__ import annotations

import importlib
import logging
import os

import click

# name -> "module:attribute" of a click command. Keep sorted by name.
COMMANDS: dict[str, str] = {
    "bench": "slbench.harness.cli.bench_cmd:bench_command",
    "eval": "slbench.harness.cli.eval_cmd:eval_command",
    "judge": "slbench.harness.cli.judge_cmd:judge_command",
    "leaderboard": "slbench.harness.cli.leaderboard_cmd:leaderboard_group",
    "report": "slbench.harness.cli.report_cmd:report_command",
    "reproduce": "slbench.harness.cli.reproduce_cmd:reproduce_command",
    "score-length": "slbench.harness.cli.score_length_cmd:score_length_command",
    "serve": "slbench.harness.cli.serve_cmd:serve_command",
    "train": "slbench.harness.cli.train_cmd:train_command",
    "train-and-eval": "slbench.harness.cli.train_and_eval_cmd:train_and_eval_command",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="slbench")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """slbench: does a model, or a training method, really write long and well?"""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Nothing in slbench may fetch weights or data from a hub at run time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
