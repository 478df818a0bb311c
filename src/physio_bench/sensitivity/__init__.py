"""The sensitivity study: how a model's probe metrics depend on its input rate and patch.

Users of time-series foundation models keep asking how to feed physiological signals to
them (uni2ts #32/#168/#215, MOMENT #22/#35/#45): at which rate, with which patch size.
This stage answers it empirically for the models in ``sensitivity.models``: each is
re-embedded at every rate of ``sensitivity.input_hz`` (and every ``patch_size``) on a
subset of the suites (:mod:`.plan`), probed with the probes stage's own functions
(:func:`physio_bench.probes.run_probe`), and the headline metrics are drawn against the
input rate in the report (figure ``sensitivity_input_rate``). Files: :mod:`.run`.
"""

from physio_bench.sensitivity.plan import (
    Variant,
    find_variant,
    model_sweep,
    study_models,
    variant_entries,
    variants,
)

__all__ = ["Variant", "find_variant", "model_sweep", "study_models", "variant_entries",
           "variants"]
