"""`slbench train --launcher accelerate`: the exact launch command, its validation, and a real launch.

The real launch runs the smoke preset under `accelerate launch` with two processes on CPU. A
MULTI_GPU config on a machine without CUDA makes accelerate start torchrun, and each process then
falls back to gloo (`accelerate launch --cpu` would start one process, and MULTI_CPU wants mpirun).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from slbench.harness.cli import main
from slbench.training.launcher import SHIPPED_CONFIGS, shipped_config

TRAIN = ["train", "--method", "self-lengthen", "--preset", "smoke"]
LAUNCH = [sys.executable, "-m", "accelerate.commands.launch"]
INNER = ["-m", "slbench.harness.cli"]


def _invoke(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> tuple[int, str, str]:
    """Run `slbench ARGS` in-process; the launcher re-runs sys.argv, so it is set as a shell would."""
    monkeypatch.setattr(sys, "argv", ["slbench", *args])
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", SHIPPED_CONFIGS)
def test_dry_run_prints_the_exact_launch_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    out = str(tmp_path / "run")
    args = [*TRAIN, "--out", out, "--launcher", "accelerate", "--num-processes", "8",
            "--accelerate-config", name, "--dry-run-launch"]  # fmt: skip
    code, stdout, _ = _invoke(monkeypatch, args)
    assert code == 0, stdout
    assert shlex.split(stdout.strip()) == [
        *LAUNCH, "--num_processes", "8", "--config_file", str(shipped_config(name)),
        *INNER, *TRAIN, "--out", out,
    ]  # fmt: skip
    assert not (tmp_path / "run").exists()


def test_config_spellings_and_option_forms(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`ddp.yaml` names the shipped file; `--opt=value` forms are stripped from the inner command."""
    own = tmp_path / "mine.yaml"
    own.write_text("distributed_type: MULTI_GPU\nnum_machines: 1\nnum_processes: 2\n")
    for spec, expected in (("ddp.yaml", str(shipped_config("ddp"))), (str(own), str(own))):
        args = ["-v", *TRAIN, "--launcher=accelerate", "--out", "r", "--num-processes=2",
                f"--accelerate-config={spec}", "--dry-run-launch"]  # fmt: skip
        code, stdout, _ = _invoke(monkeypatch, args)
        assert code == 0, stdout
        assert shlex.split(stdout.strip()) == [
            *LAUNCH, "--num_processes", "2", "--config_file", expected, *INNER, "-v", *TRAIN, "--out", "r",
        ]  # fmt: skip


def test_without_a_config_accelerate_uses_its_own_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    args = [*TRAIN, "--out", "r", "--launcher", "accelerate", "--num-processes", "4", "--dry-run-launch"]
    code, stdout, _ = _invoke(monkeypatch, args)
    assert code == 0, stdout
    assert shlex.split(stdout.strip()) == [*LAUNCH, "--num_processes", "4", *INNER, *TRAIN, "--out", "r"]


def test_dry_run_through_python_dash_m(tmp_path: Path) -> None:
    """The module path the launch re-runs (`python -m slbench.harness.cli`) is a working entry point."""
    args = [*TRAIN, "--out", "r", "--launcher", "accelerate", "--num-processes", "2",
            "--accelerate-config", "fsdp2", "--dry-run-launch"]  # fmt: skip
    proc = subprocess.run([sys.executable, *INNER, *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shlex.split(proc.stdout.strip()) == [
        *LAUNCH, "--num_processes", "2", "--config_file", str(shipped_config("fsdp2")), *INNER, *TRAIN, "--out", "r",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "processes", "message"),
    [
        ("distributed_type: 'NO'\nnum_processes: 1\n", 2, "distributed_type NO cannot run 2 processes"),
        ("distributed_type: MULTI_GPU\nnum_machines: 2\nnum_processes: 4\n", 3,
         "field num_machines=2 does not divide --num-processes 3"),
        ("distributed_type: MULTI_GPU\nnum_processes: 4\ngpu_ids: '0,1'\n", 4,
         "field gpu_ids='0,1' lists 2 GPU(s) for 4 process(es) per machine"),
        ("distributed_type: DEEPSPEED\nnum_processes: 2\ndeepspeed_config: {zero_stage: 4}\n", 2,
         "field deepspeed_config.zero_stage must be 0-3, got 4"),
    ],
)  # fmt: skip
def test_inconsistent_configs_are_refused_naming_file_and_field(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, processes: int, message: str
) -> None:
    config = tmp_path / "acc.yaml"
    config.write_text(text)
    args = [*TRAIN, "--out", "r", "--launcher", "accelerate", "--num-processes", str(processes),
            "--accelerate-config", str(config)]  # fmt: skip
    code, _, stderr = _invoke(monkeypatch, args)
    assert code == 2
    assert f"{config}: {message}" in " ".join(stderr.split())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--launcher", "accelerate"], "--launcher accelerate needs --num-processes N"),
        (["--num-processes", "2"], "need --launcher accelerate"),
        (["--launcher", "accelerate", "--num-processes", "2", "--accelerate-config", "zero9"],
         "--accelerate-config 'zero9': no such file, and not a shipped config"),
        (["--launcher", "accelerate", "--num-processes", "0"], "--num-processes must be at least 1, got 0"),
        (["--launcher", "accelerate", "--num-processes", "2", "--set", "bogus=1"], "invalid self-lengthen config"),
    ],
)  # fmt: skip
def test_launch_usage_errors(monkeypatch: pytest.MonkeyPatch, extra: list[str], message: str) -> None:
    code, _, stderr = _invoke(monkeypatch, [*TRAIN, "--out", "r", *extra])
    assert code == 2
    assert message in " ".join(stderr.split())


