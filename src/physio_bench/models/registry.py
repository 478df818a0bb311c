"""Find model plug-ins through entry points and build them from config entries.

A plug-in is an entry point in the group ``physio_bench.models`` of any installed
distribution (physio_bench's own baselines and adapters register the same way). Its name
is the ``plugin`` of a config entry, its value a factory called as
``factory(name=<config name>, seed=<int>, **options)``.
"""

from __future__ import annotations

import inspect
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from physio_bench.errors import ModelError, PhysioBenchError

ENTRY_POINT_GROUP = "physio_bench.models"
#: config keys of a model entry read by the core, never passed to the factory
RESERVED_OPTIONS = ("plugin", "enabled", "input_hz", "context_s", "replicates", "threads",
                    "shard_size")
INSTALL_HINT = (
    f"install a distribution that registers one in the entry-point group "
    f"'{ENTRY_POINT_GROUP}' (pip install PATH_OR_NAME), or use plugin: subprocess for one "
    "installed in another environment"
)


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def available_plugins() -> dict[str, EntryPoint]:
    """Installed plug-ins: entry-point name -> entry point, sorted by name.

    When two distributions register the same name with different targets, the first
    found on ``sys.path`` wins (as for any import).
    """
    found: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry_point.name, entry_point)
    return dict(sorted(found.items()))


def distribution_of(entry_point: EntryPoint) -> tuple[str, str]:
    """``(distribution name, version)`` that registered ``entry_point`` ("?" if unknown)."""
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return "?", "?"
    return dist.metadata["Name"] or "?", dist.version or "?"


def plugin_options(options: dict[str, Any]) -> dict[str, Any]:
    """A config entry without the keys the core reads itself (:data:`RESERVED_OPTIONS`)."""
    return {k: v for k, v in options.items() if k not in RESERVED_OPTIONS}


def _entry_point(model_name: str, options: dict[str, Any]) -> EntryPoint:
    plugin = options.get("plugin")
    if not isinstance(plugin, str):
        raise ModelError(f"config key 'models.{model_name}' needs a 'plugin' entry (a string)")
    plugins = available_plugins()
    if plugin not in plugins:
        names = ", ".join(plugins) or "none"
        raise ModelError(
            f"model {model_name!r} uses unknown plug-in {plugin!r}: installed plug-ins are "
            f"{names}; {INSTALL_HINT}"
        )
    return plugins[plugin]


def load_factory(model_name: str, options: dict[str, Any]) -> Any:
    """Import the factory of the plug-in named by ``options['plugin']``."""
    entry_point = _entry_point(model_name, options)
    try:
        return entry_point.load()
    except Exception as exc:
        dist, _ = distribution_of(entry_point)
        raise ModelError(
            f"model {model_name!r}: plug-in {entry_point.name!r} ({entry_point.value}, from "
            f"{dist}) cannot be imported: {type(exc).__name__}: {first_line(exc)}; install "
            "its dependencies"
        ) from exc


def _check_signature(factory: Any, model_name: str, plugin: str, kwargs: dict[str, Any]) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        accepted = [p for p in signature.parameters if p not in ("name", "seed", "self")]
        raise ModelError(
            f"config key 'models.{model_name}' is not accepted by plug-in {plugin!r}: {exc}; "
            f"its options are: {', '.join(accepted) or 'none'}"
        ) from None


def load_model(name: str, options: dict[str, Any], seed: int) -> Any:
    """Build the model ``name`` from its config entry ``options`` (with ``plugin``).

    Returns an object following :class:`physio_bench.models.protocol.EmbeddingModel`.

    Raises:
        ModelError: unknown plug-in (listing the installed ones), an import failure, or
            options the factory does not accept.
    """
    factory = load_factory(name, options)
    kwargs = {"name": name, "seed": int(seed), **plugin_options(options)}
    _check_signature(factory, name, options["plugin"], kwargs)
    try:
        model = factory(**kwargs)
    except PhysioBenchError:
        raise
    except Exception as exc:
        raise ModelError(
            f"model {name!r}: plug-in {options['plugin']!r} failed to build it: "
            f"{type(exc).__name__}: {first_line(exc)}"
        ) from exc
    missing = [m for m in ("describe", "embed") if not callable(getattr(model, m, None))]
    if missing:
        raise ModelError(
            f"model {name!r}: plug-in {options['plugin']!r} returned an object without "
            f"{' and '.join(missing)}(): fix the plug-in (see physio_bench.models.protocol)"
        )
    return model


def check_models(config: dict[str, Any]) -> None:
    """Check, without importing any plug-in, that every enabled model's plug-in exists.

    Also checks that the interpreter of each ``subprocess`` model exists. Cheap: meant
    for config validation before any job runs.

    Raises:
        ModelError: the first problem found, in one line.
    """
    from physio_bench.models.subprocess_plugin import resolve_python

    for name, options in config["models"].items():
        if not options.get("enabled", True):
            continue
        _entry_point(name, options)
        if options["plugin"] == "subprocess":
            resolve_python(name, options.get("python"))
