"""Many sequences in one ``llama_decode``: the llamacpp backend's batched decoding.

llama-cpp-python's ``Llama.generate`` runs one sequence, so each step multiplies every weight
matrix by a single vector and the CPU waits on memory. llama.cpp itself decodes several
sequences in one call: a ``llama_batch`` whose tokens carry different ``seq_id``s, over a
context with ``n_seq_max`` sequences. ``SlotContext`` owns such a context (sharing the weights
of the backend's ``Llama``) and ``decode_requests`` keeps it full:

- each slot (a sequence id) holds one request; a prompt is prefilled alone, in chunks of
  ``n_batch`` tokens with logits for its last token only (what ``Llama.eval`` does),
- every step then feeds one token per live slot in one ``llama_decode``,
- a finished request leaves (its KV cells removed with ``llama_memory_seq_rm``) and the next
  queued request is prefilled into its slot; once the queue is empty, the last slots' requests
  move down into the free slots, so that the live slots stay 0..n-1 (see ``_compact``),
- a request left alone in a batched run decodes beside a throw-away copy of its token (see
  ``SlotContext.step``), so that its logits do not depend on how many requests share the call.

The KV cache is not unified: each slot gets its own stream of ``n_ctx / n_seq_max`` cells, so
a slot's attention reads only its own tokens (a unified cache was 2.4 times slower at 32
sequences: every token attends over all sequences' cells, masked).

Tokens are chosen in numpy by ``RowSampler`` with the semantics of the hf backend's
``hf_sampling.TokenChooser`` (transformers' order):
CTRL repetition penalty over the prompt and the tokens so far (a seen token's positive logit
divided by the penalty, a negative one multiplied: not llama.cpp's last-64-token window), EOS
impossible before ``min_new_tokens``, then temperature, top-k and top-p (transformers' warpers,
ties at the top-k boundary kept) and a draw, or the argmax at temperature 0. Each request draws
from its own ``numpy`` generator seeded with ``(seed, request index)``, so with the padding
above a request's sample does not depend on which requests share its batch or on the batch size
(above 1); repeating a request in one call gives independent samples.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from slbench.harness.types import FinishReason

#: Per-slot context sizes are rounded up to a multiple of this, so that calls of similar lengths
#: reuse one context.
CTX_STEP = 256


@dataclass(frozen=True)
class SlotResult:
    """One finished request: new token ids (EOS excluded), why it ended, and its wall time."""

    tokens: list[int]
    finish_reason: FinishReason
    latency_s: float


@dataclass(frozen=True)
class SamplingSettings:
    """Limits and decoding knobs shared by every request of one ``generate`` call."""

    max_new_tokens: int
    eos_ids: frozenset[int]
    min_new_tokens: int = 0
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    seed: int = 0


class RowSampler:
    """Chooses the tokens of one request (see the module docstring for the semantics)."""

    def __init__(self, settings: SamplingSettings, index: int, prompt: Sequence[int], n_vocab: int) -> None:
        self.settings = settings
        self.eos = np.array(sorted(t for t in settings.eos_ids if 0 <= t < n_vocab), dtype=np.intp)
        self.generated = 0
        self.seen: npt.NDArray[np.bool_] | None = None
        if settings.repetition_penalty != 1.0:
            self.seen = np.zeros(n_vocab, dtype=np.bool_)
            self.seen[np.asarray(prompt, dtype=np.intp)] = True
        greedy = settings.temperature == 0.0
        self.rng = None if greedy else np.random.default_rng([settings.seed, index])

    def saw(self, token: int) -> None:
        """``token`` joined the output (not called for EOS)."""
        self.generated += 1
        if self.seen is not None:
            self.seen[token] = True

    def warped(self, logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """The scores the next token is drawn from: -inf for impossible tokens (a new array)."""
        settings = self.settings
        scores = np.array(logits, dtype=np.float32)  # a copy: ``logits`` may be llama.cpp's buffer
        if self.seen is not None:
            seen = scores[self.seen]
            penalty = settings.repetition_penalty
            scores[self.seen] = np.where(seen < 0, seen * penalty, seen / penalty)
        if self.generated < settings.min_new_tokens and self.eos.size:
            scores[self.eos] = -np.inf
        if self.rng is None:
            return scores
        scores /= np.float32(settings.temperature)
        if 0 < settings.top_k < scores.size:
            kth = np.partition(scores, -settings.top_k)[-settings.top_k]
            scores[scores < kth] = -np.inf
        if settings.top_p < 1.0:
            order = np.argsort(scores, kind="stable")
            ascending = _softmax(scores[order]).cumsum()
            drop = ascending <= 1.0 - settings.top_p
            drop[-1] = False  # the most likely token always stays
            scores[order[drop]] = -np.inf
        return scores

    def choose(self, logits: npt.NDArray[np.float32]) -> int:
        scores = self.warped(logits)
        if self.rng is None:
            return int(np.argmax(scores))  # the first maximum, as torch.argmax
        cdf = _softmax(scores).cumsum()
        drawn = int(np.searchsorted(cdf, self.rng.random() * cdf[-1], side="right"))
        return min(drawn, scores.size - 1)


def _softmax(scores: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    shifted = np.exp(scores.astype(np.float64) - scores.max())
    return shifted / shifted.sum()


class SlotContext:
    """A llama.cpp context of ``n_slots`` sequences with ``slot_ctx`` KV cells each."""

    def __init__(self, model: Any, base_params: Any, n_slots: int, slot_ctx: int) -> None:
        import llama_cpp

        self._lib = llama_cpp
        # A copy of the Llama's own parameters: the same threads, KV types and attention kernels.
        params = llama_cpp.llama_context_params.from_buffer_copy(base_params)
        params.n_seq_max = n_slots
        params.n_ctx = n_slots * slot_ctx
        params.kv_unified = False
        self.n_batch = int(params.n_batch)
        self.ctx = llama_cpp.llama_init_from_model(model, params)
        if not self.ctx:
            raise RuntimeError(f"llama.cpp could not create a context of {n_slots} x {slot_ctx} tokens")
        self.n_slots = n_slots
        self.slot_ctx = int(llama_cpp.llama_n_ctx_seq(self.ctx))
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model)))
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)

    def clear(self) -> None:
        self._lib.llama_memory_clear(self.memory, True)

    def free_slot(self, slot: int) -> None:
        self._lib.llama_memory_seq_rm(self.memory, slot, -1, -1)

    def move(self, source: int, target: int) -> None:
        """Move a sequence to an empty slot (with a split KV cache: a copy of its whole stream)."""
        self._lib.llama_memory_seq_cp(self.memory, source, target, -1, -1)
        self.free_slot(source)

    def _decode(
        self, slots: Sequence[int], tokens: Sequence[int], positions: Sequence[int], last: bool
    ) -> None:
        batch = self.batch
        for i, (slot, token, pos) in enumerate(zip(slots, tokens, positions, strict=True)):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = slot
            batch.logits[i] = not last
        batch.n_tokens = len(tokens)
        if last:
            batch.logits[len(tokens) - 1] = True
        code = self._lib.llama_decode(self.ctx, batch)
        if code != 0:
            raise RuntimeError(f"llama_decode failed with code {code} ({len(tokens)} tokens)")

    def _logits(self, rows: int) -> npt.NDArray[np.float32]:
        # Outputs are stored contiguously in batch order (llama.h, llama_get_logits).
        pointer = self._lib.llama_get_logits(self.ctx)
        return np.ctypeslib.as_array(pointer, shape=(rows, self.n_vocab))

    def prefill(self, slot: int, prompt: Sequence[int]) -> npt.NDArray[np.float32]:
        """Run ``prompt`` into ``slot`` (empty) in ``n_batch`` chunks; the last token's logits."""
        if not prompt:
            raise ValueError("an empty prompt has no next-token logits")
        for start in range(0, len(prompt), self.n_batch):
            chunk = prompt[start : start + self.n_batch]
            positions = range(start, start + len(chunk))
            self._decode([slot] * len(chunk), chunk, positions, last=True)
        return self._logits(1)[0]

    def step(
        self,
        slots: Sequence[int],
        tokens: Sequence[int],
        positions: Sequence[int],
        pad_slot: int | None = None,
    ) -> npt.NDArray[np.float32]:
        """One token for each of ``slots``; logits ``[len(slots), vocab]`` (a view, valid until the next call).

        ``slots`` must be consecutive and increasing (see ``_compact``). ``pad_slot`` (the empty
        slot after the lone one) takes a throw-away copy of a lone token, removed after the
        step: llama.cpp computes a one-token batch with other kernels (matrix-vector products)
        than a larger one, whose logits differ by rounding (measured on the embedded model's f16
        export: up to 0.06 on logits of about 30; f32: 1e-6). With the pad, a request's logits do
        not depend on how many others share its steps.
        """
        if pad_slot is None or len(slots) != 1:
            self._decode(slots, tokens, positions, last=False)
            return self._logits(len(slots))
        self._decode([slots[0], pad_slot], [tokens[0]] * 2, [positions[0], 0], last=False)
        self.free_slot(pad_slot)
        return self._logits(2)[:1]

    def close(self) -> None:
        if self.ctx:
            self._lib.llama_batch_free(self.batch)
            self._lib.llama_free(self.ctx)
            self.ctx = None


