"""docs/models.md "Add a model": its code block, written to a module and registered as an
entry point, runs through the core's embed stage; tokens equal what the docs promise
(patch mean and standard deviation), spans are the kit's left-padded patches."""

from __future__ import annotations

import re
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

from physio_bench.models import registry
from physio_bench.models.embed import embed_shard, merge_embeddings
from physio_bench.models.store import read_embeddings
from physio_bench.preflight import load_config

DOCS = Path(__file__).resolve().parents[1] / "docs" / "models.md"


def docs_code() -> str:
    """The first python block of the "Add a model" section."""
    text = DOCS.read_text()
    section = text[text.index("\n## Add a model\n"):]
    section = section[:section.index("\n## ", 1)]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_documented_model_runs_through_the_embed_stage(make_suite, tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "my_model.py").write_text(docs_code())
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    found = dict(registry.available_plugins())
    found["patch-stats"] = EntryPoint("patch-stats", "my_model:PatchStatsModel",
                                      registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "available_plugins", lambda: found)
    suite = make_suite("scenarios", n_windows=3, n_channels=2, n_samples=100)
    config = load_config()
    config["models"] = {"stats": {"plugin": "patch-stats", "patch": 32}}
    config["embed"].update({"shard_size": 3, "batch_size": 2, "token_layers": "all",
                            "token_dtype": "float32"})
    shard = tmp_path / "emb" / "shards" / "0000.npz"
    embed_shard(config, "stats", suite, 0, shard)
    info = merge_embeddings(config, "stats", [shard], tmp_path / "emb")
    stored = read_embeddings(tmp_path / "emb")
    assert (info["plugin"], info["n_parameters"], info["layer_names"]) == (
        "patch-stats", 4, ["stats", "mixed"])
    # 100 samples, patches of 32 left-padded: [0, 4), [4, 36), [36, 68), [68, 100)
    spans = [[0, 4], [4, 36], [36, 68], [68, 100]]
    assert stored.token_spans.tolist() == spans * 2
    assert stored.token_channels.tolist() == [0] * 4 + [1] * 4
    signals = np.load(suite / "signals.npy")
    stats = stored.tokens("stats")
    for token, (a, b) in enumerate(spans * 2):
        channel = token // 4
        np.testing.assert_allclose(stats[:, token, 0], signals[:, channel, a:b].mean(-1),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(stats[:, token, 1], signals[:, channel, a:b].std(-1),
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(Exception, match=r"unexpected keyword argument 'patches'"):
        from my_model import PatchStatsModel

        PatchStatsModel(name="x", patches=3)
