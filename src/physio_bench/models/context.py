"""The one rule that splits a window longer than a model's context into contexts.

The rule itself lives in the adapter kit (:func:`physio_bench_kit.split_context`, numpy
only, so plug-ins in their own interpreter share it); this module is the core's view of it.

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

from physio_bench.errors import InputError
from physio_bench_kit import (
    MIN_CHUNK_FRACTION,
    Chunk,
    kept_tokens,
    min_chunk_samples,
    split_context,
)

__all__ = ["MIN_CHUNK_FRACTION", "Chunk", "kept_tokens", "min_chunk_samples",
           "split_context", "token_budget_context"]


def token_budget_context(max_tokens: int, n_channels: int, patch_size: int, name: str) -> int:
    """Longest window (samples) whose ``n_channels`` channels fit ``max_tokens`` tokens of
    ``patch_size`` samples together (Moirai 1.x and 2.0: channel-major tokens share one
    sequence)."""
    per_channel = int(max_tokens) // max(int(n_channels), 1)
    if per_channel < 1:
        raise InputError(f"model {name!r}: {n_channels} channels exceed the model's "
                         f"{max_tokens} tokens")
    return per_channel * int(patch_size)
