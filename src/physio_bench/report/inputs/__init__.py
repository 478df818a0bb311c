"""Readers of the stage outputs the report draws from, one small module per stage.

Each module names the JSON keys it reads in constants at its top, so a change of a
stage's JSON layout is a change in one place. Readers return plain numpy arrays and
lists; a missing file or key raises :class:`~physio_bench.report.inputs.common.MissingResult`,
which the figure code turns into a logged, skipped panel.
"""
