"""The embed stage: one model, one shard of a suite's windows -> token and pooled arrays.

``embed_shard`` checks the input (finite values) before the model runs, embeds the shard
batch by batch, validates every batch's shapes, mean-pools every layer centrally
(:mod:`physio_bench.models.pooling`) and writes an uncompressed ``.npz`` plus a ``.json``
sidecar (timings, model description). ``merge_embeddings`` joins a model's shards of one
suite into the embedding directory read by :func:`physio_bench.models.store.read_embeddings`.

Input adaptation (:mod:`physio_bench.models.resampling`): each batch is resampled from the
suite's rate to the model's input rate (the entry's ``input_hz``, else the plug-in's
``ModelInfo.default_input_hz``, else the suite's rate), cut into consecutive chunks when
it is longer than the model's context (``model.context_samples(n_channels)`` when the
plug-in has it, else ``ModelInfo.max_window_samples``) by the one rule of
:mod:`physio_bench.models.context` (no chunk under half the context; a short remainder is
an overlapped full context whose later tokens are dropped), and the token spans the model
returns are mapped back to samples of the original window. Chunks of equal length go to
the model in one ``embed()`` call; tokens are ordered by channel, then chunk, then the
model's own order. ``model.json`` records the plan (``input``) and the token geometry
(``tokens``: tokens per channel, patch duration and stride in seconds).

Pooled arrays: ``pooled`` is the mean over all tokens; when a suite has several channels
and every token belongs to one channel, ``pooled_by_channel`` (layers x windows x
(channels * dim)) concatenates the per-channel means in channel order, so that
channel-independent models do not mix ECG, PPG, RSP, EDA and EMG features.

Shard ``i`` holds windows ``[i * shard_size, (i + 1) * shard_size)`` (``shard_size``: the
model entry's, else ``embed.shard_size``). Models see one
batch (``embed.batch_size`` windows) per ``embed()`` call. Settings of the ``embed:``
section that a plug-in's factory names as explicit keyword parameters (``device``,
``dtype``) are passed to it unless the model's config entry sets them itself.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.config import model_entry, model_seed
from physio_bench.errors import InputError, ModelError, PhysioBenchError
from physio_bench.io import load_npy, read_json, save_npy, save_npz, write_json
from physio_bench.models.context import kept_tokens
from physio_bench.models.pooling import pool_by_channel, pool_layers, select_token_layers
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings
from physio_bench.models.registry import (
    available_plugins,
    distribution_of,
    first_line,
    load_factory,
    load_model,
)
from physio_bench.models.resampling import InputPlan, map_spans_back, resample, token_geometry

EMBED_SETTINGS_FOR_PLUGINS = ("device", "dtype")
LAYER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


# ----------------------------------------------------------------------------- input

def model_options(config: dict[str, Any], model_name: str) -> dict[str, Any]:
    """The config entry of ``model_name`` or of one of its seed instances (``ModelError``
    listing the configured ones)."""
    try:
        return dict(model_entry(config, model_name))
    except KeyError:
        raise ModelError(
            f"unknown model {model_name!r}: configured models are "
            f"{', '.join(config['models'])}; add it under models: in the config"
        ) from None


def suite_name(suite_dir: str | Path, meta: dict[str, Any]) -> str:
    return str(meta.get("suite") or Path(suite_dir).name)


def shard_bounds(shard_index: int, shard_size: int, n_windows: int, suite: str) -> tuple[int, int]:
    """``[start, stop)`` window indices of shard ``shard_index``."""
    start = shard_index * shard_size
    if n_windows == 0:
        raise InputError(f"suite {suite!r} has no windows: rerun the stage that writes it")
    if shard_index < 0 or start >= n_windows:
        n_shards = -(-n_windows // shard_size)
        raise InputError(
            f"suite {suite!r} has {n_windows} windows, i.e. shards 0..{n_shards - 1} of "
            f"{shard_size}: shard {shard_index} does not exist; check embed.shard_size"
        )
    return start, min(start + shard_size, n_windows)


INPUT_NORMALISATIONS = ("none", "robust_z")


def normalise_windows(windows: np.ndarray, method: str) -> np.ndarray:
    """The windows a model sees (windows x channels x samples, float32), the same for every
    suite, simulated or real.

    ``none``: unchanged (signals keep their units: mV, litres, BIDMC's 0-1 scaling).
    ``robust_z``: per window and channel, minus the median, divided by the interquartile
    range / 1.349 (the standard deviation of a Gaussian with that IQR); a channel with
    zero IQR is divided by its standard deviation, or left at 0 when constant. Units and
    offsets vanish, so a simulated ECG in mV and a BIDMC ECG scaled to 0-1 reach the model
    on equal terms.
    """
    if method == "none":
        return windows
    if method != "robust_z":
        raise InputError(f"embed.input_normalisation must be one of "
                         f"{', '.join(INPUT_NORMALISATIONS)}, not {method!r}")
    x = np.asarray(windows, dtype=np.float64)
    median = np.median(x, axis=-1, keepdims=True)
    q75, q25 = np.percentile(x, [75, 25], axis=-1, keepdims=True)
    scale = (q75 - q25) / 1.349
    sd = x.std(axis=-1, keepdims=True)
    scale = np.where(scale > 0, scale, np.where(sd > 0, sd, 1.0))
    return ((x - median) / scale).astype(np.float32)


def check_finite(signals: np.ndarray, start: int, stop: int, suite: str,
                 chunk: int = 256) -> None:
    """Raise ``InputError`` naming the first window in ``[start, stop)`` with NaN or inf."""
    for first in range(start, stop, chunk):
        part = np.asarray(signals[first:min(first + chunk, stop)])
        bad = ~np.isfinite(part).reshape(part.shape[0], -1).all(axis=1)
        if bad.any():
            window = first + int(np.argmax(bad))
            raise InputError(
                f"suite {suite!r}: window {window} contains NaN or infinite values: drop or "
                "interpolate it before embedding (real data: see downstream.max_gap_s)"
            )


def context_samples(model: Any, info: ModelInfo, n_channels: int) -> int | None:
    """The model's context in samples at its input rate, for windows of ``n_channels``.

    ``model.context_samples(n_channels)`` when the plug-in defines it (Moirai: its token
    budget is shared by all channels), else ``ModelInfo.max_window_samples`` (None: any).
    """
    method = getattr(model, "context_samples", None)
    value = method(n_channels) if callable(method) else info.max_window_samples
    if value is not None and (isinstance(value, bool) or int(value) < 1):
        raise ModelError(f"model {info.name!r}: context of {value} samples for {n_channels} "
                         "channel(s): fix the plug-in")
    return None if value is None else int(value)


def input_plan(options: dict[str, Any], info: ModelInfo, model: Any, shape: tuple[int, int],
               sampling_rate_hz: float) -> InputPlan:
    """How windows (channels x samples at ``sampling_rate_hz``) reach the model.

    ``input_hz`` of the config entry wins over the plug-in's ``default_input_hz``; the
    entry's ``context_s`` (seconds) caps the context, so windows arrive in chunks of at most
    that many seconds (the sensitivity study's context axis).
    """
    n_channels, n_samples = shape
    if options.get("input_hz") is not None:
        rate, source = float(options["input_hz"]), "config"
    elif info.default_input_hz is not None:
        rate, source = float(info.default_input_hz), "plug-in default"
    else:
        rate, source = None, "suite rate"
    context = context_samples(model, info, n_channels)
    if options.get("context_s") is not None:  # seconds of signal per model input
        at_hz = rate if rate is not None else sampling_rate_hz
        cap = max(round(float(options["context_s"]) * at_hz), 1)
        context = cap if context is None else min(context, cap)
    return InputPlan.build(sampling_rate_hz, n_samples, rate, source, context,
                           what=f"config key 'models.{info.name}.input_hz'")


def _embed_settings(config: dict[str, Any], options: dict[str, Any],
                    model_name: str) -> dict[str, Any]:
    """``embed.device``/``embed.dtype`` for factories that name them explicitly."""
    try:
        parameters = inspect.signature(load_factory(model_name, options)).parameters
    except (TypeError, ValueError):
        return {}
    return {key: config["embed"][key] for key in EMBED_SETTINGS_FOR_PLUGINS
            if key in parameters and key not in options and key in config["embed"]}


# ---------------------------------------------------------------------------- output

def check_result(result: TokenEmbeddings, info: ModelInfo, n_windows: int,
                 shape: tuple[int, int]) -> None:
    """Raise ``ModelError`` when a plug-in's output breaks the protocol."""
    n_channels, n_samples = shape
    try:
        result.validate(n_windows)
    except ValueError as exc:
        raise ModelError(f"model {info.name!r} broke the protocol: {exc}") from None
    if list(result.layers) != list(info.layer_names):
        raise ModelError(f"model {info.name!r} returned layers {list(result.layers)}, but "
                         f"describe() says {info.layer_names}: fix the plug-in")
    dims = {array.shape[2] for array in result.layers.values()}
    if len(dims) != 1:
        raise ModelError(f"model {info.name!r}: all layers must have the same dim for "
                         f"pooled.npy, got {sorted(dims)}")
    spans, channels = result.token_spans, result.token_channels
    if (spans[:, 0] < 0).any() or (spans[:, 1] > n_samples).any() or (
            spans[:, 0] >= spans[:, 1]).any():
        raise ModelError(f"model {info.name!r}: token spans must satisfy 0 <= start < stop <= "
                         f"{n_samples}")
    if ((channels < -1) | (channels >= n_channels)).any():
        raise ModelError(f"model {info.name!r}: token channels must lie in -1..{n_channels - 1}")
    for name, array in result.layers.items():
        finite = np.isfinite(array).reshape(n_windows, -1).all(axis=1)
        if not finite.all():
            raise ModelError(f"model {info.name!r} returned NaN or infinite values in layer "
                             f"{name!r} for window {int(np.argmin(finite))} of a batch")


def _versions(options: dict[str, Any], info: ModelInfo) -> dict[str, str]:
    found: dict[str, str] = {"python": platform.python_version()}
    for package in ("physio-bench", "numpy", "torch"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    entry_point = available_plugins().get(options["plugin"])
    if entry_point is not None:
        dist, dist_version = distribution_of(entry_point)
        found[dist] = dist_version
    return {**found, **{str(k): str(v) for k, v in info.versions.items()}}


def sidecar_path(shard_path: str | Path) -> Path:
    """The ``.json`` written next to a shard's ``.npz``."""
    return Path(shard_path).with_suffix(".json")


# ------------------------------------------------------------------------------ run

def _storable(array: np.ndarray, token_dtype: str, model: str, layer: str) -> np.ndarray:
    """``array`` as ``token_dtype``; ``ModelError`` instead of silent overflow to inf."""
    limit = float(np.finfo(token_dtype).max)
    peak = float(np.abs(array).max()) if array.size else 0.0
    if peak > limit:
        raise ModelError(f"model {model!r}: layer {layer!r} has values up to {peak:.3g}, beyond "
                         f"{token_dtype} storage: set embed.token_dtype: float32")
    return array.astype(token_dtype)


def _call_model(model: Any, info: ModelInfo, windows: np.ndarray, rate_hz: float,
                first: int) -> TokenEmbeddings:
    """One ``embed()`` call, its output checked against the protocol."""
    try:
        output = model.embed(windows, rate_hz)
    except PhysioBenchError:
        raise
    except Exception as exc:
        raise ModelError(f"model {info.name!r} failed on windows {first}.."
                         f"{first + windows.shape[0] - 1} of the shard: "
                         f"{type(exc).__name__}: {first_line(exc)}") from exc
    try:
        result = TokenEmbeddings.from_any(output)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model {info.name!r} returned no TokenEmbeddings: "
                         f"{type(exc).__name__}: {first_line(exc)}") from exc
    check_result(result, info, windows.shape[0], windows.shape[1:])
    return result


def embed_batch(model: Any, info: ModelInfo, batch: np.ndarray, plan: InputPlan,
                first: int = 0) -> tuple[TokenEmbeddings, np.ndarray]:
    """Embed one batch of original windows through ``plan`` (resample, chunk, stitch).

    Returns:
        The tokens with spans in samples of the *original* windows, and the same spans in
        samples at the input rate (for the token geometry in ``model.json``).
    """
    windows = resample(batch, plan.up, plan.down) if plan.resampled else np.array(
        batch, dtype=np.float32)  # writable, float32
    bounds = plan.chunk_bounds
    n_batch = windows.shape[0]
    by_length: dict[int, list[int]] = {}
    for j, (a, b) in enumerate(bounds):
        by_length.setdefault(b - a, []).append(j)
    parts: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray] | None] = [None] * len(
        bounds)
    for chunks in by_length.values():
        stacked = np.concatenate([windows[..., bounds[j][0]:bounds[j][1]] for j in chunks])
        result = _call_model(model, info, np.ascontiguousarray(stacked), plan.input_hz, first)
        for k, j in enumerate(chunks):
            rows = slice(k * n_batch, (k + 1) * n_batch)
            keep = kept_tokens(result.token_spans[:, 0], plan.chunks[j])
            parts[j] = ({name: array[rows][:, keep] for name, array in result.layers.items()},
                        result.token_spans[keep] + bounds[j][0], result.token_channels[keep])
    if len(parts) == 1:
        layers, spans, channels = parts[0]
    else:
        spans = np.concatenate([p[1] for p in parts])
        channels = np.concatenate([p[2] for p in parts])
        chunk = np.concatenate([np.full(len(p[2]), j) for j, p in enumerate(parts)])
        position = np.concatenate([np.arange(len(p[2])) for p in parts])
        order = np.lexsort((position, chunk, channels))
        spans, channels = spans[order], channels[order]
        layers = {name: np.concatenate([p[0][name] for p in parts], axis=1)[:, order]
                  for name in info.layer_names}
    original = map_spans_back(spans, plan.up, plan.down, plan.n_samples)
    return TokenEmbeddings(layers, original, channels), spans


