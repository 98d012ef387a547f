"""The effective-batch knob of ``SFTSettings``: per-device batch x processes x accumulation steps.

``WORLD_SIZE`` is set with monkeypatch as torchrun sets it; the real two-process run in
``test_train_launch.py`` trains with the knob under ``accelerate launch``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from slbench.training.common.sft import RESULT_FILE, SFTSettings, resolve_settings, train_sft
from slbench.training.launcher import LaunchConfigError


@pytest.mark.parametrize(("world", "accumulation"), [(1, 8), (2, 4), (4, 2)])
def test_accumulation_is_derived_from_the_world_size(
    monkeypatch: pytest.MonkeyPatch, world: int, accumulation: int
) -> None:
    monkeypatch.setenv("WORLD_SIZE", str(world))
    settings = SFTSettings(effective_batch_size=16, per_device_batch_size=2, gradient_accumulation_steps=5)
    resolved, plan = resolve_settings(settings)
    assert (resolved.per_device_batch_size, resolved.gradient_accumulation_steps) == (2, accumulation)
    assert (plan.processes, plan.effective_batch_size) == (world, 16)
    assert resolved.effective_batch_size == 16 and resolved.learning_rate == settings.learning_rate


@pytest.mark.parametrize(("world", "per_device"), [(1, 8), (2, 4), (4, 2)])
def test_per_device_batch_is_derived_from_the_world_size(
    monkeypatch: pytest.MonkeyPatch, world: int, per_device: int
) -> None:
    monkeypatch.setenv("WORLD_SIZE", str(world))
    settings = SFTSettings(
        effective_batch_size=16, derive="per_device_batch_size", per_device_batch_size=3,
        gradient_accumulation_steps=2,
    )  # fmt: skip
    resolved, plan = resolve_settings(settings)
    assert (resolved.per_device_batch_size, resolved.gradient_accumulation_steps) == (per_device, 2)
    assert plan.effective_batch_size == 16


@pytest.mark.parametrize(("world", "effective"), [(1, 6), (2, 12), (4, 24)])
def test_without_the_knob_the_factors_are_kept_and_the_batch_grows(
    monkeypatch: pytest.MonkeyPatch, world: int, effective: int
) -> None:
    monkeypatch.setenv("WORLD_SIZE", str(world))
    settings = SFTSettings(per_device_batch_size=2, gradient_accumulation_steps=3)
    resolved, plan = resolve_settings(settings)
    assert resolved == settings
    assert plan.effective_batch_size == effective
    assert settings.global_batch_size == 6


def test_a_world_size_that_does_not_divide_is_refused_before_training(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "4")
    settings = SFTSettings(effective_batch_size=12, per_device_batch_size=2)
    examples = [{"prompt": [{"role": "user", "content": "Hi?"}],
                 "completion": [{"role": "assistant", "content": "Hello."}]}]  # fmt: skip
    message = "effective batch 12 is not divisible by per_device_batch_size=2 x processes=4"
    with pytest.raises(LaunchConfigError, match=message):
        train_sft(tmp_path / "no-model", examples, tmp_path / "out", settings)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"effective_batch_size": 3, "per_device_batch_size": 2},
         "effective batch 3 is not divisible by per_device_batch_size=2 x processes=1"),
        ({"effective_batch_size": 8, "derive": "per_device_batch_size", "gradient_accumulation_steps": 3},
         "effective batch 8 is not divisible by gradient_accumulation_steps=3 x processes=1"),
        ({"effective_batch_size": 0}, "greater than or equal to 1"),
        ({"effective_batch_size": 8, "derive": "processes"}, "derive"),
    ],
)  # fmt: skip
def test_impossible_settings_are_refused_in_the_config(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SFTSettings.model_validate(fields)


def test_the_resolved_batch_is_recorded_in_sft_result(tiny_model_dir: Path, tmp_path: Path) -> None:
    settings = SFTSettings(
        epochs=1, max_steps=1, lora_r=4, lora_alpha=8, effective_batch_size=4, per_device_batch_size=2
    )
    examples = [{"prompt": [{"role": "user", "content": f"Say {w}."}],
                 "completion": [{"role": "assistant", "content": f"{w}."}]} for w in "abcd"]  # fmt: skip
    result = train_sft(tiny_model_dir, examples, tmp_path / "out", settings)
    stored = json.loads((tmp_path / "out" / RESULT_FILE).read_text())
    expected = {"processes": 1, "per_device_batch_size": 2, "gradient_accumulation_steps": 2,
                "effective_batch_size": 4}  # fmt: skip
    assert stored["batch"] == result.batch == expected
    assert stored["settings"]["gradient_accumulation_steps"] == 2
    assert stored["settings"]["effective_batch_size"] == 4
    assert stored["steps"] == 1