@dataclass
class _Live:
    """A request occupying a slot."""

    index: int
    sampler: RowSampler
    position: int  # position of ``pending`` once fed
    pending: int  # chosen and recorded, not yet in the KV cache
    started: float
    tokens: list[int] = field(default_factory=list)


def decode_requests(
    context: SlotContext,
    prompts: Sequence[list[int]],
    settings: SamplingSettings,
    stop_check: Callable[[list[int]], bool] | None,
    batch_size: int,
    on_done: Callable[[], None] | None = None,
) -> list[SlotResult]:
    """Complete every prompt (request order kept), at most ``batch_size`` decoding together.

    Each prompt must fit its slot with ``settings.max_new_tokens`` after it (the caller checks).
    ``batch_size`` > 1 needs a context of at least 2 slots (a lone row is padded, see ``step``).
    """
    if not 1 <= batch_size <= context.n_slots or (batch_size > 1 and context.n_slots < 2):
        raise ValueError(f"batch_size {batch_size} does not fit a context of {context.n_slots} slots")
    context.clear()
    queue = deque(range(len(prompts)))
    live: dict[int, _Live] = {}  # slot -> request; kept on slots 0..len(live)-1
    results: dict[int, SlotResult] = {}

    def finished(slot: int, row: _Live) -> bool:
        finish = _finish(row, settings, stop_check)
        if finish is None:
            return False
        results[row.index] = SlotResult(row.tokens, finish, time.perf_counter() - row.started)
        context.free_slot(slot)
        if on_done is not None:
            on_done()
        return True

    while queue or live:
        while queue and len(live) < batch_size:  # refill before each step: every step runs a full batch
            slot = min(set(range(batch_size)) - set(live))
            index = queue.popleft()
            started = time.perf_counter()
            sampler = RowSampler(settings, index, prompts[index], context.n_vocab)
            token = sampler.choose(context.prefill(slot, prompts[index]))
            row = _Live(index, sampler, len(prompts[index]), token, started)
            if not finished(slot, row):
                live[slot] = row
        _compact(context, live)
        if not live:
            continue
        slots = range(len(live))
        # Batched decoding pads a lone row (see SlotContext.step); batch size 1 stays llama.cpp's
        # own single-sequence computation, the one ``Llama.generate`` runs.
        pad = 1 if batch_size > 1 and len(live) == 1 else None
        logits = context.step(slots, [live[s].pending for s in slots], [live[s].position for s in slots], pad)
        for row_logits, slot in zip(logits, slots, strict=True):
            row = live[slot]
            row.position += 1
            row.pending = row.sampler.choose(row_logits)
            if finished(slot, row):
                del live[slot]
    return [results[i] for i in range(len(prompts))]


def _compact(context: SlotContext, live: dict[int, _Live]) -> None:
    """Move the rows of the highest slots into the free slots below ``len(live)``.

    A split KV cache decodes in one ubatch only sequences with consecutive ids, in increasing
    order (llama.cpp's ``split_equal(..., sequential=true)``): a gap, say slots 0 and 2 live,
    would split a step into two one-row computations, slower and rounded differently.
    """
    holes = [slot for slot in range(len(live)) if slot not in live]
    movers = sorted(slot for slot in live if slot >= len(live))
    for hole, mover in zip(holes, movers, strict=True):
        context.move(mover, hole)
        live[hole] = live.pop(mover)


def _finish(
    row: _Live, settings: SamplingSettings, stop_check: Callable[[list[int]], bool] | None
) -> FinishReason | None:
    """Take ``row``'s newly chosen token; why the request ends with it (None: it goes on)."""
    if row.pending in settings.eos_ids:
        return "stop"  # EOS ends the turn; it is not part of the text
    row.tokens.append(row.pending)
    row.sampler.saw(row.pending)
    if stop_check is not None and stop_check(row.tokens):
        return "stop"
    if len(row.tokens) >= settings.max_new_tokens:
        return "length"
    return None
