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

from typing import Any

import numpy as np

from physio_bench.errors import InputError
from physio_bench.models.torch_utils import check_sampling_rate, check_windows
from physio_bench_kit import (
    MIN_CHUNK_FRACTION,
    Chunk,
    kept_tokens,
    min_chunk_samples,
    split_context,
)

__all__ = ["MIN_CHUNK_FRACTION", "Chunk", "check_token_budget", "kept_tokens",
           "min_chunk_samples", "split_context", "token_budget_context"]


def token_budget_context(max_tokens: int, n_channels: int, patch_size: int, name: str) -> int:
    """Longest window (samples) whose ``n_channels`` channels fit ``max_tokens`` tokens of
    ``patch_size`` samples together (Moirai 1.x and 2.0: channel-major tokens share one
    sequence)."""
    per_channel = int(max_tokens) // max(int(n_channels), 1)
    if per_channel < 1:
        raise InputError(f"model {name!r}: {n_channels} channels exceed the model's "
                         f"{max_tokens} tokens")
    return per_channel * int(patch_size)


def check_token_budget(windows: Any, sampling_rate_hz: float, name: str, patch_size: int,
                       max_tokens: int, owner: str, hint: str) -> np.ndarray:
    """Validate windows (shape, NaN, rate) and raise InputError when their channels x
    patches exceed ``max_tokens`` (``owner``: whose budget the message names)."""
    array = check_windows(windows, name)
    check_sampling_rate(sampling_rate_hz, name)
    _, channels, n_samples = array.shape
    n_tokens = channels * -(-n_samples // patch_size)
    if n_tokens > max_tokens:
        raise InputError(
            f"model {name!r}: a window of {n_samples} samples x {channels} channel(s) makes "
            f"{n_tokens} tokens at patch_size {patch_size}, more than {owner} {max_tokens}; "
            f"{hint}")
    return array
