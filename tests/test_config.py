"""Configuration checks: every mistake fails with one line naming the key, before any job."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from physio_bench.cli import main
from physio_bench.config import enabled_models
from physio_bench.errors import ConfigError
from physio_bench.preflight import load_config, validate_config


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_default_config_is_valid_and_fills_defaults() -> None:
    config = load_config()
    assert config["sampling_rate_hz"] == 125
    assert config["window_samples"] == 4000
    # The positive control's untrained twin runs with three seeds (issue 11): three
    # instances; the untrained Moirai-small with one
    assert [m for m in enabled_models(config) if m.startswith("moirai-tiny-untrained")] == [
        f"moirai-tiny-untrained-seed{k}" for k in range(3)]
    assert [m for m in enabled_models(config) if m.startswith("moirai-small-untrained")] == [
        "moirai-small-untrained"]
    # Pretrained models are listed but switched off: the default run is offline.
    assert "moirai-1.1-R-small" not in enabled_models(config)
    assert config["models"]["moirai-1.1-R-small"]["weights"] == "Salesforce/moirai-1.1-R-small"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"sampling_rat_hz": 100}, "unknown config key 'sampling_rat_hz'"),
        ({"simulate": {"factorz": {}}}, "unknown config key 'simulate.factorz'"),
        (
            {"simulate": {"signal_kinds": ["ecg", "eeg"]}},
            "'simulate.signal_kinds.1' has value 'eeg'",
        ),
        ({"window_samples": -2048}, "'window_samples' is invalid"),
        (
            {"simulate": {"factors": {"ranges": {"ecg": {"heart_rate_bpm": [150, 45]}}}}},
            "'simulate.factors.ranges.ecg.heart_rate_bpm' has min 150 > max 45",
        ),
        ({"embed": {"device": "tpu"}}, "'embed.device' has value 'tpu'"),
        ({"window_samples": 200}, "use at least 2 s"),
    ],
)
def test_bad_config_fails_with_one_line(tmp_path: Path, override: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config([_write(tmp_path, override)])
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_cli_prints_one_line_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["check-config", "--configfile", str(_write(tmp_path, {"bogus": 1}))])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("physio-bench: error: unknown config key 'bogus'")
    assert len(err.splitlines()) == 1


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config([tmp_path / "nope.yaml"])


def test_validate_does_not_mutate_input() -> None:
    raw = {"models": {"raw": {"plugin": "raw"}}}
    checked = validate_config(raw)
    assert raw == {"models": {"raw": {"plugin": "raw"}}}
    assert checked["embed"]["shard_size"] == 512


def test_pretrained_weights_must_be_on_disk_before_any_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from physio_bench.errors import ModelError
    from physio_bench.models.moirai import MoiraiModel
    from physio_bench.models.weights import install_into_hf_cache
    from physio_bench.preflight import check_before_run

    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    hub_id = "Salesforce/moirai-1.1-R-small"
    config = load_config([_write(tmp_path, {"models": {"moirai-1.1-R-small": {"enabled": True}}})])
    with pytest.raises(ModelError) as info:
        check_before_run(config)
    message = str(info.value)
    assert f"{hub_id} are not in the Hugging Face cache" in message
    assert f"hf download {hub_id}" in message
    assert "\n" not in message
    # A checkpoint written by save_pretrained and placed in the cache passes the check.
    MoiraiModel(name="m", seed=0, weights="random").module.save_pretrained(tmp_path / "ckpt")
    install_into_hf_cache(tmp_path / "ckpt", hub_id, tmp_path / "hf" / "hub")
    check_before_run(config)
