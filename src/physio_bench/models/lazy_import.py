"""Import a uni2ts model package without its training imports.

``uni2ts.model.moirai/__init__.py`` imports ``MoiraiFinetune`` and ``MoiraiPretrain``,
which import Lightning: ``import uni2ts.model.moirai`` takes about 10 s of CPU on this
project's 2-core machine, 4 s without them. Every embedding job would pay those 6 s
although embedding needs only ``MoiraiModule`` (over a hundred Moirai jobs in the full
default run).

:func:`lazy_package` registers such a package as a PEP 562 module whose ``__init__`` is not
run: its submodules import as usual (``from uni2ts.model.moirai.module import
MoiraiModule`` loads ``module.py`` alone), and every name the ``__init__`` imports with
``from .submodule import Name`` loads its submodule on first access, so ``from
uni2ts.model.moirai import MoiraiForecast`` still works. A package already imported is left
as it is.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types
from pathlib import Path


def exported_names(init_file: Path) -> dict[str, str]:
    """``name -> submodule`` of every ``from .submodule import name`` in ``init_file``."""
    names = {}
    for node in ast.parse(init_file.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = node.module
    return names


def lazy_package(name: str) -> types.ModuleType:
    """The package ``name`` (e.g. ``"uni2ts.model.moirai"``), registered lazily unless it
    is imported already; its parent packages are imported as usual."""
    if name in sys.modules:
        return sys.modules[name]
    parent, _, leaf = name.rpartition(".")
    if parent:
        importlib.import_module(parent)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None or spec.origin is None:
        raise ImportError(f"{name} is not an installed package")
    exported = exported_names(Path(spec.origin))
    package = types.ModuleType(name, f"{name} (lazy: physio_bench.models.lazy_import)")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    package.__all__ = sorted(exported)

    def __getattr__(attribute: str) -> object:  # noqa: N807 (PEP 562)
        if attribute not in exported:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        value = getattr(importlib.import_module(f"{name}.{exported[attribute]}"), attribute)
        setattr(package, attribute, value)
        return value

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = package
    if parent:
        setattr(sys.modules[parent], leaf, package)
    return package
