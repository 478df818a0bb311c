"""The path docs/models.md gives every pretrained plug-in, run offline for each.

For every plug-in in the table "Pretrained weights: what ships, where the rest come from":
write a small random checkpoint with the published file names (the library's own
``save_pretrained`` layout; TiRex: the published pickled ``model.ckpt``, then the
documented ``physio-bench convert-tirex``), install it in a Hugging Face cache under the
published hub id (the layout ``hf download`` leaves), apply the table's config line to
``config.yaml``'s entry, and run the pre-flight and the embed stage on a small suite.
The hub id and the config line are read from the docs, so the docs cannot drift from
what runs. No network.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from physio_bench.config import REPO_ROOT, deep_update
from physio_bench.models.embed import embed_shard
from physio_bench.models.weights import (
    check_weights_on_disk,
    file_sha256,
    hf_hub_cache,
    install_into_hf_cache,
)
from physio_bench.preflight import load_config

pytestmark = pytest.mark.usefixtures("offline_hub")
DOCS = REPO_ROOT / "docs" / "models.md"
HEADING = "## Pretrained weights: what ships, where the rest come from"
RATE_HZ, N_SAMPLES = 128.0, 1024  # 8 s: every plug-in's default rate is a small ratio of it


def documented_rows() -> dict[str, dict[str, str]]:
    """Config entry name -> plug-in, hub id, files, config line, from the docs' table."""
    text = DOCS.read_text().split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 8 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        fetch = [c for c in re.findall(r"`([^`]+)`", cells[6]) if c.startswith("hf download")]
        turn_on = [c for c in re.findall(r"`([^`]+)`", cells[7]) if c.startswith(f"{name}:")]
        rows[name] = {"plugin": cells[1].strip("`").split("`")[0], "hub_id": fetch[-1].split()[2],
                      "fetch": fetch[-1], "line": turn_on[-1],
                      "files": re.findall(r"`([\w.]+\.(?:json|safetensors))`", cells[5])}
    return rows


ROWS = documented_rows()
# one documented model per plug-in (the others differ only in size or version)
CASES = ["moirai-1.1-R-small", "moirai-2.0-R-small", "chronos-bolt-small", "chronos-2",
         "timesfm-2.5-200m", "tirex", "toto-base", "ttm-r2", "mantis-8m", "moment-large"]


# the general-purpose forecasting models; the domain models and THUML's decoders have
# their own section of docs/models.md
PLUGINS = {"moirai", "moirai2", "chronos", "timesfm", "tirex", "toto", "ttm", "mantis", "moment"}


def test_the_table_covers_every_pretrained_plugin_and_entry():
    config = load_config()
    pretrained = {name for name, entry in config["models"].items()
                  if entry["plugin"] in PLUGINS and str(entry.get("weights", "random")) != "random"
                  and not str(entry["weights"]).startswith("results/")}
    assert set(ROWS) == pretrained  # every configured pretrained model has its row
    assert {ROWS[name]["plugin"] for name in CASES} == PLUGINS  # every plug-in is tested
    for name, row in ROWS.items():
        assert row["fetch"].startswith(f"hf download {row['hub_id']}")
        assert "model.safetensors" in row["files"], name
        assert set(yaml.safe_load(row["line"])) == {name}


# ----------------------------------------------------- small checkpoints, published files

def _save_pretrained(module, directory: Path) -> None:
    module.save_pretrained(directory)


def write_moirai(directory: Path) -> None:
    from physio_bench.models.moirai import MoiraiModel

    # size small is in the config entry: the architecture of the published small
    _save_pretrained(MoiraiModel(name="w", seed=1, weights="random", size="small").module,
                     directory)


def write_moirai2(directory: Path) -> None:
    from test_moirai2 import TINY

    from physio_bench.models.moirai2 import build_module
    from physio_bench.models.torch_utils import seeded

    with seeded(1):
        _save_pretrained(build_module(TINY), directory)


