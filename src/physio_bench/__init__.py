"""physio_bench: does a time-series foundation model understand physiological signals?

Stages (one subpackage each): ``simulate`` -> ``models`` (embed) -> ``probes`` ->
``downstream`` -> ``report``. Every stage runs from the ``physio-bench`` CLI and from
the Snakemake workflow at the repository root.
"""

__version__ = "0.1.0"
