"""The compare stage: paired differences between models on the headline metrics.

``physio-bench compare`` reads the out-of-fold prediction tables of every probe and
downstream job and writes ``results/comparisons.csv`` (see :mod:`.run`).
"""

from physio_bench.compare.run import COLUMNS, compare_models, write_comparisons

__all__ = ["COLUMNS", "compare_models", "write_comparisons"]
