"""TinyTimeMixer (``granite-tsfm``) as a physio_bench plug-in: see README.md and :mod:`.model`.

Importing this package is cheap (numpy only); torch and tsfm_public load when a model is
built.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def TTMModel(name: str, seed: int = 0, **options: Any) -> Any:  # noqa: N802 (factory)
    """Entry-point factory: build :class:`physio_bench_ttm.model.TTMModel`."""
    from physio_bench_ttm.model import TTMModel as _TTMModel

    return _TTMModel(name=name, seed=seed, **options)
