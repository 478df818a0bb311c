"""What kind of model a leaderboard row belongs to, and which model is its untrained twin.

Foundation level (reads the config and ``model.json`` files only): used by the report and
the compare stage. Kinds, decided in this order:

0. the downstream stage's classical signal-processing rows, model
   :data:`REFERENCE_METHOD`: ``reference method``; its trivial predictors, model
   :data:`MEAN_PREDICTOR`: ``mean predictor``;
1. ``model_type`` in the model's ``model.json`` (any of :data:`KINDS`): set by a plug-in
   or stage that knows better;
2. ``training`` in ``model.json`` (top level, or under ``extra`` where the Moirai plug-in
   copies it from a finetune checkpoint's ``training.json``): its ``type``
   (``trained on synthetic``, ``fine-tuned from <weights>``, or ``marginal ablation
   (shuffled patches)``: a run whose patches were shuffled every step, kind ``marginal
   ablation``), else ``trained on
   synthetic`` when training started from random weights (``training.start_weights``,
   ``initial_weights``, ``start`` or ``from`` is ``random``/absent) and ``fine-tuned from
   <weights>`` otherwise;
3. ``pretrained: true`` in ``model.json`` (or, before embedding, a config ``weights`` entry
   that is not ``random``) for a model plug-in: ``pretrained``;
4. ``weights: random`` (or ``untrained`` in the name): ``untrained control`` (label
   ``untrained control (mean of k seeds)`` for a replicated model);
5. otherwise ``baseline`` (no learned weights: raw samples, spectrum, hand-crafted).

Untrained twin: an untrained control with the same plug-in and the same ``size`` option
(when both configure one), else the same ``architecture`` string in ``model.json``.
Ablation twin (:func:`ablation_twin`): the enabled marginal ablation of the same
architecture, for a model trained on synthetic data or fine-tuned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from physio_bench.config import instance_groups, model_entry
from physio_bench.io import read_json

PRETRAINED, UNTRAINED, BASELINE = "pretrained", "untrained control", "baseline"
REFERENCE, SYNTHETIC, FINETUNED = "reference method", "trained on synthetic", "fine-tuned"
#: trained to the same loss on shuffled patches: no dynamics to learn (issue 20)
ABLATION = "marginal ablation"
#: the kind of the training-fold mean of the labels as a prediction (the constant to beat)
MEAN = "mean predictor"
KINDS = (PRETRAINED, UNTRAINED, BASELINE, REFERENCE, SYNTHETIC, FINETUNED, ABLATION, MEAN)
#: kinds that count as baselines in the paired comparisons ("best baseline")
BASELINE_KINDS = (BASELINE, REFERENCE)
SUITES = ("factors", "sweeps", "scenarios")
#: model name of the downstream stage's classical reference methods (no embeddings)
REFERENCE_METHOD = "reference-method"
#: model name of the real tasks' trivial predictors (written with the reference methods)
MEAN_PREDICTOR = "mean-predictor"


@dataclass(frozen=True)
class ModelType:
    """A model's kind (one of :data:`KINDS`) and its display label."""

    kind: str
    label: str


def read_model_info(results: str | Path, instance: str) -> dict[str, Any]:
    """The first ``model.json`` of an instance's embedded suites ({} when none yet)."""
    for suite in SUITES:
        path = Path(results) / "embeddings" / instance / suite / "model.json"
        if path.exists():
            return dict(read_json(path))
    return {}


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes"}


def model_type(config: dict[str, Any], name: str, info: dict[str, Any] | None = None,
               n_seeds: int = 1) -> ModelType:
    """Kind and label of model (or instance) ``name`` (see the module docstring)."""
    info = info or {}
    if name == REFERENCE_METHOD:
        return ModelType(REFERENCE, REFERENCE)
    if name == MEAN_PREDICTOR:
        return ModelType(MEAN, MEAN)
    try:
        options = model_entry(config, name)
    except KeyError:
        options = {}
    explicit = info.get("model_type")
    if explicit in KINDS:
        return ModelType(str(explicit), str(explicit))
    extra = info.get("extra")
    training = info.get("training") or (extra.get("training") if isinstance(extra, dict)
                                        else None)
    if isinstance(training, dict) and training:
        if str(training.get("type", "")).startswith(ABLATION):
            return ModelType(ABLATION, str(training["type"]))
        if str(training.get("type", "")).startswith("fine-tuned from "):
            return ModelType(FINETUNED, str(training["type"]))
        start = next((training[k] for k in ("start_weights", "initial_weights", "start",
                                            "from") if training.get(k)), "random")
        if str(start).startswith("random"):
            return ModelType(SYNTHETIC, SYNTHETIC)
        return ModelType(FINETUNED, f"fine-tuned from {start}")
    weights = str(options.get("weights", ""))
    pretrained = _truthy(info["pretrained"]) if "pretrained" in info else bool(
        weights) and not weights.startswith("random")
    if pretrained:
        return ModelType(PRETRAINED, PRETRAINED)
    if weights.startswith("random") or "untrained" in name:
        label = UNTRAINED if n_seeds <= 1 else f"{UNTRAINED} (mean of {n_seeds} seeds)"
        return ModelType(UNTRAINED, label)
    return ModelType(BASELINE, BASELINE)


def result_groups(config: dict[str, Any]) -> dict[str, list[str]]:
    """Every name that has result rows -> its instances: the enabled configured models
    (:func:`physio_bench.config.instance_groups`), then the reference methods."""
    return {**instance_groups(config), REFERENCE_METHOD: [REFERENCE_METHOD],
            MEAN_PREDICTOR: [MEAN_PREDICTOR]}


def group_types(config: dict[str, Any], results: str | Path) -> dict[str, ModelType]:
    """Result group -> its type (from its first instance's ``model.json``)."""
    return {group: model_type(config, group, read_model_info(results, instances[0]),
                              len(instances))
            for group, instances in result_groups(config).items()}


def same_architecture(config: dict[str, Any], results: str | Path, a: str, b: str) -> bool:
    """Whether configured models ``a`` and ``b`` share plug-in and size (or architecture)."""
    if {REFERENCE_METHOD, MEAN_PREDICTOR} & {a, b}:
        return False
    groups = instance_groups(config)
    oa, ob = config["models"][a], config["models"][b]
    if oa.get("plugin") != ob.get("plugin"):
        return False
    if "size" in oa and "size" in ob:
        return oa["size"] == ob["size"]
    arch_a = read_model_info(results, groups[a][0]).get("architecture") if a in groups else None
    arch_b = read_model_info(results, groups[b][0]).get("architecture") if b in groups else None
    return arch_a is not None and arch_a == arch_b


def twin_of_kind(config: dict[str, Any], results: str | Path, name: str, kind: str,
                 types: dict[str, ModelType] | None = None) -> str | None:
    """The first enabled model of ``kind`` with the same architecture as ``name`` (None if
    none)."""
    types = types or group_types(config, results)
    for other, other_type in types.items():
        if other != name and other_type.kind == kind \
                and same_architecture(config, results, name, other):
            return other
    return None


def untrained_twin(config: dict[str, Any], results: str | Path, name: str,
                   types: dict[str, ModelType] | None = None) -> str | None:
    """The enabled untrained control of the same architecture as ``name`` (None if none)."""
    return twin_of_kind(config, results, name, UNTRAINED, types)


def ablation_twin(config: dict[str, Any], results: str | Path, name: str,
                  types: dict[str, ModelType] | None = None) -> str | None:
    """The enabled marginal ablation of the same architecture as ``name`` (None if none)."""
    return twin_of_kind(config, results, name, ABLATION, types)
