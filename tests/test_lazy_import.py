"""physio_bench.models.lazy_import: Moirai embeds without Lightning's imports, and the
package's own names still resolve (checked in fresh interpreters: imports are global)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from physio_bench.models.lazy_import import exported_names, lazy_package


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_building_moirai_does_not_import_lightning_and_package_names_resolve() -> None:
    out = _run(
        "import sys\n"
        "from physio_bench.models.moirai import build_module\n"
        "module = build_module('small')\n"
        "print('lightning' in sys.modules)\n"
        "from uni2ts.model.moirai import MoiraiForecast, MoiraiModule\n"
        "print(type(module) is MoiraiModule, MoiraiForecast.__module__)\n")
    assert out.splitlines() == ["False", "True uni2ts.model.moirai.forecast"]


def test_exported_names_read_relative_imports(tmp_path: Path) -> None:
    init = tmp_path / "__init__.py"
    init.write_text("from .a import X\nfrom .b import Y as Z\nimport os\nfrom os import sep\n")
    assert exported_names(init) == {"X": "a", "Z": "b"}


def test_an_imported_package_is_left_alone_and_a_module_is_refused() -> None:
    import physio_bench

    assert lazy_package("physio_bench") is physio_bench
    with pytest.raises(ImportError, match="not an installed package"):
        lazy_package("physio_bench.models.no_such_package_xyz")
