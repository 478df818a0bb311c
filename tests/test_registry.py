"""Plug-in discovery by entry points and one-line errors for bad model entries."""

from __future__ import annotations

import copy

import pytest

from physio_bench.cli import main
from physio_bench.errors import ModelError
from physio_bench.models.baselines import RawModel
from physio_bench.models.registry import available_plugins, check_models, load_model
from physio_bench.preflight import load_config

BUILT_IN = ("chronos", "handcrafted", "mantis", "moirai", "raw", "spectral", "subprocess")


def test_built_in_models_register_as_entry_points() -> None:
    plugins = available_plugins()
    assert set(BUILT_IN) <= set(plugins)
    assert plugins["raw"].value == "physio_bench.models.baselines:RawModel"
    assert list(plugins) == sorted(plugins)


def test_load_model_strips_core_keys_and_passes_options() -> None:
    model = load_model("raw-8", {"plugin": "raw", "enabled": True, "patch_samples": 8}, seed=3)
    assert isinstance(model, RawModel)
    assert (model.name, model.seed, model.patch_samples) == ("raw-8", 3, 8)


def test_unknown_plugin_is_one_line_listing_installed_plugins() -> None:
    with pytest.raises(ModelError) as caught:
        load_model("mine", {"plugin": "nope"}, seed=0)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("model 'mine' uses unknown plug-in 'nope': installed plug-ins are ")
    assert "raw, spectral, subprocess" in message
    assert "entry-point group 'physio_bench.models' (pip install PATH_OR_NAME)" in message


def test_unknown_option_names_the_config_key_and_accepted_options() -> None:
    with pytest.raises(ModelError, match=(
            r"config key 'models.r' is not accepted by plug-in 'raw': .*'patch_size'.*; "
            r"its options are: patch_samples$")):
        load_model("r", {"plugin": "raw", "patch_size": 8}, seed=0)


def test_check_models_checks_enabled_entries_only() -> None:
    config = load_config()
    check_models(config)  # the default config's plug-ins are all installed
    broken = copy.deepcopy(config)
    broken["models"]["later"] = {"plugin": "not-installed", "enabled": False}
    check_models(broken)
    broken["models"]["later"]["enabled"] = True
    with pytest.raises(ModelError, match="model 'later' uses unknown plug-in 'not-installed'"):
        check_models(broken)


def test_check_models_checks_subprocess_interpreters(tmp_path) -> None:
    config = load_config()
    config["models"] = {"ext": {"plugin": "subprocess", "python": str(tmp_path / "no" / "python"),
                                "plugin_name": "x"}}
    with pytest.raises(ModelError, match=(
            r"^model 'ext': interpreter .*/no/python does not exist: build the plug-in's "
            r"environment \(see its README\) or fix models.ext.python$")):
        check_models(config)


def test_models_command_lists_plugins_with_distribution(capsys) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "plug-ins in the entry-point group physio_bench.models" in out
    line = next(ln for ln in out.splitlines() if ln.split()[0] == "handcrafted")
    assert "physio_bench.models.handcrafted:HandcraftedModel  (physio-bench 0.1.0)" in line
