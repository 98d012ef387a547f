"""``slbench serve --engine vllm``: ``vllm serve`` with the base model and trained LoRA adapters.

The adapters are registered as LoRA modules (``--enable-lora --lora-modules NAME=PATH``); an
OpenAI-compatible client then picks one per request with ``model=NAME``, so
``slbench eval --backend openai --base-url URL --model generator`` evaluates the Generator and
``--model BASE`` the base model. ``--run-dir`` registers the latest adapters of a finished
``slbench train --method self-lengthen`` run as ``generator``, ``extender`` (and ``final``).

The command prints the exact ``vllm serve`` argv, the base URL and the served model names (JSON
on stdout), then replaces itself with ``vllm serve`` (``--dry-run``: print only).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import click

# vLLM accepts only these values for --max-lora-rank (vllm/config/lora.py, MaxLoRARanks).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
METHOD_DIR = "self-lengthen"
# Role name -> the adapter directory each Self-Lengthen iteration writes.
RUN_ROLES = {"generator": "generator_adapter", "extender": "extender_adapter"}
ADAPTER_CONFIG = "adapter_config.json"
SFT_COMPLETE = "sft_result.json"  # written by train_sft before the directory gets its final name


class ServeError(click.ClickException):
    """A serve request that cannot be turned into a ``vllm serve`` command."""


def parse_adapter(spec: str) -> tuple[str, Path]:
    """``NAME=PATH`` of ``--adapter``."""
    name, sep, path = spec.partition("=")
    name = name.strip()
    if not sep or not name or not path or any(c.isspace() for c in name):
        raise ServeError(f"--adapter {spec!r}: expected NAME=PATH (a name without spaces)")
    return name, Path(path)


def adapter_rank(name: str, path: Path) -> int:
    """The LoRA rank of a PEFT adapter directory (its ``adapter_config.json`` field ``r``)."""
    config = path / ADAPTER_CONFIG
    if not config.is_file():
        if (path / "config.json").is_file():
            raise ServeError(
                f"adapter {name!r}: {path} holds full weights, not a LoRA adapter; serve it as --model"
            )
        raise ServeError(f"adapter {name!r}: {path} has no {ADAPTER_CONFIG} (not a PEFT LoRA adapter)")
    rank = json.loads(config.read_text(encoding="utf-8")).get("r")
    if not isinstance(rank, int) or rank < 1:
        raise ServeError(f"adapter {name!r}: {config} field r must be a positive integer, got {rank!r}")
    return rank


def _method_root(run_dir: Path) -> Path:
    """``RUN/self-lengthen`` for the ``--out`` of ``slbench train``; the method dir itself also works."""
    root = run_dir / METHOD_DIR
    if root.is_dir():
        return root
    if any(run_dir.glob("iter_*")):
        return run_dir
    raise ServeError(
        f"--run-dir {run_dir}: no {METHOD_DIR}/ run inside (the --out of slbench train --method self-lengthen)"
    )


def run_dir_adapters(run_dir: Path) -> dict[str, Path]:
    """The latest complete adapter of each role in a Self-Lengthen run (and the final one if trained).

    A role's adapter is taken from the highest ``iter_N`` that holds a complete one: with
    ``train_last_extender: false`` the Extender's latest is one iteration behind the Generator's.
    """
    root = _method_root(run_dir)
    iterations = sorted(
        (int(d.name.removeprefix("iter_")), d) for d in root.glob("iter_*") if d.name[5:].isdigit()
    )
    found: dict[str, Path] = {}
    for role, dirname in RUN_ROLES.items():
        for _, directory in reversed(iterations):
            candidate = directory / dirname
            if (candidate / SFT_COMPLETE).is_file():
                found[role] = candidate.resolve()
                break
    final = root / "final" / "final_adapter"
    if (final / SFT_COMPLETE).is_file():
        found["final"] = final.resolve()
    if not found:
        raise ServeError(
            f"--run-dir {run_dir}: no trained adapter yet (looked for {root}/iter_N/generator_adapter "
            f"and extender_adapter with {SFT_COMPLETE})"
        )
    return found


def run_dir_model(run_dir: Path) -> str:
    """The base model a Self-Lengthen run trained on, from its saved config (aliases resolved)."""
    config = _method_root(run_dir) / "config.json"
    if not config.is_file():
        raise ServeError(f"--run-dir {run_dir}: no {config}; pass --model")
    model = str(json.loads(config.read_text(encoding="utf-8"))["model"])
    from slbench.harness.models import MODEL_ALIASES, resolve_model

    return str(resolve_model(model)) if model in MODEL_ALIASES else model


def lora_rank(adapters: dict[str, Path], requested: int | None) -> int:
    """``--max-lora-rank``: the requested one (checked), else the smallest vLLM value that fits all."""
    ranks = {name: adapter_rank(name, path) for name, path in adapters.items()}
    largest = max(ranks.values())
    if requested is None:
        return next(r for r in VLLM_LORA_RANKS if r >= largest)
    if requested not in VLLM_LORA_RANKS:
        raise ServeError(f"--max-lora-rank {requested}: vLLM accepts {', '.join(map(str, VLLM_LORA_RANKS))}")
    too_big = sorted(name for name, rank in ranks.items() if rank > requested)
    if too_big:
        raise ServeError(f"--max-lora-rank {requested} is below the rank of adapter(s) {', '.join(too_big)}")
    return requested


def vllm_serve_argv(
    model: str,
    adapters: dict[str, Path],
    *,
    host: str,
    port: int,
    tensor_parallel_size: int,
    data_parallel_size: int,
    max_lora_rank: int | None,
) -> list[str]:
    """The exact ``vllm serve`` command line."""
    argv = ["vllm", "serve", model, "--host", host, "--port", str(port),
            "--tensor-parallel-size", str(tensor_parallel_size),
            "--data-parallel-size", str(data_parallel_size)]  # fmt: skip
    if adapters:
        # max-loras: the Generator's and the Extender's requests may share one batch.
        argv += ["--enable-lora", "--max-lora-rank", str(lora_rank(adapters, max_lora_rank)),
                 "--max-loras", str(len(adapters)), "--lora-modules",
                 *(f"{name}={path}" for name, path in adapters.items())]  # fmt: skip
    return argv


def client_base_url(host: str, port: int) -> str:
    """The URL a client on this machine uses (a server bound to every interface answers on loopback)."""
    reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"http://{reachable}:{port}/v1"


@click.command("serve")
@click.option(
    "--engine", type=click.Choice(["vllm"]), default="vllm", show_default=True, help="Serving engine."
)
@click.option(
    "--model", default=None, help="Base model (directory or hub id); default: the --run-dir's model."
)
@click.option("--adapter", "adapter_specs", multiple=True, metavar="NAME=PATH",
              help="A LoRA adapter served as model NAME (repeatable; wins over --run-dir's).")  # fmt: skip
@click.option("--run-dir", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None,
              help="A `slbench train --method self-lengthen` run: serve its latest generator/extender adapters.")  # fmt: skip
@click.option("--tensor-parallel-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="GPUs per model replica.")  # fmt: skip
@click.option("--data-parallel-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Model replicas (GPUs used = tensor x data parallel size).")  # fmt: skip
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--max-lora-rank", type=int, default=None,
              help="vLLM's LoRA rank cap; default: the smallest allowed value that fits the adapters.")  # fmt: skip
@click.option(
    "--dry-run", is_flag=True, help="Print the command, the URL and the model names; start nothing."
)
def serve_command(
    engine: str,
    model: str | None,
    adapter_specs: tuple[str, ...],
    run_dir: Path | None,
    tensor_parallel_size: int,
    data_parallel_size: int,
    host: str,
    port: int,
    max_lora_rank: int | None,
    dry_run: bool,
) -> None:
    """Serve a base model and its LoRA adapters behind an OpenAI-compatible API (vllm serve)."""
    adapters: dict[str, Path] = run_dir_adapters(run_dir) if run_dir is not None else {}
    explicit: set[str] = set()
    for spec in adapter_specs:
        name, path = parse_adapter(spec)
        if name in explicit:
            raise ServeError(f"--adapter {name!r} is given twice")
        explicit.add(name)
        adapters[name] = path.resolve()
    if model is None:
        if run_dir is None:
            raise click.UsageError("give --model (or --run-dir of a training run)")
        model = run_dir_model(run_dir)
    argv = vllm_serve_argv(model, adapters, host=host, port=port, tensor_parallel_size=tensor_parallel_size,
                           data_parallel_size=data_parallel_size, max_lora_rank=max_lora_rank)  # fmt: skip
    url = client_base_url(host, port)
    plan: dict[str, Any] = {"command": argv, "command_line": shlex.join(argv), "base_url": url, "base_model": model,
                            "adapters": {name: str(path) for name, path in adapters.items()}}  # fmt: skip
    click.echo(json.dumps(plan, indent=2, ensure_ascii=False))
    example = next(iter(adapters), model)
    click.echo(
        f"slbench serve: clients use --backend openai --base-url {url} --model NAME with NAME one of "
        f"{', '.join([model, *adapters])}; e.g. slbench eval --backend openai --base-url {url} "
        f"--model {shlex.quote(example)} ...",
        err=True,
    )
    if dry_run:
        return
    executable = shutil.which("vllm")
    if executable is None:
        raise ServeError(
            "the `vllm` executable is not on PATH: install vLLM on a CUDA machine with "
            "pip install 'slbench[gpu]' (or run --dry-run to print the command only)"
        )
    sys.stdout.flush()
    sys.stderr.flush()
    # exec, not a child process: signals (Ctrl-C, a job scheduler's TERM) reach vllm directly.
    os.execv(executable, [executable, *argv[1:]])
