"""Read a physio_bench configuration and check it against the schema.

The schema (``workflow/schemas/config.schema.yaml`` in the repository) and the default
configuration (``config.yaml``) ship inside the package and are found through it
(:data:`SCHEMA_PATH`, :data:`DEFAULT_CONFIG_PATH`; in a clone, ``src/physio_bench/`` holds
links to the repository's files, which a wheel carries as copies), so an installed
physio_bench reads them wherever it runs. Errors are one line that names the offending
key and says how to fix it.

**Paths in a configuration** (:func:`resolve_config_path`): a relative path (dataset
folders, ``downstream.cache_dir``, weights directories, ``results/...``) is taken from the
working directory of the run: where ``physio-bench`` runs, or Snakemake's working
directory (``--directory``), never from where physio_bench is installed, nor from the
folder of the config file that names it. It stays relative in the configuration, the
settings digests and Snakemake's inputs, so a project folder that is copied or moved
reruns nothing. ``<package>:<path>`` names a file or folder shipped inside an installed
Python package (``physio_bench:data/mitdb``: the recordings shipped with physio_bench).

This module imports no stage: checks that need a stage's knowledge (factor ranges, model
plug-ins, weights, records) live in :mod:`physio_bench.preflight`, which every entry point
(CLI, Snakefile) calls.
"""

from __future__ import annotations

import copy
import importlib.resources
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from physio_bench.errors import ConfigError

#: The installed package's folder: what it ships is found here, whatever the working
#: directory (in a clone, ``src/physio_bench``).
PACKAGE_DIR = Path(str(importlib.resources.files("physio_bench")))
SCHEMA_PATH = PACKAGE_DIR / "config.schema.yaml"
DEFAULT_CONFIG_PATH = PACKAGE_DIR / "config.yaml"
#: The source checkout this module was imported from, for the tests and benchmarks of a
#: clone (meaningless for a regular install). Never used to resolve a configured path.
REPO_ROOT = Path(__file__).resolve().parents[2]
#: ``<package>:<path inside it>``, e.g. ``physio_bench:data/mitdb``
PACKAGE_PATH = re.compile(r"^(?P<package>[A-Za-z_]\w+(?:\.[A-Za-z_]\w*)*):(?P<path>[^/\\].*)$")

SIMULATED_SUITES = ("factors", "sweeps", "scenarios", "training")
#: The simulated suites that every model is embedded and probed on (``training`` feeds
#: the finetune stage only).
EVALUATION_SUITES = ("factors", "sweeps", "scenarios")


def load_schema() -> dict[str, Any]:
    """Return the configuration JSON schema as a dict."""
    if not SCHEMA_PATH.is_file():
        raise ConfigError(
            f"config schema not found at {SCHEMA_PATH}: this installation of physio_bench is "
            "incomplete; reinstall it (pip install physio-bench, or make venv in a clone)"
        )
    return yaml.safe_load(SCHEMA_PATH.read_text())


def is_package_path(value: str | Path) -> bool:
    """Whether a configured path names something shipped inside a package
    (``<package>:<path>``, see :func:`resolve_config_path`)."""
    return isinstance(value, str) and PACKAGE_PATH.match(value) is not None


def resolve_config_path(value: str | Path) -> Path:
    """The path a configuration value names.

    - ``<package>:<path>`` (``physio_bench:data/mitdb``): ``<path>`` inside the installed
      package ``<package>``, found through the package (absolute);
    - ``~/...`` or an absolute path: itself (``~`` expanded);
    - any other relative path: kept relative, so it is taken from the working directory
      of the run (Snakemake's ``--directory``, or where ``physio-bench`` runs).

    Raises:
        ConfigError: the package of a ``<package>:`` path is not installed.
    """
    match = PACKAGE_PATH.match(value) if isinstance(value, str) else None
    if match is None:
        return Path(value).expanduser()
    try:
        root = importlib.resources.files(match["package"])
    except (ModuleNotFoundError, TypeError) as exc:
        raise ConfigError(f"path {value!r} names package {match['package']!r}, which is not "
                          "installed: install it or give a folder path") from exc
    return Path(str(root)) / match["path"]


def describe_missing(path: str | Path) -> str:
    """``"<absolute path> not found"`` for a message, with where a relative path starts
    or why a folder shipped with physio_bench may be missing."""
    path = Path(path)
    if not path.is_absolute():
        return (f"{Path.cwd() / path} not found (relative paths start at the working "
                "directory)")
    if path.is_relative_to(PACKAGE_DIR):
        return (f"{path} not found (physio_bench's data/ ships with its source repository, "
                "not in a wheel: run from a clone, or copy the folder and give its path)")
    return f"{path} not found"