SMOKE = ["train", "--preset", "smoke", "--set", "iterations=1", "--set", "batch_size=2",
         # The same global batch of 2 whichever the process count: 1 x 2 accumulation steps in one
         # process, 1 per device x 2 processes under the launch.
         "--set", "sft.effective_batch_size=2"]  # fmt: skip
# Evaluation only in the launched run: cheap, and it shows that rank 1 neither evaluates nor writes.
EVALUATE = ["--set", "evaluate=true", "--set", "eval_limit=1", "--set", "eval_max_new_tokens=8"]
SPY = Path(__file__).with_name("write_spy")
GENERATED = (
    "iter_1/instructions.jsonl", "iter_1/self_instruct_rounds.jsonl", "iter_1/initial.jsonl",
    "iter_1/subsample_initial.json", "iter_1/extended.jsonl", "iter_1/subsample_extended.json",
    "iter_1/generator_train.jsonl", "iter_1/extender_train.jsonl", "final/final_train.jsonl",
)  # fmt: skip
ADAPTERS = ("iter_1/generator_adapter", "iter_1/extender_adapter", "final/final_adapter")
CPU_TWO_PROCESSES = """\
compute_environment: LOCAL_MACHINE
distributed_type: MULTI_GPU
num_machines: 1
num_processes: 2
machine_rank: 0
main_training_function: main
mixed_precision: 'no'
use_cpu: false
gpu_ids: all
rdzv_backend: static
same_network: true
"""


def _spied_writes(log_dir: Path, rank: int) -> list[str]:
    """The paths rank ``rank`` created, changed or removed (see ``write_spy/sitecustomize.py``)."""
    path = log_dir / f"rank{rank}.jsonl"
    assert path.is_file(), f"the write spy did not run in rank {rank}"
    return sorted({json.loads(line)["path"] for line in path.read_text().splitlines()})


def test_real_two_process_launch_matches_a_single_process_run(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The whole smoke pipeline under `accelerate launch` with 2 processes (~40 s on 2 cores).

    Rank 0 alone generates: every generated artefact is byte-identical to a one-process run's
    (a second writer would have duplicated records, which the stores refuse), rank 1 waited for
    rank 0's stages and trained with it, and each role got its adapter. A write spy (audit hooks
    in each worker) shows that rank 1 changed nothing in the run directory: no config, manifest,
    stats, summary or evaluation file. Both runs train on the same global batch.
    """
    single, launched, spy_log = tmp_path / "single", tmp_path / "launched", tmp_path / "spy"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join([str(SPY), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "SLBENCH_SPY_WATCH": str(launched), "SLBENCH_SPY_LOG": str(spy_log)}  # fmt: skip
    config = tmp_path / "cpu2.yaml"
    config.write_text(CPU_TWO_PROCESSES)
    common = [sys.executable, *INNER, *SMOKE, "--set", f"model={tiny_model_dir}"]
    one = subprocess.run(
        [*common, "--out", str(single)], env=env, capture_output=True, text=True, check=False
    )
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run(
        [*common, *EVALUATE, "--out", str(launched), "--launcher", "accelerate", "--num-processes", "2",
         "--accelerate-config", str(config)],
        env=env, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr[-3000:]
    assert "slbench train: launching" in two.stderr and "accelerate.commands.launch" in two.stderr
    # Rank 1 existed, skipped generation by waiting for rank 0, and reached the end of training. Which
    # generation stage it first waits for depends on timing: it reads stages.json while it polls,
    # so a stage rank 0 finished meanwhile needs no wait (seen: 'initial' missing under load).
    assert re.search(
        r"rank 1: waiting for rank 0 to finish stage '(instructions|initial|extended)'", two.stderr
    )
    assert "rank 1: waiting for rank 0 to finish stage 'train_final'" in two.stderr
    assert "rank 1: rank 0 evaluates and writes summary.json" in two.stderr
    root, one_root = launched / "self-lengthen", single / "self-lengthen"
    for name in GENERATED:
        assert (one_root / name).read_bytes() == (root / name).read_bytes(), name
    for adapter in ADAPTERS:
        assert (root / adapter / "adapter_model.safetensors").is_file()
    assert not list(launched.rglob("*.partial"))
    # Only rank 0 wrote: the spy saw it write the files rank 1 must leave alone, and rank 1 write nothing.
    rank0 = _spied_writes(spy_log, 0)
    for name in ("config.json", "manifest.json", "iter_1/stats.json", "summary.json",
                 "eval/base/samples.jsonl", "final/final_adapter.partial/sft_result.json"):  # fmt: skip
        assert str((root / name).resolve()) in rank0, name
    assert _spied_writes(spy_log, 1) == []
    summary = json.loads((root / "summary.json").read_text())
    assert set(summary["evaluation"]["models"]) == {"base", "iter_1", "final"}
    # The same global batch (2) from two different factorisations, and so the same number of steps.
    for adapter in ADAPTERS:
        alone = json.loads((one_root / adapter / "sft_result.json").read_text())
        both = json.loads((root / adapter / "sft_result.json").read_text())
        assert alone["batch"] == {"processes": 1, "per_device_batch_size": 1,
                                  "gradient_accumulation_steps": 2, "effective_batch_size": 2}, adapter  # fmt: skip
        assert both["batch"] == {"processes": 2, "per_device_batch_size": 1,
                                 "gradient_accumulation_steps": 1, "effective_batch_size": 2}, adapter  # fmt: skip
        assert both["settings"]["gradient_accumulation_steps"] == 1
        assert alone["steps"] == both["steps"] == 2
