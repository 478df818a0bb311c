"""What the sensitivity study runs: the variants of each chosen model, and its subsets.

A *variant* is a model of ``sensitivity.models`` re-embedded either

* at one input rate of ``sensitivity.input_hz`` and, when ``sensitivity.patch_size`` is not
  empty, one patch size (the plug-in option ``patch_size``; Moirai's): the *rate axis*,
  named ``{model}@{input_hz:g}hz`` or ``{model}@{input_hz:g}hz-p{patch_size}``; or
* with ``context_s`` seconds of signal per model input, one value of
  ``sensitivity.context_s``, at the model's own rate and patch (the entry's ``input_hz``,
  else the plug-in's default): the *context axis*, named ``{model}@c{context_s:g}s``
  (``{model}@{input_hz:g}hz-c{context_s:g}s`` when the entry sets ``input_hz``). The core
  then feeds each window in consecutive chunks of at most ``context_s`` seconds.

``sensitivity.per_model.<model>`` replaces any of the three lists for one model (TTM-R2
sweeps its own rates and has no ``patch_size``). ``@`` never occurs in model names, so a
variant cannot collide with a configured model. Its config entry is the model's own with
``input_hz`` (and ``patch_size``, or ``context_s``) set.

The study embeds a *subset* of each suite in ``sensitivity.suites``: for ``factors``, the
first ``windows_per_group`` windows of every signal kind; for ``scenarios``, of every
scenario class; whole subjects in suite order (a subject's windows are never split, so
the probes' subject-grouped folds stay valid), so a group may hold a few more windows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.errors import ConfigError

SEPARATOR = "@"
#: the column whose values form the groups of each suite's subset
GROUP_COLUMN = {"factors": "signal_kind", "scenarios": "scenario"}
#: the probes run on each suite (probe, suites it reads among the study's)
SUITE_PROBES = {
    "factors": (("feature_independence", ("factors",)),
                ("temporal_dynamics", ("factors", "scenarios"))),
    "scenarios": (("scenario_separation", ("scenarios",)),),
}


@dataclass(frozen=True)
class Variant:
    """One model at one input rate (and patch size), or with one context length."""

    model: str
    input_hz: float | None
    patch_size: int | None = None
    context_s: float | None = None

    @property
    def name(self) -> str:
        if self.context_s is not None:
            rate = "" if self.input_hz is None else f"{self.input_hz:g}hz-"
            return f"{self.model}{SEPARATOR}{rate}c{self.context_s:g}s"
        name = f"{self.model}{SEPARATOR}{self.input_hz:g}hz"
        return name if self.patch_size is None else f"{name}-p{self.patch_size}"

    def options(self, config: dict[str, Any]) -> dict[str, Any]:
        """The variant's config entry: the model's, with ``input_hz`` (and ``patch_size``
        or ``context_s``); one instance (the model's first seed) even when the model has
        ``replicates``."""
        options = {**copy.deepcopy(config["models"][self.model]), "enabled": True}
        if self.input_hz is not None:
            options["input_hz"] = self.input_hz
        options.pop("replicates", None)
        options.pop("shard_size", None)  # the study embeds its subset in one job
        if self.patch_size is not None:
            options["patch_size"] = self.patch_size
        if self.context_s is not None:
            options["context_s"] = self.context_s
        return options


def study_models(config: dict[str, Any]) -> list[str]:
    """The enabled models of ``sensitivity.models`` (disabled ones are skipped).

    Raises:
        ConfigError: a name that is not under ``models:``.
    """
    models = config["models"]
    chosen = []
    for name in config["sensitivity"]["models"]:
        if name not in models:
            raise ConfigError(f"config key 'sensitivity.models' names {name!r}, which is not "
                              f"under models: ({', '.join(models)})")
        if models[name].get("enabled", True):
            chosen.append(name)
    return chosen


def model_sweep(config: dict[str, Any], model: str
                ) -> tuple[list[float], list[int | None], list[float]]:
    """``(input rates, patch sizes, context lengths in s)`` the study sweeps for ``model``:
    the study's lists, or those of ``sensitivity.per_model.<model>`` (``[None]``: the
    model's own patch; ``[]``: no context variants)."""
    section = config["sensitivity"]
    own = section.get("per_model", {}).get(model, {})
    rates = [float(hz) for hz in own.get("input_hz", section["input_hz"])]
    patches = list(own.get("patch_size", section["patch_size"])) or [None]
    contexts = [float(s) for s in own.get("context_s", section.get("context_s", []))]
    return rates, patches, contexts


def variants(config: dict[str, Any]) -> list[Variant]:
    """Every variant, by model, then input rate, then patch size, then context length
    (config order).

    Raises:
        ConfigError: ``sensitivity.per_model`` names a model that is not under ``models:``
            (entries for configured models outside ``sensitivity.models`` are unused, so a
            preset can shorten the list).
    """
    study = study_models(config)
    for name in config["sensitivity"].get("per_model", {}):
        if name not in config["models"]:
            raise ConfigError(f"config key 'sensitivity.per_model.{name}' names a model that "
                              f"is not under models: ({', '.join(config['models'])})")
    out = []
    for model in study:
        rates, patches, contexts = model_sweep(config, model)
        out += [Variant(model, hz, patch) for hz in rates for patch in patches]
        own_hz = config["models"][model].get("input_hz")
        out += [Variant(model, None if own_hz is None else float(own_hz), None, seconds)
                for seconds in contexts]
    return out


def variant_entries(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Variant name -> its config entry (the model's, ``input_hz`` and ``patch_size`` set,
    one seed): what a stage loads to run a model at each of the study's rates."""
    return {v.name: v.options(config) for v in variants(config)}


def find_variant(config: dict[str, Any], name: str) -> Variant:
    """The variant called ``name`` (ConfigError listing the valid names)."""
    found = {v.name: v for v in variants(config)}
    if name not in found:
        raise ConfigError(f"sensitivity variant {name!r} is not in this config's study: "
                          f"{', '.join(found) or 'none (sensitivity.models is empty)'}")
    return found[name]


def variant_config(config: dict[str, Any], variant: Variant, n_windows: int) -> dict[str, Any]:
    """``config`` with the variant as a model and one shard holding ``n_windows``."""
    out = copy.deepcopy(config)
    out["models"][variant.name] = variant.options(config)
    out["embed"]["shard_size"] = max(int(n_windows), 1)
    return out


def subset_rows(labels: pd.DataFrame, suite: str, per_group: int) -> np.ndarray:
    """Window indices of the subset (sorted): per group, whole subjects in suite order
    until the group holds at least ``per_group`` windows (or all of its windows)."""
    column = GROUP_COLUMN[suite]
    for needed in (column, "subject_id"):
        if needed not in labels.columns:
            raise ConfigError(f"suite {suite!r} has no column {needed!r} in labels.parquet: "
                              "rerun the simulate stage")
    groups = labels[column].astype(str).to_numpy()
    subjects = labels["subject_id"].astype(str).to_numpy()
    keep: list[np.ndarray] = []
    for group in pd.unique(groups):
        in_group = groups == group
        count = 0
        for subject in pd.unique(subjects[in_group]):
            if count >= per_group:
                break
            rows = np.flatnonzero(in_group & (subjects == subject))
            keep.append(rows)
            count += rows.size
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)


def probes_for(suites: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """``(probe, suites)`` the study runs for its ``suites``."""
    out = []
    for suite in suites:
        for probe, reads in SUITE_PROBES[suite]:
            out.append((probe, tuple(s for s in reads if s in suites)))
    return out
