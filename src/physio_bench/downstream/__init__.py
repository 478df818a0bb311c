"""The downstream stage: datasets of real recordings (reader plug-ins) cut into suites,
real-data tasks, classical reference methods, and simulation-to-real transfer of
decoders trained on simulated suites."""

from physio_bench.downstream.datasets import (
    REFERENCE_METHOD,
    check_datasets,
    dataset_specs,
)
from physio_bench.downstream.reference_methods import run_reference_methods
from physio_bench.downstream.tasks import run_downstream
from physio_bench.downstream.windows import make_real_suite

__all__ = ["REFERENCE_METHOD", "check_datasets", "dataset_specs", "make_real_suite",
           "run_downstream", "run_reference_methods"]
