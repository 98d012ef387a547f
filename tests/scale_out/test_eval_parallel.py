"""``slbench eval --tensor-parallel-size / --data-parallel-size``: vllm only, passed to the backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from slbench.harness import evaluation
from slbench.harness.cli import main
from slbench.harness.eval_config import EvalConfig


@pytest.mark.parametrize("backend", ["hf", "llamacpp", "openai", "scripted"])
@pytest.mark.parametrize("field", ["tensor_parallel_size", "data_parallel_size"])
def test_parallel_sizes_are_refused_with_another_backend(tmp_path: Path, backend: str, field: str) -> None:
    with pytest.raises(
        ValidationError, match=f"{field} only apply to the vllm backend; got backend '{backend}'"
    ):
        EvalConfig.model_validate({"out": tmp_path, "backend": backend, field: 2})


def test_the_cli_refuses_them_as_a_usage_error(tmp_path: Path) -> None:
    args = ["eval", "--backend", "hf", "--tensor-parallel-size", "2", "--data-parallel-size", "2",
            "--out", str(tmp_path / "run")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "tensor_parallel_size and data_parallel_size only apply to the vllm backend" in " ".join(
        result.stderr.split()
    )
    assert not (tmp_path / "run").exists()


def test_zero_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        EvalConfig(out=tmp_path, backend="vllm", tensor_parallel_size=0)


def test_vllm_gets_the_sizes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(evaluation, "create_backend", lambda name, **kw: calls.append((name, kw)))
    model = tmp_path / "model"
    evaluation.build_backend(
        EvalConfig(
            out=tmp_path, backend="vllm", model=str(model), tensor_parallel_size=2, data_parallel_size=4
        )
    )
    evaluation.build_backend(EvalConfig(out=tmp_path, backend="vllm", model=str(model)))
    assert calls == [
        ("vllm", {"model": model, "adapter": None, "tensor_parallel_size": 2, "data_parallel_size": 4}),
        ("vllm", {"model": model, "adapter": None, "tensor_parallel_size": 1, "data_parallel_size": 1}),
    ]


def test_a_run_may_resume_on_another_gpu_layout(tmp_path: Path) -> None:
    """How generation is spread over GPUs is not part of what was generated (like batch_size)."""
    two = EvalConfig(out=tmp_path, backend="vllm", tensor_parallel_size=2)
    one = EvalConfig(out=tmp_path, backend="vllm", data_parallel_size=8)
    assert two.generation_key() == one.generation_key()
    assert "tensor_parallel_size" not in two.generation_key()