def deep_update(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``update`` into a copy of ``base`` (as Snakemake merges configfiles)."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_update(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    where = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        instance = error.instance if isinstance(error.instance, dict) else {}
        extra = sorted(set(instance) - set(allowed))
        name = ".".join([*(str(p) for p in error.absolute_path), extra[0]]) if extra else where
        hint = f"allowed keys here: {', '.join(allowed)}" if allowed else "remove it"
        return f"unknown config key '{name}': {hint}"
    if error.validator == "enum":
        return (
            f"config key '{where}' has value {error.instance!r}: "
            f"use one of {', '.join(map(str, error.validator_value))}"
        )
    if error.validator == "required":
        return f"config key '{where}' is missing {error.message.split(' is a required')[0]}: add it"
    return f"config key '{where}' is invalid: {error.message}"


def _set_defaults(instance: Any, schema: dict[str, Any]) -> None:
    """Fill schema defaults into ``instance`` in place (objects only, recursively)."""
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _set_defaults(instance[key], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _set_defaults(value, extra)


def _check_ranges(config: dict[str, Any]) -> None:
    for kind, ranges in config["simulate"]["factors"].get("ranges", {}).items():
        for factor, (low, high) in ranges.items():
            if low > high:
                raise ConfigError(
                    f"config key 'simulate.factors.ranges.{kind}.{factor}' has min {low} > max "
                    f"{high}: give the range as [min, max]"
                )


def validate_schema(config: dict[str, Any]) -> dict[str, Any]:
    """Check ``config`` against the schema and generic rules; return it with defaults filled.

    Raises:
        ConfigError: one line naming the key and the fix.
    """
    config = copy.deepcopy(config)
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), e.path))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise ConfigError(_describe(best))
    _set_defaults(config, schema)
    _check_ranges(config)
    if config["window_samples"] / config["sampling_rate_hz"] < 2.0:
        raise ConfigError(
            f"config key 'window_samples' gives windows of "
            f"{config['window_samples'] / config['sampling_rate_hz']:.2f} s: use at least 2 s"
        )
    for name, options in config["models"].items():
        if not isinstance(options, dict) or "plugin" not in options:
            raise ConfigError(f"config key 'models.{name}' needs a 'plugin' entry")
    _check_instance_names(config)
    return config


def read_config(paths: Iterable[str | Path] | None = None) -> dict[str, Any]:
    """Read the package's default ``config.yaml`` merged with each file in ``paths``
    (later wins; relative file names from the working directory), unvalidated.

    ``paths=None`` loads the default ``config.yaml`` alone.
    """
    config: dict[str, Any] = {}
    files = [DEFAULT_CONFIG_PATH] if paths is None else [DEFAULT_CONFIG_PATH, *map(Path, paths)]
    seen: set[Path] = set()
    for path in files:
        path = Path(path)
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist: check the path")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            first_line = f"config file {path} is not valid YAML: {exc}".splitlines()[0]
            raise ConfigError(first_line) from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping of keys to values")
        config = deep_update(config, loaded)
    return config


REPLICATE_SUFFIX = "-seed"


def model_instances(config: dict[str, Any], include_disabled: bool = False
                    ) -> dict[str, dict[str, Any]]:
    """Model instances, name -> options, in config order.

    A model with ``replicates: k`` (k >= 2) becomes ``k`` instances ``<name>-seed0`` ..
    ``<name>-seed<k-1>`` with the same options (``replicates`` removed), each run with
    its own seed (:func:`model_seed`); any other model is one instance of its own name.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, options in config["models"].items():
        if not include_disabled and not options.get("enabled", True):
            continue
        k = int(options.get("replicates", 1))
        if k <= 1:
            out[name] = options
            continue
        base = {key: value for key, value in options.items() if key != "replicates"}
        for j in range(k):
            out[f"{name}{REPLICATE_SUFFIX}{j}"] = dict(base)
    return out


def enabled_models(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Instances of the models whose ``enabled`` flag is true (the default), name ->
    options: what every stage runs (replicated models expanded, see
    :func:`model_instances`)."""
    return model_instances(config)


def replicate_of(config: dict[str, Any], name: str) -> tuple[str, int | None]:
    """``(configured model name, seed index)`` of an instance; ``(name, None)`` for a model
    without replicates."""
    models = config["models"]
    if name in models:
        return name, None
    base, sep, index = name.rpartition(REPLICATE_SUFFIX)
    if sep and index.isdigit() and base in models \
            and int(index) < int(models[base].get("replicates", 1)):
        return base, int(index)
    raise KeyError(name)


def model_entry(config: dict[str, Any], name: str) -> dict[str, Any]:
    """Options of a configured model or of one of its instances (``KeyError`` if none)."""
    base, index = replicate_of(config, name)
    options = config["models"][base]
    if index is None:
        return options
    return {key: value for key, value in options.items() if key != "replicates"}


def model_seed(config: dict[str, Any], name: str) -> int:
    """Seed a model instance is built with: the global seed, plus ``k`` for
    ``<name>-seed<k>``."""
    _, index = replicate_of(config, name)
    return int(config["seed"]) + (index or 0)


def instance_groups(config: dict[str, Any]) -> dict[str, list[str]]:
    """Enabled configured model -> its instances (one, or one per seed), config order."""
    groups: dict[str, list[str]] = {}
    for instance in enabled_models(config):
        groups.setdefault(replicate_of(config, instance)[0], []).append(instance)
    return groups


def _check_instance_names(config: dict[str, Any]) -> None:
    names = set(config["models"])
    for name in sorted(names):
        base, sep, index = name.rpartition(REPLICATE_SUFFIX)
        if sep and index.isdigit() and base in names \
                and int(config["models"][base].get("replicates", 1)) > int(index):
            raise ConfigError(f"config key 'models.{name}' clashes with seed instance {index} "
                              f"of the replicated model '{base}': rename it")


def write_resolved_config(config: dict[str, Any], path: str | Path) -> str:
    """Write the merged configuration to ``path`` unless it already holds the same content.

    Leaving an unchanged file untouched keeps its modification time, so Snakemake does
    not rerun jobs for a config that did not change. Returns the path as a string.
    """
    path = Path(path)
    text = yaml.safe_dump(config, sort_keys=True)
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(path)
