"""Built-in dataset readers (entry points ``wfdb`` and ``bidmc-csv`` in the group
``physio_bench.datasets``); the core finds them by entry point like any other reader."""
