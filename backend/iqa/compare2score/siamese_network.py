"""The siamese comparator network (``siamese``; paper 001 Sec. 3.3's five-level answer, offline) in torch.

Each image's no-reference statistics (``features.FEATURE_NAMES``) are standardised with the training set's
mean and spread (buffers ``feature_mean`` / ``feature_scale``, saved with the weights), a shared MLP
encoder maps them to an embedding, and a comparison head reads ``[e1, e2, e2 - e1, e1 * e2]``. The head is
exactly antisymmetric: ``logits(x1, x2) = h(e1, e2) + reverse(h(e2, e1))`` with ``reverse`` swapping
inferior<->superior and worse<->better, so swapping the images swaps the levels and ``P(a, a) = 0.5``.

``SiameseConfig`` is a frozen :class:`backend.weights.Config` (``max_side``, the resolution the statistics
are measured at, travels with the network because the weights were trained at it);
:func:`backend.weights.save` writes it into the weights' metadata and :func:`backend.weights.load` rebuilds
:class:`SiameseNet` from it. This module imports torch; ``siamese`` imports it lazily.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from backend.iqa.compare2score.features import FEATURE_NAMES
from backend.weights import Config


@dataclass(frozen=True)
class SiameseConfig(Config):
    n_features: int = len(FEATURE_NAMES)
    hidden: int = 32
    embedding: int = 32
    dropout: float = 0.3
    max_side: int = 384  # images are downscaled so that the longer side is at most this before measuring


class SiameseNet(nn.Module):
    """Shared statistics encoder + antisymmetric comparison head (module docstring)."""

    config_class = SiameseConfig

    def __init__(self, config: SiameseConfig):
        super().__init__()
        self.config = config
        n, hidden, embedding, dropout = config.n_features, config.hidden, config.embedding, config.dropout
        self.register_buffer("feature_mean", torch.zeros(n))
        self.register_buffer("feature_scale", torch.ones(n))
        self.encoder = nn.Sequential(nn.Linear(n, hidden), nn.ReLU(), nn.Dropout(dropout),
                                     nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, embedding))
        self.head = nn.Sequential(nn.Linear(4 * embedding, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 5))

    def embed(self, features: torch.Tensor) -> torch.Tensor:
        """(B, n_features) raw statistics -> (B, embedding)."""
        return self.encoder((features - self.feature_mean) / self.feature_scale)

    def half_logits(self, e1: torch.Tensor, e2: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([e1, e2, e2 - e1, e1 * e2], dim=1))

    def compare_embeddings(self, e1: torch.Tensor, e2: torch.Tensor) -> torch.Tensor:
        """Antisymmetric level logits of the second image relative to the first."""
        return self.half_logits(e1, e2) + self.half_logits(e2, e1).flip(-1)

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return self.compare_embeddings(self.embed(first), self.embed(second))
