"""`slbench serve --engine vllm`: the exact `vllm serve` argv, run-dir adapters, the exec, the client side.

No GPU here: the exec is checked with a stand-in `vllm` executable on PATH that records its argv,
and the client side (an adapter picked by `model=NAME`) with a local OpenAI-compatible server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from click.testing import CliRunner

from slbench.harness.cli import main


def _adapter(path: Path, rank: int = 8, complete: bool = True) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"r": rank, "lora_alpha": 2 * rank}))
    if complete:
        (path / "sft_result.json").write_text("{}")
    return path


def _serve(args: list[str]) -> tuple[int, dict[str, Any] | None, str]:
    result = CliRunner().invoke(main, ["serve", *args])
    plan = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, plan, " ".join(result.stderr.split())


def test_base_model_only(tmp_path: Path) -> None:
    code, plan, _ = _serve(["--engine", "vllm", "--model", "Qwen/Qwen2.5-7B-Instruct", "--dry-run"])
    assert code == 0 and plan is not None
    assert plan["command"] == ["vllm", "serve", "Qwen/Qwen2.5-7B-Instruct", "--host", "0.0.0.0", "--port", "8000",
                               "--tensor-parallel-size", "1", "--data-parallel-size", "1"]  # fmt: skip
    assert plan["base_url"] == "http://127.0.0.1:8000/v1"
    assert plan["base_model"] == "Qwen/Qwen2.5-7B-Instruct" and plan["adapters"] == {}


def test_adapters_parallelism_and_derived_lora_rank(tmp_path: Path) -> None:
    gen, ext = _adapter(tmp_path / "g", rank=4), _adapter(tmp_path / "e", rank=12)
    code, plan, _ = _serve(["--model", "/models/base", "--adapter", f"generator={gen}", "--adapter", f"extender={ext}",
                            "--tensor-parallel-size", "2", "--data-parallel-size", "4", "--host", "10.0.0.5",
                            "--port", "9001", "--dry-run"])  # fmt: skip
    assert code == 0 and plan is not None
    assert plan["command"] == [
        "vllm", "serve", "/models/base", "--host", "10.0.0.5", "--port", "9001",
        "--tensor-parallel-size", "2", "--data-parallel-size", "4",
        "--enable-lora", "--max-lora-rank", "16", "--max-loras", "2",
        "--lora-modules", f"generator={gen}", f"extender={ext}",
    ]  # fmt: skip
    assert plan["base_url"] == "http://10.0.0.5:9001/v1"
    assert plan["adapters"] == {"generator": str(gen), "extender": str(ext)}


def test_explicit_lora_rank_is_checked(tmp_path: Path) -> None:
    gen = _adapter(tmp_path / "g", rank=16)
    code, plan, _ = _serve(["--model", "m", "--adapter", f"g={gen}", "--max-lora-rank", "64", "--dry-run"])
    assert code == 0 and plan is not None
    assert plan["command"][plan["command"].index("--max-lora-rank") + 1] == "64"
    code, _, err = _serve(["--model", "m", "--adapter", f"g={gen}", "--max-lora-rank", "12", "--dry-run"])
    assert code == 1 and "--max-lora-rank 12: vLLM accepts 1, 8, 16, 32, 64, 128, 256, 320, 512" in err
    code, _, err = _serve(["--model", "m", "--adapter", f"g={gen}", "--max-lora-rank", "8", "--dry-run"])
    assert code == 1 and "--max-lora-rank 8 is below the rank of adapter(s) g" in err


def _fake_run(root: Path) -> Path:
    """A finished Self-Lengthen run: 3 iterations, the last Extender not trained, iter_3's Generator
    killed mid-training (no sft_result.json), and a final adapter."""
    sl = root / "self-lengthen"
    (sl).mkdir(parents=True)
    (sl / "config.json").write_text(json.dumps({"model": "/models/qwen"}))
    for k in (1, 2, 3, 10):
        (sl / f"iter_{k}").mkdir()
    _adapter(sl / "iter_1" / "generator_adapter")
    _adapter(sl / "iter_1" / "extender_adapter")
    _adapter(sl / "iter_2" / "generator_adapter")
    _adapter(sl / "iter_2" / "extender_adapter")
    _adapter(sl / "iter_3" / "generator_adapter", complete=False)
    _adapter(sl / "final" / "final_adapter")
    return sl


def test_run_dir_registers_the_latest_complete_adapters(tmp_path: Path) -> None:
    sl = _fake_run(tmp_path / "run")
    # iter_10 exists but holds nothing yet: numeric order, not text order, and only complete adapters.
    expected = {"generator": str(sl / "iter_2" / "generator_adapter"),
                "extender": str(sl / "iter_2" / "extender_adapter"),
                "final": str(sl / "final" / "final_adapter")}  # fmt: skip
    for run_dir in (tmp_path / "run", sl):
        code, plan, err = _serve(["--run-dir", str(run_dir), "--dry-run"])
        assert code == 0 and plan is not None
        assert plan["adapters"] == expected
        assert plan["base_model"] == "/models/qwen"  # from the run's config.json
        assert plan["command"][-4:] == ["--lora-modules", *(f"{n}={p}" for n, p in expected.items())]
        assert "--model NAME with NAME one of /models/qwen, generator, extender, final" in err
    newer = _adapter(tmp_path / "other")
    code, plan, _ = _serve(
        ["--run-dir", str(sl), "--adapter", f"generator={newer}", "--model", "/m", "--dry-run"]
    )
    assert code == 0 and plan is not None
    assert plan["adapters"]["generator"] == str(newer) and plan["base_model"] == "/m"


def test_run_dir_errors_say_what_is_missing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "self-lengthen" / "iter_1").mkdir(parents=True)
    code, _, err = _serve(["--run-dir", str(empty), "--model", "m", "--dry-run"])
    assert code == 1 and "no trained adapter yet" in err and "generator_adapter" in err
    full = tmp_path / "full"
    (full / "self-lengthen" / "iter_1" / "generator_adapter").mkdir(parents=True)
    (full / "self-lengthen" / "iter_1" / "generator_adapter" / "config.json").write_text("{}")
    (full / "self-lengthen" / "iter_1" / "generator_adapter" / "sft_result.json").write_text("{}")
    code, _, err = _serve(["--run-dir", str(full), "--model", "m", "--dry-run"])
    assert code == 1 and "holds full weights, not a LoRA adapter; serve it as --model" in err
    code, _, err = _serve(["--adapter", "no-equals-sign", "--model", "m", "--dry-run"])
    assert code == 1 and "expected NAME=PATH" in err
    code, _, err = _serve(["--dry-run"])
    assert code == 2 and "give --model (or --run-dir of a training run)" in err


def _cli(args: list[str], path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path}
    return subprocess.run([sys.executable, "-m", "slbench.harness.cli", "serve", *args], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip


def test_missing_vllm_says_how_to_install(tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    proc = _cli(["--model", "m"], str(bare))
    assert proc.returncode == 1
    assert "the `vllm` executable is not on PATH" in proc.stderr
    assert "pip install 'slbench[gpu]'" in proc.stderr


def test_serve_execs_vllm_with_the_printed_argv(tmp_path: Path) -> None:
    """A stand-in `vllm` on PATH records the argv it was exec'd with (and its pid: the same process)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv.json"
    fake = bin_dir / "vllm"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'pid': os.getpid()}}, open({str(record)!r}, 'w'))\n"
    )
    fake.chmod(0o755)
    gen = _adapter(tmp_path / "gen")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    args = ["--model", "/m", "--adapter", f"generator={gen}", "--port", "8123"]
    proc = subprocess.Popen([sys.executable, "-m", "slbench.harness.cli", "serve", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr[-2000:]
    plan = json.loads(stdout)
    seen = json.loads(record.read_text())
    assert ["vllm", *seen["argv"]] == plan["command"]
    assert seen["pid"] == proc.pid  # exec'd in place: signals reach vllm itself
    assert plan["command"][:4] == ["vllm", "serve", "/m", "--host"]


class _ChatServer(BaseHTTPRequestHandler):
    """A minimal OpenAI-compatible /v1/chat/completions that answers with the model name it was asked for."""

    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(body["model"])
        reply = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                 "choices": [{"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": f"from {body['model']}"}}],
                 "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}  # fmt: skip
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_openai_backend_picks_a_served_adapter_by_model_name() -> None:
    """What `slbench eval --backend openai --model generator --base-url URL` sends to the server."""
    from slbench.harness.backends import GenerationParams, GenerationRequest, create_backend

    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        for name in ("generator", "extender"):
            backend = create_backend("openai", model=name, base_url=url, max_retries=0)
            [out] = backend.generate(
                [GenerationRequest.from_prompt("hi")], GenerationParams(max_new_tokens=8)
            )
            assert out.text == f"from {name}" and out.n_tokens == 2
    finally:
        server.shutdown()
        server.server_close()
    assert _ChatServer.seen == ["generator", "extender"]
