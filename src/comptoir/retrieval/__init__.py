"""Retrieval: hybrid dense + full-text search fused by reciprocal rank fusion."""
