"""Ingestion: loaders per format, chunking, content-hash dedup, atomic replacement."""
