"""Test doubles shipped with the package (a deterministic embedder lives in ``comptoir.embedding.fake``)."""
