"""Embedders: one small interface, several backends."""

from comptoir.embedding.base import Embedder
from comptoir.embedding.factory import build_embedder

__all__ = ["Embedder", "build_embedder"]