def run_model(model: Any, info: ModelInfo, windows: np.ndarray, plan: InputPlan,
              batch_size: int, token_layers: Sequence[str], token_dtype: str,
              desc: str = "") -> dict[str, np.ndarray]:
    """Embed ``windows`` batch by batch through ``plan``; return pooled (layers x windows
    x dim), ``pooled_by_channel`` (multichannel suites with per-channel tokens), kept
    tokens (``tokens_{k}``, windows x tokens x dim), ``token_spans`` (original samples),
    ``input_token_spans`` (samples at the input rate) and ``token_channels``."""
    from tqdm import tqdm

    n_windows, n_channels, _ = windows.shape
    pooled = by_channel = tokens = spans = input_spans = channels = None
    with tqdm(total=n_windows, desc=desc, unit="win", file=sys.stderr, disable=None) as bar:
        for start in range(0, n_windows, batch_size):
            batch = np.asarray(windows[start:start + batch_size], dtype=np.float32)
            result, at_input = embed_batch(model, info, batch, plan, start)
            if spans is None:
                spans, channels, input_spans = result.token_spans, result.token_channels, at_input
                dim = next(iter(result.layers.values())).shape[2]
                pooled = np.empty((len(info.layer_names), n_windows, dim), dtype=np.float32)
                if n_channels > 1 and set(channels.tolist()) == set(range(n_channels)):
                    by_channel = np.empty((len(info.layer_names), n_windows, n_channels * dim),
                                          dtype=np.float32)
                tokens = {k: np.empty((n_windows, spans.shape[0], dim), dtype=token_dtype)
                          for k in token_layers}
            elif not (np.array_equal(spans, result.token_spans)
                      and np.array_equal(channels, result.token_channels)):
                raise ModelError(f"model {info.name!r} returned different token spans for "
                                 "windows of the same shape: fix the plug-in")
            stop = start + batch.shape[0]
            pooled[:, start:stop] = pool_layers(result.layers, info.layer_names)
            if by_channel is not None:
                by_channel[:, start:stop] = pool_by_channel(result.layers, info.layer_names,
                                                            channels, n_channels)
            for layer in token_layers:
                tokens[layer][start:stop] = _storable(result.layers[layer], token_dtype,
                                                      info.name, layer)
            bar.update(batch.shape[0])
    arrays = {"pooled": pooled, "token_spans": spans, "token_channels": channels,
              "input_token_spans": input_spans}
    if by_channel is not None:
        arrays["pooled_by_channel"] = by_channel
    arrays.update({f"tokens_{k}": tokens[layer] for k, layer in enumerate(token_layers)})
    return arrays


