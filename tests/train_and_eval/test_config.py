"""Presets, flag overrides, the pinned fair budget and early validation of method overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from slbench.harness.train_and_eval.config import ConfigError, build_config
from slbench.harness.train_and_eval.methods import baseline_config
from slbench.harness.train_and_eval.self_lengthen_method import self_lengthen_config


@pytest.mark.parametrize("preset", ["smoke", "small", "paper"])
def test_presets_build_and_share_one_budget(preset: str) -> None:
    config = build_config(preset)
    steps = config.sft.max_steps
    assert steps is not None and steps >= 1
    for method in ("backtranslation", "plan-and-write-data"):
        resolved = baseline_config(config, method)
        assert resolved.examples_per_iteration == config.examples_per_iteration
        assert resolved.sft == config.sft  # same recipe, same pinned optimiser steps
    sl = self_lengthen_config(config)
    assert sl.sft == config.sft and sl.iterations == config.iterations
    assert sl.evaluate is False and sl.final.enabled is False


def test_small_is_the_default_and_its_budget() -> None:
    config = build_config("small")
    assert config.model == "embedded" and config.out == Path("runs/train-and-eval")
    assert config.sft.max_steps == 16  # 8 examples x 2 epochs at batch 1
    assert config.cells() == [
        ("base", 0),
        ("self-lengthen", 1), ("self-lengthen", 2),
        ("backtranslation", 1), ("backtranslation", 2),
        ("plan-and-write-data", 1), ("plan-and-write-data", 2),
        ("plan-and-write-inference", 0),
    ]  # fmt: skip


def test_flags_override_the_preset() -> None:
    config = build_config(
        "smoke",
        {
            "methods": ["base", "backtranslation"],
            "iterations": 3,
            "examples_per_iteration": 6,
            "eval": {"limit": 2},
        },
    )
    assert config.cells() == [
        ("base", 0),
        ("backtranslation", 1),
        ("backtranslation", 2),
        ("backtranslation", 3),
    ]
    assert config.eval.limit == 2 and config.eval.max_new_tokens == 32  # the rest of the section is kept
    assert config.sft.max_steps == 6


@pytest.mark.parametrize(("preset", "flag", "expected"), [("small", None, "llamacpp"), ("small", "hf", "hf"),
                                                         ("smoke", None, "hf"), ("smoke", "llamacpp", "llamacpp")])  # fmt: skip
def test_one_backend_reaches_every_method_and_every_evaluation(
    preset: str, flag: str | None, expected: str, tmp_path: Path
) -> None:
    from slbench.harness.train_and_eval.loop import eval_config_for
    from slbench.harness.train_and_eval.methods import Trained

    config = build_config(preset, {} if flag is None else {"backend": flag})
    assert config.backend == expected
    for method in ("backtranslation", "plan-and-write-data"):
        assert baseline_config(config, method).backend == expected
        assert baseline_config(config, method).batch_size == config.generation_batch_size
    assert self_lengthen_config(config).backend == expected
    for method in ("base", "plan-and-write-inference"):
        assert eval_config_for(config, method, tmp_path, Trained(adapter=None)).backend == expected


def test_an_unknown_backend_is_refused_with_its_field() -> None:
    with pytest.raises(ConfigError, match="backend"):
        build_config("small", {"backend": "vllm"})


def test_bad_keys_fail_early_with_their_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="iteratons"):
        build_config("smoke", {"iteratons": 2})
    with pytest.raises(ConfigError, match="methods"):
        build_config("smoke", {"methods": ["base", "rlhf"]})
    with pytest.raises(ValueError, match="pool_factr"):
        build_config("smoke", {"backtranslation": {"pool_factr": 2}})
    with pytest.raises(ValueError, match="agentwrite"):
        build_config("smoke", {"plan_and_write": {"agentwrite": {"min_paragraph_words": 0}}})
    with pytest.raises(ConfigError, match="unknown preset"):
        build_config("huge")
    bad = tmp_path / "p.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match=r"p\.yaml"):
        build_config(str(bad))


def test_baselines_are_registered_for_slbench_train() -> None:
    from slbench.training.backtranslation.runner import BacktranslationConfig
    from slbench.training.methods import get_method
    from slbench.training.plan_and_write.runner import PlanAndWriteConfig

    smoke = build_config("smoke")
    for name, cls in (("backtranslation", BacktranslationConfig), ("plan-and-write", PlanAndWriteConfig)):
        method = get_method(name)
        assert sorted(method.presets) == ["paper", "small", "smoke"]
        config = method.resolve("smoke", None, ["iterations=1"])
        assert isinstance(config, cls)
        assert config.iterations == 1 and config.sft == smoke.sft  # the same budget as in train-and-eval


def test_budget_counts_the_global_batch_when_it_is_fixed() -> None:
    """8 examples x 2 epochs at an effective batch of 4 are 4 steps, on any number of processes."""
    config = build_config("small", {"sft": {"effective_batch_size": 4}})
    assert config.sft.max_steps == 4
    config = build_config("small", {"sft": {"per_device_batch_size": 3}})
    assert config.sft.max_steps == 6  # ceil(8 / 3) = 3 steps an epoch, 2 epochs
