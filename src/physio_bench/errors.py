"""Errors that carry one line for the user: what is wrong and how to fix it."""


class PhysioBenchError(Exception):
    """Base class: its message is one line naming the problem and the fix."""


class ConfigError(PhysioBenchError, ValueError):
    """The configuration is invalid (unknown key, bad value, range with min > max, ...)."""


class InputError(PhysioBenchError, ValueError):
    """Input data cannot be used (NaN-filled windows, too short, missing channel, ...)."""


class ModelError(PhysioBenchError, RuntimeError):
    """A model cannot be found, built or loaded (unknown plug-in, missing weights, ...)."""
