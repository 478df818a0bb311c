"""Where configured paths point: a relative path starts at the working directory of the
run, ``<package>:<path>`` inside an installed package; the default config and the schema
are the package's own (docs/datasets.md, "Paths")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SHIPPED_OFF

from physio_bench.cli import main
from physio_bench.config import (
    DEFAULT_CONFIG_PATH,
    PACKAGE_DIR,
    REPO_ROOT,
    SCHEMA_PATH,
    resolve_config_path,
)
from physio_bench.downstream.datasets import dataset_specs, open_dataset
from physio_bench.errors import ConfigError, InputError, ModelError
from physio_bench.models.weights import WeightsSpec, parse_weights
from physio_bench.preflight import load_config


def test_the_package_ships_its_default_config_and_schema() -> None:
    for path in (DEFAULT_CONFIG_PATH, SCHEMA_PATH):
        assert path.parent == PACKAGE_DIR and path.is_file()
    # in a clone they are the repository's files, not copies that could drift
    assert DEFAULT_CONFIG_PATH.resolve() == REPO_ROOT / "config.yaml"
    assert SCHEMA_PATH.resolve() == REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"


def test_relative_paths_stay_relative_and_package_paths_resolve() -> None:
    assert resolve_config_path("recs/icu") == Path("recs/icu")
    assert resolve_config_path("~/recs") == Path.home() / "recs"
    assert resolve_config_path("/data/recs") == Path("/data/recs")
    shipped = resolve_config_path("physio_bench:data/mitdb")
    assert shipped == PACKAGE_DIR / "data" / "mitdb" and (shipped / "100.hea").is_file()
    with pytest.raises(ConfigError, match=r"^path 'no_such_package:x' names package "
                                          r"'no_such_package', which is not installed"):
        resolve_config_path("no_such_package:x")


def test_a_dataset_path_starts_at_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "recs").mkdir()
    for path in (REPO_ROOT / "data" / "bidmc").glob("bidmc_03_*"):
        shutil.copy(path, tmp_path / "recs" / path.name)
    entry = {"reader": "bidmc-csv", "path": "recs",
             "channels": {"ecg": "II", "ppg": "PLETH", "rsp": "RESP"}}
    config = load_config()
    config["downstream"]["datasets"] = {"icu": entry}
    monkeypatch.chdir(tmp_path)
    [spec] = dataset_specs(config)
    assert spec.path == Path("recs")  # relative, as Snakemake's input names
    assert open_dataset(spec, config).records() == ["bidmc_03"]
    monkeypatch.chdir(tmp_path / "recs")
    with pytest.raises(InputError, match=(
            rf"^downstream\.datasets\.icu\.path: folder {tmp_path / 'recs' / 'recs'} not found "
            r"\(relative paths start at the working directory\): fix the path")):
        open_dataset(spec, config)


def test_cli_reads_a_config_file_relative_to_the_working_directory(tmp_path, monkeypatch,
                                                                   capsys) -> None:
    off = ", ".join(f"{name}: {{enabled: false}}" for name in SHIPPED_OFF if name != "mitdb")
    (tmp_path / "study.yaml").write_text(
        f"downstream: {{datasets: {{{off}, mitdb: {{path: mit}}}}}}\n")
    (tmp_path / "mit").symlink_to(REPO_ROOT / "data" / "mitdb")
    monkeypatch.chdir(tmp_path)
    config = load_config(["study.yaml"])
    [spec] = dataset_specs(config)
    assert spec.path == Path("mit")
    assert len(open_dataset(spec, config).records()) == 48
    assert main(["check-config", "--configfile", str(tmp_path / "nope.yaml")]) == 2
    assert "config file" in capsys.readouterr().err


def test_weights_shipped_in_a_package_are_found_through_it(tmp_path, monkeypatch) -> None:
    assert parse_weights("physio_bench:data/mitdb", "m") == WeightsSpec(
        "local", str(PACKAGE_DIR / "data" / "mitdb"))
    (tmp_path / "ckpt").mkdir()
    monkeypatch.chdir(tmp_path)
    assert parse_weights("ckpt", "m") == WeightsSpec("local", "ckpt")
    with pytest.raises(ModelError, match=r"^model 'm': weights: path 'nopkg_x:w' names"):
        parse_weights("nopkg_x:w", "m")