def embed_shard(config: dict[str, Any], model_name: str, suite_dir: str | Path,
                shard_index: int, out_path: str | Path) -> dict[str, Any]:
    """Embed shard ``shard_index`` of the suite in ``suite_dir`` with ``model_name``.

    Writes ``out_path`` (``.npz``) and its ``.json`` sidecar; returns the sidecar's content.

    Raises:
        ModelError: unknown model or plug-in, or a plug-in that breaks the protocol.
        InputError: a missing shard or NaN/inf windows (before the model runs).
        ConfigError: an ``input_hz`` without a small exact ratio to the suite's rate.
    """
    options = model_options(config, model_name)
    suite_dir = Path(suite_dir)
    if not (suite_dir / "signals.npy").exists():
        raise InputError(f"no suite at {suite_dir} (signals.npy missing): run the simulate "
                         "stage first or fix --suite-dir")
    meta = read_json(suite_dir / "meta.json")
    suite = suite_name(suite_dir, meta)
    signals = load_npy(suite_dir / "signals.npy")
    if signals.ndim != 3:
        raise InputError(f"suite {suite!r}: signals.npy must be windows x channels x samples")
    embed_config = config["embed"]
    shard_size = int(options.get("shard_size", embed_config["shard_size"]))  # entry's wins
    start, stop = shard_bounds(int(shard_index), shard_size, signals.shape[0], suite)
    check_finite(signals, start, stop, suite)

    began = time.perf_counter()
    settings = _embed_settings(config, options, model_name)
    model = load_model(model_name, {**options, **settings}, seed=model_seed(config, model_name))
    try:
        try:
            info = ModelInfo.from_any(model.describe())
        except (TypeError, ValueError) as exc:
            raise ModelError(f"model {model_name!r}: describe() did not return a ModelInfo: "
                             f"{first_line(exc)}") from exc
        if not info.layer_names or not all(LAYER_NAME.match(n) for n in info.layer_names):
            raise ModelError(f"model {model_name!r}: layer names {info.layer_names} must be "
                             "non-empty and use only letters, digits, '_', '.', '-'")
        plan = input_plan(options, info, model, signals.shape[1:],
                          float(meta["sampling_rate_hz"]))
        kept = select_token_layers(embed_config["token_layers"], info.layer_names, model_name)
        loaded, cpu_loaded = time.perf_counter(), time.process_time()
        windows = normalise_windows(signals[start:stop],
                                    str(embed_config.get("input_normalisation", "none")))
        arrays = run_model(model, info, windows, plan,
                           int(embed_config["batch_size"]), kept, embed_config["token_dtype"],
                           desc=f"{model_name} {suite} shard {int(shard_index)}")
        done, cpu_done = time.perf_counter(), time.process_time()
    finally:
        close = getattr(model, "close", None)
        if callable(close):
            close()
    arrays.update(window_ids=np.arange(start, stop, dtype=np.int64),
                  layer_names=np.array(info.layer_names), token_layers=np.array(kept))
    out_path = Path(out_path)
    save_npz(out_path, arrays)
    sidecar = {
        "model": model_name, "plugin": options["plugin"], "suite": suite,
        "shard": int(shard_index), "window_start": start, "window_stop": stop,
        "n_windows": stop - start, "load_s": loaded - began, "embed_s": done - loaded,
        "embed_cpu_s": cpu_done - cpu_loaded,
        "windows_per_second": (stop - start) / max(done - loaded, 1e-9),
        "sampling_rate_hz": float(meta["sampling_rate_hz"]),
        "token_dtype": embed_config["token_dtype"], "token_layers": kept,
        "input": plan.describe(),
        "tokens": token_geometry(arrays["input_token_spans"], arrays["token_channels"],
                                 plan.input_hz),
        "versions": _versions(options, info), "info": info.to_dict(),
    }
    write_json(sidecar_path(out_path), sidecar)
    return sidecar


