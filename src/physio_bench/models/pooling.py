"""Central pooling of token embeddings and the choice of layers whose tokens are kept.

Plug-ins never pool: the embed stage turns every layer's tokens (windows x tokens x dim)
into one vector per window here, so that all models are pooled the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from physio_bench.errors import ConfigError


def mean_pool(tokens: np.ndarray) -> np.ndarray:
    """Mean over the token axis: windows x tokens x dim -> windows x dim (float32).

    The sum runs in float64 so the result does not depend on how windows are batched.
    """
    if tokens.ndim != 3:
        raise ValueError(f"tokens must be windows x tokens x dim, got shape {tokens.shape}")
    return tokens.mean(axis=1, dtype=np.float64).astype(np.float32)


def pool_layers(layers: dict[str, np.ndarray], layer_names: Sequence[str]) -> np.ndarray:
    """Stack the mean-pooled layers in ``layer_names`` order: layers x windows x dim."""
    return np.stack([mean_pool(layers[name]) for name in layer_names], axis=0)


def pool_by_channel(layers: dict[str, np.ndarray], layer_names: Sequence[str],
                    channels: np.ndarray, n_channels: int) -> np.ndarray:
    """Per-channel means concatenated in channel order: layers x windows x (channels * dim).

    For channel-independent models (Chronos-Bolt, Mantis, MOMENT) the mean over all
    tokens mixes the features of different signals; this keeps them apart. Every channel
    ``0..n_channels-1`` must own at least one token (and no token may be ``-1``).
    """
    channels = np.asarray(channels)
    groups = [np.flatnonzero(channels == c) for c in range(n_channels)]
    if any(g.size == 0 for g in groups) or len(channels) != sum(g.size for g in groups):
        raise ValueError("every token must belong to one of the channels, each with a token")
    return np.stack([
        np.concatenate([mean_pool(layers[name][:, g]) for g in groups], axis=1)
        for name in layer_names], axis=0)


def select_token_layers(token_layers: str | Sequence[str], layer_names: Sequence[str],
                        model_name: str = "model") -> list[str]:
    """Resolve ``embed.token_layers`` (``last``, ``all`` or a list of names) for one model.

    A list applies to every model: each keeps the named layers it has (in its own
    shallow-to-deep order).

    Raises:
        ConfigError: a list that names none of the model's layers.
    """
    if token_layers == "last":
        return [layer_names[-1]]
    if token_layers == "all":
        return list(layer_names)
    kept = [name for name in layer_names if name in set(token_layers)]
    if not kept:
        raise ConfigError(
            f"config key 'embed.token_layers' names none of the layers of model "
            f"{model_name!r}: use last, all, or add some of {', '.join(layer_names)}"
        )
    return kept
