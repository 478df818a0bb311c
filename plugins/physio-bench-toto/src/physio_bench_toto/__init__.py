"""Toto (``toto-ts``) as a physio_bench plug-in: see README.md and :mod:`.model`.

Importing this package is cheap (numpy only); torch and toto load when a model is built.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def TotoModel(name: str, seed: int = 0, **options: Any) -> Any:  # noqa: N802 (factory)
    """Entry-point factory: build :class:`physio_bench_toto.model.TotoModel`."""
    from physio_bench_toto.model import TotoModel as _TotoModel

    return _TotoModel(name=name, seed=seed, **options)
