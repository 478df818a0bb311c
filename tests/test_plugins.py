"""Plug-ins from other distributions, for real: a built and pip-installed example plug-in
found through its entry point, and the same plug-in run in a second virtual environment
(without physio_bench, torch or anything else of ours) through ``plugin: subprocess``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import pytest

from physio_bench.errors import ModelError
from physio_bench.models.embed import embed_shard, merge_embeddings
from physio_bench.models.registry import available_plugins, distribution_of
from physio_bench.models.store import read_embeddings
from physio_bench.models.subprocess_plugin import SubprocessModel
from physio_bench.preflight import load_config

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "plugins" / "physio-bench-example"
MOMENT = REPO / "plugins" / "physio-bench-moment"
EXAMPLE_OPTIONS = {"patch_samples": 16, "dim": 4}


def pip(*args: object) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *map(
        str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def example_wheel(tmp_path_factory) -> Path:
    """The example plug-in built into a wheel (from a copy: the repo stays clean)."""
    work = tmp_path_factory.mktemp("example-plugin")
    shutil.copytree(EXAMPLE, work / "source",
                    ignore=shutil.ignore_patterns("build", "*.egg-info", ".venv", "__pycache__"))
    pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", work / "dist",
        work / "source")
    return next((work / "dist").glob("physio_bench_example-*.whl"))


@pytest.fixture(scope="session")
def example_site(example_wheel, tmp_path_factory) -> Path:
    """A directory where pip installed the example distribution (entry point included)."""
    target = tmp_path_factory.mktemp("site")
    pip("install", "--no-deps", "--no-index", "-q", "--target", target, example_wheel)
    return target


@pytest.fixture(scope="session")
def child_python(example_wheel, tmp_path_factory) -> Path:
    """A second venv: its own site-packages with numpy (linked from ours: no network) and
    the example plug-in pip-installed, and nothing else."""
    venv = tmp_path_factory.mktemp("child") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    ours = Path(np.__file__).parent.parent
    for item in ours.iterdir():
        if item.name in ("numpy", "numpy.libs") or (
                item.name.startswith("numpy-") and item.name.endswith(".dist-info")):
            (purelib / item.name).symlink_to(item)
    pip("--python", python, "install", "--no-deps", "--no-index", "-q", example_wheel)
    return python


def make_config(models: dict, **embed: object) -> dict:
    config = load_config()
    config["models"] = models
    config["embed"].update({"shard_size": 3, "batch_size": 2, "token_layers": "all",
                            "token_dtype": "float32", **embed})
    return config


def embed_suite(config: dict, model: str, suite: Path, out: Path) -> dict:
    shards = [out / "shards" / f"{i:04d}.npz" for i in range(2)]
    for index, shard in enumerate(shards):
        embed_shard(config, model, suite, index, shard)
    return merge_embeddings(config, model, shards, out)


def direct_example(windows: np.ndarray, monkeypatch) -> dict:
    """The example model run in this process, imported from its source tree."""
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    from physio_bench_example import RandomProjectionModel

    return RandomProjectionModel(name="x", seed=load_config()["seed"],
                                 **EXAMPLE_OPTIONS).embed(windows, 100.0)


def test_third_party_plugin_is_discovered_and_embeds(example_site, make_suite, tmp_path,
                                                     monkeypatch) -> None:
    assert "example" not in available_plugins()
    monkeypatch.syspath_prepend(str(example_site))
    plugins = available_plugins()
    assert distribution_of(plugins["example"]) == ("physio-bench-example", "0.1.0")

    suite = make_suite("scenarios", n_windows=5, n_channels=2, n_samples=128)
    config = make_config({"proj": {"plugin": "example", **EXAMPLE_OPTIONS}})
    info = embed_suite(config, "proj", suite, tmp_path / "emb")
    stored = read_embeddings(tmp_path / "emb")
    expected = direct_example(np.load(suite / "signals.npy"), monkeypatch)
    assert stored.layer_names == ["projection", "output"] == stored.token_layers
    assert stored.pooled.shape == (2, 5, 4)
    for k, layer in enumerate(stored.layer_names):
        np.testing.assert_array_equal(stored.tokens(layer), expected["layers"][layer])
        np.testing.assert_allclose(stored.pooled[k], expected["layers"][layer].mean(axis=1),
                                   rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(stored.token_channels, [0] * 8 + [1] * 8)
    assert info["versions"]["physio-bench-example"] == "0.1.0"
    assert (info["plugin"], info["n_parameters"], info["pretrained"]) == ("example", 80, False)


def test_too_long_windows_are_embedded_in_chunks(example_site, make_suite, tmp_path,
                                                 monkeypatch) -> None:
    """A plug-in's max_window_samples is its context: the core feeds 256-sample windows to
    a 100-sample model as chunks [0, 56), [56, 156), [156, 256), spans in the window."""
    monkeypatch.syspath_prepend(str(example_site))
    suite = make_suite("factors", n_windows=5, n_samples=256)  # two shards of 3
    config = make_config({"proj": {"plugin": "example", "max_window_samples": 100,
                                   **EXAMPLE_OPTIONS}})
    info = embed_suite(config, "proj", suite, tmp_path / "emb")
    stored = read_embeddings(tmp_path / "emb")
    windows = np.load(suite / "signals.npy")
    parts = [direct_example(windows[..., a:b], monkeypatch) for a, b in
             ((0, 56), (56, 156), (156, 256))]
    for layer in ("projection", "output"):
        np.testing.assert_array_equal(stored.tokens(layer), np.concatenate(
            [p["layers"][layer] for p in parts], axis=1))
    # 16-sample patches of each chunk; the samples after a chunk's last whole patch are
    # left out, as the plug-in does for a whole window
    assert stored.token_spans.tolist() == [[0, 16], [16, 32], [32, 48]] + [
        [56 + 16 * k, 72 + 16 * k] for k in range(6)] + [[156 + 16 * k, 172 + 16 * k]
                                                         for k in range(6)]
    assert info["input"]["chunks"] == [[0, 56], [56, 156], [156, 256]]


def test_embed_settings_reach_plugins_that_take_them(example_site, make_suite, tmp_path,
                                                      monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(example_site))
    suite = make_suite("factors", n_windows=2, n_samples=64)
    config = make_config({"proj": {"plugin": "example"}}, device="cuda")
    with pytest.raises(ModelError, match=(
            r"^model 'proj': plug-in 'example' failed to build it: ValueError: model 'proj' "
            r"runs on cpu only, not on device 'cuda'$")):
        embed_shard(config, "proj", suite, 0, tmp_path / "x.npz")
    config["models"]["proj"]["device"] = "cpu"  # the model's own entry wins
    embed_shard(config, "proj", suite, 0, tmp_path / "x.npz")


def test_cli_lists_an_installed_third_party_plugin(example_site) -> None:
    env = {**os.environ, "PYTHONPATH": str(example_site)}
    done = subprocess.run([sys.executable, "-m", "physio_bench", "models"], env=env,
                          capture_output=True, text=True, check=True)
    line = next(ln for ln in done.stdout.splitlines() if ln.split()[0] == "example")
    assert line.endswith("physio_bench_example:RandomProjectionModel  "
                         "(physio-bench-example 0.1.0)")


def test_child_environment_has_different_packages(child_python) -> None:
    probe = ("import importlib.util, json; print(json.dumps({m: importlib.util.find_spec(m) "
             "is not None for m in ['physio_bench', 'torch', 'physio_bench_example', 'numpy']}))")
    done = subprocess.run([str(child_python), "-I", "-c", probe], capture_output=True,
                          text=True, check=True)
    assert json.loads(done.stdout) == {"physio_bench": False, "torch": False,
                                       "physio_bench_example": True, "numpy": True}
    with pytest.raises(PackageNotFoundError):  # and the plug-in is not installed here
        distribution("physio-bench-example")


def test_separate_interpreter_embeds_like_in_process(child_python, make_suite, tmp_path,
                                                     monkeypatch) -> None:
    suite = make_suite("scenarios", n_windows=5, n_channels=2, n_samples=128)
    config = make_config({"ext": {"plugin": "subprocess", "python": str(child_python),
                                  "plugin_name": "example", **EXAMPLE_OPTIONS}})
    info = embed_suite(config, "ext", suite, tmp_path / "emb")
    stored = read_embeddings(tmp_path / "emb")
    expected = direct_example(np.load(suite / "signals.npy"), monkeypatch)
    for layer in ("projection", "output"):
        np.testing.assert_array_equal(stored.tokens(layer), expected["layers"][layer])
    np.testing.assert_array_equal(stored.token_spans, expected["token_spans"])
    assert info["plugin"] == "subprocess"
    assert info["versions"]["worker:physio-bench-example"] == "0.1.0"
    assert info["extra"]["worker_prefix"] == str(child_python.parent.parent)
    assert info["extra"]["plugin_name"] == "example"


def test_worker_stops_and_cleans_up(child_python) -> None:
    with SubprocessModel(name="ext", seed=1, python=str(child_python), plugin_name="example",
                         **EXAMPLE_OPTIONS) as model:
        result = model.embed(np.ones((3, 1, 40), np.float32), 100.0)
        assert result.layers["output"].shape == (3, 2, 4)
        assert model.describe().layer_names == ["projection", "output"]
        workdir, process = model._workdir, model._process
        assert sorted(p.name for p in workdir.iterdir()) == ["stderr.log"]
    assert process.poll() == 0 and not workdir.exists()


def test_plugin_missing_in_child_environment(child_python) -> None:
    with pytest.raises(ModelError, match=(
            r"^model 'ext': plug-in 'nope' in .*/bin/python failed: LookupError: plug-in "
            r"'nope' is not installed in .*: installed plug-ins are example; pip install it")):
        SubprocessModel(name="ext", python=str(child_python), plugin_name="nope")


def test_child_crash_reports_last_stderr_line(tmp_path) -> None:
    bare = tmp_path / "bare"  # a venv without numpy: the worker cannot even start
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    with pytest.raises(ModelError, match=(
            r"^model 'ext': plug-in worker in .*/bare/bin/python exited with code 1: "
            r"ModuleNotFoundError: No module named 'numpy'$")):
        SubprocessModel(name="ext", python=str(bare / "bin" / "python"), plugin_name="example")


def test_moment_plugin_declares_its_entry_point() -> None:
    project = tomllib.loads((MOMENT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["physio_bench.models"] == {
        "moment": "physio_bench_moment:MomentModel"}
    assert any(dep.startswith("momentfm") for dep in project["dependencies"])
    readme = (MOMENT / "README.md").read_text()
    assert "plugin: subprocess" in readme and "plugin_name: moment" in readme


def test_moment_window_preparation(monkeypatch) -> None:
    """MOMENT sees a patch only when all 8 samples are observed: a half-padded patch is
    never a token, and spans cover fully observed window samples only."""
    monkeypatch.syspath_prepend(str(MOMENT / "src"))
    from physio_bench_moment.prepare import InputError as MomentInputError
    from physio_bench_moment.prepare import prepare_windows

    full = prepare_windows(np.ones((2, 3, 512), np.float32), input_samples=512, patch=8)
    assert full.values.shape == (2, 3, 512) and full.mask.all()
    assert full.token_patches.tolist() == list(range(64))
    np.testing.assert_array_equal(full.spans[:2], [[0, 8], [8, 16]])
    short = prepare_windows(np.arange(300, dtype=np.float32)[None, None], 512, 8)
    assert int(short.mask.sum()) == 300
    assert short.values[0, 0, 212] == 0.0 and short.values[0, 0, -1] == 299.0
    # padded samples 208..215 hold window samples 0..3: patch 26 is half padded, so MOMENT
    # masks it; the first token is patch 27, samples 4..11
    assert short.token_patches[0] == 27 and short.token_patches.size == 37
    np.testing.assert_array_equal(short.spans[:2], [[4, 12], [12, 20]])
    assert short.spans[-1].tolist() == [292, 300]
    assert (short.spans[:, 1] - short.spans[:, 0] == 8).all() and short.spans.min() >= 0
    with pytest.raises(MomentInputError, match="longer than MOMENT's input of 512"):
        prepare_windows(np.ones((1, 1, 2048), np.float32), 512, 8)
