"""The models stage: model plug-ins, the embed stage and the embedding store.

Light on purpose (no torch, no neurokit2 at import): ``physio_bench.models.protocol``
defines what a plug-in is, ``registry`` finds plug-ins by entry point, ``embed`` runs
them on a suite, ``store`` reads the results. How to write a plug-in: plugins/README.md.
Other stages call the embed stage through :func:`embed_shard` and :func:`merge_embeddings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from physio_bench.models.protocol import EmbeddingModel, ModelInfo, TokenEmbeddings

__all__ = [
    "CHECKPOINT_FILES", "MOIRAI_SIZES", "EmbeddingModel", "ModelInfo", "TokenEmbeddings",
    "build_moirai", "embed_shard", "load_model", "load_moirai", "load_weights", "merge_embeddings",
    "moirai_size_of", "parse_weights",
]

#: Public names for stages that build or train models (the finetune stage), imported on
#: first use so that importing this package stays cheap: name -> (module, attribute).
_LAZY = {
    "CHECKPOINT_FILES": ("physio_bench.models.weights", "CHECKPOINT_FILES"),
    "MOIRAI_SIZES": ("physio_bench.models.moirai", "SIZES"),
    "build_moirai": ("physio_bench.models.moirai", "build_module"),
    "load_moirai": ("physio_bench.models.moirai", "load_module"),
    "moirai_size_of": ("physio_bench.models.moirai", "size_of"),
    "load_weights": ("physio_bench.models.weights", "load_weights"),
    # a configured model instance, built as the embed stage builds it (forecast stage)
    "load_model": ("physio_bench.models.registry", "load_model"),
    "parse_weights": ("physio_bench.models.weights", "parse_weights"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'physio_bench.models' has no attribute {name!r}")
    import importlib

    module, attribute = _LAZY[name]
    return getattr(importlib.import_module(module), attribute)


def embed_shard(config: dict[str, Any], model_name: str, suite_dir: str | Path,
                shard_index: int, out_path: str | Path) -> dict[str, Any]:
    """See :func:`physio_bench.models.embed.embed_shard`."""
    from physio_bench.models.embed import embed_shard as _embed_shard

    return _embed_shard(config, model_name, suite_dir, shard_index, out_path)


def merge_embeddings(config: dict[str, Any], model_name: str, shard_paths: Any,
                     out_dir: str | Path) -> dict[str, Any]:
    """See :func:`physio_bench.models.embed.merge_embeddings`."""
    from physio_bench.models.embed import merge_embeddings as _merge_embeddings

    return _merge_embeddings(config, model_name, shard_paths, out_dir)
