"""Datasets by name, found in a local data directory first (no network needed)."""
