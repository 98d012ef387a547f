"""SelfLengthenConfig resolution (preset < YAML < --set < flags) and `slbench train` errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from slbench.harness.cli import main
from slbench.training.common.config_io import parse_override
from slbench.training.methods import TRAINING_METHODS, get_method
from slbench.training.self_lengthen.config import SelfLengthenConfig
from slbench.training.self_lengthen.presets import PRESETS


def test_defaults_follow_the_paper() -> None:
    cfg = SelfLengthenConfig()
    assert (cfg.decoding.temperature, cfg.decoding.top_p, cfg.decoding.top_k, cfg.decoding.repetition_penalty) == (
        0.7, 0.8, 20, 1.1,
    )  # fmt: skip
    assert (cfg.sft.learning_rate, cfg.sft.epochs, cfg.sft.lr_scheduler, cfg.sft.warmup_ratio) == (
        1e-4,
        4,
        "cosine",
        0.1,
    )
    assert (cfg.iterations, cfg.micro_iterations, cfg.min_extension_ratio, cfg.check_mode) == (
        3,
        3,
        1.2,
        "strict",
    )
    assert (cfg.checks.ngram_en, cfg.checks.ngram_zh, cfg.extender_line_keep) == (10, 13, 0.8)
    for name in PRESETS:  # every preset validates
        SelfLengthenConfig.model_validate(PRESETS[name])


def test_preset_yaml_and_overrides_in_order(tmp_path: Path) -> None:
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("iterations: 5\nsft:\n  epochs: 3\nmicro_iterations: 4\n")
    method = get_method("self-lengthen")
    cfg = method.resolve("small", yaml_file, ["sft.epochs=1", "languages=[en, zh]", "check_mode=repair"])
    assert isinstance(cfg, SelfLengthenConfig)
    assert (cfg.iterations, cfg.micro_iterations, cfg.sft.epochs) == (5, 4, 1.0)
    assert cfg.languages == ["en", "zh"] and cfg.check_mode == "repair"
    assert cfg.model == "embedded" and cfg.sft.learning_rate == 5e-4  # the preset's, beside the YAML


def test_unknown_keys_and_bad_yaml_are_refused(tmp_path: Path) -> None:
    method = get_method("self-lengthen")
    with pytest.raises(ValidationError, match=r"sft\.epoch"):
        method.resolve(None, None, ["sft.epoch=2"])
    dup = tmp_path / "dup.yaml"
    dup.write_text("iterations: 2\niterations: 3\n")
    with pytest.raises(ValueError, match=r"dup.yaml:2: invalid YAML: duplicate key 'iterations'"):
        method.resolve(None, dup, [])
    with pytest.raises(ValueError, match="key=value"):
        parse_override("no-equals-sign")
    with pytest.raises(KeyError, match="no preset 'huge'"):
        method.resolve("huge", None, [])


def test_registry_lists_self_lengthen() -> None:
    assert "self-lengthen" in TRAINING_METHODS.names()


def test_cli_errors_are_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["train", "--method", "self-lengthn", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "did you mean 'self-lengthen'" in result.output
    result = runner.invoke(main, ["train", "--preset", "smoke", "--set", "bogus=1", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "bogus" in result.output and "Extra inputs" in result.output
    result = runner.invoke(
        main, ["train", "--preset", "smoke", "--check-mode", "lenient", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
