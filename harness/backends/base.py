"""The backend contract: chat requests in, ``Generation`` objects out.

Every backend (hf, vllm, openai, scripted) implements ``Backend.generate``. Generation limits
are always passed explicitly in ``GenerationParams`` — there is no hidden default such as
lm-eval's 256 tokens or vLLM's 16 (GUIDE item 4).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from slbench.harness.types import Generation

ChatMessage = dict[str, str]


@dataclass(frozen=True)
class GenerationRequest:
    """One chat to complete.

    ``prefill`` starts the assistant turn: the model continues that text (the Extender's stage 2
    and plan-and-write use it). The returned ``Generation.text`` holds only the new text.
    """

    messages: tuple[ChatMessage, ...]
    prefill: str = ""

    @classmethod
    def from_prompt(cls, prompt: str, system: str | None = None, prefill: str = "") -> GenerationRequest:
        messages: list[ChatMessage] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": prompt})
        return cls(messages=tuple(messages), prefill=prefill)


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings. ``max_new_tokens`` has no default on purpose."""

    max_new_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.max_new_tokens <= 0:
            raise ValueError(f"max_new_tokens must be positive, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data


class Backend(ABC):
    """A text generator. Subclasses register themselves in the backend registry."""

    #: The largest number of prompt + generated tokens the model accepts.
    context_window: int = 4096

    @abstractmethod
    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        *,
        progress: bool = False,
    ) -> list[Generation]:
        """Complete every request; the result is in request order."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in the model's tokenizer (the ``tokens`` length unit)."""

    def prompt_tokens(self, request: GenerationRequest) -> int:
        """Tokens the rendered prompt occupies (an estimate: 8 tokens of template per message)."""
        text = "".join(m["content"] for m in request.messages) + request.prefill
        return self.count_tokens(text) + 8 * len(request.messages)

    def describe(self) -> dict[str, Any]:
        """What the run log records about this backend (no secrets)."""
        return {"backend": type(self).__name__, "context_window": self.context_window}

    def close(self) -> None:  # noqa: B027 - an optional hook; most backends hold nothing to release
        """Release resources (GPU memory, server processes)."""


class ChatTemplateBackend(Backend):
    """A backend that renders prompts with a transformers tokenizer's chat template (``self.tokenizer``).

    hf, llamacpp and vllm render and count the same way, so the same request costs the same
    tokens, and sees the same text, whichever of them runs it.
    """

    tokenizer: Any

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def render(self, request: GenerationRequest) -> str:
        """The exact prompt text the model sees, prefill included."""
        text = self.tokenizer.apply_chat_template(
            list(request.messages), tokenize=False, add_generation_prompt=True
        )
        return str(text) + request.prefill

    def prompt_tokens(self, request: GenerationRequest) -> int:
        return len(self.tokenizer.encode(self.render(request), add_special_tokens=False))
