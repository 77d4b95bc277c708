"""Operators' commands that need the organisation's catalog and the store: erasure."""
