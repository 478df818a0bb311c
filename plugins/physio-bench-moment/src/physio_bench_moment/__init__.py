"""MOMENT (``momentfm``) as a physio_bench plug-in: see README.md and :mod:`.model`.

Importing this package is cheap (numpy only); torch and momentfm load when a model is
built.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def MomentModel(name: str, seed: int = 0, **options: Any) -> Any:  # noqa: N802 (factory)
    """Entry-point factory: build :class:`physio_bench_moment.model.MomentModel`."""
    from physio_bench_moment.model import MomentModel as _MomentModel

    return _MomentModel(name=name, seed=seed, **options)
