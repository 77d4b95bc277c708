"""Chaos tests: the bench.chaos runs at a small size."""
