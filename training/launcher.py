"""Scale-out on existing engines: ``accelerate launch`` for training, never a home-made launcher.

``slbench train ... --launcher accelerate --num-processes N [--accelerate-config FILE]`` re-runs the
same command under ``accelerate launch`` (which starts N processes with torchrun underneath).
Inside each process TRL/transformers' Trainer sees the distributed environment and does DDP,
FSDP2 or DeepSpeed as the config says; slbench's runners only make sure that the main process
alone writes artefacts (``is_main_process``).

The effective batch (per-device batch × processes × accumulation steps) is kept constant when the
process count changes: ``resolve_batch`` derives one of the two free factors from the others.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

SHIPPED_CONFIGS = ("ddp", "fsdp2", "deepspeed_zero2", "deepspeed_zero3")
_KNOWN_TYPES = {"NO", "MULTI_GPU", "MULTI_CPU", "FSDP", "DEEPSPEED", "MULTI_XPU", "MULTI_NPU"}


class LaunchConfigError(ValueError):
    """An accelerate config that is malformed or inconsistent with the requested launch."""


def world_size() -> int:
    """Processes in this run (torchrun / accelerate set WORLD_SIZE; 1 when run directly)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def process_rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """Only rank 0 writes artefacts, stats and run logs."""
    return process_rank() == 0


def barrier() -> None:
    """Wait for every rank when a process group is running (the Trainer starts one); else no-op."""
    try:
        import torch.distributed as dist
    except ImportError:
        return
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shipped_config(name: str) -> Path:
    """Path of a shipped accelerate config: ddp, fsdp2, deepspeed_zero2, deepspeed_zero3."""
    if name not in SHIPPED_CONFIGS:
        raise LaunchConfigError(f"unknown shipped accelerate config {name!r}; choose from {SHIPPED_CONFIGS}")
    return Path(str(resources.files("slbench.training.accelerate_configs") / f"{name}.yaml"))


def config_path(spec: str) -> Path:
    """``--accelerate-config``: a file, or a shipped config by name (``ddp`` or ``ddp.yaml``)."""
    path = Path(spec)
    if path.is_file():
        return path
    name = path.stem if path.suffix == ".yaml" and len(path.parts) == 1 else spec
    if name in SHIPPED_CONFIGS:
        return shipped_config(name)
    raise LaunchConfigError(
        f"--accelerate-config {spec!r}: no such file, and not a shipped config ({', '.join(SHIPPED_CONFIGS)})"
    )


