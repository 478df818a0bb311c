"""The downstream stage: real WFDB recordings cut into a suite, real-data tasks, and
simulation-to-real transfer of decoders trained on the simulated factors suite."""

from physio_bench.downstream.records import check_records
from physio_bench.downstream.tasks import run_downstream
from physio_bench.downstream.windows import make_real_suite

__all__ = ["check_records", "make_real_suite", "run_downstream"]
