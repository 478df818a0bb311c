"""Configuration checks: every mistake fails with one line naming the key, before any job."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from physio_bench.cli import main
from physio_bench.config import enabled_models, load_config, validate_config
from physio_bench.errors import ConfigError


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_default_config_is_valid_and_fills_defaults() -> None:
    config = load_config()
    assert config["sampling_rate_hz"] == 250
    assert config["window_samples"] == 2048
    assert "moirai-small-untrained" in enabled_models(config)
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
        ({"window_samples": 256}, "use at least 2 s"),
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