def load_accelerate_config(path: Path, num_processes: int) -> dict[str, Any]:
    """Read an accelerate config file and check it against the requested process count."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LaunchConfigError(f"{path}: cannot read accelerate config ({exc})") from exc
    if not isinstance(data, dict):
        raise LaunchConfigError(f"{path}: expected a mapping of accelerate settings")
    kind = data.get("distributed_type")
    if kind not in _KNOWN_TYPES:
        raise LaunchConfigError(
            f"{path}: field distributed_type={kind!r} is not one of {sorted(_KNOWN_TYPES)}"
        )
    machines = int(data.get("num_machines", 1))
    declared = data.get("num_processes")
    if not isinstance(declared, int) or declared < 1:
        raise LaunchConfigError(f"{path}: field num_processes must be a positive integer, got {declared!r}")
    if num_processes < machines:
        raise LaunchConfigError(
            f"{path}: --num-processes {num_processes} is fewer than num_machines={machines} (one process per machine at least)"
        )
    # accelerate's num_processes counts every machine's processes: each machine runs an equal share.
    if num_processes % machines:
        raise LaunchConfigError(
            f"{path}: field num_machines={machines} does not divide --num-processes {num_processes}"
        )
    _check_gpu_ids(path, data.get("gpu_ids"), num_processes // machines)
    if kind == "NO" and num_processes > 1:
        raise LaunchConfigError(f"{path}: distributed_type NO cannot run {num_processes} processes")
    if kind == "DEEPSPEED":
        stage = (data.get("deepspeed_config") or {}).get("zero_stage")
        if stage not in (0, 1, 2, 3):
            raise LaunchConfigError(f"{path}: field deepspeed_config.zero_stage must be 0-3, got {stage!r}")
    if kind == "FSDP" and (data.get("fsdp_config") or {}).get("fsdp_version") not in (1, 2):
        raise LaunchConfigError(f"{path}: field fsdp_config.fsdp_version must be 1 or 2")
    return data


def _check_gpu_ids(path: Path, gpu_ids: Any, per_machine: int) -> None:
    """An explicit GPU list must hold a GPU for every process of a machine ("all" always does)."""
    if gpu_ids is None or str(gpu_ids).strip().lower() == "all":
        return
    listed = [part for part in str(gpu_ids).split(",") if part.strip()]
    if len(listed) < per_machine:
        raise LaunchConfigError(
            f"{path}: field gpu_ids={gpu_ids!r} lists {len(listed)} GPU(s) for {per_machine} process(es) per machine"
        )


@dataclass(frozen=True)
class BatchPlan:
    per_device_batch_size: int
    gradient_accumulation_steps: int
    processes: int

    @property
    def effective_batch_size(self) -> int:
        return self.per_device_batch_size * self.gradient_accumulation_steps * self.processes


def resolve_batch(
    effective_batch_size: int,
    processes: int,
    *,
    per_device_batch_size: int,
    gradient_accumulation_steps: int,
    derive: Literal["gradient_accumulation_steps", "per_device_batch_size"],
) -> BatchPlan:
    """Keep ``effective = per_device × processes × accumulation`` by deriving one factor.

    The factor named by ``derive`` is recomputed; the other is taken as given. An effective batch
    that the process count does not divide is an error rather than a silent change of batch size
    (which would change the learning dynamics the comparison depends on).
    """
    fixed = per_device_batch_size if derive == "gradient_accumulation_steps" else gradient_accumulation_steps
    denominator = fixed * processes
    if effective_batch_size % denominator:
        raise LaunchConfigError(
            f"effective batch {effective_batch_size} is not divisible by "
            f"{'per_device_batch_size' if derive == 'gradient_accumulation_steps' else 'gradient_accumulation_steps'}"
            f"={fixed} x processes={processes}"
        )
    derived = effective_batch_size // denominator
    if derive == "gradient_accumulation_steps":
        return BatchPlan(fixed, derived, processes)
    return BatchPlan(derived, fixed, processes)


def accelerate_command(
    argv: list[str], num_processes: int, config_file: Path | None, *, main_port: int | None = None
) -> list[str]:
    """The ``accelerate launch`` command that re-runs ``argv`` (an ``slbench`` command line) on N processes.

    ``--launcher`` options are removed from ``argv`` so the launched processes run in-process.
    """
    inner = strip_launcher_options(argv)
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(num_processes)]
    if config_file is not None:
        command += ["--config_file", str(config_file)]
    if main_port is not None:
        command += ["--main_process_port", str(main_port)]
    return [*command, "-m", "slbench.harness.cli", *inner]


# The options that only the launching process reads: the launched processes run in-process.
LAUNCHER_OPTIONS = frozenset({"--launcher", "--num-processes", "--accelerate-config"})
LAUNCHER_FLAGS = frozenset({"--dry-run-launch"})


def strip_launcher_options(argv: list[str]) -> list[str]:
    """``argv`` without the launcher's options (``--opt VALUE``, ``--opt=VALUE``) and flags."""
    out: list[str] = []
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in LAUNCHER_FLAGS:
            continue
        if name in LAUNCHER_OPTIONS:
            skip = "=" not in arg and index + 1 < len(argv)
            continue
        out.append(arg)
    return out


def launch_command(argv: list[str], num_processes: int, config_spec: str | None) -> list[str]:
    """Validate the launch (config file against ``num_processes``) and build its command.

    Without ``config_spec`` accelerate applies its own default config (``accelerate config``).
    """
    if num_processes < 1:
        raise LaunchConfigError(f"--num-processes must be at least 1, got {num_processes}")
    config_file = None
    if config_spec is not None:
        config_file = config_path(config_spec)
        load_accelerate_config(config_file, num_processes)
    return accelerate_command(argv, num_processes, config_file)


def describe(command: list[str]) -> str:
    return shlex.join(command)