def write_bolt(directory: Path) -> None:
    from physio_bench.models.chronos import ChronosModel

    _save_pretrained(ChronosModel(name="w", seed=1, weights="random", variant="bolt-tiny"
                                  ).model, directory)


def write_chronos2(directory: Path) -> None:
    from chronos.chronos2 import Chronos2Model

    from physio_bench.models.chronos import chronos2_config
    from physio_bench.models.torch_utils import seeded

    config = chronos2_config()
    tiny = config.to_dict()
    tiny.update(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4)
    with seeded(1):
        _save_pretrained(Chronos2Model(type(config)(**tiny)), directory)


def write_timesfm(directory: Path) -> None:
    from timesfm import TimesFM_2p5_200M_torch

    from physio_bench.models.timesfm import TimesFMModel

    wrapper = TimesFM_2p5_200M_torch(torch_compile=False)  # the architecture is fixed
    wrapper.model = TimesFMModel(name="w", seed=1, weights="random", progress=False).module
    wrapper.save_pretrained(directory)


def write_tirex(directory: Path) -> None:
    from test_tirex import TINY, write_lightning_checkpoint

    directory.mkdir(parents=True)
    write_lightning_checkpoint(directory / "model.ckpt", TINY)  # all NX-AI/TiRex holds


def write_mantis(directory: Path) -> None:
    from physio_bench.models.mantis import MantisModel

    _save_pretrained(MantisModel(name="w", seed=1, weights="random").network, directory)


def _own_environment(plugin: str, module: str, directory: Path) -> None:
    import importlib

    from own_env import child_run, own_env_python

    python = own_env_python(plugin)  # skips this case when the environment is not built
    tests = importlib.import_module(module)
    if hasattr(tests, "TINY"):
        child_run(python, tests.WRITE, str(directory), json.dumps(tests.TINY))
    else:
        child_run(python, tests.WRITE, str(directory))


WRITERS = {
    "moirai": write_moirai, "moirai2": write_moirai2, "tirex": write_tirex,
    "timesfm": write_timesfm, "mantis": write_mantis,
    "toto": lambda d: _own_environment("toto", "test_toto", d),
    "ttm": lambda d: _own_environment("ttm", "test_ttm", d),
    "moment": lambda d: _own_environment("moment", "test_moment", d),
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "timesfm-2.5-200m"
                                  else n for n in CASES])
def test_documented_path_runs(name, make_suite, tmp_path, monkeypatch):
    row = ROWS[name]
    published = tmp_path / "published"
    writer = {"chronos-bolt-small": write_bolt, "chronos-2": write_chronos2}.get(
        name, WRITERS.get(row["plugin"].split()[0]))
    writer(published)
    cache = hf_hub_cache()
    snapshot = install_into_hf_cache(published, row["hub_id"], cache)  # as hf download
    assert sorted(p.name for p in snapshot.iterdir()) == sorted(p.name for p in
                                                                 published.iterdir())
    line = yaml.safe_load(row["line"])[name]
    if name == "tirex":  # the documented conversion, then the documented line
        from physio_bench.cli import main

        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        target = Path(line["weights"]).expanduser()
        assert main(["convert-tirex", row["hub_id"], str(target)]) == 0
        snapshot = target
    config = load_config()
    entry = deep_update(config["models"][name], line)
    config["models"] = {name: entry}
    config["embed"].update({"shard_size": 4, "batch_size": 2})
    check_weights_on_disk(name, entry)  # the pre-flight, before any job
    suite = make_suite("factors", n_windows=2, n_samples=N_SAMPLES, sampling_rate_hz=RATE_HZ)
    sidecar = embed_shard(config, name, suite, 0, tmp_path / "emb" / "0000.npz")
    info = sidecar["info"]
    assert info["pretrained"] is True
    assert info["weights_source"] == str(line.get("weights", row["hub_id"]))
    assert info["weights_sha256"] == file_sha256(snapshot / "model.safetensors")
    assert sidecar["n_windows"] == 2
    shutil.rmtree(tmp_path / "emb")