# ---------------------------------------------------------------------------- merge

def _read_shard(path: Path) -> tuple[Any, dict[str, Any]]:
    if not path.exists() or not sidecar_path(path).exists():
        raise InputError(f"embedding shard {path} or its .json sidecar is missing: rerun "
                         "physio-bench embed for it")
    return np.load(path, allow_pickle=False), read_json(sidecar_path(path))


def _check_shards(shards: list[tuple[Any, dict[str, Any]]], model_name: str) -> None:
    first, first_meta = shards[0]
    expected = 0
    for npz, meta in shards:
        if meta["model"] != model_name:
            raise InputError(f"shard of model {meta['model']!r} given to merge {model_name!r}")
        if int(meta["window_start"]) != expected:
            raise InputError(
                f"shards of model {model_name!r} on suite {meta['suite']!r} do not cover the "
                f"windows contiguously: expected a shard starting at window {expected}, got "
                f"{meta['window_start']}; pass every shard once")
        expected = int(meta["window_stop"])
        for key in ("layer_names", "token_layers", "token_spans", "token_channels"):
            if not np.array_equal(npz[key], first[key]):
                raise InputError(f"shards of model {model_name!r} disagree on {key}: rerun "
                                 "their embed jobs with the same config")
        if ("pooled_by_channel" in npz.files) != ("pooled_by_channel" in first.files) or (
                meta.get("input") != first_meta.get("input")):
            raise InputError(f"shards of model {model_name!r} disagree on their input plan: "
                             "rerun their embed jobs with the same config")
        if meta["suite"] != first_meta["suite"] or meta["token_dtype"] != first_meta[
                "token_dtype"]:
            raise InputError(f"shards of model {model_name!r} come from different suites or "
                             "configs: rerun their embed jobs")


