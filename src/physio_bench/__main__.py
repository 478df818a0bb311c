"""``python -m physio_bench`` runs the ``physio-bench`` CLI."""

import sys

from physio_bench.cli import main

sys.exit(main())
