"""The fair budget helpers and the plan targets of plan-and-write inference."""

from __future__ import annotations

from pathlib import Path

import pytest

from slbench.harness.types import LengthConstraint
from slbench.training.baselines.budget import EmptyDataError, budget_steps, fill_to, sft_example
from slbench.training.plan_and_write.inference import plan_target


def test_fill_to_truncates_or_cycles() -> None:
    assert fill_to([1, 2, 3, 4, 5], 3) == [1, 2, 3]
    assert fill_to([1, 2], 5) == [1, 2, 1, 2, 1]
    with pytest.raises(EmptyDataError):
        fill_to([], 3)
    with pytest.raises(ValueError):
        fill_to([1], 0)


def test_budget_steps_match_the_trainer() -> None:
    assert budget_steps(12, 2.0, 1, 1) == 24
    assert budget_steps(10, 1.0, 4, 1) == 3
    assert budget_steps(5000, 4.0, 4, 8) == 628  # ceil(5000 / 32) = 157 steps per epoch
    assert budget_steps(1, 0.1, 1, 1) == 1


def test_sft_example_shape() -> None:
    assert sft_example("Q", "A") == {
        "prompt": [{"role": "user", "content": "Q"}],
        "completion": [{"role": "assistant", "content": "A"}],
    }


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        (LengthConstraint("about", 800), 800),
        (LengthConstraint("equal", 150), 150),
        (LengthConstraint("range", 100, 200), 150),
        (LengthConstraint("at_least", 1000), 1250),
        (LengthConstraint("at_most", 300), 225),
        (None, 500),
    ],
)
def test_plan_target_is_the_middle_of_the_longen_band(
    constraint: LengthConstraint | None, expected: int
) -> None:
    assert plan_target(constraint, default=500) == expected


def test_baselines_generate_through_llamacpp_when_asked(tiny_model_dir: Path) -> None:
    """``backend: llamacpp`` routes the method's data generation to a GGUF export of its weights.

    The tiny model has its own tokenizer, so the export refuses it by name: proof that the
    llamacpp path (and not hf) was taken, without running a model.
    """
    pytest.importorskip("llama_cpp")
    from slbench.training.backtranslation.runner import BacktranslationConfig
    from slbench.training.baselines.iteration import Iteration, open_backend

    config = BacktranslationConfig.model_validate({"model": str(tiny_model_dir), "backend": "llamacpp"})
    iteration = Iteration(1, tiny_model_dir, tiny_model_dir, None)
    with pytest.raises(ValueError, match="does not match the token list of the template"):
        open_backend(config, iteration)
    with pytest.raises(ValueError, match="backend"):
        BacktranslationConfig.model_validate({"backend": "vllm"})
