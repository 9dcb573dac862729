"""Retrieval evaluation on BEIR-layout datasets, through the real ingestion and search."""
