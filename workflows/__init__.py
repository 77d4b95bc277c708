"""Temporal workflows: orchestration only. The decisions live in :mod:`domain`."""