def _write_tokens(path: Path, parts: list[np.ndarray]) -> None:
    """Concatenate ``parts`` along windows into ``path`` (atomic, via a memory map)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (sum(p.shape[0] for p in parts), *parts[0].shape[1:])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npy")
    os.close(fd)
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=parts[0].dtype, shape=shape)
        row = 0
        for part in parts:
            out[row:row + part.shape[0]] = part
            row += part.shape[0]
        out.flush()
        del out
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def merge_embeddings(config: dict[str, Any], model_name: str,
                     shard_paths: Sequence[str | Path], out_dir: str | Path) -> dict[str, Any]:
    """Join the shards of one (model, suite) into ``out_dir``; return ``model.json``.

    Writes ``pooled.npy``, ``pooled_by_channel.npy`` (when the shards have it),
    ``tokens/{layer}.npy``, ``token_spans.npy``, ``token_channels.npy`` and, last,
    ``model.json`` (all atomically).
    """
    options = model_options(config, model_name)
    if not shard_paths:
        raise InputError(f"no shards given to merge for model {model_name!r}")
    shards = [_read_shard(Path(p)) for p in shard_paths]
    shards.sort(key=lambda s: int(s[1]["window_start"]))
    _check_shards(shards, model_name)
    out_dir = Path(out_dir)
    first, meta = shards[0]
    layer_names = [str(n) for n in first["layer_names"]]
    kept = [str(n) for n in first["token_layers"]]
    save_npy(out_dir / "pooled.npy", np.concatenate([s[0]["pooled"] for s in shards], axis=1))
    by_channel = out_dir / "pooled_by_channel.npy"
    if "pooled_by_channel" in first.files:
        save_npy(by_channel, np.concatenate([s[0]["pooled_by_channel"] for s in shards], axis=1))
    else:
        by_channel.unlink(missing_ok=True)
    save_npy(out_dir / "token_spans.npy", first["token_spans"])
    save_npy(out_dir / "token_channels.npy", first["token_channels"])
    for k, layer in enumerate(kept):
        _write_tokens(out_dir / "tokens" / f"{layer}.npy", [s[0][f"tokens_{k}"] for s in shards])
    for stale in (out_dir / "tokens").glob("*.npy"):
        if stale.stem not in kept:
            stale.unlink()
    info = meta["info"]
    n_windows = sum(int(s[1]["n_windows"]) for s in shards)
    embed_s = sum(float(s[1]["embed_s"]) for s in shards)
    description = f"{info['architecture']}; weights: {info['weights_source']}"
    if not info["pretrained"]:
        description += " (untrained)"
    model_json = {
        "name": model_name, "plugin": options["plugin"], "suite": meta["suite"],
        "layer_names": layer_names, "token_layers": kept,
        "pretrained": bool(info["pretrained"]), "weights_source": info["weights_source"],
        "weights_sha256": info.get("weights_sha256"), "n_parameters": info["n_parameters"],
        "versions": meta["versions"], "device": info.get("device", "cpu"),
        "dtype": info.get("dtype", "float32"),
        "wall_time_s": sum(float(s[1]["load_s"]) + float(s[1]["embed_s"]) for s in shards),
        "windows_per_second": n_windows / max(embed_s, 1e-9),
        "embed_cpu_s": sum(float(s[1].get("embed_cpu_s", "nan")) for s in shards),
        "description": description, "architecture": info["architecture"],
        "n_windows": n_windows, "n_tokens": int(first["token_spans"].shape[0]),
        "dim": int(first["pooled"].shape[2]), "token_dtype": meta["token_dtype"],
        "sampling_rate_hz": meta["sampling_rate_hz"], "n_shards": len(shards),
        "max_window_samples": info.get("max_window_samples"),
        "default_input_hz": info.get("default_input_hz"),
        "input": meta["input"], "tokens": meta["tokens"],
        "pooled_by_channel": "pooled_by_channel" in first.files,
        "tf32": info.get("extra", {}).get("tf32", "not applicable (no torch model)"),
        "extra": info.get("extra", {}),
    }
    write_json(out_dir / "model.json", model_json)
    for npz, _ in shards:
        npz.close()
    return model_json
