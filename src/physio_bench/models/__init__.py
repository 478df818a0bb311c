"""The models stage: model plug-ins, the embed stage and the embedding store.

Light on purpose (no torch, no neurokit2 at import): ``physio_bench.models.protocol``
defines what a plug-in is, ``registry`` finds plug-ins by entry point, ``embed`` runs
them on a suite, ``store`` reads the results. How to write a plug-in: plugins/README.md.
"""

from physio_bench.models.protocol import EmbeddingModel, ModelInfo, TokenEmbeddings

__all__ = ["EmbeddingModel", "ModelInfo", "TokenEmbeddings"]
