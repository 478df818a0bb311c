"""The one rule that splits a window longer than a model's context into contexts.

Every model sees at most ``context_samples`` samples at its input rate per forward pass
(Moirai 1.x and 2.0: their token budget shared by all channels; Chronos, TimesFM, TiRex,
PaPaGei, HuBERT-ECG, ...: their trained context). The embed stage cuts a longer window
into chunks by :func:`split_context`, for every model alike:

* chunks are aligned to the window's **end** (like the models' own left padding): the last
  chunks hold exactly ``context_samples`` samples each;
* the samples left over at the start (the *remainder*, ``n % context_samples``) form their
  own first chunk only when it holds at least :func:`min_chunk_samples` samples:
  ``ceil(MIN_CHUNK_FRACTION * context_samples)``, **half the context**;
* a shorter remainder is never standardised or embedded alone: the first chunk is then
  **overlapped**, a full context ``[0, context_samples)`` that overlaps the next chunk;
  only its tokens that *start* before the next chunk's first sample are kept
  (:attr:`Chunk.keep_before`), so every sample is covered, no chunk is shorter than the
  minimum, and the overlap adds at most one token (whose patch straddles the border).

So no chunk is shorter than half the context, every sample of the window lies in a kept
token's chunk, and a window no longer than the context is one chunk (nothing changes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from physio_bench.errors import InputError

MIN_CHUNK_FRACTION = 0.5  # shortest chunk / context_samples (windows longer than a context)


@dataclass(frozen=True)
class Chunk:
    """One context of a window, in samples at the model's input rate.

    Attributes:
        start, stop: ``[start, stop)`` samples the model sees in one pass.
        keep_before: tokens whose span starts at or after this sample are dropped (they
            are covered by the next chunk); ``stop`` when every token is kept.
    """

    start: int
    stop: int
    keep_before: int

    @property
    def overlapped(self) -> bool:
        """True for a chunk of which only the first tokens are kept."""
        return self.keep_before < self.stop


def min_chunk_samples(context_samples: int) -> int:
    """The shortest chunk the rule makes of a window longer than ``context_samples``."""
    return max(1, math.ceil(MIN_CHUNK_FRACTION * int(context_samples)))


def split_context(n_samples: int, context_samples: int | None) -> tuple[Chunk, ...]:
    """Chunks of an ``n_samples``-sample window for a context of ``context_samples``
    (None: no limit, one chunk). See the module docstring for the rule."""
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"a window needs at least one sample, got {n_samples}")
    if context_samples is None or n_samples <= context_samples:
        return (Chunk(0, n_samples, n_samples),)
    context = int(context_samples)
    if context < 1:
        raise ValueError(f"context_samples must be positive, got {context_samples}")
    remainder = n_samples % context
    full = [Chunk(a, a + context, a + context) for a in range(remainder, n_samples, context)]
    if remainder == 0:
        return tuple(full)
    if remainder >= min_chunk_samples(context):
        return (Chunk(0, remainder, remainder), *full)
    return (Chunk(0, context, remainder), *full)


def kept_tokens(span_starts: np.ndarray, chunk: Chunk) -> np.ndarray:
    """Boolean mask of a chunk's tokens to keep, from their span starts (samples relative
    to the chunk's first sample)."""
    starts = np.asarray(span_starts, dtype=np.int64) + chunk.start
    return starts < chunk.keep_before


def token_budget_context(max_tokens: int, n_channels: int, patch_size: int, name: str) -> int:
    """Longest window (samples) whose ``n_channels`` channels fit ``max_tokens`` tokens of
    ``patch_size`` samples together (Moirai 1.x and 2.0: channel-major tokens share one
    sequence)."""
    per_channel = int(max_tokens) // max(int(n_channels), 1)
    if per_channel < 1:
        raise InputError(f"model {name!r}: {n_channels} channels exceed the model's "
                         f"{max_tokens} tokens")
    return per_channel * int(patch_size)
