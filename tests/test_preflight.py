"""Before any job runs: every enabled model's weights, default hub ids included, with every
file its loader reads; checkpoints load from safetensors only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import SHIPPED_OFF

from physio_bench.cli import main
from physio_bench.config import REPO_ROOT
from physio_bench.errors import ModelError
from physio_bench.models.weights import (
    check_weights_on_disk,
    hf_hub_cache,
    install_into_hf_cache,
    safetensors_only_view,
    weights_requirement,
)
from physio_bench.preflight import check_before_run, load_config

NO_RECORDS = {"downstream": {"datasets": {**SHIPPED_OFF}}}


pytestmark = pytest.mark.usefixtures("offline_empty_cache")


def cache_without_config(hub_id: str, tmp_path: Path) -> Path:
    """A test-written HF cache entry of ``hub_id`` holding model.safetensors only."""
    source = tmp_path / "partial"
    source.mkdir(exist_ok=True)
    (source / "model.safetensors").write_bytes(b"not loaded by the pre-flight")
    return install_into_hf_cache(source, hub_id, hf_hub_cache())


def test_requirements_include_plugin_defaults():
    assert weights_requirement("m", {"plugin": "moirai", "size": "base"}) == (
        "Salesforce/moirai-1.1-R-base", ("config.json", "model.safetensors"))
    assert weights_requirement("m", {"plugin": "moirai", "version": "1.0-R"})[0] == (
        "Salesforce/moirai-1.0-R-small")
    assert weights_requirement("c", {"plugin": "chronos"}) == (
        "amazon/chronos-bolt-small", ("config.json", "model.safetensors"))
    assert weights_requirement("c", {"plugin": "chronos", "variant": "chronos-2"})[0] == (
        "amazon/chronos-2")
    assert weights_requirement("x", {"plugin": "mantis"}) == (
        "paris-noah/Mantis-8M", ("config.json", "model.safetensors"))
    assert weights_requirement("r", {"plugin": "raw"}) is None
    with pytest.raises(ModelError, match=r"^model 'old': weights Salesforce/moirai-1.0-R-small "
                                         r"are Moirai 1.0-R, but option version is 1.1-R"):
        weights_requirement("old", {"plugin": "moirai", "version": "1.1-R",
                                    "weights": "Salesforce/moirai-1.0-R-small"})


@pytest.mark.parametrize("entry", [
    {"plugin": "moirai", "size": "small"},  # the plug-in's default hub id
    {"plugin": "moirai", "weights": "Salesforce/moirai-1.1-R-small"},
])
def test_cache_lacking_config_json_fails_before_any_job(entry, tmp_path, capsys):
    cache_without_config("Salesforce/moirai-1.1-R-small", tmp_path)
    config = load_config()
    config.update(NO_RECORDS)
    config["models"] = {"raw": {"plugin": "raw"}, "moirai-1.1-R-small": entry}
    config["sensitivity"]["models"] = []
    with pytest.raises(ModelError) as error:
        check_before_run(config)
    message = str(error.value)
    assert message.startswith("model 'moirai-1.1-R-small': pretrained weights "
                              "Salesforce/moirai-1.1-R-small lack config.json in the Hugging "
                              "Face cache")
    assert "the loader needs config.json, model.safetensors" in message and "\n" not in message
    configfile = tmp_path / "c.yaml"
    models = {"moirai-1.1-R-small": {**entry, "enabled": True}}  # merged over config.yaml
    configfile.write_text(yaml.safe_dump({**NO_RECORDS, "models": models,
                                          "sensitivity": {"models": []}}))
    assert main(["check-config", "--configfile", str(configfile)]) == 2
    assert "lack config.json" in capsys.readouterr().err


def test_snakemake_stops_at_parse_time_when_a_file_is_missing(tmp_path):
    cache_without_config("Salesforce/moirai-1.1-R-small", tmp_path)
    configfile = tmp_path / "c.yaml"
    configfile.write_text(yaml.safe_dump({**NO_RECORDS, "sensitivity": {"models": []},
                                          "models": {"moirai-1.1-R-small": {"enabled": True}}}))
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "all", "--snakefile", str(REPO_ROOT / "Snakefile"),
         "--directory", str(tmp_path / "run"), "--cores", "1", "--configfile", str(configfile)],
        capture_output=True, text=True, env={**os.environ}, timeout=300)
    assert done.returncode != 0
    assert "physio_bench: config error: model 'moirai-1.1-R-small': pretrained weights " \
           "Salesforce/moirai-1.1-R-small lack config.json" in done.stderr
    assert not (tmp_path / "run" / "results" / "simulated").exists()  # no job ran


def test_complete_cache_and_local_directories_pass(tmp_path):
    source = tmp_path / "ck"
    source.mkdir()
    (source / "config.json").write_text("{}")
    (source / "model.safetensors").write_bytes(b"x")
    install_into_hf_cache(source, "amazon/chronos-bolt-small", hf_hub_cache())
    check_weights_on_disk("bolt", {"plugin": "chronos"})  # default hub id, both files
    check_weights_on_disk("local", {"plugin": "mantis", "weights": str(source)})
    (source / "config.json").unlink()
    with pytest.raises(ModelError, match=r"weights directory .* lacks config\.json"):
        check_weights_on_disk("local", {"plugin": "mantis", "weights": str(source)})
    with pytest.raises(ModelError, match=r"pretrained weights paris-noah/Mantis-8M are not in "
                                         r"the Hugging Face cache"):
        check_weights_on_disk("mantis", {"plugin": "mantis"})


def test_loaders_see_safetensors_and_json_only(tmp_path):
    directory = tmp_path / "ck"
    directory.mkdir()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin", "model.ckpt"):
        (directory / name).write_bytes(name.encode())
    with safetensors_only_view(directory) as view:
        assert sorted(p.name for p in view.iterdir()) == ["config.json", "model.safetensors"]
        assert (view / "model.safetensors").read_bytes() == b"model.safetensors"
        assert view.name == "ck"
    assert not view.exists()
