"""Stable per-window seeds: a window's randomness depends only on its own key.

``hash()`` is salted per Python process, so seeds come from BLAKE2b instead: the same
(global seed, stream, index) gives the same 63-bit seed on every machine and run.
"""

from __future__ import annotations

import hashlib

import numpy as np


def window_seed(global_seed: int, suite: str, index: int | str) -> int:
    """Seed (0 <= seed < 2**63) of window ``index`` in the random stream ``suite``.

    ``suite`` is the suite name or a finer stream name (``"factors:ecg"``,
    ``"scenarios:apnea:subject"``); growing a suite never changes an earlier window's
    seed because the seed does not depend on the suite's size.
    """
    key = f"physio_bench/{int(global_seed)}/{suite}/{index}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def window_rng(global_seed: int, suite: str, index: int | str) -> np.random.Generator:
    """A numpy Generator seeded with :func:`window_seed`."""
    return np.random.default_rng(window_seed(global_seed, suite, index))


def child_seeds(rng: np.random.Generator, n: int) -> list[int]:
    """``n`` independent 32-bit seeds drawn from ``rng`` (one per random stream of a window)."""
    return [int(s) for s in rng.integers(0, 2**32 - 1, size=n)]
