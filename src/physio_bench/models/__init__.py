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

__all__ = ["EmbeddingModel", "ModelInfo", "TokenEmbeddings", "embed_shard", "merge_embeddings"]


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
